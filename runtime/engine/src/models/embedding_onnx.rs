//! all-MiniLM-L6-v2 sentence embeddings with ONNX Runtime (fp32), one session per worker.
//!
//! Runs `model.onnx`, the graph `make models` builds from the same model.safetensors
//! (scripts/minilm_to_onnx.py): token ids and attention mask in, the mean-pooled and
//! L2-normalised sentence vector out, so a batch padded to its longest text gives each
//! text the vector it gets alone. Tokenisation is sentence-transformers': BERT
//! word-pieces truncated at `max_seq_length` (sentence_bert_config.json), no padding;
//! only the text's first `max_seq_length` words are tokenised
//! ([`super::embedding::leading_words`]), so a long text costs no more than a short one.
//!
//! Each worker of the batching queue ([`super::batcher`]) owns one session with its
//! own intra-op threads, so forward passes of different workers never wait on a lock.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use tokenizers::Tokenizer;

use super::batcher::BatchModel;
use super::embedding::{EmbeddingError, SentenceTransformer, leading_words};
use super::piper::onnx;

/// The graph `make models` writes next to the weights.
pub const GRAPH_FILE: &str = "model.onnx";
const INPUT_IDS: &str = "input_ids";
const ATTENTION_MASK: &str = "attention_mask";
const OUTPUT: &str = "sentence_embedding";

#[derive(thiserror::Error, Debug)]
pub enum OnnxEmbeddingError {
    /// The sentence-transformers files (configs, tokenizer).
    #[error(transparent)]
    Files(#[from] EmbeddingError),
    #[error(
        "onnx embedding model: {path} is missing; `make models` builds it (scripts/minilm_to_onnx.py)"
    )]
    GraphMissing { path: PathBuf },
    #[error(
        "onnx embedding model: {path} has inputs {inputs:?} and outputs {outputs:?}; expected inputs [input_ids, attention_mask] and output sentence_embedding"
    )]
    Signature {
        path: PathBuf,
        inputs: Vec<String>,
        outputs: Vec<String>,
    },
    #[error("onnx embedding: {stage}: {detail}")]
    Ort { stage: &'static str, detail: String },
    #[error("onnx embedding: tokenisation failed: {message}")]
    Tokenize { message: String },
    #[error(
        "onnx embedding: the model returned {got} values for {rows} texts of dimension {dimension}"
    )]
    OutputShape {
        got: usize,
        rows: usize,
        dimension: usize,
    },
}

/// How the embedder runs: ONNX Runtime library, sessions and their threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnnxEmbeddingSettings {
    /// `libonnxruntime.so*` to load; unset: the one under `<model dir>/onnxruntime/`.
    pub ort_lib: Option<PathBuf>,
    /// Sessions (one per batching worker thread).
    pub sessions: usize,
    /// ONNX Runtime intra-op threads of the primary session (the others get one each).
    pub intra_threads: usize,
    /// Whether idle intra-op threads spin (ONNX Runtime's default). Off by default:
    /// on cores shared with other processes (a 2-core machine, a Kubernetes node)
    /// spinning threads lose their time slices; measured on a loaded 2-core machine,
    /// 2 spinning threads gave half the throughput of 2 that sleep.
    pub intra_op_spinning: bool,
}

impl Default for OnnxEmbeddingSettings {
    /// Two sessions (one on a single core): session 0 (the primary) with every core, serving alone
    /// while the load is light (lowest latency for one request), the others with one
    /// thread, joining in while the primary is busy. Measured on 2 cores against
    /// one 2-thread session: +16 % throughput and p95 -25 % at 32 concurrent requests,
    /// same latency at 1 (docs/embeddings.md).
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            ort_lib: None,
            sessions: cores.min(2),
            intra_threads: cores,
            intra_op_spinning: false,
        }
    }
}

impl OnnxEmbeddingSettings {
    /// Intra-op threads of session `index`: the primary (0) gets `intra_threads`, the
    /// sessions that only help under load one each.
    pub fn threads_of(&self, index: usize) -> usize {
        if index == 0 {
            self.intra_threads.max(1)
        } else {
            1
        }
    }
}

/// A loaded all-MiniLM-L6-v2 graph: tokenizer plus one ONNX Runtime session per worker.
pub struct OnnxEmbedder {
    sessions: Vec<Mutex<Session>>,
    tokenizer: Tokenizer,
    dimension: usize,
    max_seq_length: usize,
}

impl std::fmt::Debug for OnnxEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxEmbedder")
            .field("sessions", &self.sessions.len())
            .field("dimension", &self.dimension)
            .field("max_seq_length", &self.max_seq_length)
            .finish_non_exhaustive()
    }
}

impl OnnxEmbedder {
    /// Loads `model.onnx` and the tokenizer from a sentence-transformers folder whose
    /// parent is the model dir (blocking: reads ~90 MB per session).
    pub fn load(dir: &Path, settings: &OnnxEmbeddingSettings) -> Result<Self, OnnxEmbeddingError> {
        let folder = SentenceTransformer::load(dir)?;
        let graph = dir.join(GRAPH_FILE);
        if !graph.is_file() {
            return Err(OnnxEmbeddingError::GraphMissing { path: graph });
        }
        let model_dir = dir.parent().unwrap_or(dir);
        let library = onnx::library_path(settings.ort_lib.as_deref(), model_dir)
            .map_err(ort_error("finding ONNX Runtime"))?;
        let environment = onnx::environment(&library).map_err(ort_error("loading ONNX Runtime"))?;
        let mut sessions = Vec::with_capacity(settings.sessions.max(1));
        for index in 0..settings.sessions.max(1) {
            let session = Session::builder(&environment)
                .map_err(ort_error("session options"))?
                .with_optimization_level(GraphOptimizationLevel::Level3)
                .map_err(ort_error("session options"))?
                .with_intra_threads(settings.threads_of(index))
                .map_err(ort_error("session options"))?
                .with_inter_threads(1)
                .map_err(ort_error("session options"))?
                .with_intra_op_spinning(settings.intra_op_spinning)
                .map_err(ort_error("session options"))?
                .commit_from_file(&graph)
                .map_err(|e| OnnxEmbeddingError::Ort {
                    stage: "loading the model",
                    detail: format!("{}: {e}", graph.display()),
                })?;
            check_signature(&session, &graph)?;
            sessions.push(Mutex::new(session));
        }
        Ok(Self {
            sessions,
            tokenizer: folder.tokenizer,
            dimension: folder.dimension,
            max_seq_length: folder.max_seq_length,
        })
    }

    /// Runs `text` through every session once (the first pass of a session
    /// allocates its buffers) and returns session 0's vector.
    pub fn warm_up(&self, text: &str) -> Result<Vec<f32>, OnnxEmbeddingError> {
        let ids = self.tokenize(text)?;
        let mut first = None;
        for session in 0..self.sessions.len() {
            let mut vectors = self.run(session, &[ids.as_slice()])?;
            if first.is_none() {
                first = vectors.pop();
            }
        }
        first.ok_or(OnnxEmbeddingError::OutputShape {
            got: 0,
            rows: 1,
            dimension: self.dimension,
        })
    }

    /// Length of every embedding (384 for all-MiniLM-L6-v2).
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Token ids of one text, truncated at `max_seq_length` ([CLS] ... [SEP]). Only
    /// the leading words that can reach the model are tokenised.
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, OnnxEmbeddingError> {
        self.tokenizer
            .encode(leading_words(text, self.max_seq_length), true)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| OnnxEmbeddingError::Tokenize {
                message: e.to_string(),
            })
    }

    /// Embeds `texts` in one forward pass on session 0 (blocking CPU work); one
    /// unit-length vector per text, in order. The batching queue calls
    /// [`BatchModel::forward`] instead.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, OnnxEmbeddingError> {
        let ids = texts
            .iter()
            .map(|t| self.tokenize(t))
            .collect::<Result<Vec<_>, _>>()?;
        let rows: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
        self.run(0, &rows)
    }

    /// One forward pass over token id sequences padded to the longest.
    fn run(&self, session: usize, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>, OnnxEmbeddingError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let rows = batch.len();
        let width = batch.iter().map(|ids| ids.len()).max().unwrap_or(0).max(1);
        let mut ids = vec![0i64; rows * width];
        let mut mask = vec![0i64; rows * width];
        for (row, seq) in batch.iter().enumerate() {
            for (slot, &id) in ids[row * width..].iter_mut().zip(seq.iter()) {
                *slot = i64::from(id);
            }
            mask[row * width..row * width + seq.len()].fill(1);
        }
        let ids = Tensor::from_array(([rows, width], ids)).map_err(ort_error("input"))?;
        let mask = Tensor::from_array(([rows, width], mask)).map_err(ort_error("input"))?;
        let slot = self
            .sessions
            .get(session)
            .or_else(|| self.sessions.first())
            .ok_or(OnnxEmbeddingError::Ort {
                stage: "inference",
                detail: "no session loaded".to_string(),
            })?;
        let mut session = slot.lock().unwrap_or_else(PoisonError::into_inner);
        let outputs = session
            .run(ort::inputs![INPUT_IDS => ids, ATTENTION_MASK => mask])
            .map_err(ort_error("inference"))?;
        let output = outputs.get(OUTPUT).ok_or_else(|| OnnxEmbeddingError::Ort {
            stage: "reading the output",
            detail: format!("the model has no output named {OUTPUT:?}"),
        })?;
        let (_, values) = output
            .try_extract_tensor::<f32>()
            .map_err(ort_error("reading the output"))?;
        if values.len() != rows * self.dimension {
            return Err(OnnxEmbeddingError::OutputShape {
                got: values.len(),
                rows,
                dimension: self.dimension,
            });
        }
        Ok(values.chunks(self.dimension).map(<[f32]>::to_vec).collect())
    }
}

impl BatchModel for OnnxEmbedder {
    type Error = OnnxEmbeddingError;

    fn workers(&self) -> usize {
        self.sessions.len()
    }

    fn tokenize(&self, text: &str) -> Result<Vec<u32>, Self::Error> {
        OnnxEmbedder::tokenize(self, text)
    }

    fn max_tokens_per_text(&self) -> usize {
        self.max_seq_length
    }

    fn forward(&self, worker: usize, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>, Self::Error> {
        self.run(worker, batch)
    }
}

fn check_signature(session: &Session, path: &Path) -> Result<(), OnnxEmbeddingError> {
    let inputs: Vec<String> = session
        .inputs()
        .iter()
        .map(|i| i.name().to_owned())
        .collect();
    let outputs: Vec<String> = session
        .outputs()
        .iter()
        .map(|o| o.name().to_owned())
        .collect();
    let inputs_ok = inputs.len() == 2
        && [INPUT_IDS, ATTENTION_MASK]
            .iter()
            .all(|n| inputs.iter().any(|i| i == n));
    if inputs_ok && outputs.iter().any(|o| o == OUTPUT) {
        Ok(())
    } else {
        Err(OnnxEmbeddingError::Signature {
            path: path.to_path_buf(),
            inputs,
            outputs,
        })
    }
}

/// Maps an ONNX Runtime (or library loader) error at `stage` to ours, as text.
fn ort_error<E: std::fmt::Display>(stage: &'static str) -> impl Fn(E) -> OnnxEmbeddingError {
    move |e| OnnxEmbeddingError::Ort {
        stage,
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedder_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<OnnxEmbedder>();
    }

    #[test]
    fn missing_folder_names_the_file() {
        let err = OnnxEmbedder::load(
            Path::new("/nonexistent/minilm"),
            &OnnxEmbeddingSettings::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/minilm/config.json"),
            "{err}"
        );
    }
}
