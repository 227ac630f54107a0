//! Loads an embedding model for serving: the ONNX embedder, one real warm-up pass
//! on each session, then its batching queue sharing the process-wide cache.

use std::path::Path;
use std::sync::Arc;

use super::batcher::{BatchObserver, BatchSettings, Batcher};
use super::embedding_cache::EmbeddingCache;
use super::embedding_onnx::{OnnxEmbedder, OnnxEmbeddingSettings};
use crate::config::EmbeddingConfig;

/// Text of the warm-up inference each embedding model runs before it is ready.
const WARM_UP_TEXT: &str = "Hermes warms up its embedding model with one real sentence.";

/// What every embedding model of the process is served with.
pub struct EmbeddingServing {
    pub config: EmbeddingConfig,
    /// One cache for every embedding model (keyed by model and text).
    pub cache: Arc<EmbeddingCache>,
    /// Receives queue and batch measurements (the binary's `/metrics`).
    pub observer: Arc<dyn BatchObserver>,
}

impl std::fmt::Debug for EmbeddingServing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddingServing")
            .field("config", &self.config)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl EmbeddingServing {
    /// `config`'s cache, no observer.
    pub fn new(config: EmbeddingConfig) -> Self {
        Self {
            cache: Arc::new(EmbeddingCache::new(config.cache_bytes)),
            observer: Arc::new(()),
            config,
        }
    }
}

impl Default for EmbeddingServing {
    fn default() -> Self {
        Self::new(EmbeddingConfig::default())
    }
}

/// Loads `model.onnx` of `dir`, warms every session up and starts the queue.
pub fn load_and_warm_up(
    id: &'static str,
    dir: &Path,
    serving: &EmbeddingServing,
) -> Result<Batcher<OnnxEmbedder>, String> {
    let config = &serving.config;
    let settings = OnnxEmbeddingSettings {
        ort_lib: config.ort_lib.clone(),
        sessions: config.sessions,
        intra_threads: config.intra_threads,
        ..OnnxEmbeddingSettings::default()
    };
    let model = OnnxEmbedder::load(dir, &settings).map_err(|e| e.to_string())?;
    let vector = model
        .warm_up(WARM_UP_TEXT)
        .map_err(|e| format!("warm-up inference failed: {e}"))?;
    if vector.len() != model.dimension() {
        return Err(format!(
            "warm-up inference returned {} values; the model's dimension is {}",
            vector.len(),
            model.dimension()
        ));
    }
    let batching = BatchSettings {
        max_batch_size: config.batch_size,
        max_batch_tokens: config.batch_tokens,
        max_wait: config.max_wait,
        max_queue: config.queue,
    };
    Batcher::start(
        id,
        Arc::new(model),
        batching,
        Arc::clone(&serving.cache),
        Arc::clone(&serving.observer),
    )
    .map_err(|e| format!("starting the batching workers: {e}"))
}
