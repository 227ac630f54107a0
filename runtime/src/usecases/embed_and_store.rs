//! Embed a text, then store it (Milvus, else the durable outbox): the one
//! sequence that `/embed_text` and `/ingest/media` (a transcription) share.

use hermes_engine::services::embedding::{self, EmbedError, Embedding};
use hermes_upstreams::outbox::OutboxError;
use hermes_upstreams::persistence::embeddings::persist_embedding;
use hermes_upstreams::persistence::milvus::EmbeddingRow;

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
    Store(#[from] OutboxError),
}

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
) -> Result<Stored, OutboxError> {
    let row = EmbeddingRow {
        embedding_id: embedding.embedding_id.clone(),
        embedding: embedding.vector.clone(),
        model: embedding.model.to_owned(),
        text,
        timestamp: chrono::Utc::now().timestamp_millis(),
    };
    let report = persist_embedding(&state.deliveries.embeddings, row).await?;
    Ok(Stored {
        embedding,
        persisted: report.persisted,
        warning: report.warning,
    })
}
