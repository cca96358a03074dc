//! Limits, metrics, reload and drain of a running imapgate.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::Dovecot;
use support::imapgate::{Imapgate, free_port};

fn http_get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("admin listener accepts");
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// The value of the first sample line starting with `name` (labels included).
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find(|line| line.starts_with(name))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no sample {name} in:\n{metrics}"))
}

#[test]
fn sessions_per_address_over_limit_get_bye() {
    let dovecot = Dovecot::start();
    let proxy = Imapgate::start(dovecot.addr(), &[], "[limits]\nmax_sessions_per_address = 2\n");
    let _first = proxy.connect();
    let _second = proxy.connect();
    let third = proxy.connect();
    let greeting = String::from_utf8_lossy(third.greeting()).into_owned();
    assert!(greeting.starts_with("* BYE [UNAVAILABLE] Too many connections"), "{greeting}");
    let log = proxy.wait_for_log("max_sessions_per_address");
    assert!(log.contains("limit=\"max_sessions_per_address\" value=2"), "{log}");
}

#[test]
fn failed_logins_are_delayed_then_locked_out() {
    let dovecot = Dovecot::start();
    let proxy = Imapgate::start(dovecot.addr(), &[], "[limits]\nmax_login_failures = 2\n");
    let mut client = proxy.connect();

    let started = Instant::now();
    client.expect_no("l1", "LOGIN alice wrong");
    assert!(started.elapsed() >= Duration::from_secs(1), "the first failure was not delayed");
    client.expect_no("l2", "LOGIN alice wrong");
    assert!(started.elapsed() >= Duration::from_secs(3), "the second failure was not delayed longer");
    let bye = String::from_utf8_lossy(&client.read_line()).into_owned();
    assert!(bye.starts_with("* BYE Too many failed logins"), "{bye}");

    let refused = proxy.connect();
    let greeting = String::from_utf8_lossy(refused.greeting()).into_owned();
    assert!(greeting.starts_with("* BYE [UNAVAILABLE] Too many failed logins"), "{greeting}");
    let log = proxy.wait_for_log("max_login_failures");
    assert!(log.contains("limit=\"max_login_failures\" value=2"), "{log}");
}

#[test]
fn metrics_after_a_session() {
    let dovecot = Dovecot::start();
    let admin = free_port();
    let proxy = Imapgate::start(
        dovecot.addr(),
        &["mailbox"],
        &format!("[admin]\naddress = \"127.0.0.1:{admin}\"\n\n[mailbox]\nclient_delimiter = \"/\"\n"),
    );
    let mut client = proxy.connect();
    client.login("alice", "secret");
    client.expect_ok("a1", "SELECT INBOX");
    client.expect_ok("a2", "LIST \"\" \"*\"");
    client.expect_no("a3", "SELECT nowhere/else");
    client.logout();
    proxy.wait_for_log_count("session ended", 2);

    let health = http_get(admin, "/health");
    assert!(health.starts_with("HTTP/1.1 200 OK") && health.ends_with("ok\n"), "{health}");
    let metrics = http_get(admin, "/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200 OK"), "{metrics}");
    assert_eq!(sample(&metrics, "imapgate_logins_total{result=\"ok\"}"), 1.0);
    assert_eq!(sample(&metrics, "imapgate_commands_total"), 4.0);
    assert!(sample(&metrics, "imapgate_rewritten_total") >= 1.0);
    assert_eq!(sample(&metrics, "imapgate_sessions_active"), 0.0);
    assert_eq!(sample(&metrics, "imapgate_sessions_ended_total{reason=\"server_closed\"}"), 1.0);
    assert!(sample(&metrics, "imapgate_relayed_bytes_total{direction=\"from_server\"}") > 100.0);
    assert_eq!(sample(&metrics, "imapgate_upstream_connect_seconds_count"), 1.0);
    assert!(http_get(admin, "/nothing").starts_with("HTTP/1.1 404"));
}

const RENAME_SENT: &str =
    "[mailbox]\nclient_delimiter = \"/\"\n[[mailbox.map]]\nclient = \"Outbox\"\nserver = \"INBOX.Sent\"\n";

#[test]
fn reload_applies_to_new_sessions_and_refuses_bad_config() {
    let dovecot = Dovecot::start();
    dovecot.seed("alice", &["INBOX.Sent"]);
    let proxy = Imapgate::start(dovecot.addr(), &["mailbox"], "[mailbox]\nclient_delimiter = \"/\"\n");
    let mut before = proxy.connect();
    before.login("alice", "secret");

    proxy.rewrite_config(&["mailbox"], RENAME_SENT);
    proxy.signal("HUP");
    proxy.wait_for_log("configuration reloaded");

    let mut after = proxy.connect();
    after.login("alice", "secret");
    let list = after.expect_ok("a1", "LIST \"\" \"*\"");
    assert!(list.contains("\"/\" Outbox\r\n"), "{list}");
    let old = before.expect_ok("b1", "LIST \"\" \"*\"");
    assert!(old.contains("\"/\" INBOX/Sent\r\n"), "an open session changed its rules: {old}");

    proxy.write_raw_config("filters = [\"nosuch\"]\n");
    proxy.signal("HUP");
    let log = proxy.wait_for_log("reload refused");
    assert!(log.contains("unknown filter \"nosuch\""), "{log}");
    let mut later = proxy.connect();
    later.login("alice", "secret");
    let list = later.expect_ok("c1", "LIST \"\" \"*\"");
    assert!(list.contains("\"/\" Outbox\r\n"), "the refused config replaced the running one: {list}");
}

#[test]
fn sigterm_drains_idle_and_fetch() {
    let dovecot = Dovecot::start();
    let mut message = b"Subject: big\r\n\r\n".to_vec();
    message.resize(8 * 1024 * 1024, b'x');
    message.extend_from_slice(b"\r\n");
    dovecot.append("alice", "INBOX", &message);
    let mut proxy = Imapgate::start(dovecot.addr(), &[], "[timeouts]\nshutdown_grace_secs = 20\n");

    let mut idler = proxy.connect();
    idler.login("alice", "secret");
    idler.expect_ok("i1", "SELECT INBOX");
    idler.send(b"i2 IDLE\r\n");
    idler.read_continuation("i2");

    let mut fetcher = proxy.connect();
    fetcher.set_timeout(Duration::from_secs(30));
    fetcher.login("alice", "secret");
    fetcher.expect_ok("f1", "SELECT INBOX");
    fetcher.send(b"f2 FETCH 1 BODY[]\r\n");
    let first = fetcher.read_line();
    assert!(first.starts_with(b"* 1 FETCH"), "{}", String::from_utf8_lossy(&first));

    proxy.signal("TERM");
    let bye = String::from_utf8_lossy(&idler.read_line()).into_owned();
    assert!(bye.starts_with("* BYE [UNAVAILABLE] Server shutting down"), "{bye}");

    // The FETCH in flight completes before its session ends.
    let rest = fetcher.read_response("f2");
    assert!(rest.len() > 8 * 1024 * 1024 - 100, "FETCH was cut after {} bytes", rest.len());
    let bye = String::from_utf8_lossy(&fetcher.read_line()).into_owned();
    assert!(bye.starts_with("* BYE"), "{bye}");

    assert_eq!(proxy.wait_exit(Duration::from_secs(10)), Some(0), "imapgate did not exit after draining");
    let log = proxy.log();
    assert!(log.contains("draining sessions"), "{log}");
    assert!(log.contains("all sessions ended"), "{log}");
}

#[test]
fn trace_records_traced_address_without_password() {
    let dovecot = Dovecot::start_with_users(&[("alice", "Tr4ce-Pw")]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trace.log");
    let proxy = Imapgate::start(
        dovecot.addr(),
        &[],
        &format!("[trace]\nfile = \"{}\"\naddresses = [\"127.0.0.1\"]\n", file.display()),
    );
    let mut client = proxy.connect();
    client.send(b"l1 LOGIN alice {8}\r\n");
    client.read_continuation("l1");
    client.send(b"Tr4ce-Pw\r\n");
    client.expect_completion("l1", "OK");
    client.expect_ok("a1", "SELECT INBOX");
    client.logout();
    proxy.wait_for_log_count("session ended", 2);

    let trace = std::fs::read_to_string(&file).unwrap();
    assert!(trace.contains(r"client> l1 LOGIN <redacted>\r\n"), "{trace}");
    assert!(trace.contains(r">server a1 SELECT INBOX\r\n"), "{trace}");
    assert!(trace.contains("server> "), "{trace}");
    assert!(trace.contains(">client "), "{trace}");
    assert!(!trace.contains("Tr4ce-Pw"), "the password appears in the trace:\n{trace}");
}

/// A server that accepts connections, greets with `greeting` (nothing when
/// empty) and then never answers.
fn silent_server(greeting: &'static [u8]) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { return };
            let _ = stream.write_all(greeting);
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(10));
    });
    addr
}

#[test]
fn preauth_timeout_says_bye() {
    let dovecot = Dovecot::start();
    let proxy = Imapgate::start(dovecot.addr(), &[], "[timeouts]\npreauth_secs = 1\n");
    let mut client = proxy.connect();
    let started = Instant::now();
    let bye = String::from_utf8_lossy(&client.read_line()).into_owned();
    assert_eq!(bye, "* BYE Login timed out\r\n");
    assert!(started.elapsed() >= Duration::from_millis(900), "the timeout fired early");
    let log = proxy.wait_for_log("client did not log in in time");
    assert!(log.contains("limit=\"preauth_secs\" value=1"), "{log}");
}

#[test]
fn upstream_greeting_timeout_is_unavailable() {
    let proxy = Imapgate::start(silent_server(b""), &[], "[timeouts]\nupstream_connect_secs = 1\n");
    let mut client = proxy.connect();
    let reply = client.expect_no("l1", "LOGIN alice secret");
    assert!(reply.contains("l1 NO [UNAVAILABLE]"), "{reply}");
    let log = proxy.wait_for_log("upstream unavailable");
    assert!(log.contains("timed out after 1 s"), "{log}");
    client.expect_ok("n1", "NOOP");
}

#[test]
fn upstream_login_timeout_is_unavailable() {
    let server = silent_server(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] silent\r\n");
    let proxy = Imapgate::start(server, &[], "[timeouts]\nupstream_login_secs = 1\n");
    let mut client = proxy.connect();
    let reply = client.expect_no("l1", "LOGIN alice secret");
    assert!(reply.contains("l1 NO [UNAVAILABLE]"), "{reply}");
    let log = proxy.wait_for_log("upstream unavailable");
    assert!(log.contains("no answer to the login within 1 s"), "{log}");
}

#[test]
fn preauth_literal_over_limit_gets_bad() {
    let dovecot = Dovecot::start();
    let proxy = Imapgate::start(dovecot.addr(), &[], "[limits]\nmax_preauth_literal = 1024\n");
    let mut client = proxy.connect();
    client.send(b"l1 LOGIN alice {100000}\r\n");
    let reply = String::from_utf8_lossy(&client.read_line()).into_owned();
    assert_eq!(reply, "l1 BAD Command too large before login\r\n");
    client.expect_ok("n1", "NOOP");
    let log = proxy.wait_for_log("max_preauth_literal");
    assert!(log.contains("limit=\"max_preauth_literal\" value=1024"), "{log}");
}
