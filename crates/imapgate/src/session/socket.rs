//! Reads and writes of the relay loop as poll functions. The loop polls
//! every socket it waits for from one `poll_fn`, so a session keeps no
//! future per socket and operation, and an idle session's task stays small.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::stream::Stream;

/// Bytes read at most at once: large reads keep the system calls per
/// megabyte of a FETCH few.
pub const CHUNK: usize = 64 * 1024;

/// Buffer a TLS read reserves when the session had none: the first read
/// after a pause.
const TLS_IDLE_READ: usize = 2 * 1024;

/// Reads what is available, at most `limit` bytes on plain TCP, into `buf`;
/// `Ok(0)` at end of stream. Plain TCP reserves the buffer only once the
/// socket is readable, so an idle session has no read buffer. TLS may
/// keep decrypted bytes while the socket is not readable, so it reads with
/// a buffer reserved up front, small while the session is idle.
pub fn poll_read(
    stream: &mut Stream,
    cx: &mut Context<'_>,
    buf: &mut BytesMut,
    limit: usize,
) -> Poll<io::Result<usize>> {
    match stream {
        Stream::Plain(tcp) => {
            ready!(tcp.poll_read_ready(cx))?;
            let allocated = buf.capacity() > 0;
            buf.reserve(limit);
            // tokio's own read marks the socket drained after a short read,
            // which saves the system call that would find it empty.
            let read = tokio_util::io::poll_read_buf(Pin::new(tcp), cx, &mut buf.limit(limit));
            if read.is_pending() && !allocated && buf.is_empty() {
                // The readiness was stale. A buffer reserved just for this
                // read is given back, or an idle session would keep it.
                *buf = BytesMut::new();
            }
            read
        }
        other => {
            // An idle session waits with a small buffer; reads grow it once
            // data flows.
            buf.reserve(if buf.capacity() == 0 { TLS_IDLE_READ } else { CHUNK });
            tokio_util::io::poll_read_buf(Pin::new(other), cx, buf)
        }
    }
}

/// Writes what the socket takes of `buf`. TLS keeps written bytes until
/// [`poll_flush`] sends them.
pub fn poll_write(stream: &mut Stream, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    match ready!(Pin::new(stream).poll_write(cx, buf)) {
        Ok(0) if !buf.is_empty() => Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
        result => Poll::Ready(result),
    }
}

/// Sends the bytes that TLS keeps after [`poll_write`].
pub fn poll_flush(stream: &mut Stream, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    Pin::new(stream).poll_flush(cx)
}

/// Writes all of `buf` and flushes.
pub async fn write_all(stream: &mut Stream, buf: &[u8]) -> io::Result<()> {
    stream.write_all(buf).await?;
    stream.flush().await
}

/// Returns the socket of a plain TCP stream.
pub fn tcp(stream: &Stream) -> Option<&TcpStream> {
    match stream {
        Stream::Plain(tcp) => Some(tcp),
        _ => None,
    }
}
