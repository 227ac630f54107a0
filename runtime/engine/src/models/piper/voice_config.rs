//! A Piper voice's `.onnx.json`: sample rate, espeak voice, inference scales and
//! the phoneme table, and the mapping from phonemes to model ids as Piper does it.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::PiperError;

/// Phoneme ids of the start, end and padding symbols in every Piper table.
const BOS: char = '^';
const EOS: char = '$';
const PAD: char = '_';

#[derive(Debug, Deserialize)]
struct RawConfig {
    audio: RawAudio,
    espeak: RawEspeak,
    #[serde(default)]
    inference: RawInference,
    phoneme_type: Option<String>,
    phoneme_id_map: HashMap<String, Vec<i64>>,
    #[serde(default)]
    num_speakers: Option<u32>,
    #[serde(default)]
    language: Option<RawLanguage>,
}

#[derive(Debug, Deserialize)]
struct RawAudio {
    sample_rate: u32,
}

#[derive(Debug, Deserialize)]
struct RawEspeak {
    voice: String,
}

/// Piper's defaults when a config leaves a scale out.
#[derive(Debug, Deserialize)]
#[serde(default)]
struct RawInference {
    noise_scale: f32,
    length_scale: f32,
    noise_w: f32,
}

impl Default for RawInference {
    fn default() -> Self {
        Self {
            noise_scale: 0.667,
            length_scale: 1.0,
            noise_w: 0.8,
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawLanguage {
    family: Option<String>,
}

/// The model's three synthesis scales, in the order of its `scales` input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scales {
    /// Variation of the voice (0 = none: deterministic).
    pub noise_scale: f32,
    /// Speaking slowness (1 = the voice's own pace, 2 = half as fast).
    pub length_scale: f32,
    /// Variation of phoneme lengths (0 = none: deterministic).
    pub noise_w: f32,
}

impl Scales {
    pub fn as_array(self) -> [f32; 3] {
        [self.noise_scale, self.length_scale, self.noise_w]
    }
}

/// What the runtime uses of a voice's config.
#[derive(Debug, Clone)]
pub struct VoiceConfig {
    pub sample_rate: u32,
    /// The espeak-ng voice its phonemes come from (`en-us`).
    pub espeak_voice: String,
    /// Language family (`en`), when the config names one.
    pub language_family: Option<String>,
    pub scales: Scales,
    phoneme_ids: HashMap<char, Vec<i64>>,
}

impl VoiceConfig {
    pub fn load(path: &Path) -> Result<Self, PiperError> {
        let text = std::fs::read_to_string(path).map_err(|source| PiperError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|detail| PiperError::Config {
            path: path.to_path_buf(),
            detail,
        })
    }

    fn parse(text: &str) -> Result<Self, String> {
        let raw: RawConfig = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if let Some(kind) = raw.phoneme_type.as_deref()
            && kind != "espeak"
        {
            return Err(format!(
                "phoneme_type {kind:?} is not supported (only \"espeak\")"
            ));
        }
        if raw.num_speakers.is_some_and(|n| n > 1) {
            return Err("multi-speaker voices are not supported".into());
        }
        if raw.audio.sample_rate == 0 {
            return Err("audio.sample_rate is 0".into());
        }
        let mut phoneme_ids = HashMap::with_capacity(raw.phoneme_id_map.len());
        for (symbol, ids) in raw.phoneme_id_map {
            let mut chars = symbol.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !ids.is_empty() => {
                    phoneme_ids.insert(c, ids);
                }
                _ => {
                    return Err(format!(
                        "phoneme_id_map entry {symbol:?} must be one character with ids"
                    ));
                }
            }
        }
        for required in [BOS, EOS, PAD] {
            if !phoneme_ids.contains_key(&required) {
                return Err(format!("phoneme_id_map lacks {required:?}"));
            }
        }
        Ok(Self {
            sample_rate: raw.audio.sample_rate,
            espeak_voice: raw.espeak.voice,
            language_family: raw.language.and_then(|l| l.family),
            scales: Scales {
                noise_scale: raw.inference.noise_scale,
                length_scale: raw.inference.length_scale,
                noise_w: raw.inference.noise_w,
            },
            phoneme_ids,
        })
    }

    /// Piper's phoneme ids for one sentence: `^`, then each phoneme's ids each
    /// followed by `_`, then `$`. Phonemes missing from the table are skipped (and
    /// returned, for logging), as Piper does.
    pub fn phoneme_ids(&self, phonemes: &str) -> (Vec<i64>, Vec<char>) {
        let table = &self.phoneme_ids;
        let ids_of = |c: char| table.get(&c).map(Vec::as_slice).unwrap_or_default();
        let mut ids = Vec::with_capacity(phonemes.len() * 2 + 3);
        let mut missing = Vec::new();
        ids.extend_from_slice(ids_of(BOS));
        ids.extend_from_slice(ids_of(PAD));
        for c in phonemes.chars() {
            match table.get(&c) {
                Some(mapped) => {
                    ids.extend_from_slice(mapped);
                    ids.extend_from_slice(ids_of(PAD));
                }
                None => missing.push(c),
            }
        }
        ids.extend_from_slice(ids_of(EOS));
        (ids, missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"{
        "audio": {"sample_rate": 22050, "quality": "medium"},
        "espeak": {"voice": "en-us"},
        "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": 0.8},
        "phoneme_type": "espeak",
        "num_speakers": 1,
        "language": {"code": "en_US", "family": "en"},
        "phoneme_id_map": {"_": [0], "^": [1], "$": [2], " ": [3], "h": [20], "ə": [59], "l": [24], "ˈ": [120], "o": [27], "ʊ": [100]}
    }"#;

    #[test]
    fn reads_rate_voice_and_scales() {
        let c = VoiceConfig::parse(CONFIG).unwrap();
        assert_eq!(c.sample_rate, 22050);
        assert_eq!(c.espeak_voice, "en-us");
        assert_eq!(c.language_family.as_deref(), Some("en"));
        assert_eq!(c.scales.as_array(), [0.667, 1.0, 0.8]);
    }

    #[test]
    fn ids_are_bos_pad_interspersed_eos_like_piper() {
        let c = VoiceConfig::parse(CONFIG).unwrap();
        let (ids, missing) = c.phoneme_ids("həlˈoʊ");
        assert_eq!(
            ids,
            vec![1, 0, 20, 0, 59, 0, 24, 0, 120, 0, 27, 0, 100, 0, 2]
        );
        assert!(missing.is_empty());
        let (ids, missing) = c.phoneme_ids("h☃");
        assert_eq!(ids, vec![1, 0, 20, 0, 2]);
        assert_eq!(missing, vec!['☃']);
    }

    #[test]
    fn rejects_what_it_cannot_run() {
        let other = CONFIG.replace("\"phoneme_type\": \"espeak\"", "\"phoneme_type\": \"text\"");
        assert!(VoiceConfig::parse(&other).unwrap_err().contains("text"));
        let no_pad = CONFIG.replace("\"_\": [0], ", "");
        assert!(VoiceConfig::parse(&no_pad).unwrap_err().contains("'_'"));
        let multi = CONFIG.replace("\"num_speakers\": 1", "\"num_speakers\": 4");
        assert!(VoiceConfig::parse(&multi).is_err());
    }
}
