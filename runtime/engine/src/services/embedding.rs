//! Text embeddings: pick the requested model, run it on its worker.

use hermes_interface::Task;

use crate::models::embedding::EmbeddingError;
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
    #[error(transparent)]
    Worker(#[from] WorkerError),
    #[error(transparent)]
    Inference(#[from] EmbeddingError),
    #[error("model {0} returned no vector")]
    NoVector(&'static str),
}

/// The vector length of `model` (`default` or an id), once it is loaded.
pub fn dimension(registry: &Registry, model: &str) -> Result<usize, EmbedError> {
    let (_, loaded) = registry.resolve(Task::Embedding, model)?;
    let LoadedModel::Embedding(worker) = loaded else {
        return Err(EmbedError::Model(ResolveError::NotServed {
            task: Task::Embedding.as_str(),
        }));
    };
    Ok(worker.model().dimension())
}

/// Tokens `model` reads of `text` (cheap: tokenisation only, on the caller's thread).
pub fn count_tokens(registry: &Registry, text: &str, model: &str) -> Result<usize, EmbedError> {
    let (_, loaded) = registry.resolve(Task::Embedding, model)?;
    let LoadedModel::Embedding(worker) = loaded else {
        return Err(EmbedError::Model(ResolveError::NotServed {
            task: Task::Embedding.as_str(),
        }));
    };
    Ok(worker.model().count_tokens(text)?)
}

/// Embeds `text` with `model` (`default` or a model id) off the async executor.
pub async fn embed_text(
    registry: &Registry,
    text: String,
    model: &str,
) -> Result<Embedding, EmbedError> {
    if text.trim().is_empty() {
        return Err(EmbedError::EmptyText);
    }
    let (entry, loaded) = registry.resolve(Task::Embedding, model)?;
    let LoadedModel::Embedding(worker) = loaded else {
        return Err(EmbedError::Model(ResolveError::NotServed {
            task: Task::Embedding.as_str(),
        }));
    };
    tracing::debug!(
        model = entry.id,
        text_chars = text.chars().count(),
        "embedding text"
    );
    let vectors = worker.run(move |m| m.embed(&[text.as_str()])).await??;
    let vector = vectors
        .into_iter()
        .next()
        .ok_or(EmbedError::NoVector(entry.id))?;
    Ok(Embedding {
        vector,
        model: entry.id,
        embedding_id: uuid::Uuid::new_v4().to_string(),
    })
}

/// Dimension of the default embedding model's vectors: `None` when no embedding
/// model is served or it is not loaded yet.
pub fn default_dimension(registry: &Registry) -> Option<usize> {
    let (_, loaded) = registry.resolve(Task::Embedding, "default").ok()?;
    let LoadedModel::Embedding(worker) = loaded else {
        return None;
    };
    Some(worker.model().dimension())
}
