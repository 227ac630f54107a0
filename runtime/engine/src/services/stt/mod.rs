//! Speech-to-text: pick the requested Whisper model, then decode, resample and
//! transcribe on its worker (the blocking pool, bounded per model), so decoding
//! a large upload is bounded by the same limits as inference.

use bytes::Bytes;
use hermes_interface::Task;

use crate::audio::{self, AudioError, AudioHint, DecodeLimits};
use crate::config::SttConfig;
use crate::models::registry::{LoadedModel, Registry, ResolveError};
use crate::models::whisper::{self, LanguageError, WhisperModelError};
use crate::models::worker::WorkerError;

/// One upload to transcribe.
#[derive(Debug, Clone)]
pub struct SttRequest {
    pub audio: Bytes,
    pub hint: AudioHint,
    /// The client's language hint (`en-US`, `en`, `auto`; blank = `en-US`).
    pub language: String,
    /// `default` (the first declared STT model) or a model id.
    pub model: String,
}

/// What the model heard, and about what.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcription {
    pub text: String,
    pub confidence: f32,
    pub model: &'static str,
    pub audio_seconds: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum SttError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Language(#[from] LanguageError),
    #[error(transparent)]
    Model(#[from] ResolveError),
    #[error(transparent)]
    Worker(#[from] WorkerError),
    #[error(transparent)]
    Inference(#[from] WhisperModelError),
}

/// Transcribes `request` with the model it names.
pub async fn transcribe(
    registry: &Registry,
    config: &SttConfig,
    request: SttRequest,
) -> Result<Transcription, SttError> {
    let (entry, loaded) = registry.resolve(Task::Stt, &request.model)?;
    let LoadedModel::Stt(worker) = loaded else {
        return Err(ResolveError::NotServed { task: "stt" }.into());
    };
    let language = whisper::language::choose(
        &request.language,
        entry.id,
        worker.model().is_multilingual(),
    )?;
    let limits = DecodeLimits {
        max_seconds: config.max_seconds,
    };
    let SttRequest { audio, hint, .. } = request;
    let (audio_seconds, transcript) = worker
        .run(move |model| -> Result<_, SttError> {
            let pcm = audio::decode_to_mono_16k(audio, &hint, limits)?;
            let transcript = model.transcribe(&pcm.samples, language)?;
            Ok((pcm.seconds(), transcript))
        })
        .await??;
    Ok(Transcription {
        text: transcript.text,
        confidence: transcript.confidence,
        model: entry.id,
        audio_seconds,
    })
}
