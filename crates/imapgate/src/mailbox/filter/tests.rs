//! Unit tests of the mailbox filter's hooks, for cases that read more
//! clearly without a relay around them.

use super::*;
use imapgate_proto::classify::{self, ResponseHead};

const RULES: &str = r#"
client_delimiter = "/"
[[map]]
client = "Sent"
server = "INBOX.Sent Items"
[[map]]
client = "Archive{/rest}"
server = "INBOX.Archive{.rest}"
[[hide]]
server = '^INBOX\.Junk$'
"#;

fn filter(rules: &str) -> MailboxFilter {
    let config: crate::mailbox::config::MailboxConfig = toml::from_str(rules).expect("test rules parse");
    MailboxFilter::new(Arc::new(RuleSet::compile(&config).expect("test rules compile")))
}

fn session(server_delimiter: Option<char>) -> SessionInfo {
    SessionInfo {
        user: "user".into(),
        server_delimiter,
        server_namespaces: Vec::new(),
        utf8: false,
        server_literals: LiteralSupport::NonSyncAny,
    }
}

/// What a command hook did: the verdict, the command's bytes afterwards,
/// the lines emitted and whether later commands are held.
struct CommandResult {
    verdict: Verdict,
    wire: Vec<u8>,
    emit: Vec<Vec<u8>>,
    hold: bool,
}

fn command(filter: &mut MailboxFilter, session: &SessionInfo, line: &[u8]) -> CommandResult {
    let head = classify::classify_command(line).expect("test command classifies");
    let message = Message::parse(line, head.args_at).expect("test command tokenizes");
    let mut view = CommandView { tag: head.tag, name: head.name, uid: head.uid, message };
    let mut ctx = Context::new(session);
    let verdict = filter.on_command(&mut view, &mut ctx);
    let wire = view.message.rewritten().unwrap_or_else(|| line.to_vec());
    CommandResult { verdict, wire, emit: ctx.emit, hold: ctx.hold_following }
}

/// Runs an untagged response through the filter: the bytes the client
/// would get (`None` when dropped) and the lines emitted before it.
fn response(filter: &mut MailboxFilter, session: &SessionInfo, line: &[u8]) -> (Option<Vec<u8>>, Vec<Vec<u8>>) {
    let Some(ResponseHead::Untagged { name, number, args_at }) = classify::classify_response(line) else {
        panic!("test response is not untagged");
    };
    let message = Message::parse(line, args_at).expect("test response tokenizes");
    let mut view = ResponseView { name, number, message };
    let mut ctx = Context::new(session);
    let verdict = filter.on_response(&mut view, &mut ctx);
    let bytes = (verdict != Verdict::Drop).then(|| view.message.rewritten().unwrap_or_else(|| line.to_vec()));
    (bytes, ctx.emit)
}

fn completion(filter: &mut MailboxFilter, session: &SessionInfo, tag: &[u8], status: Status) -> Vec<Vec<u8>> {
    let mut ctx = Context::new(session);
    filter.on_completion(tag, status, &mut ctx);
    ctx.emit
}

fn text(lines: &[Vec<u8>]) -> Vec<String> {
    lines.iter().map(|line| String::from_utf8_lossy(line).into_owned()).collect()
}

#[test]
fn wants_only_mailbox_commands_and_responses() {
    let filter = filter(RULES);
    for name in [
        CommandName::Select,
        CommandName::Append,
        CommandName::Copy,
        CommandName::Move,
        CommandName::List,
        CommandName::Status,
    ] {
        assert!(filter.wants_command(name), "{name:?}");
    }
    for name in [CommandName::Fetch, CommandName::Noop, CommandName::Idle, CommandName::Other] {
        assert!(!filter.wants_command(name), "{name:?}");
    }
    assert!(filter.wants_response(ResponseName::List));
    assert!(filter.wants_response(ResponseName::Status));
    assert!(!filter.wants_response(ResponseName::Fetch));
    assert!(!filter.wants_response(ResponseName::Capability));
}

#[test]
fn wants_extension_commands_and_responses() {
    let filter = filter(RULES);
    for name in [
        CommandName::Xlist,
        CommandName::GetQuotaRoot,
        CommandName::GetAcl,
        CommandName::SetAcl,
        CommandName::DeleteAcl,
        CommandName::ListRights,
        CommandName::MyRights,
        CommandName::GetMetadata,
        CommandName::SetMetadata,
        CommandName::Esearch,
        CommandName::Notify,
    ] {
        assert!(filter.wants_command(name), "{name:?}");
    }
    // Quota roots are not mailbox names.
    assert!(!filter.wants_command(CommandName::GetQuota));
    assert!(!filter.wants_command(CommandName::SetQuota));
    for name in [
        ResponseName::Xlist,
        ResponseName::QuotaRoot,
        ResponseName::Acl,
        ResponseName::ListRights,
        ResponseName::MyRights,
        ResponseName::Metadata,
        ResponseName::Esearch,
        ResponseName::Namespace,
    ] {
        assert!(filter.wants_response(name), "{name:?}");
    }
    assert!(!filter.wants_response(ResponseName::Quota));
}

#[test]
fn unchanged_name_leaves_message_unedited() {
    let mut filter = filter(RULES);
    let session = session(Some('.'));
    let head = b"A1 SELECT INBOX\r\n";
    let parsed = classify::classify_command(head).unwrap();
    let mut view = CommandView {
        tag: parsed.tag,
        name: parsed.name,
        uid: false,
        message: Message::parse(head, parsed.args_at).unwrap(),
    };
    let verdict = filter.on_command(&mut view, &mut Context::new(&session));
    assert_eq!(verdict, Verdict::Forward);
    assert!(!view.message.is_edited(), "an unchanged name must keep the original bytes");
}

#[test]
fn nil_argument_names_a_mailbox() {
    let mut filter = filter(RULES);
    let session = session(Some('.'));
    let result = command(&mut filter, &session, b"A1 SELECT nil\r\n");
    assert_eq!(result.verdict, Verdict::Forward);
    assert_eq!(result.wire, b"A1 SELECT nil\r\n");

    let result = command(&mut filter, &session, b"A2 RENAME NIL Archive/NIL\r\n");
    assert_eq!(result.verdict, Verdict::Forward);
    assert_eq!(String::from_utf8_lossy(&result.wire), "A2 RENAME NIL INBOX.Archive.NIL\r\n");
}

#[test]
fn server_name_nil_is_quoted() {
    let rules = r#"
client_delimiter = "/"
[[map]]
client = "Nothing"
server = "NIL"
"#;
    let mut filter = filter(rules);
    let session = session(Some('.'));
    let result = command(&mut filter, &session, b"A1 SELECT Nothing\r\n");
    assert_eq!(String::from_utf8_lossy(&result.wire), "A1 SELECT \"NIL\"\r\n");
}

#[test]
fn refusals_depend_on_purpose() {
    let mut filter = filter(RULES);
    let session = session(Some('.'));
    let cases: &[(&[u8], Reply)] = &[
        (b"A1 SELECT INBOX/Junk\r\n", Reply::no("NONEXISTENT", "Mailbox does not exist")),
        (b"A2 DELETE INBOX/Junk\r\n", Reply::no("NONEXISTENT", "Mailbox does not exist")),
        (b"A3 CREATE INBOX/Junk\r\n", Reply::no("CANNOT", "Mailbox name is reserved")),
        (b"A4 SELECT a.b\r\n", Reply::no("NONEXISTENT", "Mailbox does not exist")),
        (
            b"A5 RENAME Sent a.b\r\n",
            Reply::no("CANNOT", "Mailbox name contains '.', which the server uses as its hierarchy delimiter"),
        ),
        (b"A6 STATUS\r\n", Reply::bad("Missing or invalid mailbox name argument")),
        (b"A7 COPY 1 (x)\r\n", Reply::bad("Missing or invalid mailbox name argument")),
    ];
    for (line, expected) in cases {
        let result = command(&mut filter, &session, line);
        assert_eq!(result.verdict, Verdict::Reply(expected.clone()), "{}", String::from_utf8_lossy(line));
    }
}

#[test]
fn flat_server_hides_hierarchical_client_names() {
    let mut filter = filter(RULES);
    let session = session(None);
    let result = command(&mut filter, &session, b"A1 SELECT Other/Sub\r\n");
    assert_eq!(result.verdict, Verdict::Reply(Reply::no("NONEXISTENT", "Mailbox does not exist")));

    // The delimiter field stays NIL when there is no delimiter at all.
    let mut flat = filter_without_client_delimiter();
    let (bytes, _) = response(&mut flat, &session, b"* LIST () NIL Other\r\n");
    assert_eq!(bytes.as_deref(), Some(&b"* LIST () NIL Other\r\n"[..]));
}

fn filter_without_client_delimiter() -> MailboxFilter {
    filter("[[map]]\nclient = \"Sent\"\nserver = \"Sent Items\"\n")
}

#[test]
fn list_pattern_inside_reference_is_joined() {
    let mut filter = filter(RULES);
    let session = session(Some('.'));
    let result = command(&mut filter, &session, b"A1 LIST \"Archive/\" \"%\"\r\n");
    assert_eq!(result.verdict, Verdict::Forward);
    assert_eq!(String::from_utf8_lossy(&result.wire), "A1 LIST \"\" \"INBOX.Archive.%\"\r\n");
    assert!(result.hold, "a filtered LIST holds the commands after it");

    let (bytes, _) = response(&mut filter, &session, b"* LIST () \".\" INBOX.Archive.2024\r\n");
    assert_eq!(bytes.as_deref(), Some(&b"* LIST () \"/\" Archive/2024\r\n"[..]));
    let (bytes, _) = response(&mut filter, &session, b"* LIST () \".\" INBOX.Archive.2024.Q1\r\n");
    assert_eq!(bytes, None, "one level below the pattern");
    let (bytes, _) = response(&mut filter, &session, b"* LIST () \".\" \"INBOX.Sent Items\"\r\n");
    assert_eq!(bytes, None, "outside the reference");

    // Archive/2024 was listed itself, so no parent is added.
    assert_eq!(text(&completion(&mut filter, &session, b"A1", Status::Ok)), Vec::<String>::new());
}

#[test]
fn exact_list_is_not_held() {
    let mut filter = filter(RULES);
    let session = session(Some('.'));
    let result = command(&mut filter, &session, b"A1 LIST \"\" Sent\r\n");
    assert_eq!(String::from_utf8_lossy(&result.wire), "A1 LIST \"\" \"INBOX.Sent Items\"\r\n");
    assert!(!result.hold);
    assert!(result.emit.is_empty());
}

#[test]
fn parents_only_after_ok() {
    let mut filter = filter(RULES);
    let session = session(Some('.'));
    command(&mut filter, &session, b"A1 LIST \"\" %\r\n");
    let (bytes, _) = response(&mut filter, &session, b"* LIST () \".\" Other.Sub\r\n");
    assert_eq!(bytes, None);
    assert!(completion(&mut filter, &session, b"A1", Status::No).is_empty());
    // The state is gone: a later completion with the same tag adds nothing.
    assert!(completion(&mut filter, &session, b"A1", Status::Ok).is_empty());
}

#[test]
fn parents_are_listed_once_in_order() {
    let mut filter = filter(RULES);
    let session = session(Some('.'));
    command(&mut filter, &session, b"A1 LIST \"\" %\r\n");
    for line in [&b"* LIST () \".\" Zed.a\r\n"[..], b"* LIST () \".\" Zed.b\r\n", b"* LIST () \".\" Alpha.x.y\r\n"] {
        let (bytes, _) = response(&mut filter, &session, line);
        assert_eq!(bytes, None);
    }
    assert_eq!(
        text(&completion(&mut filter, &session, b"A1", Status::Ok)),
        vec![
            "* LIST (\\Noselect \\HasChildren) \"/\" \"Alpha\"\r\n".to_string(),
            "* LIST (\\Noselect \\HasChildren) \"/\" \"Zed\"\r\n".to_string(),
        ]
    );
}

#[test]
fn lsub_parents_use_lsub_keyword() {
    let mut filter = filter(RULES);
    let session = session(Some('.'));
    command(&mut filter, &session, b"A1 LIST \"\" *\r\n");
    command(&mut filter, &session, b"A2 LSUB \"\" %\r\n");
    // LSUB data belongs to the LSUB, even though the LIST is older.
    let (bytes, _) = response(&mut filter, &session, b"* LSUB () \".\" Other.Sub\r\n");
    assert_eq!(bytes, None);
    let (bytes, _) = response(&mut filter, &session, b"* LIST () \".\" Other.Sub\r\n");
    assert_eq!(bytes.as_deref(), Some(&b"* LIST () \"/\" Other/Sub\r\n"[..]));
    assert!(completion(&mut filter, &session, b"A1", Status::Ok).is_empty());
    assert_eq!(
        text(&completion(&mut filter, &session, b"A2", Status::Ok)),
        vec!["* LSUB (\\Noselect \\HasChildren) \"/\" \"Other\"\r\n".to_string()]
    );
}

#[test]
fn malformed_list_responses_are_dropped() {
    let mut filter = filter(RULES);
    let session = session(Some('.'));
    for line in [&b"* LIST \".\" INBOX\r\n"[..], b"* LIST () \".\"\r\n", b"* LIST (\\X) \".\" (a)\r\n"] {
        let (bytes, _) = response(&mut filter, &session, line);
        assert_eq!(bytes, None, "{}", String::from_utf8_lossy(line));
    }
}

#[test]
fn status_response_keeps_form() {
    let mut filter = filter(RULES);
    let session = session(Some('.'));
    let cases: &[(&[u8], Option<&[u8]>)] = &[
        (b"* STATUS INBOX.Archive (MESSAGES 1)\r\n", Some(b"* STATUS Archive (MESSAGES 1)\r\n")),
        (b"* STATUS {16}\r\nINBOX.Sent Items (UNSEEN 0)\r\n", Some(b"* STATUS {4}\r\nSent (UNSEEN 0)\r\n")),
        (b"* STATUS \"INBOX\" (MESSAGES 1)\r\n", Some(b"* STATUS \"INBOX\" (MESSAGES 1)\r\n")),
        (b"* STATUS INBOX.Junk (MESSAGES 1)\r\n", None),
        (b"* STATUS (MESSAGES 1)\r\n", None),
    ];
    for (line, expected) in cases {
        let (bytes, _) = response(&mut filter, &session, line);
        assert_eq!(bytes.as_deref(), *expected, "{}", String::from_utf8_lossy(line));
    }
}

#[test]
fn delimiter_field_escapes_quote_and_backslash() {
    assert_eq!(delimiter_field(Some('/')), "\"/\"");
    assert_eq!(delimiter_field(Some('"')), "\"\\\"\"");
    assert_eq!(delimiter_field(Some('\\')), "\"\\\\\"");
    assert_eq!(delimiter_field(None), "NIL");
}

#[test]
fn delimiter_field_unchanged_keeps_bytes() {
    let rules = "client_delimiter = \".\"\n";
    let mut filter = filter(rules);
    let session = session(Some('.'));
    let (bytes, _) = response(&mut filter, &session, b"* LIST () \".\" INBOX.a\r\n");
    assert_eq!(bytes.as_deref(), Some(&b"* LIST () \".\" INBOX.a\r\n"[..]));
}

#[test]
fn utf8_session_writes_raw_names() {
    let rules = "client_delimiter = \"/\"\n[[map]]\nclient = \"Entwürfe\"\nserver = \"INBOX.Drafts\"\n";
    let mut filter = filter(rules);
    let mut session = session(Some('.'));

    let result = command(&mut filter, &session, b"A1 SELECT Entw&APw-rfe\r\n");
    assert_eq!(String::from_utf8_lossy(&result.wire), "A1 SELECT INBOX.Drafts\r\n");
    let (bytes, _) = response(&mut filter, &session, b"* LIST () \".\" INBOX.Drafts\r\n");
    assert_eq!(String::from_utf8_lossy(&bytes.unwrap()), "* LIST () \"/\" Entw&APw-rfe\r\n");

    session.utf8 = true;
    let result = command(&mut filter, &session, "A2 SELECT Entwürfe\r\n".as_bytes());
    assert_eq!(String::from_utf8_lossy(&result.wire), "A2 SELECT INBOX.Drafts\r\n");
    let (bytes, _) = response(&mut filter, &session, b"* LIST () \".\" INBOX.Drafts\r\n");
    assert_eq!(String::from_utf8_lossy(&bytes.unwrap()), "* LIST () \"/\" \"Entwürfe\"\r\n");
}

#[test]
fn invalid_modified_utf7_passes_untouched() {
    let mut filter = filter(RULES);
    let session = session(Some('.'));
    // `&` that does not start valid modified UTF-7 is taken as it is.
    let result = command(&mut filter, &session, b"A1 SELECT Other/a&b\r\n");
    assert_eq!(String::from_utf8_lossy(&result.wire), "A1 SELECT Other.a&b\r\n");
    let (bytes, _) = response(&mut filter, &session, b"* LIST () \".\" Other.a&b\r\n");
    assert_eq!(String::from_utf8_lossy(&bytes.unwrap()), "* LIST () \"/\" Other/a&b\r\n");
}

#[test]
fn status_data_follows_list_status_pattern() {
    let mut filter = filter(RULES);
    let session = session(Some('.'));

    // A superset LIST without STATUS leaves STATUS data alone.
    command(&mut filter, &session, b"A1 LIST \"\" \"Archive/%\"\r\n");
    let (bytes, _) = response(&mut filter, &session, b"* STATUS \"INBOX.Sent Items\" (MESSAGES 1)\r\n");
    assert_eq!(bytes.as_deref(), Some(&b"* STATUS \"Sent\" (MESSAGES 1)\r\n"[..]));
    completion(&mut filter, &session, b"A1", Status::Ok);

    command(&mut filter, &session, b"A2 LIST \"\" \"Archive/%\" RETURN (status (MESSAGES))\r\n");
    let (bytes, _) = response(&mut filter, &session, b"* STATUS \"INBOX.Sent Items\" (MESSAGES 1)\r\n");
    assert_eq!(bytes, None, "outside the pattern");
    let (bytes, _) = response(&mut filter, &session, b"* STATUS INBOX.Archive.x (MESSAGES 1)\r\n");
    assert_eq!(bytes.as_deref(), Some(&b"* STATUS Archive/x (MESSAGES 1)\r\n"[..]));
    completion(&mut filter, &session, b"A2", Status::Ok);

    let (bytes, _) = response(&mut filter, &session, b"* STATUS \"INBOX.Sent Items\" (MESSAGES 1)\r\n");
    assert!(bytes.is_some(), "the LIST completed");
}

#[test]
fn names_outside_server_namespaces_are_refused() {
    let mut filter = filter(RULES);
    let mut session = session(Some('.'));
    session.server_namespaces = vec!["INBOX.".into()];

    let select = command(&mut filter, &session, b"A1 SELECT Spam\r\n");
    assert!(
        matches!(&select.verdict, Verdict::Reply(reply) if reply.code == Some("NONEXISTENT")),
        "{:?}",
        select.verdict
    );
    let create = command(&mut filter, &session, b"A2 CREATE Foo\r\n");
    assert!(matches!(&create.verdict, Verdict::Reply(reply) if reply.code == Some("CANNOT")), "{:?}", create.verdict);

    let inbox = command(&mut filter, &session, b"A3 SELECT inbox\r\n");
    assert_eq!(inbox.verdict, Verdict::Forward);
    let drafts = command(&mut filter, &session, b"A4 SELECT INBOX/Drafts\r\n");
    assert_eq!(drafts.verdict, Verdict::Forward);
    assert_eq!(drafts.wire, b"A4 SELECT INBOX.Drafts\r\n");
}

#[test]
fn list_response_without_leading_attributes_is_withheld() {
    let mut filter = filter(RULES);
    let session = session(Some('.'));
    for line in [&b"* LIST INBOX.Junk () \".\" x\r\n"[..], b"* LIST x (\\Noselect) \".\" INBOX.Junk\r\n"] {
        let (sent, _) = response(&mut filter, &session, line);
        assert_eq!(sent, None, "{}", String::from_utf8_lossy(line));
    }
}

#[test]
fn list_response_with_list_as_delimiter_is_withheld() {
    let mut filter = filter(RULES);
    let session = session(Some('.'));
    let (sent, _) = response(&mut filter, &session, b"* LIST () (\\HasNoChildren) \".\" INBOX.Archive.2024\r\n");
    assert_eq!(sent, None);
}
