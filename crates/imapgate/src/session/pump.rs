//! Drives a [`Relay`] with two sockets: reads and writes in both
//! directions progress concurrently, each bounded, so a slow reader on one
//! side never stops the other direction.

use std::io;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::sync::watch;
use tokio::time::Instant;

use super::socket::{self, CHUNK};
use super::splice::Splice;
use super::stream::Stream;
use crate::error::{Blame, SessionError};
use crate::metrics::{DirectionLabels, Metrics};
use crate::relay::{Output, Relay, RelayError};
use crate::trace::{Direction, SessionTrace};

/// Bytes read ahead per direction before the relay consumed them.
const READ_AHEAD: usize = 256 * 1024;
/// Pending output per direction above which reading the other side pauses.
const WRITE_HIGH: usize = 256 * 1024;
/// Read size in a direction that splices literals.
const SHORT_READ: usize = 4 * 1024;

/// The reason the relay ended.
#[derive(Debug)]
pub enum End {
    /// The client closed its side.
    ClientClosed,
    /// The server closed its side after `* BYE` (LOGOUT, or its own shutdown),
    /// or in the middle of a message, where nothing more can be sent.
    ServerClosed,
    /// The server closed its side without `* BYE`; the client got one.
    ServerLost,
    /// The client sent nothing for the idle time, outside IDLE.
    IdleTimeout,
    /// imapgate is shutting down and the session reached a safe point.
    Shutdown,
    /// A peer sent something the relay cannot continue after.
    Fault(RelayError),
    /// Reading or writing a socket failed.
    Io(std::io::Error),
}

/// Bytes moved, for the access log.
#[derive(Clone, Copy, Debug, Default)]
pub struct Traffic {
    pub from_client: u64,
    pub from_server: u64,
}

/// Settings of one relay loop.
pub struct Options {
    /// Client silence after which the session ends, except in IDLE.
    pub idle: Duration,
    /// Becomes `true` when imapgate shuts down.
    pub shutdown: watch::Receiver<bool>,
    pub metrics: Arc<Metrics>,
    /// The session's protocol trace, when it is traced.
    pub trace: Option<SessionTrace>,
}

/// An event the relay loop waited for, with its result.
enum Event {
    ClientRead(io::Result<usize>),
    ServerRead(io::Result<usize>),
    /// Literal bytes moved from the server into the pipe to the client.
    FilledToClient(io::Result<usize>),
    FilledToServer(io::Result<usize>),
    /// Bytes moved from the pipe to the client.
    DrainedToClient(io::Result<usize>),
    DrainedToServer(io::Result<usize>),
    ClientWritten(io::Result<usize>),
    ServerWritten(io::Result<usize>),
    ClientFlushed(io::Result<()>),
    ServerFlushed(io::Result<()>),
    IdleTimeout,
    Shutdown,
}

/// Number of event sources the loop polls, in turn.
const SOURCES: usize = 12;

/// Relays until either side closes or fails. `client_buf` holds client
/// bytes read before relaying began (commands pipelined after LOGIN).
pub async fn run(
    client: &mut Stream,
    mut client_buf: BytesMut,
    server: &mut Stream,
    mut server_buf: BytesMut,
    relay: &mut Relay,
    traffic: &mut Traffic,
    mut options: Options,
) -> End {
    // Literal data goes socket to socket through a pipe when both sides are
    // plain TCP and nothing needs to see the bytes.
    let splicing = options.trace.is_none() && socket::tcp(client).is_some() && socket::tcp(server).is_some();
    let mut to_client = Splice::default();
    let mut to_server = Splice::default();
    // After a spliced literal, reads are short: they carry the lines
    // between literals, and the next large literal goes by splice again
    // instead of being read and copied.
    let mut client_read_size = CHUNK;
    let mut server_read_size = CHUNK;
    let mut out = Output::default();
    let mut client_open = true;
    let mut server_open = true;
    // TLS bytes written but not yet flushed, per side.
    let mut flush_client = false;
    let mut flush_server = false;
    let bytes_from_client = options.metrics.bytes.get_or_create(&DirectionLabels { direction: "from_client" }).clone();
    let bytes_from_server = options.metrics.bytes.get_or_create(&DirectionLabels { direction: "from_server" }).clone();
    let idle_timer = tokio::time::sleep(options.idle);
    tokio::pin!(idle_timer);
    let mut draining = *options.shutdown.borrow();
    let shutdown_changed = options.shutdown.changed();
    tokio::pin!(shutdown_changed);
    let mut bye_sent = false;
    let mut turn = 0usize;

    loop {
        // Both directions after every event: a `+` from the server can
        // release client input, and client input can queue replies.
        // The rare awaits below are boxed: inline, they would enlarge the
        // task of every session, idle ones included.
        if let Err(error) = relay.server_input(&mut server_buf, &mut out) {
            return Box::pin(fault(error, &mut out, client)).await;
        }
        if let Err(error) = relay.client_input(&mut client_buf, &mut out) {
            return Box::pin(fault(error, &mut out, client)).await;
        }

        // On shutdown, end at a safe point: nothing in flight, or IDLE.
        if draining && !bye_sent && (relay.is_idle() || relay.is_idling()) {
            tracing::debug!("ending the session for shutdown");
            relay.send_untagged(b"* BYE [UNAVAILABLE] Server shutting down; reconnect later\r\n", &mut out);
            bye_sent = true;
        }
        let client_sent = out.to_client.is_empty() && to_client.queued == 0 && !flush_client;
        let server_sent = out.to_server.is_empty() && to_server.queued == 0 && !flush_server;
        if bye_sent && client_sent {
            return End::Shutdown;
        }
        if !server_open && client_sent {
            if !relay.server_said_bye() && relay.server_at_boundary() {
                tracing::warn!("the server closed the connection without BYE");
                let error = SessionError::new(Blame::Upstream, "The mail server closed the connection");
                let bye = error.answer(None);
                let _ = Box::pin(tokio::time::timeout(Duration::from_secs(5), socket::write_all(client, &bye))).await;
                return End::ServerLost;
            }
            return End::ServerClosed;
        }
        if !client_open && server_sent {
            return End::ClientClosed;
        }

        // Buffers are kept while a command is in flight (a large FETCH or
        // APPEND reuses them) and released once the session is idle.
        if relay.is_idle() {
            release_idle_buffers(&mut client_buf, &mut server_buf, &mut out);
            to_client.release();
            to_server.release();
            client_read_size = CHUNK;
            server_read_size = CHUNK;
        }
        // A literal is spliced once everything before it is written; bytes
        // after it are read once the pipe is empty, so order is kept.
        let splice_to_client = to_client.len_to_splice(
            splicing && server_open,
            relay.server_bypass(),
            !server_buf.is_empty() || !out.to_client.is_empty(),
        );
        let splice_to_server = to_server.len_to_splice(
            splicing && client_open,
            relay.client_bypass(),
            !client_buf.is_empty() || !out.to_server.is_empty(),
        );
        let read_client = client_open
            && splice_to_server == 0
            && to_server.queued == 0
            && client_buf.len() < READ_AHEAD
            && out.to_server.len() < WRITE_HIGH;
        let read_server = server_open
            && splice_to_client == 0
            && to_client.queued == 0
            && server_buf.len() < READ_AHEAD
            && out.to_client.len() < WRITE_HIGH;
        let write_client = !out.to_client.is_empty() && to_client.queued == 0;
        let write_server = !out.to_server.is_empty() && to_server.queued == 0;

        // One poll function waits for every source, starting at a different
        // one each time so that no busy source starves the others.
        turn = (turn + 1) % SOURCES;
        let event = std::future::poll_fn(|cx| {
            for index in 0..SOURCES {
                let poll = match (turn + index) % SOURCES {
                    0 if read_client => {
                        socket::poll_read(client, cx, &mut client_buf, client_read_size).map(Event::ClientRead)
                    }
                    1 if read_server => {
                        socket::poll_read(server, cx, &mut server_buf, server_read_size).map(Event::ServerRead)
                    }
                    2 if splice_to_client > 0 => {
                        to_client.poll_fill(server, splice_to_client, cx).map(Event::FilledToClient)
                    }
                    3 if splice_to_server > 0 => {
                        to_server.poll_fill(client, splice_to_server, cx).map(Event::FilledToServer)
                    }
                    4 if to_client.queued > 0 => to_client.poll_drain(client, cx).map(Event::DrainedToClient),
                    5 if to_server.queued > 0 => to_server.poll_drain(server, cx).map(Event::DrainedToServer),
                    6 if write_client => socket::poll_write(client, cx, &out.to_client).map(Event::ClientWritten),
                    7 if write_server => socket::poll_write(server, cx, &out.to_server).map(Event::ServerWritten),
                    8 if flush_client => socket::poll_flush(client, cx).map(Event::ClientFlushed),
                    9 if flush_server => socket::poll_flush(server, cx).map(Event::ServerFlushed),
                    10 => idle_timer.as_mut().poll(cx).map(|()| Event::IdleTimeout),
                    11 if !draining => shutdown_changed.as_mut().poll(cx).map(|_| Event::Shutdown),
                    _ => Poll::Pending,
                };
                if poll.is_ready() {
                    return poll;
                }
            }
            Poll::Pending
        })
        .await;

        match event {
            Event::ClientRead(Ok(0)) => client_open = false,
            Event::ClientRead(Ok(count)) => {
                if let Some(trace) = &mut options.trace {
                    trace.record(Direction::FromClient, &client_buf[client_buf.len() - count..]);
                }
                traffic.from_client += count as u64;
                bytes_from_client.inc_by(count as u64);
                idle_timer.as_mut().reset(Instant::now() + options.idle);
            }
            Event::ServerRead(Ok(0)) => server_open = false,
            Event::ServerRead(Ok(count)) => {
                if let Some(trace) = &mut options.trace {
                    trace.record(Direction::FromServer, &server_buf[server_buf.len() - count..]);
                }
                traffic.from_server += count as u64;
                bytes_from_server.inc_by(count as u64);
            }
            Event::FilledToClient(Ok(0)) => server_open = false,
            Event::FilledToClient(Ok(count)) => {
                relay.server_bypassed(count as u64);
                server_read_size = SHORT_READ;
                to_client.queued += count;
                traffic.from_server += count as u64;
                bytes_from_server.inc_by(count as u64);
            }
            Event::FilledToServer(Ok(0)) => client_open = false,
            Event::FilledToServer(Ok(count)) => {
                relay.client_bypassed(count as u64);
                client_read_size = SHORT_READ;
                to_server.queued += count;
                traffic.from_client += count as u64;
                bytes_from_client.inc_by(count as u64);
                idle_timer.as_mut().reset(Instant::now() + options.idle);
            }
            Event::DrainedToClient(Ok(count)) => to_client.queued -= count,
            Event::DrainedToServer(Ok(count)) => to_server.queued -= count,
            Event::ClientWritten(Ok(count)) => {
                if let Some(trace) = &mut options.trace {
                    trace.record(Direction::ToClient, &out.to_client[..count]);
                }
                out.to_client.advance(count);
                flush_client = client.is_tls();
            }
            Event::ServerWritten(Ok(count)) => {
                if let Some(trace) = &mut options.trace {
                    trace.record(Direction::ToServer, &out.to_server[..count]);
                }
                out.to_server.advance(count);
                flush_server = server.is_tls();
            }
            Event::ClientFlushed(Ok(())) => flush_client = false,
            Event::ServerFlushed(Ok(())) => flush_server = false,
            Event::ClientRead(Err(error))
            | Event::ServerRead(Err(error))
            | Event::FilledToClient(Err(error))
            | Event::FilledToServer(Err(error))
            | Event::DrainedToClient(Err(error))
            | Event::DrainedToServer(Err(error))
            | Event::ClientWritten(Err(error))
            | Event::ServerWritten(Err(error))
            | Event::ClientFlushed(Err(error))
            | Event::ServerFlushed(Err(error)) => return End::Io(error),
            Event::IdleTimeout => {
                // IDLE lasts as long as the server allows; other silence ends here.
                if relay.is_idling() || to_client.queued > 0 {
                    idle_timer.as_mut().reset(Instant::now() + options.idle);
                } else {
                    relay.send_untagged(b"* BYE Autologout; idle for too long\r\n", &mut out);
                    let bye = socket::write_all(client, &out.to_client);
                    let _ = Box::pin(tokio::time::timeout(Duration::from_secs(5), bye)).await;
                    return End::IdleTimeout;
                }
            }
            Event::Shutdown => draining = true,
        }
    }
}

/// Gives back the memory of every empty buffer, so an idle session holds
/// no buffers. A busy direction keeps its buffer, because it is rarely
/// empty between reads.
fn release_idle_buffers(client_buf: &mut BytesMut, server_buf: &mut BytesMut, out: &mut Output) {
    for buf in [client_buf, server_buf, &mut out.to_client, &mut out.to_server] {
        if buf.is_empty() && buf.capacity() > 0 {
            *buf = BytesMut::new();
        }
    }
}

/// Sends what is pending to the client, then `* BYE` with the reason.
async fn fault(error: RelayError, out: &mut Output, client: &mut Stream) -> End {
    let text = error.to_session_error().answer(None);
    let send = async {
        socket::write_all(client, &out.to_client).await?;
        socket::write_all(client, &text).await
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), send).await;
    End::Fault(error)
}

#[cfg(test)]
mod tests;
