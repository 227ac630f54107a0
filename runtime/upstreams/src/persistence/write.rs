//! What a write to Milvus is (one row of the contract's collection) and how it
//! fails: shared by the store ([`super::milvus`]) and the upsert call
//! ([`super::upsert_rpc`]).

use std::time::Duration;

use crate::resilience::breaker::Rejected;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("Milvus is not ready: {0}")]
    NotReady(String),
    #[error("Milvus circuit is open ({0})")]
    CircuitOpen(Rejected),
    #[error("Milvus did not answer within {0:?}")]
    Timeout(Duration),
    #[error("Milvus refused the write: {0}")]
    Failed(String),
}

impl WriteError {
    /// Metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            WriteError::NotReady(_) => "not_ready",
            WriteError::CircuitOpen(_) => "circuit_open",
            WriteError::Timeout(_) => "timeout",
            WriteError::Failed(_) => "error",
        }
    }
}

/// One row of the collection.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EmbeddingRow {
    pub embedding_id: String,
    pub embedding: Vec<f32>,
    pub model: String,
    pub text: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// The `traceparent` of the request, kept while the row waits in the outbox:
    /// its replay links back to that trace. Not a column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}
