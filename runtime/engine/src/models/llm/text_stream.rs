//! Incremental detokenisation for streaming.
//!
//! A byte-level BPE token can end in the middle of a UTF-8 character (an emoji is
//! often two or three tokens), so decoding token by token would emit U+FFFD halves.
//! The stream holds tokens back until they decode to whole characters and emits
//! only text after the last emitted character boundary. Byte-level decoding
//! concatenates at such boundaries, so the pieces join to the full decode.

use tokenizers::Tokenizer;

use super::error::LlmError;

pub(super) struct TextStream<'t> {
    tokenizer: &'t Tokenizer,
    /// Tokens not yet emitted as text (they end inside a character).
    pending: Vec<u32>,
}

impl<'t> TextStream<'t> {
    pub(super) fn new(tokenizer: &'t Tokenizer) -> Self {
        Self {
            tokenizer,
            pending: Vec::new(),
        }
    }

    /// Adds a token; returns the text it completes, if any.
    pub(super) fn push(&mut self, token: u32) -> Result<Option<String>, LlmError> {
        self.pending.push(token);
        let text = self.decode()?;
        if text.ends_with(char::REPLACEMENT_CHARACTER) {
            return Ok(None);
        }
        self.pending.clear();
        Ok((!text.is_empty()).then_some(text))
    }

    /// The text of tokens still held back (bytes that never formed a character
    /// decode as U+FFFD, as in the full decode).
    pub(super) fn finish(mut self) -> Result<Option<String>, LlmError> {
        let text = self.decode()?;
        self.pending.clear();
        Ok((!text.is_empty()).then_some(text))
    }

    fn decode(&self) -> Result<String, LlmError> {
        self.tokenizer
            .decode(&self.pending, true)
            .map_err(|e| LlmError::Tokenize {
                message: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use tokenizers::models::bpe::{BPE, Vocab};
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;

    use super::*;

    /// Byte-level BPE without merges: one token per UTF-8 byte, so every
    /// multi-byte character spans several tokens.
    fn byte_tokenizer() -> Tokenizer {
        let mut alphabet: Vec<char> = ByteLevel::alphabet().into_iter().collect();
        alphabet.sort_unstable();
        let vocab: Vocab = alphabet
            .iter()
            .enumerate()
            .map(|(id, c)| (c.to_string(), id as u32))
            .collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, Vec::new())
            .build()
            .unwrap();
        let mut tokenizer = Tokenizer::new(bpe);
        tokenizer
            .with_pre_tokenizer(Some(ByteLevel::new(false, true, false)))
            .with_decoder(Some(ByteLevel::default()));
        tokenizer
    }

    fn stream_pieces(tokenizer: &Tokenizer, ids: &[u32]) -> Vec<String> {
        let mut stream = TextStream::new(tokenizer);
        let mut pieces: Vec<String> = ids
            .iter()
            .filter_map(|id| stream.push(*id).unwrap())
            .collect();
        pieces.extend(stream.finish().unwrap());
        pieces
    }

    #[test]
    fn never_splits_a_multi_byte_character() {
        let tokenizer = byte_tokenizer();
        let text = "aé🎉 日本";
        let ids = tokenizer.encode(text, false).unwrap().get_ids().to_vec();
        assert_eq!(ids.len(), text.len(), "one token per byte");
        let pieces = stream_pieces(&tokenizer, &ids);
        assert_eq!(pieces, ["a", "é", "🎉", " ", "日", "本"]);
        assert!(
            pieces
                .iter()
                .all(|p| !p.contains(char::REPLACEMENT_CHARACTER))
        );
        assert_eq!(pieces.concat(), tokenizer.decode(&ids, true).unwrap());
    }

    #[test]
    fn a_dangling_partial_character_is_flushed_at_the_end() {
        let tokenizer = byte_tokenizer();
        let ids = tokenizer.encode("ok🎉", false).unwrap().get_ids().to_vec();
        // Cut the emoji after two of its four bytes: the decode ends in U+FFFD.
        let cut = &ids[..4];
        let pieces = stream_pieces(&tokenizer, cut);
        assert_eq!(pieces.first().map(String::as_str), Some("o"));
        assert_eq!(pieces.concat(), tokenizer.decode(cut, true).unwrap());
        assert!(pieces.concat().ends_with(char::REPLACEMENT_CHARACTER));
    }
}
