use std::collections::VecDeque;

use proptest::prelude::*;

use super::*;

/// A frame sequence with line parts and literal chunks merged.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Line { bytes: Vec<u8>, starts: bool, literal: Option<LiteralHeader> },
    Literal(Vec<u8>),
    Await,
}

/// What the driver does when the framer awaits a continuation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reply {
    Continue,
    Cancel,
}

/// Plays the caller: keeps the buffer, consumes frames, answers awaits, and
/// checks the framer's invariants on the way.
struct Driver {
    framer: Framer,
    buf: Vec<u8>,
    items: Vec<Item>,
    open_line: Option<(Vec<u8>, bool)>,
    open_literal: Option<Vec<u8>>,
    /// A literal header was framed and its data (or an await) comes next.
    expect_literal: bool,
    replies: VecDeque<Reply>,
    /// Consume literal frames this many bytes at a time (0: whole frames).
    literal_step: usize,
    /// `LinePart` frames seen.
    parts: usize,
}

impl Driver {
    fn new(peer: Peer, threshold: usize) -> Self {
        Driver {
            framer: Framer::new(peer, threshold),
            buf: Vec::new(),
            items: Vec::new(),
            open_line: None,
            open_literal: None,
            expect_literal: false,
            replies: VecDeque::new(),
            literal_step: 0,
            parts: 0,
        }
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), FrameError> {
        self.buf.extend_from_slice(chunk);
        loop {
            let at_start = self.framer.at_message_start();
            let frame = self.framer.next(&self.buf)?;
            assert_eq!(self.framer.next(&self.buf)?, frame, "next is idempotent");
            match frame {
                Frame::NeedMore => return Ok(()),
                Frame::AwaitingContinuation => {
                    assert!(self.expect_literal && !at_start);
                    self.items.push(Item::Await);
                    match self.replies.pop_front().unwrap_or(Reply::Continue) {
                        Reply::Continue => self.framer.continue_literal(),
                        Reply::Cancel => {
                            self.framer.cancel_literal();
                            self.expect_literal = false;
                            assert!(self.framer.at_message_start());
                        }
                    }
                }
                Frame::LinePart { len, starts_message } => {
                    assert!(len > 0 && len <= self.buf.len().saturating_sub(32));
                    assert!(self.open_literal.is_none());
                    assert_eq!(starts_message, at_start);
                    self.expect_literal = false;
                    self.parts += 1;
                    let (bytes, _) = self.open_line.get_or_insert_with(|| (Vec::new(), starts_message));
                    bytes.extend(self.buf.drain(..len));
                    self.framer.consume(len);
                    assert!(!self.framer.at_message_start());
                }
                Frame::LineEnd { len, starts_message, literal } => {
                    assert!(len > 0 && self.buf[len - 1] == b'\n');
                    assert!(!self.buf[..len - 1].contains(&b'\n'));
                    assert!(self.open_literal.is_none());
                    assert_eq!(starts_message, at_start);
                    self.expect_literal = false;
                    let (mut bytes, starts) = self.open_line.take().unwrap_or((Vec::new(), starts_message));
                    bytes.extend(self.buf.drain(..len));
                    self.framer.consume(len);
                    assert_eq!(self.framer.at_message_start(), literal.is_none());
                    self.expect_literal = literal.is_some();
                    self.items.push(Item::Line { bytes, starts, literal });
                }
                Frame::Literal { len, last } => {
                    assert!(len > 0 && len <= self.buf.len());
                    assert!(!at_start);
                    assert!(self.expect_literal || self.open_literal.is_some());
                    self.expect_literal = false;
                    let take = if self.literal_step == 0 { len } else { len.min(self.literal_step) };
                    self.open_literal.get_or_insert_with(Vec::new).extend(self.buf.drain(..take));
                    self.framer.consume(take);
                    if last && take == len {
                        let data = self.open_literal.take().unwrap();
                        self.items.push(Item::Literal(data));
                    }
                }
            }
        }
    }

    fn finish(self) -> Vec<Item> {
        assert!(self.buf.is_empty(), "unframed bytes left: {:?}", self.buf);
        assert!(self.open_line.is_none() && self.open_literal.is_none());
        self.items
    }
}

fn line(bytes: &[u8], starts: bool, literal: Option<LiteralHeader>) -> Item {
    Item::Line { bytes: bytes.to_vec(), starts, literal }
}

fn lit(bytes: &[u8]) -> Item {
    Item::Literal(bytes.to_vec())
}

fn hdr(size: u64, synchronizing: bool, binary: bool) -> Option<LiteralHeader> {
    Some(LiteralHeader { size, synchronizing, binary })
}

fn long_search_line() -> Vec<u8> {
    let mut l = b"a8 SEARCH SUBJECT \"".to_vec();
    l.extend(std::iter::repeat_n(b'x', 80));
    l.extend_from_slice(b"\" BODY {3+}\n");
    l
}

fn client_sample() -> (Vec<u8>, Vec<Item>) {
    let search = long_search_line();
    let items = vec![
        line(b"a1 CAPABILITY\r\n", true, None),
        line(b"a2 LOGIN {5}\r\n", true, hdr(5, true, false)),
        Item::Await,
        lit(b"alice"),
        line(b" {6}\r\n", false, hdr(6, true, false)),
        Item::Await,
        lit(b"secret"),
        line(b"\r\n", false, None),
        line(b"a3 APPEND INBOX (\\Seen) {11+}\r\n", true, hdr(11, false, false)),
        lit(b"hello world"),
        line(b"\r\n", false, None),
        line(b"a4 APPEND Sent ~{3}\r\n", true, hdr(3, true, true)),
        Item::Await,
        lit(b"a\0\n"),
        line(b"\r\n", false, None),
        line(b"a5 IDLE\r\n", true, None),
        line(b"DONE\r\n", true, None),
        line(b"a6 APPEND Drafts {0}\r\n", true, hdr(0, true, false)),
        Item::Await,
        line(b"\r\n", false, None),
        line(b"a7 LOGIN {3+}\r\n", true, hdr(3, false, false)),
        lit(b"bob"),
        line(b" {0+}\r\n", false, hdr(0, false, false)),
        line(b"\r\n", false, None),
        line(&search, true, hdr(3, false, false)),
        lit(b"abc"),
        line(b"\n", false, None),
        line(b"a9 APPEND INBOX ~{4+}\r\n", true, hdr(4, false, true)),
        lit(b"{1}\n"),
        line(b"\r\n", false, None),
        line(b"a10 NOOP\r\n", true, None),
    ];
    (render(&items), items)
}

fn server_sample() -> (Vec<u8>, Vec<Item>) {
    let items = vec![
        line(b"* OK [CAPABILITY IMAP4rev1 LITERAL+ BINARY] Server ready\r\n", true, None),
        line(b"* LIST () \".\" {4}\r\n", true, hdr(4, true, false)),
        lit(b"Sent"),
        line(b"\r\n", false, None),
        line(b"* 1 FETCH (BODY[] {11}\r\n", true, hdr(11, true, false)),
        lit(b"hello world"),
        line(b")\r\n", false, None),
        line(b"* OK [ALERT] this text ends in {5}\r\n", true, None),
        line(b"a1 OK done {5}\r\n", true, None),
        line(b"+ Ready for literal\r\n", true, None),
        line(b"+\r\n", true, None),
        line(b"* 2 FETCH (BINARY[1] ~{3}\r\n", true, hdr(3, true, true)),
        lit(b"x\0y"),
        line(b")\r\n", false, None),
        line(b"* 3 FETCH (BODY[] {0}\r\n", true, hdr(0, true, false)),
        line(b")\r\n", false, None),
        line(b"a2 no [TRYCREATE] {5}\r\n", true, None),
        line(b"* 4 FETCH (BODY[HEADER] {2}\r\n", true, hdr(2, true, false)),
        lit(b"\r\n"),
        line(b" OK BODY[TEXT] {5}\r\n", false, hdr(5, true, false)),
        lit(b"hello"),
        line(b")\r\n", false, None),
        line(b"* 5 FETCH (BODY[] {3+}\n", true, hdr(3, false, false)),
        lit(b"a\r\n"),
        line(b")\n", false, None),
        line(b"* BYE the server is shutting down, says a long status line {5}\r\n", true, None),
    ];
    (render(&items), items)
}

fn render(items: &[Item]) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        match item {
            Item::Line { bytes, .. } | Item::Literal(bytes) => out.extend_from_slice(bytes),
            Item::Await => {}
        }
    }
    out
}

/// Feeds `stream` whole, split in two at every position and one byte at a
/// time, with thresholds that do and do not split lines into parts.
fn check_every_split(peer: Peer, stream: &[u8], expected: &[Item]) {
    for threshold in [1 << 16, 40, 33, 0] {
        for step in [0, 1, 3] {
            let go = |chunks: &[&[u8]]| {
                let mut driver = Driver::new(peer, threshold);
                driver.literal_step = step;
                for chunk in chunks {
                    driver.feed(chunk).unwrap();
                }
                let parts = driver.parts;
                (driver.finish(), parts)
            };
            assert_eq!(go(&[stream]).0, expected, "whole, threshold {threshold}");
            for at in 0..=stream.len() {
                let (a, b) = stream.split_at(at);
                assert_eq!(go(&[a, b]).0, expected, "split at {at}, threshold {threshold}");
            }
            let bytes: Vec<&[u8]> = stream.chunks(1).collect();
            let (items, parts) = go(&bytes);
            assert_eq!(items, expected, "byte by byte, threshold {threshold}");
            // Small thresholds do split the long lines.
            assert_eq!(parts > 0, threshold < 1 << 16, "threshold {threshold}");
        }
    }
}

#[test]
fn client_stream_at_every_split_point() {
    let (stream, expected) = client_sample();
    check_every_split(Peer::Client, &stream, &expected);
}

#[test]
fn server_stream_at_every_split_point() {
    let (stream, expected) = server_sample();
    // The server never waits: no Await items.
    assert!(!expected.contains(&Item::Await));
    check_every_split(Peer::Server, &stream, &expected);
}

#[test]
fn small_thresholds_really_split_lines() {
    let (stream, _) = client_sample();
    let mut framer = Framer::new(Peer::Client, 40);
    let long = long_search_line();
    let start = stream.windows(long.len()).position(|w| w == long.as_slice()).unwrap();
    let buf = &stream[start..start + 90];
    assert_eq!(framer.next(buf), Ok(Frame::LinePart { len: 58, starts_message: true }));
}

// ---- known answers ----

/// Frames `buf` whole with a big threshold, one frame.
fn first_frame(peer: Peer, buf: &[u8]) -> Result<Frame, FrameError> {
    Framer::new(peer, 1 << 16).next(buf)
}

fn literal_of(peer: Peer, line: &[u8]) -> Option<LiteralHeader> {
    match first_frame(peer, line).unwrap() {
        Frame::LineEnd { len, literal, .. } => {
            assert_eq!(len, line.len());
            literal
        }
        other => panic!("expected a line end, got {other:?}"),
    }
}

#[test]
fn literal_header_forms() {
    let c = Peer::Client;
    assert_eq!(literal_of(c, b"a LOGIN {5}\r\n"), hdr(5, true, false));
    assert_eq!(literal_of(c, b"a LOGIN {5+}\r\n"), hdr(5, false, false));
    assert_eq!(literal_of(c, b"a APPEND x ~{5}\r\n"), hdr(5, true, true));
    assert_eq!(literal_of(c, b"a APPEND x ~{5+}\r\n"), hdr(5, false, true));
    assert_eq!(literal_of(c, b"{123}\r\n"), hdr(123, true, false));
    assert_eq!(literal_of(c, b"~{7}\n"), hdr(7, true, true));
    assert_eq!(literal_of(c, b"a x {0}\r\n"), hdr(0, true, false));
    assert_eq!(literal_of(c, b"a x {007}\r\n"), hdr(7, true, false));
    assert_eq!(literal_of(c, b"a x ~ {5}\r\n"), hdr(5, true, false));
    assert_eq!(literal_of(c, b"a x {12{5}\r\n"), hdr(5, true, false));
    assert_eq!(literal_of(c, b"a x {18446744073709551615}\r\n"), hdr(u64::MAX, true, false));
    for not in [
        &b"a x {}\r\n"[..],
        b"a x {+}\r\n",
        b"a x ~{}\r\n",
        b"a x {5\r\n",
        b"a x 5}\r\n",
        b"a x {5}x\r\n",
        b"a x {5} \r\n",
        b"a x { 5}\r\n",
        b"a x {-5}\r\n",
        b"a x {5++}\r\n",
        b"a x {+5}\r\n",
        b"a x {5a}\r\n",
        b"a x {5}\r\r\n",
        b"}\r\n",
        b"\r\n",
        b"\n",
    ] {
        assert_eq!(literal_of(c, not), None, "{:?}", String::from_utf8_lossy(not));
    }
}

#[test]
fn overflowing_literal_size_is_an_error() {
    let err = first_frame(Peer::Client, b"a x {18446744073709551616}\r\n").unwrap_err();
    assert_eq!(err.digits, "18446744073709551616");
    let err = first_frame(Peer::Server, b"* 1 FETCH (BODY[] ~{99999999999999999999999+}\r\n");
    assert_eq!(err.unwrap_err().digits, "99999999999999999999999");
    // A status line never announces a literal, so its digits are not read.
    assert_eq!(
        first_frame(Peer::Server, b"* OK {99999999999999999999999}\r\n"),
        Ok(Frame::LineEnd { len: 32, starts_message: true, literal: None })
    );
}

#[test]
fn bare_lf_and_cr_without_lf() {
    let c = Peer::Client;
    assert_eq!(
        first_frame(c, b"a NOOP\nb NOOP\r\n"),
        Ok(Frame::LineEnd { len: 7, starts_message: true, literal: None })
    );
    assert_eq!(literal_of(c, b"a x {3}\n"), hdr(3, true, false));
    // A CR not followed by LF is line content.
    assert_eq!(
        first_frame(c, b"a x\r{3}\r\n"),
        Ok(Frame::LineEnd { len: 9, starts_message: true, literal: hdr(3, true, false) })
    );
    assert_eq!(first_frame(c, b"a x {3}\r"), Ok(Frame::NeedMore));
    assert_eq!(first_frame(c, b""), Ok(Frame::NeedMore));
}

#[test]
fn long_lines_come_in_parts() {
    let mut f = Framer::new(Peer::Client, 10);
    let buf = [b'x'; 50];
    assert_eq!(f.next(&buf), Ok(Frame::LinePart { len: 18, starts_message: true }));
    f.consume(18);
    assert!(!f.at_message_start());
    assert_eq!(f.next(&buf[18..]), Ok(Frame::NeedMore));
    let mut rest = buf[18..].to_vec();
    rest.extend_from_slice(b"\r\n");
    assert_eq!(f.next(&rest), Ok(Frame::LineEnd { len: 34, starts_message: false, literal: None }));
    f.consume(34);
    assert!(f.at_message_start());

    // At or under the threshold, or with at most 32 bytes, nothing is framed.
    let mut f = Framer::new(Peer::Client, 40);
    assert_eq!(f.next(&[b'x'; 40]), Ok(Frame::NeedMore));
    assert_eq!(f.next(&[b'x'; 41]), Ok(Frame::LinePart { len: 9, starts_message: true }));
    let mut f = Framer::new(Peer::Client, 0);
    assert_eq!(f.next(&[b'x'; 32]), Ok(Frame::NeedMore));
    assert_eq!(f.next(&[b'x'; 33]), Ok(Frame::LinePart { len: 1, starts_message: true }));
}

#[test]
fn literal_header_at_the_very_end_of_a_long_line() {
    let mut stream = b"a1 SEARCH TEXT \"".to_vec();
    stream.extend(std::iter::repeat_n(b'y', 200));
    stream.extend_from_slice(b"\" BODY ~{12345+}\r\n");
    for threshold in [0, 16, 100] {
        let mut driver = Driver::new(Peer::Client, threshold);
        let mut parts = 0;
        for b in &stream {
            driver.buf.push(*b);
            match driver.framer.next(&driver.buf).unwrap() {
                Frame::LinePart { len, .. } => {
                    parts += 1;
                    driver.buf.drain(..len);
                    driver.framer.consume(len);
                }
                Frame::NeedMore => {}
                Frame::LineEnd { len, starts_message, literal } => {
                    assert_eq!(len, driver.buf.len());
                    assert!(len >= 32 && !starts_message);
                    assert_eq!(literal, hdr(12345, false, true));
                    driver.framer.consume(len);
                    driver.buf.clear();
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(parts >= 2, "threshold {threshold}: {parts} parts");
        assert!(driver.buf.is_empty());
        // The literal's data comes next: nothing yet.
        assert_eq!(driver.framer.next(&[]), Ok(Frame::NeedMore));
        assert!(!driver.framer.at_message_start());
    }
}

/// A header longer than the 32 bytes kept back starts in an earlier part.
#[test]
fn headers_longer_than_the_kept_back_bytes() {
    let zeros = "0".repeat(60);
    for (header, expected) in [
        (format!("~{{{zeros}5}}"), Ok(hdr(5, true, true))),
        (format!("{{{zeros}5+}}"), Ok(hdr(5, false, false))),
        (format!("x~ {{{zeros}5}}"), Ok(hdr(5, true, false))),
        (format!("x{zeros}5}}"), Ok(None)),
        (format!("{{{zeros}x5}}"), Ok(None)),
        (format!("{{{zeros}18446744073709551615}}"), Ok(hdr(u64::MAX, true, false))),
        (format!("{{1{zeros}}}"), Err(format!("1{zeros}"))),
    ] {
        let stream = format!("a1 APPEND INBOX {header}\r\n");
        let stream = stream.as_bytes();
        for threshold in [0, 10, 33, 1 << 16] {
            for split in 0..=stream.len() {
                let mut f = Framer::new(Peer::Client, threshold);
                let mut buf = Vec::new();
                let mut result = None;
                for chunk in [&stream[..split], &stream[split..]] {
                    buf.extend_from_slice(chunk);
                    while result.is_none() {
                        match f.next(&buf) {
                            Ok(Frame::LinePart { len, .. }) => {
                                buf.drain(..len);
                                f.consume(len);
                            }
                            Ok(Frame::NeedMore) => break,
                            Ok(Frame::LineEnd { len, literal, .. }) => {
                                assert_eq!(len, buf.len());
                                result = Some(Ok(literal));
                            }
                            Err(e) => result = Some(Err(e.digits)),
                            Ok(other) => panic!("unexpected {other:?}"),
                        }
                    }
                }
                let context = format!("{header} threshold {threshold} split {split}");
                match (result.expect("a line end"), &expected) {
                    (Err(digits), Err(all)) => {
                        // The digits of earlier parts are gone: an ellipsis
                        // stands for them.
                        let visible = digits.strip_prefix('…').unwrap_or(&digits);
                        assert!(all.ends_with(visible), "{context}: {digits}");
                        if threshold == 1 << 16 {
                            assert_eq!(&digits, all, "{context}");
                        }
                    }
                    (result, expected) => assert_eq!(&result, expected, "{context}"),
                }
            }
        }
    }
}

#[test]
fn server_status_lines_announce_no_literal() {
    let s = Peer::Server;
    for status in [
        &b"* OK {5}\r\n"[..],
        b"* ok [ALERT] {5}\r\n",
        b"* NO {5}\r\n",
        b"* Bad {5}\r\n",
        b"* BYE {5}\r\n",
        b"* PREAUTH {5}\r\n",
        b"a1 OK {5}\r\n",
        b"a1 NO [TRYCREATE] x {5+}\r\n",
        b"a1] BAD ~{5}\r\n",
        b"+ {5}\r\n",
        b"+{5}\r\n",
        b"+ send {5}\n",
    ] {
        assert_eq!(literal_of(s, status), None, "{:?}", String::from_utf8_lossy(status));
        // A client line is never a status line.
        assert!(literal_of(Peer::Client, status).is_some());
    }
    assert_eq!(literal_of(s, b"* OK\r\n"), None);
    for data in [
        &b"* LIST () \"/\" {5}\r\n"[..],
        b"* OKAY {5}\r\n",
        b"a1 OKx {5}\r\n",
        b"a1 NOPE {5}\r\n",
        b"*  OK {5}\r\n",
        b" OK {5}\r\n",
        b"* 3 OK {5}\r\n",
        b"a1 XOK {5}\r\n",
    ] {
        assert_eq!(literal_of(s, data), hdr(5, true, false), "{:?}", String::from_utf8_lossy(data));
    }
}

#[test]
fn a_line_after_a_literal_is_not_a_status_line() {
    for continuation in [&b"+ OK {3}\r\n"[..], b"* OK {3}\r\n", b"a1 NO {3}\r\n"] {
        let mut f = Framer::new(Peer::Server, 1 << 16);
        let mut buf = b"* 1 FETCH (BODY[] {2}\r\nhi".to_vec();
        let Frame::LineEnd { len, .. } = f.next(&buf).unwrap() else { panic!() };
        f.consume(len);
        buf.drain(..len);
        assert_eq!(f.next(&buf), Ok(Frame::Literal { len: 2, last: true }));
        f.consume(2);
        assert_eq!(
            f.next(continuation),
            Ok(Frame::LineEnd { len: continuation.len(), starts_message: false, literal: hdr(3, true, false) })
        );
    }
}

#[test]
fn long_status_lines_decide_on_their_first_chunk() {
    for (line, status) in [
        (&b"* OK [ALERT] a very long alert that is split into parts {5}\r\n"[..], true),
        (b"a1 no a very long refusal that is split into parts {5+}\r\n", true),
        (b"+ a very long continuation that is split into parts {5}\r\n", true),
        (b"* LIST () \"/\" a-very-long-mailbox-name-split-in-parts {5}\r\n", false),
    ] {
        for threshold in [0, 20, 40] {
            // Byte by byte through the driver.
            let mut d = Driver::new(Peer::Server, threshold);
            for b in line {
                d.feed(&[*b]).unwrap();
            }
            if !status {
                d.feed(b"hello\r\n").unwrap();
            }
            assert!(d.parts > 0);
            let items = d.finish();
            match &items[0] {
                Item::Line { bytes, starts: true, literal } => {
                    assert_eq!(bytes, line);
                    assert_eq!(literal.is_none(), status);
                }
                other => panic!("{other:?}"),
            }
            // By hand: the first part, then the rest.
            let mut f = Framer::new(Peer::Server, threshold);
            assert!(matches!(f.next(line), Ok(Frame::LineEnd { .. })));
            let Ok(Frame::LinePart { len, starts_message: true }) = f.next(&line[..line.len() - 2]) else { panic!() };
            f.consume(len);
            assert_eq!(
                f.next(&line[len..]),
                Ok(Frame::LineEnd {
                    len: line.len() - len,
                    starts_message: false,
                    literal: if status { None } else { hdr(5, true, false) },
                })
            );
        }
    }
}

#[test]
fn synchronizing_literal_waits_for_continue() {
    let mut f = Framer::new(Peer::Client, 1 << 16);
    let mut buf = b"a1 LOGIN {5}\r\nalice {3+}\r\npwd\r\n".to_vec();
    assert!(f.at_message_start());
    let frame = f.next(&buf).unwrap();
    assert_eq!(frame, Frame::LineEnd { len: 14, starts_message: true, literal: hdr(5, true, false) });
    f.consume(14);
    buf.drain(..14);
    assert!(!f.at_message_start());
    assert_eq!(f.next(&buf), Ok(Frame::AwaitingContinuation));
    assert_eq!(f.next(&buf), Ok(Frame::AwaitingContinuation));
    f.consume(0);
    assert_eq!(f.next(&buf), Ok(Frame::AwaitingContinuation));
    assert!(!f.at_message_start());
    f.continue_literal();
    assert_eq!(f.next(&buf), Ok(Frame::Literal { len: 5, last: true }));
    f.consume(5);
    buf.drain(..5);
    assert_eq!(f.next(&buf), Ok(Frame::LineEnd { len: 7, starts_message: false, literal: hdr(3, false, false) }));
    f.consume(7);
    buf.drain(..7);
    // Non-synchronizing: no wait.
    assert_eq!(f.next(&buf), Ok(Frame::Literal { len: 3, last: true }));
    f.consume(3);
    buf.drain(..3);
    assert_eq!(f.next(&buf), Ok(Frame::LineEnd { len: 2, starts_message: false, literal: None }));
    f.consume(2);
    assert!(f.at_message_start());
}

#[test]
fn binary_synchronizing_literal_waits_too() {
    let mut f = Framer::new(Peer::Client, 1 << 16);
    let line = b"a1 APPEND INBOX ~{2}\r\n";
    assert_eq!(f.next(line), Ok(Frame::LineEnd { len: line.len(), starts_message: true, literal: hdr(2, true, true) }));
    f.consume(line.len());
    assert_eq!(f.next(b"\0\0\r\n"), Ok(Frame::AwaitingContinuation));
    f.continue_literal();
    assert_eq!(f.next(b"\0\0\r\n"), Ok(Frame::Literal { len: 2, last: true }));
}

#[test]
fn cancel_literal_starts_a_new_message() {
    let mut f = Framer::new(Peer::Client, 1 << 16);
    let mut buf = b"a1 APPEND INBOX {500}\r\na2 NOOP\r\n".to_vec();
    let Frame::LineEnd { len, .. } = f.next(&buf).unwrap() else { panic!() };
    f.consume(len);
    buf.drain(..len);
    assert_eq!(f.next(&buf), Ok(Frame::AwaitingContinuation));
    f.cancel_literal();
    assert!(f.at_message_start());
    assert_eq!(f.next(&buf), Ok(Frame::LineEnd { len: 9, starts_message: true, literal: None }));
    // Not awaiting: both are no-ops.
    f.cancel_literal();
    f.continue_literal();
    assert_eq!(f.next(&buf), Ok(Frame::LineEnd { len: 9, starts_message: true, literal: None }));
    f.consume(9);
    f.continue_literal();
    f.cancel_literal();
    assert!(f.at_message_start());
    // Also no-ops in literal data.
    let mut f = Framer::new(Peer::Client, 1 << 16);
    let Frame::LineEnd { len, .. } = f.next(b"a LOGIN {3+}\r\n").unwrap() else { panic!() };
    f.consume(len);
    f.cancel_literal();
    f.continue_literal();
    assert_eq!(f.next(b"bob\r\n"), Ok(Frame::Literal { len: 3, last: true }));
}

#[test]
fn server_literals_never_wait() {
    let mut f = Framer::new(Peer::Server, 1 << 16);
    let buf = b"* 1 FETCH (BODY[] {3}\r\nabc)\r\n";
    let Frame::LineEnd { len, literal, .. } = f.next(buf).unwrap() else { panic!() };
    assert_eq!(literal, hdr(3, true, false));
    f.consume(len);
    assert_eq!(f.next(&buf[len..]), Ok(Frame::Literal { len: 3, last: true }));
}

#[test]
fn empty_literals_frame_no_data() {
    // Non-synchronizing (and server) {0}: straight to the next line.
    for (peer, line) in [(Peer::Client, &b"a1 LOGIN {0+}\r\n"[..]), (Peer::Server, b"* 1 FETCH (BODY[] {0}\r\n")] {
        let mut f = Framer::new(peer, 1 << 16);
        let Frame::LineEnd { len, .. } = f.next(line).unwrap() else { panic!() };
        f.consume(len);
        assert!(!f.at_message_start());
        assert_eq!(f.next(b""), Ok(Frame::NeedMore));
        assert_eq!(f.next(b")\r\n"), Ok(Frame::LineEnd { len: 3, starts_message: false, literal: None }));
    }
    // Synchronizing {0}: await, then the next line.
    let mut f = Framer::new(Peer::Client, 1 << 16);
    let Frame::LineEnd { len, .. } = f.next(b"a1 LOGIN {0}\r\n").unwrap() else { panic!() };
    f.consume(len);
    assert_eq!(f.next(b" x\r\n"), Ok(Frame::AwaitingContinuation));
    f.continue_literal();
    assert!(!f.at_message_start());
    assert_eq!(f.next(b" x\r\n"), Ok(Frame::LineEnd { len: 4, starts_message: false, literal: None }));
}

#[test]
fn literal_data_in_pieces() {
    let mut f = Framer::new(Peer::Server, 1 << 16);
    let Frame::LineEnd { len, .. } = f.next(b"* 1 FETCH (BODY[] {11}\r\n").unwrap() else { panic!() };
    f.consume(len);
    assert_eq!(f.next(b""), Ok(Frame::NeedMore));
    assert_eq!(f.next(b"hel"), Ok(Frame::Literal { len: 3, last: false }));
    f.consume(3);
    assert_eq!(f.next(b"lo world)\r\n"), Ok(Frame::Literal { len: 8, last: true }));
    // Partial consumption, and consuming the rest without calling next again.
    f.consume(2);
    assert_eq!(f.next(b" world)\r\n"), Ok(Frame::Literal { len: 6, last: true }));
    f.consume(1);
    f.consume(5);
    assert!(!f.at_message_start());
    assert_eq!(f.next(b")\r\n"), Ok(Frame::LineEnd { len: 3, starts_message: false, literal: None }));
    f.consume(3);
    assert!(f.at_message_start());
}

// ---- property test ----

#[derive(Clone, Debug)]
struct LineModel {
    text: Vec<u8>,
    crlf: bool,
    literal: Option<LiteralModel>,
}

#[derive(Clone, Debug)]
struct LiteralModel {
    data: Vec<u8>,
    synchronizing: bool,
    binary: bool,
    zeros: usize,
    cancel: bool,
}

fn literal_model() -> impl Strategy<Value = LiteralModel> {
    (
        prop::collection::vec(any::<u8>(), 0..40),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![3 => Just(0usize), 1 => 0usize..50],
        prop::bool::weighted(0.15),
    )
        .prop_map(|(data, synchronizing, binary, zeros, cancel)| LiteralModel {
            data,
            synchronizing,
            binary,
            zeros,
            cancel,
        })
}

fn line_model() -> impl Strategy<Value = LineModel> {
    let text = prop::collection::vec(
        prop_oneof![
            4 => b'a'..=b'z',
            2 => Just(b' '),
            1 => prop::sample::select(&b"{}~+0123456789\r*()\"\\"[..]),
        ],
        0..80,
    );
    (text, any::<bool>(), prop::option::weighted(0.5, literal_model())).prop_map(|(text, crlf, literal)| LineModel {
        text,
        crlf,
        literal,
    })
}

fn messages() -> impl Strategy<Value = Vec<Vec<LineModel>>> {
    prop::collection::vec(prop::collection::vec(line_model(), 1..4), 1..6)
}

/// Renders the messages and the items a correct framer reports for them.
fn render_model(peer: Peer, messages: &[Vec<LineModel>]) -> (Vec<u8>, Vec<Item>, VecDeque<Reply>) {
    let mut items = Vec::new();
    let mut replies = VecDeque::new();
    for message in messages {
        for (i, l) in message.iter().enumerate() {
            let first = i == 0;
            let last = i + 1 == message.len();
            let mut bytes = Vec::new();
            if first && peer == Peer::Server {
                // Keep the first line from being a status line.
                bytes.extend_from_slice(b"t1 x ");
            }
            bytes.extend_from_slice(&l.text);
            // Keep the text from ending in something a header would extend.
            if matches!(bytes.last(), Some(b'}' | b'\r' | b'~')) {
                bytes.push(b'.');
            }
            let literal = if last { None } else { l.literal.as_ref() };
            let header = literal.map(|m| {
                if m.binary {
                    bytes.push(b'~');
                }
                let zeros = "0".repeat(m.zeros);
                let plus = if m.synchronizing { "" } else { "+" };
                bytes.extend_from_slice(format!("{{{zeros}{}{plus}}}", m.data.len()).as_bytes());
                LiteralHeader { size: m.data.len() as u64, synchronizing: m.synchronizing, binary: m.binary }
            });
            bytes.extend_from_slice(if l.crlf { b"\r\n" } else { b"\n" });
            items.push(Item::Line { bytes, starts: first, literal: header });
            let Some(m) = literal else { break };
            if peer == Peer::Client && m.synchronizing {
                items.push(Item::Await);
                if m.cancel {
                    replies.push_back(Reply::Cancel);
                    break;
                }
                replies.push_back(Reply::Continue);
            }
            if !m.data.is_empty() {
                items.push(Item::Literal(m.data.clone()));
            }
        }
    }
    (render(&items), items, replies)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_streams_reassemble(
        messages in messages(),
        server in any::<bool>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        threshold in prop_oneof![Just(1usize << 16), 0usize..100],
        literal_step in 0usize..5,
    ) {
        let peer = if server { Peer::Server } else { Peer::Client };
        let (stream, expected, replies) = render_model(peer, &messages);
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        cuts.sort_unstable();
        let mut driver = Driver::new(peer, threshold);
        driver.replies = replies;
        driver.literal_step = literal_step;
        let mut from = 0;
        for cut in cuts.into_iter().chain([stream.len()]) {
            driver.feed(&stream[from..cut]).unwrap();
            from = cut;
        }
        prop_assert!(driver.replies.is_empty());
        prop_assert_eq!(driver.finish(), expected);
    }
}

#[test]
fn skipped_literal_bytes_resume_framing_after_the_literal() {
    let mut framer = Framer::new(Peer::Server, 1 << 16);
    let head = b"* 1 FETCH (BODY[] {10}\r\n";
    assert_eq!(framer.literal_remaining(), 0);
    assert_eq!(
        framer.next(head).unwrap(),
        Frame::LineEnd { len: head.len(), starts_message: true, literal: hdr(10, true, false) }
    );
    framer.consume(head.len());
    assert_eq!(framer.literal_remaining(), 10);

    // Four bytes framed, six moved by the caller without framing.
    assert_eq!(framer.next(b"0123").unwrap(), Frame::Literal { len: 4, last: false });
    framer.consume(4);
    framer.skip_literal(6);
    assert_eq!(framer.literal_remaining(), 0);
    assert!(!framer.at_message_start());

    let tail = b")\r\n";
    assert_eq!(framer.next(tail).unwrap(), Frame::LineEnd { len: 3, starts_message: false, literal: None });
    framer.consume(3);
    assert!(framer.at_message_start());
}

#[test]
fn skipping_outside_a_literal_changes_nothing() {
    let mut framer = Framer::new(Peer::Client, 1 << 16);
    framer.skip_literal(5);
    assert!(framer.at_message_start());
    let line = b"a NOOP\r\n";
    assert_eq!(framer.next(line).unwrap(), Frame::LineEnd { len: line.len(), starts_message: true, literal: None });
}
