//! Read and write halves of a [`Stream`] for the relay loop. Plain TCP
//! splits without a lock and reads only once the socket is readable, so an
//! idle session holds no read buffer; TLS goes through `tokio::io::split`.

use std::io;

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::stream::Stream;

/// Bytes read at most at once: large reads keep the system calls per
/// megabyte of a FETCH few; an idle session holds no read buffer at all.
pub const CHUNK: usize = 64 * 1024;

pub enum ReadPart<'a> {
    Plain(&'a TcpStream),
    Tls(tokio::io::ReadHalf<&'a mut Stream>),
}

pub enum WritePart<'a> {
    Plain(&'a TcpStream),
    Tls(tokio::io::WriteHalf<&'a mut Stream>),
}

/// Splits a stream into its read and write halves.
pub fn split(stream: &mut Stream) -> (ReadPart<'_>, WritePart<'_>) {
    if let Stream::Plain(tcp) = stream {
        let tcp = &*tcp;
        return (ReadPart::Plain(tcp), WritePart::Plain(tcp));
    }
    let (read, write) = tokio::io::split(stream);
    (ReadPart::Tls(read), WritePart::Tls(write))
}

impl<'a> ReadPart<'a> {
    /// The socket, when the connection is plain TCP.
    pub fn tcp(&self) -> Option<&'a TcpStream> {
        match self {
            ReadPart::Plain(tcp) => Some(tcp),
            ReadPart::Tls(_) => None,
        }
    }

    /// Reads what is available, at most `limit` bytes on plain TCP, into
    /// `buf`: `Some(0)` at end of stream, `None` when a readiness event had
    /// no data after all.
    pub async fn read_into(&mut self, buf: &mut BytesMut, limit: usize) -> io::Result<Option<usize>> {
        match self {
            ReadPart::Plain(tcp) => {
                tcp.readable().await?;
                buf.reserve(limit);
                match tcp.try_read_buf(&mut buf.limit(limit)) {
                    Ok(count) => Ok(Some(count)),
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(None),
                    Err(error) => Err(error),
                }
            }
            // TLS may hold decrypted bytes while the socket is not readable,
            // so it reads with a buffer reserved up front.
            ReadPart::Tls(half) => {
                buf.reserve(CHUNK);
                half.read_buf(buf).await.map(Some)
            }
        }
    }
}

impl<'a> WritePart<'a> {
    /// The socket, when the connection is plain TCP.
    pub fn tcp(&self) -> Option<&'a TcpStream> {
        match self {
            WritePart::Plain(tcp) => Some(tcp),
            WritePart::Tls(_) => None,
        }
    }

    /// Writes what the socket takes of `buf`; when that is all of it,
    /// flushes, since TLS keeps written bytes until flushed.
    pub async fn write_and_flush(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WritePart::Plain(tcp) => write_plain(tcp, buf).await,
            WritePart::Tls(half) => {
                let count = half.write(buf).await?;
                if count == buf.len() {
                    half.flush().await?;
                }
                Ok(count)
            }
        }
    }

    /// Writes all of `buf` and flushes.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            WritePart::Plain(tcp) => {
                let mut written = 0;
                while written < buf.len() {
                    written += write_plain(tcp, &buf[written..]).await?;
                }
                Ok(())
            }
            WritePart::Tls(half) => {
                half.write_all(buf).await?;
                half.flush().await
            }
        }
    }
}

/// Writes what the socket takes of `buf`, waiting until it takes something.
async fn write_plain(tcp: &TcpStream, buf: &[u8]) -> io::Result<usize> {
    loop {
        tcp.writable().await?;
        match tcp.try_write(buf) {
            Ok(0) if !buf.is_empty() => return Err(io::ErrorKind::WriteZero.into()),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
            result => return result,
        }
    }
}
