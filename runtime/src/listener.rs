//! The accept loop. HTTP/1.1 connections are served with the limits `axum::serve`
//! does not set: a deadline for each request's headers (`HERMES_HEADER_READ_TIMEOUT_MS`,
//! counted from when the connection waits for a request, so it also closes a
//! keep-alive connection idle that long) and a cap on connections served at once
//! (`HERMES_MAX_CONNECTIONS`); a connection over the cap is answered 503 with a JSON
//! `detail` and `Retry-After`, then closed. hyper's own answers to requests it cannot
//! parse get a JSON body (`protection::hyper_errors`). The body deadline is a middleware
//! (`protection::body_deadline`). Stopping closes the listener and lets open
//! connections finish the request they are in.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::protection::hyper_errors::JsonErrorIo;

/// What each connection may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    /// `Retry-After` of the 503 a connection over the cap gets.
    pub retry_after: Duration,
}

/// Serves `app` on `listener` until `stop` turns true, then waits for the open
/// connections' requests to finish (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => break,
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tokio::spawn(refuse(stream, limits));
            continue;
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req.map(Body::new))
        });
        // hyper's own 400/414/431 answers get a JSON body on their way out.
        let io = TokioIo::new(JsonErrorIo::new(stream));
        let connection = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, peer = %peer, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Resolves once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // `wait_for`'s guard is not Send; only whether it happened matters here.
    let _ = stop.wait_for(|stop| *stop).await.map(|_| ());
}

/// The answer of a connection over the cap, written without reading its request.
async fn refuse(mut stream: TcpStream, limits: ConnectionLimits) {
    tracing::info!(
        max_connections = limits.max_connections,
        "connection refused: too many open connections"
    );
    let body = format!(
        r#"{{"detail":"Too many open connections (at most {}); retry later"}}"#,
        limits.max_connections
    );
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: {}\r\nconnection: close\r\n\r\n{body}",
        body.len(),
        limits.retry_after.as_secs().max(1)
    );
    let write = async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    };
    // A client that does not read cannot hold this task either.
    let _ = tokio::time::timeout(Duration::from_secs(5), write).await;
}
