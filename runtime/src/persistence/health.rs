//! The Milvus entry of `/health`: the truth about connection, collection,
//! dimension problems and the outbox.

use serde_json::{Value, json};

use super::milvus::MilvusStatus;
use crate::state::AppState;

pub fn milvus_entry(state: &AppState) -> Value {
    match state.deliveries.as_deref() {
        Some(d) => d.embeddings.store.health(d.embeddings.outbox.depth()),
        None => json!({
            "status": "unavailable",
            "connected": false,
            "details": {
                "host": state.config.milvus.host,
                "port": state.config.milvus.port,
                "collection": state.config.milvus.collection,
                "reason": "persistence is not running in this process",
            },
        }),
    }
}

/// False while embeddings cannot be persisted right away (Milvus down, wrong
/// schema, circuit not closed): `/health` then says `degraded`. Models still serve.
pub fn milvus_healthy(state: &AppState) -> bool {
    state.deliveries.as_deref().is_some_and(|d| {
        matches!(
            d.embeddings.store.status(),
            MilvusStatus::Ready { .. } | MilvusStatus::NoEmbeddingModel
        ) && d.embeddings.store.circuit() == crate::resilience::breaker::CircuitState::Closed
    })
}
