//! Transcript tests of the relay: client and server bytes go in, and the
//! bytes written to each peer are compared exactly. Every transcript runs
//! with its input fed whole, one byte at a time and split at random points,
//! and must give the same output each way.

use bytes::BytesMut;
use imapgate_proto::encode::LiteralSupport;

use super::{Output, Relay, RelayError, RelayLimits};
use crate::filter::{Chain, SessionInfo};

/// One step of a transcript.
#[derive(Clone, Debug)]
enum Step {
    /// Bytes the client sends.
    Client(Vec<u8>),
    /// Bytes the server sends.
    Server(Vec<u8>),
    /// Exactly these bytes were written to the server since its last check.
    ToServer(Vec<u8>),
    /// Exactly these bytes were written to the client since its last check.
    ToClient(Vec<u8>),
    /// The last input made the server side fail.
    UpstreamFails,
}

fn c(bytes: impl AsRef<[u8]>) -> Step {
    Step::Client(bytes.as_ref().to_vec())
}

fn s(bytes: impl AsRef<[u8]>) -> Step {
    Step::Server(bytes.as_ref().to_vec())
}

fn to_server(bytes: impl AsRef<[u8]>) -> Step {
    Step::ToServer(bytes.as_ref().to_vec())
}

fn to_client(bytes: impl AsRef<[u8]>) -> Step {
    Step::ToClient(bytes.as_ref().to_vec())
}

/// How the input of each step is cut into reads.
#[derive(Clone, Copy, Debug)]
enum Feed {
    Whole,
    ByteByByte,
    /// Random cuts from a seeded xorshift generator.
    Random(u64),
}

impl Feed {
    fn chunks(self, bytes: &[u8], state: &mut u64) -> Vec<Vec<u8>> {
        match self {
            Feed::Whole => vec![bytes.to_vec()],
            Feed::ByteByByte => bytes.iter().map(|byte| vec![*byte]).collect(),
            Feed::Random(_) => {
                let mut chunks = Vec::new();
                let mut rest = bytes;
                while !rest.is_empty() {
                    *state ^= *state << 13;
                    *state ^= *state >> 7;
                    *state ^= *state << 17;
                    let len = 1 + (*state % 7) as usize;
                    let len = len.min(rest.len());
                    chunks.push(rest[..len].to_vec());
                    rest = &rest[len..];
                }
                chunks
            }
        }
    }
}

/// How a test relay is built.
#[derive(Clone, Copy)]
struct Setup {
    /// A `[mailbox]` section; `None` for an empty chain.
    mailbox: Option<&'static str>,
    literals: LiteralSupport,
    limits: RelayLimits,
}

const LIMITS: RelayLimits = RelayLimits { max_line: 1024, max_collected: 4096, max_pipelined: 100 };

/// The mailbox rules most transcripts use.
const RULES: &str = r#"
client_delimiter = "/"
server_delimiter = "."
[[map]]
client = "Sent"
server = "INBOX.Sent Items"
[[map]]
client = "Archive{/rest}"
server = "INBOX.Archive{.rest}"
[[map]]
client = "Entwürfe"
server = "INBOX.Drafts"
[[map]]
client = "Papierkorb"
server = "INBOX.Gelöscht"
[[hide]]
server = '^INBOX\.(Junk|Spam)(\..*)?$'
"#;

/// A relay with the mailbox filter whose server offers LITERAL+.
fn mailbox() -> Setup {
    Setup { mailbox: Some(RULES), literals: LiteralSupport::NonSyncAny, limits: LIMITS }
}

/// A relay with the mailbox filter whose server has no LITERAL+.
fn mailbox_sync() -> Setup {
    Setup { literals: LiteralSupport::Synchronizing, ..mailbox() }
}

/// A relay with no filters.
fn plain() -> Setup {
    Setup { mailbox: None, literals: LiteralSupport::NonSyncAny, limits: LIMITS }
}

/// Builds the filter chain from a whole configuration text, as the server
/// does. `mailbox_section` is the body of `[mailbox]`, with its rule tables
/// written `[[map]]` and `[[hide]]`.
fn chain_from_config(mailbox_section: &str) -> Chain {
    let section = mailbox_section.replace("[[map]]", "[[mailbox.map]]").replace("[[hide]]", "[[mailbox.hide]]");
    let text = format!(
        "filters = [\"mailbox\"]\n[[listen]]\naddress = \"127.0.0.1:1143\"\n[upstream]\naddress = \"127.0.0.1:143\"\n[mailbox]\n{section}"
    );
    let loaded = crate::config::parse(&text).unwrap_or_else(|problems| panic!("test config is invalid: {problems:?}"));
    loaded.chain.build()
}

fn relay(setup: Setup) -> Relay {
    let chain = match setup.mailbox {
        Some(section) => chain_from_config(section),
        None => Chain::default(),
    };
    let session = SessionInfo {
        user: "user".to_string(),
        server_delimiter: Some('.'),
        server_namespaces: Vec::new(),
        utf8: false,
        server_literals: setup.literals,
    };
    Relay::new(chain, session, setup.limits)
}

/// Shows bytes with CRLF visible, for failure messages.
fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace('\r', "\\r").replace('\n', "\\n\n")
}

/// Runs a transcript with one way of feeding, panicking on the first
/// difference.
fn run_with(setup: Setup, steps: &[Step], feed: Feed) {
    let mut relay = relay(setup);
    let mut client_buf = BytesMut::new();
    let mut server_buf = BytesMut::new();
    let mut out = Output::default();
    let mut failure: Option<RelayError> = None;
    let mut random = match feed {
        Feed::Random(seed) => seed | 1,
        _ => 1,
    };

    for (index, step) in steps.iter().enumerate() {
        let place = format!("step {index} ({feed:?})");
        match step {
            Step::Client(bytes) | Step::Server(bytes) => {
                assert!(failure.is_none(), "{place}: input after the relay failed with {failure:?}");
                let from_client = matches!(step, Step::Client(_));
                for chunk in feed.chunks(bytes, &mut random) {
                    if from_client {
                        client_buf.extend_from_slice(&chunk);
                    } else {
                        server_buf.extend_from_slice(&chunk);
                    }
                    // As the session driver does: both directions after every read.
                    let result = relay
                        .server_input(&mut server_buf, &mut out)
                        .and_then(|()| relay.client_input(&mut client_buf, &mut out));
                    if let Err(error) = result {
                        failure = Some(error);
                        break;
                    }
                }
            }
            Step::ToServer(expected) => {
                assert_eq!(show(&out.to_server), show(expected), "{place}: bytes written to the server");
                out.to_server.clear();
            }
            Step::ToClient(expected) => {
                assert_eq!(show(&out.to_client), show(expected), "{place}: bytes written to the client");
                out.to_client.clear();
            }
            Step::UpstreamFails => {
                assert!(matches!(failure.take(), Some(RelayError::Upstream(_))), "{place}: expected an upstream error");
            }
        }
    }
    assert!(failure.is_none(), "unexpected relay error ({feed:?}): {failure:?}");
    assert_eq!(show(&out.to_server), "", "unchecked bytes written to the server ({feed:?})");
    assert_eq!(show(&out.to_client), "", "unchecked bytes written to the client ({feed:?})");
}

/// Runs a transcript fed whole, byte by byte and at random split points.
fn run(setup: Setup, steps: &[Step]) {
    run_with(setup, steps, Feed::Whole);
    run_with(setup, steps, Feed::ByteByByte);
    for seed in [0x9e37_79b9_7f4a_7c15, 7, 1234567, 42424242] {
        run_with(setup, steps, Feed::Random(seed));
    }
}

/// A FETCH response whose body literal is `body`.
fn fetch_response(body: &[u8]) -> Vec<u8> {
    let mut response = format!("* 1 FETCH (UID 7 BODY[] {{{}}}\r\n", body.len()).into_bytes();
    response.extend_from_slice(body);
    response.extend_from_slice(b" FLAGS (\\Seen))\r\n");
    response
}

// Pass-through.

#[test]
fn plain_passes_commands_and_responses_unchanged() {
    let commands: &[&[u8]] = &[
        b"a1 NOOP\r\n",
        b"A2 uid fetch 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)])\r\n",
        b"A3 SEARCH CHARSET UTF-8 TEXT {3+}\r\nabc  SINCE 1-Jan-2024\r\n",
        b"A4 SELECT \"Sent\"\r\n",
        b"A5 LIST \"\" *\r\n",
        b"A6 X-UNKNOWN (a \"b\" {0+}\r\n)\r\n",
        b"A7 STORE 1 +FLAGS.SILENT (\\Deleted)\n",
    ];
    let responses: &[&[u8]] = &[
        b"* 3 EXISTS\r\n",
        b"* OK [UIDVALIDITY 1] text that ends like a literal {5}\r\n",
        b"* LIST (\\HasNoChildren) \".\" \"INBOX.Sent Items\"\r\n",
        b"* SEARCH 1 2 3\r\n",
        b"* 2 FETCH (BODY[HEADER] {12}\r\nFrom: a\r\n\r\n UID 9)\r\n",
        b"A2 NO [ALERT] refused {5}\r\n",
        b"A1 OK done\r\n",
    ];
    let mut steps = Vec::new();
    for command in commands {
        steps.push(c(command));
        steps.push(to_server(command));
    }
    for response in responses {
        steps.push(s(response));
        steps.push(to_client(response));
    }
    run(plain(), &steps);
}

#[test]
fn fetch_literal_with_tagged_line_inside_passes() {
    let body = b"Subject: x\r\n\r\nA1 OK fake\r\n* BYE fake\r\n";
    let response = fetch_response(body);
    run(
        mailbox(),
        &[
            c("A1 FETCH 1 BODY[]\r\n"),
            to_server("A1 FETCH 1 BODY[]\r\n"),
            s(&response),
            to_client(&response),
            s("A1 OK FETCH completed\r\n"),
            to_client("A1 OK FETCH completed\r\n"),
            // The real completion ended A1: the next command is not held.
            c("A2 NOOP\r\n"),
            to_server("A2 NOOP\r\n"),
        ],
    );
}

#[test]
fn large_fetch_literal_streams_in_pieces() {
    let body = vec![b'x'; 20_000];
    let response = fetch_response(&body);
    run(
        mailbox(),
        &[
            c("A1 FETCH 1 BODY[]\r\n"),
            to_server("A1 FETCH 1 BODY[]\r\n"),
            s(&response[..10_000]),
            to_client(&response[..10_000]),
            s(&response[10_000..]),
            to_client(&response[10_000..]),
        ],
    );
}

// Commands with one mailbox argument.

#[test]
fn select_quoted_name_is_mapped() {
    run(
        mailbox(),
        &[
            c("A1 SELECT \"Sent\"\r\n"),
            to_server("A1 SELECT \"INBOX.Sent Items\"\r\n"),
            s("* 2 EXISTS\r\nA1 OK [READ-WRITE] SELECT completed\r\n"),
            to_client("* 2 EXISTS\r\nA1 OK [READ-WRITE] SELECT completed\r\n"),
        ],
    );
}

#[test]
fn select_atom_becomes_quoted_for_space() {
    run(mailbox(), &[c("A1 select Sent (CONDSTORE)\r\n"), to_server("A1 select \"INBOX.Sent Items\" (CONDSTORE)\r\n")]);
}

#[test]
fn select_unmapped_name_keeps_bytes() {
    run(
        mailbox(),
        &[
            c("A1 SELECT INBOX\r\nA2 SELECT \"Other/Sub\"\r\nA3 SELECT inbox\r\n"),
            to_server("A1 SELECT INBOX\r\nA2 SELECT \"Other.Sub\"\r\nA3 SELECT INBOX\r\n"),
        ],
    );
}

#[test]
fn select_sync_literal_with_literal_plus() {
    run(
        mailbox(),
        &[
            c("A1 SELECT {4}\r\n"),
            to_client("+ Ready for literal data\r\n"),
            to_server(""),
            c("Sent\r\n"),
            to_server("A1 SELECT {16+}\r\nINBOX.Sent Items\r\n"),
            to_client(""),
            s("A1 OK done\r\n"),
            to_client("A1 OK done\r\n"),
        ],
    );
}

#[test]
fn select_sync_literal_without_literal_plus() {
    run(
        mailbox_sync(),
        &[
            c("A1 SELECT {4}\r\n"),
            to_client("+ Ready for literal data\r\n"),
            c("Sent\r\nA2 NOOP\r\n"),
            to_server("A1 SELECT {16}\r\n"),
            // imapgate waits for the server's `+`, which is its own.
            s("+ go ahead\r\n"),
            to_client(""),
            to_server("INBOX.Sent Items\r\nA2 NOOP\r\n"),
            s("A1 OK done\r\nA2 OK done\r\n"),
            to_client("A1 OK done\r\nA2 OK done\r\n"),
        ],
    );
}

#[test]
fn own_continuation_without_text() {
    run(
        mailbox_sync(),
        &[
            c("A1 SELECT {4}\r\n"),
            to_client("+ Ready for literal data\r\n"),
            c("Sent\r\n"),
            to_server("A1 SELECT {16}\r\n"),
            s("+\r\n"),
            to_server("INBOX.Sent Items\r\n"),
            to_client(""),
        ],
    );
}

#[test]
fn quoted_name_with_escapes() {
    run(
        mailbox(),
        &[
            c("A1 SELECT \"Archive/a\\\"b\\\\c\"\r\n"),
            to_server("A1 SELECT \"INBOX.Archive.a\\\"b\\\\c\"\r\n"),
            c("A2 LIST \"\" \"*\"\r\n"),
            to_server("A2 LIST \"\" \"*\"\r\n"),
            s("* LIST () \".\" \"INBOX.Archive.x\\\"y\\\\z\"\r\nA2 OK done\r\n"),
            to_client("* LIST () \"/\" \"Archive/x\\\"y\\\\z\"\r\nA2 OK done\r\n"),
        ],
    );
}

#[test]
fn names_that_look_like_nil_or_numbers() {
    run(
        mailbox(),
        &[
            c("A1 SELECT NIL\r\n"),
            to_server("A1 SELECT NIL\r\n"),
            to_client(""),
            c("A2 SELECT 2024\r\n"),
            to_server("A2 SELECT 2024\r\n"),
            c("A3 CREATE Archive/NIL\r\n"),
            to_server("A3 CREATE INBOX.Archive.NIL\r\n"),
            c("A4 CREATE Archive/2024\r\n"),
            to_server("A4 CREATE INBOX.Archive.2024\r\n"),
            c("A5 LIST \"\" \"*\"\r\n"),
            to_server("A5 LIST \"\" \"*\"\r\n"),
            s("* LIST () \".\" NIL\r\n* LIST () \".\" 2024\r\n* LIST () NIL INBOX\r\nA5 OK done\r\n"),
            to_client("* LIST () \"/\" NIL\r\n* LIST () \"/\" 2024\r\n* LIST () NIL INBOX\r\nA5 OK done\r\n"),
        ],
    );
}

#[test]
fn status_command_and_response_are_mapped() {
    run(
        mailbox(),
        &[
            c("A1 STATUS Sent (MESSAGES)\r\n"),
            to_server("A1 STATUS \"INBOX.Sent Items\" (MESSAGES)\r\n"),
            s("* STATUS \"INBOX.Sent Items\" (MESSAGES 2)\r\nA1 OK STATUS completed\r\n"),
            to_client("* STATUS \"Sent\" (MESSAGES 2)\r\nA1 OK STATUS completed\r\n"),
        ],
    );
}

#[test]
fn status_response_for_hidden_name_is_dropped() {
    run(
        mailbox(),
        &[
            c("A1 NOOP\r\n"),
            to_server("A1 NOOP\r\n"),
            s("* STATUS INBOX.Junk (MESSAGES 9)\r\n* STATUS INBOX.Archive (MESSAGES 1)\r\nA1 OK done\r\n"),
            to_client("* STATUS Archive (MESSAGES 1)\r\nA1 OK done\r\n"),
        ],
    );
}

#[test]
fn hidden_name_is_answered_by_imapgate() {
    run(
        mailbox(),
        &[
            c("A1 SELECT INBOX/Junk\r\n"),
            to_client("A1 NO [NONEXISTENT] Mailbox does not exist\r\n"),
            to_server(""),
            c("A2 CREATE INBOX/Spam/x\r\n"),
            to_client("A2 NO [CANNOT] Mailbox name is reserved\r\n"),
            to_server(""),
            c("A3 NOOP\r\n"),
            to_server("A3 NOOP\r\n"),
        ],
    );
}

#[test]
fn hidden_name_as_sync_literal_is_answered() {
    run(
        mailbox(),
        &[
            c("A1 SELECT {10}\r\n"),
            to_client("+ Ready for literal data\r\n"),
            c("INBOX/Junk\r\n"),
            to_client("A1 NO [NONEXISTENT] Mailbox does not exist\r\n"),
            to_server(""),
        ],
    );
}

#[test]
fn mailbox_commands_are_mapped() {
    let cases: &[(&str, &str)] = &[
        ("A1 COPY 1:3 Sent\r\n", "A1 COPY 1:3 \"INBOX.Sent Items\"\r\n"),
        ("A2 UID COPY 5,7 Archive/2024\r\n", "A2 UID COPY 5,7 INBOX.Archive.2024\r\n"),
        ("A3 MOVE 1 \"Sent\"\r\n", "A3 MOVE 1 \"INBOX.Sent Items\"\r\n"),
        ("A4 UID MOVE 1:* Archive\r\n", "A4 UID MOVE 1:* INBOX.Archive\r\n"),
        ("A5 RENAME Archive/a Archive/b\r\n", "A5 RENAME INBOX.Archive.a INBOX.Archive.b\r\n"),
        ("A6 CREATE Archive/2025/Q1\r\n", "A6 CREATE INBOX.Archive.2025.Q1\r\n"),
        ("A7 DELETE Sent\r\n", "A7 DELETE \"INBOX.Sent Items\"\r\n"),
        ("A8 SUBSCRIBE Sent\r\n", "A8 SUBSCRIBE \"INBOX.Sent Items\"\r\n"),
        ("A9 UNSUBSCRIBE Archive/x\r\n", "A9 UNSUBSCRIBE INBOX.Archive.x\r\n"),
        ("A10 EXAMINE Sent\r\n", "A10 EXAMINE \"INBOX.Sent Items\"\r\n"),
        ("A11 uid copy 1 Papierkorb\r\n", "A11 uid copy 1 INBOX.Gel&APY-scht\r\n"),
    ];
    for (command, expected) in cases {
        run(mailbox(), &[c(command), to_server(expected), to_client("")]);
    }
}

#[test]
fn rename_to_hidden_name_is_refused() {
    run(
        mailbox(),
        &[
            c("A1 RENAME Sent INBOX/Junk\r\n"),
            to_client("A1 NO [CANNOT] Mailbox name is reserved\r\n"),
            to_server(""),
            c("A2 COPY 1 INBOX/Spam\r\n"),
            to_client("A2 NO [NONEXISTENT] Mailbox does not exist\r\n"),
            to_server(""),
        ],
    );
}

#[test]
fn create_with_server_delimiter_is_refused() {
    run(
        mailbox(),
        &[
            c("A1 CREATE a.b\r\n"),
            to_client("A1 NO [CANNOT] Mailbox name contains '.', which the server uses as its hierarchy delimiter\r\n"),
            to_server(""),
        ],
    );
}

#[test]
fn name_split_across_reads() {
    run(
        mailbox(),
        &[
            c("A1 SELECT \"Se"),
            to_server(""),
            c("nt\"\r\n"),
            to_server("A1 SELECT \"INBOX.Sent Items\"\r\n"),
            c("A2 LIST \"\" \"*\"\r\n"),
            to_server("A2 LIST \"\" \"*\"\r\n"),
            s("* LIST () \".\" \"INBOX.Se"),
            to_client(""),
            s("nt Items\"\r\nA2 OK done\r\n"),
            to_client("* LIST () \"/\" \"Sent\"\r\nA2 OK done\r\n"),
        ],
    );
}

// LIST.

#[test]
fn list_star_maps_and_hides() {
    run(
        mailbox(),
        &[
            c("A1 LIST \"\" \"*\"\r\n"),
            to_server("A1 LIST \"\" \"*\"\r\n"),
            s(concat!(
                "* LIST (\\HasChildren) \".\" INBOX\r\n",
                "* LIST (\\HasChildren) \".\" INBOX.Archive\r\n",
                "* LIST (\\HasNoChildren) \".\" INBOX.Archive.2024\r\n",
                "* LIST (\\HasNoChildren \\Sent) \".\" \"INBOX.Sent Items\"\r\n",
                "* LIST (\\HasNoChildren) \".\" INBOX.Junk\r\n",
                "* LIST (\\HasNoChildren) \".\" INBOX.Spam.old\r\n",
                "* LIST (\\HasNoChildren) \".\" Other.Sub\r\n",
                "A1 OK LIST completed\r\n",
            )),
            to_client(concat!(
                "* LIST (\\HasChildren) \"/\" INBOX\r\n",
                "* LIST (\\HasChildren) \"/\" Archive\r\n",
                "* LIST (\\HasNoChildren) \"/\" Archive/2024\r\n",
                "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n",
                "* LIST (\\HasNoChildren) \"/\" Other/Sub\r\n",
                "A1 OK LIST completed\r\n",
            )),
        ],
    );
}

#[test]
fn list_percent_adds_noselect_parents() {
    run(
        mailbox(),
        &[
            c("A1 LIST \"\" \"%\"\r\n"),
            to_server("A1 LIST \"\" \"*\"\r\n"),
            s(concat!(
                "* LIST (\\HasChildren) \".\" INBOX\r\n",
                "* LIST (\\HasNoChildren) \".\" INBOX.Archive.2024\r\n",
                "* LIST (\\HasNoChildren) \".\" \"INBOX.Sent Items\"\r\n",
                "* LIST (\\HasNoChildren) \".\" Other.Sub\r\n",
                "A1 OK LIST completed\r\n",
            )),
            to_client(concat!(
                "* LIST (\\HasChildren) \"/\" INBOX\r\n",
                "* LIST (\\HasNoChildren) \"/\" \"Sent\"\r\n",
                "* LIST (\\Noselect \\HasChildren) \"/\" \"Archive\"\r\n",
                "* LIST (\\Noselect \\HasChildren) \"/\" \"Other\"\r\n",
                "A1 OK LIST completed\r\n",
            )),
        ],
    );
}

#[test]
fn list_without_wildcard_is_translated() {
    run(
        mailbox(),
        &[
            c("A1 LIST \"Archive/\" 2024\r\n"),
            to_server("A1 LIST \"\" INBOX.Archive.2024\r\n"),
            s("* LIST () \".\" INBOX.Archive.2024\r\nA1 OK done\r\n"),
            to_client("* LIST () \"/\" Archive/2024\r\nA1 OK done\r\n"),
            c("A2 LIST \"\" \"\"\r\n"),
            to_server("A2 LIST \"\" \"\"\r\n"),
            s("* LIST (\\Noselect) \".\" \"\"\r\nA2 OK done\r\n"),
            to_client("* LIST (\\Noselect) \"/\" \"\"\r\nA2 OK done\r\n"),
        ],
    );
}

#[test]
fn list_response_name_as_literal() {
    run(
        mailbox(),
        &[
            c("A1 LIST \"\" \"*\"\r\n"),
            to_server("A1 LIST \"\" \"*\"\r\n"),
            s("* LIST () \".\" {16}\r\nINBOX.Sent Items\r\n* LIST () \".\" {4}\r\nINBO\r\n"),
            to_client("* LIST () \"/\" {4}\r\nSent\r\n* LIST () \"/\" {4}\r\nINBO\r\n"),
            s("A1 OK done\r\n"),
            to_client("A1 OK done\r\n"),
        ],
    );
}

#[test]
fn pipelined_lists_wait_for_each_other() {
    run(
        mailbox(),
        &[
            c("A1 LIST \"\" \"*\"\r\nA2 LIST \"\" \"%\"\r\nA3 NOOP\r\n"),
            to_server("A1 LIST \"\" \"*\"\r\n"),
            s("* LIST () \".\" INBOX.Archive.2024\r\n"),
            to_client("* LIST () \"/\" Archive/2024\r\n"),
            to_server(""),
            s("A1 OK done\r\n"),
            to_client("A1 OK done\r\n"),
            to_server("A2 LIST \"\" \"*\"\r\n"),
            s("* LIST () \".\" INBOX.Archive.2024\r\nA2 OK done\r\n"),
            to_client("* LIST (\\Noselect \\HasChildren) \"/\" \"Archive\"\r\nA2 OK done\r\n"),
            to_server("A3 NOOP\r\n"),
        ],
    );
}

#[test]
fn list_for_hidden_name_is_empty() {
    run(mailbox(), &[c("A1 LIST \"\" INBOX/Junk\r\n"), to_client("A1 OK LIST completed\r\n"), to_server("")]);
}

// APPEND.

#[test]
fn append_sync_literal_waits_for_server() {
    run(
        mailbox(),
        &[
            c("A1 APPEND Sent (\\Seen) {11}\r\n"),
            to_server("A1 APPEND \"INBOX.Sent Items\" (\\Seen) {11}\r\n"),
            to_client(""),
            s("+ Ready for append\r\n"),
            to_client("+ Ready for append\r\n"),
            c("Hello"),
            to_server("Hello"),
            c(" world\r\n"),
            to_server(" world\r\n"),
            s("A1 OK [APPENDUID 1 2] APPEND completed\r\n"),
            to_client("A1 OK [APPENDUID 1 2] APPEND completed\r\n"),
            c("A2 NOOP\r\n"),
            to_server("A2 NOOP\r\n"),
        ],
    );
}

#[test]
fn append_non_sync_literal_streams() {
    run(
        mailbox(),
        &[
            c("A1 APPEND Archive/2024 {5+}\r\nhello\r\nA2 NOOP\r\n"),
            to_server("A1 APPEND INBOX.Archive.2024 {5+}\r\nhello\r\nA2 NOOP\r\n"),
            to_client(""),
        ],
    );
}

#[test]
fn append_large_message_is_not_collected() {
    let data = vec![b'm'; 3 * LIMITS.max_collected];
    let mut expected = b"A1 APPEND \"INBOX.Sent Items\" ".to_vec();
    expected.extend_from_slice(format!("{{{}+}}\r\n", data.len()).as_bytes());
    expected.extend_from_slice(&data);
    expected.extend_from_slice(b"\r\n");
    let mut command = format!("A1 APPEND Sent {{{}+}}\r\n", data.len()).into_bytes();
    command.extend_from_slice(&data);
    command.extend_from_slice(b"\r\n");
    run(mailbox(), &[c(&command), to_server(&expected)]);
}

#[test]
fn append_mailbox_as_literal() {
    run(
        mailbox(),
        &[
            c("A1 APPEND {4}\r\n"),
            to_client("+ Ready for literal data\r\n"),
            to_server(""),
            c("Sent {5}\r\n"),
            to_server("A1 APPEND {16+}\r\nINBOX.Sent Items {5}\r\n"),
            s("+ OK\r\n"),
            to_client("+ OK\r\n"),
            c("hello\r\n"),
            to_server("hello\r\n"),
        ],
    );
}

#[test]
fn append_mailbox_as_literal_without_literal_plus() {
    run(
        mailbox_sync(),
        &[
            c("A1 APPEND {4}\r\n"),
            to_client("+ Ready for literal data\r\n"),
            c("Sent {5}\r\n"),
            to_server("A1 APPEND {16}\r\n"),
            s("+ name\r\n"),
            to_server("INBOX.Sent Items {5}\r\n"),
            to_client(""),
            s("+ message\r\n"),
            to_client("+ message\r\n"),
            c("hello\r\n"),
            to_server("hello\r\n"),
        ],
    );
}

#[test]
fn append_refused_before_continuation() {
    run(
        mailbox(),
        &[
            c("A1 APPEND Sent {11}\r\n"),
            to_server("A1 APPEND \"INBOX.Sent Items\" {11}\r\n"),
            s("A1 NO [TRYCREATE] Mailbox does not exist\r\n"),
            to_client("A1 NO [TRYCREATE] Mailbox does not exist\r\n"),
            // The literal was cancelled: this is a new command.
            c("A2 SELECT Sent\r\n"),
            to_server("A2 SELECT \"INBOX.Sent Items\"\r\n"),
        ],
    );
}

#[test]
fn append_to_hidden_name_cancels_literal() {
    run(
        mailbox(),
        &[
            c("A1 APPEND INBOX/Junk {11}\r\n"),
            to_client("A1 NO [NONEXISTENT] Mailbox does not exist\r\n"),
            to_server(""),
            c("A2 NOOP\r\n"),
            to_server("A2 NOOP\r\n"),
        ],
    );
}

#[test]
fn relayed_sync_literal_refused() {
    run(
        mailbox(),
        &[
            c("A1 SEARCH TEXT {5}\r\n"),
            to_server("A1 SEARCH TEXT {5}\r\n"),
            s("A1 NO [BADCHARSET] no\r\n"),
            to_client("A1 NO [BADCHARSET] no\r\n"),
            c("A2 SELECT Sent\r\n"),
            to_server("A2 SELECT \"INBOX.Sent Items\"\r\n"),
        ],
    );
}

#[test]
fn relayed_sync_literal_accepted() {
    run(
        plain(),
        &[
            c("A1 SEARCH TEXT {5}\r\n"),
            to_server("A1 SEARCH TEXT {5}\r\n"),
            s("+\r\n"),
            to_client("+\r\n"),
            c("hello\r\n"),
            to_server("hello\r\n"),
            s("* SEARCH 4\r\nA1 OK done\r\n"),
            to_client("* SEARCH 4\r\nA1 OK done\r\n"),
        ],
    );
}

// IDLE and continuation lines.

#[test]
fn idle_done_and_completion() {
    run(
        mailbox(),
        &[
            c("A1 IDLE\r\n"),
            to_server("A1 IDLE\r\n"),
            s("+ idling\r\n"),
            to_client("+ idling\r\n"),
            s("* 4 EXISTS\r\n"),
            to_client("* 4 EXISTS\r\n"),
            c("DONE\r\n"),
            to_server("DONE\r\n"),
            s("A1 OK IDLE terminated\r\n"),
            to_client("A1 OK IDLE terminated\r\n"),
            c("A2 SELECT Sent\r\n"),
            to_server("A2 SELECT \"INBOX.Sent Items\"\r\n"),
        ],
    );
}

#[test]
fn command_pipelined_after_done_is_filtered() {
    run(
        mailbox(),
        &[
            c("A1 IDLE\r\n"),
            to_server("A1 IDLE\r\n"),
            s("+ idling\r\n"),
            to_client("+ idling\r\n"),
            c("DONE\r\nA2 SELECT Sent\r\n"),
            to_server("DONE\r\nA2 SELECT \"INBOX.Sent Items\"\r\n"),
            s("A1 OK IDLE terminated\r\n"),
            to_client("A1 OK IDLE terminated\r\n"),
        ],
    );
}

// Capabilities and ENABLE.

#[test]
fn capabilities_lose_compress() {
    run(
        mailbox(),
        &[
            c("A1 CAPABILITY\r\n"),
            to_server("A1 CAPABILITY\r\n"),
            s(
                "* CAPABILITY IMAP4rev1 LITERAL+ COMPRESS=DEFLATE IDLE\r\nA1 OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] done\r\n",
            ),
            to_client("* CAPABILITY IMAP4rev1 LITERAL+ IDLE\r\nA1 OK [CAPABILITY IMAP4rev1] done\r\n"),
            c("A2 COMPRESS DEFLATE\r\n"),
            to_client("A2 NO [CANNOT] COMPRESS is not available through imapgate\r\n"),
            to_server(""),
            c("A3 NOOP\r\n"),
            to_server("A3 NOOP\r\n"),
        ],
    );
}

#[test]
fn enable_utf8_makes_names_raw() {
    run(
        mailbox(),
        &[
            c("A1 ENABLE UTF8=ACCEPT\r\n"),
            to_server("A1 ENABLE UTF8=ACCEPT\r\n"),
            s("* ENABLED UTF8=ACCEPT\r\nA1 OK done\r\n"),
            to_client("* ENABLED UTF8=ACCEPT\r\nA1 OK done\r\n"),
            c("A2 SELECT \"Entwürfe\"\r\n"),
            to_server("A2 SELECT \"INBOX.Drafts\"\r\n"),
            c("A3 SELECT Entwürfe\r\n"),
            to_server("A3 SELECT INBOX.Drafts\r\n"),
            c("A4 SELECT Papierkorb\r\n"),
            to_server("A4 SELECT \"INBOX.Gelöscht\"\r\n"),
            // Modified UTF-7 is no longer decoded.
            c("A5 SELECT Entw&APw-rfe\r\n"),
            to_server("A5 SELECT Entw&APw-rfe\r\n"),
            c("A6 LIST \"\" \"*\"\r\n"),
            to_server("A6 LIST \"\" \"*\"\r\n"),
            s("* LIST () \".\" INBOX.Drafts\r\n* LIST () \".\" \"INBOX.Gelöscht\"\r\nA6 OK done\r\n"),
            to_client("* LIST () \"/\" \"Entwürfe\"\r\n* LIST () \"/\" \"Papierkorb\"\r\nA6 OK done\r\n"),
        ],
    );
}

#[test]
fn modified_utf7_name_through_unicode_rule() {
    run(
        mailbox(),
        &[
            c("A1 SELECT Entw&APw-rfe\r\n"),
            to_server("A1 SELECT INBOX.Drafts\r\n"),
            c("A2 SELECT \"Papierkorb\"\r\n"),
            to_server("A2 SELECT \"INBOX.Gel&APY-scht\"\r\n"),
            c("A3 LIST \"\" \"*\"\r\n"),
            to_server("A3 LIST \"\" \"*\"\r\n"),
            s("* LIST () \".\" INBOX.Drafts\r\n* LIST () \".\" INBOX.Gel&APY-scht\r\nA3 OK done\r\n"),
            to_client("* LIST () \"/\" Entw&APw-rfe\r\n* LIST () \"/\" Papierkorb\r\nA3 OK done\r\n"),
        ],
    );
}

// Bad input.

#[test]
fn line_over_max_line_is_rejected() {
    for len in [2_000, 20_000] {
        let name = "a".repeat(len);
        run(
            mailbox(),
            &[
                c(format!("A1 SELECT \"{name}\"\r\n")),
                to_client("A1 BAD Command line too long (limit 1024 bytes)\r\n"),
                to_server(""),
                c(format!("A2 NOOP {name}\r\n")),
                to_client("A2 BAD Command line too long (limit 1024 bytes)\r\n"),
                to_server(""),
                c("A3 NOOP\r\n"),
                to_server("A3 NOOP\r\n"),
            ],
        );
    }
}

#[test]
fn long_line_after_relayed_literal_streams() {
    let mut command = b"A1 SEARCH TEXT {3+}\r\nabc TEXT ".to_vec();
    command.extend_from_slice(&vec![b'x'; 20_000]);
    command.extend_from_slice(b"\r\n");
    run(plain(), &[c(&command), to_server(&command)]);
}

#[test]
fn malformed_commands_get_bad() {
    run(
        mailbox(),
        &[
            c("A1 SELECT\r\n"),
            to_client("A1 BAD Missing or invalid mailbox name argument\r\n"),
            c("A2 SELECT \"Sent\r\n"),
            to_client("A2 BAD Invalid arguments: unterminated quoted string at byte 10\r\n"),
            c("A3 RENAME Sent\r\n"),
            to_client("A3 BAD Missing or invalid mailbox name argument\r\n"),
            c("A4 LIST \"\"\r\n"),
            to_client("A4 BAD Missing or invalid LIST mailbox pattern\r\n"),
            to_server(""),
            c("A5 NOOP\r\n"),
            to_server("A5 NOOP\r\n"),
        ],
    );
}

#[test]
fn line_that_is_not_a_command() {
    run(
        mailbox(),
        &[
            c("+ hello\r\n"),
            to_client("* BAD Invalid command line: invalid character in tag\r\n"),
            c("A1\r\n"),
            to_client("* BAD Invalid command line: missing command name after the tag\r\n"),
            to_server(""),
            c("A2 NOOP\r\n"),
            to_server("A2 NOOP\r\n"),
        ],
    );
}

#[test]
fn garbage_server_line_fails() {
    run(
        mailbox(),
        &[
            c("A1 NOOP\r\n"),
            to_server("A1 NOOP\r\n"),
            s("* 1 EXISTS\r\nthis is not imap\r\n"),
            to_client("* 1 EXISTS\r\n"),
            Step::UpstreamFails,
        ],
    );
}

#[test]
fn oversized_collected_response_is_withheld() {
    let long_name = "x".repeat(LIMITS.max_collected);
    let literal_data = "y".repeat(LIMITS.max_collected + 10);
    run(
        mailbox(),
        &[
            c("A1 LIST \"\" \"*\"\r\n"),
            to_server("A1 LIST \"\" \"*\"\r\n"),
            s(format!("* LIST () \".\" {long_name}\r\n")),
            s(format!("* LIST () \".\" {{{}}}\r\n{literal_data}\r\n", literal_data.len())),
            s("* LIST () \".\" INBOX\r\nA1 OK done\r\n"),
            to_client("* LIST () \"/\" INBOX\r\nA1 OK done\r\n"),
        ],
    );
}

#[test]
fn oversized_collected_command_is_rejected() {
    let data = "z".repeat(LIMITS.max_collected);
    run(
        mailbox(),
        &[
            c(format!("A1 SELECT {{{}}}\r\n", data.len())),
            to_client("A1 BAD Command too large for imapgate to inspect (limit 4096 bytes)\r\n"),
            to_server(""),
            c(format!("A2 SELECT {{{}+}}\r\n{data}\r\n", data.len())),
            to_client("A2 BAD Command too large for imapgate to inspect (limit 4096 bytes)\r\n"),
            to_server(""),
            c("A3 NOOP\r\n"),
            to_server("A3 NOOP\r\n"),
        ],
    );
}

#[test]
fn reply_waits_for_server_message_boundary() {
    let body = vec![b'b'; 100];
    let response = fetch_response(&body);
    run(
        mailbox(),
        &[
            c("A1 FETCH 1 BODY[]\r\n"),
            to_server("A1 FETCH 1 BODY[]\r\n"),
            s(&response[..50]),
            to_client(&response[..50]),
            c("A2 SELECT INBOX/Junk\r\n"),
            to_client(""),
            s(&response[50..]),
            to_client([&response[50..], b"A2 NO [NONEXISTENT] Mailbox does not exist\r\n"].concat()),
        ],
    );
}

// More forms of the same commands.

#[test]
fn lsub_and_list_extended_are_mapped() {
    run(
        mailbox(),
        &[
            c("A1 LSUB \"\" \"*\"\r\n"),
            to_server("A1 LSUB \"\" \"*\"\r\n"),
            s("* LSUB () \".\" \"INBOX.Sent Items\"\r\n* LSUB () \".\" INBOX.Junk\r\nA1 OK done\r\n"),
            to_client("* LSUB () \"/\" \"Sent\"\r\nA1 OK done\r\n"),
            c("A2 LIST (SUBSCRIBED) \"\" Sent RETURN (CHILDREN)\r\n"),
            to_server("A2 LIST (SUBSCRIBED) \"\" \"INBOX.Sent Items\" RETURN (CHILDREN)\r\n"),
            s("* LIST (\\Subscribed \\HasNoChildren) \".\" \"INBOX.Sent Items\"\r\nA2 OK done\r\n"),
            to_client("* LIST (\\Subscribed \\HasNoChildren) \"/\" \"Sent\"\r\nA2 OK done\r\n"),
            c("A3 LIST \"\" %\r\n"),
            to_server("A3 LIST \"\" \"*\"\r\n"),
            s("* LIST () \".\" INBOX\r\nA3 OK done\r\n"),
            to_client("* LIST () \"/\" INBOX\r\nA3 OK done\r\n"),
        ],
    );
}

#[test]
fn bare_line_feed_commands_are_mapped() {
    run(
        mailbox(),
        &[
            c("A1 SELECT Sent\n"),
            to_server("A1 SELECT \"INBOX.Sent Items\"\n"),
            s("A1 OK done\n"),
            to_client("A1 OK done\n"),
        ],
    );
}

#[test]
fn non_sync_literal_name_is_mapped() {
    run(
        mailbox(),
        &[c("A1 SELECT {4+}\r\nSent\r\n"), to_server("A1 SELECT {16+}\r\nINBOX.Sent Items\r\n"), to_client("")],
    );
    run(
        mailbox_sync(),
        &[
            c("A1 SELECT {4+}\r\nSent\r\n"),
            to_server("A1 SELECT {16}\r\n"),
            s("+ OK\r\n"),
            to_server("INBOX.Sent Items\r\n"),
            to_client(""),
        ],
    );
}

#[test]
fn append_binary_literal_streams() {
    run(
        mailbox(),
        &[
            c("A1 APPEND Sent (\\Seen) ~{5+}\r\nhe\0lo\r\n"),
            to_server("A1 APPEND \"INBOX.Sent Items\" (\\Seen) ~{5+}\r\nhe\0lo\r\n"),
        ],
    );
}

#[test]
fn append_refused_during_own_continuation() {
    run(
        mailbox_sync(),
        &[
            c("A1 APPEND {4}\r\n"),
            to_client("+ Ready for literal data\r\n"),
            c("Sent {5}\r\n"),
            to_server("A1 APPEND {16}\r\n"),
            s("A1 NO [OVERQUOTA] no room\r\n"),
            to_client("A1 NO [OVERQUOTA] no room\r\n"),
            to_server(""),
            c("A2 NOOP\r\n"),
            to_server("A2 NOOP\r\n"),
        ],
    );
}

#[test]
fn append_refused_drops_non_sync_message() {
    run(
        mailbox_sync(),
        &[
            c("A1 APPEND {4+}\r\nSent {5+}\r\n"),
            to_server("A1 APPEND {16}\r\n"),
            // The client does not wait: its message follows at once.
            c("hello\r\n"),
            to_server(""),
            s("A1 NO [OVERQUOTA] no room\r\n"),
            to_client("A1 NO [OVERQUOTA] no room\r\n"),
            to_server(""),
            c("A2 NOOP\r\n"),
            to_server("A2 NOOP\r\n"),
        ],
    );
}

#[test]
fn long_server_lines_pass_and_map() {
    let search = format!("* SEARCH {}\r\n", "1 ".repeat(10_000));
    let name = "n".repeat(10_000);
    let setup =
        Setup { limits: RelayLimits { max_line: 1024, max_collected: 64 * 1024, max_pipelined: 100 }, ..mailbox() };
    run(
        setup,
        &[
            c("A1 LIST \"\" \"*\"\r\n"),
            to_server("A1 LIST \"\" \"*\"\r\n"),
            s(&search),
            to_client(&search),
            s(format!("* LIST () \".\" INBOX.Archive.{name}\r\nA1 OK done\r\n")),
            to_client(format!("* LIST () \"/\" Archive/{name}\r\nA1 OK done\r\n")),
        ],
    );
}

#[test]
fn stats_count_and_relay_becomes_idle() {
    let mut relay = relay(mailbox());
    let mut out = Output::default();
    let mut client = BytesMut::from(&b"A1 SELECT Sent\r\nA2 SELECT INBOX/Junk\r\nA3 LIST \"\" \"%\"\r\n"[..]);
    relay.client_input(&mut client, &mut out).unwrap();
    assert!(!relay.is_idle(), "commands are pending");

    let mut server =
        BytesMut::from(&b"A1 OK done\r\n* LIST () \".\" INBOX.Spam\r\n* LIST () \".\" INBOX\r\nA3 OK done\r\n"[..]);
    relay.server_input(&mut server, &mut out).unwrap();
    assert!(relay.is_idle(), "every command completed");
    assert!(client.is_empty());
    assert!(server.is_empty());

    let stats = relay.stats();
    assert_eq!(stats.commands, 3);
    assert_eq!(stats.rewritten, 3, "SELECT, LIST and the delimiter of the LIST entry");
    assert_eq!(stats.answered, 1, "the SELECT of a hidden name");
    assert_eq!(stats.withheld, 1, "the hidden LIST entry");
}

#[test]
fn rename_with_two_literals() {
    run(
        mailbox(),
        &[
            c("A1 RENAME {4}\r\n"),
            to_client("+ Ready for literal data\r\n"),
            c("Sent {9}\r\n"),
            to_client("+ Ready for literal data\r\n"),
            c("Archive/x\r\n"),
            to_server("A1 RENAME {16+}\r\nINBOX.Sent Items {15+}\r\nINBOX.Archive.x\r\n"),
        ],
    );
    run(
        mailbox_sync(),
        &[
            c("A1 RENAME {4}\r\n"),
            to_client("+ Ready for literal data\r\n"),
            c("Sent {9}\r\n"),
            to_client("+ Ready for literal data\r\n"),
            c("Archive/x\r\n"),
            to_server("A1 RENAME {16}\r\n"),
            s("+ one\r\n"),
            to_server("INBOX.Sent Items {15}\r\n"),
            s("+ two\r\n"),
            to_server("INBOX.Archive.x\r\n"),
            to_client(""),
        ],
    );
}

#[test]
fn long_line_with_literal_rejected() {
    let flags = "\\Flag ".repeat(300);
    run(
        mailbox(),
        &[
            c(format!("A1 APPEND Sent ({flags}) {{5+}}\r\nhello\r\n")),
            to_client("A1 BAD Command line too long (limit 1024 bytes)\r\n"),
            to_server(""),
            c("A2 NOOP\r\n"),
            to_server("A2 NOOP\r\n"),
        ],
    );
}

#[test]
fn list_status_follows_list_pattern() {
    run(
        mailbox(),
        &[
            c("A1 LIST \"\" \"%\" RETURN (STATUS (MESSAGES))\r\n"),
            to_server("A1 LIST \"\" \"*\" RETURN (STATUS (MESSAGES))\r\n"),
            s(concat!(
                "* LIST () \".\" \"INBOX.Sent Items\"\r\n",
                "* STATUS \"INBOX.Sent Items\" (MESSAGES 2)\r\n",
                "* LIST () \".\" INBOX.Archive.2024\r\n",
                "* STATUS INBOX.Archive.2024 (MESSAGES 5)\r\n",
                "* LIST () \".\" INBOX.Junk\r\n",
                "* STATUS INBOX.Junk (MESSAGES 9)\r\n",
                "A1 OK done\r\n",
            )),
            to_client(concat!(
                "* LIST () \"/\" \"Sent\"\r\n",
                "* STATUS \"Sent\" (MESSAGES 2)\r\n",
                "* LIST (\\Noselect \\HasChildren) \"/\" \"Archive\"\r\n",
                "A1 OK done\r\n",
            )),
        ],
    );
}

#[test]
fn own_continuation_waits_for_server_message_boundary() {
    let response = fetch_response(&[b'b'; 100]);
    run(
        mailbox(),
        &[
            c("A1 FETCH 1 BODY[]\r\n"),
            to_server("A1 FETCH 1 BODY[]\r\n"),
            s(&response[..50]),
            to_client(&response[..50]),
            c("A2 SELECT {4}\r\n"),
            to_client(""),
            s(&response[50..]),
            to_client([&response[50..], b"+ Ready for literal data\r\n"].concat()),
            c("Sent\r\n"),
            to_server("A2 SELECT {16+}\r\nINBOX.Sent Items\r\n"),
        ],
    );
}

#[test]
fn pipelined_commands_over_limit_get_no() {
    let setup = Setup { limits: RelayLimits { max_pipelined: 2, ..LIMITS }, ..plain() };
    run(
        setup,
        &[
            c("a1 NOOP\r\na2 NOOP\r\na3 NOOP\r\n"),
            to_server("a1 NOOP\r\na2 NOOP\r\n"),
            to_client("a3 NO [LIMIT] Too many commands in flight (limit 2)\r\n"),
            s("a1 OK done\r\n"),
            to_client("a1 OK done\r\n"),
            c("a4 NOOP\r\n"),
            to_server("a4 NOOP\r\n"),
        ],
    );
}
mod bypass;
mod extensions;

#[test]
fn list_of_unchanged_name_keeps_bytes() {
    run(
        mailbox(),
        &[
            c("a1 LIST \"\" \"INBOX\"\r\n"),
            to_server("a1 LIST \"\" \"INBOX\"\r\n"),
            s("* LIST (\\HasChildren) \".\" INBOX\r\na1 OK done\r\n"),
            to_client("* LIST (\\HasChildren) \"/\" INBOX\r\na1 OK done\r\n"),
        ],
    );
}
