//! Piper voices (VITS, ONNX) run with ONNX Runtime through `ort`.
//!
//! A voice folder holds `<name>.onnx` and `<name>.onnx.json`. Text becomes IPA
//! phonemes with espeak-ng ([`phonemize`]), phonemes become ids with the voice's
//! table ([`voice_config`]), each sentence is synthesised on its own and the
//! audio, peak-normalised per sentence as Piper does, is joined with a short pause.
//! A sentence longer than [`chunk::MAX_CHUNK_PHONEMES`] is synthesised in pieces
//! ([`chunk`]: clauses, then words) joined without a pause, so the memory of one
//! synthesis is bounded whatever the text.

pub mod chunk;
mod error;
pub mod load;
pub mod onnx;
pub mod phonemize;
pub mod voice_config;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;

use self::error::INPUTS;
pub use self::error::PiperError;
use self::phonemize::{Espeak, PhonemizeError};
use self::voice_config::{Scales, VoiceConfig};
use crate::config::TtsConfig;

/// Pause between sentences (Piper's `--sentence_silence` default).
const SENTENCE_SILENCE_SECONDS: f32 = 0.2;
/// Piper's floor for peak normalisation, so near-silence is not amplified to noise.
const MIN_PEAK: f32 = 0.01;
/// Names of the model's inputs and output (every Piper export uses these).
const OUTPUT: &str = "output";

/// One loaded voice: its ONNX session (one synthesis at a time; each uses the
/// configured intra-op threads), config and phonemizer.
pub struct PiperVoice {
    name: String,
    session: Mutex<Session>,
    config: VoiceConfig,
    scales: Scales,
    espeak: Espeak,
}

impl std::fmt::Debug for PiperVoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiperVoice")
            .field("name", &self.name)
            .field("sample_rate", &self.config.sample_rate)
            .field("scales", &self.scales)
            .finish_non_exhaustive()
    }
}

impl PiperVoice {
    /// Loads the voice in `dir` (blocking: reads ~60 MB and builds the session).
    /// The ONNX Runtime library is found next to the voice folders (see [`onnx`]).
    pub fn load(dir: &Path, settings: &TtsConfig) -> Result<Self, PiperError> {
        let (model_path, config_path) = voice_files(dir)?;
        let config = VoiceConfig::load(&config_path)?;
        let model_dir = dir.parent().unwrap_or(dir);
        let library = onnx::library_path(settings.ort_lib.as_deref(), model_dir)?;
        let environment = onnx::environment(&library)?;
        let stage = |stage| {
            move |e: ort::Error<_>| PiperError::Ort {
                stage,
                detail: e.to_string(),
            }
        };
        let session = Session::builder(&environment)
            .map_err(|e| PiperError::Ort {
                stage: "session options",
                detail: e.to_string(),
            })?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(stage("session options"))?
            .with_intra_threads(settings.threads)
            .map_err(stage("session options"))?
            .with_inter_threads(1)
            .map_err(stage("session options"))?
            .commit_from_file(&model_path)
            .map_err(|e| PiperError::Ort {
                stage: "loading the model",
                detail: format!("{}: {e}", model_path.display()),
            })?;
        let found: Vec<String> = session
            .inputs()
            .iter()
            .map(|i| i.name().to_owned())
            .collect();
        if found.len() != INPUTS.len() || !INPUTS.iter().all(|n| found.iter().any(|f| f == n)) {
            return Err(PiperError::Inputs { found });
        }
        let defaults = config.scales;
        let scales = Scales {
            noise_scale: settings.noise_scale.unwrap_or(defaults.noise_scale),
            length_scale: settings.length_scale.unwrap_or(defaults.length_scale),
            noise_w: settings.noise_w.unwrap_or(defaults.noise_w),
        };
        let name = model_path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let processes = settings.threads.saturating_mul(2);
        Ok(Self {
            name,
            session: Mutex::new(session),
            config,
            scales,
            espeak: Espeak::new(&settings.espeak_ng, settings.espeak_timeout, processes),
        })
    }

    /// The voice's file name (`en_US-joe-medium`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn sample_rate(&self) -> u32 {
        self.config.sample_rate
    }

    /// The voice's language family (`en`), when its config names one.
    pub fn language_family(&self) -> Option<&str> {
        self.config.language_family.as_deref()
    }

    /// The phonemes of each sentence of `text` (runs espeak-ng; async, no CPU here).
    pub async fn phonemize(&self, text: &str) -> Result<Vec<String>, PhonemizeError> {
        self.espeak.sentences(&self.config.espeak_voice, text).await
    }

    /// Synthesises phonemized sentences to 16-bit samples at [`Self::sample_rate`]
    /// (blocking CPU work: run it on the model's worker).
    /// `speed` divides the voice's length scale (2.0 speaks twice as fast).
    pub fn synthesize(&self, sentences: &[String], speed: f32) -> Result<Vec<i16>, PiperError> {
        let scales = Scales {
            length_scale: self.scales.length_scale / speed.max(f32::EPSILON),
            ..self.scales
        };
        let silence = (self.config.sample_rate as f32 * SENTENCE_SILENCE_SECONDS) as usize;
        let mut out: Vec<i16> = Vec::new();
        for sentence in sentences {
            let (ids, missing) = self.config.phoneme_ids(sentence);
            if !missing.is_empty() {
                tracing::debug!(voice = %self.name, ?missing, "phonemes missing from the voice's table were skipped");
            }
            // `^ _ $` alone: nothing the voice can say.
            if ids.len() <= 3 {
                continue;
            }
            let mut audio = Vec::new();
            for piece in chunk::chunks(sentence, chunk::MAX_CHUNK_PHONEMES) {
                let (ids, _) = self.config.phoneme_ids(piece);
                if ids.len() > 3 {
                    audio.extend(self.infer(ids, scales)?);
                }
            }
            if !out.is_empty() {
                out.resize(out.len() + silence, 0);
            }
            out.extend(crate::wav::to_pcm16(&peak_normalised(audio)));
        }
        Ok(out)
    }

    /// One forward pass: phoneme ids of one sentence to float audio.
    fn infer(&self, ids: Vec<i64>, scales: Scales) -> Result<Vec<f32>, PiperError> {
        let stage = |stage| {
            move |e: ort::Error| PiperError::Ort {
                stage,
                detail: e.to_string(),
            }
        };
        let length = ids.len();
        let input = Tensor::from_array(([1usize, length], ids)).map_err(stage("input"))?;
        let lengths =
            Tensor::from_array(([1usize], vec![length as i64])).map_err(stage("input"))?;
        let scales =
            Tensor::from_array(([3usize], scales.as_array().to_vec())).map_err(stage("input"))?;
        let mut session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        let outputs = session
            .run(ort::inputs![
                "input" => input,
                "input_lengths" => lengths,
                "scales" => scales,
            ])
            .map_err(stage("inference"))?;
        let output = outputs.get(OUTPUT).ok_or_else(|| PiperError::Ort {
            stage: "reading the output",
            detail: format!("the model has no output named {OUTPUT:?}"),
        })?;
        let (_, audio) = output
            .try_extract_tensor::<f32>()
            .map_err(stage("reading the output"))?;
        Ok(audio.to_vec())
    }
}

/// Scales audio so its peak is full scale (peaks under [`MIN_PEAK`] are not amplified).
fn peak_normalised(mut audio: Vec<f32>) -> Vec<f32> {
    let peak = audio
        .iter()
        .filter(|s| s.is_finite())
        .fold(0f32, |m, s| m.max(s.abs()));
    let gain = 1.0 / peak.max(MIN_PEAK);
    for s in &mut audio {
        *s *= gain;
    }
    audio
}

/// `<name>.onnx` and `<name>.onnx.json` of the voice folder.
fn voice_files(dir: &Path) -> Result<(PathBuf, PathBuf), PiperError> {
    let entries = std::fs::read_dir(dir).map_err(|source| PiperError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let models: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    match models.as_slice() {
        [model] => {
            let mut config = model.clone().into_os_string();
            config.push(".json");
            let config = PathBuf::from(config);
            if config.is_file() {
                Ok((model.clone(), config))
            } else {
                Err(PiperError::Layout {
                    dir: dir.to_path_buf(),
                    found: format!("{} has no {}", model.display(), config.display()),
                })
            }
        }
        other => Err(PiperError::Layout {
            dir: dir.to_path_buf(),
            found: format!("{} .onnx files", other.len()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn voice_is_send_and_sync() {
        assert_send_sync::<PiperVoice>();
    }

    #[test]
    fn peaks_go_to_full_scale_but_near_silence_stays_quiet() {
        assert_eq!(peak_normalised(vec![0.25, -0.5]), vec![0.5, -1.0]);
        assert_eq!(peak_normalised(vec![0.001, 0.0]), vec![0.1, 0.0]);
    }

    #[test]
    fn a_folder_without_a_voice_says_what_is_missing() {
        let err =
            PiperVoice::load(Path::new("/nonexistent/voice"), &TtsConfig::default()).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/voice"), "{err}");
    }
}
