//! Read and write halves of a [`Stream`] for the relay loop. Plain TCP
//! splits without a lock and reads only once the socket is readable, so an
//! idle session holds no read buffer; TLS goes through `tokio::io::split`.

use std::io;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::stream::Stream;

/// Bytes reserved for one read: large reads keep the system calls per
/// megabyte of a FETCH few; an idle session holds no read buffer at all.
const CHUNK: usize = 64 * 1024;

pub enum ReadPart<'a> {
    Plain(tokio::net::tcp::ReadHalf<'a>),
    Tls(tokio::io::ReadHalf<&'a mut Stream>),
}

pub enum WritePart<'a> {
    Plain(tokio::net::tcp::WriteHalf<'a>),
    Tls(tokio::io::WriteHalf<&'a mut Stream>),
}

/// Splits a stream into its read and write halves.
pub fn split(stream: &mut Stream) -> (ReadPart<'_>, WritePart<'_>) {
    if let Stream::Plain(tcp) = stream {
        let (read, write) = tcp.split();
        return (ReadPart::Plain(read), WritePart::Plain(write));
    }
    let (read, write) = tokio::io::split(stream);
    (ReadPart::Tls(read), WritePart::Tls(write))
}

impl ReadPart<'_> {
    /// Reads what is available into `buf`: `Some(0)` at end of stream,
    /// `None` when a readiness event had no data after all.
    pub async fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<Option<usize>> {
        match self {
            ReadPart::Plain(half) => {
                half.readable().await?;
                buf.reserve(CHUNK);
                match half.try_read_buf(buf) {
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

impl WritePart<'_> {
    /// Writes what the socket takes of `buf`; when that is all of it,
    /// flushes, since TLS keeps written bytes until flushed.
    pub async fn write_and_flush(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WritePart::Plain(half) => half.write(buf).await,
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
            WritePart::Plain(half) => half.write_all(buf).await,
            WritePart::Tls(half) => {
                half.write_all(buf).await?;
                half.flush().await
            }
        }
    }
}
