//! Whisper speech-to-text with whisper.cpp (through whisper-rs), from a ggml model
//! file: `models/<id>/ggml-model.bin`. `make models` converts the shipped
//! CTranslate2 tiny.en to that file (`scripts/ct2_to_ggml.py`); any other ggml
//! Whisper model (base, small, multilingual or `.en`) placed the same way loads too
//! ([`user_model`]).
//!
//! One `WhisperContext` (the weights) is shared by all inferences; each running
//! inference needs its own `WhisperState` (KV caches, compute buffers), kept in a
//! pool and reused, so at most as many states exist as inferences ever ran at once
//! (the worker's concurrency).

pub mod language;
mod user_model;

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperError,
    WhisperState,
};

pub use language::{LanguageChoice, LanguageError};
pub use user_model::user_model;

/// The weights file of a Whisper model, inside its model folder.
pub const WEIGHTS_FILE: &str = "ggml-model.bin";
/// The first four bytes of a ggml Whisper file ("ggml" as a little-endian u32).
const GGML_MAGIC: [u8; 4] = 0x6767_6d6c_u32.to_le_bytes();
/// The magic and the 11 int32 hyperparameters of a ggml Whisper file; the last is
/// the file type (0 all float32, 1 float16 matrices, others quantised), plus
/// 1000 x the quantisation version.
const HEADER_BYTES: usize = 4 + 11 * 4;
const FILE_TYPE_ALL_F32: i32 = 0;
const QUANTIZATION_VERSION_FACTOR: i32 = 1000;

fn file_type(header: &[u8; HEADER_BYTES]) -> i32 {
    let at = HEADER_BYTES - 4;
    i32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
}
/// Seconds of silence the warm-up inference transcribes.
const WARM_UP_SECONDS: usize = 1;
/// Encoder positions the warm-up runs (20 ms each; a real request runs 1500, a
/// full 30 s window). The warm-up passes every layer and allocates the state at
/// its full size, at a fraction of a request's cost: every runtime process with
/// an STT model pays it at start.
const WARM_UP_AUDIO_CTX: i32 = 64;

#[derive(Debug, thiserror::Error)]
pub enum WhisperModelError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a ggml Whisper model (its first bytes are not \"ggml\")")]
    NotGgml { path: String },
    #[error(
        "{path} is an all-float32 ggml Whisper model, which this whisper.cpp cannot run on the CPU (its convolution needs float16 weights); use a float16 or quantised file (whisper.cpp's ggml-<size>.bin, or q5/q8 variants)"
    )]
    Float32 { path: String },
    #[error("whisper.cpp could not load {path} ({source}); see the whisper log lines above")]
    Load { path: String, source: WhisperError },
    #[error("whisper.cpp could not allocate an inference state: {0}")]
    State(WhisperError),
    #[error("transcription failed: {0}")]
    Inference(WhisperError),
    #[error("the audio holds no samples")]
    NoSamples,
}

/// What the model heard.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transcript {
    pub text: String,
    /// Mean probability of the transcribed text tokens, in 0..=1 (0 when nothing
    /// was transcribed).
    pub confidence: f32,
    /// Number of text tokens the confidence is the mean of.
    pub tokens: usize,
}

/// A loaded ggml Whisper model.
pub struct WhisperModel {
    ctx: WhisperContext,
    idle_states: Mutex<Vec<WhisperState>>,
    threads: usize,
}

impl std::fmt::Debug for WhisperModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperModel")
            .field("multilingual", &self.ctx.is_multilingual())
            .field("threads", &self.threads)
            .finish()
    }
}

impl WhisperModel {
    /// Loads `dir/ggml-model.bin`; each inference then uses `threads` threads.
    pub fn load(dir: &Path, threads: usize) -> Result<Self, WhisperModelError> {
        // whisper.cpp's log lines go to `tracing` instead of stderr.
        whisper_rs::install_logging_hooks();
        let path = dir.join(WEIGHTS_FILE);
        let shown = path.display().to_string();
        let mut header = [0u8; HEADER_BYTES];
        std::fs::File::open(&path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header))
            .map_err(|source| WhisperModelError::Read {
                path: shown.clone(),
                source,
            })?;
        if header[..4] != GGML_MAGIC {
            return Err(WhisperModelError::NotGgml { path: shown });
        }
        // Checked here because whisper.cpp would load such a file and then abort the
        // whole process (a GGML_ASSERT) at the first inference.
        if file_type(&header) % QUANTIZATION_VERSION_FACTOR == FILE_TYPE_ALL_F32 {
            return Err(WhisperModelError::Float32 { path: shown });
        }
        let mut params = WhisperContextParameters::default();
        params.use_gpu(false);
        let ctx = WhisperContext::new_with_params(&path, params).map_err(|source| {
            WhisperModelError::Load {
                path: shown,
                source,
            }
        })?;
        Ok(Self {
            ctx,
            idle_states: Mutex::new(Vec::new()),
            threads: threads.max(1),
        })
    }

    /// Whether the model knows languages other than English.
    pub fn is_multilingual(&self) -> bool {
        self.ctx.is_multilingual()
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Transcribes 16 kHz mono samples.
    pub fn transcribe(
        &self,
        samples: &[f32],
        language: LanguageChoice,
    ) -> Result<Transcript, WhisperModelError> {
        self.transcribe_with(samples, language, None)
    }

    fn transcribe_with(
        &self,
        samples: &[f32],
        language: LanguageChoice,
        audio_ctx: Option<i32>,
    ) -> Result<Transcript, WhisperModelError> {
        if samples.is_empty() {
            return Err(WhisperModelError::NoSamples);
        }
        let mut state = self.take_state()?;
        let result = self.run(&mut state, samples, language, audio_ctx);
        // A state is reusable after any outcome: `full` resets it at the start.
        self.idle_states
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(state);
        result
    }

    /// One real inference on silence, with a shortened encoder context: allocates
    /// the first state and proves the weights run.
    pub fn warm_up(&self) -> Result<Transcript, WhisperModelError> {
        let silence = vec![0.0f32; WARM_UP_SECONDS * crate::audio::WHISPER_SAMPLE_RATE as usize];
        self.transcribe_with(
            &silence,
            LanguageChoice::Code("en"),
            Some(WARM_UP_AUDIO_CTX),
        )
    }

    fn take_state(&self) -> Result<WhisperState, WhisperModelError> {
        let idle = self
            .idle_states
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(state) => Ok(state),
            None => self.ctx.create_state().map_err(WhisperModelError::State),
        }
    }

    fn run(
        &self,
        state: &mut WhisperState,
        samples: &[f32],
        language: LanguageChoice,
        audio_ctx: Option<i32>,
    ) -> Result<Transcript, WhisperModelError> {
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        if let Some(ctx) = audio_ctx {
            // The warm-up: a short encoder context, and no temperature fallback
            // (silence decodes with a low log-probability, which would retry it
            // at five more temperatures).
            params.set_audio_ctx(ctx);
            params.set_temperature_inc(0.0);
        }
        params.set_n_threads(i32::try_from(self.threads).unwrap_or(i32::MAX));
        params.set_language(Some(match language {
            LanguageChoice::Code(code) => code,
            LanguageChoice::Detect => "auto",
        }));
        params.set_translate(false);
        // Each request stands alone: no text carried over between 30 s windows of
        // other requests, no timestamps (not returned; decoding them costs tokens).
        params.set_no_context(true);
        params.set_no_timestamps(true);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        params.set_suppress_blank(true);
        state
            .full(params, samples)
            .map_err(WhisperModelError::Inference)?;

        let eot = self.ctx.token_eot();
        let mut text = String::new();
        let mut probability_sum = 0.0f64;
        let mut tokens = 0usize;
        for segment in state.as_iter() {
            if let Ok(piece) = segment.to_str_lossy() {
                text.push_str(&piece);
            }
            for i in 0..segment.n_tokens() {
                let Some(token) = segment.get_token(i) else {
                    continue;
                };
                // Special tokens (end of text, timestamps, task) are not text.
                if token.token_id() >= eot {
                    continue;
                }
                let p = token.token_probability();
                if p.is_finite() {
                    probability_sum += f64::from(p.clamp(0.0, 1.0));
                    tokens += 1;
                }
            }
        }
        let confidence = if tokens == 0 {
            0.0
        } else {
            (probability_sum / tokens as f64) as f32
        };
        Ok(Transcript {
            text: text.trim().to_owned(),
            confidence,
            tokens,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_file(tag: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("hermes-whisper-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(WEIGHTS_FILE), bytes).unwrap();
        dir
    }

    fn header(file_type: i32) -> Vec<u8> {
        let mut bytes = GGML_MAGIC.to_vec();
        bytes.extend(std::iter::repeat_n(0u8, 10 * 4));
        bytes.extend(file_type.to_le_bytes());
        bytes
    }

    #[test]
    fn an_all_float32_file_is_refused_before_whisper_cpp_sees_it() {
        for (tag, file_type) in [("f32", 0), ("f32-qv1", 1000)] {
            let dir = model_file(tag, &header(file_type));
            let err = WhisperModel::load(&dir, 1).unwrap_err();
            assert!(matches!(err, WhisperModelError::Float32 { .. }), "{err}");
            assert!(err.to_string().contains("float16"), "{err}");
        }
    }

    #[test]
    fn short_or_foreign_files_are_named_errors() {
        let err = WhisperModel::load(&model_file("short", b"ggml"), 1).unwrap_err();
        assert!(matches!(err, WhisperModelError::Read { .. }), "{err}");
        let mut foreign = header(1);
        foreign[..4].copy_from_slice(b"GGUF");
        let err = WhisperModel::load(&model_file("gguf", &foreign), 1).unwrap_err();
        assert!(matches!(err, WhisperModelError::NotGgml { .. }), "{err}");
    }
}
