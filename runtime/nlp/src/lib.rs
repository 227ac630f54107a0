//! hermes-nlp: spaCy's `en_core_web_sm` pipeline in Rust — tokenizer, tok2vec + tagger, attribute ruler, rule lemmatizer and NER.
//!
//! The weights and rules are read straight from the package's files (thinc msgpack), laid out by
//! `scripts/models.sh` under `models/en-core-web-sm/`. No parser runs: the attribute ruler's few
//! dependency conditions use a tag-based guess (see `attribute_ruler`).

mod attribute_ruler;
mod hash;
mod layers;
mod lemmatizer;
mod msgpack;
mod ner;
mod pipeline;
mod strings;
mod symbols;
mod tokenizer;
mod weights;

pub use pipeline::{Analysis, Entity, NlpPipeline, Operation, PosTag, parse_operations};
pub use tokenizer::{Token, Tokenizer};

use std::path::{Path, PathBuf};

/// Errors loading or running the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum NlpError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("model format: {0}")]
    Format(String),
    #[error("Invalid operations: {}. Valid operations: tokenize, pos_tag, lemmatize, ner", .0.join(", "))]
    InvalidOperations(Vec<String>),
}

impl NlpError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        NlpError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
