//! Plain settings of everything the runtime reaches over the network, with their
//! defaults. The binary crate fills them from the environment; this crate never
//! reads it.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::outbox::OutboxLimits;
use crate::secret::Secret;

// ---- Milvus ----

pub const DEFAULT_MILVUS_HOST: &str = "localhost";
pub const DEFAULT_MILVUS_PORT: u16 = 17530;
pub const DEFAULT_MILVUS_COLLECTION: &str = "hermes_embeddings";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilvusConfig {
    pub host: String,
    pub port: u16,
    pub collection: String,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

// ---- Sophia ----

pub const DEFAULT_SOPHIA_HOST: &str = "localhost";
pub const DEFAULT_SOPHIA_PORT: u16 = 8001;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SophiaConfig {
    /// Base URL (from `SOPHIA_URL`, else `http://SOPHIA_HOST:SOPHIA_PORT`).
    pub url: Url,
    /// Bearer token (`SOPHIA_API_KEY`, else `SOPHIA_API_TOKEN`).
    pub token: Option<Secret>,
}

// ---- the outbox and dependency timeouts ----

pub const DEFAULT_OUTBOX_DIR: &str = "hermes-outbox";
pub const DEFAULT_OUTBOX_MAX_BYTES: u64 = 256 * 1024 * 1024;
pub const DEFAULT_OUTBOX_MAX_RECORDS: u64 = 100_000;
pub const DEFAULT_MILVUS_TIMEOUT: Duration = Duration::from_secs(3);
pub const DEFAULT_RETRY_MAX_DELAY: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// `milvus/` and `sophia/` outboxes live below it.
    pub outbox_dir: PathBuf,
    pub outbox_limits: OutboxLimits,
    pub milvus_timeout: Duration,
    pub retry_max_delay: Duration,
    /// How long shutdown waits for the outboxes to be delivered.
    pub outbox_drain: Duration,
}

// ---- the OpenAI-compatible LLM upstream ----

pub const DEFAULT_LLM_MAX_RETRIES: u32 = 2;
/// OpenAI's API, when only a key is configured.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Model sent upstream when `HERMES_LLM_MODEL` is unset (the earlier service's default).
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o-mini";

/// Where the upstream API key came from (reported by `/health`, never the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    File,
    Env,
}

/// An OpenAI-compatible upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAiUpstream {
    /// Base URL, e.g. `https://api.openai.com/v1`; `/chat/completions` is appended.
    pub base_url: Url,
    pub model: String,
    pub api_key: Option<Secret>,
    pub key_source: Option<KeySource>,
    pub max_retries: u32,
    /// Whole-request timeout of one attempt.
    pub timeout: Duration,
}

impl OpenAiUpstream {
    /// `{base}/{path}` without doubling slashes.
    pub fn endpoint(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.base_url.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}
