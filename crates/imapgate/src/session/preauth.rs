//! The not-authenticated state, answered by imapgate itself: CAPABILITY,
//! NOOP, ID, LOGOUT, LOGIN and AUTHENTICATE PLAIN. A login is tried on the
//! upstream with the client's credentials and tag.

use imapgate_proto::classify::{self, CommandName};
use imapgate_proto::scan::{self, TokenKind};

use super::io::{FramedStream, Read};
use super::route::Routing;
use super::secret::{Credentials, Secret};
use super::upstream::{self, LoginOutcome, Target, Upstream};
use super::{Origin, Shared, sasl};
use crate::config::ListenConfig;
use crate::error::{Blame, SessionError};
use crate::server::State;
use crate::tls::ListenTls;
use tokio_rustls::TlsAcceptor;

/// What the pre-auth state needs to know about its listener.
pub struct Listener<'a> {
    pub config: &'a ListenConfig,
    /// Present when the listener uses TLS.
    pub acceptor: Option<&'a TlsAcceptor>,
    /// XOAUTH2 and OAUTHBEARER are offered and passed to the server.
    pub oauth: bool,
}

impl Listener<'_> {
    /// STARTTLS is offered: the listener has it and TLS is not on yet.
    fn offers_starttls(&self, client: &FramedStream) -> bool {
        self.config.tls == ListenTls::Starttls && !client.stream.is_tls()
    }

    /// Logins are refused until TLS is on.
    fn login_disabled(&self, client: &FramedStream) -> bool {
        self.config.login_requires_tls && !client.stream.is_tls()
    }

    /// Capabilities imapgate announces before login, for the TLS state.
    pub fn capabilities(&self, client: &FramedStream) -> String {
        let mut list = String::from("IMAP4rev1 SASL-IR LITERAL+ ID");
        if self.offers_starttls(client) {
            list.push_str(" STARTTLS");
        }
        if self.login_disabled(client) {
            list.push_str(" LOGINDISABLED");
        } else {
            list.push_str(" AUTH=PLAIN AUTH=LOGIN");
            if self.oauth {
                list.push_str(" AUTH=XOAUTH2 AUTH=OAUTHBEARER");
            }
        }
        list
    }
}

/// A successful upstream login.
pub struct Authenticated {
    pub upstream: Upstream,
    pub user: String,
    /// The server's tagged OK line for the client.
    pub reply: Vec<u8>,
    /// The server's capabilities after login.
    pub capabilities: Vec<String>,
    /// The `[profiles.NAME]` block the auth service selected.
    pub profile: Option<String>,
}

/// The end of the not-authenticated state.
pub enum Outcome {
    Authenticated(Box<Authenticated>),
    /// The client logged out or closed the connection.
    Closed,
}

/// The action one pre-auth command requests.
enum Step {
    Reply(Vec<u8>),
    /// Answer OK with this tag, then run the TLS handshake.
    StartTls(Vec<u8>),
    Login {
        tag: Vec<u8>,
        credentials: Credentials,
    },
    Logout(Vec<u8>),
}

/// Serves pre-auth commands until a login succeeds or the client leaves.
pub async fn run(
    client: &mut FramedStream,
    origin: &Origin,
    listener: &Listener<'_>,
    shared: &Shared,
    state: &State,
) -> std::io::Result<Outcome> {
    let config = &shared.config;
    let peer = origin.client;
    let mut attempt = 0;
    // The client's own ID fields, forwarded to the server with its address.
    let mut client_id: Vec<(String, String)> = Vec::new();
    loop {
        let message = match client.read_message(config.limits.max_line + config.limits.max_preauth_literal).await? {
            Read::Closed => return Ok(Outcome::Closed),
            Read::TooLarge(start) => {
                let tag =
                    classify::classify_command(&start).map(|head| head.tag.to_vec()).unwrap_or_else(|_| b"*".to_vec());
                tracing::warn!(
                    limit = "max_preauth_literal",
                    value = config.limits.max_preauth_literal,
                    "rejected a pre-auth command over the size limit"
                );
                let mut reply = tag;
                reply.extend_from_slice(b" BAD Command too large before login\r\n");
                client.write_all(&reply).await?;
                continue;
            }
            Read::Message(message) => message,
        };

        if let Some(fields) = id_fields(&message) {
            client_id = fields;
        }
        match step(&message, client, listener).await? {
            Step::Reply(reply) => client.write_all(&reply).await?,
            Step::StartTls(tag) => {
                let mut reply = tag;
                reply.extend_from_slice(b" OK Begin TLS negotiation now\r\n");
                client.write_all(&reply).await?;
                let acceptor = listener.acceptor.expect("STARTTLS is offered only with an acceptor");
                start_tls(client, acceptor).await?;
            }
            Step::Logout(tag) => {
                let mut reply = b"* BYE Logging out\r\n".to_vec();
                reply.extend_from_slice(&tag);
                reply.extend_from_slice(b" OK LOGOUT completed\r\n");
                client.write_all(&reply).await?;
                return Ok(Outcome::Closed);
            }
            Step::Login { tag, credentials } => {
                attempt += 1;
                let session = SessionOrigin { origin, client_id: &client_id };
                let login = try_login(client, &session, shared, state, &tag, attempt, credentials).await?;
                match login {
                    Login::Succeeded(authenticated) => {
                        state.admission.login_succeeded(peer.ip());
                        return Ok(Outcome::Authenticated(authenticated));
                    }
                    Login::Refused { reply, wait } => {
                        let limits = State::admission_limits(config);
                        let (delay, locked_out) = state.admission.login_failed(peer.ip(), &limits);
                        // An auth service's Auth-Wait replaces imapgate's own delay.
                        tokio::time::sleep(wait.unwrap_or(delay)).await;
                        client.write_all(&reply).await?;
                        if locked_out {
                            tracing::warn!(
                                limit = "max_login_failures",
                                value = config.limits.max_login_failures,
                                "closing a session after too many failed logins"
                            );
                            state.metrics.limit_hit("max_login_failures");
                            client.write_all(b"* BYE Too many failed logins; try again later\r\n").await?;
                            return Ok(Outcome::Closed);
                        }
                    }
                    Login::Unavailable => {}
                }
            }
        }
    }
}

/// Interprets one whole pre-auth command.
async fn step(message: &[u8], client: &mut FramedStream, listener: &Listener<'_>) -> std::io::Result<Step> {
    let head = match classify::classify_command(message) {
        Ok(head) => head,
        Err(error) => {
            tracing::warn!(%error, "rejected a client line that is not a command");
            return Ok(Step::Reply(format!("* BAD Invalid command line: {error}\r\n").into_bytes()));
        }
    };
    let tag = head.tag.to_vec();
    let reply = |text: &str| {
        let mut line = tag.clone();
        line.push(b' ');
        line.extend_from_slice(text.as_bytes());
        line.extend_from_slice(b"\r\n");
        Step::Reply(line)
    };

    Ok(match head.name {
        CommandName::Capability => {
            let mut line = format!("* CAPABILITY {}\r\n", listener.capabilities(client)).into_bytes();
            let Step::Reply(done) = reply("OK CAPABILITY completed") else { unreachable!() };
            line.extend_from_slice(&done);
            Step::Reply(line)
        }
        CommandName::Noop => reply("OK NOOP completed"),
        CommandName::Id => {
            let mut line =
                format!("* ID (\"name\" \"imapgate\" \"version\" \"{}\")\r\n", env!("CARGO_PKG_VERSION")).into_bytes();
            let Step::Reply(done) = reply("OK ID completed") else { unreachable!() };
            line.extend_from_slice(&done);
            Step::Reply(line)
        }
        CommandName::Logout => Step::Logout(tag.clone()),
        CommandName::Login | CommandName::Authenticate if listener.login_disabled(client) => {
            tracing::info!("rejected a login before TLS");
            reply("NO [PRIVACYREQUIRED] Log in after STARTTLS; plaintext login is disabled")
        }
        CommandName::StartTls if listener.offers_starttls(client) => Step::StartTls(tag.clone()),
        CommandName::Login => match login_arguments(message, head.args_at) {
            Some(credentials) => Step::Login { tag: tag.clone(), credentials },
            None => {
                tracing::warn!("rejected a LOGIN with invalid arguments");
                reply("BAD LOGIN expects a user name and a password")
            }
        },
        CommandName::Authenticate => match sasl::authenticate(message, head.args_at, client, listener.oauth).await? {
            Ok(credentials) => Step::Login { tag: tag.clone(), credentials },
            Err(refusal) => {
                tracing::info!(refusal, "rejected an AUTHENTICATE");
                reply(refusal)
            }
        },
        CommandName::StartTls if client.stream.is_tls() => reply("BAD TLS is already active"),
        CommandName::StartTls => reply("BAD STARTTLS is not available on this listener"),
        _ => {
            tracing::debug!(command = ?head.name, "rejected a command before login");
            reply("BAD Command not available before login; log in first")
        }
    })
}

/// The user name and password of `LOGIN user password`.
fn login_arguments(message: &[u8], args_at: usize) -> Option<Credentials> {
    let tokens = scan::tokenize(message, args_at).ok()?;
    if tokens.len() != 3 || tokens[2].kind != TokenKind::End {
        return None;
    }
    let user = scan::string_value(message, &tokens[0])?;
    let password = scan::string_value(message, &tokens[1])?;
    Some(Credentials {
        authzid: None,
        user: String::from_utf8(user.into_owned()).ok()?,
        password: Secret::new(password.into_owned()),
        oauth: None,
    })
}

/// Result of one login attempt.
enum Login {
    Succeeded(Box<Authenticated>),
    /// The server or the auth service refused; the tagged reply is for the
    /// client, after `wait` when the auth service set one.
    Refused {
        reply: Vec<u8>,
        wait: Option<std::time::Duration>,
    },
    /// The upstream could not be used, and the client got a NO.
    Unavailable,
}

/// Connects to the upstream and logs in. A refusal or an unreachable
/// upstream leaves the session in pre-auth.
async fn try_login(
    client: &mut FramedStream,
    session: &SessionOrigin<'_>,
    shared: &Shared,
    state: &State,
    tag: &[u8],
    attempt: u32,
    credentials: Credentials,
) -> std::io::Result<Login> {
    let config = &shared.config;
    let client_user = credentials.user.clone();
    let unavailable = |reason: &str| {
        tracing::error!(reason, "upstream unavailable");
        state.metrics.login("unavailable");
        SessionError::new(Blame::Upstream, "The mail server is unavailable; try again later").answer(Some(tag))
    };
    let peer = session.origin.client;
    let route = match super::route::route(shared, peer, client.stream.is_tls(), attempt, credentials).await {
        Routing::Route(route) => route,
        Routing::Refused { message, wait } => {
            tracing::info!(user = client_user.as_str(), "the auth service refused the login");
            state.metrics.login("refused");
            let mut reply = tag.to_vec();
            reply.extend_from_slice(format!(" NO [AUTHENTICATIONFAILED] {}\r\n", one_line(&message)).as_bytes());
            return Ok(Login::Refused { reply, wait });
        }
        Routing::Unavailable(reason) => {
            client.write_all(&unavailable(&reason)).await?;
            return Ok(Login::Unavailable);
        }
    };
    let credentials = route.credentials;
    let upstream_config = config.upstream.as_ref().expect("validated config has an upstream");
    let address = route.address.as_str();
    let span = tracing::Span::current();
    span.record("upstream.addr", address);
    let target = Target {
        address,
        tls: route
            .profile
            .as_ref()
            .and_then(|name| config.profiles.get(name))
            .and_then(|profile| profile.upstream_tls)
            .unwrap_or(upstream_config.tls),
        connector: shared.connector.as_ref(),
        server_name: match (&config.auth_http, &upstream_config.server_name) {
            // A routed server is checked under its own address unless a name is configured.
            (Some(_), None) => crate::tls::server_name(address, None).ok(),
            _ => shared.server_name.clone(),
        },
        preamble: upstream_config.proxy_protocol.map(|version| {
            let destination = session.origin.connected.unwrap_or_else(|| ([0, 0, 0, 0], 0).into());
            crate::proxy_protocol::encode(version, peer, destination)
        }),
    };

    let result = async {
        let started = std::time::Instant::now();
        let mut upstream = upstream::connect(&target, config.timeouts.upstream_connect()).await?;
        state.metrics.upstream_connect_seconds.observe(started.elapsed().as_secs_f64());
        if upstream_config.forward_id {
            upstream.send_id(&forwarded_id(session)).await?;
        }
        let login = upstream.login(tag, &credentials);
        let outcome = tokio::time::timeout(config.timeouts.upstream_login(), login).await.map_err(|_| {
            upstream::UpstreamError::Protocol(format!(
                "no answer to the login within {} s",
                config.timeouts.upstream_login_secs
            ))
        })??;
        Ok::<_, upstream::UpstreamError>((upstream, outcome))
    }
    .await;

    match result {
        Ok((upstream, LoginOutcome::LoggedIn { reply, capabilities })) => {
            span.record("user", client_user.as_str());
            tracing::info!(profile = route.profile.as_deref(), "logged in");
            state.metrics.login("ok");
            Ok(Login::Succeeded(Box::new(Authenticated {
                upstream,
                user: client_user,
                reply,
                capabilities,
                profile: route.profile,
            })))
        }
        Ok((_, LoginOutcome::Refused { reply })) => {
            tracing::info!(user = client_user.as_str(), "upstream refused the login");
            state.metrics.login("refused");
            Ok(Login::Refused { reply, wait: None })
        }
        Err(error) => {
            client.write_all(&unavailable(&error.to_string())).await?;
            Ok(Login::Unavailable)
        }
    }
}

/// Runs the TLS handshake after STARTTLS. Bytes the client sent after
/// STARTTLS and before the handshake are discarded, as RFC 3501 section
/// 6.2.1 requires of the server.
pub async fn start_tls(client: &mut FramedStream, acceptor: &TlsAcceptor) -> std::io::Result<()> {
    let tcp = client.stream.take_plain().ok_or_else(|| std::io::Error::other("TLS is already active"))?;
    if !client.buf.is_empty() {
        tracing::warn!(bytes = client.buf.len(), "discarded bytes pipelined after STARTTLS");
    }
    let tls = acceptor.accept(tcp).await.map_err(|error| {
        tracing::info!(%error, "TLS handshake with the client failed");
        error
    })?;
    client.restart(super::stream::Stream::ServerTls(Box::new(tls)));
    tracing::debug!("TLS started");
    Ok(())
}

/// Text from a peer made safe for one IMAP response line.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// The origin of a session and the client's own ID fields.
struct SessionOrigin<'a> {
    origin: &'a Origin,
    client_id: &'a [(String, String)],
}

/// Fields of the ID sent to the server: the client's, then its address
/// (Dovecot reads these from trusted proxies).
fn forwarded_id(session: &SessionOrigin<'_>) -> Vec<(String, String)> {
    static SESSION_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut fields: Vec<(String, String)> =
        session.client_id.iter().filter(|(key, _)| !key.to_ascii_lowercase().starts_with("x-")).cloned().collect();
    let client = session.origin.client;
    fields.push(("x-originating-ip".into(), client.ip().to_canonical().to_string()));
    fields.push(("x-originating-port".into(), client.port().to_string()));
    if let Some(connected) = session.origin.connected {
        fields.push(("x-connected-ip".into(), connected.ip().to_canonical().to_string()));
        fields.push(("x-connected-port".into(), connected.port().to_string()));
    }
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let counter = SESSION_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    fields.push(("x-session-id".into(), format!("ig{:x}{counter:x}", started.as_millis())));
    fields
}

/// The field pairs of an `ID (...)` command; `None` for other commands.
fn id_fields(message: &[u8]) -> Option<Vec<(String, String)>> {
    let head = classify::classify_command(message).ok()?;
    if head.name != CommandName::Id {
        return None;
    }
    let tokens = scan::tokenize(message, head.args_at).ok()?;
    let values: Vec<Option<String>> = tokens
        .iter()
        .filter(|token| matches!(token.kind, TokenKind::String(_) | TokenKind::Nil))
        .map(|token| scan::string_value(message, token).map(|value| String::from_utf8_lossy(&value).into_owned()))
        .collect();
    Some(
        values
            .chunks(2)
            .filter_map(|pair| match pair {
                [Some(key), Some(value)] if key.len() <= 30 && value.len() <= 1024 => {
                    Some((key.clone(), value.clone()))
                }
                _ => None,
            })
            .take(30)
            .collect(),
    )
}
