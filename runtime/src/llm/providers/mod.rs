//! The providers: each answers a [`CompletionRequest`](super::CompletionRequest)
//! whole or as a stream.

pub mod echo;
pub mod local;
pub mod openai;
mod openai_stream;
mod retry;
