//! Routing of a login: to the static upstream, or to the server an
//! auth_http service names (with credentials and rule profile it may replace).

use std::net::SocketAddr;
use std::time::Duration;

use super::Shared;
use super::secret::Credentials;
use crate::auth_http::{self, AuthMethod, AuthReply, AuthRequest};

/// Attempts at a `WAIT` reply before the login is given up as unavailable.
const MAX_WAIT_RETRIES: u32 = 3;

/// The upstream and identity for one login.
pub struct Route {
    /// `host:port` of the IMAP server.
    pub address: String,
    pub credentials: Credentials,
    /// Name of the `[profiles.NAME]` block whose filters the session uses.
    pub profile: Option<String>,
}

/// Result of routing a login.
pub enum Routing {
    Route(Route),
    /// The auth service refused: `message` is for the client, after `wait`.
    Refused {
        message: String,
        wait: Option<Duration>,
    },
    /// No route could be had; the reason is for the log.
    Unavailable(String),
}

/// Routes a login: through `[auth_http]` when configured, else to the
/// static upstream with the client's own credentials.
pub async fn route(
    shared: &Shared,
    peer: SocketAddr,
    client_tls: bool,
    attempt: u32,
    credentials: Credentials,
) -> Routing {
    let Some(auth) = &shared.config.auth_http else {
        let address = shared.config.upstream.as_ref().expect("validated config has an upstream").address.clone();
        return Routing::Route(Route { address, credentials, profile: None });
    };

    let request = AuthRequest {
        method: match credentials.oauth.as_ref().map(|oauth| oauth.mechanism) {
            Some("XOAUTH2") => AuthMethod::XOAuth2,
            Some(_) => AuthMethod::OAuthBearer,
            None => AuthMethod::Plain,
        },
        user: credentials.user.clone(),
        password: credentials.password.clone(),
        salt: None,
        attempt,
        client_ip: peer.ip(),
        client_host: None,
        tls: client_tls.then(|| auth_http::TlsInfo { protocol: String::new(), cipher: String::new() }),
        proxy_protocol: None,
    };
    for _ in 0..=MAX_WAIT_RETRIES {
        let reply = match auth_http::authenticate(auth, &request).await {
            Ok(reply) => reply,
            Err(error) => return Routing::Unavailable(error.to_string()),
        };
        match reply {
            AuthReply::Route { address, user, password, profile } => {
                if let Some(name) = &profile
                    && !shared.profiles.contains_key(name)
                {
                    return Routing::Unavailable(format!("the auth service selected the unknown profile {name:?}"));
                }
                let credentials = Credentials {
                    authzid: credentials.authzid.clone(),
                    user,
                    password,
                    oauth: credentials.oauth.clone(),
                };
                return Routing::Route(Route { address: address.to_string(), credentials, profile });
            }
            AuthReply::Refused { message, wait } => return Routing::Refused { message, wait },
            AuthReply::Retry { wait } => {
                tracing::debug!(wait_secs = wait.as_secs(), "the auth service asked to wait");
                tokio::time::sleep(wait).await;
            }
            AuthReply::TemporaryFailure { reason } => return Routing::Unavailable(reason),
        }
    }
    Routing::Unavailable(format!("the auth service answered WAIT {} times", MAX_WAIT_RETRIES + 1))
}
