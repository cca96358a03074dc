//! The load scenarios. Each runs for a fixed time or count and stops by
//! itself; every session stops at the shared deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Barrier, Semaphore};
use tokio::task::JoinSet;

use crate::imap::{Conn, ImapError};
use crate::naming::Names;
use crate::stats::{Sample, elapsed, percentile};

/// Endpoint and credentials of the sessions.
#[derive(Clone)]
pub struct Target {
    pub address: String,
    pub user: String,
    pub password: String,
}

impl Target {
    async fn login(&self) -> Result<Conn, ImapError> {
        Conn::login(&self.address, &self.user, &self.password).await
    }
}

/// Measured figures, as (metric, value) pairs.
pub type Figures = Vec<(&'static str, f64)>;

/// FETCH BODY.PEEK[] of the INBOX's messages, `batch` messages per command,
/// cycling over `messages` messages. Reports MB/s (10^6 bytes) received.
pub async fn bulk(
    target: &Target,
    sessions: usize,
    duration: Duration,
    messages: u32,
    batch: u32,
) -> Result<Figures, ImapError> {
    let barrier = Arc::new(Barrier::new(sessions + 1));
    let mut tasks = JoinSet::new();
    for index in 0..sessions {
        let target = target.clone();
        let barrier = Arc::clone(&barrier);
        tasks.spawn(async move {
            let login = async {
                let mut conn = target.login().await?;
                conn.command("EXAMINE INBOX").await?;
                Ok::<_, ImapError>(conn)
            }
            .await;
            barrier.wait().await;
            let mut conn = login?;
            let deadline = Instant::now() + duration;
            let before = conn.received;
            // Sessions start at different messages so they do not read the
            // same files in step.
            let mut first = (index as u32 * batch) % messages + 1;
            while Instant::now() < deadline {
                let last = (first + batch - 1).min(messages);
                conn.command(&format!("FETCH {first}:{last} BODY.PEEK[]")).await?;
                first = if last == messages { 1 } else { last + 1 };
            }
            let received = conn.received - before;
            conn.logout().await?;
            Ok::<_, ImapError>(received)
        });
    }
    barrier.wait().await;
    let started = Instant::now();
    let mut received = 0u64;
    while let Some(joined) = tasks.join_next().await {
        received += joined.expect("bulk session task panicked")?;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(vec![("MB/s", received as f64 / seconds / 1e6)])
}

/// NOOP, SELECT, STATUS and LIST in turn on the 50-folder account. Reports
/// commands per second and latency percentiles over all commands.
pub async fn small(
    target: &Target,
    sessions: usize,
    duration: Duration,
    names: Names,
    folders: usize,
) -> Result<Figures, ImapError> {
    let barrier = Arc::new(Barrier::new(sessions + 1));
    let mut tasks = JoinSet::new();
    for index in 0..sessions {
        let target = target.clone();
        let barrier = Arc::clone(&barrier);
        tasks.spawn(async move {
            let login = target.login().await;
            barrier.wait().await;
            let mut conn = login?;
            let deadline = Instant::now() + duration;
            // Latencies per command, indexed as `step % 4` picks the command.
            let mut latencies: [Vec<Sample>; 4] = Default::default();
            let mut step = index;
            while Instant::now() < deadline {
                let folder = names.small_folder(step % folders);
                let other = names.small_folder((step + folders / 2) % folders);
                let command = match step % 4 {
                    0 => "NOOP".to_string(),
                    1 => format!("SELECT {}", quoted(&folder)),
                    2 => format!("STATUS {} (MESSAGES UIDNEXT UNSEEN)", quoted(&other)),
                    _ => "LIST \"\" \"*\"".to_string(),
                };
                let sent = Instant::now();
                conn.command(&command).await?;
                latencies[step % 4].push(elapsed(sent));
                step += 1;
            }
            conn.logout().await?;
            Ok::<_, ImapError>(latencies)
        });
    }
    barrier.wait().await;
    let started = Instant::now();
    let mut by_command: [Vec<Sample>; 4] = Default::default();
    while let Some(joined) = tasks.join_next().await {
        let latencies = joined.expect("small-command session task panicked")?;
        for (all, session) in by_command.iter_mut().zip(latencies) {
            all.extend(session);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut latencies: Vec<Sample> = by_command.iter().flatten().copied().collect();
    latencies.sort_unstable();
    let mut figures = vec![
        ("commands/s", latencies.len() as f64 / seconds),
        ("p50 µs", percentile(&latencies, 0.50)),
        ("p99 µs", percentile(&latencies, 0.99)),
    ];
    // The p99 over all commands is the tail of the slowest command, so each
    // command's own p99 shows where a proxy adds time.
    for (name, mut samples) in COMMAND_P99.into_iter().zip(by_command) {
        samples.sort_unstable();
        figures.push((name, percentile(&samples, 0.99)));
    }
    Ok(figures)
}

/// Figure names of the per-command p99 of [`small`], in its command order.
const COMMAND_P99: [&str; 4] = ["NOOP p99 µs", "SELECT p99 µs", "STATUS p99 µs", "LIST p99 µs"];

/// `LIST "" "*"` repeated in one session until `duration` passed or
/// `max_runs` ran, at least once. Reports the median wall time per LIST and
/// fails when fewer than `expect` mailboxes came back.
pub async fn big_list(
    target: &Target,
    duration: Duration,
    max_runs: usize,
    expect: usize,
) -> Result<Figures, ImapError> {
    let mut conn = target.login().await?;
    let deadline = Instant::now() + duration;
    let mut times = Vec::new();
    let mut listed = 0;
    while times.is_empty() || (Instant::now() < deadline && times.len() < max_runs) {
        let sent = Instant::now();
        let reply = conn.command("LIST \"\" \"*\"").await?;
        times.push(elapsed(sent));
        listed = reply.untagged;
    }
    conn.logout().await?;
    if listed < expect {
        return Err(ImapError::Failed {
            command: "LIST \"\" \"*\"".into(),
            reply: format!("{listed} mailboxes listed, expected at least {expect}"),
        });
    }
    times.sort_unstable();
    Ok(vec![("ms/LIST", percentile(&times, 0.5) / 1000.0), ("mailboxes", listed as f64)])
}

/// Connect, LOGIN, LOGOUT in `sessions` parallel loops. Reports sessions per
/// second and the median time from connect to the LOGIN completion.
pub async fn login(target: &Target, sessions: usize, duration: Duration) -> Result<Figures, ImapError> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = JoinSet::new();
    for _ in 0..sessions {
        let target = target.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let connecting = Instant::now();
                let conn = target.login().await?;
                latencies.push(elapsed(connecting));
                conn.logout().await?;
            }
            Ok::<_, ImapError>(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        latencies.extend(joined.expect("login task panicked")?);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    Ok(vec![("sessions/s", latencies.len() as f64 / seconds), ("login p50 ms", percentile(&latencies, 0.5) / 1000.0)])
}

/// Opens `sessions` logged-in sessions (at most `parallel` logins at a
/// time), keeps them open for `hold`, then checks each with NOOP. Reports the
/// growth of the summed VmRSS of `pids` per session, and sessions lost.
pub async fn idle(
    target: &Target,
    sessions: usize,
    parallel: usize,
    hold: Duration,
    pids: &[u32],
) -> Result<Figures, ImapError> {
    let before = rss_kib(pids)?;
    let permits = Arc::new(Semaphore::new(parallel));
    let mut tasks = JoinSet::new();
    for _ in 0..sessions {
        let target = target.clone();
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore is never closed");
            target.login().await
        });
    }
    let mut conns = Vec::with_capacity(sessions);
    let mut failed = 0usize;
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("idle login task panicked") {
            Ok(conn) => conns.push(conn),
            Err(error) => {
                failed += 1;
                first_error.get_or_insert(error);
            }
        }
    }
    if let Some(error) = &first_error {
        eprintln!("imapgate-bench: {failed} of {sessions} idle logins failed, the first with: {error}");
    }

    tokio::time::sleep(hold).await;
    let after = rss_kib(pids)?;

    // Every session must still reply.
    let mut checks = JoinSet::new();
    for mut conn in conns {
        let permits = Arc::clone(&permits);
        checks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore is never closed");
            conn.command("NOOP").await?;
            conn.logout().await
        });
    }
    let mut lost = failed;
    while let Some(joined) = checks.join_next().await {
        if let Err(error) = joined.expect("idle check task panicked") {
            lost += 1;
            if lost - failed == 1 {
                eprintln!("imapgate-bench: an idle session was lost: {error}");
            }
        }
    }
    let per_session = after.saturating_sub(before) as f64 / sessions as f64;
    Ok(vec![("KiB/session", per_session), ("lost", lost as f64)])
}

/// Sum of VmRSS over `pids`, in KiB.
fn rss_kib(pids: &[u32]) -> Result<u64, ImapError> {
    let mut total = 0;
    for pid in pids {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let value = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .ok_or_else(|| std::io::Error::other(format!("no VmRSS line in /proc/{pid}/status")))?;
        total += value;
    }
    Ok(total)
}

/// IMAP quoted string; the bench's names contain no `"` or `\`.
fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}
