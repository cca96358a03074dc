//! The client's address reaches Dovecot through imapgate: by PROXY
//! protocol and by ID fields.

mod support;

use support::imapgate::{Imapgate, free_port};
use support::{Dovecot, ImapClient};

const PROXY_HEADER: &[u8] = b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 143\r\n";

fn listener(port_placeholder: &str) -> String {
    format!(
        "[[listen]]\naddress = \"127.0.0.1:{port_placeholder}\"\nproxy_protocol = true\nproxy_trusted = [\"127.0.0.1\"]\n"
    )
}

/// Waits up to 5 s for a Dovecot log line containing `needle`.
fn wait_for_dovecot_log(dovecot: &Dovecot, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let log = dovecot.log();
        if log.contains(needle) || std::time::Instant::now() > deadline {
            return log;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn proxy_protocol_in_and_out() {
    let haproxy_port = free_port();
    let dovecot = Dovecot::start_with(
        support::dovecot::DEFAULT_USERS,
        &[("IMAPGATE_DOVECOT_HAPROXY_PORT", haproxy_port.to_string())],
    );
    let proxy = Imapgate::start_custom(&format!(
        "{}\n[upstream]\naddress = \"127.0.0.1:{haproxy_port}\"\nproxy_protocol = \"v2\"\n",
        listener("{port}")
    ));

    let mut client = ImapClient::connect_with_preamble(proxy.addr(), PROXY_HEADER);
    client.login("alice", "secret");
    client.expect_ok("a1", "NOOP");

    let log = wait_for_dovecot_log(&dovecot, "rip=192.0.2.7");
    assert!(log.contains("user=<alice>") && log.contains("rip=192.0.2.7"), "Dovecot did not see the client:\n{log}");
    let proxy_log = proxy.log();
    assert!(proxy_log.contains("client.addr=192.0.2.7:40000"), "{proxy_log}");
}

#[test]
fn untrusted_proxy_header_source_is_closed() {
    let dovecot = Dovecot::start();
    let proxy = Imapgate::start_custom(&format!(
        "[[listen]]\naddress = \"127.0.0.1:{{port}}\"\nproxy_protocol = true\nproxy_trusted = [\"192.0.2.0/24\"]\n\n[upstream]\naddress = \"{}\"\n",
        dovecot.addr()
    ));
    let mut stream = std::net::TcpStream::connect(proxy.addr()).unwrap();
    use std::io::{Read, Write};
    stream.write_all(PROXY_HEADER).unwrap();
    let mut buf = [0u8; 64];
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    assert_eq!(stream.read(&mut buf).unwrap_or(0), 0, "imapgate answered an untrusted source");
    let log = proxy.wait_for_log("not in proxy_trusted");
    assert!(log.contains("closed a connection from an address not in proxy_trusted"), "{log}");
}

#[test]
fn id_fields_carry_client_address() {
    let dovecot =
        Dovecot::start_with(support::dovecot::DEFAULT_USERS, &[("IMAPGATE_DOVECOT_TRUST_LOOPBACK", "1".to_string())]);
    let proxy = Imapgate::start_custom(&format!(
        "{}\n[upstream]\naddress = \"{}\"\nforward_id = true\n",
        listener("{port}"),
        dovecot.addr()
    ));

    let mut client = ImapClient::connect_with_preamble(proxy.addr(), PROXY_HEADER);
    client.expect_ok("i1", "ID (\"name\" \"test-client\" \"x-originating-ip\" \"203.0.113.9\")");
    client.login("alice", "secret");
    client.expect_ok("a1", "NOOP");

    let log = wait_for_dovecot_log(&dovecot, "rip=192.0.2.7");
    assert!(log.contains("user=<alice>") && log.contains("rip=192.0.2.7"), "Dovecot did not see the client:\n{log}");
    assert!(!log.contains("203.0.113.9"), "a client's own x- field was forwarded:\n{log}");
}
