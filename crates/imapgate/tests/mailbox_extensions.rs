//! Mapped names in IMAP extensions against a real Dovecot: LIST-EXTENDED,
//! LIST-STATUS, NAMESPACE, OLDNAME through NOTIFY, ACL and METADATA.

mod support;

use std::time::{Duration, Instant};

use support::Dovecot;
use support::imapgate::Imapgate;

const RULES: &str = r#"
[mailbox]
client_delimiter = "/"

[[mailbox.map]]
client = "Sent"
server = "INBOX.Sent Items"
special_use = '\Sent'

[[mailbox.map]]
client = "Archive{/rest}"
server = "INBOX.Archive{.rest}"

[[mailbox.hide]]
server = '^INBOX\.Spam$'
"#;

fn message(subject: &str) -> Vec<u8> {
    format!("From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n\r\nBody of {subject}.\r\n").into_bytes()
}

/// Dovecot with Sent (two messages), Archive.2023 (one) and Spam (one),
/// and imapgate with the rules in front of it.
fn setup() -> (Dovecot, Imapgate) {
    let dovecot = Dovecot::start();
    dovecot.seed("alice", &["INBOX.Sent Items", "INBOX.Archive.2023", "INBOX.Spam"]);
    dovecot.append("alice", "INBOX.Sent Items", &message("first"));
    dovecot.append("alice", "INBOX.Sent Items", &message("second"));
    dovecot.append("alice", "INBOX.Archive.2023", &message("old"));
    dovecot.append("alice", "INBOX.Spam", &message("spam"));
    let proxy = Imapgate::start(dovecot.addr(), &["mailbox"], RULES);
    (dovecot, proxy)
}

#[test]
fn list_extended_with_pattern_list_and_status() {
    let (_dovecot, proxy) = setup();
    let mut client = proxy.connect();
    client.login("alice", "secret");
    client.expect_ok("a1", "SUBSCRIBE Sent");
    client.expect_ok("a2", "SUBSCRIBE Archive/2023");

    let list =
        client.expect_ok("a3", "LIST (SUBSCRIBED) \"\" (\"Sent\" \"Archive/*\") RETURN (CHILDREN STATUS (MESSAGES))");
    assert!(list.contains("* LIST (\\Subscribed \\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n"), "{list}");
    assert!(list.contains("* STATUS \"Sent\" (MESSAGES 2)\r\n"), "{list}");
    assert!(list.contains("* LIST (\\Subscribed \\HasNoChildren) \"/\" Archive/2023\r\n"), "{list}");
    assert!(list.contains("* STATUS Archive/2023 (MESSAGES 1)\r\n"), "{list}");
    assert_eq!(list.matches("* LIST").count(), 2, "{list}");
    assert!(!list.contains("INBOX."), "{list}");
}

#[test]
fn list_status_follows_the_pattern() {
    let (_dovecot, proxy) = setup();
    let mut client = proxy.connect();
    client.login("alice", "secret");

    let list = client.expect_ok("a1", "LIST \"\" \"%\" RETURN (STATUS (MESSAGES))");
    assert!(list.contains("* LIST (\\Sent) \"/\" \"Sent\"\r\n* STATUS \"Sent\" (MESSAGES 2)\r\n"), "{list}");
    // Dovecot 2.3 lists the parent it has no folder for as \NonExistent.
    assert_eq!(list.matches("\"/\" Archive\r\n").count(), 1, "{list}");
    assert!(!list.contains("Spam"), "{list}");
    assert!(!list.contains("STATUS Archive/2023"), "{list}");

    // Inside one rule the pattern goes to the server translated (the relay
    // transcripts check the bytes), and the result is the same.
    let archive = client.expect_ok("a2", "LIST \"Archive/\" \"%\" RETURN (STATUS (MESSAGES))");
    assert!(archive.contains("\"/\" Archive/2023\r\n* STATUS Archive/2023 (MESSAGES 1)\r\n"), "{archive}");
    assert_eq!(archive.matches("* LIST").count(), 1, "{archive}");
}

#[test]
fn namespace_matches_the_client_names() {
    let (_dovecot, proxy) = setup();
    let mut client = proxy.connect();
    client.login("alice", "secret");
    let namespace = client.expect_ok("a1", "NAMESPACE");
    assert!(namespace.contains("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"), "{namespace}");
}

#[test]
fn rename_reports_oldname_through_notify() {
    let (dovecot, proxy) = setup();
    let mut client = proxy.connect();
    client.login("alice", "secret");
    client.expect_ok("a1", "NOTIFY SET (personal (MailboxName SubscriptionChange))");

    let mut direct = dovecot.login("alice");
    direct.expect_ok("d1", "RENAME INBOX.Archive.2023 INBOX.Archive.2022");

    // The notification arrives with a later command's response.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = String::new();
    let mut tag = 0;
    while !seen.contains("OLDNAME") && Instant::now() < deadline {
        tag += 1;
        seen.push_str(&client.expect_ok(&format!("n{tag}"), "NOOP"));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(seen.contains("\"/\" Archive/2022 (\"OLDNAME\" (Archive/2023))\r\n"), "{seen}");
    assert!(!seen.contains("INBOX.Archive"), "{seen}");
}

#[test]
fn acl_commands_use_mapped_names() {
    let (dovecot, proxy) = setup();
    let mut client = proxy.connect();
    client.login("alice", "secret");

    client.expect_ok("a1", "SETACL Sent bob lr");
    let acl = client.expect_ok("a2", "GETACL Sent");
    assert!(acl.contains("* ACL \"Sent\" "), "{acl}");
    assert!(acl.contains(" bob lr"), "{acl}");
    let rights = client.expect_ok("a3", "LISTRIGHTS Archive/2023 bob");
    assert!(rights.contains("* LISTRIGHTS Archive/2023 bob "), "{rights}");
    let mine = client.expect_ok("a4", "MYRIGHTS \"Archive/2023\"");
    assert!(mine.contains("* MYRIGHTS Archive/2023 "), "{mine}");

    let mut direct = dovecot.login("alice");
    let server = direct.expect_ok("d1", "GETACL \"INBOX.Sent Items\"");
    assert!(server.contains(" bob lr"), "{server}");

    client.expect_ok("a5", "DELETEACL Sent bob");
    let server = direct.expect_ok("d2", "GETACL \"INBOX.Sent Items\"");
    assert!(!server.contains(" bob "), "{server}");

    let hidden = client.expect_no("a6", "GETACL INBOX/Spam");
    assert!(hidden.contains("a6 NO [NONEXISTENT]"), "{hidden}");
}

#[test]
fn metadata_uses_mapped_names() {
    let (dovecot, proxy) = setup();
    let mut client = proxy.connect();
    client.login("alice", "secret");

    client.expect_ok("a1", "SETMETADATA Sent (/private/comment \"mapped\")");
    let metadata = client.expect_ok("a2", "GETMETADATA (MAXSIZE 100) Sent (/private/comment)");
    assert!(metadata.contains("* METADATA \"Sent\" (/private/comment "), "{metadata}");
    assert!(metadata.contains("mapped"), "{metadata}");

    let mut direct = dovecot.login("alice");
    let server = direct.expect_ok("d1", "GETMETADATA \"INBOX.Sent Items\" /private/comment");
    assert!(server.contains("mapped"), "{server}");

    // The server's own entries (mailbox "") stay as they are.
    client.expect_ok("a3", "GETMETADATA \"\" /private/comment");
}
