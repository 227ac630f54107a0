//! The sentence-transformers folder of all-MiniLM-L6-v2: its configs, its tokenizer
//! set up as sentence-transformers uses it, and truncation before tokenisation.
//!
//! sentence-transformers truncates at `max_seq_length` (sentence_bert_config.json,
//! 256) and pads per batch; it mean-pools the real tokens and L2-normalises. The
//! engine ([`super::embedding_onnx`]) runs `model.onnx`, which does the pooling and
//! normalisation in the graph; this module checks the folder asks for exactly that.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokenizers::{Tokenizer, TruncationParams};

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
    #[error("embedding model: unsupported configuration in {path}: {detail}")]
    Unsupported { path: PathBuf, detail: String },
}

#[derive(Deserialize)]
struct BertConfig {
    hidden_size: usize,
    max_position_embeddings: usize,
}

#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: usize,
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

/// What an embedder needs from the folder besides its weights.
pub struct SentenceTransformer {
    /// Truncates at `max_seq_length`, pads nothing.
    pub tokenizer: Tokenizer,
    /// Tokens kept of each text, special tokens included.
    pub max_seq_length: usize,
    /// Length of every embedding (384).
    pub dimension: usize,
}

impl SentenceTransformer {
    /// Reads and checks `config.json`, `sentence_bert_config.json`,
    /// `1_Pooling/config.json` and `tokenizer.json` of `dir`.
    pub fn load(dir: &Path) -> Result<Self, EmbeddingError> {
        let config: BertConfig = read_json(&dir.join("config.json"))?;
        let st_path = dir.join("sentence_bert_config.json");
        let st: SentenceBertConfig = read_json(&st_path)?;
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
        if st.max_seq_length == 0 || st.max_seq_length > config.max_position_embeddings {
            return Err(EmbeddingError::Unsupported {
                path: st_path,
                detail: format!(
                    "max_seq_length {} must be within 1..={} (max_position_embeddings)",
                    st.max_seq_length, config.max_position_embeddings
                ),
            });
        }
        Ok(Self {
            tokenizer: load_tokenizer(&dir.join("tokenizer.json"), st.max_seq_length)?,
            max_seq_length: st.max_seq_length,
            dimension: config.hidden_size,
        })
    }
}

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
/// overrides both: truncate at max_seq_length, pad per batch (done by the caller).
fn load_tokenizer(path: &Path, max_seq_length: usize) -> Result<Tokenizer, EmbeddingError> {
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

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, EmbeddingError> {
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
    fn missing_folder_names_the_file() {
        let err = SentenceTransformer::load(Path::new("/nonexistent/minilm"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("/nonexistent/minilm/config.json"), "{err}");
    }
}
