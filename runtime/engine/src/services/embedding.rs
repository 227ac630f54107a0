//! Text embeddings: pick the requested model, embed through its batching queue
//! (and the shared cache); every call gets its own `embedding_id`.

use hermes_interface::{ModelEntry, Task};

use crate::models::batcher::{BatchError, Batcher};
use crate::models::embedding_onnx::OnnxEmbedder;
use crate::models::registry::{LoadedModel, Registry, ResolveError};
use crate::models::worker::WorkerError;

/// One embedded text.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    pub vector: Vec<f32>,
    pub model: &'static str,
    pub embedding_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("text is empty")]
    EmptyText,
    #[error(transparent)]
    Model(#[from] ResolveError),
    /// Busy (a full queue: 503) or stopped, as for every model worker.
    #[error(transparent)]
    Worker(#[from] WorkerError),
    #[error(transparent)]
    Inference(BatchError),
    #[error("model {0} returned no vector")]
    NoVector(&'static str),
}

/// Embeds `text` with `model` (`default` or a model id): from the cache, else in
/// a batched forward pass on the model's worker threads.
pub async fn embed_text(
    registry: &Registry,
    text: String,
    model: &str,
) -> Result<Embedding, EmbedError> {
    if text.trim().is_empty() {
        return Err(EmbedError::EmptyText);
    }
    let (entry, batcher) = resolve(registry, model)?;
    tracing::debug!(
        model = entry.id,
        text_chars = text.chars().count(),
        "embedding text"
    );
    let vector = batcher.embed(&text).await.map_err(from_batch)?;
    if vector.is_empty() {
        return Err(EmbedError::NoVector(entry.id));
    }
    Ok(Embedding {
        vector: vector.to_vec(),
        model: entry.id,
        embedding_id: uuid::Uuid::new_v4().to_string(),
    })
}

/// The embedding model a request names (`default` or an id) and its batching queue.
fn resolve<'r>(
    registry: &'r Registry,
    model: &str,
) -> Result<(&'static ModelEntry, &'r Batcher<OnnxEmbedder>), EmbedError> {
    let (entry, loaded) = registry.resolve(Task::Embedding, model)?;
    let LoadedModel::Embedding(batcher) = loaded else {
        return Err(EmbedError::Model(ResolveError::NotServed {
            task: Task::Embedding.as_str(),
        }));
    };
    Ok((entry, batcher))
}

/// The vector length of `model` (`default` or an id), once it is loaded.
pub fn dimension(registry: &Registry, model: &str) -> Result<usize, EmbedError> {
    let (_, batcher) = resolve(registry, model)?;
    Ok(batcher.model().dimension())
}

/// Tokens `model` reads of `text` (special tokens included, after truncation):
/// what an OpenAI client's `usage` counts. Tokenisation only, on the caller's thread.
pub fn count_tokens(registry: &Registry, text: &str, model: &str) -> Result<usize, EmbedError> {
    let (entry, batcher) = resolve(registry, model)?;
    batcher
        .model()
        .tokenize(text)
        .map(|ids| ids.len())
        .map_err(|e| {
            EmbedError::Inference(BatchError::Tokenize {
                model: entry.id,
                detail: e.to_string(),
            })
        })
}

/// Dimension of the default embedding model's vectors: `None` when no embedding
/// model is served or it is not loaded yet.
pub fn default_dimension(registry: &Registry) -> Option<usize> {
    dimension(registry, "default").ok()
}

/// A full queue is the same 503 as a busy worker; stopped workers the same 500.
fn from_batch(err: BatchError) -> EmbedError {
    match err {
        BatchError::Busy { model, queue } => EmbedError::Worker(WorkerError::Busy { model, queue }),
        BatchError::Stopped { model } => EmbedError::Worker(WorkerError::Crashed {
            model,
            reason: "its batching workers have stopped",
        }),
        other => EmbedError::Inference(other),
    }
}
