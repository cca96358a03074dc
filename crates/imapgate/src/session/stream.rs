//! A connection that is plain TCP or TLS on either side of imapgate.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A client or upstream connection.
pub enum Stream {
    Plain(TcpStream),
    /// TLS that imapgate terminates for a client.
    ServerTls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// TLS that imapgate opened to the upstream.
    ClientTls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// Left behind while a TLS handshake owns the socket; never read or written.
    Taken,
}

impl Stream {
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::ServerTls(_) | Stream::ClientTls(_))
    }

    /// The plain socket, for a TLS handshake; `None` when TLS is already on.
    pub fn take_plain(&mut self) -> Option<TcpStream> {
        match std::mem::replace(self, Stream::Taken) {
            Stream::Plain(tcp) => Some(tcp),
            other => {
                *self = other;
                None
            }
        }
    }
}

fn taken() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the connection is being upgraded to TLS")
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Stream::ServerTls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
            Stream::ClientTls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
            Stream::Taken => Poll::Ready(Err(taken())),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Stream::ServerTls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
            Stream::ClientTls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
            Stream::Taken => Poll::Ready(Err(taken())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Stream::ServerTls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
            Stream::ClientTls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
            Stream::Taken => Poll::Ready(Err(taken())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Stream::ServerTls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
            Stream::ClientTls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
            Stream::Taken => Poll::Ready(Err(taken())),
        }
    }
}
