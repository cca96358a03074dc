//! The reply: header parsing and the decision nginx's mail module takes from
//! it (`ngx_mail_auth_http_process_headers`). The status code and the body
//! are ignored; only headers count.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::request::AuthRequest;
use crate::session::secret::Secret;

/// What the auth service decided for one login attempt.
#[derive(Clone, Debug)]
pub enum AuthReply {
    /// `Auth-Status: OK`: log in to `address` with these credentials, which
    /// are the client's unless the reply replaced them with `Auth-User` or
    /// `Auth-Pass` (taken verbatim; nginx does not unescape them).
    Route { address: SocketAddr, user: String, password: Secret, profile: Option<String> },
    /// Any other `Auth-Status` text, to be sent to the client as
    /// `tag NO <message>`. With `wait`, nginx sends the NO after that delay
    /// and keeps the connection for another try. Without it (no `Auth-Wait`,
    /// `0` or not a number), nginx sends the NO and closes the connection.
    Refused { message: String, wait: Option<Duration> },
    /// `Auth-Status: WAIT`: nginx sends the same request again after `wait`
    /// (`Auth-Wait`, zero when absent) without answering the client.
    Retry { wait: Duration },
    /// A reply nginx treats as an internal error: the client gets a temporary
    /// failure. `reason` names what was missing or invalid.
    TemporaryFailure { reason: String },
}

/// One header line: name and value with the surrounding spaces removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
}

/// State of a reply read so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Head<'a> {
    /// The headers end before the buffer does; what follows is the body.
    Complete(Vec<Header<'a>>),
    /// More bytes are needed to reach the empty line after the headers.
    Incomplete,
    /// The reply breaks nginx's header syntax.
    Invalid(String),
}

/// Parses the status line and the headers of `reply` with nginx's rules:
/// a first line starting with `HTTP/` is skipped whatever its status code
/// (without it, headers start at the first byte); lines end with CRLF or LF;
/// a name is a letter or digit followed by letters, digits and `-`; a line
/// without `:` is a header with an empty value; spaces (not tabs) around the
/// value are dropped; a CR not followed by LF is invalid.
pub fn parse_head(reply: &[u8]) -> Head<'_> {
    let mut at = match skip_status_line(reply) {
        Ok(Some(at)) => at,
        Ok(None) => return Head::Incomplete,
        Err(reason) => return Head::Invalid(reason),
    };

    let mut headers = Vec::new();
    loop {
        let Some(offset) = reply[at..].iter().position(|&byte| byte == b'\n') else {
            return Head::Incomplete;
        };
        let line = &reply[at..at + offset];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        at += offset + 1;

        if line.is_empty() {
            return Head::Complete(headers);
        }
        match parse_header_line(line) {
            Ok(header) => headers.push(header),
            Err(reason) => return Head::Invalid(reason),
        }
    }
}

/// Returns where the headers start, or `None` when the status line is not
/// complete yet.
fn skip_status_line(reply: &[u8]) -> Result<Option<usize>, String> {
    let prefix = b"HTTP/";
    let compared = reply.len().min(prefix.len());
    if reply[..compared] != prefix[..compared] {
        return Ok(Some(0));
    }
    if reply.len() < prefix.len() {
        return Ok(None);
    }
    let Some(end) = reply.iter().position(|&byte| byte == b'\n') else { return Ok(None) };
    let line = &reply[..end];
    if line.strip_suffix(b"\r").unwrap_or(line).contains(&b'\r') {
        return Err("the status line contains a CR that does not end it".to_string());
    }
    Ok(Some(end + 1))
}

/// Splits one header line. An error message shows at most the name part of
/// the line, because a value may be a password.
fn parse_header_line(line: &[u8]) -> Result<Header<'_>, String> {
    let name_end = line.iter().position(|&byte| !(byte.is_ascii_alphanumeric() || byte == b'-')).unwrap_or(line.len());
    let name = &line[..name_end];
    let name_text = String::from_utf8_lossy(name);

    if !line[0].is_ascii_alphanumeric() {
        return Err("a header line does not start with a letter or digit".to_string());
    }
    if line.contains(&b'\r') {
        return Err(format!("header {name_text:?} contains a CR that does not end its line"));
    }
    let rest = &line[name_end..];
    let value = match rest.split_first() {
        None => &rest[..0],
        Some((b':', value)) => trim_spaces(value),
        Some(_) => return Err(format!("header name {name_text:?} is followed by an invalid character")),
    };
    Ok(Header { name, value })
}

fn trim_spaces(value: &[u8]) -> &[u8] {
    let start = value.iter().position(|&byte| byte != b' ').unwrap_or(value.len());
    let end = value.iter().rposition(|&byte| byte != b' ').map_or(start, |at| at + 1);
    &value[start..end]
}

/// The decision before any name lookup: a hostname in `Auth-Server` is only
/// resolved by the caller, which does I/O.
#[derive(Debug)]
pub enum Decision {
    Reply(AuthReply),
    Resolve { host: String, port: u16, user: String, password: Secret, profile: Option<String> },
}

/// Reply headers that matter, the last occurrence of each winning, as in nginx.
#[derive(Default)]
struct Fields<'a> {
    /// Last `Auth-Status` other than `OK` and `WAIT`.
    error: Option<&'a [u8]>,
    /// Whether any `Auth-Status` was `WAIT`.
    wait_status: bool,
    server: Option<&'a [u8]>,
    port: Option<&'a [u8]>,
    user: Option<&'a [u8]>,
    password: Option<&'a [u8]>,
    /// Last `Auth-Wait` that is a number; others are ignored.
    wait_secs: u64,
    profile: Option<&'a [u8]>,
}

impl<'a> Fields<'a> {
    fn collect(headers: &[Header<'a>], profile_header: &str) -> Fields<'a> {
        let mut fields = Fields::default();
        for header in headers {
            let is = |name: &str| header.name.eq_ignore_ascii_case(name.as_bytes());
            if is("Auth-Status") {
                // nginx compares OK and WAIT case-sensitively.
                match header.value {
                    b"OK" => {}
                    b"WAIT" => fields.wait_status = true,
                    text => fields.error = Some(text),
                }
            } else if is("Auth-Server") {
                fields.server = Some(header.value);
            } else if is("Auth-Port") {
                fields.port = Some(header.value);
            } else if is("Auth-User") {
                fields.user = Some(header.value);
            } else if is("Auth-Pass") {
                fields.password = Some(header.value);
            } else if is("Auth-Wait") {
                if let Some(secs) = parse_decimal(header.value) {
                    fields.wait_secs = secs;
                }
            } else if is(profile_header) {
                fields.profile = Some(header.value);
            }
            // Auth-Error-Code is an SMTP reply code in nginx; IMAP ignores it.
        }
        fields
    }
}

/// Digits only, like nginx's `ngx_atoi`: no sign, no spaces, no overflow.
fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Applies nginx's order of checks to the reply headers: an error status
/// first, then `WAIT`, then the route.
pub fn decide(
    headers: &[Header<'_>],
    request: &AuthRequest,
    profile_header: &str,
    resolve_hostnames: bool,
) -> Decision {
    let fields = Fields::collect(headers, profile_header);
    let failure = |reason: String| Decision::Reply(AuthReply::TemporaryFailure { reason });

    if let Some(message) = fields.error {
        let wait = (fields.wait_secs > 0).then(|| Duration::from_secs(fields.wait_secs));
        let message = String::from_utf8_lossy(message).into_owned();
        return Decision::Reply(AuthReply::Refused { message, wait });
    }
    if fields.wait_status {
        return Decision::Reply(AuthReply::Retry { wait: Duration::from_secs(fields.wait_secs) });
    }

    // The route: server, port and credentials.
    let (Some(server), Some(port)) = (fields.server.filter(|v| !v.is_empty()), fields.port.filter(|v| !v.is_empty()))
    else {
        return failure("the reply has Auth-Status OK but no Auth-Server or no Auth-Port".to_string());
    };
    if fields.password.is_none() && request.sends_salt() {
        return failure(format!("the reply to a {} login has no Auth-Pass", request.method.as_str()));
    }
    let server = match std::str::from_utf8(server) {
        Ok(server) => server,
        Err(_) => return failure(format!("invalid Auth-Server {:?}", String::from_utf8_lossy(server))),
    };
    let Some(port) = parse_decimal(port).and_then(|port| u16::try_from(port).ok()).filter(|port| *port > 0) else {
        return failure(format!("invalid Auth-Port {:?}: expected 1 to 65535", String::from_utf8_lossy(port)));
    };
    let user = match fields.user {
        None => request.user.clone(),
        Some(user) => match String::from_utf8(user.to_vec()) {
            Ok(user) => user,
            Err(_) => return failure("Auth-User is not valid UTF-8".to_string()),
        },
    };
    let password = fields.password.map_or_else(|| request.password.clone(), |password| Secret::new(password.to_vec()));
    let profile = fields.profile.filter(|v| !v.is_empty()).map(|v| String::from_utf8_lossy(v).into_owned());

    // nginx accepts only an IP address; a host name needs resolve_hostnames.
    if let Ok(ip) = server.parse::<IpAddr>() {
        return Decision::Reply(AuthReply::Route { address: SocketAddr::new(ip, port), user, password, profile });
    }
    if !is_hostname(server) {
        return failure(format!("invalid Auth-Server {server:?}: expected an IP address or a host name"));
    }
    if !resolve_hostnames {
        return failure(format!(
            "Auth-Server {server:?} is not an IP address; set resolve_hostnames = true in [auth_http] to resolve host names"
        ));
    }
    Decision::Resolve { host: server.to_string(), port, user, password, profile }
}

fn is_hostname(text: &str) -> bool {
    text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
        })
}
