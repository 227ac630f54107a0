//! The process lifecycle: listen first (so probes answer), load the models, serve
//! until SIGTERM/SIGINT, then drain in-flight requests within the grace period.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use hermes_engine::models::registry::{LoadError, Registry};
use hermes_engine::models::worker::WorkerLimits;
use hermes_upstreams::deliveries;

use crate::config::Config;
use crate::gateway::Gateway;
use crate::metrics::Metrics;
use crate::state::{AppState, VERSION};
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
    Http(#[from] hermes_upstreams::outbound::ClientBuildError),
    #[error("HERMES_OUTBOX_DIR: {0}")]
    Outbox(#[from] hermes_upstreams::outbox::OutboxError),
    #[error("server failed: {0}")]
    Serve(String),
}

/// Time background deliveries get to finish their current step at shutdown.
const BACKGROUND_STOP: std::time::Duration = std::time::Duration::from_secs(2);

/// Requests of a model of `task` this runtime runs at once: its working memory
/// is reserved that many times ([`crate::memory_budget`]).
pub fn concurrency(config: &Config, task: hermes_interface::Task) -> usize {
    use hermes_interface::Task;
    use hermes_interface::catalog::default_concurrency;
    match task {
        Task::Stt => config.stt.concurrency,
        // One forward pass at a time per ONNX Runtime session.
        Task::Embedding => config.embedding.sessions,
        other => default_concurrency(other) as usize,
    }
}

/// Runs the server until a shutdown signal (`Ok`) or a fatal error.
pub async fn run(config: Config) -> Result<(), RunError> {
    let config = Arc::new(config);
    let signal = shutdown::signal_received();
    tokio::pin!(signal);

    let metrics = Arc::new(Metrics::new(VERSION));
    let registry = Arc::new(
        Registry::new(
            &config.model_dir,
            &config.models,
            WorkerLimits::for_this_machine(),
        )
        .with_tts(config.tts.clone())
        .with_stt(config.stt)
        .with_embedding(config.embedding.clone())
        .with_batch_observer(metrics.embedding.clone()),
    );
    metrics.embedding.watch_cache(registry.embedding_cache());
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

    let http = hermes_upstreams::outbound::build_client()?;
    let (deliveries, background) = deliveries::start(
        config.features.milvus,
        &config.milvus,
        &config.sophia,
        &config.delivery,
        http.clone(),
        &metrics.delivery,
    )?;
    let gateway = Arc::new(Gateway::new(
        config.llm.clone(),
        Arc::clone(&registry),
        http,
        &metrics.delivery,
    ));
    let protection = crate::protection::Protection::start(&config.protection, Arc::clone(&metrics));
    if !protection.keys.enabled() && !local.ip().is_loopback() {
        tracing::warn!(
            addr = %local,
            "authentication is off (no API key configured) and the server listens beyond loopback: \
             set HERMES_API_KEYS or HERMES_API_KEYS_FILE"
        );
    }
    let state = AppState {
        config: Arc::clone(&config),
        registry: Arc::clone(&registry),
        metrics,
        started_at: std::time::Instant::now(),
        gateway,
        deliveries: Arc::clone(&deliveries),
        protection,
    };
    let app = api::router(state);
    let (stop_tx, stop_rx) = watch::channel(false);
    let limits = crate::listener::ConnectionLimits {
        header_read_timeout: config.protection.header_read_timeout,
        max_connections: config.protection.max_connections,
        retry_after: config.protection.retry_after,
    };
    let mut serving = tokio::spawn(crate::listener::serve(listener, app, limits, stop_rx));

    let loading = registry.load_all(config.test_load_delay);
    tokio::pin!(loading);
    let mut loaded = false;
    loop {
        tokio::select! {
            result = &mut loading, if !loaded => {
                result?;
                loaded = true;
                tracing::info!("all models ready");
                eprintln!("{}", ready_line(local, &model_ids));
                deliveries.models_loaded(hermes_engine::services::embedding::default_dimension(&registry));
            }
            name = &mut signal => {
                tracing::info!(signal = name, grace_seconds = config.shutdown_grace.as_secs_f64(), "shutting down: draining in-flight requests");
                break;
            }
            finished = &mut serving => {
                return Err(RunError::Serve(match finished {
                    Ok(()) => "the listener stopped unexpectedly".into(),
                    Err(e) => e.to_string(),
                }));
            }
        }
    }

    let _ = stop_tx.send(true);
    match tokio::time::timeout(config.shutdown_grace, &mut serving).await {
        Ok(Ok(())) => tracing::info!("stopped"),
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

/// The one human line printed (stderr) when every model is ready: where the
/// server listens, what it loaded, and a request to try.
fn ready_line(addr: SocketAddr, models: &[&str]) -> String {
    let host = if addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        addr.ip()
    };
    let url = format!("http://{}", SocketAddr::new(host, addr.port()));
    let embeds = models.iter().any(|id| {
        hermes_interface::catalog::find(id)
            .is_some_and(|m| m.task == hermes_interface::Task::Embedding)
    });
    let example = if embeds {
        format!(
            "curl -s {url}/embed_text -H 'content-type: application/json' -d '{{\"text\": \"hello\"}}'"
        )
    } else {
        format!("curl -s {url}/health")
    };
    let models = if models.is_empty() {
        "none".to_owned()
    } else {
        models.join(", ")
    };
    format!("hermes-runtime ready on {url} (models: {models}); try: {example}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_names_the_url_models_and_a_request() {
        let line = ready_line("0.0.0.0:8080".parse().unwrap(), &["all-minilm-l6-v2"]);
        assert!(line.contains("http://127.0.0.1:8080"), "{line}");
        assert!(line.contains("models: all-minilm-l6-v2"), "{line}");
        assert!(
            line.contains("curl -s http://127.0.0.1:8080/embed_text"),
            "{line}"
        );
        let line = ready_line("127.0.0.1:9000".parse().unwrap(), &[]);
        assert!(
            line.contains("curl -s http://127.0.0.1:9000/health"),
            "{line}"
        );
    }
}
