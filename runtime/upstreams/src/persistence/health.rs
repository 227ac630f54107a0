//! The Milvus entry of `/health`: the truth about connection, collection,
//! dimension problems and the outbox.

use serde_json::Value;

use super::embeddings::EmbeddingPersistence;
use super::milvus::MilvusStatus;
use crate::resilience::breaker::CircuitState;

impl EmbeddingPersistence {
    /// The `/health` entry: connection, collection, dimension and outbox depth.
    pub fn health(&self) -> Value {
        self.store.health(self.outbox.depth())
    }

    /// False while embeddings cannot be persisted right away (Milvus down, wrong
    /// schema, circuit not closed): `/health` then says `degraded`. Models still serve.
    pub fn healthy(&self) -> bool {
        matches!(
            self.store.status(),
            MilvusStatus::Ready { .. } | MilvusStatus::NoEmbeddingModel
        ) && self.store.circuit() == CircuitState::Closed
    }
}
