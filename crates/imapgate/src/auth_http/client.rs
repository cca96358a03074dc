//! One exchange with the auth service over HTTP/1.0.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

use super::config::{AuthHttpConfig, Endpoint};
use super::reply::{AuthReply, Decision, Head, decide, parse_head};
use super::request::AuthRequest;

/// Largest reply head (status line and headers) read from the service.
pub const MAX_REPLY_HEAD: usize = 16 * 1024;

/// A failed exchange with the auth service. The session answers the client
/// with a temporary failure, as nginx does.
#[derive(Debug, thiserror::Error)]
pub enum AuthHttpError {
    #[error("invalid auth_http url: {0}")]
    InvalidUrl(String),
    #[error("connecting to auth_http service {url} failed: {source}")]
    Connect { url: String, source: io::Error },
    #[error("sending the request to auth_http service {url} failed: {source}")]
    Send { url: String, source: io::Error },
    #[error("reading the reply of auth_http service {url} failed: {source}")]
    Receive { url: String, source: io::Error },
    #[error("auth_http service {url} timed out after {seconds} s while {step}")]
    Timeout { url: String, seconds: u64, step: &'static str },
    #[error("auth_http service {url} sent more than {MAX_REPLY_HEAD} bytes without ending its headers")]
    ReplyTooLarge { url: String },
    #[error("auth_http service {url} closed the connection before the end of its reply headers")]
    Truncated { url: String },
}

/// Asks the auth service about one login attempt: connects, sends the
/// request, reads up to the end of the reply headers and decides like nginx.
/// The whole exchange, including the lookup of a host name in
/// `Auth-Server`, shares one `timeout_secs` budget.
pub async fn authenticate(config: &AuthHttpConfig, request: &AuthRequest) -> Result<AuthReply, AuthHttpError> {
    let endpoint = Endpoint::parse(&config.url).map_err(AuthHttpError::InvalidUrl)?;
    let deadline = Instant::now() + config.timeout();
    let url = config.url.as_str();
    let timed_out =
        |step: &'static str| AuthHttpError::Timeout { url: url.to_string(), seconds: config.timeout_secs, step };

    // Connect and send.
    let mut stream = timeout_at(deadline, TcpStream::connect((endpoint.connect_host(), endpoint.port)))
        .await
        .map_err(|_| timed_out("connecting"))?
        .map_err(|source| AuthHttpError::Connect { url: url.to_string(), source })?;
    let bytes = request.to_bytes(&endpoint, &config.headers);
    timeout_at(deadline, stream.write_all(bytes.expose()))
        .await
        .map_err(|_| timed_out("sending the request"))?
        .map_err(|source| AuthHttpError::Send { url: url.to_string(), source })?;
    tracing::debug!(url, user = %request.user, attempt = request.attempt, "auth_http request sent");

    // Read until the headers end; the body and the rest of the stream are ignored.
    let reply =
        timeout_at(deadline, read_head(&mut stream, url)).await.map_err(|_| timed_out("reading the reply"))??;
    drop(stream);
    let decision = match parse_head(&reply) {
        Head::Complete(headers) => decide(&headers, request, &config.profile_header, config.resolve_hostnames),
        Head::Invalid(reason) => {
            Decision::Reply(AuthReply::TemporaryFailure { reason: format!("invalid reply headers: {reason}") })
        }
        Head::Incomplete => return Err(AuthHttpError::Truncated { url: url.to_string() }),
    };

    let reply = match decision {
        Decision::Reply(reply) => reply,
        Decision::Resolve { host, port, user, password, profile } => {
            let resolved = timeout_at(deadline, tokio::net::lookup_host((host.as_str(), port)))
                .await
                .map_err(|_| timed_out("resolving Auth-Server"))?;
            match resolved.map(|mut addresses| addresses.next()) {
                Ok(Some(address)) => AuthReply::Route { address, user, password, profile },
                Ok(None) => unresolved(&host, "no address found"),
                Err(error) => unresolved(&host, &error.to_string()),
            }
        }
    };
    log_reply(url, &reply);
    Ok(reply)
}

/// Reads until the reply head is complete or invalid, or the service closes
/// the connection (the caller then finds the head incomplete).
async fn read_head(stream: &mut TcpStream, url: &str) -> Result<Vec<u8>, AuthHttpError> {
    let mut reply = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let room = MAX_REPLY_HEAD - reply.len();
        if room == 0 {
            return Err(AuthHttpError::ReplyTooLarge { url: url.to_string() });
        }
        let read = stream
            .read(&mut chunk[..room.min(4096)])
            .await
            .map_err(|source| AuthHttpError::Receive { url: url.to_string(), source })?;
        if read == 0 {
            return Ok(reply);
        }
        reply.extend_from_slice(&chunk[..read]);
        if parse_head(&reply) != Head::Incomplete {
            return Ok(reply);
        }
    }
}

fn unresolved(host: &str, reason: &str) -> AuthReply {
    AuthReply::TemporaryFailure { reason: format!("resolving Auth-Server {host:?} failed: {reason}") }
}

fn log_reply(url: &str, reply: &AuthReply) {
    match reply {
        AuthReply::Route { address, user, profile, .. } => {
            tracing::debug!(url, %address, user, profile = profile.as_deref(), "auth_http route")
        }
        AuthReply::Refused { message, wait } => tracing::debug!(url, message, ?wait, "auth_http refused the login"),
        AuthReply::Retry { wait } => tracing::debug!(url, ?wait, "auth_http asked to retry"),
        AuthReply::TemporaryFailure { reason } => tracing::warn!(url, reason, "auth_http reply unusable"),
    }
}
