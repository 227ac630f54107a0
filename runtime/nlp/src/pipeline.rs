//! The assembled pipeline: loads every component from a package directory and analyses a text.

use crate::NlpError;
use crate::attribute_ruler::{AttributeRuler, TokenView};
use crate::layers::{Linear, Tok2Vec};
use crate::lemmatizer::{Lemmatizer, read_lookups};
use crate::ner::Ner;
use crate::strings::{base_norm, prefix, string_id, suffix, word_shape};
use crate::tokenizer::{Token, Tokenizer};
use crate::weights::read_model;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

/// One analysis the caller can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Tokenize,
    PosTag,
    Lemmatize,
    Ner,
}

impl Operation {
    pub const ALL: [&'static str; 4] = ["tokenize", "pos_tag", "lemmatize", "ner"];
}

impl FromStr for Operation {
    type Err = NlpError;
    fn from_str(s: &str) -> Result<Self, NlpError> {
        match s {
            "tokenize" => Ok(Operation::Tokenize),
            "pos_tag" => Ok(Operation::PosTag),
            "lemmatize" => Ok(Operation::Lemmatize),
            "ner" => Ok(Operation::Ner),
            other => Err(NlpError::InvalidOperations(vec![other.to_string()])),
        }
    }
}

/// Parses a request's operation names, keeping their first-seen order without repeats;
/// every unknown name is reported at once.
pub fn parse_operations<S: AsRef<str>>(names: &[S]) -> Result<Vec<Operation>, NlpError> {
    let mut ops = Vec::new();
    let mut invalid = Vec::new();
    for name in names {
        match name.as_ref().parse::<Operation>() {
            Ok(op) if !ops.contains(&op) => ops.push(op),
            Ok(_) => {}
            Err(_) => invalid.push(name.as_ref().to_string()),
        }
    }
    if invalid.is_empty() {
        Ok(ops)
    } else {
        Err(NlpError::InvalidOperations(invalid))
    }
}

/// A token with its coarse universal POS tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PosTag {
    pub token: String,
    pub tag: String,
}

/// A named entity with character (code point) offsets into the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entity {
    pub text: String,
    pub label: String,
    pub start: usize,
    pub end: usize,
}

/// What `analyze` found; fields not asked for are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Analysis {
    pub tokens: Option<Vec<String>>,
    pub pos_tags: Option<Vec<PosTag>>,
    /// Fine-grained (Penn) tags, filled with `pos_tags`.
    #[serde(skip)]
    pub fine_tags: Option<Vec<String>>,
    pub lemmas: Option<Vec<String>>,
    pub entities: Option<Vec<Entity>>,
}

/// en_core_web_sm in Rust.
pub struct NlpPipeline {
    tokenizer: Tokenizer,
    lexeme_norm: HashMap<u64, String>,
    tok2vec: Tok2Vec,
    tagger: Linear,
    tag_names: Vec<String>,
    ruler: AttributeRuler,
    lemmatizer: Lemmatizer,
    ner: Ner,
}

fn read_tag_names(path: &Path) -> Result<Vec<String>, NlpError> {
    let text = std::fs::read_to_string(path).map_err(|e| NlpError::io(path, e))?;
    let cfg: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| NlpError::Format(format!("tagger cfg: {e}")))?;
    cfg["labels"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .ok_or_else(|| NlpError::Format("tagger cfg has no labels".into()))
}

impl NlpPipeline {
    /// Loads the pipeline from an `en_core_web_sm` package directory (the one holding `config.cfg`).
    pub fn load(dir: &Path) -> Result<Self, NlpError> {
        let tokenizer = Tokenizer::load(&dir.join("tokenizer"))?;
        let lexeme_norm = read_lookups(&dir.join("vocab/lookups.bin"))?
            .remove("lexeme_norm")
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
            .collect();
        let tok2vec = Tok2Vec::from_nodes(&read_model(&dir.join("tok2vec/model"))?)?;
        let tagger_nodes = read_model(&dir.join("tagger/model"))?;
        let softmax = tagger_nodes
            .iter()
            .find(|n| n.name == "softmax")
            .ok_or_else(|| NlpError::Format("tagger: no softmax layer".into()))?;
        let tagger = Linear::from_arrays(softmax.param("W")?, softmax.param("b")?)?;
        let tag_names = read_tag_names(&dir.join("tagger/cfg"))?;
        if tag_names.len() != tagger.n_out || tagger.n_in != tok2vec.width() {
            return Err(NlpError::Format(
                "tagger shape differs from its labels or tok2vec".into(),
            ));
        }
        if tok2vec.n_features() != 6 {
            return Err(NlpError::Format(
                "tok2vec: expected six embedded attributes".into(),
            ));
        }
        let ruler = AttributeRuler::load(&dir.join("attribute_ruler/patterns"))?;
        let lemmatizer = Lemmatizer::load(&dir.join("lemmatizer/lookups/lookups.bin"))?;
        let ner = Ner::load(&dir.join("ner"))?;
        if ner.tok2vec.n_features() != 4 {
            return Err(NlpError::Format(
                "ner tok2vec: expected four embedded attributes".into(),
            ));
        }
        Ok(Self {
            tokenizer,
            lexeme_norm,
            tok2vec,
            tagger,
            tag_names,
            ruler,
            lemmatizer,
            ner,
        })
    }

    /// The NER's move names in class order.
    pub fn ner_move_names(&self) -> Vec<String> {
        self.ner.move_names()
    }

    /// Tokens as spaCy's tokenizer splits the text.
    pub fn tokenize(&self, text: &str) -> Vec<Token> {
        self.tokenizer.tokenize(text)
    }

    fn norm<'a>(&'a self, tok: &'a Token) -> std::borrow::Cow<'a, str> {
        if let Some(n) = &tok.norm {
            return n.as_str().into();
        }
        if let Some(n) = self.lexeme_norm.get(&string_id(&tok.text)) {
            return n.as_str().into();
        }
        if let Some(n) = base_norm(&tok.text) {
            return n.into();
        }
        tok.text.to_lowercase().into()
    }

    /// NORM, PREFIX, SUFFIX, SHAPE, SPACY, IS_SPACE ids per token.
    fn features(&self, tokens: &[Token]) -> Vec<Vec<u64>> {
        tokens
            .iter()
            .map(|t| {
                vec![
                    string_id(&self.norm(t)),
                    string_id(prefix(&t.text)),
                    string_id(suffix(&t.text)),
                    string_id(&word_shape(&t.text)),
                    u64::from(t.space_after),
                    u64::from(is_space(&t.text)),
                ]
            })
            .collect()
    }

    /// Runs what `ops` need and fills the matching fields.
    pub fn analyze(&self, text: &str, ops: &[Operation]) -> Analysis {
        let tokens = self.tokenizer.tokenize(text);
        let want = |op| ops.contains(&op);
        let mut out = Analysis::default();
        if want(Operation::Tokenize) {
            out.tokens = Some(tokens.iter().map(|t| t.text.clone()).collect());
        }
        let feats = if tokens.is_empty() {
            Vec::new()
        } else {
            self.features(&tokens)
        };
        if want(Operation::PosTag) || want(Operation::Lemmatize) {
            let vecs = self.tok2vec.forward(&feats);
            let mut all_scores = vec![0f32; tokens.len() * self.tagger.n_out];
            self.tagger.apply_rows(&vecs, tokens.len(), &mut all_scores);
            let mut tags: Vec<String> = Vec::with_capacity(tokens.len());
            for scores in all_scores.chunks_exact(self.tagger.n_out) {
                let best = scores
                    .iter()
                    .enumerate()
                    .fold(
                        (0, f32::NEG_INFINITY),
                        |b, (j, &s)| if s > b.1 { (j, s) } else { b },
                    );
                tags.push(self.tag_names[best.0].clone());
            }
            let lowers: Vec<String> = tokens.iter().map(|t| t.text.to_lowercase()).collect();
            let views: Vec<TokenView<'_>> = tokens
                .iter()
                .zip(&lowers)
                .zip(&tags)
                .map(|((t, lower), tag)| TokenView {
                    lower,
                    tag,
                    is_space: is_space(&t.text),
                })
                .collect();
            let attrs = self.ruler.apply(&views);
            let mut pos_tags = Vec::with_capacity(tokens.len());
            let mut lemmas = Vec::with_capacity(tokens.len());
            for (t, a) in tokens.iter().zip(&attrs) {
                let pos = a.pos.clone().unwrap_or_default();
                let morph = a.morph.as_deref().unwrap_or("");
                let lemma = match &a.lemma {
                    Some(l) => l.clone(),
                    None => self.lemmatizer.lemmatize(&t.text, &pos, morph),
                };
                pos_tags.push(PosTag {
                    token: t.text.clone(),
                    tag: pos,
                });
                lemmas.push(lemma);
            }
            if want(Operation::PosTag) {
                out.pos_tags = Some(pos_tags);
                out.fine_tags = Some(tags);
            }
            if want(Operation::Lemmatize) {
                out.lemmas = Some(lemmas);
            }
        }
        if want(Operation::Ner) {
            let ner_feats: Vec<Vec<u64>> = feats.iter().map(|f| f[..4].to_vec()).collect();
            let spaces: Vec<bool> = tokens.iter().map(|t| is_space(&t.text)).collect();
            let spans = self.ner.predict(&ner_feats, &spaces);
            let entities = spans
                .into_iter()
                .map(|s| {
                    let start_b = tokens[s.start].start;
                    let last = &tokens[s.end - 1];
                    let end_b = last.start + last.text.len();
                    Entity {
                        text: text[start_b..end_b].to_string(),
                        label: s.label,
                        start: text[..start_b].chars().count(),
                        end: text[..end_b].chars().count(),
                    }
                })
                .collect();
            out.entities = Some(entities);
        }
        out
    }
}

/// Python's `str.isspace` on a whole string.
fn is_space(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runtime shares one pipeline between worker threads.
    #[test]
    fn pipeline_is_shareable_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<NlpPipeline>();
    }
}
