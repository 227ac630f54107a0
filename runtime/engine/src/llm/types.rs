//! What a provider is asked and what it answers, independent of the endpoint.

use futures::stream::BoxStream;
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::GatewayError;
use crate::models::llm::Role;

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    #[serde(serialize_with = "role_name")]
    pub role: Role,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

fn role_name<S: serde::Serializer>(role: &Role, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(role.as_str())
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            name: None,
        }
    }
}

/// The roles of the contract's `LLMMessage`, in its order.
pub const ROLES: &[&str] = &["system", "user", "assistant", "tool"];

pub fn role_from_name(name: &str) -> Option<Role> {
    match name {
        "system" => Some(Role::System),
        "user" => Some(Role::User),
        "assistant" => Some(Role::Assistant),
        "tool" => Some(Role::Tool),
        _ => None,
    }
}

/// A validated completion request (at least one message).
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionRequest {
    pub messages: Vec<Message>,
    /// Provider-specific model; `None`: the provider's default.
    pub model: Option<String>,
    /// `None`: the provider's default.
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: Option<usize>,
    pub seed: Option<u64>,
    pub metadata: Option<Map<String, Value>>,
}

impl CompletionRequest {
    pub fn new(messages: Vec<Message>) -> Self {
        Self {
            messages,
            model: None,
            temperature: None,
            top_p: None,
            max_tokens: None,
            seed: None,
            metadata: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

impl Usage {
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    pub index: u32,
    pub message: Message,
    /// Left out when the provider gave none (the contract's `finish_reason` is a string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// A whole answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub id: String,
    pub provider: &'static str,
    pub model: String,
    /// Unix seconds.
    pub created: i64,
    pub choices: Vec<Choice>,
    pub usage: Option<Usage>,
    /// The provider's own payload, for diagnostics.
    pub raw: Option<Value>,
}

impl Completion {
    /// The first choice's text (what `/llm` clients read).
    pub fn text(&self) -> &str {
        self.choices
            .first()
            .map_or("", |c| c.message.content.as_str())
    }
}

/// One step of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// More text of the (single) choice.
    Delta(String),
    /// The end; no event follows.
    Finish {
        finish_reason: Option<String>,
        usage: Option<Usage>,
    },
}

/// A streamed answer: its identity, known before the first event is sent.
pub struct CompletionStream {
    pub id: String,
    pub provider: &'static str,
    pub model: String,
    pub created: i64,
    pub events: BoxStream<'static, Result<StreamEvent, GatewayError>>,
}

impl std::fmt::Debug for CompletionStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompletionStream")
            .field("id", &self.id)
            .field("provider", &self.provider)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A fresh completion id with `prefix` (`chatcmpl`, `echo`).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
