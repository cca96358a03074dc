//! Relay checks: client and server bytes through a `Relay` with the
//! `mailbox` filter and a sample rule set.
//!
//! The input is a transcript. Each line that starts with `C: ` or `S: ` is
//! one read from the client or the server, and gets CRLF appended; `c: `
//! and `s: ` lines are reads without a line terminator, so a message can
//! span reads. Other lines are comments. Reads reach the relay in order,
//! and each is also cut whole, byte by byte and at random points, as the
//! session driver does with socket reads.
//!
//! `check_relay` expects: no panic, and both output streams frame
//! consistently. Every message written to the client starts with a line
//! that reads as a response, and every message written to the server starts
//! with a line that reads as a command, unless it is the line after IDLE or
//! follows AUTHENTICATE (continuation data).
//!
//! `check_rewrite` expects, on top: every command written to the server and
//! every response written to the client that carries a mailbox name (SELECT,
//! RENAME, COPY, LIST, STATUS and the like) tokenizes again, and each name
//! in it maps back through the rules: a server name in a command is shown to
//! clients under a client name that maps to it, and a client name in a
//! response maps to a server name that is shown under it.

use std::ops::Range;
use std::sync::OnceLock;

use bytes::BytesMut;
use imapgate::filter::{ChainFactory, SessionInfo};
use imapgate::mailbox::names::decode_name;
use imapgate::mailbox::rules::RuleSet;
use imapgate::relay::{Output, Relay, RelayLimits};
use imapgate_proto::classify::{CommandName, ResponseHead, ResponseName, classify_command, classify_response};
use imapgate_proto::encode::LiteralSupport;
use imapgate_proto::framer::{Frame, Framer, Peer};
use imapgate_proto::scan::{Token, TokenKind, string_value, tokenize};

use super::Feed;

/// The sample configuration: template, regex and hide rules, with different
/// delimiters on the two sides.
const CONFIG: &str = r#"
filters = ["mailbox"]
[[listen]]
address = "127.0.0.1:1143"
[upstream]
address = "127.0.0.1:143"
[mailbox]
client_delimiter = "/"
server_delimiter = "."
[[mailbox.map]]
client = "Sent"
server = "INBOX.Sent Items"
[[mailbox.map]]
client = "Archive{/rest}"
server = "INBOX.Archive{.rest}"
[[mailbox.map]]
client = "Entwürfe"
server = "INBOX.Drafts"
[[mailbox.map]]
to_server = { match = '^Old/(.*)$', replace = 'INBOX.Legacy.$1' }
to_client = { match = '^INBOX\.Legacy\.(.*)$', replace = 'Old/$1' }
[[mailbox.hide]]
server = '^INBOX\.(Junk|Spam)(\..*)?$'
"#;

const SERVER_DELIMITER: Option<char> = Some('.');

/// Small limits, so that inputs of a few kilobytes reach them.
const LIMITS: RelayLimits = RelayLimits { max_line: 1024, max_collected: 4096, max_pipelined: 1000 };

/// Largest number of times the server stream check tries the other choice
/// at a synchronizing literal, and its deepest nesting.
const BACKTRACK_BUDGET: usize = 64;
const MAX_DEPTH: usize = 256;

struct Sample {
    chain: ChainFactory,
    rules: RuleSet,
}

fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let loaded = imapgate::config::parse(CONFIG).unwrap_or_else(|problems| panic!("sample config: {problems:?}"));
        let section = loaded.config.mailbox.clone().expect("the sample config has a [mailbox] section");
        let rules = RuleSet::compile(&section).unwrap_or_else(|errors| panic!("sample rules: {errors:?}"));
        Sample { chain: loaded.chain, rules }
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// Splits a transcript into reads.
fn parse_transcript(data: &[u8]) -> Vec<(Side, Vec<u8>)> {
    let mut reads = Vec::new();
    for line in data.split_inclusive(|&byte| byte == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let (side, terminated) = match line.get(..3) {
            Some(b"C: ") => (Side::Client, true),
            Some(b"S: ") => (Side::Server, true),
            Some(b"c: ") => (Side::Client, false),
            Some(b"s: ") => (Side::Server, false),
            _ => continue,
        };
        let mut bytes = line[3..].to_vec();
        if terminated {
            bytes.extend_from_slice(b"\r\n");
        }
        reads.push((side, bytes));
    }
    reads
}

/// What a relay wrote before the input ended or it failed.
struct Run {
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    /// The session switched to UTF-8 mailbox names.
    utf8: bool,
}

fn run_relay(reads: &[(Side, Vec<u8>)], literals: LiteralSupport, feed: Feed) -> Run {
    let session = SessionInfo {
        user: "user".to_string(),
        server_delimiter: SERVER_DELIMITER,
        server_namespaces: Vec::new(),
        utf8: false,
        server_literals: literals,
    };
    let mut relay = Relay::new(sample().chain.build(), session, LIMITS);
    let mut client_buf = BytesMut::new();
    let mut server_buf = BytesMut::new();
    let mut out = Output::default();
    let mut random = feed.random();

    'reads: for (side, bytes) in reads {
        for piece in feed.cut(bytes, &mut random) {
            match side {
                Side::Client => client_buf.extend_from_slice(piece),
                Side::Server => server_buf.extend_from_slice(piece),
            }
            // As the session driver does: both directions after every read.
            let result = relay
                .server_input(&mut server_buf, &mut out)
                .and_then(|()| relay.client_input(&mut client_buf, &mut out));
            if result.is_err() {
                break 'reads;
            }
        }
    }
    Run { to_server: out.to_server.to_vec(), to_client: out.to_client.to_vec(), utf8: relay.session().utf8 }
}

/// The relay setups every check runs: with and without LITERAL+ upstream.
const LITERALS: [LiteralSupport; 2] = [LiteralSupport::NonSyncAny, LiteralSupport::Synchronizing];

pub fn check_relay(data: &[u8]) {
    let reads = parse_transcript(data);
    for literals in LITERALS {
        for feed in Feed::all_for(data) {
            let run = run_relay(&reads, literals, feed);
            let place = format!("{literals:?}, {feed:?}");
            response_messages(&run.to_client, &place);
            command_messages(&run.to_server, &place, &|_| Ok(()));
        }
    }
}

pub fn check_rewrite(data: &[u8]) {
    let reads = parse_transcript(data);
    let rules = &sample().rules;
    for literals in LITERALS {
        let run = run_relay(&reads, literals, Feed::Whole);
        let place = format!("{literals:?}");

        for range in response_messages(&run.to_client, &place) {
            check_response_names(&run.to_client[range], rules, run.utf8, &place);
        }
        command_messages(&run.to_server, &place, &|command| check_command_names(command, rules, run.utf8));
    }
}

/// Frames the stream written to the client into whole messages and checks
/// that each starts with a response line.
fn response_messages(stream: &[u8], place: &str) -> Vec<Range<usize>> {
    let mut framer = Framer::new(Peer::Server, usize::MAX);
    let mut messages = Vec::new();
    let mut start = 0;
    let mut at = 0;
    loop {
        let frame = framer
            .next(&stream[at..])
            .unwrap_or_else(|error| panic!("{place}: stream to the client fails to frame at {at}: {error}"));
        match frame {
            Frame::NeedMore | Frame::AwaitingContinuation => return messages,
            Frame::LineEnd { len, starts_message, literal } => {
                if starts_message {
                    start = at;
                    let line = &stream[at..at + len];
                    assert!(
                        classify_response(line).is_some(),
                        "{place}: message to the client at {at} is no response: {line:?}"
                    );
                }
                at += len;
                framer.consume(len);
                if literal.is_none() {
                    messages.push(start..at);
                }
            }
            Frame::LinePart { len, .. } | Frame::Literal { len, .. } => {
                at += len;
                framer.consume(len);
            }
        }
    }
}

/// Checks one whole command written to the server; continuation data is
/// not passed.
type CommandCheck<'a> = &'a dyn Fn(&[u8]) -> Result<(), String>;

/// What framing the stream to the server has seen so far.
#[derive(Clone, Copy)]
struct CommandState {
    at: usize,
    start: usize,
    /// The next message start is the line that ends an IDLE.
    after_idle: bool,
    /// An AUTHENTICATE was sent: its SASL lines are continuation data.
    authenticating: bool,
    continuation: bool,
}

/// Frames the stream written to the server into whole messages and checks
/// that each starts with a command line and passes `check`.
///
/// The stream does not show whether the server accepted a synchronizing
/// literal: after a refusal the next bytes are a new command. So at each
/// literal the check first assumes the data follows, and takes the other
/// choice when that leads to a message that fails.
fn command_messages(stream: &[u8], place: &str, check: CommandCheck<'_>) {
    let state = CommandState { at: 0, start: 0, after_idle: false, authenticating: false, continuation: false };
    let framer = Framer::new(Peer::Client, usize::MAX);
    let mut budget = BACKTRACK_BUDGET;
    if let Outcome::Inconsistent(reason) = frame_commands(stream, framer, state, check, &mut budget, 0) {
        panic!("{place}: stream to the server: {reason}");
    }
}

enum Outcome {
    Consistent,
    /// The backtracking budget ran out; nothing is claimed.
    Unknown,
    Inconsistent(String),
}

fn frame_commands(
    stream: &[u8],
    mut framer: Framer,
    mut state: CommandState,
    check: CommandCheck<'_>,
    budget: &mut usize,
    depth: usize,
) -> Outcome {
    loop {
        let at = state.at;
        let frame = match framer.next(&stream[at..]) {
            Ok(frame) => frame,
            Err(error) => return Outcome::Inconsistent(format!("fails to frame at {at}: {error}")),
        };
        match frame {
            Frame::NeedMore => return Outcome::Consistent,
            Frame::AwaitingContinuation => {
                if depth >= MAX_DEPTH {
                    return Outcome::Unknown;
                }
                let mut continued = framer.clone();
                continued.continue_literal();
                let first = match frame_commands(stream, continued, state, check, budget, depth + 1) {
                    Outcome::Inconsistent(reason) => reason,
                    other => return other,
                };
                if *budget == 0 {
                    return Outcome::Unknown;
                }
                *budget -= 1;
                // A refused command ends at its literal header and is
                // incomplete, so it is not checked.
                framer.cancel_literal();
                state.start = at;
                return match frame_commands(stream, framer, state, check, budget, depth + 1) {
                    Outcome::Inconsistent(_) => Outcome::Inconsistent(first),
                    other => other,
                };
            }
            Frame::LineEnd { len, starts_message, literal } => {
                if starts_message {
                    state.start = at;
                    let line = &stream[at..at + len];
                    state.continuation = state.after_idle || state.authenticating;
                    state.after_idle = false;
                    if !state.continuation {
                        match classify_command(line) {
                            Ok(head) => {
                                state.after_idle = head.name == CommandName::Idle;
                                state.authenticating |= head.name == CommandName::Authenticate;
                            }
                            Err(error) => {
                                return Outcome::Inconsistent(format!(
                                    "line at {at} is no command ({error}): {line:?}"
                                ));
                            }
                        }
                    }
                }
                state.at += len;
                framer.consume(len);
                if literal.is_none()
                    && let Err(reason) = finish_command(stream, &state, state.at, check)
                {
                    return Outcome::Inconsistent(reason);
                }
            }
            Frame::LinePart { len, .. } | Frame::Literal { len, .. } => {
                state.at += len;
                framer.consume(len);
            }
        }
    }
}

/// Runs `check` on the command that ends at `end`, unless it is
/// continuation data.
fn finish_command(stream: &[u8], state: &CommandState, end: usize, check: CommandCheck<'_>) -> Result<(), String> {
    if state.continuation {
        return Ok(());
    }
    check(&stream[state.start..end]).map_err(|reason| format!("command at {}: {reason}", state.start))
}

/// Checks a command written to the server that carries mailbox names.
fn check_command_names(message: &[u8], rules: &RuleSet, utf8: bool) -> Result<(), String> {
    let Ok(head) = classify_command(message) else {
        return Ok(());
    };
    let names: &[usize] = match head.name {
        CommandName::Select
        | CommandName::Examine
        | CommandName::Create
        | CommandName::Delete
        | CommandName::Subscribe
        | CommandName::Unsubscribe
        | CommandName::Status
        | CommandName::Append => &[0],
        CommandName::Rename => &[0, 1],
        CommandName::Copy | CommandName::Move => &[1],
        CommandName::List | CommandName::Lsub | CommandName::Xlist => &[],
        _ => return Ok(()),
    };
    let tokens = match tokenize(message, head.args_at) {
        Ok(tokens) => tokens,
        // APPEND is rewritten only up to its message literal; the rest is
        // streamed as the client sent it.
        Err(_) if head.name == CommandName::Append => return Ok(()),
        Err(error) => return Err(format!("command does not tokenize ({error}): {message:?}")),
    };
    for &index in names {
        let Some(raw) = name_value(message, &tokens, index) else {
            return Err(format!("command has no mailbox argument {index}: {message:?}"));
        };
        let maps_back = |utf8: bool| {
            let server = decode_name(&raw, utf8);
            let Some((client, _)) = rules.to_client(server.as_str(), SERVER_DELIMITER) else {
                return false;
            };
            rules.to_server(&client, SERVER_DELIMITER).is_ok_and(|(back, _)| back == server.as_str())
        };
        if !(maps_back(false) || (utf8 && maps_back(true))) {
            return Err(format!("server name {raw:?} does not map back through the rules: {message:?}"));
        }
    }
    Ok(())
}

/// Checks a response written to the client that carries a mailbox name.
fn check_response_names(message: &[u8], rules: &RuleSet, utf8: bool, place: &str) {
    let Some(ResponseHead::Untagged { name, args_at, .. }) = classify_response(message) else {
        return;
    };
    if !matches!(name, ResponseName::List | ResponseName::Lsub | ResponseName::Xlist | ResponseName::Status) {
        return;
    }
    let tokens = tokenize(message, args_at)
        .unwrap_or_else(|error| panic!("{place}: response to the client does not tokenize ({error}): {message:?}"));
    let index = if name == ResponseName::Status {
        0
    } else {
        let close = closing_paren(&tokens)
            .unwrap_or_else(|| panic!("{place}: LIST response without attributes reached the client: {message:?}"));
        close + 2
    };
    let Some(raw) = name_value(message, &tokens, index) else {
        panic!("{place}: response to the client has no mailbox name: {message:?}");
    };
    if raw.is_empty() {
        return;
    }
    let maps_back = |utf8: bool| {
        let client = decode_name(&raw, utf8);
        let Ok((server, _)) = rules.to_server(client.as_str(), SERVER_DELIMITER) else {
            return false;
        };
        rules.to_client(&server, SERVER_DELIMITER).is_some_and(|(back, _)| back == client.as_str())
    };
    assert!(
        maps_back(false) || (utf8 && maps_back(true)),
        "{place}: client name {raw:?} in a response does not map back through the rules: {message:?}"
    );
}

/// The value of string token `index`; an unquoted NIL is taken as the name
/// `NIL`, as the filter does.
fn name_value(message: &[u8], tokens: &[Token], index: usize) -> Option<Vec<u8>> {
    let token = tokens.get(index)?;
    match token.kind {
        TokenKind::String(_) => string_value(message, token).map(|value| value.into_owned()),
        TokenKind::Nil => Some(message[token.span.clone()].to_vec()),
        _ => None,
    }
}

/// Index of the `)` closing a `(` at token 0.
fn closing_paren(tokens: &[Token]) -> Option<usize> {
    if tokens.first()?.kind != TokenKind::ListOpen {
        return None;
    }
    let mut depth = 0usize;
    for (index, token) in tokens.iter().enumerate() {
        match token.kind {
            TokenKind::ListOpen => depth += 1,
            TokenKind::ListClose => {
                depth -= 1;
                if depth == 0 {
                    return Some(index);
                }
            }
            _ => {}
        }
    }
    None
}
