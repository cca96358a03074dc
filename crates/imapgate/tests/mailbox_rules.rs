//! The mailbox filter against a real Dovecot with Courier-style names.

mod support;

use support::Dovecot;
use support::imapgate::Imapgate;

const RULES: &str = r#"
[mailbox]
client_delimiter = "/"

[[mailbox.map]]
client = "Sent"
server = "INBOX.Sent Items"

[[mailbox.map]]
client = "Archive/{rest}"
server = "INBOX.Archive.{rest}"

[[mailbox.hide]]
server = '^INBOX\.Spam$'
"#;

fn message(subject: &str) -> Vec<u8> {
    format!("From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n\r\nBody of {subject}.\r\n").into_bytes()
}

/// Dovecot with the three folders, two messages in Sent (one seen), one in
/// Spam, and imapgate with the rules in front of it.
fn setup() -> (Dovecot, Imapgate) {
    let dovecot = Dovecot::start();
    dovecot.seed("alice", &["INBOX.Sent Items", "INBOX.Archive.2023", "INBOX.Spam"]);
    dovecot.append("alice", "INBOX.Sent Items", &message("first"));
    dovecot.append("alice", "INBOX.Sent Items", &message("second"));
    dovecot.append("alice", "INBOX.Spam", &message("spam"));
    let mut direct = dovecot.login("alice");
    direct.expect_ok("s1", "SELECT \"INBOX.Sent Items\"");
    direct.expect_ok("s2", "STORE 1 +FLAGS (\\Seen)");
    direct.logout();
    let proxy = Imapgate::start(dovecot.addr(), &["mailbox"], RULES);
    (dovecot, proxy)
}

#[test]
fn list_shows_client_names() {
    let (_dovecot, proxy) = setup();
    let mut client = proxy.connect();
    client.login("alice", "secret");

    let list = client.expect_ok("a1", "LIST \"\" \"*\"");
    assert!(list.contains("* LIST (\\HasNoChildren) \"/\" \"Sent\"\r\n"), "{list}");
    assert!(list.contains("* LIST (\\HasNoChildren) \"/\" Archive/2023\r\n"), "{list}");
    assert!(list.contains("\"/\" INBOX\r\n"), "{list}");
    assert!(!list.contains("Spam"), "{list}");
    assert!(!list.contains("Sent Items"), "{list}");
    assert!(!list.contains("\".\""), "{list}");
}

#[test]
fn list_percent_gets_only_top_level() {
    let (_dovecot, proxy) = setup();
    let mut client = proxy.connect();
    client.login("alice", "secret");

    let list = client.expect_ok("a1", "LIST \"\" %");
    let names: Vec<&str> = list.lines().filter(|line| line.starts_with("* LIST")).collect();
    assert_eq!(names.len(), 3, "{list}");
    assert!(list.contains("\"/\" INBOX\r\n"), "{list}");
    assert!(list.contains("\"/\" \"Sent\"\r\n"), "{list}");
    assert!(list.contains("* LIST (\\Noselect \\HasChildren) \"/\" \"Archive\"\r\n"), "{list}");

    let archive = client.expect_ok("a2", "LIST Archive/ %");
    assert!(archive.contains("\"/\" Archive/2023\r\n"), "{archive}");
    assert_eq!(archive.matches("* LIST").count(), 1, "{archive}");
}

#[test]
fn select_and_status_use_mapped_names() {
    let (_dovecot, proxy) = setup();
    let mut client = proxy.connect();
    client.login("alice", "secret");

    let select = client.expect_ok("a1", "SELECT \"Sent\"");
    assert!(select.contains("* 2 EXISTS\r\n"), "{select}");

    let status = client.expect_ok("a2", "STATUS \"Sent\" (MESSAGES UNSEEN)");
    assert!(status.contains("* STATUS \"Sent\" (MESSAGES 2 UNSEEN 1)\r\n"), "{status}");

    let examine = client.expect_ok("a3", "EXAMINE Archive/2023");
    assert!(examine.contains("* 0 EXISTS\r\n"), "{examine}");
}

#[test]
fn copy_lands_in_server_folder() {
    let (dovecot, proxy) = setup();
    let mut client = proxy.connect();
    client.login("alice", "secret");
    client.expect_ok("a1", "SELECT Sent");
    client.expect_ok("a2", "COPY 1 \"Archive/2023\"");
    client.expect_ok("a3", "UID MOVE 2 Archive/2023");
    client.logout();

    let mut direct = dovecot.login("alice");
    let select = direct.expect_ok("d1", "SELECT \"INBOX.Archive.2023\"");
    assert!(select.contains("* 2 EXISTS\r\n"), "{select}");
    let fetch = direct.expect_ok("d2", "FETCH 1:2 BODY.PEEK[HEADER.FIELDS (SUBJECT)]");
    assert!(fetch.contains("Subject: first"), "{fetch}");
    assert!(fetch.contains("Subject: second"), "{fetch}");
}

#[test]
fn hidden_and_foreign_names_are_nonexistent() {
    let (_dovecot, proxy) = setup();
    let mut client = proxy.connect();
    client.login("alice", "secret");

    for (tag, command) in [
        ("a1", "SELECT \"Spam\""),
        ("a2", "SELECT \"INBOX.Spam\""),
        ("a3", "SELECT INBOX/Spam"),
        ("a4", "STATUS INBOX/Spam (MESSAGES)"),
    ] {
        let reply = client.expect_no(tag, command);
        assert!(reply.contains(&format!("{tag} NO [NONEXISTENT]")), "{command}: {reply}");
    }
    let create = client.expect_no("a5", "CREATE INBOX/Spam");
    assert!(create.contains("a5 NO [CANNOT]"), "{create}");
    client.expect_ok("a6", "NOOP");
}

#[test]
fn select_literal_name_stays_in_step() {
    let (_dovecot, proxy) = setup();
    let mut client = proxy.connect();
    client.login("alice", "secret");

    client.send(b"a1 SELECT {4}\r\n");
    let plus = client.read_continuation("a1");
    assert!(plus.starts_with(b"+"), "{}", String::from_utf8_lossy(&plus));
    client.send(b"Sent\r\n");
    let select = String::from_utf8_lossy(&client.read_response("a1")).into_owned();
    assert!(select.contains("* 2 EXISTS\r\n"), "{select}");
    assert!(select.contains("a1 OK"), "{select}");
    client.expect_ok("a2", "NOOP");
}

#[test]
fn create_rename_delete_and_subscribe() {
    let (dovecot, proxy) = setup();
    let mut client = proxy.connect();
    client.login("alice", "secret");
    client.expect_ok("a1", "CREATE Archive/2024");
    client.expect_ok("a2", "RENAME Archive/2024 Archive/2025");
    client.expect_ok("a3", "SUBSCRIBE Archive/2025");
    let lsub = client.expect_ok("a4", "LSUB \"\" \"*\"");
    assert!(lsub.contains("\"/\" Archive/2025\r\n"), "{lsub}");

    let mut direct = dovecot.login("alice");
    let list = direct.expect_ok("d1", "LIST \"\" \"INBOX.Archive.*\"");
    assert!(list.contains("INBOX.Archive.2025"), "{list}");
    assert!(!list.contains("INBOX.Archive.2024"), "{list}");

    client.expect_ok("a5", "UNSUBSCRIBE Archive/2025");
    client.expect_ok("a6", "DELETE Archive/2025");
    let list = direct.expect_ok("d2", "LIST \"\" \"INBOX.Archive.*\"");
    assert!(!list.contains("INBOX.Archive.2025"), "{list}");
}

#[test]
fn append_to_mapped_name_with_sync_literal() {
    let (dovecot, proxy) = setup();
    let mut client = proxy.connect();
    client.login("alice", "secret");

    let body = message("appended");
    client.send(format!("a1 APPEND Sent (\\Seen) {{{}}}\r\n", body.len()).as_bytes());
    client.read_continuation("a1");
    client.send(&body);
    client.send(b"\r\n");
    client.expect_completion("a1", "OK");

    let mut direct = dovecot.login("alice");
    let select = direct.expect_ok("d1", "SELECT \"INBOX.Sent Items\"");
    assert!(select.contains("* 3 EXISTS\r\n"), "{select}");
}

#[test]
fn non_ascii_folder_created_through_proxy() {
    let (dovecot, proxy) = setup();
    let mut client = proxy.connect();
    client.login("alice", "secret");
    // "Entwürfe" in modified UTF-7, under the Archive rule.
    client.expect_ok("a1", "CREATE Archive/Entw&APw-rfe");
    let list = client.expect_ok("a2", "LIST \"\" Archive/*");
    assert!(list.contains("\"/\" Archive/Entw&APw-rfe\r\n"), "{list}");

    let mut direct = dovecot.login("alice");
    let list = direct.expect_ok("d1", "LIST \"\" INBOX.Archive.*");
    assert!(list.contains("INBOX.Archive.Entw&APw-rfe"), "{list}");
}
