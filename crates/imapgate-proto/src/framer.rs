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

/// Where the framer stands in the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading a line.
    Line {
        /// This line is the first line of a message.
        first: bool,
        /// Part of this line was already framed (and consumed).
        mid_line: bool,
        /// The line is a server status line (decided on its first chunk).
        status: bool,
        /// What the consumed parts of this line end with.
        tail: Tail,
    },
    /// A client announced a synchronizing literal of `size` bytes and waits
    /// for the server's `+`.
    Awaiting { size: u64 },
    /// Reading literal data; `remaining` is never 0.
    Data { remaining: u64 },
}

impl State {
    const MESSAGE_START: State = State::Line { first: true, mid_line: false, status: false, tail: Tail::Other };
    const LINE_AFTER_LITERAL: State = State::Line { first: false, mid_line: false, status: false, tail: Tail::Other };
}

/// What the already framed parts of a long line end with, as far as a
/// literal header (`~{digits+}`) is concerned. A header that is longer than
/// the 32 bytes a `LinePart` keeps back (only possible with many leading
/// zeros or an overflowing size) may start in an earlier part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tail {
    Other,
    /// The line so far ends in `~`.
    Tilde,
    /// The line so far ends in `{` (`~{` when `binary`) and `digits` digits
    /// whose value is `value` (`None` once it overflows `u64`).
    Open {
        binary: bool,
        digits: u64,
        value: Option<u64>,
    },
}

/// The frame last returned by [`Framer::next`], with what consuming it
/// changes beyond the frame itself.
#[derive(Clone, Copy, Debug)]
struct Pending {
    frame: Frame,
    /// For a line chunk: whether the line is a status line.
    status: bool,
    /// For a `LinePart`: the tail of the line once the part is consumed.
    tail: Tail,
}

/// Bytes a `LinePart` keeps back so that a literal header ending the line
/// arrives in the same chunk as the line terminator.
const KEEP_BACK: usize = 32;

/// Splits the byte stream of one peer into frames; see the module docs.
#[derive(Clone, Debug)]
pub struct Framer {
    peer: Peer,
    part_threshold: usize,
    state: State,
    pending: Option<Pending>,
}

impl Framer {
    /// Creates a framer for bytes sent by `peer`. A line longer than
    /// `part_threshold` bytes is reported in [`Frame::LinePart`] pieces.
    ///
    /// Whatever the threshold, a line without its end is only split once the
    /// buffer holds more than 32 bytes: the last 32 are always kept back.
    pub fn new(peer: Peer, part_threshold: usize) -> Self {
        Framer { peer, part_threshold, state: State::MESSAGE_START, pending: None }
    }

    /// Returns the next frame at the front of `buf` without consuming it.
    ///
    /// Fails when the line at the front announces a literal whose size does
    /// not fit in a `u64`; the stream cannot be framed past that line.
    pub fn next(&mut self, buf: &[u8]) -> Result<Frame, FrameError> {
        self.pending = None;
        let (frame, status, tail) = match self.state {
            State::Awaiting { .. } => return Ok(Frame::AwaitingContinuation),
            State::Data { remaining } => {
                if buf.is_empty() {
                    return Ok(Frame::NeedMore);
                }
                let len = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
                let last = len as u64 == remaining;
                (Frame::Literal { len, last }, false, Tail::Other)
            }
            State::Line { first, mid_line, status, tail } => {
                let starts_message = first && !mid_line;
                let detect_status = starts_message && self.peer == Peer::Server;
                match memchr::memchr(b'\n', buf) {
                    Some(lf) => {
                        let line = &buf[..=lf];
                        let status = if detect_status { is_status_line(line) } else { status };
                        let literal = if status {
                            None
                        } else {
                            let tail = if mid_line { tail } else { Tail::Other };
                            literal_header(tail, line_content(line))?
                        };
                        (Frame::LineEnd { len: line.len(), starts_message, literal }, status, tail)
                    }
                    None if buf.len() > self.part_threshold && buf.len() > KEEP_BACK => {
                        let len = buf.len() - KEEP_BACK;
                        // Decide on the whole buffer: it holds the first chunk
                        // and the 32 bytes after it.
                        let status = if detect_status { is_status_line(buf) } else { status };
                        let before = if mid_line { tail } else { Tail::Other };
                        let tail = tail_after(before, &buf[..len]);
                        (Frame::LinePart { len, starts_message }, status, tail)
                    }
                    None => return Ok(Frame::NeedMore),
                }
            }
        };
        self.pending = Some(Pending { frame, status, tail });
        Ok(frame)
    }

    /// Advances past `len` bytes of the frame last returned by [`Framer::next`].
    /// `len` may be smaller than a `Literal` frame's length, never than a line's.
    pub fn consume(&mut self, len: usize) {
        let Some(pending) = self.pending.take() else {
            debug_assert_eq!(len, 0, "consume without a frame from next");
            return;
        };
        match pending.frame {
            Frame::LinePart { len: part, .. } => {
                debug_assert_eq!(len, part, "a line part is consumed whole");
                if let State::Line { first, .. } = self.state {
                    self.state = State::Line { first, mid_line: true, status: pending.status, tail: pending.tail };
                }
            }
            Frame::LineEnd { len: line, literal, .. } => {
                debug_assert_eq!(len, line, "a line end is consumed whole");
                self.state = match literal {
                    None => State::MESSAGE_START,
                    Some(h) if h.synchronizing && self.peer == Peer::Client => State::Awaiting { size: h.size },
                    Some(h) => data_state(h.size),
                };
            }
            Frame::Literal { len: chunk, .. } => {
                debug_assert!(len <= chunk, "consumed more than the literal chunk");
                let len = len.min(chunk);
                if let State::Data { remaining } = self.state {
                    self.state = data_state(remaining - len as u64);
                    if chunk > len && matches!(self.state, State::Data { .. }) {
                        // The rest of the chunk can still be consumed.
                        let frame = Frame::Literal { len: chunk - len, last: pending_last(&pending) };
                        self.pending = Some(Pending { frame, ..pending });
                    }
                }
            }
            Frame::AwaitingContinuation | Frame::NeedMore => {
                debug_assert_eq!(len, 0, "nothing to consume");
            }
        }
    }

    /// The server sent `+`: the awaited literal data follows.
    /// Does nothing unless the framer awaits a continuation.
    pub fn continue_literal(&mut self) {
        if let State::Awaiting { size } = self.state {
            self.pending = None;
            self.state = data_state(size);
        }
    }

    /// The server refused the command: the announced literal will not be sent
    /// and the next bytes start a new message.
    /// Does nothing unless the framer awaits a continuation.
    pub fn cancel_literal(&mut self) {
        if let State::Awaiting { .. } = self.state {
            self.pending = None;
            self.state = State::MESSAGE_START;
        }
    }

    /// Returns the literal data bytes still to come when the framer is
    /// inside a literal, else 0. A caller may move up to that many bytes without
    /// framing them and report them with [`Framer::skip_literal`].
    pub fn literal_remaining(&self) -> u64 {
        match self.state {
            State::Data { remaining } => remaining,
            _ => 0,
        }
    }

    /// Advances past `len` bytes of literal data that the caller moved
    /// without framing. `len` is capped at [`Framer::literal_remaining`].
    pub fn skip_literal(&mut self, len: u64) {
        if let State::Data { remaining } = self.state {
            self.pending = None;
            self.state = data_state(remaining - len.min(remaining));
        }
    }

    /// Whether the next frame starts a new message.
    pub fn at_message_start(&self) -> bool {
        matches!(self.state, State::Line { first: true, mid_line: false, .. })
    }
}

fn pending_last(pending: &Pending) -> bool {
    matches!(pending.frame, Frame::Literal { last: true, .. })
}

/// The state after a literal header of `size` bytes, once the data may flow.
fn data_state(size: u64) -> State {
    if size == 0 { State::LINE_AFTER_LITERAL } else { State::Data { remaining: size } }
}

/// `line` without its terminator (LF or CRLF).
fn line_content(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Whether the first line of a server message is a status line: `+ …`, or a
/// second token of OK, NO, BAD, BYE or PREAUTH. `line` may be a prefix.
fn is_status_line(line: &[u8]) -> bool {
    if line.first() == Some(&b'+') {
        return true;
    }
    let Some(sp) = memchr::memchr(b' ', line) else {
        return false;
    };
    if sp == 0 {
        return false;
    }
    let rest = &line[sp + 1..];
    let end = rest.iter().position(|&b| matches!(b, b' ' | b'\r' | b'\n')).unwrap_or(rest.len());
    let token = &rest[..end];
    [&b"OK"[..], b"NO", b"BAD", b"BYE", b"PREAUTH"].iter().any(|s| token.eq_ignore_ascii_case(s))
}

/// Index where the run of ASCII digits ending `bytes` starts.
fn trailing_digits_start(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|b| !b.is_ascii_digit()).map_or(0, |i| i + 1)
}

/// Appends decimal `digits` to `value`; `None` on overflow.
fn accumulate(mut value: Option<u64>, digits: &[u8]) -> Option<u64> {
    for &d in digits {
        value = value?.checked_mul(10)?.checked_add(u64::from(d - b'0'));
    }
    value
}

/// The tail of a line after `part` (non-empty) follows a line ending in `before`.
fn tail_after(before: Tail, part: &[u8]) -> Tail {
    let start = trailing_digits_start(part);
    if start == 0 {
        return match before {
            Tail::Open { binary, digits, value } if !part.is_empty() => {
                Tail::Open { binary, digits: digits.saturating_add(part.len() as u64), value: accumulate(value, part) }
            }
            _ if part.is_empty() => before,
            _ => Tail::Other,
        };
    }
    match part[start - 1] {
        b'{' => {
            let binary = if start >= 2 { part[start - 2] == b'~' } else { before == Tail::Tilde };
            let digits = &part[start..];
            Tail::Open { binary, digits: digits.len() as u64, value: accumulate(Some(0), digits) }
        }
        b'~' if start == part.len() => Tail::Tilde,
        _ => Tail::Other,
    }
}

/// The literal header ending `content` (a line without its terminator), whose
/// earlier parts end in `before`.
fn literal_header(before: Tail, content: &[u8]) -> Result<Option<LiteralHeader>, FrameError> {
    let Some(rest) = content.strip_suffix(b"}") else {
        return Ok(None);
    };
    let (rest, synchronizing) = match rest.strip_suffix(b"+") {
        Some(rest) => (rest, false),
        None => (rest, true),
    };
    let start = trailing_digits_start(rest);
    let digits = &rest[start..];
    let (binary, count, value, split) = if start > 0 {
        if rest[start - 1] != b'{' {
            return Ok(None);
        }
        let binary = if start >= 2 { rest[start - 2] == b'~' } else { before == Tail::Tilde };
        (binary, digits.len() as u64, accumulate(Some(0), digits), false)
    } else {
        match before {
            Tail::Open { binary, digits: n, value } => {
                (binary, n.saturating_add(digits.len() as u64), accumulate(value, digits), n > 0)
            }
            _ => return Ok(None),
        }
    };
    if count == 0 {
        return Ok(None);
    }
    match value {
        Some(size) => Ok(Some(LiteralHeader { size, synchronizing, binary })),
        None => {
            let digits = String::from_utf8_lossy(digits);
            let digits = if split { format!("…{digits}") } else { digits.into_owned() };
            Err(FrameError { digits })
        }
    }
}

#[cfg(test)]
mod tests;
