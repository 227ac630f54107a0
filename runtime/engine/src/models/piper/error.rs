//! Why a Piper voice could not load or synthesise.

use std::path::PathBuf;

use super::phonemize::PhonemizeError;

/// The inputs a single-speaker Piper voice takes.
pub const INPUTS: [&str; 3] = ["input", "input_lengths", "scales"];

#[derive(Debug, thiserror::Error)]
pub enum PiperError {
    #[error("piper voice: cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("piper voice: invalid config {path}: {detail}")]
    Config { path: PathBuf, detail: String },
    #[error(
        "piper voice: {dir} must hold exactly one <name>.onnx with its <name>.onnx.json ({found})"
    )]
    Layout { dir: PathBuf, found: String },
    #[error(
        "ONNX Runtime library not found in {dir} (run `make models`, or set HERMES_ORT_LIB to a libonnxruntime.so)"
    )]
    OrtLibraryMissing { dir: PathBuf },
    #[error("piper voice: {stage} failed: {detail}")]
    Ort { stage: &'static str, detail: String },
    #[error(
        "piper voice: the model has inputs {found:?}; expected {INPUTS:?} (multi-speaker voices are not supported)"
    )]
    Inputs { found: Vec<String> },
    #[error("phonemes: {0}")]
    Phonemize(#[from] PhonemizeError),
}
