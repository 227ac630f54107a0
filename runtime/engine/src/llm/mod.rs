//! The LLM gateway's engine side: one request shape and answer type
//! ([`types`]), why a provider could not answer ([`error`]), the provider names
//! ([`provider`]) and the providers that run here: [`echo`] and [`local`] (the
//! GGUF model on its worker). The `openai` provider lives in `hermes-upstreams`;
//! the binary's gateway picks between them.

pub mod echo;
pub mod error;
pub mod local;
pub mod provider;
pub mod types;

pub use error::GatewayError;
pub use provider::ProviderKind;
pub use types::{
    Choice, Completion, CompletionRequest, CompletionStream, Message, StreamEvent, Usage,
};
