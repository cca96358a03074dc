//! Framer check: arbitrary bytes from either peer, cut into reads at
//! arbitrary points, with random continue and cancel decisions for
//! synchronizing literals.
//!
//! Expectations: no panic; the frames and the unframed rest cover the input
//! exactly; every frame agrees with a simple model that reads whole lines
//! (line ends, literal headers, literal data, message starts); and the
//! framer fails only on a literal size that does not fit in a `u64`.

use imapgate_proto::framer::{Frame, Framer, LiteralHeader, Peer};

use super::{Feed, Random};

/// Bytes a line part keeps back (the framer's documented minimum).
const KEEP_BACK: usize = 32;

pub fn check_framer(data: &[u8]) {
    for peer in [Peer::Client, Peer::Server] {
        // 0 splits every line longer than the kept-back bytes.
        for threshold in [0, 100, usize::MAX] {
            for feed in Feed::all_for(data) {
                check_one(data, peer, threshold, feed);
            }
        }
    }
}

/// The model's position in the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// In a line; `first` when it is the first line of a message.
    Line { first: bool },
    /// `remaining` bytes of literal data, never 0.
    Data { remaining: u64 },
    /// A synchronizing literal of `size` bytes waits for a decision.
    Awaiting { size: u64 },
}

/// The model of one framer run.
struct Model {
    peer: Peer,
    expect: Expect,
    /// The consumed parts of the current line.
    line: Vec<u8>,
    /// For a server's first line that came in parts: the status decision
    /// made on its first part.
    status: Option<bool>,
}

impl Model {
    fn at_message_start(&self) -> bool {
        self.expect == Expect::Line { first: true } && self.line.is_empty()
    }

    /// The literal the whole `line` announces, under the framer's rules.
    fn literal_of(&self, line: &[u8]) -> Result<Option<LiteralHeader>, ()> {
        let first_line = self.expect == Expect::Line { first: true };
        let status = self.peer == Peer::Server && first_line && self.status.unwrap_or_else(|| is_status(line));
        if status { Ok(None) } else { literal_header(content(line)) }
    }
}

fn check_one(data: &[u8], peer: Peer, threshold: usize, feed: Feed) {
    let place = format!("{peer:?}, threshold {threshold}, {feed:?}");
    let mut framer = Framer::new(peer, threshold);
    let mut model = Model { peer, expect: Expect::Line { first: true }, line: Vec::new(), status: None };
    let mut cuts = feed.random();
    let mut decisions = Random::from_input(data, 3);
    let mut buf: Vec<u8> = Vec::new();
    let mut framed = 0usize;

    for read in feed.cut(data, &mut cuts) {
        buf.extend_from_slice(read);
        loop {
            assert_eq!(framer.at_message_start(), model.at_message_start(), "{place}: at_message_start at {framed}");
            let frame = match framer.next(&buf) {
                Ok(frame) => frame,
                Err(error) => {
                    let lf = buf.iter().position(|&byte| byte == b'\n');
                    let lf = lf.unwrap_or_else(|| panic!("{place}: error {error} at {framed} without a line end"));
                    let mut line = model.line.clone();
                    line.extend_from_slice(&buf[..=lf]);
                    assert_eq!(model.literal_of(&line), Err(()), "{place}: unexpected error {error} at {framed}");
                    // The stream cannot be framed past this line.
                    return;
                }
            };
            let len = match frame {
                Frame::NeedMore => {
                    check_need_more(&model, &buf, threshold, &place);
                    break;
                }
                Frame::AwaitingContinuation => {
                    let Expect::Awaiting { size } = model.expect else {
                        panic!("{place}: AwaitingContinuation at {framed} while the model expects {:?}", model.expect);
                    };
                    if decisions.coin() {
                        framer.continue_literal();
                        model.expect = data_or_line(size);
                    } else {
                        framer.cancel_literal();
                        model.expect = Expect::Line { first: true };
                    }
                    continue;
                }
                Frame::LinePart { len, starts_message } => {
                    assert!(
                        matches!(model.expect, Expect::Line { .. }),
                        "{place}: LinePart at {framed} in {:?}",
                        model.expect
                    );
                    assert_eq!(
                        starts_message,
                        model.at_message_start(),
                        "{place}: LinePart starts_message at {framed}"
                    );
                    assert_eq!(
                        len + KEEP_BACK,
                        buf.len(),
                        "{place}: LinePart at {framed} keeps back other than 32 bytes"
                    );
                    assert!(len > 0 && buf.len() > threshold, "{place}: LinePart of {len} bytes at {framed}");
                    assert!(!buf[..len].contains(&b'\n'), "{place}: LinePart at {framed} contains a line feed");
                    if starts_message && peer == Peer::Server {
                        model.status = Some(is_status(&buf));
                    }
                    model.line.extend_from_slice(&buf[..len]);
                    len
                }
                Frame::LineEnd { len, starts_message, literal } => {
                    assert!(
                        matches!(model.expect, Expect::Line { .. }),
                        "{place}: LineEnd at {framed} in {:?}",
                        model.expect
                    );
                    assert_eq!(starts_message, model.at_message_start(), "{place}: LineEnd starts_message at {framed}");
                    assert!(len > 0 && len <= buf.len(), "{place}: LineEnd of {len} bytes in {}", buf.len());
                    let lf = buf.iter().position(|&byte| byte == b'\n');
                    assert_eq!(lf, Some(len - 1), "{place}: LineEnd at {framed} does not end at the first line feed");
                    let mut line = std::mem::take(&mut model.line);
                    line.extend_from_slice(&buf[..len]);
                    assert_eq!(
                        Ok(literal),
                        model.literal_of(&line),
                        "{place}: literal of the line ending at {}",
                        framed + len
                    );
                    model.status = None;
                    model.expect = match literal {
                        None => Expect::Line { first: true },
                        Some(header) if header.synchronizing && peer == Peer::Client => {
                            Expect::Awaiting { size: header.size }
                        }
                        Some(header) => data_or_line(header.size),
                    };
                    len
                }
                Frame::Literal { len, last } => {
                    let Expect::Data { remaining } = model.expect else {
                        panic!("{place}: Literal at {framed} while the model expects {:?}", model.expect);
                    };
                    let expected = usize::try_from(remaining).map_or(buf.len(), |remaining| remaining.min(buf.len()));
                    assert_eq!(len, expected, "{place}: Literal length at {framed}");
                    assert!(len > 0, "{place}: empty Literal at {framed}");
                    assert_eq!(last, len as u64 == remaining, "{place}: Literal last at {framed}");
                    // Consume part of the chunk now and then, as a caller
                    // whose output buffer is full does.
                    let taken = if decisions.coin() { len } else { decisions.up_to(len) };
                    model.expect = data_or_line(remaining - taken as u64);
                    taken
                }
            };
            framer.consume(len);
            buf.drain(..len);
            framed += len;
        }
    }
    assert_eq!(framed + buf.len(), data.len(), "{place}: frames and rest do not cover the input");
}

/// Checks that `NeedMore` is right: a line without its end that is too
/// short to split, or a literal with no data yet.
fn check_need_more(model: &Model, buf: &[u8], threshold: usize, place: &str) {
    match model.expect {
        Expect::Line { .. } => {
            assert!(!buf.contains(&b'\n'), "{place}: NeedMore with a line end in the buffer");
            assert!(buf.len() <= threshold || buf.len() <= KEEP_BACK, "{place}: NeedMore on {} bytes", buf.len());
        }
        Expect::Data { .. } => assert!(buf.is_empty(), "{place}: NeedMore with literal data in the buffer"),
        Expect::Awaiting { .. } => panic!("{place}: NeedMore while a literal awaits a continuation"),
    }
}

fn data_or_line(size: u64) -> Expect {
    if size == 0 { Expect::Line { first: false } } else { Expect::Data { remaining: size } }
}

/// `line` without LF and then without CR.
fn content(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A server status line: `+`, or a non-empty tag, SP, and OK, NO, BAD, BYE
/// or PREAUTH in any case, ended by SP, CR, LF or the end of `line`.
fn is_status(line: &[u8]) -> bool {
    if line.starts_with(b"+") {
        return true;
    }
    let Some(space) = line.iter().position(|&byte| byte == b' ') else {
        return false;
    };
    if space == 0 {
        return false;
    }
    let token = line[space + 1..].split(|byte| matches!(byte, b' ' | b'\r' | b'\n')).next().unwrap_or_default();
    ["OK", "NO", "BAD", "BYE", "PREAUTH"].iter().any(|status| token.eq_ignore_ascii_case(status.as_bytes()))
}

/// The literal header ending `content`: `{n}`, `{n+}`, `~{n}` or `~{n+}`.
/// `Err` when n does not fit in a `u64`.
fn literal_header(content: &[u8]) -> Result<Option<LiteralHeader>, ()> {
    let Some(inner) = content.strip_suffix(b"}") else {
        return Ok(None);
    };
    let (inner, synchronizing) = match inner.strip_suffix(b"+") {
        Some(inner) => (inner, false),
        None => (inner, true),
    };
    let digits_start = inner.iter().rposition(|byte| !byte.is_ascii_digit()).map_or(0, |at| at + 1);
    let digits = &inner[digits_start..];
    if digits.is_empty() || digits_start == 0 || inner[digits_start - 1] != b'{' {
        return Ok(None);
    }
    let binary = digits_start >= 2 && inner[digits_start - 2] == b'~';
    let mut size: u64 = 0;
    for &digit in digits {
        size = size.checked_mul(10).and_then(|size| size.checked_add(u64::from(digit - b'0'))).ok_or(())?;
    }
    Ok(Some(LiteralHeader { size, synchronizing, binary }))
}
