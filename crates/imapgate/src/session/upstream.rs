//! The connection to the IMAP server: connect, greeting, capabilities,
//! login with the client's credentials, and learning the delimiter.

use std::time::Duration;

use base64::Engine;
use imapgate_proto::classify::{self, ResponseHead, ResponseName, Status};
use imapgate_proto::encode::{self, Grammar, LiteralSupport};
use imapgate_proto::framer::Peer;
use imapgate_proto::scan::{self, StringForm, TokenKind};
use rustls_pki_types::ServerName;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::io::{FramedStream, Read};
use super::secret::Credentials;
use super::stream::Stream;
use crate::relay::capability_names;
use crate::tls::UpstreamTls;

/// Largest response imapgate reads from the server before relaying starts.
const MAX_RESPONSE: usize = 256 * 1024;

/// Tags of commands imapgate sends on its own. Client tags cannot collide
/// with them in flight: these commands finish before relaying starts.
const CAPABILITY_TAG: &str = "imapgate.capability";
const DELIMITER_TAG: &str = "imapgate.delimiter";
const NAMESPACE_TAG: &str = "imapgate.namespace";
const STARTTLS_TAG: &str = "imapgate.starttls";
const ID_TAG: &str = "imapgate.id";

/// A failure to use the upstream.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("connecting to {address} failed: {source}")]
    Connect { address: String, source: std::io::Error },
    #[error("connecting to {address} timed out after {seconds} s")]
    ConnectTimeout { address: String, seconds: u64 },
    #[error("upstream I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("upstream closed the connection")]
    Closed,
    #[error("TLS with upstream {address} failed: {message}")]
    Tls { address: String, message: String },
    #[error("upstream sent an unexpected response: {0}")]
    Protocol(String),
}

/// A connected, not yet authenticated upstream.
pub struct Upstream {
    pub conn: FramedStream,
    pub address: String,
    /// Capabilities from the greeting or a CAPABILITY command, upper-cased.
    pub capabilities: Vec<String>,
}

/// The server's response to the login.
pub enum LoginOutcome {
    /// Logged in. `reply` is the server's tagged OK line.
    LoggedIn { reply: Vec<u8>, capabilities: Vec<String> },
    /// Refused. `reply` is the server's tagged NO or BAD line.
    Refused { reply: Vec<u8> },
}

/// How to reach the upstream.
pub struct Target<'a> {
    /// `host:port`.
    pub address: &'a str,
    pub tls: UpstreamTls,
    /// Required unless `tls` is `None`.
    pub connector: Option<&'a TlsConnector>,
    /// Name checked in the server's certificate and sent as SNI.
    pub server_name: Option<ServerName<'static>>,
    /// Bytes sent before anything else (a PROXY protocol header).
    pub preamble: Option<Vec<u8>>,
}

/// Connects to the target (TLS as configured) and reads the greeting and
/// capabilities.
pub async fn connect(target: &Target<'_>, timeout: Duration) -> Result<Upstream, UpstreamError> {
    let address = target.address;
    let timed_out = || UpstreamError::ConnectTimeout { address: address.to_string(), seconds: timeout.as_secs() };
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(address)).await {
        Err(_) => return Err(timed_out()),
        Ok(Err(source)) => return Err(UpstreamError::Connect { address: address.to_string(), source }),
        Ok(Ok(stream)) => stream,
    };
    stream.set_nodelay(true)?;
    let mut stream = Stream::Plain(stream);
    if let Some(preamble) = &target.preamble {
        stream.write_all(preamble).await?;
    }
    if target.tls == UpstreamTls::Implicit {
        stream = tokio::time::timeout(timeout, handshake(target, stream)).await.map_err(|_| timed_out())??;
    }
    let mut conn = FramedStream::new(stream, Peer::Server);

    let greeting = tokio::time::timeout(timeout, read_response(&mut conn)).await.map_err(|_| timed_out())??;
    match classify::classify_response(&greeting) {
        Some(ResponseHead::Untagged { name: ResponseName::Condition(Status::Ok), .. }) => {}
        _ => return Err(UpstreamError::Protocol(format!("greeting is not `* OK`: {}", shown(&greeting)))),
    }
    let mut upstream = Upstream { conn, address: address.to_string(), capabilities: capability_names(&greeting) };

    if target.tls == UpstreamTls::Starttls {
        tokio::time::timeout(timeout, upstream.starttls(target)).await.map_err(|_| timed_out())??;
        // Capabilities from before TLS must not be trusted.
        upstream.capabilities.clear();
    }
    if upstream.capabilities.is_empty() {
        upstream.capabilities = upstream.ask_capabilities().await?;
    }
    Ok(upstream)
}

/// Runs the TLS handshake as a client on a plain stream.
async fn handshake(target: &Target<'_>, mut stream: Stream) -> Result<Stream, UpstreamError> {
    let tls_error = |message: String| UpstreamError::Tls { address: target.address.to_string(), message };
    let connector = target.connector.ok_or_else(|| tls_error("no TLS connector configured".into()))?;
    let name = target.server_name.clone().ok_or_else(|| tls_error("no TLS server name configured".into()))?;
    let tcp = stream.take_plain().ok_or_else(|| tls_error("the connection already uses TLS".into()))?;
    match connector.connect(name, tcp).await {
        Ok(tls) => Ok(Stream::ClientTls(Box::new(tls))),
        Err(error) => Err(tls_error(error.to_string())),
    }
}

impl Upstream {
    /// Upgrades the connection with STARTTLS.
    async fn starttls(&mut self, target: &Target<'_>) -> Result<(), UpstreamError> {
        self.conn.write_all(format!("{STARTTLS_TAG} STARTTLS\r\n").as_bytes()).await?;
        loop {
            let response = read_response(&mut self.conn).await?;
            if let Some(ResponseHead::Tagged { tag, status, .. }) = classify::classify_response(&response) {
                if tag != STARTTLS_TAG.as_bytes() {
                    continue;
                }
                if status != Status::Ok {
                    return Err(UpstreamError::Tls {
                        address: self.address.clone(),
                        message: format!("the server refused STARTTLS: {}", shown(&response)),
                    });
                }
                break;
            }
        }
        let plain = std::mem::replace(&mut self.conn.stream, Stream::Taken);
        let tls = handshake(target, plain).await?;
        self.conn.restart(tls);
        Ok(())
    }

    /// Sends `ID` with `fields` and waits for its completion; the server's
    /// answer is not used.
    pub async fn send_id(&mut self, fields: &[(String, String)]) -> Result<(), UpstreamError> {
        let literals = Self::literal_support(&self.capabilities);
        let mut command = format!("{ID_TAG} ID (").into_bytes();
        for (index, (key, value)) in fields.iter().enumerate() {
            if index > 0 {
                command.push(b' ');
            }
            for (position, text) in [key, value].into_iter().enumerate() {
                if position > 0 {
                    command.push(b' ');
                }
                // Quoted, or a literal for bytes a quoted string cannot hold.
                command.extend_from_slice(&encode::encode_string(
                    text.as_bytes(),
                    StringForm::Quoted,
                    Grammar::Astring,
                    literals,
                    false,
                ));
            }
        }
        command.extend_from_slice(b")\r\n");
        self.send_with_literals(&command).await?;
        loop {
            let response = read_response(&mut self.conn).await?;
            if is_tagged(&response, ID_TAG) {
                return Ok(());
            }
        }
    }

    fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|known| known == capability)
    }

    /// What literals the server accepts without a continuation request.
    pub fn literal_support(capabilities: &[String]) -> LiteralSupport {
        if capabilities.iter().any(|known| known == "LITERAL+") {
            LiteralSupport::NonSyncAny
        } else if capabilities.iter().any(|known| known == "LITERAL-") {
            LiteralSupport::NonSyncUpTo4096
        } else {
            LiteralSupport::Synchronizing
        }
    }

    async fn ask_capabilities(&mut self) -> Result<Vec<String>, UpstreamError> {
        self.conn.write_all(format!("{CAPABILITY_TAG} CAPABILITY\r\n").as_bytes()).await?;
        let mut capabilities = Vec::new();
        loop {
            let response = read_response(&mut self.conn).await?;
            if response.len() > 13 && response[..13].eq_ignore_ascii_case(b"* CAPABILITY ") {
                capabilities = capability_names(&response);
            }
            if is_tagged(&response, CAPABILITY_TAG) {
                return Ok(capabilities);
            }
        }
    }

    /// Logs in with the client's credentials under the client's tag:
    /// AUTHENTICATE PLAIN when the server offers it with SASL-IR, else LOGIN.
    pub async fn login(&mut self, tag: &[u8], credentials: &Credentials) -> Result<LoginOutcome, UpstreamError> {
        let mut command = tag.to_vec();
        if let Some(oauth) = &credentials.oauth {
            // The client's OAuth response goes to the server unchanged.
            command.extend_from_slice(format!(" AUTHENTICATE {}", oauth.mechanism).as_bytes());
            if self.has("SASL-IR") {
                command.push(b' ');
                command.extend_from_slice(oauth.response.expose());
                command.extend_from_slice(b"\r\n");
                self.conn.write_all(&command).await?;
            } else {
                command.extend_from_slice(b"\r\n");
                self.conn.write_all(&command).await?;
                let response = read_response(&mut self.conn).await?;
                if !response.starts_with(b"+") {
                    return Ok(LoginOutcome::Refused { reply: response });
                }
                let mut line = oauth.response.expose().to_vec();
                line.extend_from_slice(b"\r\n");
                self.conn.write_all(&line).await?;
            }
        } else if self.has("AUTH=PLAIN") && self.has("SASL-IR") {
            let payload = credentials.plain_payload();
            command.extend_from_slice(b" AUTHENTICATE PLAIN ");
            command.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(payload.expose()).as_bytes());
            command.extend_from_slice(b"\r\n");
            self.conn.write_all(&command).await?;
        } else {
            let literals = Self::literal_support(&self.capabilities);
            command.extend_from_slice(b" LOGIN ");
            command.extend_from_slice(&encode::encode_string(
                credentials.user.as_bytes(),
                StringForm::Quoted,
                Grammar::Astring,
                literals,
                false,
            ));
            command.push(b' ');
            command.extend_from_slice(&encode::encode_string(
                credentials.password.expose(),
                StringForm::Quoted,
                Grammar::Astring,
                literals,
                false,
            ));
            command.extend_from_slice(b"\r\n");
            self.send_with_literals(&command).await?;
        }

        let mut capabilities = Vec::new();
        loop {
            let response = read_response(&mut self.conn).await?;
            if response.len() > 13 && response[..13].eq_ignore_ascii_case(b"* CAPABILITY ") {
                capabilities = capability_names(&response);
                continue;
            }
            match classify::classify_response(&response) {
                Some(ResponseHead::Tagged { tag: got, status, .. }) if got == tag => {
                    if status != Status::Ok {
                        return Ok(LoginOutcome::Refused { reply: response });
                    }
                    let from_code = capability_names(&response);
                    if !from_code.is_empty() {
                        capabilities = from_code;
                    }
                    if capabilities.is_empty() {
                        capabilities = self.ask_capabilities().await?;
                    }
                    self.capabilities = capabilities.clone();
                    return Ok(LoginOutcome::LoggedIn { reply: response, capabilities });
                }
                Some(ResponseHead::Continuation) if credentials.oauth.is_some() => {
                    // An OAuth failure comes as `+ <error>`; an empty line
                    // ends the exchange, and the tagged NO follows.
                    self.conn.write_all(b"\r\n").await?;
                }
                Some(ResponseHead::Continuation) => {
                    return Err(UpstreamError::Protocol("unexpected continuation request during login".into()));
                }
                _ => {}
            }
        }
    }

    /// Sends a command whose synchronizing literals each wait for `+`.
    async fn send_with_literals(&mut self, command: &[u8]) -> Result<(), UpstreamError> {
        let mut parts = crate::relay::split_at_sync_literals(command);
        while let Some(part) = parts.pop_front() {
            self.conn.write_all(&part).await?;
            if parts.is_empty() {
                break;
            }
            let response = read_response(&mut self.conn).await?;
            if !response.starts_with(b"+") {
                return Err(UpstreamError::Protocol(format!(
                    "expected a continuation request, got {}",
                    shown(&response)
                )));
            }
        }
        Ok(())
    }

    /// Learns the server's hierarchy: NAMESPACE when offered (prefixes and
    /// the personal namespace's delimiter), else `LIST "" ""` (delimiter only).
    pub async fn learn_hierarchy(&mut self) -> Result<Hierarchy, UpstreamError> {
        if self.has("NAMESPACE") {
            let namespaces = self.ask_namespaces().await?;
            if let Some(first) = namespaces.first() {
                return Ok(Hierarchy {
                    delimiter: first.delimiter,
                    prefixes: namespaces.iter().map(|n| n.prefix.clone()).collect(),
                });
            }
        }
        Ok(Hierarchy { delimiter: self.ask_list_delimiter().await?, prefixes: Vec::new() })
    }

    async fn ask_namespaces(&mut self) -> Result<Vec<Namespace>, UpstreamError> {
        self.conn.write_all(format!("{NAMESPACE_TAG} NAMESPACE\r\n").as_bytes()).await?;
        let mut namespaces = Vec::new();
        loop {
            let response = read_response(&mut self.conn).await?;
            match classify::classify_response(&response) {
                Some(ResponseHead::Untagged { name: ResponseName::Namespace, args_at, .. }) => {
                    namespaces = parse_namespaces(&response, args_at).ok_or_else(|| {
                        UpstreamError::Protocol(format!("invalid NAMESPACE response: {}", shown(&response)))
                    })?;
                }
                Some(ResponseHead::Tagged { tag, status, .. }) if tag == NAMESPACE_TAG.as_bytes() => {
                    if status != Status::Ok {
                        return Err(UpstreamError::Protocol(format!("NAMESPACE failed: {}", shown(&response))));
                    }
                    return Ok(namespaces);
                }
                _ => {}
            }
        }
    }

    /// Asks `LIST "" ""` for the hierarchy delimiter; `None` for a flat
    /// namespace.
    async fn ask_list_delimiter(&mut self) -> Result<Option<char>, UpstreamError> {
        self.conn.write_all(format!("{DELIMITER_TAG} LIST \"\" \"\"\r\n").as_bytes()).await?;
        let mut delimiter = None;
        loop {
            let response = read_response(&mut self.conn).await?;
            match classify::classify_response(&response) {
                Some(ResponseHead::Untagged { name: ResponseName::List, args_at, .. }) => {
                    delimiter = list_delimiter(&response, args_at);
                }
                Some(ResponseHead::Tagged { tag, status, .. }) if tag == DELIMITER_TAG.as_bytes() => {
                    if status != Status::Ok {
                        return Err(UpstreamError::Protocol(format!("LIST \"\" \"\" failed: {}", shown(&response))));
                    }
                    return Ok(delimiter);
                }
                _ => {}
            }
        }
    }
}

/// The server's hierarchy as learned after login.
#[derive(Clone, Debug, Default)]
pub struct Hierarchy {
    pub delimiter: Option<char>,
    /// Namespace prefixes (personal, other users', shared), decoded; empty
    /// when the server does not support NAMESPACE.
    pub prefixes: Vec<String>,
}

/// One namespace of a NAMESPACE response.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Namespace {
    prefix: String,
    delimiter: Option<char>,
}

/// Parses `* NAMESPACE (("INBOX." ".")) NIL (("" "/"))` into its
/// namespaces, personal ones first (RFC 2342).
fn parse_namespaces(response: &[u8], args_at: usize) -> Option<Vec<Namespace>> {
    let tokens = scan::tokenize(response, args_at).ok()?;
    let mut namespaces = Vec::new();
    let mut depth = 0usize;
    let mut fields: Vec<Option<Vec<u8>>> = Vec::new();
    for token in &tokens {
        match token.kind {
            TokenKind::ListOpen => {
                depth += 1;
                if depth == 2 {
                    fields.clear();
                }
            }
            TokenKind::ListClose => {
                if depth == 2 {
                    let prefix = fields.first()?.clone()?;
                    let delimiter =
                        fields.get(1)?.as_ref().and_then(|value| std::str::from_utf8(value).ok()?.chars().next());
                    let prefix = imapgate_proto::mutf7::decode(&prefix)
                        .unwrap_or_else(|_| String::from_utf8_lossy(&prefix).into_owned());
                    namespaces.push(Namespace { prefix, delimiter });
                }
                depth = depth.checked_sub(1)?;
            }
            TokenKind::Nil if depth == 2 => fields.push(None),
            TokenKind::String(_) if depth == 2 => fields.push(Some(scan::string_value(response, token)?.into_owned())),
            _ => {}
        }
    }
    Some(namespaces)
}

/// Reads one response message.
async fn read_response(conn: &mut FramedStream) -> Result<Vec<u8>, UpstreamError> {
    match conn.read_message(MAX_RESPONSE).await? {
        Read::Message(message) => Ok(message),
        Read::TooLarge(_) => Err(UpstreamError::Protocol(format!("response larger than {MAX_RESPONSE} bytes"))),
        Read::Closed => Err(UpstreamError::Closed),
    }
}

fn is_tagged(response: &[u8], tag: &str) -> bool {
    matches!(classify::classify_response(response), Some(ResponseHead::Tagged { tag: got, .. }) if got == tag.as_bytes())
}

/// The delimiter field of a `* LIST (attributes) delimiter name` response.
fn list_delimiter(response: &[u8], args_at: usize) -> Option<char> {
    let tokens = scan::tokenize(response, args_at).ok()?;
    let close = tokens.iter().position(|token| token.kind == TokenKind::ListClose)?;
    let token = tokens.get(close + 1)?;
    let value = scan::string_value(response, token)?;
    std::str::from_utf8(&value).ok()?.chars().next()
}

/// Up to 100 bytes of a response, escaped, for error messages.
pub fn shown(bytes: &[u8]) -> String {
    bytes.iter().take(100).flat_map(|byte| std::ascii::escape_default(*byte)).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_personal_first() {
        let response = b"* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"#shared/\" \"/\") (\"\" NIL))\r\n";
        let namespaces = parse_namespaces(response, 11).unwrap();
        assert_eq!(namespaces[0], Namespace { prefix: "INBOX.".into(), delimiter: Some('.') });
        assert_eq!(namespaces[1], Namespace { prefix: "#shared/".into(), delimiter: Some('/') });
        assert_eq!(namespaces[2], Namespace { prefix: String::new(), delimiter: None });
    }

    #[test]
    fn namespace_all_nil() {
        assert_eq!(parse_namespaces(b"* NAMESPACE NIL NIL NIL\r\n", 11).unwrap(), Vec::new());
    }

    #[test]
    fn list_delimiter_quoted_and_nil() {
        assert_eq!(list_delimiter(b"* LIST (\\Noselect) \".\" \"\"\r\n", 6), Some('.'));
        assert_eq!(list_delimiter(b"* LIST (\\Noselect) NIL \"\"\r\n", 6), None);
    }
}
