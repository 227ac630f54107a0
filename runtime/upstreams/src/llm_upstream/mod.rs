//! The `openai` LLM provider: any OpenAI-compatible chat-completions server,
//! reached through the shared client and guarded by a breaker and a retry budget.
//!
//! [`wire`] (names, usage, error bodies) -> [`openai_stream`] (SSE chunks) and
//! [`retry`] (when and how long to wait) -> [`openai`] (the calls), behind
//! [`guard`] (breaker + retry budget, shared by every request).

pub mod guard;
pub mod openai;
pub mod openai_stream;
pub mod retry;
pub mod wire;

pub use wire::NAME;
