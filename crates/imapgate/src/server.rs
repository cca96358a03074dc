//! Listeners and the accept loop.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::Instrument;

use crate::session::{self, Shared};

/// Binds every configured listener and serves until SIGINT or SIGTERM.
pub async fn run(shared: Arc<Shared>) -> std::io::Result<()> {
    let mut listeners = Vec::new();
    for listen in &shared.config.listen {
        let listener = TcpListener::bind(&listen.address).await.map_err(|error| {
            std::io::Error::new(error.kind(), format!("cannot listen on {}: {error}", listen.address))
        })?;
        tracing::info!(address = %listen.address, "listening");
        listeners.push(listener);
    }

    let mut tasks = tokio::task::JoinSet::new();
    for listener in listeners {
        let shared = shared.clone();
        let address = listener.local_addr()?;
        let span = tracing::info_span!("listener", listen.addr = %address);
        tasks.spawn(accept_loop(listener, shared).instrument(span));
    }

    shutdown_signal().await;
    tracing::info!("shutting down: no new connections are accepted");
    tasks.abort_all();
    Ok(())
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(session::serve(stream, peer, shared.clone()));
            }
            Err(error) => {
                // Out of file descriptors and similar: back off instead of spinning.
                tracing::error!(%error, "accepting a connection failed; retrying in 100 ms");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::error!(%error, "cannot watch SIGTERM; only SIGINT stops imapgate");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
