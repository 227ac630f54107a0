//! Persisting one embedding: a direct upsert when Milvus acknowledges it, else
//! the durable outbox (the answer then says `persisted: false` with a warning)
//! and the background replay. Also the outbox's deliverer for Milvus.

use std::sync::Arc;

use tokio::sync::Notify;

use super::milvus::{DEPENDENCY, MilvusStore};
use super::write::{EmbeddingRow, WriteError};
use crate::outbox::Outbox;
use crate::outbox::enqueue::enqueue_json;
use crate::outbox::log::OutboxError;
use crate::outbox::replay::{Deliver, DeliveryFailure, ReplayObserver};
use crate::resilience::metrics::DeliveryMetrics;

/// What became of an embedding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Persisted {
    /// Milvus acknowledged the upsert.
    Now,
    /// Queued durably; replayed until Milvus acknowledges it. The string says why.
    Queued(String),
}

#[derive(Debug)]
pub struct EmbeddingPersistence {
    pub store: Arc<MilvusStore>,
    pub outbox: Arc<Outbox>,
    /// Notified on each append so the replay wakes up.
    pub wake: Arc<Notify>,
    metrics: DeliveryMetrics,
}

impl EmbeddingPersistence {
    pub fn new(store: Arc<MilvusStore>, outbox: Arc<Outbox>, metrics: DeliveryMetrics) -> Self {
        metrics.set_depth(DEPENDENCY, outbox.depth());
        Self {
            store,
            outbox,
            wake: Arc::new(Notify::new()),
            metrics,
        }
    }

    /// Writes `row` to Milvus or, failing that, to the outbox. An error means the
    /// row is stored nowhere (the outbox is full or its disk failed): the caller
    /// must not hand out its id.
    pub async fn persist(&self, mut row: EmbeddingRow) -> Result<Persisted, OutboxError> {
        let failure = match self.store.upsert(std::slice::from_ref(&row)).await {
            Ok(()) => return Ok(Persisted::Now),
            Err(e) => e,
        };
        self.metrics.failure(DEPENDENCY, failure.reason());
        // The replay's span links back to this request's trace.
        row.traceparent = crate::trace_context::traceparent();
        match enqueue_json(&self.outbox, DEPENDENCY, &self.metrics, &self.wake, &row).await {
            Ok(()) => Ok(Persisted::Queued(queued_warning(&failure))),
            Err(e) => {
                tracing::error!(error = %e, milvus_error = %failure, "embedding neither persisted nor queued");
                Err(e)
            }
        }
    }
}

/// The client's warning: why, without the addresses the error may name (the
/// log has them).
fn queued_warning(failure: &WriteError) -> String {
    format!(
        "Not persisted to Milvus yet ({}); the embedding is queued in the durable outbox and written as soon as Milvus acknowledges it",
        crate::addresses::scrub(&failure.to_string())
    )
}

/// Replays Milvus outbox records in batches.
#[derive(Debug)]
pub struct MilvusDeliverer {
    pub store: Arc<MilvusStore>,
}

impl Deliver for MilvusDeliverer {
    fn max_batch(&self) -> usize {
        64
    }

    async fn deliver(&self, records: &[(u64, Vec<u8>)]) -> Result<(), DeliveryFailure> {
        let mut rows = Vec::with_capacity(records.len());
        for (seq, payload) in records {
            match serde_json::from_slice::<EmbeddingRow>(payload) {
                Ok(row) => rows.push(row),
                // Cannot happen with a CRC-checked record we wrote ourselves;
                // say so loudly rather than blocking the queue forever.
                Err(e) => {
                    tracing::error!(seq, error = %e, "undecodable Milvus outbox record skipped")
                }
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        self.store.upsert(&rows).await.map_err(|e| {
            let reason = e.reason();
            DeliveryFailure::transient(reason, e.to_string())
        })
    }
}

/// Metrics of one dependency's replay.
#[derive(Debug, Clone)]
pub struct ReplayMetrics {
    pub dependency: &'static str,
    pub metrics: DeliveryMetrics,
}

impl ReplayObserver for ReplayMetrics {
    fn delivered(&self, records: u64) {
        self.metrics.replayed(self.dependency, records);
    }
    fn failed(&self, reason: &'static str) {
        self.metrics.failure(self.dependency, reason);
    }
    fn depth_changed(&self, outbox: &Outbox) {
        self.metrics.set_depth(self.dependency, outbox.depth());
    }
}

/// The `persisted` / `warning` pair of an `/embed_text` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistReport {
    pub persisted: bool,
    pub warning: Option<String>,
}

/// Persists one embedding for `/embed_text`. `Err`: stored nowhere (the caller
/// answers 503 instead of handing out an id that points to nothing).
pub async fn persist_embedding(
    persistence: &EmbeddingPersistence,
    row: EmbeddingRow,
) -> Result<PersistReport, OutboxError> {
    Ok(match persistence.persist(row).await? {
        Persisted::Now => PersistReport {
            persisted: true,
            warning: None,
        },
        Persisted::Queued(warning) => PersistReport {
            persisted: false,
            warning: Some(warning),
        },
    })
}
