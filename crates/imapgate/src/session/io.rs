//! Reading whole messages before the relay starts (pre-auth commands,
//! the upstream's greeting and login responses).

use bytes::{Buf, BytesMut};
use imapgate_proto::framer::{Frame, Framer, Peer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::stream::Stream;
use crate::trace::{Direction, SessionTrace};

/// Read chunk size; also the framer's threshold for splitting long lines.
const CHUNK: usize = 8 * 1024;

/// A stream with its read buffer and framer.
pub struct FramedStream {
    pub stream: Stream,
    /// Bytes read but not yet framed into a returned message.
    pub buf: BytesMut,
    framer: Framer,
    peer: Peer,
    /// Trace of this client connection, when it is traced.
    pub trace: Option<SessionTrace>,
}

/// Result of [`FramedStream::read_message`].
pub enum Read {
    /// A whole message: its lines with literal data in place.
    Message(Vec<u8>),
    /// The message passed the size limit and was skipped; the bytes are its
    /// first line (or the part of it that fit), to find the tag.
    TooLarge(Vec<u8>),
    /// The peer closed the connection.
    Closed,
}

impl FramedStream {
    pub fn new(stream: Stream, peer: Peer) -> Self {
        FramedStream { stream, buf: BytesMut::with_capacity(1024), framer: Framer::new(peer, CHUNK), peer, trace: None }
    }

    /// Reads one whole message of at most `max_size` bytes. A client's
    /// synchronizing literal gets a `+` when it fits, and is cancelled
    /// otherwise (the caller then answers with a tagged BAD).
    pub async fn read_message(&mut self, max_size: usize) -> std::io::Result<Read> {
        let read = self.read_untraced(max_size).await?;
        if let (Some(trace), Read::Message(bytes) | Read::TooLarge(bytes)) = (&mut self.trace, &read) {
            let direction = if self.peer == Peer::Client { Direction::FromClient } else { Direction::FromServer };
            trace.record(direction, bytes);
        }
        Ok(read)
    }

    async fn read_untraced(&mut self, max_size: usize) -> std::io::Result<Read> {
        let mut message = Vec::new();
        let mut too_large = false;
        loop {
            let frame = match self.framer.next(&self.buf) {
                Ok(frame) => frame,
                Err(error) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, error)),
            };
            let len = match frame {
                Frame::NeedMore | Frame::AwaitingContinuation => {
                    if self.fill().await? == 0 {
                        return Ok(Read::Closed);
                    }
                    continue;
                }
                Frame::LinePart { len, .. } | Frame::Literal { len, .. } => len,
                Frame::LineEnd { len, literal, .. } => {
                    self.take(len, &mut message, &mut too_large, max_size);
                    let Some(header) = literal else {
                        return Ok(if too_large { Read::TooLarge(message) } else { Read::Message(message) });
                    };
                    let fits = (message.len() as u64).saturating_add(header.size) <= max_size as u64;
                    if self.peer == Peer::Client && header.synchronizing {
                        if fits && !too_large {
                            self.write_all(b"+ Ready for literal data\r\n").await?;
                            self.framer.continue_literal();
                        } else {
                            self.framer.cancel_literal();
                            return Ok(Read::TooLarge(message));
                        }
                    } else if !fits {
                        too_large = true;
                    }
                    continue;
                }
            };
            self.take(len, &mut message, &mut too_large, max_size);
        }
    }

    /// Consumes `len` framed bytes into `message` unless it is too large.
    fn take(&mut self, len: usize, message: &mut Vec<u8>, too_large: &mut bool, max_size: usize) {
        if !*too_large {
            if message.len() + len <= max_size {
                message.extend_from_slice(&self.buf[..len]);
            } else {
                *too_large = true;
            }
        }
        self.buf.advance(len);
        self.framer.consume(len);
    }

    /// Reads more bytes; returns 0 at end of stream.
    async fn fill(&mut self) -> std::io::Result<usize> {
        self.buf.reserve(CHUNK);
        self.stream.read_buf(&mut self.buf).await
    }

    pub async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(trace) = &mut self.trace {
            let direction = if self.peer == Peer::Client { Direction::ToClient } else { Direction::ToServer };
            trace.record(direction, bytes);
        }
        self.stream.write_all(bytes).await?;
        // TLS keeps written bytes in its own buffer until flushed.
        self.stream.flush().await
    }

    /// Drops buffered input and restarts framing, for a new TLS layer: a
    /// peer's bytes sent before the handshake must not be read after it.
    pub fn restart(&mut self, stream: Stream) {
        self.stream = stream;
        self.buf.clear();
        self.framer = Framer::new(self.peer, CHUNK);
    }

    /// Whether the framer is between messages (no literal or line pending).
    pub fn at_message_start(&self) -> bool {
        self.framer.at_message_start()
    }
}
