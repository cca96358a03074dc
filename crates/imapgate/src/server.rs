//! Listeners, the accept loop, reload on SIGHUP and drain on SIGTERM.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::admission::{Admission, AdmissionLimits, Refusal};
use crate::config::{self, Config};
use crate::metrics::Metrics;
use crate::session::{self, Shared};

/// Process-wide state that outlives configuration reloads.
pub struct State {
    /// Configuration and filters for new sessions; replaced on reload.
    current: RwLock<Arc<Shared>>,
    pub metrics: Arc<Metrics>,
    pub admission: Arc<Admission>,
    /// Becomes `true` when imapgate starts shutting down.
    pub shutdown: watch::Receiver<bool>,
}

impl State {
    /// The configuration that new sessions use.
    pub fn current(&self) -> Arc<Shared> {
        self.current.read().expect("config lock poisoned").clone()
    }

    pub fn admission_limits(config: &Config) -> AdmissionLimits {
        AdmissionLimits {
            max_sessions: config.limits.max_sessions,
            max_sessions_per_address: config.limits.max_sessions_per_address,
            max_login_failures: config.limits.max_login_failures,
            login_failure_window: Duration::from_secs(config.limits.login_failure_window_secs),
        }
    }
}

/// Binds every configured listener and serves until SIGINT or SIGTERM;
/// SIGHUP reloads the configuration from `config_path`.
pub async fn run(shared: Arc<Shared>, config_path: PathBuf) -> std::io::Result<()> {
    let mut listeners = Vec::new();
    for listen in &shared.config.listen {
        let listener = TcpListener::bind(&listen.address).await.map_err(|error| {
            std::io::Error::new(error.kind(), format!("cannot listen on {}: {error}", listen.address))
        })?;
        tracing::info!(address = %listen.address, "listening");
        listeners.push(listener);
    }

    let (shutdown_sender, shutdown) = watch::channel(false);
    let metrics = Arc::new(Metrics::new());
    let state = Arc::new(State {
        current: RwLock::new(shared.clone()),
        metrics: metrics.clone(),
        admission: Admission::new(),
        shutdown,
    });

    let mut background = JoinSet::new();
    if let Some(admin) = &shared.config.admin {
        let listener = TcpListener::bind(&admin.address).await.map_err(|error| {
            std::io::Error::new(error.kind(), format!("cannot listen on admin address {}: {error}", admin.address))
        })?;
        tracing::info!(address = %admin.address, "admin listener serving /metrics and /health");
        background.spawn(crate::admin::serve(listener, metrics));
    }

    let sessions = Arc::new(tokio::sync::Mutex::new(JoinSet::new()));
    let mut accept_loops = JoinSet::new();
    for (listener, listen) in listeners.into_iter().zip(shared.config.listen.iter().cloned()) {
        let address = listener.local_addr()?;
        let span = tracing::info_span!("listener", listen.addr = %address);
        accept_loops.spawn(accept_loop(listener, listen, state.clone(), sessions.clone()).instrument(span));
    }

    wait_for_shutdown(&state, &config_path).await;
    tracing::info!("shutting down: no new connections are accepted");
    accept_loops.abort_all();
    let _ = shutdown_sender.send(true);

    drain(&state, &sessions).await;
    background.abort_all();
    Ok(())
}

/// Waits for open sessions to end at a safe point, up to the grace period.
async fn drain(state: &State, sessions: &tokio::sync::Mutex<JoinSet<()>>) {
    let grace = state.current().config.timeouts.shutdown_grace();
    let mut sessions = sessions.lock().await;
    tracing::info!(sessions = sessions.len(), grace_secs = grace.as_secs(), "draining sessions");
    let all_ended = async { while sessions.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, all_ended).await.is_err() {
        tracing::warn!(sessions = sessions.len(), "closing sessions still open after the grace period");
        sessions.abort_all();
    }
    tracing::info!("all sessions ended");
}

async fn accept_loop(
    listener: TcpListener,
    listen: crate::config::ListenConfig,
    state: Arc<State>,
    sessions: Arc<tokio::sync::Mutex<JoinSet<()>>>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let shared = state.current();
                let state = state.clone();
                let listen = listen.clone();
                let mut sessions = sessions.lock().await;
                // Ended sessions are collected here so the set stays small.
                while sessions.try_join_next().is_some() {}
                sessions.spawn(admit_and_serve(stream, peer, listen, shared, state));
            }
            Err(error) => {
                // Out of file descriptors and similar: back off instead of spinning.
                tracing::error!(%error, "accepting a connection failed; retrying in 100 ms");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Learns the client's address (from a PROXY header when the listener
/// expects one), applies the session limits to it, then serves the session.
async fn admit_and_serve(
    mut stream: TcpStream,
    peer: std::net::SocketAddr,
    listen: crate::config::ListenConfig,
    shared: Arc<Shared>,
    state: Arc<State>,
) {
    let mut early = Vec::new();
    let mut client = peer;
    if listen.proxy_protocol {
        let trusted = crate::proxy_protocol::TrustedSources::parse(&listen.proxy_trusted).unwrap_or_default();
        if !trusted.contains(peer.ip()) {
            tracing::warn!(%peer, "closed a connection from an address not in proxy_trusted");
            state.metrics.limit_hit("proxy_trusted");
            return;
        }
        match crate::proxy_protocol::read_header(&mut stream, Duration::from_secs(5)).await {
            Ok((header, extra)) => {
                client = header.source.unwrap_or(peer);
                early = extra;
            }
            Err(error) => {
                tracing::warn!(%peer, %error, "closed a connection with an invalid PROXY header");
                return;
            }
        }
    }

    let limits = State::admission_limits(&shared.config);
    match state.admission.admit(client.ip(), &limits) {
        Ok(slot) => {
            session::serve(stream, client, early, listen, shared, state).await;
            drop(slot);
        }
        Err(refusal) => refuse(stream, client, refusal, state).await,
    }
}

/// Turns a client away with `* BYE` naming the limit.
async fn refuse(mut stream: TcpStream, peer: std::net::SocketAddr, refusal: Refusal, state: Arc<State>) {
    let Refusal::Limit { limit, value } = refusal;
    tracing::warn!(client.addr = %peer, limit, value, "refused a connection");
    state.metrics.limit_hit(limit);
    let text = match limit {
        "max_login_failures" => "* BYE [UNAVAILABLE] Too many failed logins from your address; try again later\r\n",
        _ => "* BYE [UNAVAILABLE] Too many connections; try again later\r\n",
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.write_all(text.as_bytes())).await;
}

/// Returns on SIGINT or SIGTERM; reloads the configuration on SIGHUP.
async fn wait_for_shutdown(state: &State, config_path: &Path) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut terminate), Ok(mut hangup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup()))
        else {
            tracing::error!("cannot watch SIGTERM and SIGHUP; only SIGINT stops imapgate");
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return,
                _ = terminate.recv() => return,
                _ = hangup.recv() => reload(state, config_path),
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Loads the configuration again; new sessions use it, open ones keep
/// theirs. An invalid file is reported and the running one stays.
fn reload(state: &State, config_path: &Path) {
    tracing::info!(config = %config_path.display(), "reloading the configuration");
    match config::load(config_path) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                tracing::warn!(%warning, "configuration warning");
            }
            let old = state.current();
            if loaded.config.listen.iter().map(|l| &l.address).ne(old.config.listen.iter().map(|l| &l.address)) {
                tracing::warn!("listen addresses changed; they take effect only after a restart");
            }
            let shared = match Shared::new(loaded) {
                Ok(shared) => Arc::new(shared),
                Err(error) => {
                    state.metrics.reloads.get_or_create(&crate::metrics::ResultLabels { result: "refused" }).inc();
                    tracing::error!(%error, "reload refused; the running configuration stays");
                    return;
                }
            };
            *state.current.write().expect("config lock poisoned") = shared;
            state.metrics.reloads.get_or_create(&crate::metrics::ResultLabels { result: "ok" }).inc();
            tracing::info!("configuration reloaded; new sessions use it");
        }
        Err(error) => {
            for problem in &error.problems {
                tracing::error!(%problem, "invalid configuration");
            }
            state.metrics.reloads.get_or_create(&crate::metrics::ResultLabels { result: "refused" }).inc();
            tracing::error!(%error, "reload refused; the running configuration stays");
        }
    }
}
