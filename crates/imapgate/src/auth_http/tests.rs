use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::*;
use crate::session::secret::Secret;

fn config(toml_text: &str) -> AuthHttpConfig {
    toml::from_str(toml_text).expect("valid [auth_http] section")
}

fn plain_request(user: &str, password: &[u8]) -> AuthRequest {
    AuthRequest {
        method: AuthMethod::Plain,
        user: user.to_string(),
        password: Secret::new(password.to_vec()),
        salt: None,
        attempt: 1,
        client_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 42)),
        client_host: None,
        tls: None,
        proxy_protocol: None,
    }
}

fn endpoint() -> Endpoint {
    Endpoint::parse("http://127.0.0.1:9000/auth").unwrap()
}

fn request_text(request: &AuthRequest, headers: &ExtraHeaders) -> String {
    String::from_utf8(request.to_bytes(&endpoint(), headers).expose().to_vec()).unwrap()
}

fn decide_text(reply: &str, request: &AuthRequest, resolve_hostnames: bool) -> Decision {
    match parse_head(reply.as_bytes()) {
        Head::Complete(headers) => decide(&headers, request, "Auth-Profile", resolve_hostnames),
        other => panic!("reply head not complete: {other:?}"),
    }
}

fn reply_of(reply: &str) -> AuthReply {
    match decide_text(reply, &plain_request("user one", b"p%ss w"), false) {
        Decision::Reply(reply) => reply,
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn failure_reason(reply: &str) -> String {
    match reply_of(reply) {
        AuthReply::TemporaryFailure { reason } => reason,
        other => panic!("expected a temporary failure, got {other:?}"),
    }
}

// Request bytes

#[test]
fn request_matches_nginx_bytes() {
    let text = request_text(&plain_request("user one", b"p%ss w"), &ExtraHeaders::default());
    assert_eq!(
        text,
        "GET /auth HTTP/1.0\r\n\
         Host: 127.0.0.1\r\n\
         Auth-Method: plain\r\n\
         Auth-User: user%20one\r\n\
         Auth-Pass: p%25ss%20w\r\n\
         Auth-Protocol: imap\r\n\
         Auth-Login-Attempt: 1\r\n\
         Client-IP: 192.0.2.42\r\n\
         \r\n"
    );
}

#[test]
fn escape_covers_controls_space_and_percent_only() {
    for byte in 0..=255u8 {
        let mut out = Vec::new();
        escape_mail_auth(&[byte], &mut out);
        if byte <= 0x20 || byte == b'%' {
            assert_eq!(out, format!("%{byte:02X}").into_bytes(), "byte {byte:#04x}");
        } else {
            assert_eq!(out, vec![byte], "byte {byte:#04x}");
        }
    }
}

#[test]
fn escape_uses_upper_case_hex() {
    let mut out = Vec::new();
    escape_mail_auth(b"a\r\n\x1f\x7f\xe9%", &mut out);
    assert_eq!(out, b"a%0D%0A%1F\x7f\xe9%25");
}

#[test]
fn request_escapes_user_and_password_bytes() {
    let request = plain_request("tab\there", b"nul\0cr\rlf\n");
    let text = request_text(&request, &ExtraHeaders::default());
    assert!(text.contains("Auth-User: tab%09here\r\n"), "{text}");
    assert!(text.contains("Auth-Pass: nul%00cr%0Dlf%0A\r\n"), "{text}");
}

#[test]
fn request_extra_headers_follow_protocol_headers() {
    let headers = ExtraHeaders::new(vec![
        ("X-Zeta".to_string(), "last letter".to_string()),
        ("X-Auth-Key".to_string(), "secret_string".to_string()),
    ]);
    let mut request = plain_request("alice", b"pw");
    request.attempt = 3;
    request.tls = Some(TlsInfo { protocol: "TLSv1.3".to_string(), cipher: "TLS_AES_256_GCM_SHA384".to_string() });
    let text = request_text(&request, &headers);
    assert!(
        text.ends_with(
            "Auth-Login-Attempt: 3\r\n\
             Client-IP: 192.0.2.42\r\n\
             Auth-SSL: on\r\n\
             Auth-SSL-Protocol: TLSv1.3\r\n\
             Auth-SSL-Cipher: TLS_AES_256_GCM_SHA384\r\n\
             X-Zeta: last letter\r\n\
             X-Auth-Key: secret_string\r\n\
             \r\n"
        ),
        "{text}"
    );
}

#[test]
fn request_without_tls_has_no_auth_ssl() {
    let text = request_text(&plain_request("alice", b"pw"), &ExtraHeaders::default());
    assert!(!text.contains("Auth-SSL"), "{text}");
}

#[test]
fn request_omits_empty_tls_fields() {
    let mut request = plain_request("alice", b"pw");
    request.tls = Some(TlsInfo { protocol: String::new(), cipher: String::new() });
    let text = request_text(&request, &ExtraHeaders::default());
    assert!(text.ends_with("Client-IP: 192.0.2.42\r\nAuth-SSL: on\r\n\r\n"), "{text}");
}

#[test]
fn request_proxy_protocol_headers_before_tls() {
    let mut request = plain_request("alice", b"pw");
    request.client_ip = "2001:db8::7".parse().unwrap();
    request.client_host = Some("client.example.org".to_string());
    request.proxy_protocol = Some(ProxyProtocolInfo {
        source: "[2001:db8::7]:50000".parse().unwrap(),
        destination: "198.51.100.1:993".parse().unwrap(),
    });
    request.tls = Some(TlsInfo { protocol: "TLSv1.2".to_string(), cipher: String::new() });
    let text = request_text(&request, &ExtraHeaders::default());
    assert!(
        text.ends_with(
            "Client-IP: 2001:db8::7\r\n\
             Client-Host: client.example.org\r\n\
             Proxy-Protocol-Addr: 2001:db8::7\r\n\
             Proxy-Protocol-Port: 50000\r\n\
             Proxy-Protocol-Server-Addr: 198.51.100.1\r\n\
             Proxy-Protocol-Server-Port: 993\r\n\
             Auth-SSL: on\r\n\
             Auth-SSL-Protocol: TLSv1.2\r\n\
             \r\n"
        ),
        "{text}"
    );
}

#[test]
fn request_salt_only_for_challenge_methods() {
    let mut request = plain_request("alice", b"pw");
    request.salt = Some("<1896.697170952@imapgate>".to_string());
    let plain = request_text(&request, &ExtraHeaders::default());
    assert!(!plain.contains("Auth-Salt"), "{plain}");

    request.method = AuthMethod::CramMd5;
    let cram = request_text(&request, &ExtraHeaders::default());
    assert!(
        cram.contains(
            "Auth-Method: cram-md5\r\nAuth-User: alice\r\nAuth-Pass: pw\r\n\
             Auth-Salt: <1896.697170952@imapgate>\r\nAuth-Protocol: imap\r\n"
        ),
        "{cram}"
    );
}

#[test]
fn request_method_names() {
    assert_eq!(AuthMethod::Plain.as_str(), "plain");
    assert_eq!(AuthMethod::CramMd5.as_str(), "cram-md5");
    assert_eq!(AuthMethod::XOAuth2.as_str(), "xoauth2");
    assert_eq!(AuthMethod::OAuthBearer.as_str(), "oauthbearer");
}

#[test]
fn request_host_header_has_no_port() {
    let endpoint = Endpoint::parse("http://[::1]:8080/mail/auth?x=1").unwrap();
    let bytes = plain_request("a", b"b").to_bytes(&endpoint, &ExtraHeaders::default());
    let text = String::from_utf8(bytes.expose().to_vec()).unwrap();
    assert!(text.starts_with("GET /mail/auth?x=1 HTTP/1.0\r\nHost: [::1]\r\n"), "{text}");
}

#[test]
fn request_debug_hides_password() {
    let request = plain_request("alice", b"hunter2");
    let debug_text = format!("{request:?}");
    assert!(!debug_text.contains("hunter2"), "{debug_text}");
    assert!(debug_text.contains("alice"), "{debug_text}");
}

// Configuration

#[test]
fn config_defaults() {
    let config = config(r#"url = "http://127.0.0.1:9000/auth""#);
    assert_eq!(config.timeout_secs, 5);
    assert_eq!(config.headers, ExtraHeaders::default());
    assert!(!config.resolve_hostnames);
    assert_eq!(config.profile_header, "Auth-Profile");
    assert!(config.validate("auth_http").is_empty());
}

#[test]
fn config_keeps_header_order() {
    let config = config(
        r#"
        url = "http://127.0.0.1:9000/auth"
        [headers]
        X-Zeta = "1"
        X-Alpha = "2"
        X-Middle = "3"
        "#,
    );
    let names: Vec<&str> = config.headers.iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["X-Zeta", "X-Alpha", "X-Middle"]);
}

#[test]
fn config_rejects_unknown_keys() {
    let error = toml::from_str::<AuthHttpConfig>("url = \"http://a/\"\npass_client_cert = true").unwrap_err();
    assert!(error.to_string().contains("pass_client_cert"), "{error}");
}

#[test]
fn config_validate_lists_every_problem() {
    let config = config(
        r#"
        url = "https://auth.example.org/auth"
        timeout_secs = 0
        profile_header = "Auth-Server"
        [headers]
        "Bad Name" = "x"
        X-Split = "a\r\nInjected: yes"
        Auth-User = "spoof"
        "#,
    );
    let problems = config.validate("auth_http");
    let places: Vec<&str> = problems.iter().map(|(place, _)| place.as_str()).collect();
    assert_eq!(
        places,
        [
            "auth_http.url",
            "auth_http.timeout_secs",
            "auth_http.headers.Bad Name",
            "auth_http.headers.X-Split",
            "auth_http.headers.Auth-User",
            "auth_http.profile_header",
        ]
    );
    assert!(problems[0].1.contains("only http://"), "{}", problems[0].1);
    assert!(problems[3].1.contains("control characters"), "{}", problems[3].1);
    assert!(problems[4].1.contains("sends itself"), "{}", problems[4].1);
}

#[test]
fn endpoint_defaults_port_and_path() {
    assert_eq!(
        Endpoint::parse("http://auth.example.org").unwrap(),
        Endpoint { host: "auth.example.org".to_string(), port: 80, path: "/".to_string() }
    );
    assert_eq!(
        Endpoint::parse("HTTP://10.0.0.1:8080/a/b").unwrap(),
        Endpoint { host: "10.0.0.1".to_string(), port: 8080, path: "/a/b".to_string() }
    );
    let v6 = Endpoint::parse("http://[::1]/").unwrap();
    assert_eq!(v6.host, "[::1]");
    assert_eq!(v6.connect_host(), "::1");
    assert_eq!(v6.port, 80);
}

#[test]
fn endpoint_rejects_bad_urls() {
    for url in [
        "127.0.0.1:9000/auth",
        "https://auth.example.org/",
        "http://:80/",
        "http://host:0/",
        "http://host:65536/",
        "http://host:+80/",
        "http://user@host/",
        "http://host/a b",
        "http://[::1/",
        "http://[zz]/",
    ] {
        assert!(Endpoint::parse(url).is_err(), "{url} was accepted");
    }
}

// Reply head parsing

#[test]
fn head_ignores_status_code() {
    let reply = reply_of(
        "HTTP/1.0 500 Internal Server Error\r\nAuth-Status: OK\r\nAuth-Server: 10.0.0.5\r\nAuth-Port: 143\r\n\r\nbody",
    );
    assert!(matches!(reply, AuthReply::Route { address, .. } if address == "10.0.0.5:143".parse().unwrap()));
}

#[test]
fn head_without_status_line() {
    let reply = reply_of("Auth-Status: OK\nAuth-Server: 10.0.0.5\nAuth-Port: 143\n\n");
    assert!(matches!(reply, AuthReply::Route { .. }), "{reply:?}");
}

#[test]
fn head_parses_names_and_values() {
    let Head::Complete(headers) =
        parse_head(b"HTTP/1.1 200 OK\r\nX-A:   spaced  value  \r\nX-Empty:\r\nNoColon\r\nX-Tab:\tv\r\n\r\n")
    else {
        panic!("head not complete");
    };
    assert_eq!(
        headers,
        [
            Header { name: b"X-A", value: b"spaced  value" },
            Header { name: b"X-Empty", value: b"" },
            Header { name: b"NoColon", value: b"" },
            Header { name: b"X-Tab", value: b"\tv" },
        ]
    );
}

#[test]
fn head_incomplete_until_empty_line() {
    assert_eq!(parse_head(b""), Head::Incomplete);
    assert_eq!(parse_head(b"HTT"), Head::Incomplete);
    assert_eq!(parse_head(b"HTTP/1.0 200 OK"), Head::Incomplete);
    assert_eq!(parse_head(b"HTTP/1.0 200 OK\r\nAuth-Status: OK\r\n"), Head::Incomplete);
    assert_eq!(parse_head(b"HTTP/1.0 200 OK\r\nAuth-Status: OK\r\n\r"), Head::Incomplete);
    assert!(matches!(parse_head(b"HTTP/1.0 200 OK\r\n\r\n"), Head::Complete(headers) if headers.is_empty()));
}

#[test]
fn head_rejects_invalid_lines() {
    for reply in [
        "HTTP/1.0 200 OK\r\n Auth-Status: OK\r\n\r\n",
        "HTTP/1.0 200 OK\r\nAuth Status: OK\r\n\r\n",
        "HTTP/1.0 200 OK\r\nAuth_Status: OK\r\n\r\n",
        "HTTP/1.0 200 OK\r\nAuth-Status: O\rK\r\n\r\n",
        "HTTP/1.0 200\rOK\r\n\r\n",
    ] {
        assert!(matches!(parse_head(reply.as_bytes()), Head::Invalid(_)), "{reply:?} was accepted");
    }
}

// Reply decisions

#[test]
fn reply_route_keeps_client_credentials() {
    let AuthReply::Route { address, user, password, profile } =
        reply_of("HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 198.51.100.1\r\nAuth-Port: 143\r\n\r\n")
    else {
        panic!("expected a route");
    };
    assert_eq!(address, "198.51.100.1:143".parse::<SocketAddr>().unwrap());
    assert_eq!(user, "user one");
    assert_eq!(password.expose(), b"p%ss w");
    assert_eq!(profile, None);
}

#[test]
fn reply_names_are_case_insensitive() {
    let AuthReply::Route { address, user, password, profile } = reply_of(
        "HTTP/1.0 200 OK\r\nauth-status: OK\r\nAUTH-SERVER: 2001:db8::5\r\nauth-PORT: 993\r\n\
         AUTH-user: bob\r\nauth-pass: other\r\nauth-profile: staff\r\n\r\n",
    ) else {
        panic!("expected a route");
    };
    assert_eq!(address, "[2001:db8::5]:993".parse::<SocketAddr>().unwrap());
    assert_eq!(user, "bob");
    assert_eq!(password.expose(), b"other");
    assert_eq!(profile.as_deref(), Some("staff"));
}

#[test]
fn reply_credentials_are_not_unescaped() {
    let AuthReply::Route { user, password, .. } = reply_of(
        "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 10.0.0.1\r\nAuth-Port: 143\r\n\
         Auth-User: a%20b\r\nAuth-Pass: p%25w\r\n\r\n",
    ) else {
        panic!("expected a route");
    };
    assert_eq!(user, "a%20b");
    assert_eq!(password.expose(), b"p%25w");
}

#[test]
fn reply_profile_header_is_configurable() {
    let reply = "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 10.0.0.1\r\nAuth-Port: 143\r\n\
                 Auth-Profile: ignored\r\nX-Rules: legacy\r\n\r\n";
    let Head::Complete(headers) = parse_head(reply.as_bytes()) else { panic!("head not complete") };
    let decision = decide(&headers, &plain_request("a", b"b"), "x-rules", false);
    let Decision::Reply(AuthReply::Route { profile, .. }) = decision else { panic!("expected a route") };
    assert_eq!(profile.as_deref(), Some("legacy"));
}

#[test]
fn reply_refusal_with_wait() {
    let reply = reply_of("HTTP/1.0 200 OK\r\nAuth-Status: Invalid login or password\r\nAuth-Wait: 3\r\n\r\n");
    let AuthReply::Refused { message, wait } = reply else { panic!("expected a refusal") };
    assert_eq!(message, "Invalid login or password");
    assert_eq!(wait, Some(Duration::from_secs(3)));
}

#[test]
fn reply_refusal_without_usable_wait_closes() {
    for wait_header in
        ["", "Auth-Wait: 0\r\n", "Auth-Wait: soon\r\n", "Auth-Wait: -3\r\n", "Auth-Wait: 99999999999999999999\r\n"]
    {
        let reply = reply_of(&format!("HTTP/1.0 200 OK\r\nAuth-Status: Go away\r\n{wait_header}\r\n"));
        let AuthReply::Refused { message, wait } = reply else { panic!("expected a refusal") };
        assert_eq!(message, "Go away");
        assert_eq!(wait, None, "{wait_header:?}");
    }
}

#[test]
fn reply_invalid_wait_keeps_earlier_value() {
    let reply = reply_of("Auth-Status: No\r\nAuth-Wait: 2\r\nAuth-Wait: x\r\n\r\n");
    assert!(matches!(reply, AuthReply::Refused { wait: Some(wait), .. } if wait == Duration::from_secs(2)));
}

#[test]
fn reply_refusal_wins_over_route_and_wait() {
    let reply = reply_of(
        "HTTP/1.0 200 OK\r\nAuth-Status: WAIT\r\nAuth-Status: Locked\r\nAuth-Status: OK\r\n\
         Auth-Server: 10.0.0.1\r\nAuth-Port: 143\r\n\r\n",
    );
    assert!(matches!(reply, AuthReply::Refused { ref message, .. } if message == "Locked"), "{reply:?}");
}

#[test]
fn reply_wait_status_retries() {
    let reply = reply_of("HTTP/1.0 200 OK\r\nAuth-Status: WAIT\r\nAuth-Wait: 4\r\n\r\n");
    assert!(matches!(reply, AuthReply::Retry { wait } if wait == Duration::from_secs(4)), "{reply:?}");
    let reply = reply_of("HTTP/1.0 200 OK\r\nAuth-Status: WAIT\r\n\r\n");
    assert!(matches!(reply, AuthReply::Retry { wait } if wait.is_zero()), "{reply:?}");
}

#[test]
fn reply_status_is_case_sensitive() {
    let reply = reply_of("HTTP/1.0 200 OK\r\nAuth-Status: ok\r\nAuth-Server: 10.0.0.1\r\nAuth-Port: 143\r\n\r\n");
    assert!(matches!(reply, AuthReply::Refused { ref message, .. } if message == "ok"), "{reply:?}");
}

#[test]
fn reply_missing_server_is_temporary_failure() {
    let reason = failure_reason("HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Port: 143\r\n\r\n");
    assert!(reason.contains("no Auth-Server"), "{reason}");
    let reason = failure_reason("HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server:\r\nAuth-Port: 143\r\n\r\n");
    assert!(reason.contains("no Auth-Server"), "{reason}");
}

#[test]
fn reply_missing_port_is_temporary_failure() {
    let reason = failure_reason("HTTP/1.0 200 OK\r\nAuth-Server: 10.0.0.1\r\n\r\n");
    assert!(reason.contains("no Auth-Port"), "{reason}");
}

#[test]
fn reply_without_status_routes() {
    // nginx needs no Auth-Status at all when server and port are present.
    let reply = reply_of("HTTP/1.0 200 OK\r\nAuth-Server: 10.0.0.1\r\nAuth-Port: 143\r\n\r\n");
    assert!(matches!(reply, AuthReply::Route { .. }), "{reply:?}");
}

#[test]
fn reply_invalid_port_is_temporary_failure() {
    for port in ["imap", "0", "65536", "+143", " 1 43", "14 3"] {
        let reason = failure_reason(&format!(
            "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 10.0.0.1\r\nAuth-Port: {port}\r\n\r\n"
        ));
        assert!(reason.contains("invalid Auth-Port"), "{port:?}: {reason}");
    }
}

#[test]
fn reply_hostname_needs_resolve_hostnames() {
    let reply = "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: imap1.example.org\r\nAuth-Port: 143\r\n\
                 Auth-Profile: staff\r\n\r\n";
    let request = plain_request("alice", b"pw");

    let Decision::Reply(AuthReply::TemporaryFailure { reason }) = decide_text(reply, &request, false) else {
        panic!("expected a temporary failure");
    };
    assert!(reason.contains("resolve_hostnames"), "{reason}");

    let Decision::Resolve { host, port, user, password, profile } = decide_text(reply, &request, true) else {
        panic!("expected a name to resolve");
    };
    assert_eq!((host.as_str(), port), ("imap1.example.org", 143));
    assert_eq!(user, "alice");
    assert_eq!(password.expose(), b"pw");
    assert_eq!(profile.as_deref(), Some("staff"));
}

#[test]
fn reply_invalid_server_is_temporary_failure() {
    for server in ["10.0.0.1:143", "[::1]", "bad host", "a..b"] {
        let reply = format!("HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: {server}\r\nAuth-Port: 143\r\n\r\n");
        let Decision::Reply(AuthReply::TemporaryFailure { reason }) =
            decide_text(&reply, &plain_request("a", b"b"), true)
        else {
            panic!("{server:?} was accepted");
        };
        assert!(reason.contains("invalid Auth-Server"), "{server:?}: {reason}");
    }
}

#[test]
fn reply_error_code_is_ignored() {
    let reply = reply_of("HTTP/1.0 200 OK\r\nAuth-Status: Nope\r\nAuth-Error-Code: 535 5.7.8\r\n\r\n");
    assert!(matches!(reply, AuthReply::Refused { ref message, wait: None } if message == "Nope"), "{reply:?}");
}

#[test]
fn reply_cram_md5_needs_password() {
    let mut request = plain_request("alice", b"digest");
    request.method = AuthMethod::CramMd5;
    request.salt = Some("<1.2@imapgate>".to_string());
    let route = "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 10.0.0.1\r\nAuth-Port: 143\r\n";

    let Decision::Reply(AuthReply::TemporaryFailure { reason }) = decide_text(&format!("{route}\r\n"), &request, false)
    else {
        panic!("expected a temporary failure");
    };
    assert!(reason.contains("no Auth-Pass"), "{reason}");

    let decision = decide_text(&format!("{route}Auth-Pass: cleartext\r\n\r\n"), &request, false);
    let Decision::Reply(AuthReply::Route { password, .. }) = decision else { panic!("expected a route") };
    assert_eq!(password.expose(), b"cleartext");
}

#[test]
fn reply_debug_hides_password() {
    let reply = reply_of("Auth-Server: 10.0.0.1\r\nAuth-Port: 143\r\nAuth-Pass: s3cr3t-value\r\n\r\n");
    let debug_text = format!("{reply:?}");
    assert!(!debug_text.contains("s3cr3t-value"), "{debug_text}");
}

#[test]
fn head_error_hides_header_value() {
    let Head::Invalid(reason) = parse_head(b"HTTP/1.0 200 OK\r\nAuth-Pass: sec\rret\r\n\r\n") else {
        panic!("a CR inside a value was accepted");
    };
    assert!(reason.contains("Auth-Pass"), "{reason}");
    assert!(!reason.contains("sec"), "{reason}");
}
