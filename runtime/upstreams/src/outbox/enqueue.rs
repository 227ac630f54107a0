//! Queuing one record from async code: the one path every dependency's producer
//! takes (Milvus embeddings, Sophia proposals), so encoding, the fsync'd append
//! off the executor, the depth metric, waking the replayer and counting a full
//! outbox cannot drift apart between them.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Notify;

use super::log::{Outbox, OutboxError};
use crate::resilience::metrics::DeliveryMetrics;

/// Appends `record` as JSON to `outbox` (on the blocking pool: the append
/// fsyncs), then updates the depth metric and wakes the replay. A full outbox is
/// counted as a rejection; every error means the record is stored nowhere.
pub async fn enqueue_json<T: Serialize>(
    outbox: &Arc<Outbox>,
    dependency: &'static str,
    metrics: &DeliveryMetrics,
    wake: &Notify,
    record: &T,
) -> Result<(), OutboxError> {
    let io_error =
        |action: &'static str, e: Box<dyn std::error::Error + Send + Sync>| OutboxError::Io {
            name: dependency,
            action,
            path: std::path::PathBuf::new(),
            source: std::io::Error::other(e),
        };
    let payload = serde_json::to_vec(record)
        .map_err(|e| io_error("cannot encode a record for", Box::new(e)))?;
    let appender = Arc::clone(outbox);
    let appended = tokio::task::spawn_blocking(move || appender.append(payload))
        .await
        .map_err(|e| io_error("append task failed for", Box::new(e)))?;
    match appended {
        Ok(_) => {
            metrics.set_depth(dependency, outbox.depth());
            wake.notify_one();
            Ok(())
        }
        Err(e) => {
            if matches!(e, OutboxError::Full { .. }) {
                metrics.rejected(dependency);
            }
            Err(e)
        }
    }
}
