//! all-MiniLM-L6-v2 sentence embeddings on the CPU with candle.
//!
//! Computes exactly what sentence-transformers computes for this model: BERT
//! tokenisation truncated at `max_seq_length` (sentence_bert_config.json, 256),
//! a BERT forward pass with the attention mask, mean pooling over the real tokens
//! and L2 normalisation. A batch is padded to its longest text only.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig};
use serde::Deserialize;
use tokenizers::{Tokenizer, TruncationParams};

/// Texts per forward pass. Texts are sorted by length first, so a batch pads
/// little; larger batches stop paying off on a few cores.
const BATCH_SIZE: usize = 32;

/// `torch.nn.functional.normalize`'s epsilon, so a zero vector stays zero.
const NORM_EPS: f64 = 1e-12;

#[derive(thiserror::Error, Debug)]
pub enum EmbeddingError {
    #[error("embedding model: cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("embedding model: cannot parse {path}: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("embedding model: cannot load tokenizer {path}: {message}")]
    Tokenizer { path: PathBuf, message: String },
    #[error("embedding model: cannot load weights {path}: {source}")]
    Weights {
        path: PathBuf,
        source: candle_core::Error,
    },
    #[error("embedding model: unsupported configuration in {path}: {detail}")]
    Unsupported { path: PathBuf, detail: String },
    #[error("embedding: tokenisation failed: {message}")]
    Tokenize { message: String },
    #[error("embedding: {stage} failed: {source}")]
    Inference {
        stage: &'static str,
        source: candle_core::Error,
    },
}

/// The sentence-transformers module configs this embedder honours.
#[derive(Deserialize)]
pub(super) struct SentenceBertConfig {
    pub(super) max_seq_length: usize,
}

#[derive(Deserialize)]
struct PoolingConfig {
    word_embedding_dimension: usize,
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
}

/// A loaded all-MiniLM-L6-v2: tokenizer plus BERT weights, shareable across threads.
pub struct MiniLmEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    /// Tokens kept of each text (`max_seq_length`, special tokens included).
    max_tokens: usize,
    dimension: usize,
    device: Device,
}

impl std::fmt::Debug for MiniLmEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLmEmbedder")
            .field("dimension", &self.dimension)
            .finish_non_exhaustive()
    }
}

impl MiniLmEmbedder {
    /// Loads the model from a sentence-transformers folder (blocking: reads ~90 MB).
    pub fn load(dir: &Path) -> Result<Self, EmbeddingError> {
        let config_path = dir.join("config.json");
        let config: BertConfig = read_json(&config_path)?;
        let st_path = dir.join("sentence_bert_config.json");
        let st_config: SentenceBertConfig = read_json(&st_path)?;
        let pooling_path = dir.join("1_Pooling").join("config.json");
        let pooling: PoolingConfig = read_json(&pooling_path)?;

        check_pooling(&pooling, &pooling_path)?;
        if pooling.word_embedding_dimension != config.hidden_size {
            return Err(EmbeddingError::Unsupported {
                path: pooling_path,
                detail: format!(
                    "word_embedding_dimension {} differs from the model's hidden_size {}",
                    pooling.word_embedding_dimension, config.hidden_size
                ),
            });
        }
        if st_config.max_seq_length == 0
            || st_config.max_seq_length > config.max_position_embeddings
        {
            return Err(EmbeddingError::Unsupported {
                path: st_path,
                detail: format!(
                    "max_seq_length {} must be within 1..={} (max_position_embeddings)",
                    st_config.max_seq_length, config.max_position_embeddings
                ),
            });
        }

        let tokenizer = load_tokenizer(&dir.join("tokenizer.json"), st_config.max_seq_length)?;

        let weights_path = dir.join("model.safetensors");
        let bytes = std::fs::read(&weights_path).map_err(|source| EmbeddingError::Read {
            path: weights_path.clone(),
            source,
        })?;
        let device = Device::Cpu;
        // Buffered rather than mmapped: no `unsafe`, and the buffer is freed once
        // the weights are copied into tensors.
        let model = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &device)
            .and_then(|vb| BertModel::load(vb, &config))
            .map_err(|source| EmbeddingError::Weights {
                path: weights_path,
                source,
            })?;

        Ok(Self {
            model,
            tokenizer,
            max_tokens: st_config.max_seq_length,
            dimension: pooling.word_embedding_dimension,
            device,
        })
    }

    /// Length of every embedding (384 for all-MiniLM-L6-v2).
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Tokens the model reads of `text` (special tokens included, after truncation at
    /// `max_seq_length`): what an OpenAI client's `usage` counts.
    pub fn count_tokens(&self, text: &str) -> Result<usize, EmbeddingError> {
        self.tokenizer
            .encode(leading_words(text, self.max_tokens), true)
            .map(|e| e.get_ids().len().min(self.max_tokens))
            .map_err(|e| EmbeddingError::Tokenize {
                message: e.to_string(),
            })
    }

    /// Embeds `texts` (blocking CPU work); one unit-length vector per text, in order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbeddingError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        // Only the words that can reach the model are tokenised: a long text costs
        // no more memory than one of `max_tokens` words.
        let kept: Vec<&str> = texts
            .iter()
            .map(|t| leading_words(t, self.max_tokens))
            .collect();
        let encodings =
            self.tokenizer
                .encode_batch(kept, true)
                .map_err(|e| EmbeddingError::Tokenize {
                    message: e.to_string(),
                })?;
        let token_ids: Vec<&[u32]> = encodings.iter().map(|e| e.get_ids()).collect();

        // Sort by length so each batch pads little, then restore the caller's order.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| token_ids[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH_SIZE) {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| token_ids[i]).collect();
            let vectors = self.embed_batch(&batch)?;
            for (&i, vector) in chunk.iter().zip(vectors) {
                out[i] = vector;
            }
        }
        Ok(out)
    }

    /// One forward pass over token id sequences, padded to the longest.
    fn embed_batch(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>, EmbeddingError> {
        let rows = batch.len();
        let width = batch.iter().map(|ids| ids.len()).max().unwrap_or(0);
        let mut ids = vec![0u32; rows * width];
        let mut mask = vec![0u32; rows * width];
        for (row, seq) in batch.iter().enumerate() {
            ids[row * width..row * width + seq.len()].copy_from_slice(seq);
            mask[row * width..row * width + seq.len()].fill(1);
        }
        let stage = |stage| move |source| EmbeddingError::Inference { stage, source };

        let ids = Tensor::from_vec(ids, (rows, width), &self.device).map_err(stage("input"))?;
        let mask = Tensor::from_vec(mask, (rows, width), &self.device).map_err(stage("input"))?;
        let token_types = ids.zeros_like().map_err(stage("input"))?;
        let hidden = self
            .model
            .forward(&ids, &token_types, Some(&mask))
            .map_err(stage("forward pass"))?;
        let pooled = mean_pool(&hidden, &mask).map_err(stage("mean pooling"))?;
        let normalised = l2_normalise(&pooled).map_err(stage("normalisation"))?;
        normalised.to_vec2::<f32>().map_err(stage("output"))
    }
}

/// Mean of the hidden states over the tokens the mask marks real: (B, L, H) -> (B, H).
/// The prefix of `text` holding its first `words` pre-tokens. BERT's
/// pre-tokenizer splits at whitespace and makes every ASCII punctuation mark a
/// pre-token of its own, and every pre-token becomes at least one token, so the
/// first `words` tokens of the prefix are those of the whole text: truncating the
/// prefix to that many tokens gives the same encoding, without materialising the
/// tokens of the rest. (Other splits BERT makes, such as CJK characters, are not
/// counted here: the prefix is then only longer than needed.)
pub fn leading_words(text: &str, words: usize) -> &str {
    if words == 0 {
        return "";
    }
    let mut seen = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        let space = matches!(c, ' ' | '\t' | '\n' | '\r');
        let punctuation = c.is_ascii_punctuation();
        if !space && !punctuation {
            in_word = true;
            continue;
        }
        if in_word {
            in_word = false;
            seen += 1;
            if seen == words {
                return &text[..i];
            }
        }
        if punctuation {
            seen += 1;
            if seen == words {
                return &text[..i + c.len_utf8()];
            }
        }
    }
    text
}

fn mean_pool(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(hidden.dtype())?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    // sentence-transformers clamps the token count at 1e-9.
    let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
    summed.broadcast_div(&counts)
}

fn l2_normalise(x: &Tensor) -> candle_core::Result<Tensor> {
    let norms = x.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(NORM_EPS, f64::MAX)?;
    x.broadcast_div(&norms)
}

fn check_pooling(pooling: &PoolingConfig, path: &Path) -> Result<(), EmbeddingError> {
    let only_mean = pooling.pooling_mode_mean_tokens
        && !pooling.pooling_mode_cls_token
        && !pooling.pooling_mode_max_tokens
        && !pooling.pooling_mode_mean_sqrt_len_tokens;
    if only_mean {
        Ok(())
    } else {
        Err(EmbeddingError::Unsupported {
            path: path.to_path_buf(),
            detail: "only mean-token pooling is implemented".to_string(),
        })
    }
}

/// tokenizer.json ships fixed padding and truncation at 128; sentence-transformers
/// overrides both: truncate at max_seq_length, pad per batch (done by the caller;
/// the ONNX embedder shares this loader).
pub(super) fn load_tokenizer(
    path: &Path,
    max_seq_length: usize,
) -> Result<Tokenizer, EmbeddingError> {
    let error = |e: tokenizers::Error| EmbeddingError::Tokenizer {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut tokenizer = Tokenizer::from_file(path).map_err(error)?;
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: max_seq_length,
            ..TruncationParams::default()
        }))
        .map_err(error)?;
    Ok(tokenizer)
}

pub(super) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, EmbeddingError> {
    let text = std::fs::read_to_string(path).map_err(|source| EmbeddingError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| EmbeddingError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn embedder_is_send_and_sync() {
        assert_send_sync::<MiniLmEmbedder>();
    }

    #[test]
    fn only_the_leading_words_are_kept() {
        assert_eq!(leading_words("a b  c d", 2), "a b");
        assert_eq!(leading_words("  a b", 1), "  a");
        assert_eq!(leading_words("a b", 5), "a b");
        assert_eq!(leading_words("", 3), "");
        assert_eq!(leading_words("it's a dog.", 3), "it's");
        assert_eq!(leading_words("a.b.c.d", 4), "a.b.");
        let long = "word ".repeat(10_000);
        assert_eq!(leading_words(&long, 256).split_whitespace().count(), 256);
        let dotted = "a.".repeat(100_000);
        assert_eq!(leading_words(&dotted, 256).len(), 256);
    }

    #[test]
    fn mean_pool_ignores_padded_tokens() {
        let hidden = Tensor::new(&[[[1f32, 2.], [3., 4.], [100., 100.]]], &Device::Cpu).unwrap();
        let mask = Tensor::new(&[[1u32, 1, 0]], &Device::Cpu).unwrap();
        let pooled = mean_pool(&hidden, &mask).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(pooled, vec![vec![2f32, 3.]]);
    }

    #[test]
    fn l2_normalise_gives_unit_rows_and_keeps_zero_rows() {
        let x = Tensor::new(&[[3f32, 4.], [0., 0.]], &Device::Cpu).unwrap();
        let y = l2_normalise(&x).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(y, vec![vec![0.6f32, 0.8], vec![0., 0.]]);
    }

    #[test]
    fn missing_folder_names_the_file() {
        let err = MiniLmEmbedder::load(Path::new("/nonexistent/minilm")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/minilm/config.json"),
            "{err}"
        );
    }
}
