//! With no filter, imapgate relays an authenticated session byte for byte,
//! streams large literals, and keeps both directions moving.

mod support;

use std::time::Duration;

use support::imapgate::Imapgate;
use support::recorder::Recorder;
use support::{Dovecot, ImapClient};

const BIG: usize = 20 * 1024 * 1024;

/// A message of about `size` bytes with lines of 76 characters.
fn big_message(size: usize) -> Vec<u8> {
    let mut message = b"From: a@example.com\r\nSubject: big\r\n\r\n".to_vec();
    let line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd\r\n";
    while message.len() + line.len() <= size {
        message.extend_from_slice(line);
    }
    message
}

/// The bytes after the first line that starts with `prefix`.
fn after_line<'a>(bytes: &'a [u8], prefix: &[u8]) -> &'a [u8] {
    let mut at = 0;
    while at < bytes.len() {
        let end = bytes[at..].iter().position(|byte| *byte == b'\n').map_or(bytes.len(), |offset| at + offset + 1);
        if bytes[at..].starts_with(prefix) {
            return &bytes[end..];
        }
        at = end;
    }
    panic!("no line starts with {:?}", String::from_utf8_lossy(prefix));
}

#[test]
fn whole_session_is_byte_exact() {
    let dovecot = Dovecot::start();
    dovecot.append("alice", "INBOX", &big_message(BIG));
    let recorder = Recorder::start(dovecot.addr());
    let proxy = Imapgate::start(recorder.addr(), &[], "");

    let mut client = proxy.connect();
    client.set_timeout(Duration::from_secs(60));
    client.login("alice", "secret");

    // Everything the client sends and receives from here on.
    let mut sent = Vec::new();
    let mut received = Vec::new();
    let run = |client: &mut ImapClient, bytes: &[u8], sent: &mut Vec<u8>| {
        client.send(bytes);
        sent.extend_from_slice(bytes);
    };

    run(&mut client, b"p1 LIST \"\" \"*\"\r\n", &mut sent);
    received.extend(client.read_response("p1"));
    run(&mut client, b"p2 SELECT INBOX\r\n", &mut sent);
    received.extend(client.read_response("p2"));
    run(&mut client, b"p3 FETCH 1 BODY[]\r\n", &mut sent);
    let fetch = client.read_response("p3");
    assert!(fetch.len() > BIG - 100, "FETCH returned {} bytes", fetch.len());
    received.extend(fetch);

    let upload = big_message(BIG);
    run(&mut client, format!("p4 APPEND INBOX {{{}}}\r\n", upload.len()).as_bytes(), &mut sent);
    received.extend(client.read_continuation("p4"));
    run(&mut client, &upload, &mut sent);
    run(&mut client, b"\r\n", &mut sent);
    received.extend(client.read_response("p4"));

    run(&mut client, b"p5 SEARCH ALL\r\n", &mut sent);
    let search = client.read_response("p5");
    assert!(String::from_utf8_lossy(&search).contains("* SEARCH 1 2\r\n"));
    received.extend(search);

    run(&mut client, b"p6 IDLE\r\n", &mut sent);
    received.extend(client.read_continuation("p6"));
    run(&mut client, b"DONE\r\n", &mut sent);
    received.extend(client.read_response("p6"));

    run(&mut client, b"p7 LOGOUT\r\n", &mut sent);
    received.extend(client.read_response("p7"));
    std::thread::sleep(Duration::from_millis(200));

    let from_server = recorder.sent_by_server(0);
    let to_server = recorder.received_by_server(0);
    let server_after_login = after_line(&from_server, b"login OK");
    let client_to_server_after_login = after_line(&to_server, b"login ");
    assert!(server_after_login == received.as_slice(), "the client received other bytes than the server sent");
    assert!(client_to_server_after_login == sent.as_slice(), "the server received other bytes than the client sent");
}

#[test]
fn pipelined_commands_during_big_fetch() {
    let dovecot = Dovecot::start();
    dovecot.append("alice", "INBOX", &big_message(BIG));
    let proxy = Imapgate::start(dovecot.addr(), &["mailbox"], "");

    let mut client = proxy.connect();
    client.set_timeout(Duration::from_secs(60));
    client.login("alice", "secret");
    client.expect_ok("s", "SELECT INBOX");

    // Start the FETCH, let it stream, then pipeline 100 commands without
    // reading anything.
    client.send(b"f FETCH 1 BODY[]\r\n");
    std::thread::sleep(Duration::from_millis(50));
    let mut pipelined = Vec::new();
    for number in 0..100 {
        let command = if number % 2 == 0 { "NOOP" } else { "STATUS INBOX (MESSAGES)" };
        pipelined.extend_from_slice(format!("n{number} {command}\r\n").as_bytes());
    }
    client.send(&pipelined);

    let fetch = client.read_response("f");
    assert!(fetch.len() > BIG - 100, "FETCH returned {} bytes", fetch.len());
    // Dovecot may complete pipelined commands out of order.
    let mut completed = std::collections::BTreeSet::new();
    while completed.len() < 100 {
        let message = String::from_utf8_lossy(&client.read_message()).into_owned();
        if let Some(tag) = message.strip_prefix('n').and_then(|rest| rest.split(' ').next()) {
            assert!(message.contains(" OK "), "{message}");
            assert!(completed.insert(tag.parse::<u32>().expect("numeric tag")), "tag n{tag} completed twice");
        }
    }
    client.logout();
}

#[test]
fn logout_closes_the_connection() {
    let dovecot = Dovecot::start();
    let proxy = Imapgate::start(dovecot.addr(), &[], "");
    let mut client = proxy.connect();
    client.login("alice", "secret");
    client.logout();
    assert!(client.at_eof(), "imapgate kept the connection open after LOGOUT");
}
