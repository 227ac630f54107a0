//! Every declared model, loaded once at start, concurrently, and warmed up with one
//! real inference; its state, load time and resident bytes are kept for the
//! probes, `/health` and `/metrics`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use hermes_interface::{ModelEntry, Task};
use hermes_nlp::{NlpPipeline, Operation};
use serde::Serialize;
use tokio::task::JoinSet;

use super::batcher::{BatchObserver, Batcher};
use super::embedding_cache::EmbeddingCache;
use super::embedding_load::EmbeddingServing;
use super::embedding_onnx::OnnxEmbedder;
use super::llm::LocalLlm;
use super::piper::PiperVoice;
use super::whisper::WhisperModel;
use super::worker::{ModelWorker, WorkerLimits};
use crate::config::{EmbeddingConfig, SttConfig, TtsConfig};
use crate::rss;

/// Text the NLP pipeline analyses (every operation) before it is ready.
const NLP_WARM_UP_TEXT: &str = "Hermes warms up its NLP pipeline in London on Monday.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelState {
    Pending,
    Loading,
    Ready,
    Failed,
}

impl ModelState {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelState::Pending => "pending",
            ModelState::Loading => "loading",
            ModelState::Ready => "ready",
            ModelState::Failed => "failed",
        }
    }
}

/// A model ready to serve, behind its worker. One variant per capability.
#[derive(Debug)]
pub enum LoadedModel {
    /// ONNX Runtime behind its dynamic batching queue.
    Embedding(Batcher<OnnxEmbedder>),
    Llm(ModelWorker<LocalLlm>),
    Tts(ModelWorker<PiperVoice>),
    Stt(ModelWorker<WhisperModel>),
    Nlp(ModelWorker<NlpPipeline>),
}

impl LoadedModel {
    /// Requests admitted now (running or waiting).
    pub fn in_flight(&self) -> usize {
        match self {
            LoadedModel::Embedding(b) => b.in_flight(),
            LoadedModel::Llm(w) => w.in_flight(),
            LoadedModel::Tts(w) => w.in_flight(),
            LoadedModel::Stt(w) => w.in_flight(),
            LoadedModel::Nlp(w) => w.in_flight(),
        }
    }

    /// Requests waiting for their turn (the queue depth).
    pub fn waiting(&self) -> usize {
        match self {
            LoadedModel::Embedding(b) => b.waiting(),
            LoadedModel::Llm(w) => w.waiting(),
            LoadedModel::Tts(w) => w.waiting(),
            LoadedModel::Stt(w) => w.waiting(),
            LoadedModel::Nlp(w) => w.waiting(),
        }
    }
}

/// What the probes, `/health` and `/metrics` report about one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelReport {
    pub id: &'static str,
    pub task: Task,
    pub state: ModelState,
    /// Seconds from start of load to warmed up.
    pub load_seconds: Option<f64>,
    /// Process RSS growth across the load and warm-up.
    pub resident_bytes: Option<u64>,
    /// Times the model was loaded (1 once ready: models load exactly once).
    pub load_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Requests of this model admitted now (running or waiting); absent until it is ready.
    #[serde(skip)]
    pub in_flight: Option<usize>,
    /// Requests of this model waiting for their turn (its queue depth).
    #[serde(skip)]
    pub waiting: Option<usize>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoadError {
    #[error("model {model} failed to load: {reason}")]
    Failed { model: &'static str, reason: String },
    #[error("model loader task failed: {0}")]
    Loader(String),
}

/// Why a request cannot be served by a model.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResolveError {
    #[error("the {task} capability is not available: no {task} model is loaded by this server")]
    NotServed { task: &'static str },
    #[error("unknown {task} model {requested:?}; available: {}", available.join(", "))]
    UnknownModel {
        task: &'static str,
        requested: String,
        available: Vec<&'static str>,
    },
    #[error("model {model} is still loading; retry when /readyz reports ready")]
    Loading { model: &'static str },
    #[error("model {model} failed to load and cannot serve")]
    Failed { model: &'static str },
}

#[derive(Debug, Default)]
struct Progress {
    state: Option<ModelState>,
    load_seconds: Option<f64>,
    resident_bytes: Option<u64>,
    error: Option<String>,
}

#[derive(Debug)]
struct ModelSlot {
    entry: &'static ModelEntry,
    dir: PathBuf,
    progress: Mutex<Progress>,
    started: AtomicBool,
    load_count: AtomicU32,
    loaded: OnceLock<LoadedModel>,
}

impl ModelSlot {
    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn state(&self) -> ModelState {
        self.progress().state.unwrap_or(ModelState::Pending)
    }

    fn set_state(&self, state: ModelState) {
        self.progress().state = Some(state);
    }
}

/// The declared models of this process.
#[derive(Debug)]
pub struct Registry {
    slots: Vec<ModelSlot>,
    /// Held while a model loads: models load one at a time, so the process's RSS
    /// growth across a load is that model's alone (`resident_bytes`), not the sum
    /// of whatever else loaded at the same time. On a few cores concurrent loads
    /// would only share them anyway.
    loading: tokio::sync::Mutex<()>,
    limits: WorkerLimits,
    tts: TtsConfig,
    stt: SttConfig,
    embedding: EmbeddingServing,
}

impl Registry {
    pub fn new(model_dir: &Path, models: &[&'static ModelEntry], limits: WorkerLimits) -> Self {
        let slots = models
            .iter()
            .map(|&entry| ModelSlot {
                entry,
                dir: model_dir.join(entry.id),
                progress: Mutex::new(Progress::default()),
                started: AtomicBool::new(false),
                load_count: AtomicU32::new(0),
                loaded: OnceLock::new(),
            })
            .collect();
        Self {
            slots,
            loading: tokio::sync::Mutex::new(()),
            limits,
            tts: TtsConfig::default(),
            stt: SttConfig::default(),
            embedding: EmbeddingServing::default(),
        }
    }

    /// Batching, threads and cache of embedding models (`HERMES_EMBEDDING_*`).
    pub fn with_embedding(mut self, config: EmbeddingConfig) -> Self {
        let observer = Arc::clone(&self.embedding.observer);
        self.embedding = EmbeddingServing {
            observer,
            ..EmbeddingServing::new(config)
        };
        self
    }

    /// Where embedding models report queue sizes and forward passes (`/metrics`).
    pub fn with_batch_observer(mut self, observer: Arc<dyn BatchObserver>) -> Self {
        self.embedding.observer = observer;
        self
    }

    /// The cache every embedding model shares (its counters are in `/metrics`).
    pub fn embedding_cache(&self) -> Arc<EmbeddingCache> {
        Arc::clone(&self.embedding.cache)
    }

    /// Settings the text-to-speech voices load with.
    pub fn with_tts(mut self, tts: TtsConfig) -> Self {
        self.tts = tts;
        self
    }

    /// Threads and concurrency of speech-to-text models (`HERMES_STT_*`).
    pub fn with_stt(mut self, stt: SttConfig) -> Self {
        self.stt = stt;
        self
    }

    /// Loads every model concurrently, each at most once however often this is
    /// called; returns the first failure at once (the process then exits).
    /// `delay` is the `HERMES_TEST_LOAD_DELAY_MS` testing aid.
    pub async fn load_all(self: &Arc<Self>, delay: Duration) -> Result<(), LoadError> {
        let mut loads = JoinSet::new();
        for index in 0..self.slots.len() {
            let registry = Arc::clone(self);
            loads.spawn(async move { registry.load_slot(index, delay).await });
        }
        while let Some(joined) = loads.join_next().await {
            joined.map_err(|e| LoadError::Loader(e.to_string()))??;
        }
        Ok(())
    }

    async fn load_slot(self: Arc<Self>, index: usize, delay: Duration) -> Result<(), LoadError> {
        let Some(slot) = self.slots.get(index) else {
            return Ok(());
        };
        if slot.started.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let model = slot.entry.id;
        if !delay.is_zero() {
            tracing::info!(
                model,
                delay_ms = delay.as_millis() as u64,
                "model load delayed (testing aid)"
            );
            tokio::time::sleep(delay).await;
        }
        let one_at_a_time = self.loading.lock().await;
        slot.set_state(ModelState::Loading);
        tracing::debug!(model, task = slot.entry.task.as_str(), dir = %slot.dir.display(), "model loading");

        let registry = Arc::clone(&self);
        let result = tokio::task::spawn_blocking(move || registry.load_blocking(index))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
        drop(one_at_a_time);

        let mut progress = slot.progress();
        match result {
            Ok(()) => {
                progress.state = Some(ModelState::Ready);
                tracing::info!(
                    model,
                    task = slot.entry.task.as_str(),
                    dir = %slot.dir.display(),
                    load_seconds = progress.load_seconds,
                    resident_bytes = progress.resident_bytes,
                    "model ready"
                );
                Ok(())
            }
            Err(reason) => {
                progress.state = Some(ModelState::Failed);
                progress.error = Some(reason.clone());
                tracing::error!(model, error = %reason, "model failed to load");
                Err(LoadError::Failed { model, reason })
            }
        }
    }

    /// Loads and warms up one model on a blocking thread, measuring time and RSS.
    fn load_blocking(&self, index: usize) -> Result<(), String> {
        let slot = self.slots.get(index).ok_or("no such model slot")?;
        slot.load_count.fetch_add(1, Ordering::AcqRel);
        let rss_before = rss::current_bytes();
        let started = Instant::now();
        let loaded = load_and_warm_up(
            slot.entry,
            &slot.dir,
            self.limits,
            &self.tts,
            &self.stt,
            &self.embedding,
        )?;
        let load_seconds = started.elapsed().as_secs_f64();
        let resident_bytes = rss_before
            .zip(rss::current_bytes())
            .map(|(before, after)| after.saturating_sub(before));
        slot.loaded
            .set(loaded)
            .map_err(|_| "model was loaded twice".to_owned())?;
        let mut progress = slot.progress();
        progress.load_seconds = Some(load_seconds);
        progress.resident_bytes = resident_bytes;
        Ok(())
    }

    /// Whether every declared model is ready (vacuously true with none).
    pub fn all_ready(&self) -> bool {
        self.slots.iter().all(|s| s.state() == ModelState::Ready)
    }

    pub fn reports(&self) -> Vec<ModelReport> {
        self.slots
            .iter()
            .map(|slot| {
                let progress = slot.progress();
                ModelReport {
                    id: slot.entry.id,
                    task: slot.entry.task,
                    state: progress.state.unwrap_or(ModelState::Pending),
                    load_seconds: progress.load_seconds,
                    resident_bytes: progress.resident_bytes,
                    load_count: slot.load_count.load(Ordering::Acquire),
                    error: progress.error.clone(),
                    in_flight: slot.loaded.get().map(LoadedModel::in_flight),
                    waiting: slot.loaded.get().map(LoadedModel::waiting),
                }
            })
            .collect()
    }

    /// Whether a model of `task` is ready to serve.
    pub fn task_available(&self, task: Task) -> bool {
        self.slots
            .iter()
            .any(|s| s.entry.task == task && s.state() == ModelState::Ready)
    }

    /// Ids of the declared models of `task`.
    pub fn model_ids(&self, task: Task) -> Vec<&'static str> {
        self.slots
            .iter()
            .filter(|s| s.entry.task == task)
            .map(|s| s.entry.id)
            .collect()
    }

    /// Finds the model a request asks for: `default` (or empty) is the first
    /// declared model of `task`; otherwise an id, compared case-insensitively.
    pub fn resolve(
        &self,
        task: Task,
        requested: &str,
    ) -> Result<(&'static ModelEntry, &LoadedModel), ResolveError> {
        let mut of_task = self
            .slots
            .iter()
            .filter(|s| s.entry.task == task)
            .peekable();
        if of_task.peek().is_none() {
            return Err(ResolveError::NotServed {
                task: task.as_str(),
            });
        }
        let requested = requested.trim();
        let wants_default = requested.is_empty() || requested.eq_ignore_ascii_case("default");
        let slot = of_task
            .find(|s| wants_default || s.entry.id.eq_ignore_ascii_case(requested))
            .ok_or_else(|| ResolveError::UnknownModel {
                task: task.as_str(),
                requested: requested.to_owned(),
                available: std::iter::once("default")
                    .chain(self.model_ids(task))
                    .collect(),
            })?;
        match (slot.loaded.get(), slot.state()) {
            (Some(loaded), ModelState::Ready) => Ok((slot.entry, loaded)),
            (_, ModelState::Failed) => Err(ResolveError::Failed {
                model: slot.entry.id,
            }),
            _ => Err(ResolveError::Loading {
                model: slot.entry.id,
            }),
        }
    }
}

/// Loads a model of any served task and runs one real inference with it.
fn load_and_warm_up(
    entry: &'static ModelEntry,
    dir: &Path,
    limits: WorkerLimits,
    tts: &TtsConfig,
    stt: &SttConfig,
    embedding: &EmbeddingServing,
) -> Result<LoadedModel, String> {
    match entry.task {
        Task::Embedding => super::embedding_load::load_and_warm_up(entry.id, dir, embedding)
            .map(LoadedModel::Embedding),
        Task::Llm => {
            let model = super::llm::load_and_warm_up(dir)?;
            Ok(LoadedModel::Llm(ModelWorker::new(
                entry.id,
                model,
                super::llm::worker_limits(limits),
            )))
        }
        Task::Tts => {
            super::piper::load::load_and_warm_up(entry.id, dir, limits, tts).map(LoadedModel::Tts)
        }
        Task::Stt => {
            let model = WhisperModel::load(dir, stt.threads).map_err(|e| e.to_string())?;
            let heard = model
                .warm_up()
                .map_err(|e| format!("warm-up inference failed: {e}"))?;
            tracing::debug!(model = entry.id, text = %heard.text, "warm-up transcription of silence");
            let limits = WorkerLimits {
                concurrency: stt.concurrency,
                queue: stt.queue,
            };
            Ok(LoadedModel::Stt(ModelWorker::new(entry.id, model, limits)))
        }
        Task::Nlp => {
            let model = NlpPipeline::load(dir).map_err(|e| e.to_string())?;
            let ops = [
                Operation::Tokenize,
                Operation::PosTag,
                Operation::Lemmatize,
                Operation::Ner,
            ];
            let analysis = model.analyze(NLP_WARM_UP_TEXT, &ops);
            if analysis.tokens.is_none_or(|t| t.is_empty()) || analysis.pos_tags.is_none() {
                return Err("warm-up analysis returned no tokens".into());
            }
            Ok(LoadedModel::Nlp(ModelWorker::new(entry.id, model, limits)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hermes_interface::catalog;

    fn minilm() -> &'static ModelEntry {
        catalog::find("all-minilm-l6-v2").unwrap()
    }

    #[tokio::test]
    async fn a_model_that_cannot_load_fails_with_its_reason() {
        let dir =
            std::env::temp_dir().join(format!("hermes-registry-empty-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("all-minilm-l6-v2")).unwrap();
        let registry = Arc::new(Registry::new(
            &dir,
            &[minilm()],
            WorkerLimits::for_this_machine(),
        ));
        assert_eq!(registry.reports()[0].state, ModelState::Pending);
        assert!(matches!(
            registry.resolve(Task::Embedding, "default"),
            Err(ResolveError::Loading {
                model: "all-minilm-l6-v2"
            })
        ));

        let err = registry.load_all(Duration::ZERO).await.unwrap_err();
        let LoadError::Failed { model, reason } = err else {
            panic!("unexpected {err:?}");
        };
        assert_eq!(model, "all-minilm-l6-v2");
        assert!(reason.contains("config.json"), "{reason}");
        let report = &registry.reports()[0];
        assert_eq!(report.state, ModelState::Failed);
        assert_eq!(report.load_count, 1);
        assert!(!registry.all_ready());

        // A second call loads nothing again.
        registry.load_all(Duration::ZERO).await.unwrap();
        assert_eq!(registry.reports()[0].load_count, 1);
    }

    #[test]
    fn resolve_distinguishes_unserved_unknown_and_default() {
        let registry = Registry::new(
            Path::new("/nowhere"),
            &[minilm()],
            WorkerLimits::for_this_machine(),
        );
        assert_eq!(
            registry.resolve(Task::Stt, "default").unwrap_err(),
            ResolveError::NotServed { task: "stt" }
        );
        let err = registry.resolve(Task::Embedding, "bert-huge").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown embedding model \"bert-huge\"; available: default, all-minilm-l6-v2"
        );
        assert_eq!(
            registry
                .resolve(Task::Embedding, "All-MiniLM-L6-v2")
                .unwrap_err(),
            ResolveError::Loading {
                model: "all-minilm-l6-v2"
            }
        );
        assert!(
            Registry::new(Path::new("/nowhere"), &[], WorkerLimits::for_this_machine()).all_ready()
        );
    }
}
