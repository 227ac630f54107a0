//! The LLM gateway behind `/llm` and `/v1/chat/completions`: one request shape,
//! three providers (`echo`, `local`, `openai`), answers whole or streamed.
//!
//! [`gateway`] picks the provider (the request's, else the configured default)
//! and maps every failure to a [`GatewayError`] with the contract's status; the
//! HTTP handlers (`api::llm`, `api::chat_completions`) only parse and frame.

pub mod answered;
pub mod error;
pub mod fields;
pub mod gateway;
pub mod health;
pub mod providers;
pub mod settings;
pub mod types;
pub mod upstream_guard;

pub use error::GatewayError;
pub use gateway::Gateway;
pub use settings::ProviderKind;
pub use types::{
    Choice, Completion, CompletionRequest, CompletionStream, Message, StreamEvent, Usage,
};
