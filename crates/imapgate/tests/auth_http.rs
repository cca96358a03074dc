//! The auth_http client against an auth service written here: a std::net
//! listener on loopback that records the request and sends a canned reply.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use imapgate::auth_http::{AuthHttpConfig, AuthHttpError, AuthMethod, AuthReply, AuthRequest, authenticate};
use imapgate::session::secret::Secret;

/// What the service does after reading the request.
enum Behaviour {
    /// Sends the reply and closes the connection.
    Reply(&'static str),
    /// Sends the reply and keeps the connection open for a while, as an
    /// HTTP/1.1 server with keep-alive would.
    ReplyAndHold(&'static str),
    /// Sends nothing and holds the connection.
    Silent,
}

/// A one-shot auth service; `request` yields the request bytes it received.
struct Service {
    address: SocketAddr,
    request: mpsc::Receiver<Vec<u8>>,
}

impl Service {
    fn start(behaviour: Behaviour) -> Service {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let (sender, request) = mpsc::channel();
        thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let received = read_request(&mut stream);
            sender.send(received).unwrap();
            match behaviour {
                Behaviour::Reply(reply) => stream.write_all(reply.as_bytes()).unwrap(),
                Behaviour::ReplyAndHold(reply) => {
                    // The client may stop reading early and close, so a failed write is expected.
                    let _ = stream.write_all(reply.as_bytes());
                    thread::sleep(Duration::from_secs(5));
                }
                Behaviour::Silent => thread::sleep(Duration::from_secs(5)),
            }
        });
        Service { address, request }
    }

    fn config(&self, extra: &str) -> AuthHttpConfig {
        let text = format!("url = \"http://127.0.0.1:{}/auth\"\ntimeout_secs = 2\n{extra}", self.address.port());
        let config: AuthHttpConfig = toml::from_str(&text).unwrap();
        assert!(config.validate("auth_http").is_empty());
        config
    }

    fn received(&self) -> String {
        String::from_utf8(self.request.recv_timeout(Duration::from_secs(5)).unwrap()).unwrap()
    }
}

/// Reads up to and including the empty line that ends the request head.
fn read_request(stream: &mut std::net::TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    while !received.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) | Err(_) => break,
            Ok(_) => received.push(byte[0]),
        }
    }
    received
}

fn request(attempt: u32) -> AuthRequest {
    AuthRequest {
        method: AuthMethod::Plain,
        user: "user one".to_string(),
        password: Secret::new(b"p%ss w".to_vec()),
        salt: None,
        attempt,
        client_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 42)),
        client_host: None,
        tls: None,
        proxy_protocol: None,
    }
}

#[tokio::test]
async fn route_sends_nginx_request() {
    let service = Service::start(Behaviour::Reply(
        "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 10143\r\n\
         Auth-Profile: staff\r\n\r\n",
    ));
    let config = service.config("[headers]\nX-Auth-Key = \"shared\"\nX-Site = \"lab\"\n");

    let reply = authenticate(&config, &request(1)).await.unwrap();

    assert_eq!(
        service.received(),
        "GET /auth HTTP/1.0\r\n\
         Host: 127.0.0.1\r\n\
         Auth-Method: plain\r\n\
         Auth-User: user%20one\r\n\
         Auth-Pass: p%25ss%20w\r\n\
         Auth-Protocol: imap\r\n\
         Auth-Login-Attempt: 1\r\n\
         Client-IP: 192.0.2.42\r\n\
         X-Auth-Key: shared\r\n\
         X-Site: lab\r\n\
         \r\n"
    );
    let AuthReply::Route { address, user, password, profile } = reply else { panic!("expected a route: {reply:?}") };
    assert_eq!(address, "127.0.0.1:10143".parse::<SocketAddr>().unwrap());
    assert_eq!(user, "user one");
    assert_eq!(password.expose(), b"p%ss w");
    assert_eq!(profile.as_deref(), Some("staff"));
}

#[tokio::test]
async fn refusal_with_wait() {
    let service = Service::start(Behaviour::Reply(
        "HTTP/1.0 200 OK\r\nAuth-Status: Invalid login or password\r\nAuth-Wait: 3\r\n\r\n",
    ));

    let reply = authenticate(&service.config(""), &request(2)).await.unwrap();

    assert!(service.received().contains("\r\nAuth-Login-Attempt: 2\r\n"));
    let AuthReply::Refused { message, wait } = reply else { panic!("expected a refusal: {reply:?}") };
    assert_eq!(message, "Invalid login or password");
    assert_eq!(wait, Some(Duration::from_secs(3)));
}

#[tokio::test]
async fn hostname_resolved_when_enabled() {
    let service = Service::start(Behaviour::Reply(
        "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: localhost\r\nAuth-Port: 10143\r\n\r\n",
    ));

    let reply = authenticate(&service.config("resolve_hostnames = true\n"), &request(1)).await.unwrap();

    let AuthReply::Route { address, .. } = reply else { panic!("expected a route: {reply:?}") };
    assert!(address.ip().is_loopback(), "{address}");
    assert_eq!(address.port(), 10143);
}

#[tokio::test]
async fn hostname_refused_by_default() {
    let service = Service::start(Behaviour::Reply(
        "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: localhost\r\nAuth-Port: 10143\r\n\r\n",
    ));

    let reply = authenticate(&service.config(""), &request(1)).await.unwrap();

    let AuthReply::TemporaryFailure { reason } = reply else { panic!("expected a temporary failure: {reply:?}") };
    assert!(reason.contains("not an IP address"), "{reason}");
}

#[tokio::test]
async fn reply_read_stops_at_end_of_headers() {
    let service = Service::start(Behaviour::ReplyAndHold(
        "HTTP/1.1 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 10143\r\n\
         Content-Length: 5\r\n\r\nhello",
    ));

    let started = std::time::Instant::now();
    let reply = authenticate(&service.config(""), &request(1)).await.unwrap();

    assert!(matches!(reply, AuthReply::Route { .. }), "{reply:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "waited for the connection to close");
}

#[tokio::test]
async fn silent_service_times_out() {
    let service = Service::start(Behaviour::Silent);
    let config = service.config("");

    let error = authenticate(&config, &request(1)).await.unwrap_err();

    assert!(matches!(error, AuthHttpError::Timeout { step: "reading the reply", .. }), "{error:?}");
    assert!(error.to_string().contains(&config.url), "{error}");
}

#[tokio::test]
async fn closed_before_headers_end() {
    let service = Service::start(Behaviour::Reply("HTTP/1.0 200 OK\r\nAuth-Status: OK\r\n"));

    let error = authenticate(&service.config(""), &request(1)).await.unwrap_err();

    assert!(matches!(error, AuthHttpError::Truncated { .. }), "{error:?}");
}

#[tokio::test]
async fn invalid_header_is_temporary_failure() {
    let service = Service::start(Behaviour::Reply("HTTP/1.0 200 OK\r\nAuth Status: OK\r\n\r\n"));

    let reply = authenticate(&service.config(""), &request(1)).await.unwrap();

    assert!(matches!(reply, AuthReply::TemporaryFailure { .. }), "{reply:?}");
}

#[tokio::test]
async fn oversized_head_is_rejected() {
    static HUGE: std::sync::LazyLock<&'static str> = std::sync::LazyLock::new(|| {
        let mut reply = String::from("HTTP/1.0 200 OK\r\n");
        while reply.len() < 40 * 1024 {
            reply.push_str("X-Padding: 0123456789012345678901234567890123456789\r\n");
        }
        Box::leak(reply.into_boxed_str())
    });
    let service = Service::start(Behaviour::ReplyAndHold(&HUGE));

    let error = authenticate(&service.config(""), &request(1)).await.unwrap_err();

    assert!(matches!(error, AuthHttpError::ReplyTooLarge { .. }), "{error:?}");
}

#[tokio::test]
async fn connection_refused_names_url() {
    // Bind and drop a listener so that the port is free and refuses connections.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config: AuthHttpConfig = toml::from_str(&format!("url = \"http://127.0.0.1:{port}/auth\"")).unwrap();

    let error = authenticate(&config, &request(1)).await.unwrap_err();

    assert!(matches!(error, AuthHttpError::Connect { .. }), "{error:?}");
    assert!(error.to_string().contains(&format!("http://127.0.0.1:{port}/auth")), "{error}");
}
