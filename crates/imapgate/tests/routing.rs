//! Routing logins through an nginx-style auth_http service written in the
//! test, to two Dovecot instances, with per-user rule profiles.

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::Dovecot;
use support::imapgate::Imapgate;

/// An auth service that answers each request with `answer(user, attempt)`
/// and records the request texts.
struct AuthService {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl AuthService {
    fn start(answer: impl Fn(&str, usize) -> String + Send + 'static) -> AuthService {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        thread::spawn(move || {
            for (count, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { return };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(read) => request.extend_from_slice(&buf[..read]),
                    }
                }
                let text = String::from_utf8_lossy(&request).into_owned();
                let user = header(&text, "Auth-User").unwrap_or_default();
                let reply = answer(&user, count);
                recorded.lock().unwrap().push(text);
                let _ = stream.write_all(format!("HTTP/1.0 200 OK\r\n{reply}\r\n").as_bytes());
            }
        });
        AuthService { addr, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn header(request: &str, name: &str) -> Option<String> {
    request.lines().find_map(|line| line.strip_prefix(&format!("{name}: ")).map(str::to_string))
}

fn route_to(dovecot: &Dovecot) -> String {
    format!("Auth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: {}\r\n", dovecot.port())
}

fn config(service: &AuthService, any_dovecot: &Dovecot) -> String {
    format!(
        r#"filters = ["mailbox"]

[[listen]]
address = "127.0.0.1:{{port}}"

[upstream]
address = "{}"

[auth_http]
url = "http://{}/auth"
timeout_secs = 5

[mailbox]
client_delimiter = "/"

[profiles.renamed]
filters = ["mailbox"]

[profiles.renamed.mailbox]
client_delimiter = "/"

[[profiles.renamed.mailbox.map]]
client = "Projects"
server = "INBOX.Two"
"#,
        any_dovecot.addr(),
        service.addr
    )
}

#[test]
fn users_are_routed_to_their_servers_with_profiles() {
    let first = Dovecot::start();
    let second = Dovecot::start();
    first.seed("alice", &["INBOX.One"]);
    second.seed("bob", &["INBOX.Two"]);
    let (first_route, second_route) = (route_to(&first), route_to(&second));
    let service = AuthService::start(move |user, _| match user {
        "alice" => first_route.clone(),
        "bob" => format!("{second_route}Auth-Profile: renamed\r\n"),
        _ => "Auth-Status: Invalid login or password\r\n".to_string(),
    });
    let proxy = Imapgate::start_custom(&config(&service, &first));

    let mut alice = proxy.connect();
    alice.login("alice", "secret");
    let list = alice.expect_ok("a1", "LIST \"\" \"*\"");
    assert!(list.contains("\"/\" INBOX/One\r\n"), "{list}");
    assert!(!list.contains("Two"), "{list}");

    let mut bob = proxy.connect();
    bob.login("bob", "secret");
    let list = bob.expect_ok("b1", "LIST \"\" \"*\"");
    assert!(list.contains("\"/\" Projects\r\n"), "the profile's rule was not applied: {list}");
    assert!(!list.contains("One"), "{list}");

    let requests = service.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let first_request = &requests[0];
    assert!(first_request.starts_with("GET /auth HTTP/1.0\r\n"), "{first_request}");
    assert_eq!(header(first_request, "Auth-Method").as_deref(), Some("plain"));
    assert_eq!(header(first_request, "Auth-User").as_deref(), Some("alice"));
    assert_eq!(header(first_request, "Auth-Pass").as_deref(), Some("secret"));
    assert_eq!(header(first_request, "Auth-Protocol").as_deref(), Some("imap"));
    assert_eq!(header(first_request, "Auth-Login-Attempt").as_deref(), Some("1"));
    assert_eq!(header(first_request, "Client-IP").as_deref(), Some("127.0.0.1"));
    assert!(!proxy.log().contains("secret"), "the password reached the log");
}

#[test]
fn refusal_with_auth_wait_allows_retry_on_same_connection() {
    let dovecot = Dovecot::start();
    let route = route_to(&dovecot);
    let service = AuthService::start(move |user, _| match user {
        "alice" => route.clone(),
        _ => "Auth-Status: Invalid login or password\r\nAuth-Wait: 1\r\n".to_string(),
    });
    let proxy = Imapgate::start_custom(&config(&service, &dovecot));

    let mut client = proxy.connect();
    let started = Instant::now();
    let refused = client.expect_no("l1", "LOGIN mallory guess");
    assert!(refused.contains("l1 NO [AUTHENTICATIONFAILED] Invalid login or password"), "{refused}");
    assert!(started.elapsed() >= Duration::from_secs(1), "Auth-Wait did not delay the NO");
    client.login("alice", "secret");
    client.expect_ok("a1", "SELECT INBOX");

    let requests = service.requests();
    assert_eq!(header(&requests[1], "Auth-Login-Attempt").as_deref(), Some("2"), "{requests:?}");
}

#[test]
fn wait_status_is_asked_again() {
    let dovecot = Dovecot::start();
    let route = route_to(&dovecot);
    let service = AuthService::start(move |_, count| {
        if count == 0 { "Auth-Status: WAIT\r\nAuth-Wait: 1\r\n".to_string() } else { route.clone() }
    });
    let proxy = Imapgate::start_custom(&config(&service, &dovecot));
    let mut client = proxy.connect();
    client.login("alice", "secret");
    assert_eq!(service.requests().len(), 2);
}

#[test]
fn unknown_profile_is_unavailable() {
    let dovecot = Dovecot::start();
    let route = route_to(&dovecot);
    let service = AuthService::start(move |_, _| format!("{route}Auth-Profile: nosuch\r\n"));
    let proxy = Imapgate::start_custom(&config(&service, &dovecot));
    let mut client = proxy.connect();
    let reply = client.expect_no("l1", "LOGIN alice secret");
    assert!(reply.contains("l1 NO [UNAVAILABLE]"), "{reply}");
    let log = proxy.wait_for_log("unknown profile");
    assert!(log.contains("the auth service selected the unknown profile \\\"nosuch\\\""), "{log}");
}

#[test]
fn profile_selects_upstream_tls() {
    let ca = support::tls::TestCa::new("routing CA");
    let (cert, key) = ca.issue("dovecot");
    let imaps = support::imapgate::free_port();
    let dovecot = Dovecot::start_with(
        support::dovecot::DEFAULT_USERS,
        &[
            ("IMAPGATE_DOVECOT_TLS_CERT", cert.display().to_string()),
            ("IMAPGATE_DOVECOT_TLS_KEY", key.display().to_string()),
            ("IMAPGATE_DOVECOT_IMAPS_PORT", imaps.to_string()),
        ],
    );
    let service = AuthService::start(move |_, _| {
        format!("Auth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: {imaps}\r\nAuth-Profile: secure\r\n")
    });
    let proxy = Imapgate::start_custom(&format!(
        "[[listen]]\naddress = \"127.0.0.1:{{port}}\"\n\n[upstream]\naddress = \"{}\"\nca_file = \"{}\"\n\n[auth_http]\nurl = \"http://{}/auth\"\n\n[profiles.secure]\nupstream_tls = \"implicit\"\n",
        dovecot.addr(),
        ca.ca_file().display(),
        service.addr
    ));
    let mut client = proxy.connect();
    client.login("alice", "secret");
    client.expect_ok("a1", "SELECT INBOX");
    let log = dovecot.log();
    assert!(log.contains("TLS"), "Dovecot did not see a TLS login:\n{log}");
}
