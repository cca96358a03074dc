//! The `[auth_http]` section and the parsed service URL.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

/// Request headers that imapgate writes itself. Extra headers must not repeat
/// them, because a service would then see two values for one name.
const REQUEST_HEADERS: &[&str] = &[
    "Host",
    "Auth-Method",
    "Auth-User",
    "Auth-Pass",
    "Auth-Salt",
    "Auth-Protocol",
    "Auth-Login-Attempt",
    "Client-IP",
    "Client-Host",
    "Proxy-Protocol-Addr",
    "Proxy-Protocol-Port",
    "Proxy-Protocol-Server-Addr",
    "Proxy-Protocol-Server-Port",
    "Auth-SSL",
    "Auth-SSL-Protocol",
    "Auth-SSL-Cipher",
];

/// Reply headers with a meaning in nginx's protocol; the profile header must
/// be another name.
const REPLY_HEADERS: &[&str] =
    &["Auth-Status", "Auth-Server", "Auth-Port", "Auth-User", "Auth-Pass", "Auth-Wait", "Auth-Error-Code"];

/// The `[auth_http]` section: where to ask which server a login goes to.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthHttpConfig {
    /// URL of the service, `http://host[:port][/path]`; the port defaults to
    /// 80 and the path to `/`. Only plain HTTP is supported, as in nginx.
    pub url: String,
    /// Time limit in seconds for one exchange: connect, send, and read the
    /// reply headers.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Extra request headers, sent in the order written after the protocol's
    /// own headers (nginx's `auth_http_header`).
    #[serde(default)]
    pub headers: ExtraHeaders,
    /// Whether a host name in `Auth-Server` is resolved. nginx accepts only an
    /// IP address there, so the default is `false`.
    #[serde(default)]
    pub resolve_hostnames: bool,
    /// Reply header that names the rule profile for the session.
    #[serde(default = "default_profile_header")]
    pub profile_header: String,
}

fn default_timeout_secs() -> u64 {
    5
}

fn default_profile_header() -> String {
    "Auth-Profile".to_string()
}

impl AuthHttpConfig {
    /// Lists every problem in the section as `(key path, message)`, with key
    /// paths under `place` (e.g. `auth_http.url`).
    pub fn validate(&self, place: &str) -> Vec<(String, String)> {
        let mut problems = Vec::new();

        if let Err(reason) = Endpoint::parse(&self.url) {
            problems.push((format!("{place}.url"), reason));
        }
        if self.timeout_secs == 0 {
            problems.push((format!("{place}.timeout_secs"), "must be at least 1".to_string()));
        }
        for (name, value) in self.headers.iter() {
            if let Some(message) = header_problem(name, value) {
                problems.push((format!("{place}.headers.{name}"), message));
            }
        }
        if let Some(message) = profile_header_problem(&self.profile_header) {
            problems.push((format!("{place}.profile_header"), message));
        }
        problems
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

fn header_problem(name: &str, value: &str) -> Option<String> {
    if !is_token(name) {
        return Some(format!("invalid header name {name:?}: use letters, digits and '-'"));
    }
    if let Some(own) = REQUEST_HEADERS.iter().find(|own| own.eq_ignore_ascii_case(name)) {
        return Some(format!("{own} is a header imapgate sends itself; choose another name"));
    }
    if value.bytes().any(|byte| byte.is_ascii_control() && byte != b'\t') {
        return Some(format!("invalid value {value:?}: control characters such as CR and LF are not allowed"));
    }
    None
}

fn profile_header_problem(name: &str) -> Option<String> {
    if !is_token(name) {
        return Some(format!("invalid header name {name:?}: use letters, digits and '-'"));
    }
    if let Some(own) = REPLY_HEADERS.iter().find(|own| own.eq_ignore_ascii_case(name)) {
        return Some(format!("{own} already has a meaning in the auth_http reply; choose another name"));
    }
    None
}

/// Whether `name` can be a header name that nginx's reply parser also
/// accepts: a letter or digit first, then letters, digits and `-`.
fn is_token(name: &str) -> bool {
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else { return false };
    first.is_ascii_alphanumeric() && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
}

/// Extra request headers in the order the configuration lists them (a TOML
/// table, name → value).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtraHeaders(Vec<(String, String)>);

impl ExtraHeaders {
    pub fn new(headers: Vec<(String, String)>) -> Self {
        ExtraHeaders(headers)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value.as_str()))
    }
}

impl<'de> Deserialize<'de> for ExtraHeaders {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(HeadersVisitor)
    }
}

/// Collects map entries in document order; a `BTreeMap` would sort them.
struct HeadersVisitor;

impl<'de> Visitor<'de> for HeadersVisitor {
    type Value = ExtraHeaders;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a table of header name = \"value\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExtraHeaders, A::Error> {
        let mut headers = Vec::new();
        while let Some((name, value)) = map.next_entry::<String, String>()? {
            headers.push((name, value));
        }
        Ok(ExtraHeaders(headers))
    }
}

/// The parts of the service URL that the request needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Host as written in the URL, with brackets for an IPv6 address. nginx
    /// sends it, without the port, as the `Host` header.
    pub host: String,
    pub port: u16,
    /// Path and query for the request line; `/` when the URL has none.
    pub path: String,
}

impl Endpoint {
    /// Parses `http://host[:port][/path]`.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let scheme_end =
            url.find("://").ok_or_else(|| format!("invalid URL {url:?}: expected http://host:port/path"))?;
        if !url[..scheme_end].eq_ignore_ascii_case("http") {
            return Err(format!("unsupported scheme in {url:?}: only http:// is supported, as in nginx"));
        }
        let rest = &url[scheme_end + 3..];
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        if path.bytes().any(|byte| byte <= b' ' || byte == 0x7f) {
            return Err(format!("invalid URL {url:?}: the path contains a space or a control character"));
        }
        if authority.contains(['@', '?', '#']) {
            return Err(format!(
                "invalid URL {url:?}: expected http://host:port/path without user, query or fragment before the path"
            ));
        }
        let (host, port) = split_host_port(authority).map_err(|reason| format!("invalid URL {url:?}: {reason}"))?;
        Ok(Endpoint { host: host.to_string(), port, path: path.to_string() })
    }

    /// Host to connect to: `host` without IPv6 brackets.
    pub fn connect_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }
}

fn split_host_port(authority: &str) -> Result<(&str, u16), String> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']').ok_or("missing ']' after the IPv6 address")?;
        let address = &authority[1..close];
        if address.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("invalid IPv6 address {address:?}"));
        }
        match &authority[close + 1..] {
            "" => (&authority[..=close], None),
            tail => (&authority[..=close], Some(tail.strip_prefix(':').ok_or("expected ':' after ']'")?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("missing host".to_string());
    }
    if !host.starts_with('[') && !host.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-._".contains(&byte)) {
        return Err(format!("invalid host {host:?}"));
    }
    let port = match port {
        None => 80,
        Some(text) => match text.parse::<u16>() {
            Ok(port) if port > 0 && text.bytes().all(|byte| byte.is_ascii_digit()) => port,
            _ => return Err(format!("invalid port {text:?}: expected 1 to 65535")),
        },
    };
    Ok((host, port))
}
