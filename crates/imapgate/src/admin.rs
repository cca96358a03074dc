//! The admin listener: a minimal HTTP/1.1 server for `/metrics` and
//! `/health`. One request per connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::metrics::Metrics;

/// Largest request head read.
const MAX_REQUEST: usize = 8 * 1024;

/// Serves the admin endpoints on `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let metrics = metrics.clone();
                tokio::spawn(async move {
                    if let Err(error) = tokio::time::timeout(Duration::from_secs(10), respond(stream, &metrics)).await {
                        tracing::debug!(%peer, %error, "admin request timed out");
                    }
                });
            }
            Err(error) => {
                tracing::error!(%error, "accepting an admin connection failed; retrying in 100 ms");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn respond(mut stream: TcpStream, metrics: &Metrics) {
    let mut request = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(count) => request.extend_from_slice(&buf[..count]),
        }
        if request.len() > MAX_REQUEST {
            let _ =
                write(&mut stream, "431 Request Header Fields Too Large", "text/plain", "request too large\n").await;
            return;
        }
    }
    let line = request.split(|byte| *byte == b'\n').next().unwrap_or_default();
    let mut parts = line.split(|byte| *byte == b' ');
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();

    let _ = match (method, path) {
        (b"GET", b"/metrics") => {
            write(
                &mut stream,
                "200 OK",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                &metrics.encode(),
            )
            .await
        }
        (b"GET", b"/health") => write(&mut stream, "200 OK", "text/plain", "ok\n").await,
        (b"GET", _) => write(&mut stream, "404 Not Found", "text/plain", "known paths: /metrics, /health\n").await,
        _ => write(&mut stream, "405 Method Not Allowed", "text/plain", "only GET is served\n").await,
    };
}

async fn write(stream: &mut TcpStream, status: &str, content_type: &str, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}
