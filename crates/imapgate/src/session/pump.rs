//! Drives a [`Relay`] with two sockets: reads and writes in both
//! directions progress concurrently, each bounded, so a slow reader on one
//! side never stops the other direction.

use bytes::{Buf, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::ReadHalf;

use crate::relay::{Output, Relay, RelayError};

/// Bytes read ahead per direction before the relay consumed them.
const READ_AHEAD: usize = 64 * 1024;
/// Pending output per direction above which reading the other side pauses.
const WRITE_HIGH: usize = 256 * 1024;
/// Read size.
const CHUNK: usize = 16 * 1024;

/// How the relay ended.
#[derive(Debug)]
pub enum End {
    /// The client closed its side.
    ClientClosed,
    /// The server closed its side (after LOGOUT, or on its own).
    ServerClosed,
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

/// Relays until either side closes or fails. `client_buf` holds client
/// bytes read before relaying began (commands pipelined after LOGIN).
pub async fn run(
    client: &mut TcpStream,
    mut client_buf: BytesMut,
    server: &mut TcpStream,
    mut server_buf: BytesMut,
    relay: &mut Relay,
    traffic: &mut Traffic,
) -> End {
    let (client_read, mut client_write) = client.split();
    let (server_read, mut server_write) = server.split();
    let mut out = Output::default();
    let mut client_open = true;
    let mut server_open = true;

    loop {
        // Both directions after every event: a `+` from the server can
        // release client input, and client input can queue replies.
        if let Err(error) = relay.server_input(&mut server_buf, &mut out) {
            return fault(error, &mut out, &mut client_write).await;
        }
        if let Err(error) = relay.client_input(&mut client_buf, &mut out) {
            return fault(error, &mut out, &mut client_write).await;
        }

        if !server_open && out.to_client.is_empty() {
            return End::ServerClosed;
        }
        if !client_open && out.to_server.is_empty() {
            return End::ClientClosed;
        }

        release_idle_buffers(&mut client_buf, &mut server_buf, &mut out);
        let read_client = client_open && client_buf.len() < READ_AHEAD && out.to_server.len() < WRITE_HIGH;
        let read_server = server_open && server_buf.len() < READ_AHEAD && out.to_client.len() < WRITE_HIGH;

        // Wait for readability first and allocate the read buffer only then,
        // so an idle session keeps no read buffers.
        tokio::select! {
            ready = client_read.readable(), if read_client => match ready.and_then(|()| read_ready(&client_read, &mut client_buf)) {
                Ok(Some(0)) => client_open = false,
                Ok(Some(count)) => traffic.from_client += count as u64,
                Ok(None) => {}
                Err(error) => return End::Io(error),
            },
            ready = server_read.readable(), if read_server => match ready.and_then(|()| read_ready(&server_read, &mut server_buf)) {
                Ok(Some(0)) => server_open = false,
                Ok(Some(count)) => traffic.from_server += count as u64,
                Ok(None) => {}
                Err(error) => return End::Io(error),
            },
            written = client_write.write(&out.to_client), if !out.to_client.is_empty() => match written {
                Ok(count) => out.to_client.advance(count),
                Err(error) => return End::Io(error),
            },
            written = server_write.write(&out.to_server), if !out.to_server.is_empty() => match written {
                Ok(count) => out.to_server.advance(count),
                Err(error) => return End::Io(error),
            },
            else => return if server_open { End::ClientClosed } else { End::ServerClosed },
        }
    }
}

/// Reads the bytes available on a readable socket into `buf`. Returns `None` when the
/// readiness was spurious.
fn read_ready(half: &ReadHalf<'_>, buf: &mut BytesMut) -> std::io::Result<Option<usize>> {
    buf.reserve(CHUNK);
    match half.try_read_buf(buf) {
        Ok(count) => Ok(Some(count)),
        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
        Err(error) => Err(error),
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
async fn fault(error: RelayError, out: &mut Output, client: &mut tokio::net::tcp::WriteHalf<'_>) -> End {
    let text = match &error {
        RelayError::Client(reason) => format!("* BYE Invalid input from client: {reason}\r\n"),
        RelayError::Upstream(_) => "* BYE [UNAVAILABLE] The mail server sent an invalid response\r\n".to_string(),
    };
    let send = async {
        client.write_all(&out.to_client).await?;
        client.write_all(text.as_bytes()).await
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), send).await;
    End::Fault(error)
}
