//! Protocol traces for debugging one user or client address: every chunk
//! read and written, escaped, in a file of its own. Credentials are
//! replaced by `<redacted>` before anything is written.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

/// The `[trace]` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceConfig {
    /// File the trace is appended to.
    pub file: String,
    /// Users whose sessions are traced from login on.
    #[serde(default)]
    pub users: Vec<String>,
    /// Client addresses whose sessions are traced from the greeting on.
    #[serde(default)]
    pub addresses: Vec<IpAddr>,
    /// Bytes of each chunk written to the trace; the rest is only counted.
    #[serde(default = "default_max_chunk")]
    pub max_chunk_bytes: usize,
}

fn default_max_chunk() -> usize {
    2048
}

/// The direction of a traced chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Read from the client.
    FromClient,
    /// Written to the server.
    ToServer,
    /// Read from the server.
    FromServer,
    /// Written to the client.
    ToClient,
}

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Direction::FromClient => "client>",
            Direction::ToServer => ">server",
            Direction::FromServer => "server>",
            Direction::ToClient => ">client",
        }
    }
}

/// The open trace file and what to trace; shared by all sessions.
pub struct TraceSink {
    config: TraceConfig,
    file: Mutex<File>,
    next_session: AtomicU64,
}

impl TraceSink {
    /// Opens (appends to) the trace file.
    pub fn open(config: TraceConfig) -> std::io::Result<Arc<TraceSink>> {
        let file = OpenOptions::new().create(true).append(true).open(&config.file)?;
        Ok(Arc::new(TraceSink { config, file: Mutex::new(file), next_session: AtomicU64::new(1) }))
    }

    /// A trace for a session from `peer`, if its address is traced.
    pub fn for_address(self: &Arc<Self>, peer: SocketAddr) -> Option<SessionTrace> {
        self.config.addresses.contains(&peer.ip()).then(|| self.session(peer))
    }

    /// A trace for a session of `user`, if the user is traced.
    pub fn for_user(self: &Arc<Self>, peer: SocketAddr, user: &str) -> Option<SessionTrace> {
        self.config.users.iter().any(|traced| traced == user).then(|| self.session(peer))
    }

    fn session(self: &Arc<Self>, peer: SocketAddr) -> SessionTrace {
        let id = self.next_session.fetch_add(1, Ordering::Relaxed);
        SessionTrace { sink: self.clone(), id, peer, client_secret: ClientSecret::None }
    }
}

/// Client lines whose content is secret, remembered across chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientSecret {
    None,
    /// A LOGIN or AUTHENTICATE is in progress: every client line until its
    /// tagged completion may hold a literal password or a SASL response.
    Credentials,
}

/// The trace of one session.
pub struct SessionTrace {
    sink: Arc<TraceSink>,
    id: u64,
    peer: SocketAddr,
    client_secret: ClientSecret,
}

impl SessionTrace {
    /// Appends one chunk. Client chunks have credentials redacted.
    pub fn record(&mut self, direction: Direction, bytes: &[u8]) {
        let bytes = match direction {
            Direction::FromClient | Direction::ToServer => self.redact(bytes),
            Direction::FromServer | Direction::ToClient => {
                self.server_lines(bytes);
                bytes.to_vec()
            }
        };
        let shown = &bytes[..bytes.len().min(self.sink.config.max_chunk_bytes)];
        let mut line = format!("{} session={} client={} {} ", timestamp(), self.id, self.peer, direction.label());
        line.extend(shown.iter().flat_map(|byte| std::ascii::escape_default(*byte)).map(char::from));
        if shown.len() < bytes.len() {
            line.push_str(&format!(" ... ({} more bytes)", bytes.len() - shown.len()));
        }
        line.push('\n');
        if let Ok(mut file) = self.sink.file.lock() {
            // A trace is a debugging aid: a failed write must not end the session.
            let _ = file.write_all(line.as_bytes());
        }
    }

    /// Replaces the arguments of LOGIN and AUTHENTICATE, and every client
    /// line after them until their completion, with `<redacted>`.
    fn redact(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        for line in bytes.split_inclusive(|byte| *byte == b'\n') {
            if self.client_secret == ClientSecret::Credentials {
                out.extend_from_slice(b"<redacted>");
                out.extend_from_slice(line_ending(line));
                continue;
            }
            let mut words = line.splitn(3, |byte| *byte == b' ');
            let (tag, command) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
            let command = command.strip_suffix(b"\r\n").or(command.strip_suffix(b"\n")).unwrap_or(command);
            if command.eq_ignore_ascii_case(b"LOGIN") || command.eq_ignore_ascii_case(b"AUTHENTICATE") {
                out.extend_from_slice(tag);
                out.push(b' ');
                out.extend_from_slice(command);
                out.extend_from_slice(b" <redacted>");
                out.extend_from_slice(line_ending(line));
                self.client_secret = ClientSecret::Credentials;
            } else {
                out.extend_from_slice(line);
            }
        }
        out
    }

    /// A tagged completion ends a LOGIN or AUTHENTICATE exchange.
    fn server_lines(&mut self, bytes: &[u8]) {
        if self.client_secret != ClientSecret::Credentials {
            return;
        }
        for line in bytes.split(|byte| *byte == b'\n') {
            let mut words = line.split(|byte| *byte == b' ');
            let (first, second) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
            let status = [b"OK".as_slice(), b"NO", b"BAD"].iter().any(|status| second.eq_ignore_ascii_case(status));
            if !first.is_empty() && first != b"*" && first != b"+" && status {
                self.client_secret = ClientSecret::None;
            }
        }
    }
}

fn line_ending(line: &[u8]) -> &'static [u8] {
    if line.ends_with(b"\r\n") {
        b"\r\n"
    } else if line.ends_with(b"\n") {
        b"\n"
    } else {
        b""
    }
}

/// Seconds since the Unix epoch, with milliseconds.
fn timestamp() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:03}", now.as_secs(), now.subsec_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(dir: &tempfile::TempDir) -> (Arc<TraceSink>, SessionTrace) {
        let config = TraceConfig {
            file: dir.path().join("trace.log").display().to_string(),
            users: vec!["alice".into()],
            addresses: Vec::new(),
            max_chunk_bytes: 64,
        };
        let sink = TraceSink::open(config).unwrap();
        let session = sink.for_user("192.0.2.1:5000".parse().unwrap(), "alice").unwrap();
        (sink, session)
    }

    fn written(dir: &tempfile::TempDir) -> String {
        std::fs::read_to_string(dir.path().join("trace.log")).unwrap()
    }

    #[test]
    fn login_password_is_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let (_sink, mut session) = trace(&dir);
        session.record(Direction::FromClient, b"a1 NOOP\r\na2 LOGIN alice hunter2\r\n");
        let text = written(&dir);
        assert!(text.contains(r"client> a1 NOOP\r\na2 LOGIN <redacted>\r\n"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn sasl_lines_are_redacted_until_completion() {
        let dir = tempfile::tempdir().unwrap();
        let (_sink, mut session) = trace(&dir);
        session.record(Direction::FromClient, b"a1 AUTHENTICATE PLAIN\r\n");
        session.record(Direction::FromServer, b"+ \r\n");
        session.record(Direction::FromClient, b"AGFsaWNlAGh1bnRlcjI=\r\n");
        session.record(Direction::FromServer, b"a1 NO failed\r\n");
        session.record(Direction::FromClient, b"a2 NOOP\r\n");
        let text = written(&dir);
        assert!(!text.contains("AGFsaWNl"), "{text}");
        assert!(text.contains(r"client> <redacted>\r\n"), "{text}");
        assert!(text.contains(r"client> a2 NOOP\r\n"), "{text}");
    }

    #[test]
    fn login_literal_password_is_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let (_sink, mut session) = trace(&dir);
        session.record(Direction::FromClient, b"a1 LOGIN alice {9}\r\n");
        session.record(Direction::ToClient, b"+ Ready for literal data\r\n");
        session.record(Direction::FromClient, b"hun\nter22\r\n");
        session.record(Direction::ToClient, b"a1 OK Logged in\r\n");
        session.record(Direction::FromClient, b"a2 NOOP\r\n");
        let text = written(&dir);
        assert!(!text.contains("hun"), "{text}");
        assert!(!text.contains("ter22"), "{text}");
        assert!(text.contains(r"client> a2 NOOP\r\n"), "{text}");
    }

    #[test]
    fn long_chunks_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let (_sink, mut session) = trace(&dir);
        session.record(Direction::FromServer, &[b'x'; 100]);
        assert!(written(&dir).contains("... (36 more bytes)"));
    }

    #[test]
    fn only_listed_users_and_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let (sink, _) = trace(&dir);
        let peer = "192.0.2.1:5000".parse().unwrap();
        assert!(sink.for_user(peer, "bob").is_none());
        assert!(sink.for_address(peer).is_none());
    }
}
