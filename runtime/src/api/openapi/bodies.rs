//! Schemas of the bodies the canonical handlers build with `json!` or read from a
//! multipart form (the types the handlers own derive `ToSchema` where they are
//! defined): errors, the service description, health, probes, `/llm`'s answer,
//! the upload forms and `/ingest/media`'s answer.

#![allow(dead_code)] // fields exist for the schema only

use serde_json::{Map, Value};
use utoipa::ToSchema;

/// Every error but a body validation one: `{"detail": "..."}`.
#[derive(ToSchema)]
pub struct ErrorDetail {
    /// What went wrong, for a person.
    detail: String,
}

/// A body or query that failed validation (422), shaped like FastAPI's.
#[derive(ToSchema)]
pub struct ValidationError {
    detail: Vec<crate::error::ValidationIssue>,
}

/// `GET /`.
#[derive(ToSchema)]
pub struct ServiceInfo {
    name: String,
    version: String,
    description: String,
    /// The canonical endpoints.
    endpoints: Vec<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Healthy,
    Degraded,
    Unavailable,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    Available,
    Unavailable,
}

/// One dependency in `/health`: its own truth (connected, target, reason).
#[derive(ToSchema)]
pub struct DependencyHealth {
    status: HealthStatus,
    connected: bool,
    /// Dependency-specific: Milvus's host, port and collection; the LLM provider and model.
    #[schema(value_type = Object)]
    details: Map<String, Value>,
}

#[derive(ToSchema)]
pub struct Dependencies {
    milvus: DependencyHealth,
    llm: DependencyHealth,
}

#[derive(ToSchema)]
pub struct Capabilities {
    stt: Availability,
    tts: Availability,
    nlp: Availability,
    embeddings: Availability,
    llm: Availability,
}

/// Which features are on (`HERMES_FEATURES_DISABLED` turns them off).
#[derive(ToSchema)]
pub struct FeatureFlags {
    stt: bool,
    tts: bool,
    embeddings: bool,
    nlp: bool,
    llm: bool,
    /// Embeddings are persisted to Milvus.
    milvus: bool,
    /// Media and LLM proposals are forwarded to Sophia.
    sophia: bool,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModelState {
    Pending,
    Loading,
    Ready,
    Failed,
}

/// One model this runtime declares, and how its load went.
#[derive(ToSchema)]
pub struct ModelReport {
    id: String,
    /// `embedding`, `stt`, `tts`, `nlp` or `llm`.
    task: String,
    state: ModelState,
    /// Seconds from the start of the load to warmed up.
    load_seconds: Option<f64>,
    /// Process RSS growth across the load and warm-up.
    resident_bytes: Option<u64>,
    load_count: u32,
    #[schema(required = false)]
    error: String,
}

/// `GET /health`: answers 200 while the process serves.
#[derive(ToSchema)]
pub struct Health {
    status: HealthStatus,
    service: String,
    version: String,
    /// RFC 3339, UTC.
    timestamp: String,
    uptime_seconds: f64,
    dependencies: Dependencies,
    capabilities: Capabilities,
    features: FeatureFlags,
    served_tasks: Vec<String>,
    models: Vec<ModelReport>,
    /// Present only while fault injection (a testing aid) is on.
    #[schema(required = false, value_type = Object)]
    fault_injection: Value,
}

/// `GET /livez`.
#[derive(ToSchema)]
pub struct Liveness {
    /// Always `alive`.
    status: String,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReadyWord {
    Ready,
    Loading,
    Failed,
}

/// `GET /readyz`: 200 once every declared model is ready, 503 otherwise.
#[derive(ToSchema)]
pub struct Readiness {
    status: ReadyWord,
    models: Vec<ModelReport>,
}

/// Bytes of a file (an upload, or audio answered).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(Vec<u8>);

/// `/stt`'s multipart form.
#[derive(ToSchema)]
pub struct SttForm {
    /// The audio file (any `audio/*` content type; WAV, FLAC, MP3, OGG...).
    #[schema(value_type = String, format = Binary)]
    audio: Vec<u8>,
    /// Optional language hint (e.g. "en-US").
    #[schema(default = "en-US", required = false)]
    language: String,
    /// `default` or an STT model id.
    #[schema(required = false)]
    model: String,
}

/// `/ingest/media`'s multipart form.
#[derive(ToSchema)]
pub struct IngestForm {
    /// The media file forwarded to Sophia (transcribed first when audio).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// `/ingest/media`: Sophia's record of the file, plus what Hermes added.
#[derive(ToSchema)]
pub struct IngestResponse {
    sample_id: Option<String>,
    file_path: Option<String>,
    media_type: String,
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
    neo4j_node_id: Option<String>,
    /// The transcription's embedding (audio only).
    embedding_id: Option<String>,
    /// The transcription (audio only).
    transcription: Option<String>,
    message: Option<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LlmRole {
    System,
    User,
    Assistant,
    Tool,
}

/// Chat completion message payload.
#[derive(ToSchema)]
#[schema(as = LLMMessage)]
pub struct LlmMessage {
    role: LlmRole,
    content: String,
    /// Optional identifier for tool/function calls (never null in an answer).
    #[schema(required = false)]
    name: String,
}

/// Token usage returned by the provider.
#[derive(ToSchema)]
#[schema(as = LLMUsage)]
pub struct LlmUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

/// Individual choice returned by the provider.
#[derive(ToSchema)]
#[schema(as = LLMChoice)]
pub struct LlmChoice {
    index: u32,
    message: LlmMessage,
    /// Reason generation finished (e.g. `stop`, `length`); left out when the provider gave none.
    #[schema(required = false)]
    finish_reason: String,
}

/// Standardized completion response returned by Hermes (`/llm`).
#[derive(ToSchema)]
#[schema(as = LLMResponse)]
pub struct LlmResponse {
    id: String,
    /// Provider used for this completion.
    provider: String,
    model: String,
    /// Unix seconds.
    created: i64,
    choices: Vec<LlmChoice>,
    usage: Option<LlmUsage>,
    /// The provider's own payload, for diagnostics.
    #[schema(value_type = Option<Object>)]
    raw: Option<Value>,
}

#[derive(ToSchema)]
pub struct PosTag {
    token: String,
    /// Universal POS tag (`NOUN`, `VERB`, ...).
    tag: String,
}

/// A named entity with character (code point) offsets into the input.
#[derive(ToSchema)]
pub struct Entity {
    text: String,
    label: String,
    start: u64,
    end: u64,
}

#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NlpOperation {
    Tokenize,
    PosTag,
    Lemmatize,
    Ner,
}

/// An error of `/ingest/media` passed through from Sophia: its `detail`, whatever its shape.
#[derive(ToSchema)]
pub struct PassedThroughError {
    #[schema(value_type = Value)]
    detail: Value,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MediaType {
    Image,
    Audio,
    Video,
}
