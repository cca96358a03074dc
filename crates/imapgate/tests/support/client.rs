//! A blocking IMAP client for tests that sends raw bytes and reads
//! responses by IMAP framing, not by guessing at line contents.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::DEFAULT_TIMEOUT;

/// A client connection with a transcript of everything sent (`C: `) and
/// received (`S: `), which every panic message includes.
pub struct ImapClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    greeting: Vec<u8>,
    transcript: String,
}

impl ImapClient {
    /// Connects to `addr` and reads the greeting line.
    ///
    /// Panics when the connection fails or no greeting arrives in time.
    pub fn connect(addr: impl ToSocketAddrs + std::fmt::Debug) -> ImapClient {
        ImapClient::connect_with_preamble(addr, b"")
    }

    /// Connects, sends `preamble` (a PROXY protocol header), then reads the
    /// greeting line.
    pub fn connect_with_preamble(addr: impl ToSocketAddrs + std::fmt::Debug, preamble: &[u8]) -> ImapClient {
        let mut stream = TcpStream::connect(&addr).unwrap_or_else(|err| panic!("failed to connect to {addr:?}: {err}"));
        stream.write_all(preamble).expect("failed to send the preamble");
        stream.set_read_timeout(Some(DEFAULT_TIMEOUT)).expect("failed to set read timeout");
        stream.set_nodelay(true).expect("failed to set TCP_NODELAY");
        let writer = stream.try_clone().expect("failed to clone TcpStream");

        let mut client =
            ImapClient { reader: BufReader::new(stream), writer, greeting: Vec::new(), transcript: String::new() };
        client.greeting = client.read_line();
        client
    }

    /// Returns the greeting line, CRLF included.
    pub fn greeting(&self) -> &[u8] {
        &self.greeting
    }

    /// Returns everything sent and received so far, one line per entry.
    pub fn transcript(&self) -> &str {
        &self.transcript
    }

    /// Sets the read timeout for all following reads.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.reader.get_ref().set_read_timeout(Some(timeout)).expect("failed to set read timeout");
    }

    /// Writes `bytes` unchanged.
    pub fn send(&mut self, bytes: &[u8]) {
        self.record("C: ", bytes);
        if let Err(err) = self.writer.write_all(bytes) {
            self.fail(&format!("failed to send {} bytes: {err}", bytes.len()));
        }
    }

    /// Reads one line, CRLF included. Panics on end of stream or timeout.
    pub fn read_line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        let result = self.reader.read_until(b'\n', &mut line);
        self.record("S: ", &line);
        match result {
            Ok(_) if line.ends_with(b"\n") => line,
            Ok(_) => self.fail("connection closed while reading a line"),
            Err(err) => self.fail_read(err, "a line"),
        }
    }

    /// Reads exactly `len` bytes, such as the data of a literal.
    pub fn read_exact(&mut self, len: usize) -> Vec<u8> {
        let mut data = vec![0; len];
        let result = self.reader.read_exact(&mut data);
        if let Err(err) = result {
            self.fail_read(err, &format!("{len} bytes of literal data"));
        }
        self.record("S: ", &data);
        data
    }

    /// Whether the peer closed the connection: a read returns end of
    /// stream (waiting up to the read timeout for it).
    pub fn at_eof(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.reader.read(&mut byte), Ok(0))
    }

    /// Reads one complete server response: its line, and for a line ending
    /// in a literal announcement `{n}`, the n bytes of data and the rest of
    /// the response after them, as often as literals follow.
    ///
    /// Status lines (`* OK`, `* NO`, `* BAD`, `* BYE`, `* PREAUTH`, tagged
    /// `OK`/`NO`/`BAD`) and continuation requests (`+ ...`) carry human text
    /// and never announce a literal, even when the text ends in `{n}`.
    pub fn read_message(&mut self) -> Vec<u8> {
        let mut line = self.read_line();
        if is_text_line(&line) {
            return line;
        }

        // Only the part after the last literal can announce the next one:
        // literal data that happens to end in "{n}" announces nothing.
        let mut message = Vec::new();
        loop {
            let announced = literal_len(&line);
            message.extend_from_slice(&line);
            let Some(len) = announced else {
                return message;
            };
            let data = self.read_exact(len);
            message.extend_from_slice(&data);
            line = self.read_line();
        }
    }

    /// Reads responses until the tagged completion (`OK`, `NO` or `BAD`)
    /// for `tag` and returns all bytes read, that line included.
    pub fn read_response(&mut self, tag: &str) -> Vec<u8> {
        self.read_response_and_status(tag).0
    }

    /// Like `read_response`, and also returns the completion's status word
    /// in upper case.
    fn read_response_and_status(&mut self, tag: &str) -> (Vec<u8>, String) {
        let mut response = Vec::new();
        loop {
            let message = self.read_message();
            response.extend_from_slice(&message);
            if let Some(status) = completion_status(&message, tag) {
                return (response, status.to_ascii_uppercase());
            }
        }
    }

    /// Reads responses until a continuation request (`+ ...`) and returns
    /// all bytes read, that line included. Panics if the tagged completion
    /// for `tag` arrives first, since then no continuation will follow.
    pub fn read_continuation(&mut self, tag: &str) -> Vec<u8> {
        let mut response = Vec::new();
        loop {
            let message = self.read_message();
            response.extend_from_slice(&message);
            if message.starts_with(b"+") {
                return response;
            }
            if completion_status(&message, tag).is_some() {
                self.fail(&format!("expected a continuation request, got a completion for tag {tag}"));
            }
        }
    }

    /// Sends `tag text\r\n` and returns the response as lossy UTF-8.
    pub fn command(&mut self, tag: &str, text: &str) -> String {
        self.send(format!("{tag} {text}\r\n").as_bytes());
        String::from_utf8_lossy(&self.read_response(tag)).into_owned()
    }

    /// Sends `tag text\r\n` and returns the response. Panics unless the
    /// server completes the command with `OK`.
    pub fn expect_ok(&mut self, tag: &str, text: &str) -> String {
        self.expect_status(tag, text, "OK")
    }

    /// Like `expect_ok`, for a command that must fail with `NO`.
    pub fn expect_no(&mut self, tag: &str, text: &str) -> String {
        self.expect_status(tag, text, "NO")
    }

    /// Like `expect_ok`, for a command that must be rejected with `BAD`.
    pub fn expect_bad(&mut self, tag: &str, text: &str) -> String {
        self.expect_status(tag, text, "BAD")
    }

    /// Logs in with LOGIN, sending both arguments as quoted strings.
    /// Panics unless the server accepts.
    pub fn login(&mut self, user: &str, password: &str) {
        let text = format!("LOGIN {} {}", super::quote(user), super::quote(password));
        self.expect_ok("login", &text);
    }

    /// Sends LOGOUT and reads until the tagged completion.
    pub fn logout(&mut self) {
        self.expect_ok("logout", "LOGOUT");
    }

    /// Reads the response to a command already sent with tag `tag` and
    /// returns it. Panics unless its completion has the status `expected`
    /// (`OK`, `NO` or `BAD`).
    pub fn expect_completion(&mut self, tag: &str, expected: &str) -> String {
        let (response, status) = self.read_response_and_status(tag);
        if !status.eq_ignore_ascii_case(expected) {
            self.fail(&format!("expected {expected} for tag {tag}, got {status}"));
        }
        String::from_utf8_lossy(&response).into_owned()
    }

    fn expect_status(&mut self, tag: &str, text: &str, expected: &str) -> String {
        self.send(format!("{tag} {text}\r\n").as_bytes());
        self.expect_completion(tag, expected)
    }

    fn record(&mut self, prefix: &str, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        for line in text.split_inclusive('\n') {
            self.transcript.push_str(prefix);
            self.transcript.push_str(line.trim_end_matches(['\r', '\n']));
            self.transcript.push('\n');
        }
    }

    fn fail_read(&self, err: std::io::Error, expected: &str) -> ! {
        match err.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => self.fail(&format!("timed out waiting for {expected}")),
            ErrorKind::UnexpectedEof => self.fail(&format!("connection closed while waiting for {expected}")),
            _ => self.fail(&format!("failed to read {expected}: {err}")),
        }
    }

    fn fail(&self, message: &str) -> ! {
        panic!("{message}\n--- transcript ---\n{}", self.transcript);
    }
}

/// Returns true for lines that carry human-readable text and therefore
/// never announce a literal: continuation requests and status responses.
fn is_text_line(line: &[u8]) -> bool {
    if line.starts_with(b"+") {
        return true;
    }
    let mut words = line.split(|&b| b == b' ');
    let tag = words.next().unwrap_or_default();
    let keyword = words.next().unwrap_or_default();
    let keyword = trim_crlf(keyword).to_ascii_uppercase();
    let statuses: &[&[u8]] =
        if tag == b"*" { &[b"OK", b"NO", b"BAD", b"BYE", b"PREAUTH"] } else { &[b"OK", b"NO", b"BAD"] };
    statuses.contains(&keyword.as_slice())
}

/// Returns the length announced by a line ending in `{n}`, `{n+}` or
/// `~{n}` (RFC 9051 literal, RFC 7888 non-synchronizing literal, RFC 3516
/// literal8).
fn literal_len(line: &[u8]) -> Option<usize> {
    let line = trim_crlf(line);
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Returns the status word when `message` is the tagged completion for
/// `tag`.
fn completion_status<'a>(message: &'a [u8], tag: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(tag.as_bytes())?.strip_prefix(b" ")?;
    let word_end = rest.iter().position(|&b| b == b' ' || b == b'\r').unwrap_or(rest.len());
    let status = std::str::from_utf8(&rest[..word_end]).ok()?;
    ["OK", "NO", "BAD"].iter().any(|s| s.eq_ignore_ascii_case(status)).then_some(status)
}

fn trim_crlf(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}
