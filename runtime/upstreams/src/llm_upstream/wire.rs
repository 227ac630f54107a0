//! The OpenAI wire format shared by whole and streamed answers: the provider's
//! name, token usage, and the message of an upstream's error body.

use hermes_engine::llm::types::Usage;
use serde_json::Value;

pub const NAME: &str = "openai";

pub fn parse_usage(usage: &Value) -> Option<Usage> {
    let prompt = usage["prompt_tokens"].as_u64()?;
    let completion = usage["completion_tokens"].as_u64()?;
    Some(Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: usage["total_tokens"]
            .as_u64()
            .unwrap_or(prompt + completion),
    })
}

/// The message of an OpenAI (`{"error": {"message"}}`), FastAPI (`{"detail"}`)
/// or plain (`{"error": "..."}`) error body.
pub fn upstream_error_message(body: &Value) -> Option<String> {
    let error = &body["error"];
    error["message"]
        .as_str()
        .or_else(|| error.as_str())
        .map(str::to_owned)
        .or_else(|| match &body["detail"] {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        })
}
