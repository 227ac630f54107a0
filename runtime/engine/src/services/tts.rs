//! Text-to-speech: pick the voice, phonemize with espeak-ng, synthesise on the
//! voice's worker, answer a 16-bit PCM mono WAV at the voice's sample rate.

use hermes_interface::Task;

use crate::models::piper::PiperError;
use crate::models::piper::phonemize::PhonemizeError;
use crate::models::registry::{LoadedModel, Registry, ResolveError};
use crate::models::worker::WorkerError;
use crate::wav;

/// A synthesised text.
#[derive(Debug, Clone, PartialEq)]
pub struct Speech {
    /// The whole WAV file.
    pub wav: Vec<u8>,
    pub voice: &'static str,
    pub sample_rate: u32,
    pub samples: usize,
}

impl Speech {
    pub fn seconds(&self) -> f64 {
        self.samples as f64 / f64::from(self.sample_rate)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    #[error("text is empty")]
    EmptyText,
    #[error(
        "Text is too long: {chars} characters; this server synthesises at most {max} per request (HERMES_TTS_MAX_CHARS)"
    )]
    TooLong { chars: usize, max: usize },
    #[error("Unknown voice {requested:?}; installed voices: {}", available.join(", "))]
    UnknownVoice {
        requested: String,
        available: Vec<&'static str>,
    },
    #[error("Voice {voice} speaks language {family:?}; it cannot speak {requested:?}")]
    Language {
        voice: &'static str,
        family: String,
        requested: String,
    },
    #[error("Text contains nothing the voice can pronounce")]
    NothingToSay,
    #[error(transparent)]
    Model(ResolveError),
    #[error(transparent)]
    Worker(#[from] WorkerError),
    #[error("text-to-speech phonemizer unavailable: {0}")]
    PhonemizerUnavailable(PhonemizeError),
    #[error("text-to-speech phonemizer failed: {0}")]
    PhonemizerFailed(PhonemizeError),
    #[error("text-to-speech synthesis failed: {0}")]
    Synthesis(PiperError),
}

impl From<PhonemizeError> for TtsError {
    fn from(e: PhonemizeError) -> Self {
        match e {
            PhonemizeError::NotFound { .. }
            | PhonemizeError::Spawn { .. }
            | PhonemizeError::Timeout { .. } => TtsError::PhonemizerUnavailable(e),
            PhonemizeError::Failed { .. } | PhonemizeError::NotUtf8 => {
                TtsError::PhonemizerFailed(e)
            }
        }
    }
}

/// Synthesises `text` with `voice` (`default` = the first installed voice, or a
/// voice id, case-insensitive). `language` (a BCP 47 tag such as `en-US`) must
/// match the voice's language family. At most `max_chars` characters.
pub async fn synthesize(
    registry: &Registry,
    text: String,
    voice: &str,
    language: &str,
    max_chars: usize,
    speed: f32,
) -> Result<Speech, TtsError> {
    if text.trim().is_empty() {
        return Err(TtsError::EmptyText);
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(TtsError::TooLong {
            chars,
            max: max_chars,
        });
    }
    let (entry, loaded) = registry.resolve(Task::Tts, voice).map_err(|e| match e {
        ResolveError::UnknownModel {
            requested,
            available,
            ..
        } => TtsError::UnknownVoice {
            requested,
            available,
        },
        other => TtsError::Model(other),
    })?;
    let LoadedModel::Tts(worker) = loaded else {
        return Err(TtsError::Model(ResolveError::NotServed { task: "tts" }));
    };
    let model = worker.model();
    if let Some(family) = model.language_family()
        && !same_language(language, family)
    {
        return Err(TtsError::Language {
            voice: entry.id,
            family: family.to_owned(),
            requested: language.to_owned(),
        });
    }
    let sentences = model.phonemize(&text).await?;
    if sentences.is_empty() {
        return Err(TtsError::NothingToSay);
    }
    let sample_rate = model.sample_rate();
    let samples = worker
        .run(move |voice| voice.synthesize(&sentences, speed))
        .await?
        .map_err(TtsError::Synthesis)?;
    if samples.is_empty() {
        return Err(TtsError::NothingToSay);
    }
    Ok(Speech {
        wav: wav::encode_mono_pcm16(&samples, sample_rate),
        voice: entry.id,
        sample_rate,
        samples: samples.len(),
    })
}

/// Whether a language tag (`en-US`, `en_us`, `EN`) is in the voice's family (`en`).
/// An empty tag means "the voice's own language".
fn same_language(tag: &str, family: &str) -> bool {
    let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
    primary.is_empty() || primary.eq_ignore_ascii_case(family)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_match_by_primary_subtag() {
        assert!(same_language("en-US", "en"));
        assert!(same_language("en_GB", "en"));
        assert!(same_language("EN", "en"));
        assert!(same_language("", "en"));
        assert!(!same_language("fr-FR", "en"));
        assert!(!same_language("eng", "en"));
    }

    #[test]
    fn phonemizer_errors_split_into_unavailable_and_failed() {
        let unavailable = TtsError::from(PhonemizeError::NotFound {
            program: "espeak-ng".into(),
        });
        assert!(matches!(unavailable, TtsError::PhonemizerUnavailable(_)));
        assert!(unavailable.to_string().contains("espeak-ng"));
        let timeout = TtsError::from(PhonemizeError::Timeout { seconds: 1.0 });
        assert!(matches!(timeout, TtsError::PhonemizerUnavailable(_)));
        let failed = TtsError::from(PhonemizeError::Failed {
            status: "exit status: 1".into(),
            stderr: "boom".into(),
        });
        assert!(matches!(failed, TtsError::PhonemizerFailed(_)));
    }
}
