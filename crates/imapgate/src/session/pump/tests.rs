//! The relay loop's timers, with tokio's paused clock and loopback sockets.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use imapgate_proto::encode::LiteralSupport;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{End, Options, Traffic, run};
use crate::filter::{Chain, SessionInfo};
use crate::metrics::Metrics;
use crate::relay::{Relay, RelayLimits};
use crate::session::stream::Stream;

const IDLE: Duration = Duration::from_secs(1800);

/// A connected pair of loopback sockets.
async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let connect = TcpStream::connect(listener.local_addr().unwrap());
    let (accepted, connected) = tokio::join!(listener.accept(), connect);
    (accepted.unwrap().0, connected.unwrap())
}

fn relay() -> Relay {
    let session = SessionInfo {
        user: "user".into(),
        server_delimiter: Some('.'),
        server_namespaces: Vec::new(),
        utf8: false,
        server_literals: LiteralSupport::NonSyncAny,
    };
    Relay::new(Chain::default(), session, RelayLimits { max_line: 4096, max_collected: 65536, max_pipelined: 100 })
}

/// Starts the relay loop between a test client and a test server.
async fn start() -> (TcpStream, TcpStream, tokio::task::JoinHandle<End>) {
    let (proxy_client, test_client) = pair().await;
    let (proxy_server, test_server) = pair().await;
    let (mut proxy_client, mut proxy_server) = (Stream::Plain(proxy_client), Stream::Plain(proxy_server));
    let (_sender, shutdown) = tokio::sync::watch::channel(false);
    let options = Options { idle: IDLE, shutdown, metrics: Arc::new(Metrics::new()), trace: None };
    let task = tokio::spawn(async move {
        let _sender = _sender;
        let mut relay = relay();
        let mut traffic = Traffic::default();
        run(&mut proxy_client, BytesMut::new(), &mut proxy_server, BytesMut::new(), &mut relay, &mut traffic, options)
            .await
    });
    (test_client, test_server, task)
}

async fn read_some(stream: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 4096];
    let count = stream.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..count]).into_owned()
}

#[tokio::test(start_paused = true)]
async fn silent_client_gets_bye_after_idle_time() {
    let (mut client, _server, task) = start().await;
    let bye = read_some(&mut client).await;
    assert_eq!(bye, "* BYE Autologout; idle for too long\r\n");
    assert!(matches!(task.await.unwrap(), End::IdleTimeout));
}

#[tokio::test(start_paused = true)]
async fn idle_command_is_not_cut() {
    let (mut client, mut server, task) = start().await;
    client.write_all(b"a1 IDLE\r\n").await.unwrap();
    assert_eq!(read_some(&mut server).await, "a1 IDLE\r\n");
    server.write_all(b"+ idling\r\n").await.unwrap();
    assert_eq!(read_some(&mut client).await, "+ idling\r\n");

    // Two hours in IDLE: longer than the idle time, and the session stays.
    tokio::time::sleep(Duration::from_secs(7200)).await;
    assert!(!task.is_finished());
    client.write_all(b"DONE\r\n").await.unwrap();
    assert_eq!(read_some(&mut server).await, "DONE\r\n");
    server.write_all(b"a1 OK Idle completed\r\n").await.unwrap();
    assert_eq!(read_some(&mut client).await, "a1 OK Idle completed\r\n");

    // Out of IDLE, silence ends the session again.
    assert_eq!(read_some(&mut client).await, "* BYE Autologout; idle for too long\r\n");
    assert!(matches!(task.await.unwrap(), End::IdleTimeout));
}
