//! The request: the same bytes nginx's mail module writes for an IMAP login.
//!
//! Layout, from `ngx_mail_auth_http_create_request` in nginx 1.21.2 and
//! later (1.22 included): request line, `Host`, `Auth-Method`, `Auth-User`,
//! `Auth-Pass`, `Auth-Salt` (challenge methods only), `Auth-Protocol`,
//! `Auth-Login-Attempt`, `Client-IP`, `Client-Host` (nginx sets it for SMTP
//! only), the four `Proxy-Protocol-*` headers (client connection with a PROXY
//! header only), `Auth-SSL: on` with `Auth-SSL-Protocol` and `Auth-SSL-Cipher`
//! (TLS client connection only), the configured extra headers, and an empty
//! line. Every line ends with CRLF.

use std::net::{IpAddr, SocketAddr};

use super::config::{Endpoint, ExtraHeaders};
use crate::session::secret::Secret;

/// The `Auth-Method` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// LOGIN, AUTHENTICATE PLAIN and AUTHENTICATE LOGIN: nginx sends `plain`
    /// for all three, with the cleartext password.
    Plain,
    /// AUTHENTICATE CRAM-MD5: `Auth-Pass` carries the client's digest and
    /// `Auth-Salt` the challenge; the reply must then supply `Auth-Pass`.
    CramMd5,
    /// AUTHENTICATE XOAUTH2, with the token as `Auth-Pass`. nginx has no
    /// such method, so a service written for nginx does not expect it.
    XOAuth2,
    /// AUTHENTICATE OAUTHBEARER, with the token as `Auth-Pass`. nginx has no
    /// such method either.
    OAuthBearer,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Plain => "plain",
            AuthMethod::CramMd5 => "cram-md5",
            AuthMethod::XOAuth2 => "xoauth2",
            AuthMethod::OAuthBearer => "oauthbearer",
        }
    }
}

/// TLS parameters of the client connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsInfo {
    /// Protocol version as OpenSSL names it, e.g. `TLSv1.3`; omitted when empty.
    pub protocol: String,
    /// Cipher suite as OpenSSL names it, e.g. `TLS_AES_256_GCM_SHA384`;
    /// omitted when empty.
    pub cipher: String,
}

/// Addresses from the PROXY protocol header of the client connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyProtocolInfo {
    pub source: SocketAddr,
    pub destination: SocketAddr,
}

/// One login attempt, as the auth service sees it.
#[derive(Clone, Debug)]
pub struct AuthRequest {
    pub method: AuthMethod,
    pub user: String,
    /// Password, digest or token; sent percent-escaped, never logged.
    pub password: Secret,
    /// Challenge of a challenge-response method, without a line ending.
    /// Ignored for [`AuthMethod::Plain`], as nginx does.
    pub salt: Option<String>,
    /// `Auth-Login-Attempt`: 1 for the first login on a connection, then 2, 3...
    pub attempt: u32,
    /// `Client-IP`: the client's address, after any PROXY protocol header has
    /// been applied by the caller.
    pub client_ip: IpAddr,
    /// `Client-Host`: nginx sends it for SMTP only (the reverse DNS name, or
    /// `[UNAVAILABLE]`), so leave it `None` to match nginx for IMAP.
    pub client_host: Option<String>,
    /// TLS parameters when the client connection uses TLS; `None` for plain TCP.
    pub tls: Option<TlsInfo>,
    pub proxy_protocol: Option<ProxyProtocolInfo>,
}

impl AuthRequest {
    /// Whether the request sends `Auth-Salt`, after which nginx requires the
    /// reply to supply the password.
    pub fn sends_salt(&self) -> bool {
        self.method != AuthMethod::Plain && self.salt.as_ref().is_some_and(|salt| !salt.is_empty())
    }

    /// Builds the whole HTTP request. It contains the password, so it is
    /// returned as a [`Secret`].
    pub fn to_bytes(&self, endpoint: &Endpoint, headers: &ExtraHeaders) -> Secret {
        let mut out = Vec::with_capacity(512);

        // Request line and Host, as nginx writes them: HTTP/1.0, no port in Host.
        push_line(&mut out, &["GET ", &endpoint.path, " HTTP/1.0"]);
        push_line(&mut out, &["Host: ", &endpoint.host]);

        // Credentials.
        push_line(&mut out, &["Auth-Method: ", self.method.as_str()]);
        out.extend_from_slice(b"Auth-User: ");
        escape_mail_auth(self.user.as_bytes(), &mut out);
        out.extend_from_slice(b"\r\nAuth-Pass: ");
        escape_mail_auth(self.password.expose(), &mut out);
        out.extend_from_slice(b"\r\n");
        if self.sends_salt() {
            push_line(&mut out, &["Auth-Salt: ", self.salt.as_deref().unwrap_or_default()]);
        }

        // The connection.
        push_line(&mut out, &["Auth-Protocol: imap"]);
        push_line(&mut out, &["Auth-Login-Attempt: ", &self.attempt.to_string()]);
        push_line(&mut out, &["Client-IP: ", &self.client_ip.to_string()]);
        if let Some(host) = self.client_host.as_deref().filter(|host| !host.is_empty()) {
            push_line(&mut out, &["Client-Host: ", host]);
        }
        if let Some(proxy) = &self.proxy_protocol {
            push_line(&mut out, &["Proxy-Protocol-Addr: ", &proxy.source.ip().to_string()]);
            push_line(&mut out, &["Proxy-Protocol-Port: ", &proxy.source.port().to_string()]);
            push_line(&mut out, &["Proxy-Protocol-Server-Addr: ", &proxy.destination.ip().to_string()]);
            push_line(&mut out, &["Proxy-Protocol-Server-Port: ", &proxy.destination.port().to_string()]);
        }
        if let Some(tls) = &self.tls {
            push_line(&mut out, &["Auth-SSL: on"]);
            if !tls.protocol.is_empty() {
                push_line(&mut out, &["Auth-SSL-Protocol: ", &tls.protocol]);
            }
            if !tls.cipher.is_empty() {
                push_line(&mut out, &["Auth-SSL-Cipher: ", &tls.cipher]);
            }
        }

        // Configured headers, then the empty line that ends the request.
        for (name, value) in headers.iter() {
            push_line(&mut out, &[name, ": ", value]);
        }
        out.extend_from_slice(b"\r\n");
        Secret::new(out)
    }
}

fn push_line(out: &mut Vec<u8>, parts: &[&str]) {
    for part in parts {
        out.extend_from_slice(part.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// Percent-escapes bytes 0x00 to 0x20 (controls and space) and `%` with
/// upper-case hex digits, and copies every other byte, 0x7F and 8-bit bytes
/// included. This is nginx's `NGX_ESCAPE_MAIL_AUTH` table.
pub fn escape_mail_auth(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in bytes {
        if byte <= b' ' || byte == b'%' {
            out.extend_from_slice(&[b'%', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0x0f)]]);
        } else {
            out.push(byte);
        }
    }
}
