//! Why loading the local LLM or generating with it failed.

use std::path::PathBuf;

#[derive(thiserror::Error, Debug)]
pub enum LlmError {
    #[error("llm model: no .gguf file in {dir}")]
    NoModelFile { dir: PathBuf },
    #[error("llm model: several .gguf files in {dir} ({files}); keep exactly one")]
    SeveralModelFiles { dir: PathBuf, files: String },
    #[error("llm model: cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("llm model: cannot load GGUF {path}: {source}")]
    Gguf {
        path: PathBuf,
        source: candle_core::Error,
    },
    #[error("llm model: GGUF metadata {key}: {detail}")]
    Metadata { key: &'static str, detail: String },
    #[error("llm model: cannot build the tokenizer from the GGUF metadata: {message}")]
    Tokenizer { message: String },
    #[error("llm: invalid generation parameters: {0}")]
    InvalidParams(String),
    #[error(
        "llm: the prompt is {prompt_tokens} tokens but the context window is {context_window}; \
         shorten the conversation"
    )]
    ContextOverflow {
        prompt_tokens: usize,
        context_window: usize,
    },
    #[error("llm: tokenisation failed: {message}")]
    Tokenize { message: String },
    #[error("llm: {stage} failed: {source}")]
    Inference {
        stage: &'static str,
        source: candle_core::Error,
    },
}
