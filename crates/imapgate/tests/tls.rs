//! TLS on both legs against a real Dovecot, with certificates made in the test.

mod support;

use std::io::Write;
use std::net::TcpStream;

use support::Dovecot;
use support::imapgate::{Imapgate, free_port};
use support::tls::{TestCa, TlsClient, read_plain_line};

/// Dovecot with TLS: STARTTLS on its plain port, implicit TLS on the
/// returned port.
fn dovecot_with_tls(ca: &TestCa) -> (Dovecot, u16) {
    let (cert, key) = ca.issue("dovecot");
    let imaps = free_port();
    let env = [
        ("IMAPGATE_DOVECOT_TLS_CERT", cert.display().to_string()),
        ("IMAPGATE_DOVECOT_TLS_KEY", key.display().to_string()),
        ("IMAPGATE_DOVECOT_IMAPS_PORT", imaps.to_string()),
    ];
    (Dovecot::start_with(support::dovecot::DEFAULT_USERS, &env), imaps)
}

fn tls_section(ca: &TestCa) -> String {
    let (cert, key) = ca.issue("imapgate");
    format!("[tls]\ncertificate = \"{}\"\nkey = \"{}\"\n", cert.display(), key.display())
}

#[test]
fn implicit_tls_on_both_legs() {
    let ca = TestCa::new("imapgate test CA");
    let (dovecot, imaps) = dovecot_with_tls(&ca);
    let proxy = Imapgate::start_custom(&format!(
        "[[listen]]\naddress = \"127.0.0.1:{{port}}\"\ntls = \"implicit\"\n\n[upstream]\naddress = \"127.0.0.1:{imaps}\"\ntls = \"implicit\"\nca_file = \"{}\"\nserver_name = \"localhost\"\n\n{}",
        ca.ca_file().display(),
        tls_section(&ca)
    ));

    let (mut client, greeting) = TlsClient::connect(proxy.addr(), &ca.ca_file());
    assert!(greeting.starts_with("* OK [CAPABILITY IMAP4rev1"), "{greeting}");
    assert!(greeting.contains("AUTH=PLAIN") && !greeting.contains("STARTTLS"), "{greeting}");
    let login = client.command("l1", "LOGIN alice secret");
    assert!(login.contains("l1 OK"), "{login}");
    let select = client.command("a1", "SELECT INBOX");
    assert!(select.contains("a1 OK"), "{select}");
    client.command("a2", "LOGOUT");

    let log = dovecot.log();
    assert!(log.contains("TLS"), "Dovecot did not log a TLS login:\n{log}");
}

#[test]
fn starttls_on_both_legs_with_logindisabled() {
    let ca = TestCa::new("imapgate test CA");
    let (dovecot, _imaps) = dovecot_with_tls(&ca);
    let proxy = Imapgate::start_custom(&format!(
        "[[listen]]\naddress = \"127.0.0.1:{{port}}\"\ntls = \"starttls\"\nlogin_requires_tls = true\n\n[upstream]\naddress = \"{}\"\ntls = \"starttls\"\nca_file = \"{}\"\nserver_name = \"localhost\"\n\n{}",
        dovecot.addr(),
        ca.ca_file().display(),
        tls_section(&ca)
    ));

    let mut tcp = TcpStream::connect(proxy.addr()).unwrap();
    let greeting = read_plain_line(&mut tcp);
    assert!(greeting.contains(" STARTTLS") && greeting.contains(" LOGINDISABLED"), "{greeting}");
    assert!(!greeting.contains("AUTH="), "{greeting}");
    tcp.write_all(b"l0 LOGIN alice secret\r\n").unwrap();
    let refused = read_plain_line(&mut tcp);
    assert!(refused.starts_with("l0 NO [PRIVACYREQUIRED]"), "{refused}");

    // A command pipelined after STARTTLS is discarded, not run after the handshake.
    tcp.write_all(b"s1 STARTTLS\r\nx1 LOGIN alice secret\r\n").unwrap();
    let ok = read_plain_line(&mut tcp);
    assert!(ok.starts_with("s1 OK"), "{ok}");
    let mut client = TlsClient::wrap(tcp, &ca.ca_file());
    let capability = client.command("c1", "CAPABILITY");
    assert!(!capability.contains("x1 "), "the pipelined command ran: {capability}");
    assert!(capability.contains("AUTH=PLAIN"), "{capability}");
    assert!(!capability.contains("STARTTLS") && !capability.contains("LOGINDISABLED"), "{capability}");

    let login = client.command("l1", "LOGIN alice secret");
    assert!(login.contains("l1 OK"), "{login}");
    let select = client.command("a1", "SELECT INBOX");
    assert!(select.contains("a1 OK"), "{select}");
    let log = proxy.wait_for_log("discarded bytes pipelined after STARTTLS");
    assert!(log.contains("discarded bytes pipelined after STARTTLS"), "{log}");
}

#[test]
fn untrusted_upstream_certificate_is_a_clear_error() {
    let ca = TestCa::new("imapgate test CA");
    let other = TestCa::new("some other CA");
    let (_dovecot, imaps) = dovecot_with_tls(&ca);
    let proxy = Imapgate::start_custom(&format!(
        "[[listen]]\naddress = \"127.0.0.1:{{port}}\"\n\n[upstream]\naddress = \"127.0.0.1:{imaps}\"\ntls = \"implicit\"\nca_file = \"{}\"\nserver_name = \"localhost\"\n",
        other.ca_file().display()
    ));
    let mut client = proxy.connect();
    let reply = client.expect_no("l1", "LOGIN alice secret");
    assert!(reply.contains("l1 NO [UNAVAILABLE]"), "{reply}");
    let log = proxy.wait_for_log("TLS with upstream");
    assert!(log.contains(&format!("TLS with upstream 127.0.0.1:{imaps} failed: invalid peer certificate")), "{log}");
}

#[test]
fn sighup_reloads_the_certificate() {
    let first = TestCa::new("first CA");
    let second = TestCa::new("second CA");
    let dovecot = Dovecot::start();
    let template = |ca: &TestCa| {
        format!(
            "[[listen]]\naddress = \"127.0.0.1:{{port}}\"\ntls = \"implicit\"\n\n[upstream]\naddress = \"{}\"\n\n{}",
            dovecot.addr(),
            tls_section(ca)
        )
    };
    let proxy = Imapgate::start_custom(&template(&first));
    let (_client, greeting) = TlsClient::connect(proxy.addr(), &first.ca_file());
    assert!(greeting.starts_with("* OK"), "{greeting}");

    proxy.write_raw_config(&template(&second).replace("{port}", &proxy.addr().port().to_string()));
    proxy.signal("HUP");
    proxy.wait_for_log("configuration reloaded");
    let (mut client, greeting) = TlsClient::connect(proxy.addr(), &second.ca_file());
    assert!(greeting.starts_with("* OK"), "{greeting}");
    let login = client.command("l1", "LOGIN alice secret");
    assert!(login.contains("l1 OK"), "{login}");
}

/// Builds a message of about `size` bytes of 78-byte lines.
fn big_message(size: usize) -> String {
    let mut message = String::from("From: a@example.com\r\nSubject: big\r\n\r\n");
    let line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd\r\n";
    while message.len() + line.len() <= size {
        message.push_str(line);
    }
    message
}

#[test]
fn large_literals_over_tls_on_both_legs() {
    let ca = TestCa::new("imapgate test CA");
    let (_dovecot, imaps) = dovecot_with_tls(&ca);
    let proxy = Imapgate::start_custom(&format!(
        "[[listen]]\naddress = \"127.0.0.1:{{port}}\"\ntls = \"implicit\"\n\n[upstream]\naddress = \"127.0.0.1:{imaps}\"\ntls = \"implicit\"\nca_file = \"{}\"\nserver_name = \"localhost\"\n\n{}",
        ca.ca_file().display(),
        tls_section(&ca)
    ));
    let (mut client, _) = TlsClient::connect(proxy.addr(), &ca.ca_file());
    let login = client.command("l1", "LOGIN alice secret");
    assert!(login.contains("l1 OK"), "{login}");

    // Larger than every buffer of the relay, so writes on both TLS legs
    // are partial and must be flushed later.
    let message = big_message(3 * 1024 * 1024);
    client.send(&format!("a1 APPEND INBOX {{{}+}}\r\n", message.len()));
    client.send(&message);
    client.send("\r\n");
    let append = loop {
        let line = client.read_line();
        assert!(!line.is_empty(), "the connection closed during APPEND");
        if line.starts_with("a1 ") {
            break line;
        }
    };
    assert!(append.starts_with("a1 OK"), "{append}");

    let select = client.command("a2", "SELECT INBOX");
    assert!(select.contains("a2 OK"), "{select}");
    let fetch = client.command("a3", "FETCH 1 BODY[]");
    let header = format!("BODY[] {{{}}}\r\n", message.len());
    let start = fetch.find(&header).expect("the FETCH response announces the whole message") + header.len();
    assert_eq!(fetch.get(start..start + message.len()), Some(message.as_str()), "the message came back changed");
    assert!(fetch.contains("\r\na3 OK"), "{}", &fetch[fetch.len().saturating_sub(200)..]);
}
