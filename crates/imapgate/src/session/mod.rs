//! One client connection: greeting, pre-auth, upstream login, relay.

pub mod io;
pub mod preauth;
pub mod pump;
pub mod secret;
pub mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use imapgate_proto::framer::Peer;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracing::Instrument;

use crate::config::Config;
use crate::filter::{ChainFactory, DelimiterSource, SessionInfo};
use crate::relay::{Relay, RelayLimits, strip_capabilities};
use io::FramedStream;
use preauth::{Authenticated, Outcome};
use pump::{End, Traffic};
use upstream::Upstream;

/// What every session of a listener shares.
pub struct Shared {
    pub config: Config,
    pub chain: ChainFactory,
}

/// Serves one client connection to its end, then writes the access-log line.
pub async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let span = tracing::info_span!(
        "session",
        client.addr = %peer,
        user = tracing::field::Empty,
        upstream.addr = tracing::field::Empty,
    );
    async move {
        let started = Instant::now();
        tracing::debug!("session started");
        let report = run(stream, &shared).await;
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
            end = report.end.as_str(),
            "session ended"
        );
    }
    .instrument(span)
    .await
}

/// What the access log reports about a session.
#[derive(Default)]
struct Report {
    user: Option<String>,
    traffic: Traffic,
    stats: crate::relay::RelayStats,
    end: String,
}

async fn run(stream: TcpStream, shared: &Shared) -> Report {
    let mut report = Report::default();
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "could not set TCP_NODELAY on the client socket");
    }
    let mut client = FramedStream::new(stream, Peer::Client);

    // Pre-auth, under its timeout.
    let greeting = format!("* OK [CAPABILITY {}] imapgate ready\r\n", preauth::CAPABILITIES);
    let preauth = async {
        client.write_all(greeting.as_bytes()).await?;
        preauth::run(&mut client, &shared.config).await
    };
    let authenticated = match tokio::time::timeout(shared.config.timeouts.preauth(), preauth).await {
        Err(_) => {
            tracing::info!(seconds = shared.config.timeouts.preauth_secs, "client did not log in in time");
            let _ = client.write_all(b"* BYE Login timed out\r\n").await;
            report.end = "preauth timeout".into();
            return report;
        }
        Ok(Err(error)) => {
            tracing::debug!(%error, "client connection failed before login");
            report.end = "client error before login".into();
            return report;
        }
        Ok(Ok(Outcome::Closed)) => {
            report.end = "logout before login".into();
            return report;
        }
        Ok(Ok(Outcome::Authenticated(authenticated))) => *authenticated,
    };
    report.user = Some(authenticated.user.clone());

    match relay(client, authenticated, shared, &mut report).await {
        Ok(end) => report.end = end,
        Err(error) => {
            tracing::warn!(%error, "session failed");
            report.end = format!("error: {error}");
        }
    }
    report
}

/// Finishes the login (delimiter, capabilities) and relays until the end.
async fn relay(
    mut client: FramedStream,
    authenticated: Authenticated,
    shared: &Shared,
    report: &mut Report,
) -> Result<String, upstream::UpstreamError> {
    let Authenticated { mut upstream, user, reply, capabilities } = authenticated;

    let hierarchy = match shared.chain.server_delimiter() {
        DelimiterSource::NotNeeded => upstream::Hierarchy::default(),
        DelimiterSource::Configured(delimiter) => {
            upstream::Hierarchy { delimiter: Some(delimiter), prefixes: Vec::new() }
        }
        DelimiterSource::Learn => upstream.learn_hierarchy().await?,
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

    let mut chain = shared.chain.build();
    chain.on_login(&session);
    let limits =
        RelayLimits { max_line: shared.config.limits.max_line, max_collected: shared.config.limits.max_collected };
    let mut relay = Relay::new(chain, session, limits);

    client.write_all(&strip_capabilities(&reply).unwrap_or(reply)).await?;

    let mut server_stream = upstream.conn.stream;
    let end = pump::run(
        &mut client.stream,
        std::mem::take(&mut client.buf),
        &mut server_stream,
        std::mem::take(&mut upstream.conn.buf),
        &mut relay,
        &mut report.traffic,
    )
    .await;
    report.stats = relay.stats();

    let _ = client.stream.shutdown().await;
    Ok(match end {
        End::ClientClosed => "client closed".into(),
        End::ServerClosed => "server closed".into(),
        End::Fault(error) => {
            tracing::warn!(%error, "session ended on invalid input");
            format!("fault: {error}")
        }
        End::Io(error) => {
            tracing::debug!(%error, "socket error");
            format!("io error: {error}")
        }
    })
}
