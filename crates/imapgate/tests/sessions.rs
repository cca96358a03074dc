//! Pre-auth, login and bad input, through imapgate to a real Dovecot (and
//! to a scripted server for server faults).

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::thread;

use base64::Engine;
use support::Dovecot;
use support::imapgate::Imapgate;

const PASSWORD: &str = "Pw-7f3c1e9a";

fn setup(sections: &str) -> (Dovecot, Imapgate) {
    let dovecot = Dovecot::start_with_users(&[("alice", PASSWORD)]);
    let proxy = Imapgate::start(dovecot.addr(), &["mailbox"], sections);
    (dovecot, proxy)
}

#[test]
fn preauth_commands_answered_by_imapgate() {
    let (_dovecot, proxy) = setup("");
    let mut client = proxy.connect();
    assert!(String::from_utf8_lossy(client.greeting()).contains("AUTH=PLAIN"));
    let capability = client.expect_ok("c1", "CAPABILITY");
    assert!(capability.contains("* CAPABILITY IMAP4rev1"), "{capability}");
    client.expect_ok("c2", "NOOP");
    let id = client.expect_ok("c3", "ID (\"name\" \"test\")");
    assert!(id.contains("* ID (\"name\" \"imapgate\""), "{id}");
    client.expect_bad("c4", "SELECT INBOX");
    client.logout();
}

#[test]
fn refused_login_keeps_connection() {
    let (_dovecot, proxy) = setup("");
    let mut client = proxy.connect();
    let refused = client.expect_no("l1", "LOGIN alice wrong-password");
    assert!(refused.contains("l1 NO"), "{refused}");
    client.login("alice", PASSWORD);
    client.expect_ok("a1", "SELECT INBOX");
}

#[test]
fn login_with_literal_password() {
    let (_dovecot, proxy) = setup("");
    let mut client = proxy.connect();
    client.send(format!("l1 LOGIN alice {{{}}}\r\n", PASSWORD.len()).as_bytes());
    client.read_continuation("l1");
    client.send(format!("{PASSWORD}\r\n").as_bytes());
    client.expect_completion("l1", "OK");
    client.expect_ok("a1", "NOOP");
}

#[test]
fn authenticate_plain_with_and_without_initial_response() {
    let (_dovecot, proxy) = setup("");
    let payload = base64::engine::general_purpose::STANDARD.encode(format!("\0alice\0{PASSWORD}"));

    let mut client = proxy.connect();
    let ok = client.expect_ok("a1", &format!("AUTHENTICATE PLAIN {payload}"));
    assert!(ok.contains("a1 OK"), "{ok}");

    let mut client = proxy.connect();
    client.send(b"a1 AUTHENTICATE PLAIN\r\n");
    client.read_continuation("a1");
    client.send(format!("{payload}\r\n").as_bytes());
    client.expect_completion("a1", "OK");
    client.expect_ok("a2", "NOOP");

    let mut client = proxy.connect();
    client.send(b"a1 AUTHENTICATE PLAIN\r\n");
    client.read_continuation("a1");
    client.send(b"*\r\n");
    client.expect_completion("a1", "BAD");
}

#[test]
fn logs_never_contain_the_password() {
    let (_dovecot, proxy) = setup("");
    let payload = base64::engine::general_purpose::STANDARD.encode(format!("\0alice\0{PASSWORD}"));
    let mut client = proxy.connect();
    client.login("alice", PASSWORD);
    client.logout();
    let mut client = proxy.connect();
    client.expect_ok("a1", &format!("AUTHENTICATE PLAIN {payload}"));
    client.logout();

    let log = proxy.wait_for_log_count("session ended", 3);
    assert!(log.contains("session ended"), "the log is empty or incomplete:\n{log}");
    assert!(!log.contains(PASSWORD), "the password appears in the log:\n{log}");
    assert!(!log.contains(&payload), "the SASL payload appears in the log:\n{log}");
}

#[test]
fn bad_input_gets_tagged_bad() {
    let (_dovecot, proxy) = setup("[limits]\nmax_line = 2048\n");
    let mut client = proxy.connect();
    client.login("alice", PASSWORD);

    let long = format!("b1 NOOP {}", "x".repeat(5000));
    let reply = client.expect_bad("b1", &long[3..]);
    assert!(reply.contains("b1 BAD Command line too long (limit 2048 bytes)"), "{reply}");

    let reply = client.expect_bad("b2", "SELECT");
    assert!(reply.contains("b2 BAD"), "{reply}");
    let reply = client.expect_bad("b3", "SELECT {5");
    assert!(reply.contains("b3 BAD"), "{reply}");
    let reply = client.expect_bad("b4", "LIST \"\" \"unterminated");
    assert!(reply.contains("b4 BAD"), "{reply}");
    let reply = client.expect_bad("b5", "LIST");
    assert!(reply.contains("b5 BAD"), "{reply}");

    client.send(b"(bad\r\n");
    let line = String::from_utf8_lossy(&client.read_line()).into_owned();
    assert!(line.starts_with("* BAD"), "{line}");

    client.expect_ok("b6", "NOOP");
    let log = proxy.log();
    assert!(log.contains("max_line"), "no log line names the limit:\n{log}");
}

/// A scripted server: greets, accepts any login, then answers the first
/// command with `reply` (nothing when empty) and closes.
fn scripted_server(reply: &'static [u8]) -> std::net::SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let server_addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        writer.write_all(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR LITERAL+] scripted\r\n").unwrap();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let tag = line.split(' ').next().unwrap().to_string();
        writer.write_all(format!("{tag} OK [CAPABILITY IMAP4rev1 LITERAL+] Logged in\r\n").as_bytes()).unwrap();
        line.clear();
        reader.read_line(&mut line).unwrap();
        writer.write_all(reply).unwrap();
        thread::sleep(std::time::Duration::from_millis(200));
    });
    server_addr
}

#[test]
fn garbage_from_server_ends_session_with_bye() {
    let proxy = Imapgate::start(scripted_server(b"this is not IMAP\r\n"), &[], "");
    let mut client = proxy.connect();
    client.login("alice", "whatever");
    client.send(b"a1 NOOP\r\n");
    let line = String::from_utf8_lossy(&client.read_line()).into_owned();
    assert!(line.starts_with("* BYE [UNAVAILABLE]"), "{line}");
    assert!(client.at_eof(), "imapgate kept the connection open");
    let log = proxy.wait_for_log("unrecognized response line");
    assert!(log.contains("unrecognized response line"), "no log line for the fault:\n{log}");
}

#[test]
fn server_closing_without_bye_gets_client_bye() {
    let proxy = Imapgate::start(scripted_server(b"* 3 EXISTS\r\n"), &[], "");
    let mut client = proxy.connect();
    client.login("alice", "whatever");
    client.send(b"a1 NOOP\r\n");
    let exists = String::from_utf8_lossy(&client.read_line()).into_owned();
    assert_eq!(exists, "* 3 EXISTS\r\n");
    let line = String::from_utf8_lossy(&client.read_line()).into_owned();
    assert_eq!(line, "* BYE [UNAVAILABLE] The mail server closed the connection\r\n");
    assert!(client.at_eof(), "imapgate kept the connection open");
    let log = proxy.wait_for_log("without BYE");
    assert!(log.contains("the server closed the connection without BYE"), "{log}");
}

#[test]
fn authenticate_login_mechanism() {
    let (_dovecot, proxy) = setup("");
    let engine = base64::engine::general_purpose::STANDARD;

    let mut client = proxy.connect();
    assert!(String::from_utf8_lossy(client.greeting()).contains("AUTH=LOGIN"));
    client.send(b"a1 AUTHENTICATE LOGIN\r\n");
    let prompt = String::from_utf8_lossy(&client.read_continuation("a1")).into_owned();
    assert_eq!(prompt, "+ VXNlcm5hbWU6\r\n");
    client.send(format!("{}\r\n", engine.encode("alice")).as_bytes());
    let prompt = String::from_utf8_lossy(&client.read_continuation("a1")).into_owned();
    assert_eq!(prompt, "+ UGFzc3dvcmQ6\r\n");
    client.send(format!("{}\r\n", engine.encode(PASSWORD)).as_bytes());
    client.expect_completion("a1", "OK");
    client.expect_ok("a2", "SELECT INBOX");

    // With the user name as initial response (SASL-IR).
    let mut client = proxy.connect();
    client.send(format!("b1 AUTHENTICATE LOGIN {}\r\n", engine.encode("alice")).as_bytes());
    client.read_continuation("b1");
    client.send(format!("{}\r\n", engine.encode(PASSWORD)).as_bytes());
    client.expect_completion("b1", "OK");
}

#[test]
fn xoauth2_is_passed_to_the_server() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let server_addr = listener.local_addr().unwrap();
    let (lines_sender, lines) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        writer.write_all(b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] scripted\r\n").unwrap();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let tag = line.split(' ').next().unwrap().to_string();
        lines_sender.send(line.clone()).unwrap();
        writer.write_all(format!("{tag} OK [CAPABILITY IMAP4rev1] Logged in\r\n").as_bytes()).unwrap();
        thread::sleep(std::time::Duration::from_millis(500));
    });

    let proxy = Imapgate::start_custom(&format!(
        "[[listen]]\naddress = \"127.0.0.1:{{port}}\"\n\n[upstream]\naddress = \"{server_addr}\"\noauth = true\n"
    ));
    let mut client = proxy.connect();
    assert!(String::from_utf8_lossy(client.greeting()).contains("AUTH=XOAUTH2 AUTH=OAUTHBEARER"));
    let response = base64::engine::general_purpose::STANDARD.encode("user=alice\x01auth=Bearer tok-123\x01\x01");
    client.expect_ok("x1", &format!("AUTHENTICATE XOAUTH2 {response}"));
    let sent = lines.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
    assert_eq!(sent, format!("x1 AUTHENTICATE XOAUTH2 {response}\r\n"));
    let log = proxy.wait_for_log("logged in");
    assert!(log.contains("user=\"alice\""), "{log}");
    assert!(!log.contains("tok-123") && !log.contains(&response), "the token reached the log:\n{log}");
}
