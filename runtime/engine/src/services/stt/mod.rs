//! Speech-to-text: pick the requested Whisper model, open the upload and check its
//! length (before it waits for the model, so audio over the limit is refused at
//! once), then on the model's worker decode, resample and transcribe it a window at
//! a time ([`crate::audio::window`]): a request holds one window of samples,
//! whatever the audio's duration.

use bytes::Bytes;
use hermes_interface::Task;

use crate::audio::window::{SEARCH_SAMPLES, WINDOW_SAMPLES};
use crate::audio::{
    AudioError, AudioHint, AudioStream, DecodeLimits, WHISPER_SAMPLE_RATE, Windows,
};
use crate::config::SttConfig;
use crate::models::registry::{LoadedModel, Registry, ResolveError};
use crate::models::whisper::{self, LanguageError, Transcript, WhisperModelError};
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
    /// What each window of the audio held, in order (one for audio up to 5 min).
    pub segments: Vec<Segment>,
}

/// The text of one stretch of the audio, with its bounds in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub text: String,
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
    // Probing (and, for a container that declares no length, counting) is cheap next
    // to inference; done off the async threads and before the model's queue.
    let mut stream = tokio::task::spawn_blocking(move || AudioStream::open(audio, &hint, limits))
        .await
        .map_err(|_| WorkerError::Crashed {
            model: entry.id,
            reason: "opening the audio panicked",
        })??;
    let (audio_seconds, transcript, segments) = worker
        .run(move |model| -> Result<_, SttError> {
            let mut windows = Windows::new(&mut stream, WINDOW_SAMPLES, SEARCH_SAMPLES);
            let mut heard = Heard::default();
            while let Some(window) = windows.next_window()? {
                let start = heard.samples;
                heard.samples += window.len();
                let piece = model.transcribe(&window, language)?;
                heard.segments.push(Segment {
                    start: seconds(start),
                    end: seconds(heard.samples),
                    text: piece.text.clone(),
                });
                heard.add(piece);
            }
            Ok((seconds(heard.samples), heard.transcript, heard.segments))
        })
        .await??;
    Ok(Transcription {
        text: transcript.text,
        confidence: transcript.confidence,
        model: entry.id,
        audio_seconds,
        segments,
    })
}

/// The transcripts of consecutive windows joined: texts with a space, the
/// confidence as the mean over all their tokens.
#[derive(Debug, Default)]
struct Heard {
    samples: usize,
    transcript: Transcript,
    segments: Vec<Segment>,
}

fn seconds(samples: usize) -> f64 {
    samples as f64 / f64::from(WHISPER_SAMPLE_RATE)
}

impl Heard {
    fn add(&mut self, window: Transcript) {
        let total = &mut self.transcript;
        let tokens = total.tokens + window.tokens;
        if tokens > 0 {
            total.confidence = (total.confidence * total.tokens as f32
                + window.confidence * window.tokens as f32)
                / tokens as f32;
        }
        total.tokens = tokens;
        if !window.text.is_empty() {
            if !total.text.is_empty() {
                total.text.push(' ');
            }
            total.text.push_str(&window.text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_transcripts_join_with_a_token_weighted_confidence() {
        let mut heard = Heard::default();
        for (text, confidence, tokens) in [("Hello there.", 0.9, 3), ("", 0.0, 0), ("Bye.", 0.5, 1)]
        {
            heard.add(Transcript {
                text: text.into(),
                confidence,
                tokens,
            });
        }
        assert_eq!(heard.transcript.text, "Hello there. Bye.");
        assert_eq!(heard.transcript.tokens, 4);
        assert!((heard.transcript.confidence - 0.8).abs() < 1e-6);
    }
}
