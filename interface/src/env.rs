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

/// Testing aid, off by default: milliseconds the runtime waits before it starts
/// loading models, so tests can observe the not-ready phase deterministically.
pub const TEST_LOAD_DELAY_MS: &str = "HERMES_TEST_LOAD_DELAY_MS";

/// Testing aid, off by default: fraction (0..1) of API requests answered with a 500.
pub const FAULT_5XX_RATE: &str = "HERMES_FAULT_5XX_RATE";
/// Testing aid, off by default: milliseconds added to every API request.
pub const FAULT_LATENCY_MS: &str = "HERMES_FAULT_LATENCY_MS";
