//! Environment variable names the runtime reads (and the operator sets).
//!
//! The `HERMES_*` names are the runtime's own; the others are the earlier Python
//! service's names, kept so that existing deployments keep working.

pub const HOST: &str = "HERMES_HOST";
pub const PORT: &str = "HERMES_PORT";
pub const MODEL_DIR: &str = "HERMES_MODEL_DIR";
/// Comma-separated model ids to preload; unset = every installed model.
pub const MODELS: &str = "HERMES_MODELS";
pub const CORS_ORIGINS: &str = "HERMES_CORS_ORIGINS";
/// `json` or `text`.
pub const LOG_FORMAT: &str = "HERMES_LOG_FORMAT";
/// Seconds SIGTERM waits for in-flight requests before the process exits.
pub const SHUTDOWN_GRACE_SECONDS: &str = "HERMES_SHUTDOWN_GRACE_SECONDS";
/// Revision label value of the pod (set by the operator; reported in metrics).
pub const REVISION: &str = "HERMES_REVISION";

pub const MILVUS_HOST: &str = "MILVUS_HOST";
pub const MILVUS_PORT: &str = "MILVUS_PORT";
pub const MILVUS_COLLECTION_NAME: &str = "MILVUS_COLLECTION_NAME";
/// Milvus user and password (the operator fills them from a Secret); unset = no auth.
pub const MILVUS_USER: &str = "MILVUS_USER";
pub const MILVUS_PASSWORD: &str = "MILVUS_PASSWORD";
pub const SOPHIA_HOST: &str = "SOPHIA_HOST";
pub const SOPHIA_PORT: &str = "SOPHIA_PORT";
pub const SOPHIA_URL: &str = "SOPHIA_URL";
pub const SOPHIA_API_KEY: &str = "SOPHIA_API_KEY";
pub const SOPHIA_API_TOKEN: &str = "SOPHIA_API_TOKEN";
pub const OPENAI_API_KEY: &str = "OPENAI_API_KEY";
pub const LLM_PROVIDER: &str = "HERMES_LLM_PROVIDER";
pub const LLM_BASE_URL: &str = "HERMES_LLM_BASE_URL";
pub const LLM_MODEL: &str = "HERMES_LLM_MODEL";
/// Comma-separated API keys the runtime accepts (protection, later issue).
pub const API_KEYS: &str = "HERMES_API_KEYS";

/// `/stt`: largest upload in bytes (default 25 MiB); larger -> 413.
pub const STT_MAX_BYTES: &str = "HERMES_STT_MAX_BYTES";
/// `/stt`: longest audio in seconds (default 3600); longer -> 413.
pub const STT_MAX_SECONDS: &str = "HERMES_STT_MAX_SECONDS";
/// `/stt`: threads whisper.cpp uses for one transcription (default: the cores, at most 8).
pub const STT_THREADS: &str = "HERMES_STT_THREADS";
/// `/stt`: transcriptions one model runs at the same time (default 1).
pub const STT_CONCURRENCY: &str = "HERMES_STT_CONCURRENCY";
/// `/stt`: transcriptions one model admits, running + waiting, before 503 (default 32).
pub const STT_QUEUE: &str = "HERMES_STT_QUEUE";

/// Testing aid, off by default: milliseconds the runtime waits before it starts
/// loading models, so tests can observe the not-ready phase deterministically.
pub const TEST_LOAD_DELAY_MS: &str = "HERMES_TEST_LOAD_DELAY_MS";

/// Folder of the durable outbox (records Milvus/Sophia have not acknowledged yet).
pub const OUTBOX_DIR: &str = "HERMES_OUTBOX_DIR";
/// Bounds of the outbox: pending bytes and records (full = 503, never silent loss).
pub const OUTBOX_MAX_BYTES: &str = "HERMES_OUTBOX_MAX_BYTES";
pub const OUTBOX_MAX_RECORDS: &str = "HERMES_OUTBOX_MAX_RECORDS";
/// Milliseconds allowed to connect to Milvus and for each Milvus call.
pub const MILVUS_TIMEOUT_MS: &str = "HERMES_MILVUS_TIMEOUT_MS";
/// Seconds the runtime keeps delivering its outbox after it stopped serving (SIGTERM),
/// so that a pod deletion (a rollout) leaves nothing behind in its emptyDir.
pub const OUTBOX_DRAIN_SECONDS: &str = "HERMES_OUTBOX_DRAIN_SECONDS";
/// Its default; the operator adds it to the pod's termination grace period.
pub const DEFAULT_OUTBOX_DRAIN_SECONDS: u32 = 20;
/// Longest wait (milliseconds) between two replays of the outbox.
pub const RETRY_MAX_DELAY_MS: &str = "HERMES_RETRY_MAX_DELAY_MS";
/// Testing aid, off by default: fraction (0..1) of API requests answered with a 500.
pub const FAULT_5XX_RATE: &str = "HERMES_FAULT_5XX_RATE";
/// Testing aid, off by default: milliseconds added to every API request.
pub const FAULT_LATENCY_MS: &str = "HERMES_FAULT_LATENCY_MS";
