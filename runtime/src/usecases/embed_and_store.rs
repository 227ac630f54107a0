//! Embed a text, then store it (Milvus, else the durable outbox): the one
//! sequence that `/embed_text` and `/ingest/media` (a transcription) share. The
//! write runs detached, so a request cancelled meanwhile (its timeout, a client
//! gone) still ends with the row in Milvus or the outbox. With Milvus persistence
//! turned off (`HERMES_FEATURES_DISABLED=milvus`) nothing is written and the
//! answer says so (`persisted: false` and a warning).

use hermes_engine::services::embedding::{self, EmbedError, Embedding};
use hermes_upstreams::outbox::OutboxError;
use hermes_upstreams::persistence::embeddings::persist_embedding;
use hermes_upstreams::persistence::write::EmbeddingRow;
use tracing::Instrument;

use crate::state::AppState;

/// An embedding and what became of its row.
#[derive(Debug)]
pub struct Stored {
    pub embedding: Embedding,
    /// True only once Milvus acknowledged the write.
    pub persisted: bool,
    /// Why it is not persisted yet (queued in the outbox), when it is not.
    pub warning: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EmbedAndStoreError {
    /// The text could not be embedded (empty, unknown model, model busy, ...).
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// Embedded, but stored nowhere: no id may be handed out.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The row is stored nowhere.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The detached write did not finish (the runtime is shutting down).
    #[error("the write was interrupted: {0}")]
    Interrupted(String),
}

/// The warning of an answer whose embedding is not persisted by choice.
pub const PERSISTENCE_OFF: &str = "Not persisted: Milvus persistence is turned off on this server (HERMES_FEATURES_DISABLED=milvus); the embedding is not stored anywhere";

/// Embeds `text` with `model` (`default` or an id) and stores the row.
pub async fn embed_and_store(
    state: &AppState,
    text: String,
    model: &str,
) -> Result<Stored, EmbedAndStoreError> {
    let embedding = embedding::embed_text(&state.registry, text.clone(), model).await?;
    Ok(store(state, embedding, text).await?)
}

/// Stores the row of an embedding of `text` (Milvus, else the outbox).
pub async fn store(
    state: &AppState,
    embedding: Embedding,
    text: String,
) -> Result<Stored, StoreError> {
    if !state.config.features.milvus {
        return Ok(Stored {
            embedding,
            persisted: false,
            warning: Some(PERSISTENCE_OFF.to_owned()),
        });
    }
    let row = EmbeddingRow {
        embedding_id: embedding.embedding_id.clone(),
        embedding: embedding.vector.clone(),
        model: embedding.model.to_owned(),
        text,
        timestamp: chrono::Utc::now().timestamp_millis(),
        traceparent: None,
    };
    let deliveries = std::sync::Arc::clone(&state.deliveries);
    // Detached: dropping this future (a request timeout) does not drop the write.
    // In the request's span, so the Milvus call is its child in the trace.
    let write = tokio::spawn(
        async move { persist_embedding(&deliveries.embeddings, row).await }.in_current_span(),
    );
    let report = match write.await {
        Ok(report) => report?,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => return Err(StoreError::Interrupted(e.to_string())),
    };
    Ok(Stored {
        embedding,
        persisted: report.persisted,
        warning: report.warning,
    })
}
