//! Splits the byte stream of one peer into lines and literals.
//!
//! The framer never copies and never parses arguments: it tells its caller
//! how many bytes at the front of the buffer form the next frame, and the
//! caller forwards, collects or drops them and then calls [`Framer::consume`].

/// Whose bytes a framer reads. Servers send status lines (`* OK …`,
/// `tag NO …`, `+ …`) whose text never announces a literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// Bytes from a client: commands.
    Client,
    /// Bytes from a server: responses.
    Server,
}

/// A literal announced at the end of a line: `{n}`, `{n+}` or `~{n}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiteralHeader {
    /// Number of data bytes that follow the line.
    pub size: u64,
    /// `false` for `{n+}` (LITERAL+/LITERAL-): the data follows without a `+`.
    pub synchronizing: bool,
    /// `true` for `~{n}` (BINARY literal8).
    pub binary: bool,
}

/// The next frame at the front of the buffer given to [`Framer::next`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// The first `len` bytes are part of a line whose end has not arrived.
    LinePart {
        len: usize,
        /// This is the first chunk of the first line of a message.
        starts_message: bool,
    },
    /// The first `len` bytes end a line, line terminator included.
    LineEnd {
        len: usize,
        /// This chunk is also the first chunk of the message's first line.
        starts_message: bool,
        /// The literal this line announces; `None` ends the message.
        literal: Option<LiteralHeader>,
    },
    /// The first `len` bytes are literal data.
    Literal {
        len: usize,
        /// These bytes finish the literal.
        last: bool,
    },
    /// The client announced a synchronizing literal; nothing is framed until
    /// [`Framer::continue_literal`] or [`Framer::cancel_literal`].
    AwaitingContinuation,
    /// The buffer holds no complete frame yet.
    NeedMore,
}

/// An announced literal whose size cannot be represented.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("literal size {digits} is out of range")]
pub struct FrameError {
    pub digits: String,
}

pub struct Framer {
    // filled in by the implementation
}

impl Framer {
    /// Creates a framer for bytes sent by `peer`. A line longer than
    /// `part_threshold` bytes is reported in [`Frame::LinePart`] pieces.
    pub fn new(peer: Peer, part_threshold: usize) -> Self {
        let _ = (peer, part_threshold);
        todo!()
    }

    /// Returns the next frame at the front of `buf` without consuming it.
    pub fn next(&mut self, buf: &[u8]) -> Result<Frame, FrameError> {
        let _ = buf;
        todo!()
    }

    /// Advances past `len` bytes of the frame last returned by [`Framer::next`].
    /// `len` may be smaller than a `Literal` frame's length, never than a line's.
    pub fn consume(&mut self, len: usize) {
        let _ = len;
        todo!()
    }

    /// The server sent `+`: the awaited literal data follows.
    pub fn continue_literal(&mut self) {
        todo!()
    }

    /// The server refused the command: the announced literal will not be sent
    /// and the next bytes start a new message.
    pub fn cancel_literal(&mut self) {
        todo!()
    }

    /// Whether the next frame starts a new message.
    pub fn at_message_start(&self) -> bool {
        todo!()
    }
}
