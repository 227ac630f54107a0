//! The process lifecycle: listen first (so probes answer), load the models, serve
//! until SIGTERM/SIGINT, then drain in-flight requests within the grace period.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::models::registry::{LoadError, Registry};
use crate::models::worker::WorkerLimits;
use crate::state::AppState;
use crate::{api, shutdown};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("HERMES_HOST/HERMES_PORT: cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Http(#[from] crate::outbound::ClientBuildError),
    #[error("HERMES_OUTBOX_DIR: {0}")]
    Outbox(#[from] crate::outbox::OutboxError),
    #[error("server failed: {0}")]
    Serve(String),
}

/// Time background deliveries get to finish their current step at shutdown.
const BACKGROUND_STOP: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs the server until a shutdown signal (`Ok`) or a fatal error.
pub async fn run(config: Config) -> Result<(), RunError> {
    let config = Arc::new(config);
    let signal = shutdown::signal_received();
    tokio::pin!(signal);

    let registry = Arc::new(
        Registry::new(
            &config.model_dir,
            &config.models,
            WorkerLimits::for_this_machine(),
        )
        .with_tts(config.tts.clone())
        .with_stt(config.stt),
    );
    let addr = SocketAddr::new(config.host, config.port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| RunError::Bind { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    let model_ids: Vec<&str> = config.models.iter().map(|m| m.id).collect();
    let skipped: Vec<&str> = config.skipped_models.iter().map(|m| m.id).collect();
    tracing::info!(addr = %local, models = ?model_ids, skipped_unserved = ?skipped, "listening");
    if model_ids.is_empty() {
        tracing::warn!(model_dir = %config.model_dir.display(), "no model to load: every capability is unavailable");
    }

    let http = crate::outbound::build_client()?;
    let state = AppState::new(Arc::clone(&config), Arc::clone(&registry), http);
    let (deliveries, background) =
        crate::persistence::start::start(&config, state.http.clone(), &state.metrics.delivery)?;
    let app = api::router(state.with_deliveries(Arc::clone(&deliveries)));
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let serving = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        })
        .into_future();
    let mut serving = tokio::spawn(serving);

    let loading = registry.load_all(config.test_load_delay);
    tokio::pin!(loading);
    let mut loaded = false;
    loop {
        tokio::select! {
            result = &mut loading, if !loaded => {
                result?;
                loaded = true;
                tracing::info!("all models ready");
                deliveries.models_loaded(crate::services::embedding::default_dimension(&registry));
            }
            name = &mut signal => {
                tracing::info!(signal = name, grace_seconds = config.shutdown_grace.as_secs_f64(), "shutting down: draining in-flight requests");
                break;
            }
            finished = &mut serving => {
                return Err(RunError::Serve(match finished {
                    Ok(Ok(())) => "the listener stopped unexpectedly".into(),
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => e.to_string(),
                }));
            }
        }
    }

    let _ = stop_tx.send(true);
    match tokio::time::timeout(config.shutdown_grace, &mut serving).await {
        Ok(Ok(Ok(()))) => tracing::info!("stopped"),
        Ok(Ok(Err(e))) => return Err(RunError::Serve(e.to_string())),
        Ok(Err(e)) => return Err(RunError::Serve(e.to_string())),
        Err(_) => {
            serving.abort();
            tracing::warn!("grace period over: remaining requests abandoned");
        }
    }
    let left = deliveries.drain(config.delivery.outbox_drain).await;
    if left > 0 {
        tracing::error!(
            records = left,
            outbox_dir = %config.delivery.outbox_dir.display(),
            "exiting with records not delivered: they stay in the outbox folder and are \
             replayed by the next start on it (a pod's emptyDir is deleted with the pod: \
             mount a persistent volume there to keep them)"
        );
    }
    background.stop(BACKGROUND_STOP).await;
    Ok(())
}
