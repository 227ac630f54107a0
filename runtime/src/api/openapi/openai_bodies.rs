//! Schemas of the OpenAI-compatible routes' bodies (`/v1/chat/completions`,
//! `/v1/embeddings`, `/v1/audio/*`, `/v1/models`), which their handlers read
//! field by field and answer with `json!`: OpenAI's shapes, with Hermes's additions.

#![allow(dead_code)] // fields exist for the schema only

use serde_json::{Map, Value};
use utoipa::ToSchema;

/// Every error of the OpenAI routes but 401 and 429 (`{"detail"}` like every route).
#[derive(ToSchema)]
pub struct OpenAiError {
    error: OpenAiErrorBody,
}

#[derive(ToSchema)]
pub struct OpenAiErrorBody {
    message: String,
    /// `invalid_request_error`, `server_error`, ...
    #[serde(rename = "type")]
    kind: String,
    /// The request field at fault, when one is.
    param: Option<String>,
    /// Always null.
    code: Option<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    System,
    Developer,
    User,
    Assistant,
    Tool,
}

/// A text content part (the only kind served).
#[derive(ToSchema)]
pub struct TextPart {
    /// `text`.
    #[serde(rename = "type")]
    kind: String,
    text: String,
}

#[derive(ToSchema)]
#[serde(untagged)]
pub enum ChatContent {
    Text(String),
    Parts(Vec<TextPart>),
}

#[derive(ToSchema)]
pub struct ChatRequestMessage {
    role: ChatRole,
    /// A string, a list of text parts (joined), or null.
    #[schema(required = false)]
    content: Option<ChatContent>,
    #[schema(required = false)]
    name: Option<String>,
}

#[derive(ToSchema)]
pub struct StreamOptions {
    #[schema(required = false)]
    include_usage: Option<bool>,
}

/// `POST /v1/chat/completions`.
#[derive(ToSchema)]
pub struct ChatCompletionRequest {
    /// At least one message.
    #[schema(min_items = 1)]
    messages: Vec<ChatRequestMessage>,
    #[schema(required = false)]
    model: Option<String>,
    #[schema(required = false, minimum = 0, maximum = 2)]
    temperature: Option<f64>,
    #[schema(required = false, minimum = 0, maximum = 1)]
    top_p: Option<f64>,
    /// At most `HERMES_LLM_MAX_TOKENS_CAP`.
    #[schema(required = false, minimum = 1)]
    max_tokens: Option<i64>,
    #[schema(required = false, minimum = 1)]
    max_completion_tokens: Option<i64>,
    #[schema(required = false)]
    seed: Option<i64>,
    /// Only 1 is served.
    #[schema(required = false, minimum = 1)]
    n: Option<i64>,
    #[schema(required = false, default = false)]
    stream: bool,
    #[schema(required = false)]
    stream_options: Option<StreamOptions>,
    /// Hermes's addition: `openai`, `local` or `echo`.
    #[schema(required = false)]
    provider: Option<String>,
    #[schema(required = false, value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
}

#[derive(ToSchema)]
pub struct ChatAnswerMessage {
    role: String,
    content: String,
}

#[derive(ToSchema)]
pub struct ChatChoice {
    index: u32,
    message: ChatAnswerMessage,
    /// Always null.
    #[schema(value_type = Option<Object>)]
    logprobs: Option<Value>,
    finish_reason: Option<String>,
}

/// `chat.completion`.
#[derive(ToSchema)]
pub struct ChatCompletion {
    id: String,
    /// `chat.completion`.
    object: String,
    created: i64,
    model: String,
    choices: Vec<ChatChoice>,
    /// Hermes's addition: the provider that answered.
    provider: String,
    #[schema(required = false)]
    usage: super::bodies::LlmUsage,
}

#[derive(ToSchema)]
#[serde(untagged)]
pub enum EmbeddingsInput {
    One(String),
    Many(Vec<String>),
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EncodingFormat {
    Float,
    Base64,
}

/// `POST /v1/embeddings`.
#[derive(ToSchema)]
pub struct EmbeddingsRequest {
    /// A text or a list of texts (none empty).
    input: EmbeddingsInput,
    /// `default`, an installed model id, or an OpenAI model name.
    #[schema(pattern = r"^[A-Za-z0-9_.-]+$", max_length = 128)]
    model: String,
    #[schema(required = false)]
    encoding_format: Option<EncodingFormat>,
    /// Must equal the model's dimension when given.
    #[schema(required = false, minimum = 1)]
    dimensions: Option<u64>,
    #[schema(required = false)]
    user: Option<String>,
}

#[derive(ToSchema)]
#[serde(untagged)]
pub enum EmbeddingVector {
    Floats(Vec<f32>),
    /// Little-endian f32s, base64 (`encoding_format: base64`).
    Base64(String),
}

#[derive(ToSchema)]
pub struct EmbeddingItem {
    /// `embedding`.
    object: String,
    index: u64,
    embedding: EmbeddingVector,
    /// Hermes's addition: the id the vector is stored under.
    embedding_id: String,
}

#[derive(ToSchema)]
pub struct EmbeddingsUsage {
    prompt_tokens: u64,
    total_tokens: u64,
}

#[derive(ToSchema)]
pub struct EmbeddingsList {
    /// `list`.
    object: String,
    data: Vec<EmbeddingItem>,
    model: String,
    usage: EmbeddingsUsage,
}

#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptionFormat {
    Json,
    Text,
    VerboseJson,
    Srt,
    Vtt,
}

/// `POST /v1/audio/transcriptions`' multipart form.
#[derive(ToSchema)]
pub struct TranscriptionForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// `whisper-1` and OpenAI's other names mean the default model.
    #[schema(required = false)]
    model: String,
    #[schema(required = false)]
    language: String,
    /// Checked, not used (greedy decoding).
    #[schema(required = false)]
    prompt: String,
    /// 0..=1; checked, not used.
    #[schema(required = false)]
    temperature: String,
    #[schema(required = false)]
    response_format: TranscriptionFormat,
}

#[derive(ToSchema)]
pub struct Segment {
    id: u64,
    seek: u64,
    start: f64,
    end: f64,
    text: String,
    tokens: Vec<u64>,
    temperature: f64,
}

/// `json` (`{text}`) or `verbose_json` (with segments).
#[derive(ToSchema)]
pub struct Transcription {
    text: String,
    #[schema(required = false)]
    task: String,
    #[schema(required = false)]
    language: String,
    #[schema(required = false)]
    duration: f64,
    #[schema(required = false)]
    segments: Vec<Segment>,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SpeechFormat {
    Wav,
    Pcm,
}

/// `POST /v1/audio/speech`.
#[derive(ToSchema)]
pub struct SpeechRequest {
    /// `tts-1` and OpenAI's other names mean the default voice; a voice id names it.
    model: String,
    input: String,
    /// An installed voice id, or one of OpenAI's (the default voice).
    voice: String,
    #[schema(required = false, default = "wav")]
    response_format: SpeechFormat,
    #[schema(required = false, minimum = 0.25, maximum = 4.0)]
    speed: Option<f64>,
}

#[derive(ToSchema)]
pub struct ModelEntry {
    id: String,
    /// `model`.
    object: String,
    created: i64,
    owned_by: String,
    /// Hermes's addition: `embedding`, `stt`, `tts`, `nlp` or `llm`.
    task: String,
}

/// `GET /v1/models`.
#[derive(ToSchema)]
pub struct ModelList {
    /// `list`.
    object: String,
    data: Vec<ModelEntry>,
}

#[derive(ToSchema)]
pub struct Delta {
    #[schema(required = false)]
    role: String,
    #[schema(required = false)]
    content: String,
}

#[derive(ToSchema)]
pub struct ChunkChoice {
    index: u32,
    delta: Delta,
    /// Always null.
    #[schema(value_type = Option<Object>)]
    logprobs: Option<Value>,
    /// Null until the last chunk of the choice.
    finish_reason: Option<String>,
}

/// `chat.completion.chunk`.
#[derive(ToSchema)]
pub struct ChatCompletionChunk {
    id: String,
    object: String,
    created: i64,
    model: String,
    /// Empty in the usage chunk (`stream_options.include_usage`).
    choices: Vec<ChunkChoice>,
    /// `/llm` only: the provider that answered.
    #[schema(required = false)]
    provider: String,
    #[schema(required = false)]
    usage: super::bodies::LlmUsage,
}

#[derive(ToSchema)]
pub struct StreamErrorBody {
    message: String,
    #[serde(rename = "type")]
    kind: String,
    /// The HTTP status the error would have had.
    code: u16,
}

/// A failure once the stream has started.
#[derive(ToSchema)]
pub struct StreamError {
    error: StreamErrorBody,
}

/// One Server-Sent Event of a streamed completion (`stream: true`).
#[derive(ToSchema)]
pub struct StreamEvent {
    /// The JSON of a `ChatCompletionChunk`, then the literal `[DONE]`; the JSON of a
    /// `StreamError` ends a stream that failed after it started.
    #[schema(content_media_type = "application/json")]
    data: String,
    #[schema(required = false)]
    event: String,
}
