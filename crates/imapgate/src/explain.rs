//! `imapgate explain`: runs a written session through the configured filter
//! chain with the same [`Relay`] as a live session, without any network,
//! and shows what each peer would receive.
//!
//! A transcript has one wire line per text line: `C: ` for bytes from the
//! client, `S: ` for bytes from the server. Each line gets CRLF appended.
//! A literal's data follows its `{n}` header on the next lines of the same
//! side, and `n` counts the CRLF of every data line but the last. Blank
//! lines and lines starting with `#` are skipped.

use std::fmt::Write as _;

use bytes::BytesMut;

use crate::filter::{ChainFactory, SessionInfo};
use crate::relay::{Output, Relay, RelayLimits};

/// A line of a transcript that is neither `C:`, `S:`, a comment nor blank.
#[derive(Debug, thiserror::Error)]
#[error(
    "transcript line {line}: {text:?} does not start with \"C:\" or \"S:\"; write C: for client bytes, S: for server bytes"
)]
pub struct TranscriptError {
    pub line: usize,
    pub text: String,
}

/// The report of one transcript run.
pub struct Explanation {
    pub text: String,
    /// The relay ended the session on invalid input.
    pub failed: bool,
}

/// The peer that sent a transcript line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// Runs `transcript` through a session built from `chain` and `session`,
/// and writes each input line followed by what the server and the client
/// receive, with the filters' notes about each rewritten argument.
pub fn explain(
    chain: &ChainFactory,
    session: SessionInfo,
    limits: RelayLimits,
    transcript: &str,
) -> Result<Explanation, TranscriptError> {
    let lines = parse_transcript(transcript)?;
    let mut filters = chain.build();
    filters.on_login(&session);
    let mut relay = Relay::new(filters, session, limits);
    relay.record_notes();

    let mut text = String::new();
    let mut client_buf = BytesMut::new();
    let mut server_buf = BytesMut::new();
    for (side, bytes) in lines {
        let mut out = Output::default();
        let input = match side {
            Side::Client => &mut client_buf,
            Side::Server => &mut server_buf,
        };
        input.extend_from_slice(&bytes);
        // As the session driver does: both directions after every read.
        let result =
            relay.server_input(&mut server_buf, &mut out).and_then(|()| relay.client_input(&mut client_buf, &mut out));

        let prefix = if side == Side::Client { "C:" } else { "S:" };
        write_lines(&mut text, prefix, &bytes);
        write_lines(&mut text, "  -> server:", &out.to_server);
        write_lines(&mut text, "  -> client:", &out.to_client);
        for note in relay.take_notes() {
            let _ = writeln!(text, "     note: {note}");
        }
        if let Err(error) = result {
            let _ = writeln!(text, "  !! the session ends with * BYE: {error}");
            return Ok(Explanation { text, failed: true });
        }
    }

    let stats = relay.stats();
    let _ = writeln!(
        text,
        "-- commands: {}, rewritten: {}, answered by imapgate: {}, withheld: {}, hidden names: {}",
        stats.commands, stats.rewritten, stats.answered, stats.withheld, stats.hidden_names
    );
    Ok(Explanation { text, failed: false })
}

/// Reads the `C:` and `S:` lines, each with CRLF appended.
fn parse_transcript(transcript: &str) -> Result<Vec<(Side, Vec<u8>)>, TranscriptError> {
    let mut lines = Vec::new();
    for (number, line) in transcript.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (side, rest) = if let Some(rest) = line.strip_prefix("C:") {
            (Side::Client, rest)
        } else if let Some(rest) = line.strip_prefix("S:") {
            (Side::Server, rest)
        } else {
            return Err(TranscriptError { line: number + 1, text: line.to_owned() });
        };
        // One space after the colon separates; further spaces are data.
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        let mut bytes = rest.as_bytes().to_vec();
        bytes.extend_from_slice(b"\r\n");
        lines.push((side, bytes));
    }
    Ok(lines)
}

/// Writes `bytes` one wire line per text line, CRLF removed and control
/// characters escaped.
fn write_lines(text: &mut String, prefix: &str, bytes: &[u8]) {
    for line in bytes.split_inclusive(|&byte| byte == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let shown: String = String::from_utf8_lossy(line)
            .chars()
            .flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] })
            .collect();
        let _ = writeln!(text, "{prefix} {shown}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imapgate_proto::encode::LiteralSupport;

    fn chain() -> ChainFactory {
        let text = r#"
filters = ["mailbox"]
[[listen]]
address = "127.0.0.1:1143"
[upstream]
address = "127.0.0.1:143"
[mailbox]
client_delimiter = "/"
[[mailbox.map]]
client = "Sent"
server = "INBOX.Sent Items"
"#;
        crate::config::parse(text).expect("test config is valid").chain
    }

    fn session() -> SessionInfo {
        SessionInfo {
            user: "user".into(),
            server_delimiter: Some('.'),
            server_namespaces: Vec::new(),
            utf8: false,
            server_literals: LiteralSupport::NonSyncAny,
        }
    }

    const LIMITS: RelayLimits = RelayLimits { max_line: 1024, max_collected: 4096, max_pipelined: 100 };

    #[test]
    fn explain_shows_both_sides_and_rules() {
        let transcript = "# a comment\nC: A1 SELECT {4}\nC: Sent\nS: A1 OK done\n\nC: A2 NOOP\n";
        let explanation = explain(&chain(), session(), LIMITS, transcript).unwrap();
        assert!(!explanation.failed);
        let expected = concat!(
            "C: A1 SELECT {4}\n",
            "  -> client: + Ready for literal data\n",
            "C: Sent\n",
            "  -> server: A1 SELECT {16+}\n",
            "  -> server: INBOX.Sent Items\n",
            "     note: \"Sent\" -> \"INBOX.Sent Items\" (mailbox.map[0])\n",
            "S: A1 OK done\n",
            "  -> client: A1 OK done\n",
            "C: A2 NOOP\n",
            "  -> server: A2 NOOP\n",
            "-- commands: 2, rewritten: 1, answered by imapgate: 0, withheld: 0, hidden names: 0\n",
        );
        assert_eq!(explanation.text, expected);
    }

    #[test]
    fn explain_rejects_lines_without_side() {
        let error = explain(&chain(), session(), LIMITS, "C: A1 NOOP\nA2 NOOP\n").err().expect("line 2 is invalid");
        assert_eq!(error.line, 2);
    }

    #[test]
    fn explain_reports_session_end() {
        let explanation = explain(&chain(), session(), LIMITS, "S: garbage\n").unwrap();
        assert!(explanation.failed);
        assert!(explanation.text.contains("!! the session ends with * BYE"), "{}", explanation.text);
    }
}
