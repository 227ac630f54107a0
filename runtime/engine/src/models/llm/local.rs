//! SmolLM2-135M-Instruct (Q4_1 GGUF) run in-process on the CPU with candle's
//! quantized llama, behind a blocking API: the server calls it from a worker thread.

use std::fs::File;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::generation::LogitsProcessor;
use candle_transformers::models::quantized_llama::{MAX_SEQ_LEN, ModelWeights};
use tokenizers::Tokenizer;

use super::chat_template::{ChatMessage, ChatTemplate, IM_END, IM_START, PromptPart};
use super::error::LlmError;
use super::gguf_metadata::Metadata;
use super::gguf_tokenizer::tokenizer_from_gguf;
use super::params::{FinishReason, Generation, GenerationParams};
use super::text_stream::TextStream;

/// Prompt tokens per forward pass while prefilling: bounds the attention matrix
/// (heads x chunk x context floats) of long prompts.
const PREFILL_CHUNK: usize = 512;

/// Architectures candle's `quantized_llama` runs.
const SUPPORTED_ARCHITECTURES: &[&str] = &["llama"];

/// A loaded GGUF chat model. `Send + Sync`: generations take turns on the weights
/// (they hold the KV cache), tokenisation needs no lock.
pub struct LocalLlm {
    model_id: String,
    weights: Mutex<ModelWeights>,
    /// Tokenises prompts with control tokens recognised; decodes output.
    tokenizer: Tokenizer,
    /// Tokenises message content with control-token text kept as plain text.
    literal: Tokenizer,
    template: ChatTemplate,
    im_start: u32,
    im_end: u32,
    stop_tokens: Vec<u32>,
    context_window: usize,
    device: Device,
}

impl std::fmt::Debug for LocalLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLlm")
            .field("model_id", &self.model_id)
            .field("context_window", &self.context_window)
            .field("stop_tokens", &self.stop_tokens)
            .finish_non_exhaustive()
    }
}

impl LocalLlm {
    /// Loads the one `.gguf` file in `dir`; the model id is the folder's name
    /// (blocking: reads ~100 MB).
    pub fn load(dir: &Path) -> Result<Self, LlmError> {
        let path = find_gguf(dir)?;
        let mut file = File::open(&path).map_err(|source| LlmError::Read {
            path: path.clone(),
            source,
        })?;
        let content = gguf_file::Content::read(&mut file).map_err(|source| LlmError::Gguf {
            path: path.clone(),
            source,
        })?;

        let metadata = Metadata(&content.metadata);
        let architecture = metadata.string("general.architecture")?;
        if !SUPPORTED_ARCHITECTURES.contains(&architecture) {
            return Err(LlmError::Metadata {
                key: "general.architecture",
                detail: format!("{architecture:?} is not supported ({SUPPORTED_ARCHITECTURES:?})"),
            });
        }
        let context_length = metadata.u32("llama.context_length")? as usize;
        // candle's rotary tables stop at MAX_SEQ_LEN positions.
        let context_window = context_length.min(MAX_SEQ_LEN);

        let tokenizer = tokenizer_from_gguf(&metadata)?;
        let mut literal = tokenizer.clone();
        literal.set_encode_special_tokens(true);
        let template = ChatTemplate::from_metadata(
            metadata
                .contains("tokenizer.chat_template")
                .then(|| metadata.string("tokenizer.chat_template"))
                .transpose()?,
        )?;
        let control_id = |token: &str| {
            tokenizer.token_to_id(token).ok_or(LlmError::Metadata {
                key: "tokenizer.ggml.tokens",
                detail: format!("no {token} token: not a ChatML model"),
            })
        };
        let im_start = control_id(IM_START)?;
        let im_end = control_id(IM_END)?;
        let mut stop_tokens = vec![im_end];
        if metadata.contains("tokenizer.ggml.eos_token_id") {
            stop_tokens.push(metadata.u32("tokenizer.ggml.eos_token_id")?);
        }
        stop_tokens.extend(tokenizer.token_to_id("<|endoftext|>"));
        stop_tokens.sort_unstable();
        stop_tokens.dedup();

        let device = Device::Cpu;
        let weights = ModelWeights::from_gguf(content, &mut file, &device)
            .map_err(|source| LlmError::Gguf { path, source })?;
        let model_id = dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();

        Ok(Self {
            model_id,
            weights: Mutex::new(weights),
            tokenizer,
            literal,
            template,
            im_start,
            im_end,
            stop_tokens,
            context_window,
            device,
        })
    }

    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Most tokens a prompt and its completion can span together.
    pub fn context_window(&self) -> usize {
        self.context_window
    }

    /// The tokenizer built from the GGUF (control tokens are special tokens).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The prompt the model sees for `messages`, as text.
    pub fn render_prompt(&self, messages: &[ChatMessage]) -> String {
        self.template.render(messages)
    }

    /// The prompt's tokens. Message content is tokenised as plain text, so a
    /// `<|im_end|>` typed by a user cannot close its turn.
    pub fn encode_prompt(&self, messages: &[ChatMessage]) -> Result<Vec<u32>, LlmError> {
        let mut ids = Vec::new();
        for part in self.template.parts(messages) {
            match part {
                PromptPart::ImStart => ids.push(self.im_start),
                PromptPart::ImEnd => ids.push(self.im_end),
                PromptPart::Text(text) => {
                    let encoding = self.literal.encode(text.as_ref(), false).map_err(|e| {
                        LlmError::Tokenize {
                            message: e.to_string(),
                        }
                    })?;
                    ids.extend_from_slice(encoding.get_ids());
                }
            }
        }
        Ok(ids)
    }

    /// Generates the assistant's reply to `messages`. `on_token` receives each new
    /// piece of text as soon as it forms whole characters; the pieces join to
    /// `Generation::text`. Returning `ControlFlow::Break` stops generation there
    /// (finish reason `Stop`, as for a stop sequence).
    pub fn generate(
        &self,
        messages: &[ChatMessage],
        params: &GenerationParams,
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Generation, LlmError> {
        params.validate()?;
        if messages.is_empty() {
            return Err(LlmError::InvalidParams("no messages".to_owned()));
        }
        let prompt = self.encode_prompt(messages)?;
        if prompt.len() >= self.context_window {
            return Err(LlmError::ContextOverflow {
                prompt_tokens: prompt.len(),
                context_window: self.context_window,
            });
        }
        let budget = params.max_tokens.min(self.context_window - prompt.len());

        let mut weights = self.weights.lock().unwrap_or_else(PoisonError::into_inner);
        // Every generation starts from an empty cache (positions restart at 0).
        weights.clear_kv_cache();
        let result = self.decode(&mut weights, &prompt, budget, params, on_token);
        // Frees the cache's memory between requests.
        weights.clear_kv_cache();
        result
    }

    fn decode(
        &self,
        weights: &mut ModelWeights,
        prompt: &[u32],
        budget: usize,
        params: &GenerationParams,
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Generation, LlmError> {
        let mut sampler = LogitsProcessor::new(params.seed, Some(params.temperature), params.top_p);
        let mut position = 0;
        let mut logits = None;
        for chunk in prompt.chunks(PREFILL_CHUNK) {
            logits = Some(self.forward(weights, chunk, position, "prefill")?);
            position += chunk.len();
        }
        let mut logits =
            logits.ok_or_else(|| LlmError::InvalidParams("empty prompt".to_owned()))?;

        let mut completion = Vec::with_capacity(budget);
        let mut stream = TextStream::new(&self.tokenizer);
        let finish_reason = loop {
            let token = sampler
                .sample(&logits)
                .map_err(|source| LlmError::Inference {
                    stage: "sampling",
                    source,
                })?;
            completion.push(token);
            if self.stop_tokens.contains(&token) {
                break FinishReason::Stop;
            }
            if let Some(piece) = stream.push(token)?
                && on_token(&piece).is_break()
            {
                break FinishReason::Stop;
            }
            if completion.len() >= budget {
                break FinishReason::Length;
            }
            logits = self.forward(weights, &[token], position, "decode")?;
            position += 1;
        };
        if let Some(rest) = stream.finish()? {
            // The caller already stopped or the generation is over: nothing to decide.
            let _ = on_token(&rest);
        }

        let text = self
            .tokenizer
            .decode(&completion, true)
            .map_err(|e| LlmError::Tokenize {
                message: e.to_string(),
            })?;
        Ok(Generation {
            text,
            prompt_tokens: prompt.len(),
            completion_tokens: completion.len(),
            finish_reason,
        })
    }

    /// Runs `tokens` at `position` through the model; the logits of the last one.
    fn forward(
        &self,
        weights: &mut ModelWeights,
        tokens: &[u32],
        position: usize,
        stage: &'static str,
    ) -> Result<Tensor, LlmError> {
        let mut run = || {
            let input = Tensor::new(tokens, &self.device)?.unsqueeze(0)?;
            weights.forward(&input, position)?.squeeze(0)
        };
        run().map_err(|source| LlmError::Inference { stage, source })
    }
}

/// The single `.gguf` file of a model folder.
fn find_gguf(dir: &Path) -> Result<PathBuf, LlmError> {
    let entries = std::fs::read_dir(dir).map_err(|source| LlmError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| LlmError::Read {
                path: dir.to_owned(),
                source,
            })?
            .path();
        if path.is_file() && path.extension().is_some_and(|ext| ext == "gguf") {
            found.push(path);
        }
    }
    match found.len() {
        0 => Err(LlmError::NoModelFile {
            dir: dir.to_owned(),
        }),
        1 => Ok(found.remove(0)),
        _ => {
            found.sort();
            Err(LlmError::SeveralModelFiles {
                dir: dir.to_owned(),
                files: found
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_llm_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<LocalLlm>();
    }

    #[test]
    fn a_folder_needs_exactly_one_gguf() {
        let dir = std::env::temp_dir().join(format!("hermes-llm-find-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(matches!(find_gguf(&dir), Err(LlmError::NoModelFile { .. })));
        std::fs::write(dir.join("a.gguf"), b"").unwrap();
        std::fs::write(dir.join("notes.txt"), b"").unwrap();
        assert_eq!(find_gguf(&dir).unwrap(), dir.join("a.gguf"));
        std::fs::write(dir.join("b.gguf"), b"").unwrap();
        assert!(matches!(
            find_gguf(&dir),
            Err(LlmError::SeveralModelFiles { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_folder_is_a_read_error() {
        let err = LocalLlm::load(Path::new("/nonexistent/hermes-llm")).unwrap_err();
        assert!(matches!(err, LlmError::Read { .. }), "{err}");
    }

    #[test]
    fn a_file_that_is_not_gguf_is_a_gguf_error() {
        let dir = std::env::temp_dir().join(format!("hermes-llm-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("model.gguf"), b"not a gguf file").unwrap();
        let err = LocalLlm::load(&dir).unwrap_err();
        assert!(matches!(err, LlmError::Gguf { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
