//! Checks the test support code against a real Dovecot, so that failures
//! in proxy tests can be trusted to come from the proxy.

mod support;

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::thread;

use support::{Dovecot, ImapClient};

const MESSAGE: &[u8] = b"From: alice@example.org\r\n\
To: bob@example.org\r\n\
Subject: harness\r\n\
\r\n\
Hello from the test harness.\r\n";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// Starts a one-connection server on 127.0.0.1 that sends `script` after
/// the greeting, and returns a client connected to it.
fn scripted_server(script: &'static [u8]) -> ImapClient {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(b"* OK scripted server ready\r\n").unwrap();
        stream.write_all(script).unwrap();
        // Keep the connection open until the client has read everything.
        let _ = std::io::copy(&mut stream, &mut std::io::sink());
    });
    ImapClient::connect(addr)
}

#[test]
fn dovecot_greets_and_logs_in() {
    let dovecot = Dovecot::start();
    let mut client = dovecot.connect();

    let greeting = String::from_utf8_lossy(client.greeting()).into_owned();
    assert!(greeting.starts_with("* OK "), "greeting: {greeting}");
    assert!(greeting.contains("LITERAL+"), "greeting: {greeting}");

    client.login("alice", "secret");
    client.logout();
    assert!(dovecot.log().contains("Login: user=<alice>"), "log:\n{}", dovecot.log());
}

#[test]
fn dovecot_rejects_wrong_password() {
    let dovecot = Dovecot::start();
    let mut client = dovecot.connect();
    let response = client.expect_no("a", "LOGIN alice wrong");
    assert!(response.contains("AUTHENTICATIONFAILED"), "response: {response}");
}

#[test]
fn dovecot_custom_users() {
    let dovecot = Dovecot::start_with_users(&[("carol", "pw1")]);
    assert_eq!(dovecot.password("carol"), "pw1");
    dovecot.login("carol").logout();
    dovecot.connect().expect_no("a", "LOGIN alice secret");
}

#[test]
fn list_shows_dot_delimited_names() {
    let dovecot = Dovecot::start();
    let mut client = dovecot.login("alice");
    client.expect_ok("c1", "CREATE \"INBOX.Sent Items\"");
    client.expect_ok("c2", "CREATE INBOX.Archive.2023");

    let list = client.expect_ok("l", "LIST \"\" \"*\"");
    assert!(list.contains("* LIST (\\HasChildren) \".\" INBOX\r\n"), "LIST: {list}");
    assert!(list.contains(" \".\" \"INBOX.Sent Items\"\r\n"), "LIST: {list}");
    assert!(list.contains(" \".\" INBOX.Archive\r\n"), "LIST: {list}");
    assert!(list.contains(" \".\" INBOX.Archive.2023\r\n"), "LIST: {list}");
}

#[test]
fn append_with_synchronizing_literal() {
    let dovecot = Dovecot::start();
    let mut client = dovecot.login("alice");
    client.expect_ok("c", "CREATE \"INBOX.Sent Items\"");

    // The server must ask for the literal data with "+" before it is sent.
    let command = format!("a APPEND \"INBOX.Sent Items\" (\\Seen) {{{}}}\r\n", MESSAGE.len());
    client.send(command.as_bytes());
    let continuation = client.read_continuation("a");
    assert!(continuation.starts_with(b"+ "), "{}", client.transcript());
    client.send(MESSAGE);
    client.send(b"\r\n");
    client.expect_completion("a", "OK");

    let select = client.expect_ok("s", "SELECT \"INBOX.Sent Items\"");
    assert!(select.contains("* 1 EXISTS\r\n"), "SELECT: {select}");
}

#[test]
fn read_response_skips_literal_with_fake_tag() {
    let dovecot = Dovecot::start();
    let body: &[u8] = b"Subject: tricky\r\n\r\nf OK this line is message data\r\n\
* BYE neither is this\r\nends in a brace {3}\r\n";
    dovecot.append("alice", "INBOX", body);
    let mut client = dovecot.login("alice");
    client.expect_ok("s", "SELECT INBOX");

    client.send(b"f FETCH 1 BODY.PEEK[]\r\n");
    let response = client.read_response("f");
    let expected_start = format!("* 1 FETCH (BODY[] {{{}}}\r\n", body.len());
    assert!(response.starts_with(expected_start.as_bytes()), "{}", client.transcript());
    assert!(contains(&response, body), "{}", client.transcript());
    assert!(response.ends_with(b" secs).\r\n"), "{}", client.transcript());
    assert!(contains(&response, b")\r\nf OK Fetch completed"), "{}", client.transcript());

    // The stream is still in step: the next command gets its own response.
    let noop = client.expect_ok("n", "NOOP");
    assert!(noop.starts_with("n OK"), "NOOP: {noop}");
}

#[test]
fn seed_and_append_create_mail() {
    let dovecot = Dovecot::start();
    dovecot.seed("alice", &["INBOX.Sent Items", "INBOX.Archive.2023", "INBOX.Spam"]);
    dovecot.append("alice", "INBOX.Sent Items", MESSAGE);
    dovecot.append("alice", "INBOX.Sent Items", MESSAGE);
    dovecot.append("alice", "INBOX.Archive.2023", MESSAGE);

    let mut client = dovecot.login("alice");
    let sent = client.expect_ok("a", "STATUS \"INBOX.Sent Items\" (MESSAGES)");
    assert!(sent.contains("* STATUS \"INBOX.Sent Items\" (MESSAGES 2)\r\n"), "{sent}");
    let archive = client.expect_ok("b", "STATUS INBOX.Archive.2023 (MESSAGES)");
    assert!(archive.contains("* STATUS INBOX.Archive.2023 (MESSAGES 1)\r\n"), "{archive}");
    let spam = client.expect_ok("c", "STATUS INBOX.Spam (MESSAGES)");
    assert!(spam.contains("* STATUS INBOX.Spam (MESSAGES 0)\r\n"), "{spam}");

    // Each user has their own mail.
    let mut bob = dovecot.login("bob");
    let list = bob.expect_ok("l", "LIST \"\" \"*\"");
    assert!(!list.contains("Sent Items"), "bob's LIST: {list}");
}

#[test]
fn many_connections_from_loopback() {
    let dovecot = Dovecot::start();
    let clients: Vec<ImapClient> = (0..20).map(|_| dovecot.login("alice")).collect();
    assert_eq!(clients.len(), 20);
}

#[test]
fn read_response_ignores_brace_in_status_text() {
    let mut client = scripted_server(
        b"* OK [ALERT] text ending in {5}\r\n\
+ continuation text {5}\r\n\
a NO failed {2}\r\n\
b OK done\r\n",
    );
    let first = client.read_response("a");
    assert!(first.starts_with(b"* OK [ALERT]"), "{}", client.transcript());
    assert!(first.ends_with(b"a NO failed {2}\r\n"), "{}", client.transcript());
    let second = client.read_response("b");
    assert_eq!(second, b"b OK done\r\n");
}

#[test]
fn read_response_handles_literal_variants() {
    let mut client = scripted_server(
        b"* LIST () \".\" {5}\r\nab{3}\r\n\
* 1 FETCH (BINARY[] ~{4}\r\nx\r\ny UID 7)\r\n\
* 2 FETCH (BODY[] {0}\r\n)\r\n\
a OK done\r\n",
    );
    let response = client.read_response("a");
    let expected: &[u8] = b"* LIST () \".\" {5}\r\nab{3}\r\n\
* 1 FETCH (BINARY[] ~{4}\r\nx\r\ny UID 7)\r\n\
* 2 FETCH (BODY[] {0}\r\n)\r\n\
a OK done\r\n";
    assert_eq!(response, expected, "{}", client.transcript());
}

#[test]
#[should_panic(expected = "timed out waiting for a line")]
fn read_response_times_out() {
    let mut client = scripted_server(b"* 1 EXISTS\r\n");
    client.set_timeout(std::time::Duration::from_millis(200));
    client.read_response("a");
}
