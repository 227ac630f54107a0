//! Plain settings of the engine's capabilities, with their defaults. The binary
//! crate fills them from the environment (`hermes-runtime`'s `config` module); the
//! engine never reads the environment itself.

use std::path::PathBuf;
use std::time::Duration;

// ---- text-to-speech (Piper) ----

pub const DEFAULT_TTS_MAX_CHARS: usize = 5000;
pub const DEFAULT_ESPEAK_NG: &str = "espeak-ng";
pub const DEFAULT_ESPEAK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub struct TtsConfig {
    /// Longest text `/tts` accepts, in characters; longer is a 413.
    pub max_chars: usize,
    /// ONNX Runtime intra-op threads per synthesis (default: every core).
    pub threads: usize,
    /// The espeak-ng program (a name looked up on PATH, or a path).
    pub espeak_ng: PathBuf,
    pub espeak_timeout: Duration,
    /// `libonnxruntime.so*` to load; unset: the one `make models` put under
    /// `<model dir>/onnxruntime/`.
    pub ort_lib: Option<PathBuf>,
    /// Overrides of the voice's own inference scales (0 noise = deterministic).
    pub noise_scale: Option<f32>,
    pub length_scale: Option<f32>,
    pub noise_w: Option<f32>,
}

impl Default for TtsConfig {
    fn default() -> Self {
        Self {
            max_chars: DEFAULT_TTS_MAX_CHARS,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            espeak_ng: PathBuf::from(DEFAULT_ESPEAK_NG),
            espeak_timeout: DEFAULT_ESPEAK_TIMEOUT,
            ort_lib: None,
            noise_scale: None,
            length_scale: None,
            noise_w: None,
        }
    }
}

// ---- embeddings (ONNX Runtime behind the batching queue) ----

/// Default texts per forward pass. Measured on 2 shared cores (wrk, 64 sentences of
/// 5-28 words, concurrency 32): 8 gave 163-180 req/s, 16 gave 146, 32 gave 108-127:
/// a small batch picked from the waiting requests by length pads little, and passes
/// follow each other without convoys (docs/embeddings.md).
pub const DEFAULT_EMBEDDING_BATCH_SIZE: usize = 8;
/// Default tokens per forward pass, padding counted: 32 texts of 256 tokens, the pass
/// the catalog's working memory is sized for (not binding at the default batch size).
pub const DEFAULT_EMBEDDING_BATCH_TOKENS: usize = 8192;
/// Default wait for a fuller batch: none (requests that arrive during a pass form the next).
pub const DEFAULT_EMBEDDING_MAX_WAIT: Duration = Duration::ZERO;
/// Default requests one embedding model keeps waiting before it answers 503.
pub const DEFAULT_EMBEDDING_QUEUE: usize = 1024;
/// Default bytes of the embedding cache (model + exact text -> vector).
pub const DEFAULT_EMBEDDING_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// How embedding models run and batch ([`crate::models::batcher`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingConfig {
    /// Texts per forward pass at most.
    pub batch_size: usize,
    /// Tokens per forward pass at most, padding counted (rows x longest row).
    pub batch_tokens: usize,
    /// How long a worker holding less than a full batch waits for more.
    pub max_wait: Duration,
    /// Requests waiting at most; the next one is a 503.
    pub queue: usize,
    /// ONNX Runtime sessions, each with its own worker thread: forward passes at once.
    pub sessions: usize,
    /// ONNX Runtime intra-op threads of the primary session (session 0, which serves
    /// alone while the others are idle); the other sessions get one thread each.
    pub intra_threads: usize,
    /// Bytes of the process-wide cache; 0 turns it off.
    pub cache_bytes: usize,
    /// `libonnxruntime.so*` to load; unset: the one `make models` put under
    /// `<model dir>/onnxruntime/` (the same library as the voices').
    pub ort_lib: Option<PathBuf>,
}

impl Default for EmbeddingConfig {
    /// Two sessions (one on a single core): the primary with every core (one request
    /// alone gets them all), a helper with one thread joining in under load (measured:
    /// docs/embeddings.md). Not one per core: each session holds its own arenas
    /// (~80 MiB), which the model's catalog footprint counts for two.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            batch_size: DEFAULT_EMBEDDING_BATCH_SIZE,
            batch_tokens: DEFAULT_EMBEDDING_BATCH_TOKENS,
            max_wait: DEFAULT_EMBEDDING_MAX_WAIT,
            queue: DEFAULT_EMBEDDING_QUEUE,
            sessions: cores.min(2),
            intra_threads: cores,
            cache_bytes: DEFAULT_EMBEDDING_CACHE_BYTES,
            ort_lib: None,
        }
    }
}

// ---- speech-to-text (whisper.cpp) ----

/// Default upload limit: 25 MiB, as the earlier service and OpenAI's API allow.
pub const DEFAULT_STT_MAX_BYTES: u64 = 25 * 1024 * 1024;
/// Default longest audio: one hour.
pub const DEFAULT_STT_MAX_SECONDS: f64 = 3600.0;
/// Default transcriptions one model admits (running + waiting) before it answers 503.
pub const DEFAULT_STT_QUEUE: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SttConfig {
    /// Largest accepted upload, in bytes ; larger -> 413.
    pub max_bytes: u64,
    /// Longest accepted audio, in seconds; longer -> 413.
    pub max_seconds: f64,
    /// Threads whisper.cpp uses for one transcription.
    pub threads: usize,
    /// Transcriptions one model runs at the same time.
    pub concurrency: usize,
    /// Transcriptions one model admits, running + waiting.
    pub queue: usize,
}

impl Default for SttConfig {
    /// One transcription at a time using every core: whisper.cpp scales well with
    /// threads, so this gives the lowest latency; raise the concurrency (and lower
    /// the threads) for throughput on machines with many cores.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            max_bytes: DEFAULT_STT_MAX_BYTES,
            max_seconds: DEFAULT_STT_MAX_SECONDS,
            threads: cores.min(8),
            concurrency: 1,
            queue: DEFAULT_STT_QUEUE,
        }
    }
}

// ---- the local LLM ----

/// The short system message SmolLM2 answers factual prompts well with (its
/// template's own default, "You are a helpful AI assistant named SmolLM...", makes
/// the 135M model drift, e.g. into French, at temperature 0).
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are a helpful assistant.";
/// `HERMES_LLM_SYSTEM_PROMPT=template` keeps the model template's default system message.
pub const TEMPLATE_SYSTEM_PROMPT: &str = "template";
pub const DEFAULT_LLM_MAX_TOKENS: usize = 256;

/// What the `local` LLM provider needs beside its model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalLlmConfig {
    /// `None`: the model template's default system message.
    pub system_prompt: Option<String>,
    /// Most tokens generated when a request sets no `max_tokens`.
    pub max_tokens: usize,
}

impl Default for LocalLlmConfig {
    fn default() -> Self {
        Self {
            system_prompt: Some(DEFAULT_SYSTEM_PROMPT.to_owned()),
            max_tokens: DEFAULT_LLM_MAX_TOKENS,
        }
    }
}
