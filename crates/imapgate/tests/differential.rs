//! Differential tests against imap-codec, a complete IMAP parser used here
//! only as an oracle.
//!
//! Commands that carry mailbox names are generated with names in every
//! wire form (atom, quoted, synchronizing and non-synchronizing literal).
//! imap-codec must parse them, imapgate's scanner must find the same names,
//! and what the relay sends to the server must parse as the same command
//! with the names mapped by the rules.

use std::sync::OnceLock;

use bytes::BytesMut;
use imap_codec::CommandCodec;
use imap_codec::decode::{CommandDecodeError, Decoder};
use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::imap_types::core::{AString, IString, LiteralMode};
use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox};
use imapgate::config::LoadedConfig;
use imapgate::filter::SessionInfo;
use imapgate::mailbox::rules::RuleSet;
use imapgate::relay::{Output, Relay, RelayLimits};
use imapgate_proto::encode::LiteralSupport;
use imapgate_proto::mutf7;
use imapgate_proto::scan::{self, TokenKind};
use proptest::prelude::*;

/// The `[mailbox]` section every relay here runs with.
const RULES: &str = r#"
client_delimiter = "/"
server_delimiter = "."
[[mailbox.map]]
client = "Sent"
server = "INBOX.Sent Items"
[[mailbox.map]]
client = "Archive/{rest}"
server = "INBOX.Archive.{rest}"
[[mailbox.map]]
client = "Entwürfe"
server = "INBOX.Drafts"
[[mailbox.hide]]
server = '^INBOX\.Spam(\..*)?$'
"#;

const LIMITS: RelayLimits = RelayLimits { max_line: 8192, max_collected: 65536, max_pipelined: 100 };

fn config_text() -> String {
    format!(
        "filters = [\"mailbox\"]\n[[listen]]\naddress = \"127.0.0.1:1143\"\n[upstream]\naddress = \"127.0.0.1:143\"\n[mailbox]\n{RULES}"
    )
}

/// The parsed configuration, shared by all cases.
fn loaded() -> &'static LoadedConfig {
    static LOADED: OnceLock<LoadedConfig> = OnceLock::new();
    LOADED.get_or_init(|| imapgate::config::parse(&config_text()).expect("the test configuration is valid"))
}

fn rules() -> RuleSet {
    let section = loaded().config.mailbox.as_ref().expect("the configuration has a [mailbox] section");
    RuleSet::compile(section).expect("the test rules compile")
}

fn relay(literals: LiteralSupport) -> Relay {
    let loaded = loaded();
    let session = SessionInfo {
        user: "user".to_string(),
        server_delimiter: Some('.'),
        server_namespaces: Vec::new(),
        utf8: false,
        server_literals: literals,
    };
    Relay::new(loaded.chain.build(), session, LIMITS)
}

// ---------------------------------------------------------------------------
// Modified UTF-7, written independently of imapgate-proto to generate names.

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Encodes `text` in modified UTF-7 (RFC 3501 section 5.1.3).
fn mutf7_encode(text: &str) -> Vec<u8> {
    fn flush(out: &mut Vec<u8>, units: &mut Vec<u16>) {
        if units.is_empty() {
            return;
        }
        let bytes: Vec<u8> = units.iter().flat_map(|unit| unit.to_be_bytes()).collect();
        out.push(b'&');
        for chunk in bytes.chunks(3) {
            let mut group = [0u8; 3];
            group[..chunk.len()].copy_from_slice(chunk);
            let bits = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
            let count = (chunk.len() * 8).div_ceil(6);
            for index in 0..count {
                out.push(BASE64[(bits >> (18 - 6 * index)) as usize & 0x3f]);
            }
        }
        out.push(b'-');
        units.clear();
    }
    let mut out = Vec::new();
    let mut units = Vec::new();
    for c in text.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut out, &mut units);
            out.push(c as u8);
            if c == '&' {
                out.push(b'-');
            }
        } else {
            let mut buffer = [0u16; 2];
            units.extend_from_slice(c.encode_utf16(&mut buffer));
        }
    }
    flush(&mut out, &mut units);
    out
}

// ---------------------------------------------------------------------------
// Generated commands.

/// How a string argument is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Atom,
    Quoted,
    Literal,
    LiteralPlus,
}

/// A mailbox name or LIST argument: its value (wire bytes before quoting)
/// and the form it is written in.
#[derive(Clone)]
struct Arg {
    value: Vec<u8>,
    form: Form,
}

impl std::fmt::Debug for Arg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} as {:?}", String::from_utf8_lossy(&self.value), self.form)
    }
}

/// Which grammar an argument is written under.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grammar {
    /// `mailbox` and the LIST reference.
    Astring,
    /// The LIST pattern, where `%` and `*` are atom characters.
    ListMailbox,
}

impl Arg {
    fn write(&self, out: &mut Vec<u8>) {
        match self.form {
            Form::Atom => out.extend_from_slice(&self.value),
            Form::Quoted => {
                out.push(b'"');
                for &byte in &self.value {
                    if matches!(byte, b'"' | b'\\') {
                        out.push(b'\\');
                    }
                    out.push(byte);
                }
                out.push(b'"');
            }
            Form::Literal => {
                out.extend_from_slice(format!("{{{}}}\r\n", self.value.len()).as_bytes());
                out.extend_from_slice(&self.value);
            }
            Form::LiteralPlus => {
                out.extend_from_slice(format!("{{{}+}}\r\n", self.value.len()).as_bytes());
                out.extend_from_slice(&self.value);
            }
        }
    }
}

fn is_atom(value: &[u8], grammar: Grammar) -> bool {
    // ASTRING-CHAR, plus the wildcards in list-mailbox.
    let allowed = |byte: u8| match byte {
        b'%' | b'*' => grammar == Grammar::ListMailbox,
        b'(' | b')' | b'{' | b'"' | b'\\' => false,
        0x21..=0x7e => true,
        _ => false,
    };
    !value.is_empty() && value.iter().all(|&byte| allowed(byte))
}

fn is_quotable(value: &[u8]) -> bool {
    value.iter().all(|&byte| matches!(byte, 0x01..=0x7f) && !matches!(byte, b'\r' | b'\n'))
}

/// Picks one of the forms valid for `value`.
fn arg(value: Vec<u8>, grammar: Grammar, choice: usize, sync_only: bool) -> Arg {
    let mut forms = Vec::new();
    if is_atom(&value, grammar) {
        forms.push(Form::Atom);
    }
    if is_quotable(&value) {
        forms.push(Form::Quoted);
    }
    forms.push(Form::Literal);
    if !sync_only {
        forms.push(Form::LiteralPlus);
    }
    Arg { form: forms[choice % forms.len()], value }
}

/// Names the rules treat specially, and names that look like other tokens.
const KNOWN_NAMES: &[&str] = &[
    "Sent",
    "sent",
    "INBOX",
    "inbox",
    "InBoX/Sub",
    "INBOX/Spam",
    "INBOX/Spam/old",
    "INBOX/Sent Items",
    "Archive",
    "Archive/",
    "Archive/2024",
    "Archive/a b",
    "Archive/x/y",
    "Archive/\"q\\",
    "Archive/Entwürfe",
    "Entwürfe",
    "NIL",
    "nil",
    "0",
    "123",
    "4294967296",
    "",
    "a.b",
    "&",
    "a]b",
    "[Gmail]/All Mail",
    "日本語/メール",
    "😀",
];

/// A mailbox name on the wire, before quoting.
fn name_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::sample::select(KNOWN_NAMES).prop_map(mutf7_encode),
        // Printable ASCII as it is on the wire: not always valid modified UTF-7.
        3 => "[ -~]{0,10}".prop_map(String::into_bytes),
        2 => "([a-z/. &]|\\PC){0,6}".prop_map(|text| mutf7_encode(&text)),
        2 => "([a-z/ ]|\\PC){1,6}".prop_map(|text| mutf7_encode(&format!("Archive/{text}"))),
        // UTF-8 and control characters, which only a literal can carry.
        1 => "[a-zäöü€日]{1,6}".prop_map(String::into_bytes),
        1 => "[\\x01-\\x7f]{0,6}".prop_map(String::into_bytes),
    ]
}

/// A LIST pattern value: names and names with wildcards.
fn pattern_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => name_value(),
        1 => prop::sample::select(&["*", "%", "Archive/%", "Archive/*", "Sent*", "INBOX/%", "Arch*", "%/%"][..])
            .prop_map(|text| text.as_bytes().to_vec()),
        1 => ("[a-zA-Z/ ]{0,6}", "[%*]", "[a-z/]{0,3}").prop_map(|(a, w, b)| format!("{a}{w}{b}").into_bytes()),
    ]
}

#[derive(Clone, Debug)]
enum Cmd {
    /// SELECT, EXAMINE, CREATE, DELETE, SUBSCRIBE, UNSUBSCRIBE.
    One {
        keyword: &'static str,
        name: Arg,
    },
    Rename {
        from: Arg,
        to: Arg,
    },
    Status {
        name: Arg,
        items: Vec<&'static str>,
    },
    List {
        lsub: bool,
        reference: Arg,
        pattern: Arg,
    },
    Copy {
        keyword: &'static str,
        uid: bool,
        set: &'static str,
        name: Arg,
    },
    Append {
        name: Arg,
        flags: bool,
        date: bool,
        message: Vec<u8>,
        sync: bool,
    },
}

/// A generated command and how it was written.
#[derive(Clone)]
struct Case {
    tag: String,
    cmd: Cmd,
    /// The server offers LITERAL+; otherwise the client uses only `{n}`.
    literal_plus: bool,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plus = if self.literal_plus { "LITERAL+" } else { "no LITERAL+" };
        write!(f, "{} ({plus}, {:?})", show(&self.wire()), self.cmd)
    }
}

impl Case {
    fn keyword(&self) -> String {
        match &self.cmd {
            Cmd::One { keyword, .. } => keyword.to_string(),
            Cmd::Rename { .. } => "RENAME".into(),
            Cmd::Status { .. } => "STATUS".into(),
            Cmd::List { lsub, .. } => if *lsub { "LSUB" } else { "LIST" }.into(),
            Cmd::Copy { keyword, uid, .. } => {
                if *uid {
                    format!("UID {keyword}")
                } else {
                    keyword.to_string()
                }
            }
            Cmd::Append { .. } => "APPEND".into(),
        }
    }

    fn wire(&self) -> Vec<u8> {
        self.parts().concat()
    }

    /// The command as a client sends it: a new part after each
    /// synchronizing literal header, where the client waits for `+`.
    fn parts(&self) -> Vec<Vec<u8>> {
        let mut parts = Vec::new();
        let mut out = format!("{} {} ", self.tag, self.keyword()).into_bytes();
        let mut write = |arg: &Arg, out: &mut Vec<u8>| {
            if arg.form == Form::Literal {
                out.extend_from_slice(format!("{{{}}}\r\n", arg.value.len()).as_bytes());
                parts.push(std::mem::replace(out, arg.value.clone()));
            } else {
                arg.write(out);
            }
        };
        match &self.cmd {
            Cmd::One { name, .. } => write(name, &mut out),
            Cmd::Rename { from, to } => {
                write(from, &mut out);
                out.push(b' ');
                write(to, &mut out);
            }
            Cmd::Status { name, items } => {
                write(name, &mut out);
                out.extend_from_slice(format!(" ({})", items.join(" ")).as_bytes());
            }
            Cmd::List { reference, pattern, .. } => {
                write(reference, &mut out);
                out.push(b' ');
                write(pattern, &mut out);
            }
            Cmd::Copy { set, name, .. } => {
                out.extend_from_slice(format!("{set} ").as_bytes());
                write(name, &mut out);
            }
            Cmd::Append { name, flags, date, message, sync } => {
                write(name, &mut out);
                if *flags {
                    out.extend_from_slice(b" (\\Seen \\Draft)");
                }
                if *date {
                    out.extend_from_slice(b" \"17-Jul-1996 02:44:25 -0700\"");
                }
                out.push(b' ');
                let form = if *sync { Form::Literal } else { Form::LiteralPlus };
                write(&Arg { value: message.clone(), form }, &mut out);
            }
        }
        out.extend_from_slice(b"\r\n");
        parts.push(out);
        parts
    }

    /// The mailbox arguments in order, with their token index after the keyword.
    fn names(&self) -> Vec<(usize, &Arg)> {
        match &self.cmd {
            Cmd::One { name, .. } | Cmd::Status { name, .. } | Cmd::Append { name, .. } => vec![(0, name)],
            Cmd::Rename { from, to } => vec![(0, from), (1, to)],
            Cmd::List { reference, pattern, .. } => vec![(0, reference), (1, pattern)],
            Cmd::Copy { name, .. } => vec![(1, name)],
        }
    }
}

fn case() -> impl Strategy<Value = Case> {
    let tag = "[A-Za-z0-9]{1,4}";
    (tag, any::<bool>(), any::<[usize; 2]>()).prop_flat_map(|(tag, literal_plus, forms)| {
        let sync_only = !literal_plus;
        let name =
            move |choice: usize| name_value().prop_map(move |value| arg(value, Grammar::Astring, choice, sync_only));
        let one = (
            prop::sample::select(&["SELECT", "EXAMINE", "CREATE", "DELETE", "SUBSCRIBE", "UNSUBSCRIBE"][..]),
            name(forms[0]),
        )
            .prop_map(|(keyword, name)| Cmd::One { keyword, name });
        let rename = (name(forms[0]), name(forms[1])).prop_map(|(from, to)| Cmd::Rename { from, to });
        let status = (
            name(forms[0]),
            prop::sample::subsequence(&["MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN"][..], 1..=5),
        )
            .prop_map(|(name, items)| Cmd::Status { name, items });
        let list = (any::<bool>(), name(forms[0]), pattern_value()).prop_map(move |(lsub, reference, pattern)| {
            let pattern = arg(pattern, Grammar::ListMailbox, forms[1], sync_only);
            Cmd::List { lsub, reference, pattern }
        });
        let copy = (
            prop::sample::select(&["COPY", "MOVE"][..]),
            any::<bool>(),
            prop::sample::select(&["1", "1:3", "2,4:*", "*"][..]),
            name(forms[0]),
        )
            .prop_map(|(keyword, uid, set, name)| Cmd::Copy { keyword, uid, set, name });
        let append = (name(forms[0]), any::<bool>(), any::<bool>(), "[a-zA-Z ]{0,10}", any::<bool>()).prop_map(
            move |(name, flags, date, text, sync)| Cmd::Append {
                name,
                flags,
                date,
                message: format!("Subject: {text}\r\n\r\nhi\r\n").into_bytes(),
                sync: sync || sync_only,
            },
        );
        let cmd = prop_oneof![3 => one, 1 => rename, 1 => status, 2 => list, 1 => copy, 1 => append];
        cmd.prop_map(move |cmd| Case { tag: tag.clone(), cmd, literal_plus })
    })
}

// ---------------------------------------------------------------------------
// What imap-codec decodes.

/// A decoded command: its tag, everything but the mailbox names as text,
/// and the mailbox names in order.
#[derive(Debug, PartialEq, Eq)]
struct Decoded {
    tag: String,
    shape: String,
    names: Vec<Vec<u8>>,
    /// Whether every literal among the names is synchronizing.
    names_sync: bool,
}

fn mailbox_value(mailbox: &Mailbox<'_>) -> (Vec<u8>, bool) {
    match mailbox {
        // imap-codec folds `inbox` in any case into this variant.
        Mailbox::Inbox => (b"INBOX".to_vec(), true),
        Mailbox::Other(other) => astring_value(other.inner()),
    }
}

fn astring_value(value: &AString<'_>) -> (Vec<u8>, bool) {
    let sync = match value {
        AString::String(IString::Literal(literal)) => literal.mode() == LiteralMode::Sync,
        _ => true,
    };
    (value.as_ref().to_vec(), sync)
}

fn decode(bytes: &[u8]) -> Result<Decoded, String> {
    let (rest, command) = CommandCodec::default()
        .decode(bytes)
        .map_err(|error| format!("imap-codec rejects {:?}: {error:?}", String::from_utf8_lossy(bytes)))?;
    if !rest.is_empty() {
        return Err(format!("imap-codec leaves {:?} after the command", String::from_utf8_lossy(rest)));
    }
    let Command { tag, body } = command;
    let (shape, names) = match body {
        CommandBody::Select { mailbox } => ("SELECT".to_string(), vec![mailbox_value(&mailbox)]),
        CommandBody::Examine { mailbox } => ("EXAMINE".to_string(), vec![mailbox_value(&mailbox)]),
        CommandBody::Create { mailbox } => ("CREATE".to_string(), vec![mailbox_value(&mailbox)]),
        CommandBody::Delete { mailbox } => ("DELETE".to_string(), vec![mailbox_value(&mailbox)]),
        CommandBody::Subscribe { mailbox } => ("SUBSCRIBE".to_string(), vec![mailbox_value(&mailbox)]),
        CommandBody::Unsubscribe { mailbox } => ("UNSUBSCRIBE".to_string(), vec![mailbox_value(&mailbox)]),
        CommandBody::Rename { from, to } => ("RENAME".to_string(), vec![mailbox_value(&from), mailbox_value(&to)]),
        CommandBody::Status { mailbox, item_names } => {
            (format!("STATUS {item_names:?}"), vec![mailbox_value(&mailbox)])
        }
        CommandBody::List { reference, mailbox_wildcard } => {
            ("LIST".to_string(), vec![mailbox_value(&reference), list_value(&mailbox_wildcard)])
        }
        CommandBody::Lsub { reference, mailbox_wildcard } => {
            ("LSUB".to_string(), vec![mailbox_value(&reference), list_value(&mailbox_wildcard)])
        }
        CommandBody::Copy { sequence_set, mailbox, uid } => {
            (format!("COPY {sequence_set:?} uid={uid}"), vec![mailbox_value(&mailbox)])
        }
        CommandBody::Move { sequence_set, mailbox, uid } => {
            (format!("MOVE {sequence_set:?} uid={uid}"), vec![mailbox_value(&mailbox)])
        }
        CommandBody::Append { mailbox, flags, date, message } => {
            let data = String::from_utf8_lossy(message.data()).into_owned();
            (format!("APPEND {flags:?} {date:?} {data:?}"), vec![mailbox_value(&mailbox)])
        }
        other => return Err(format!("unexpected command {other:?}")),
    };
    Ok(Decoded {
        tag: tag.inner().to_string(),
        shape,
        names_sync: names.iter().all(|(_, sync)| *sync),
        names: names.into_iter().map(|(value, _)| value).collect(),
    })
}

fn list_value(pattern: &ListMailbox<'_>) -> (Vec<u8>, bool) {
    match pattern {
        ListMailbox::Token(token) => (token.as_ref().to_vec(), true),
        ListMailbox::String(IString::Literal(literal)) => {
            (literal.data().to_vec(), literal.mode() == LiteralMode::Sync)
        }
        ListMailbox::String(string) => (string.as_ref().to_vec(), true),
    }
}

/// Compares mailbox values; INBOX is case-insensitive, and imap-codec
/// reports it as `INBOX` whatever its case.
fn same_mailbox(decoded: &[u8], expected: &[u8]) -> bool {
    decoded == expected || (decoded == b"INBOX" && expected.eq_ignore_ascii_case(b"INBOX"))
}

// ---------------------------------------------------------------------------
// The expected effect of the rules.

/// The text the rule engine sees for a wire name: decoded modified UTF-7,
/// or the bytes as they are. Returns the text and whether it was decoded.
fn rule_text(wire: &[u8]) -> (String, bool) {
    match mutf7::decode(wire) {
        Ok(text) => (text, true),
        Err(_) => (String::from_utf8_lossy(wire).into_owned(), false),
    }
}

fn to_wire(text: &str, decoded: bool) -> Vec<u8> {
    if decoded { mutf7_encode(text) } else { text.as_bytes().to_vec() }
}

/// What the relay must do with a command.
#[derive(Debug)]
enum Expected {
    /// Send it on with these mailbox values (in the order of `Decoded::names`).
    Forward(Vec<Vec<u8>>),
    /// Answer it with a tagged reply of this status, sending nothing on.
    Reply(&'static str),
}

fn expected(case: &Case, rules: &RuleSet) -> Expected {
    let delimiter = Some('.');
    if let Cmd::List { reference, pattern, .. } = &case.cmd {
        let (reference_text, _) = rule_text(&reference.value);
        let (pattern_text, _) = rule_text(&pattern.value);
        let combined = format!("{reference_text}{pattern_text}");
        if combined.is_empty() {
            return Expected::Forward(vec![Vec::new(), Vec::new()]);
        }
        // NOTE: an empty pattern with a non-empty reference requests the
        // reference's root (RFC 3501 section 6.3.8). imapgate maps the
        // reference as a mailbox name instead, and this expectation follows it.
        if !combined.contains(['*', '%']) {
            return match rules.to_server(&combined, delimiter) {
                Ok((server, _)) => Expected::Forward(vec![Vec::new(), mutf7_encode(&server)]),
                Err(_) => Expected::Reply("OK"),
            };
        }
        let server = rules.server_pattern(&combined, delimiter).unwrap_or_else(|| "*".to_string());
        return Expected::Forward(vec![Vec::new(), mutf7_encode(&server)]);
    }
    let mut names = Vec::new();
    for (_, name) in case.names() {
        let (text, decoded) = rule_text(&name.value);
        match rules.to_server(&text, delimiter) {
            Ok((server, _)) => names.push(to_wire(&server, decoded)),
            Err(_) => return Expected::Reply("NO"),
        }
    }
    Expected::Forward(names)
}

// ---------------------------------------------------------------------------
// Running the relay.

/// Sends the command to a fresh relay as a client does, waiting for a `+`
/// after each synchronizing literal header and stopping when none comes,
/// and sends the relay a server `+` for every synchronizing literal it
/// writes to the server. Returns the bytes written to the server and to the client,
/// without the `+` lines.
fn run_relay(case: &Case) -> (Vec<u8>, Vec<u8>) {
    let literals = if case.literal_plus { LiteralSupport::NonSyncAny } else { LiteralSupport::Synchronizing };
    let mut relay = relay(literals);
    let mut client_buf = BytesMut::new();
    let mut server_buf = BytesMut::new();
    let mut out = Output::default();
    let continuations =
        |out: &Output| out.to_client[..].split(|&byte| byte == b'\n').filter(|line| line.starts_with(b"+ ")).count();
    // Length of the server output when the last `+` was sent to the relay.
    let mut answered_at = 0;
    for (index, part) in case.parts().into_iter().enumerate() {
        if continuations(&out) < index {
            break;
        }
        client_buf.extend_from_slice(&part);
        loop {
            relay.client_input(&mut client_buf, &mut out).expect("the relay accepts the client's command");
            let waits =
                matches!(CommandCodec::default().decode(&out.to_server), Err(CommandDecodeError::LiteralFound { .. }));
            if !waits || out.to_server.len() == answered_at {
                break;
            }
            answered_at = out.to_server.len();
            server_buf.extend_from_slice(b"+ go ahead\r\n");
            relay.server_input(&mut server_buf, &mut out).expect("the relay accepts the server's +");
        }
        assert!(client_buf.is_empty(), "the relay left {} bytes of the command unread", client_buf.len());
    }
    let to_client: Vec<u8> = out
        .to_client
        .split_inclusive(|&byte| byte == b'\n')
        .filter(|line| !line.starts_with(b"+ "))
        .flatten()
        .copied()
        .collect();
    (out.to_server.to_vec(), to_client)
}

fn show(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

// ---------------------------------------------------------------------------
// Properties.

fn check_scanner(case: &Case) -> Result<(), TestCaseError> {
    let wire = case.wire();
    let decoded = decode(&wire).map_err(TestCaseError::fail)?;
    prop_assert_eq!(&decoded.tag, &case.tag);
    let names = case.names();
    prop_assert_eq!(decoded.names.len(), names.len());
    for ((_, arg), value) in names.iter().zip(&decoded.names) {
        prop_assert!(same_mailbox(value, &arg.value), "imap-codec decoded {} for {}", show(value), show(&arg.value));
    }

    let from = case.tag.len() + 1 + case.keyword().len();
    let tokens = scan::tokenize(&wire, from).map_err(|error| TestCaseError::fail(format!("scanner: {error}")))?;
    prop_assert_eq!(tokens.last().map(|token| &token.kind), Some(&TokenKind::End));
    for ((index, _), value) in names.iter().zip(&decoded.names) {
        let token = &tokens[*index];
        let scanned = match token.kind {
            // The filter reads an unquoted NIL as the mailbox named NIL.
            TokenKind::Nil => wire[token.span.clone()].to_vec(),
            _ => scan::string_value(&wire, token)
                .ok_or_else(|| TestCaseError::fail(format!("token {index} is {:?}, not a string", token.kind)))?
                .into_owned(),
        };
        prop_assert!(
            same_mailbox(value, &scanned),
            "scanner found {} where imap-codec found {}",
            show(&scanned),
            show(value)
        );
    }
    Ok(())
}

fn check_relay(case: &Case, rules: &RuleSet) -> Result<(), TestCaseError> {
    let wire = case.wire();
    let client = decode(&wire).map_err(TestCaseError::fail)?;
    let (to_server, to_client) = run_relay(case);
    match expected(case, rules) {
        Expected::Forward(names) => {
            prop_assert!(to_client.is_empty(), "unexpected reply {}", show(&to_client));
            let sent = decode(&to_server).map_err(TestCaseError::fail)?;
            prop_assert_eq!(&sent.tag, &client.tag);
            prop_assert_eq!(&sent.shape, &client.shape);
            prop_assert_eq!(sent.names.len(), names.len());
            for (value, expected) in sent.names.iter().zip(&names) {
                prop_assert!(
                    same_mailbox(value, expected),
                    "server got {} where {} was expected in {}",
                    show(value),
                    show(expected),
                    show(&to_server)
                );
            }
            if !case.literal_plus {
                prop_assert!(sent.names_sync, "non-synchronizing literal sent to a server without LITERAL+");
            }
            // A command whose names do not change keeps its original bytes.
            // LIST and LSUB are left out: their patterns are always written
            // anew, so a literal pattern may become `{n+}`.
            let client_names: Vec<&[u8]> = case.names().iter().map(|(_, arg)| arg.value.as_slice()).collect();
            let list = matches!(case.cmd, Cmd::List { .. });
            if !list && client_names.iter().zip(&names).all(|(client, expected)| client == expected) {
                prop_assert_eq!(show(&to_server), show(&wire));
            }
        }
        Expected::Reply(status) => {
            prop_assert!(to_server.is_empty(), "{} reached the server", show(&to_server));
            let prefix = format!("{} {status} ", case.tag);
            let reply = String::from_utf8_lossy(&to_client);
            prop_assert!(
                reply.starts_with(&prefix) && reply.ends_with("\r\n") && reply.matches('\n').count() == 1,
                "expected one {status} reply, got {reply:?}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn scanner_matches_imap_codec_names(case in case()) {
        check_scanner(&case)?;
    }

    #[test]
    fn relay_forwards_mapped_names(case in case()) {
        check_relay(&case, &rules())?;
    }
}

// ---------------------------------------------------------------------------
// Fixed cases: the rule effects the properties rely on, spelled out.

#[test]
fn mutf7_encoder_agrees_with_imapgate() {
    for text in ["", "&", "Entwürfe", "日本語/メール", "😀 a", "a&b€", "~"] {
        assert_eq!(mutf7_encode(text), mutf7::encode(text).into_bytes(), "{text:?}");
        assert_eq!(mutf7::decode(&mutf7_encode(text)).as_deref(), Ok(text));
    }
}

#[test]
fn rules_map_the_sample_names() {
    let rules = rules();
    let server = |client: &str| rules.to_server(client, Some('.')).ok().map(|(name, _)| name);
    assert_eq!(server("Sent").as_deref(), Some("INBOX.Sent Items"));
    assert_eq!(server("Archive/a b").as_deref(), Some("INBOX.Archive.a b"));
    assert_eq!(server("Entwürfe").as_deref(), Some("INBOX.Drafts"));
    assert_eq!(server("Other/x").as_deref(), Some("Other.x"));
    assert_eq!(server("inbox").as_deref(), Some("INBOX"));
    assert_eq!(server("INBOX/Spam"), None);
    assert_eq!(server("a.b"), None);
}

fn fixed(tag: &str, cmd: Cmd, literal_plus: bool) -> Case {
    Case { tag: tag.to_string(), cmd, literal_plus }
}

fn quoted(value: &str) -> Arg {
    Arg { value: value.as_bytes().to_vec(), form: Form::Quoted }
}

#[test]
fn relay_rewrites_fixed_commands() {
    let cases = [
        (
            fixed("A1", Cmd::One { keyword: "SELECT", name: Arg { value: b"Sent".to_vec(), form: Form::Atom } }, true),
            &b"A1 SELECT \"INBOX.Sent Items\"\r\n"[..],
        ),
        (
            fixed("A2", Cmd::Copy { keyword: "MOVE", uid: true, set: "1:3", name: quoted("Archive/2024") }, true),
            b"A2 UID MOVE 1:3 \"INBOX.Archive.2024\"\r\n",
        ),
        (
            fixed("A3", Cmd::List { lsub: false, reference: quoted("Archive/"), pattern: quoted("%") }, true),
            b"A3 LIST \"\" \"INBOX.Archive.%\"\r\n",
        ),
    ];
    for (case, expected) in cases {
        let (to_server, to_client) = run_relay(&case);
        assert_eq!(show(&to_server), show(expected));
        assert!(to_client.is_empty());
    }
}

#[test]
fn relay_refuses_a_hidden_mailbox() {
    let case = fixed("A1", Cmd::One { keyword: "SELECT", name: quoted("INBOX/Spam") }, true);
    let (to_server, to_client) = run_relay(&case);
    assert!(to_server.is_empty());
    assert_eq!(show(&to_client), show(b"A1 NO [NONEXISTENT] Mailbox does not exist\r\n"));
}
