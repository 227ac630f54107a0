//! `hermes-operator run`: the HTTP endpoints, leader election, and the controller while
//! this replica leads. Losing the Lease stops the process (the pod restarts as a
//! standby), so a former leader never acts on a stale view.

use crate::catalog::Catalog;
use crate::context::Context;
use crate::controller;
use crate::events::{recorder, reporter};
use crate::leader::{Elector, Timing};
use crate::metrics::Metrics;
use crate::server::{ServerState, router};
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::watch;

pub struct Options {
    pub metrics_addr: SocketAddr,
    pub lease_name: String,
    pub lease_namespace: String,
    pub identity: Option<String>,
    pub prometheus_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("serving HTTP: {0}")]
    Serve(#[source] std::io::Error),
    #[error("lost the leader Lease; exiting so that this pod restarts as a standby")]
    LostLeadership,
    #[error("--prometheus-url: {0}")]
    Prometheus(#[source] crate::analysis::prometheus::QueryError),
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| format!("hermes-operator-{}", std::process::id()))
}

pub async fn run(opts: Options) -> Result<(), RunError> {
    let identity = opts.identity.unwrap_or_else(hostname);
    let prometheus = opts
        .prometheus_url
        .as_deref()
        .map(crate::analysis::prometheus::Prometheus::standalone)
        .transpose()
        .map_err(RunError::Prometheus)?;
    let mut registry = Registry::default();
    let metrics = Metrics::new(&mut registry);
    let (ready_tx, ready_rx) = watch::channel(false);
    let (leading_tx, mut leading_rx) = watch::channel(false);

    let listener = tokio::net::TcpListener::bind(opts.metrics_addr)
        .await
        .map_err(|source| RunError::Bind {
            addr: opts.metrics_addr,
            source,
        })?;
    let app = router(ServerState {
        registry: Arc::new(registry),
        ready: ready_rx,
    });
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let client = kube::Client::try_default()
        .await
        .map_err(RunError::Client)?;
    let elector = Elector::new(
        client.clone(),
        &opts.lease_namespace,
        &opts.lease_name,
        &identity,
        Timing::default(),
    );
    tokio::spawn(elector.run(leading_tx, ready_tx));
    tracing::info!(%identity, lease = %opts.lease_name, "waiting for leadership");

    tokio::select! {
        _ = shutdown_signal() => return Ok(()),
        r = server => return r.map_err(|e| RunError::Serve(std::io::Error::other(e))).and_then(|r| r.map_err(RunError::Serve)),
        _ = leading_rx.wait_for(|leading| *leading) => {}
    }
    tracing::info!(%identity, "leading: starting the controller");
    metrics.leader.set(1);
    let mut ctx = Context::new(
        client.clone(),
        Catalog::builtin(),
        recorder(client, reporter(Some(identity))),
        metrics.clone(),
    );
    if let Some(p) = prometheus {
        ctx = ctx.with_prometheus(p);
    }
    let ctx = Arc::new(ctx);
    // Stop on SIGINT/SIGTERM, or when the Lease is lost (then exit non-zero).
    let lost_lease = Arc::new(AtomicBool::new(false));
    let flag = lost_lease.clone();
    let mut lost = leading_rx.clone();
    let shutdown = async move {
        tokio::select! {
            _ = shutdown_signal() => {}
            _ = lost.wait_for(|leading| !*leading) => flag.store(true, Ordering::SeqCst),
        }
    };
    controller::run(ctx, shutdown).await;
    metrics.leader.set(0);
    if lost_lease.load(Ordering::SeqCst) {
        return Err(RunError::LostLeadership);
    }
    Ok(())
}

/// SIGTERM (what the kubelet sends) or SIGINT.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
