//! Transcripts of the extension commands and responses that carry mailbox
//! names: LIST-EXTENDED, XLIST, ACL, QUOTA, METADATA, ESEARCH, NOTIFY,
//! NAMESPACE and MULTIAPPEND.

use super::*;

/// Runs each (client command, command the server gets) pair on its own.
fn commands_map(setup: Setup, cases: &[(&str, &str)]) {
    for (command, expected) in cases {
        run(setup, &[c(command), to_server(expected), to_client("")]);
    }
}

/// Runs each (server response, response the client gets) pair after a NOOP;
/// an empty expectation means the response is withheld.
fn responses_map(setup: Setup, cases: &[(&str, &str)]) {
    for (response, expected) in cases {
        run(
            setup,
            &[
                c("A1 NOOP\r\n"),
                to_server("A1 NOOP\r\n"),
                s(response),
                to_client(expected),
                s("A1 OK done\r\n"),
                to_client("A1 OK done\r\n"),
            ],
        );
    }
}

#[test]
fn extension_commands_are_mapped() {
    commands_map(
        mailbox(),
        &[
            ("A1 XLIST \"\" Sent\r\n", "A1 XLIST \"\" \"INBOX.Sent Items\"\r\n"),
            ("A2 CREATE Archive/x (USE (\\Archive))\r\n", "A2 CREATE INBOX.Archive.x (USE (\\Archive))\r\n"),
            ("A3 GETQUOTAROOT Sent\r\n", "A3 GETQUOTAROOT \"INBOX.Sent Items\"\r\n"),
            ("A4 GETACL Archive/x\r\n", "A4 GETACL INBOX.Archive.x\r\n"),
            ("A5 SETACL Sent bob +lrs\r\n", "A5 SETACL \"INBOX.Sent Items\" bob +lrs\r\n"),
            ("A6 DELETEACL \"Archive/x\" bob\r\n", "A6 DELETEACL \"INBOX.Archive.x\" bob\r\n"),
            ("A7 LISTRIGHTS Sent bob\r\n", "A7 LISTRIGHTS \"INBOX.Sent Items\" bob\r\n"),
            ("A8 MYRIGHTS Papierkorb\r\n", "A8 MYRIGHTS INBOX.Gel&APY-scht\r\n"),
            (
                "A9 GETMETADATA (MAXSIZE 1024) Sent (/private/comment /shared/comment)\r\n",
                "A9 GETMETADATA (MAXSIZE 1024) \"INBOX.Sent Items\" (/private/comment /shared/comment)\r\n",
            ),
            ("A10 GETMETADATA Archive /private/comment\r\n", "A10 GETMETADATA INBOX.Archive /private/comment\r\n"),
            ("A11 GETMETADATA \"\" /shared/comment\r\n", "A11 GETMETADATA \"\" /shared/comment\r\n"),
            (
                "A12 SETMETADATA Sent (/private/comment \"my Sent\")\r\n",
                "A12 SETMETADATA \"INBOX.Sent Items\" (/private/comment \"my Sent\")\r\n",
            ),
            (
                "A13 ESEARCH IN (mailboxes (Sent Archive/x) subtree Archive) RETURN (COUNT) UNSEEN\r\n",
                "A13 ESEARCH IN (mailboxes (\"INBOX.Sent Items\" INBOX.Archive.x) subtree INBOX.Archive) RETURN (COUNT) UNSEEN\r\n",
            ),
            (
                "A14 ESEARCH IN (personal subtree-one Archive (DEPTH 1)) ALL\r\n",
                "A14 ESEARCH IN (personal subtree-one INBOX.Archive (DEPTH 1)) ALL\r\n",
            ),
            ("A15 ESEARCH RETURN (MIN) ALL\r\n", "A15 ESEARCH RETURN (MIN) ALL\r\n"),
            (
                "A16 NOTIFY SET STATUS (selected (MessageNew (UID) MessageExpunge)) (subtree Archive (MessageNew)) (mailboxes Sent (MailboxName))\r\n",
                "A16 NOTIFY SET STATUS (selected (MessageNew (UID) MessageExpunge)) (subtree INBOX.Archive (MessageNew)) (mailboxes \"INBOX.Sent Items\" (MailboxName))\r\n",
            ),
            ("A17 NOTIFY NONE\r\n", "A17 NOTIFY NONE\r\n"),
        ],
    );
}

#[test]
fn extension_command_name_forms() {
    commands_map(
        mailbox(),
        &[
            // A literal, a quoted name with `"` and `\`, names like NIL and numbers.
            ("A1 GETACL {4+}\r\nSent\r\n", "A1 GETACL {16+}\r\nINBOX.Sent Items\r\n"),
            ("A2 MYRIGHTS \"Archive/a\\\"b\\\\c\"\r\n", "A2 MYRIGHTS \"INBOX.Archive.a\\\"b\\\\c\"\r\n"),
            ("A3 GETACL NIL\r\n", "A3 GETACL NIL\r\n"),
            ("A4 SETACL Archive/2024 bob lr\r\n", "A4 SETACL INBOX.Archive.2024 bob lr\r\n"),
            (
                "A5 SETMETADATA Archive/NIL (/private/x NIL)\r\n",
                "A5 SETMETADATA INBOX.Archive.NIL (/private/x NIL)\r\n",
            ),
            (
                "A6 ESEARCH IN (mailboxes {4+}\r\nSent) ALL\r\n",
                "A6 ESEARCH IN (mailboxes {16+}\r\nINBOX.Sent Items) ALL\r\n",
            ),
        ],
    );
}

#[test]
fn extension_command_literal_without_literal_plus() {
    run(
        mailbox_sync(),
        &[
            c("A1 MYRIGHTS {4}\r\n"),
            to_client("+ Ready for literal data\r\n"),
            c("Sent\r\n"),
            to_server("A1 MYRIGHTS {16}\r\n"),
            // A continuation request with no text.
            s("+\r\n"),
            to_server("INBOX.Sent Items\r\n"),
            to_client(""),
            s("* MYRIGHTS {16}\r\nINBOX.Sent Items lrs\r\nA1 OK done\r\n"),
            to_client("* MYRIGHTS {4}\r\nSent lrs\r\nA1 OK done\r\n"),
        ],
    );
}

#[test]
fn extension_commands_on_hidden_names_are_refused() {
    let nonexistent = "NO [NONEXISTENT] Mailbox does not exist\r\n";
    for command in [
        "A1 GETACL INBOX/Junk\r\n",
        "A1 SETMETADATA INBOX/Spam (/private/comment NIL)\r\n",
        "A1 ESEARCH IN (mailboxes (Sent INBOX/Junk)) ALL\r\n",
        "A1 NOTIFY SET (subtree INBOX/Junk (MessageNew))\r\n",
        "A1 GETQUOTAROOT INBOX/Spam\r\n",
    ] {
        run(mailbox(), &[c(command), to_client(format!("A1 {nonexistent}")), to_server("")]);
    }
    let cases = [
        ("A1 ESEARCH IN (mailboxes) ALL\r\n", "A1 BAD Missing or invalid mailbox after a mailbox filter\r\n"),
        ("A1 ESEARCH IN (mailboxes ()) ALL\r\n", "A1 BAD Missing or invalid mailbox after a mailbox filter\r\n"),
        ("A1 ESEARCH IN ALL\r\n", "A1 BAD Missing or invalid ESEARCH source options\r\n"),
        ("A1 NOTIFY SET (mailboxes (Sent\r\n", "A1 BAD Invalid arguments: unbalanced parenthesis at byte 25\r\n"),
    ];
    for (command, reply) in cases {
        run(mailbox(), &[c(command), to_client(reply), to_server("")]);
    }
}

#[test]
fn list_extended_pattern_lists() {
    run(
        mailbox(),
        &[
            c(
                "A1 LIST (SUBSCRIBED REMOTE) \"\" (\"Sent\" \"Archive/x\") RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES))\r\n",
            ),
            to_server(
                "A1 LIST (SUBSCRIBED REMOTE) \"\" (\"INBOX.Sent Items\" \"INBOX.Archive.x\") RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES))\r\n",
            ),
            s(concat!(
                "* LIST (\\Subscribed \\HasNoChildren \\Sent) \".\" \"INBOX.Sent Items\"\r\n",
                "* STATUS \"INBOX.Sent Items\" (MESSAGES 4)\r\n",
                "A1 OK done\r\n",
            )),
            to_client(concat!(
                "* LIST (\\Subscribed \\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n",
                "* STATUS \"Sent\" (MESSAGES 4)\r\n",
                "A1 OK done\r\n",
            )),
            // One pattern with a wildcard: the server is asked for everything.
            c("A2 LIST \"\" (Sent \"Archive/%\")\r\n"),
            to_server("A2 LIST \"\" \"*\"\r\n"),
            s(concat!(
                "* LIST () \".\" \"INBOX.Sent Items\"\r\n",
                "* LIST () \".\" INBOX.Archive.a\r\n",
                "* LIST () \".\" INBOX.Archive.a.b\r\n",
                "* LIST () \".\" Other\r\n",
                "A2 OK done\r\n",
            )),
            to_client(concat!("* LIST () \"/\" \"Sent\"\r\n", "* LIST () \"/\" Archive/a\r\n", "A2 OK done\r\n")),
            // Hidden names drop out of the list; none left means an empty response.
            c("A3 LIST \"\" (INBOX/Junk INBOX/Spam)\r\n"),
            to_client("A3 OK LIST completed\r\n"),
            c("A4 LIST \"\" (INBOX/Junk Sent)\r\n"),
            to_server("A4 LIST \"\" (\"INBOX.Sent Items\")\r\n"),
            c("A5 LIST \"\" ()\r\n"),
            to_client("A5 BAD Missing or invalid LIST mailbox pattern\r\n"),
        ],
    );
}

#[test]
fn list_pattern_inside_rule_is_translated() {
    run(
        mailbox(),
        &[
            c("A1 LIST \"Archive/\" \"%\"\r\n"),
            to_server("A1 LIST \"\" \"INBOX.Archive.%\"\r\n"),
            s("* LIST (\\HasChildren) \".\" INBOX.Archive.2024\r\n* LIST () \".\" INBOX.Archive.a/b\r\nA1 OK done\r\n"),
            // A server name with the client delimiter in it stays hidden.
            to_client("* LIST (\\HasChildren) \"/\" Archive/2024\r\nA1 OK done\r\n"),
            c("A2 LSUB \"\" \"Archive/2024/*\"\r\n"),
            to_server("A2 LSUB \"\" \"INBOX.Archive.2024.*\"\r\n"),
            s("* LSUB () \".\" INBOX.Archive.2024.Q1\r\nA2 OK done\r\n"),
            to_client("* LSUB () \"/\" Archive/2024/Q1\r\nA2 OK done\r\n"),
            c("A3 LIST (SUBSCRIBED) \"\" \"Archive/%\"\r\n"),
            to_server("A3 LIST (SUBSCRIBED) \"\" \"INBOX.Archive.%\"\r\n"),
            s("* LIST (\\Subscribed) \".\" INBOX.Archive.x\r\nA3 OK done\r\n"),
            to_client("* LIST (\\Subscribed) \"/\" Archive/x\r\nA3 OK done\r\n"),
            // Patterns that a rule does not cover alone stay a superset.
            c("A4 LIST \"\" \"Arch*\"\r\n"),
            to_server("A4 LIST \"\" \"*\"\r\n"),
            s("A4 OK done\r\n"),
            to_client("A4 OK done\r\n"),
            c("A5 LIST \"\" \"inbox/%\"\r\n"),
            to_server("A5 LIST \"\" \"*\"\r\n"),
        ],
    );
}

#[test]
fn extension_responses_are_mapped() {
    responses_map(
        mailbox(),
        &[
            (
                "* XLIST (\\HasNoChildren \\Sent) \".\" \"INBOX.Sent Items\"\r\n",
                "* XLIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n",
            ),
            (
                "* LIST () \".\" INBOX.Archive.new (\"OLDNAME\" (\"INBOX.Archive.old\"))\r\n",
                "* LIST () \"/\" Archive/new (\"OLDNAME\" (\"Archive/old\"))\r\n",
            ),
            (
                "* LIST () \".\" INBOX.Archive.new (\"OLDNAME\" (\"INBOX.Junk\"))\r\n",
                "* LIST () \"/\" Archive/new ()\r\n",
            ),
            (
                "* LIST () \".\" INBOX.Archive (\"OLDNAME\" (INBOX.Spam) \"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
                "* LIST () \"/\" Archive (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
            ),
            (
                "* LIST (\\HasChildren) \".\" INBOX.Archive (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
                "* LIST (\\HasChildren) \"/\" Archive (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
            ),
            ("* QUOTAROOT \"INBOX.Sent Items\" \"User quota\"\r\n", "* QUOTAROOT \"Sent\" \"User quota\"\r\n"),
            ("* QUOTA \"User quota\" (STORAGE 10 512)\r\n", "* QUOTA \"User quota\" (STORAGE 10 512)\r\n"),
            (
                "* ACL INBOX.Archive.x bob lrs alice lrswipkxtecda\r\n",
                "* ACL Archive/x bob lrs alice lrswipkxtecda\r\n",
            ),
            ("* LISTRIGHTS \"INBOX.Sent Items\" bob \"\" l r s\r\n", "* LISTRIGHTS \"Sent\" bob \"\" l r s\r\n"),
            ("* MYRIGHTS INBOX.Junk lr\r\n", ""),
            ("* MYRIGHTS {6}\r\nINBOX. lr\r\n", "* MYRIGHTS {6}\r\nINBOX/ lr\r\n"),
            (
                "* METADATA \"INBOX.Sent Items\" (/private/comment \"x\")\r\n",
                "* METADATA \"Sent\" (/private/comment \"x\")\r\n",
            ),
            ("* METADATA \"\" (/shared/comment \"y\")\r\n", "* METADATA \"\" (/shared/comment \"y\")\r\n"),
            ("* METADATA INBOX.Archive /shared/comment\r\n", "* METADATA Archive /shared/comment\r\n"),
            (
                "* ESEARCH (TAG \"A1\" MAILBOX \"INBOX.Sent Items\" UIDVALIDITY 3) UID COUNT 2\r\n",
                "* ESEARCH (TAG \"A1\" MAILBOX \"Sent\" UIDVALIDITY 3) UID COUNT 2\r\n",
            ),
            ("* ESEARCH (TAG \"A1\" MAILBOX INBOX.Spam UIDVALIDITY 3) COUNT 1\r\n", ""),
            ("* ESEARCH (TAG \"A1\") UID ALL 1:3\r\n", "* ESEARCH (TAG \"A1\") UID ALL 1:3\r\n"),
            ("* STATUS INBOX.Archive.x (MESSAGES 3 UIDNEXT 9)\r\n", "* STATUS Archive/x (MESSAGES 3 UIDNEXT 9)\r\n"),
            (
                "* NAMESPACE ((\"INBOX.\" \".\")) ((\"user.\" \".\")) ((\"shared.\" \".\"))\r\n",
                "* NAMESPACE ((\"\" \"/\")) ((\"user/\" \"/\")) ((\"shared/\" \"/\"))\r\n",
            ),
            ("* NAMESPACE ((\"\" \".\")) NIL NIL\r\n", "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"),
            ("* NAMESPACE ((\"INBOX.\" \".\") \"bad\") NIL NIL\r\n", ""),
        ],
    );
}

/// Rules whose client names all lie under `INBOX/`.
const NESTED: &str = r#"
client_delimiter = "/"
server_delimiter = "."
[[map]]
client = "INBOX/Sent"
server = "INBOX.Sent Items"
"#;

#[test]
fn namespace_prefix_follows_the_rules() {
    let nested = Setup { mailbox: Some(NESTED), ..mailbox() };
    responses_map(
        nested,
        &[
            (
                "* NAMESPACE ((\"INBOX.\" \".\" \"X-PARAM\" (\"a\"))) NIL ((\"Public\" NIL))\r\n",
                "* NAMESPACE ((\"INBOX/\" \"/\" \"X-PARAM\" (\"a\"))) NIL ((\"Public\" NIL))\r\n",
            ),
            ("* NAMESPACE ((\"INBOX.\" \".\")) NIL NIL\r\n", "* NAMESPACE ((\"INBOX/\" \"/\")) NIL NIL\r\n"),
        ],
    );
}

#[test]
fn multiappend_maps_only_the_mailbox() {
    run(
        mailbox(),
        &[
            c("A1 APPEND Sent (\\Seen) {3+}\r\nabc (\\Flagged) {2+}\r\nde\r\n"),
            to_server("A1 APPEND \"INBOX.Sent Items\" (\\Seen) {3+}\r\nabc (\\Flagged) {2+}\r\nde\r\n"),
            s("A1 OK [APPENDUID 1 5:6] done\r\n"),
            to_client("A1 OK [APPENDUID 1 5:6] done\r\n"),
        ],
    );
    run(
        mailbox_sync(),
        &[
            c("A1 APPEND Sent {3}\r\n"),
            to_server("A1 APPEND \"INBOX.Sent Items\" {3}\r\n"),
            s("+ go\r\n"),
            to_client("+ go\r\n"),
            c("abc {2}\r\n"),
            to_server("abc {2}\r\n"),
            s("+\r\n"),
            to_client("+\r\n"),
            c("de\r\n"),
            to_server("de\r\n"),
            s("A1 OK done\r\n"),
            to_client("A1 OK done\r\n"),
        ],
    );
}

/// Rules that give Sent the `\Sent` attribute.
const SPECIAL: &str = r#"
client_delimiter = "/"
server_delimiter = "."
[[map]]
client = "Sent"
server = "INBOX.Sent Items"
special_use = '\Sent'
[[map]]
client = "Trash"
server = "INBOX.Deleted"
special_use = '\trash'
"#;

#[test]
fn special_use_is_added_to_list_entries() {
    let special = Setup { mailbox: Some(SPECIAL), ..mailbox() };
    run(
        special,
        &[
            c("A1 LIST \"\" \"*\" RETURN (SPECIAL-USE)\r\n"),
            to_server("A1 LIST \"\" \"*\" RETURN (SPECIAL-USE)\r\n"),
            s(concat!(
                "* LIST () \".\" \"INBOX.Sent Items\"\r\n",
                "* LIST (\\HasNoChildren \\Trash) \".\" INBOX.Deleted\r\n",
                "* LIST (\\HasNoChildren) \".\" INBOX.Drafts\r\n",
                "A1 OK done\r\n",
            )),
            to_client(concat!(
                "* LIST (\\Sent) \"/\" \"Sent\"\r\n",
                "* LIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n",
                "* LIST (\\HasNoChildren) \"/\" INBOX/Drafts\r\n",
                "A1 OK done\r\n",
            )),
            // imapgate selects the entries of LIST (SPECIAL-USE) itself.
            c("A2 LIST (SPECIAL-USE) \"\" \"*\"\r\n"),
            to_server("A2 LIST () \"\" \"*\"\r\n"),
            s(concat!(
                "* LIST (\\HasNoChildren) \".\" \"INBOX.Sent Items\"\r\n",
                "* LIST (\\HasNoChildren) \".\" INBOX.Drafts\r\n",
                "* LIST (\\Junk) \".\" Spam\r\n",
                "A2 OK done\r\n",
            )),
            to_client(concat!(
                "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n",
                "* LIST (\\Junk) \"/\" Spam\r\n",
                "A2 OK done\r\n",
            )),
            // LSUB data gets no attributes.
            c("A3 LSUB \"\" Sent\r\n"),
            to_server("A3 LSUB \"\" \"INBOX.Sent Items\"\r\n"),
            s("* LSUB () \".\" \"INBOX.Sent Items\"\r\nA3 OK done\r\n"),
            to_client("* LSUB () \"/\" \"Sent\"\r\nA3 OK done\r\n"),
        ],
    );
}

#[test]
fn hidden_names_are_counted_once() {
    let mut relay = relay(mailbox());
    let mut out = Output::default();
    let mut input = BytesMut::from(&b"A1 LIST \"\" \"*\"\r\n"[..]);
    relay.client_input(&mut input, &mut out).unwrap();
    let mut input = BytesMut::from(
        &b"* LIST () \".\" INBOX.Junk\r\n* LIST () \".\" INBOX.Junk\r\n* STATUS INBOX.Spam (MESSAGES 1)\r\nA1 OK done\r\n"[..],
    );
    relay.server_input(&mut input, &mut out).unwrap();
    assert_eq!(relay.stats().hidden_names, 2);
    assert_eq!(relay.stats().withheld, 3);
}

#[test]
fn notes_name_the_rule_when_recorded() {
    let mut relay = relay(mailbox());
    let mut out = Output::default();
    let mut input = BytesMut::from(&b"A1 SELECT Sent\r\n"[..]);
    relay.client_input(&mut input, &mut out).unwrap();
    assert!(relay.take_notes().is_empty(), "notes are only collected when asked for");

    relay.record_notes();
    let mut input = BytesMut::from(&b"A2 SELECT Archive/x\r\nA3 SELECT INBOX/Junk\r\n"[..]);
    relay.client_input(&mut input, &mut out).unwrap();
    assert_eq!(
        relay.take_notes(),
        vec![
            "\"Archive/x\" -> \"INBOX.Archive.x\" (mailbox.map[1])".to_string(),
            "\"INBOX/Junk\" refused: mailbox \"INBOX/Junk\" does not exist".to_string(),
        ]
    );
}

mod reparse {
    //! "Rewrite, then parse again": every message form, with arbitrary
    //! names, parses back to the mapped name.

    use imapgate_proto::classify::{self, ResponseHead};
    use imapgate_proto::mutf7;
    use proptest::prelude::*;

    use super::*;
    use crate::filter::Message;

    /// Command forms with `{}` for the mailbox and the token index of the
    /// mailbox after the keyword.
    const COMMANDS: &[(&str, usize)] = &[
        ("A1 SELECT {}\r\n", 0),
        ("A1 COPY 1 {}\r\n", 1),
        ("A1 GETACL {}\r\n", 0),
        ("A1 SETACL {} bob lr\r\n", 0),
        ("A1 MYRIGHTS {}\r\n", 0),
        ("A1 GETQUOTAROOT {}\r\n", 0),
        ("A1 GETMETADATA (MAXSIZE 5) {} /private/x\r\n", 4),
        ("A1 SETMETADATA {} (/private/x NIL)\r\n", 0),
        ("A1 ESEARCH IN (mailboxes {}) ALL\r\n", 3),
        ("A1 NOTIFY SET (mailboxes {} (MessageNew))\r\n", 3),
        ("A1 LIST \"\" {}\r\n", 1),
        ("A1 LIST (SUBSCRIBED) \"\" (INBOX {}) RETURN (CHILDREN)\r\n", 6),
    ];

    /// Response forms with `{}` for the mailbox and its token index.
    const RESPONSES: &[(&str, usize)] = &[
        ("* LIST () \".\" {}\r\n", 3),
        ("* STATUS {} (MESSAGES 1)\r\n", 0),
        ("* ACL {} bob lr\r\n", 0),
        ("* MYRIGHTS {} lr\r\n", 0),
        ("* QUOTAROOT {} root\r\n", 0),
        ("* METADATA {} (/private/x \"v\")\r\n", 0),
        ("* ESEARCH (TAG \"A1\" MAILBOX {}) COUNT 1\r\n", 4),
        ("* LIST () \".\" INBOX.Archive (\"OLDNAME\" ({}))\r\n", 7),
    ];

    /// Hierarchy levels below `Archive`: characters that need quoting,
    /// escaping or modified UTF-7, but no delimiter or wildcard.
    fn levels() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec("[a-zA-Z0-9 \"\\\\&äöß-]{1,8}", 1..4)
    }

    /// Writes `wire` as a quoted string or a non-synchronizing literal.
    fn write_string(wire: &str, literal: bool) -> String {
        if literal {
            format!("{{{}+}}\r\n{wire}", wire.len())
        } else {
            format!("\"{}\"", wire.replace('\\', "\\\\").replace('"', "\\\""))
        }
    }

    fn feed(relay: &mut Relay, client: &[u8], server: &[u8]) -> Output {
        let mut out = Output::default();
        relay.client_input(&mut BytesMut::from(client), &mut out).expect("client input is accepted");
        relay.server_input(&mut BytesMut::from(server), &mut out).expect("server input is accepted");
        out
    }

    proptest! {
        #[test]
        fn commands_reparse_to_server_name(levels in levels(), literal in any::<bool>(), form in 0..COMMANDS.len()) {
            let (template, index) = COMMANDS[form];
            let client = mutf7::encode(&format!("Archive/{}", levels.join("/")));
            let server = mutf7::encode(&format!("INBOX.Archive.{}", levels.join(".")));
            let command = template.replacen("{}", &write_string(&client, literal), 1);

            let mut relay = relay(mailbox());
            let out = feed(&mut relay, command.as_bytes(), b"");
            let head = classify::classify_command(&out.to_server).expect("the rewritten command classifies");
            let message = Message::parse(&out.to_server, head.args_at).expect("the rewritten command parses");
            let value = message.string(index).expect("the mailbox is a string");
            prop_assert_eq!(String::from_utf8_lossy(&value), server, "{}", show(&out.to_server));
        }

        #[test]
        fn responses_reparse_to_client_name(levels in levels(), literal in any::<bool>(), form in 0..RESPONSES.len()) {
            let (template, index) = RESPONSES[form];
            let client = mutf7::encode(&format!("Archive/{}", levels.join("/")));
            let server = mutf7::encode(&format!("INBOX.Archive.{}", levels.join(".")));
            let response = template.replacen("{}", &write_string(&server, literal), 1);

            let mut relay = relay(mailbox());
            let out = feed(&mut relay, b"A1 NOOP\r\n", response.as_bytes());
            let Some(ResponseHead::Untagged { args_at, .. }) = classify::classify_response(&out.to_client) else {
                panic!("the rewritten response is untagged: {}", show(&out.to_client));
            };
            let message = Message::parse(&out.to_client, args_at).expect("the rewritten response parses");
            let value = message.string(index).expect("the mailbox is a string");
            prop_assert_eq!(String::from_utf8_lossy(&value), client, "{}", show(&out.to_client));
        }
    }
}
