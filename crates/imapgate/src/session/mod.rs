//! One client connection: greeting, pre-auth, upstream login, relay.

pub mod io;
pub mod preauth;
pub mod pump;
pub mod route;
pub mod sasl;
pub mod secret;
pub mod socket;
pub mod splice;
pub mod stream;
pub mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use imapgate_proto::framer::Peer;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracing::Instrument;

use crate::config::{Config, ListenConfig};
use crate::error::{Blame, SessionError};
use crate::filter::{ChainFactory, DelimiterSource, SessionInfo};
use crate::relay::{Relay, RelayLimits, strip_capabilities};
use crate::server::State;
use crate::tls::ListenTls;
use io::FramedStream;
use preauth::{Authenticated, Outcome};
use pump::{End, Traffic};
use stream::Stream;
use upstream::Upstream;

/// The addresses of a session's connection, for the upstream's PROXY header and ID.
#[derive(Clone, Copy, Debug)]
pub struct Origin {
    /// The client's address.
    pub client: SocketAddr,
    /// imapgate's address that the client connected to.
    pub connected: Option<SocketAddr>,
}

/// State shared by every session of a listener.
pub struct Shared {
    pub config: Config,
    pub chain: ChainFactory,
    /// The open trace file, when `[trace]` is configured.
    pub trace: Option<Arc<crate::trace::TraceSink>>,
    /// Client TLS, when `[tls]` is configured.
    pub acceptor: Option<tokio_rustls::TlsAcceptor>,
    /// Upstream TLS, when the upstream uses it.
    pub connector: Option<tokio_rustls::TlsConnector>,
    /// Name the upstream's certificate must carry.
    pub server_name: Option<rustls_pki_types::ServerName<'static>>,
    /// Chains of the `[profiles.NAME]` blocks.
    pub profiles: std::collections::HashMap<String, ChainFactory>,
}

impl Shared {
    /// Takes a loaded configuration into use: opens the trace file.
    pub fn new(loaded: crate::config::LoadedConfig) -> std::io::Result<Shared> {
        let trace = match &loaded.config.trace {
            Some(trace) => Some(crate::trace::TraceSink::open(trace.clone()).map_err(|error| {
                std::io::Error::new(error.kind(), format!("cannot open the trace file {}: {error}", trace.file))
            })?),
            None => None,
        };
        let invalid = |message: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, message);
        let acceptor = loaded.config.tls.as_ref().map(crate::tls::acceptor).transpose().map_err(invalid)?;
        let upstream = loaded.config.upstream.as_ref().expect("validated config has an upstream");
        let (connector, server_name) = if !loaded.config.uses_upstream_tls() {
            (None, None)
        } else {
            if !upstream.verify {
                tracing::warn!(upstream = %upstream.address, "the upstream's TLS certificate is not verified (upstream.verify = false)");
            }
            let connector = crate::tls::connector(&upstream.trust()).map_err(invalid)?;
            let name = crate::tls::server_name(&upstream.address, upstream.server_name.as_deref()).map_err(invalid)?;
            (Some(connector), Some(name))
        };
        Ok(Shared {
            config: loaded.config,
            chain: loaded.chain,
            profiles: loaded.profiles,
            trace,
            acceptor,
            connector,
            server_name,
        })
    }
}

/// Serves one client connection to its end, then writes the access-log line.
/// `peer` is the client's address (from the PROXY header when there was
/// one); `early` holds client bytes read with that header.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    early: Vec<u8>,
    listen: ListenConfig,
    shared: Arc<Shared>,
    state: Arc<State>,
) {
    let span = tracing::info_span!(
        "session",
        client.addr = %peer,
        user = tracing::field::Empty,
        upstream.addr = tracing::field::Empty,
    );
    async move {
        let started = Instant::now();
        tracing::debug!("session started");
        state.metrics.sessions_active.inc();
        let report = run(stream, peer, early, &listen, &shared, &state).await;
        state.metrics.sessions_active.dec();
        state.metrics.session_ended(report.end);
        state.metrics.commands.inc_by(report.stats.commands);
        state.metrics.rewritten.inc_by(report.stats.rewritten);
        state.metrics.answered.inc_by(report.stats.answered);
        state.metrics.withheld.inc_by(report.stats.withheld);
        state.metrics.hidden_names.inc_by(report.stats.hidden_names);
        tracing::info!(
            target: "imapgate::access",
            client = %peer,
            user = report.user.as_deref().unwrap_or("-"),
            duration_ms = started.elapsed().as_millis() as u64,
            bytes_from_client = report.traffic.from_client,
            bytes_from_server = report.traffic.from_server,
            commands = report.stats.commands,
            rewritten = report.stats.rewritten,
            answered = report.stats.answered,
            withheld = report.stats.withheld,
            hidden_names = report.stats.hidden_names,
            end = report.end,
            "session ended"
        );
    }
    .instrument(span)
    .await
}

/// The access-log fields of a session.
#[derive(Default)]
struct Report {
    user: Option<String>,
    traffic: Traffic,
    stats: crate::relay::RelayStats,
    /// The way the session ended, used as a metric label.
    end: &'static str,
}

async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    early: Vec<u8>,
    listen: &ListenConfig,
    shared: &Shared,
    state: &State,
) -> Report {
    let mut report = Report::default();
    // Boxed: everything before the relay (TLS handshakes, the upstream
    // login) is freed before the relay, which may last for days. Each byte
    // the relay phase keeps is kept by every idle session.
    let Some(mut started) = Box::pin(start(stream, peer, early, listen, shared, state, &mut report)).await else {
        return report;
    };
    let options = pump::Options {
        idle: shared.config.timeouts.idle(),
        shutdown: state.shutdown.clone(),
        metrics: state.metrics.clone(),
        trace: started.trace.take(),
    };
    // Fields are borrowed, not moved out: a moved copy would take room in
    // this future next to the original.
    let end = pump::run(
        &mut started.client,
        std::mem::take(&mut started.client_buf),
        &mut started.server,
        std::mem::take(&mut started.server_buf),
        &mut started.relay,
        &mut report.traffic,
        options,
    )
    .await;
    report.stats = started.relay.stats();
    let _ = started.client.shutdown().await;
    report.end = finish(end, &report.stats, shared, state);
    report
}

/// A session ready to relay.
struct Started {
    client: Stream,
    /// Client bytes read after the login command.
    client_buf: BytesMut,
    server: Stream,
    /// Server bytes read after the login response.
    server_buf: BytesMut,
    relay: Relay,
    trace: Option<crate::trace::SessionTrace>,
}

/// Runs the session up to the relay: greeting, pre-auth, upstream login and
/// the client's login reply. `None` when the session ended on the way,
/// with `report` telling how.
async fn start(
    stream: TcpStream,
    peer: SocketAddr,
    early: Vec<u8>,
    listen: &ListenConfig,
    shared: &Shared,
    state: &State,
    report: &mut Report,
) -> Option<Started> {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "could not set TCP_NODELAY on the client socket");
    }
    let listener = preauth::Listener {
        config: listen,
        acceptor: if listen.tls == ListenTls::None { None } else { shared.acceptor.as_ref() },
        oauth: shared.config.upstream.as_ref().is_some_and(|upstream| upstream.oauth),
    };
    let connected = stream.local_addr().ok();
    let mut client = FramedStream::new(Stream::Plain(stream), Peer::Client);
    client.buf.extend_from_slice(&early);
    let origin = Origin { client: peer, connected };
    client.trace = shared.trace.as_ref().and_then(|sink| sink.for_address(peer));
    let mut shutdown = state.shutdown.clone();

    // Pre-auth (with the TLS handshake of an implicit-TLS listener), under
    // its timeout, ended early by a shutdown.
    let preauth = async {
        if listen.tls == ListenTls::Implicit {
            let acceptor = listener.acceptor.expect("validated config has [tls] for TLS listeners");
            preauth::start_tls(&mut client, acceptor).await?;
        }
        let greeting = format!("* OK [CAPABILITY {}] imapgate ready\r\n", listener.capabilities(&client));
        client.write_all(greeting.as_bytes()).await?;
        preauth::run(&mut client, &origin, &listener, shared, state).await
    };
    let outcome = tokio::select! {
        outcome = tokio::time::timeout(shared.config.timeouts.preauth(), preauth) => outcome,
        _ = stopping(&mut shutdown) => {
            let _ = client.write_all(b"* BYE [UNAVAILABLE] Server shutting down\r\n").await;
            report.end = "shutdown";
            return None;
        }
    };
    let authenticated = match outcome {
        Err(_) => {
            tracing::info!(
                limit = "preauth_secs",
                value = shared.config.timeouts.preauth_secs,
                "client did not log in in time"
            );
            state.metrics.limit_hit("preauth_secs");
            let _ = client.write_all(b"* BYE Login timed out\r\n").await;
            report.end = "preauth_timeout";
            return None;
        }
        Ok(Err(error)) => {
            tracing::debug!(%error, "client connection failed before login");
            report.end = "client_error";
            return None;
        }
        Ok(Ok(Outcome::Closed)) => {
            report.end = "closed_before_login";
            return None;
        }
        Ok(Ok(Outcome::Authenticated(authenticated))) => authenticated,
    };
    report.user = Some(authenticated.user.clone());
    if client.trace.is_none() {
        client.trace = shared.trace.as_ref().and_then(|sink| sink.for_user(peer, &authenticated.user));
    }

    let (relay, upstream) = match prepare(&mut client, authenticated, shared).await {
        Ok(prepared) => prepared,
        Err(error) => {
            // The login reply was not sent yet: the client learns why it failed.
            tracing::error!(%error, "upstream failed right after login");
            let answer = SessionError::new(Blame::Upstream, "The mail server failed after login; try again later");
            let _ = client.write_all(&answer.answer(None)).await;
            report.end = "upstream_error";
            return None;
        }
    };
    Some(Started {
        client: client.stream,
        client_buf: BytesMut::from(&client.buf[..]),
        server: upstream.stream,
        server_buf: upstream.buf,
        relay,
        trace: client.trace,
    })
}

/// Waits until imapgate starts shutting down.
async fn stopping(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

/// Finishes the login (delimiter, capabilities), builds the relay and sends
/// the client its login reply. Returns the relay and the upstream
/// connection with the bytes read after the login response.
async fn prepare(
    client: &mut FramedStream,
    authenticated: Box<Authenticated>,
    shared: &Shared,
) -> Result<(Relay, FramedStream), upstream::UpstreamError> {
    let Authenticated { mut upstream, user, reply, capabilities, profile } = *authenticated;
    let chain_factory = match &profile {
        Some(name) => shared.profiles.get(name).expect("the route checked that the profile exists"),
        None => &shared.chain,
    };

    let hierarchy = match chain_factory.server_delimiter() {
        DelimiterSource::NotNeeded => upstream::Hierarchy::default(),
        DelimiterSource::Configured(delimiter) => {
            upstream::Hierarchy { delimiter: Some(delimiter), prefixes: Vec::new() }
        }
        DelimiterSource::Learn => Box::pin(upstream.learn_hierarchy()).await?,
    };
    let server_delimiter = hierarchy.delimiter;
    let session = SessionInfo {
        user,
        server_delimiter,
        server_namespaces: hierarchy.prefixes,
        utf8: false,
        server_literals: Upstream::literal_support(&capabilities),
    };
    tracing::debug!(delimiter = ?server_delimiter, capabilities = capabilities.len(), "upstream session ready");

    let mut chain = chain_factory.build();
    chain.on_login(&session);
    let limits = RelayLimits {
        max_line: shared.config.limits.max_line,
        max_collected: shared.config.limits.max_collected,
        max_pipelined: shared.config.limits.max_pipelined,
    };
    let relay = Relay::new(chain, session, limits);

    client.write_all(&strip_capabilities(&reply).unwrap_or(reply)).await?;
    // The rest of the upstream state (capabilities, address) ends here:
    // idle sessions are many, and each byte kept is kept per session.
    let Upstream { conn: upstream_conn, .. } = upstream;
    Ok((relay, upstream_conn))
}

/// Counts the relay's limit hits and names the way the session ended.
fn finish(end: End, stats: &crate::relay::RelayStats, shared: &Shared, state: &State) -> &'static str {
    for (limit, hits) in [
        ("max_line", stats.max_line_hits),
        ("max_collected", stats.max_collected_hits),
        ("max_pipelined", stats.max_pipelined_hits),
    ] {
        state.metrics.limit_hits.get_or_create(&crate::metrics::LimitLabels { limit }).inc_by(hits);
    }
    match end {
        End::ClientClosed => "client_closed",
        End::ServerClosed => "server_closed",
        End::ServerLost => "server_lost",
        End::IdleTimeout => {
            tracing::info!(limit = "idle_secs", value = shared.config.timeouts.idle_secs, "client idle for too long");
            state.metrics.limit_hit("idle_secs");
            "idle_timeout"
        }
        End::Shutdown => "shutdown",
        End::Fault(error) => {
            tracing::warn!(%error, "session ended on invalid input");
            "fault"
        }
        End::Io(error) => {
            tracing::debug!(%error, "socket error");
            "io_error"
        }
    }
}
