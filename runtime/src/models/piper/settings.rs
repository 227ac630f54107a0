//! Text-to-speech settings from the environment (`HERMES_TTS_*`, `HERMES_ESPEAK_NG`,
//! `HERMES_ORT_LIB`), read through the same lookup `Config::from_lookup` uses.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::ConfigError;

pub const MAX_CHARS: &str = "HERMES_TTS_MAX_CHARS";
pub const THREADS: &str = "HERMES_TTS_THREADS";
pub const ESPEAK_NG: &str = "HERMES_ESPEAK_NG";
pub const ESPEAK_TIMEOUT_SECONDS: &str = "HERMES_TTS_ESPEAK_TIMEOUT_SECONDS";
pub const ORT_LIB: &str = "HERMES_ORT_LIB";
/// ort's own variable, honoured when `HERMES_ORT_LIB` is unset.
pub const ORT_DYLIB_PATH: &str = "ORT_DYLIB_PATH";
pub const NOISE_SCALE: &str = "HERMES_TTS_NOISE_SCALE";
pub const LENGTH_SCALE: &str = "HERMES_TTS_LENGTH_SCALE";
pub const NOISE_W: &str = "HERMES_TTS_NOISE_W";

pub const DEFAULT_MAX_CHARS: usize = 5000;
const MAX_MAX_CHARS: usize = 1_000_000;
pub const DEFAULT_ESPEAK_NG: &str = "espeak-ng";
pub const DEFAULT_ESPEAK_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_THREADS: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub struct TtsSettings {
    /// Longest text `/tts` accepts, in characters; longer is a 413.
    pub max_chars: usize,
    /// ONNX Runtime intra-op threads per synthesis (default: every core).
    pub threads: usize,
    /// The espeak-ng program (a name looked up on PATH, or a path).
    pub espeak_ng: PathBuf,
    pub espeak_timeout: Duration,
    /// `libonnxruntime.so*` to load; unset: the one `make models` put under
    /// `<model dir>/onnxruntime/`.
    pub ort_lib: Option<PathBuf>,
    /// Overrides of the voice's own inference scales (0 noise = deterministic).
    pub noise_scale: Option<f32>,
    pub length_scale: Option<f32>,
    pub noise_w: Option<f32>,
}

impl Default for TtsSettings {
    fn default() -> Self {
        Self {
            max_chars: DEFAULT_MAX_CHARS,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            espeak_ng: PathBuf::from(DEFAULT_ESPEAK_NG),
            espeak_timeout: DEFAULT_ESPEAK_TIMEOUT,
            ort_lib: None,
            noise_scale: None,
            length_scale: None,
            noise_w: None,
        }
    }
}

impl TtsSettings {
    /// `get` returns a variable's trimmed value, `None` when unset or empty.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let max_chars = match get(MAX_CHARS) {
            None => defaults.max_chars,
            Some(v) => parse_count(MAX_CHARS, &v, MAX_MAX_CHARS)?,
        };
        let threads = match get(THREADS) {
            None => defaults.threads,
            Some(v) => parse_count(THREADS, &v, MAX_THREADS)?,
        };
        let espeak_timeout = match get(ESPEAK_TIMEOUT_SECONDS) {
            None => defaults.espeak_timeout,
            Some(v) => match v.parse::<f64>() {
                Ok(s) if s.is_finite() && s > 0.0 && s <= 600.0 => Duration::from_secs_f64(s),
                _ => {
                    return Err(invalid(ESPEAK_TIMEOUT_SECONDS, &v, "seconds in (0, 600]"));
                }
            },
        };
        Ok(Self {
            max_chars,
            threads,
            espeak_ng: get(ESPEAK_NG).map_or(defaults.espeak_ng, PathBuf::from),
            espeak_timeout,
            ort_lib: get(ORT_LIB)
                .or_else(|| get(ORT_DYLIB_PATH))
                .map(PathBuf::from),
            noise_scale: parse_scale(NOISE_SCALE, get(NOISE_SCALE))?,
            length_scale: match parse_scale(LENGTH_SCALE, get(LENGTH_SCALE))? {
                Some(0.0) => return Err(invalid(LENGTH_SCALE, "0", "a number in (0, 10]")),
                other => other,
            },
            noise_w: parse_scale(NOISE_W, get(NOISE_W))?,
        })
    }
}

fn invalid(variable: &'static str, value: &str, expected: &str) -> ConfigError {
    ConfigError {
        variable,
        problem: format!("invalid value {value:?}: expected {expected}"),
    }
}

fn parse_count(variable: &'static str, v: &str, max: usize) -> Result<usize, ConfigError> {
    match v.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(invalid(
            variable,
            v,
            &format!("a whole number in 1..={max}"),
        )),
    }
}

fn parse_scale(variable: &'static str, v: Option<String>) -> Result<Option<f32>, ConfigError> {
    let Some(v) = v else { return Ok(None) };
    match v.parse::<f32>() {
        Ok(x) if x.is_finite() && (0.0..=10.0).contains(&x) => Ok(Some(x)),
        _ => Err(invalid(variable, &v, "a number in [0, 10]")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<TtsSettings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        TtsSettings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(settings(&[]).unwrap(), TtsSettings::default());
        let s = settings(&[
            (MAX_CHARS, "100"),
            (THREADS, "1"),
            (ESPEAK_NG, "/opt/espeak-ng"),
            (ESPEAK_TIMEOUT_SECONDS, "2.5"),
            (ORT_DYLIB_PATH, "/lib/ort.so"),
            (NOISE_SCALE, "0"),
            (NOISE_W, "0"),
            (LENGTH_SCALE, "1.2"),
        ])
        .unwrap();
        assert_eq!(s.max_chars, 100);
        assert_eq!(s.threads, 1);
        assert_eq!(s.espeak_ng, PathBuf::from("/opt/espeak-ng"));
        assert_eq!(s.espeak_timeout, Duration::from_millis(2500));
        assert_eq!(s.ort_lib, Some(PathBuf::from("/lib/ort.so")));
        assert_eq!(
            (s.noise_scale, s.length_scale, s.noise_w),
            (Some(0.0), Some(1.2), Some(0.0))
        );
        let both = settings(&[(ORT_LIB, "/a.so"), (ORT_DYLIB_PATH, "/b.so")]).unwrap();
        assert_eq!(both.ort_lib, Some(PathBuf::from("/a.so")), "ours wins");
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (var, value) in [
            (MAX_CHARS, "0"),
            (MAX_CHARS, "many"),
            (THREADS, "-1"),
            (ESPEAK_TIMEOUT_SECONDS, "0"),
            (NOISE_SCALE, "-0.5"),
            (LENGTH_SCALE, "0"),
            (NOISE_W, "NaN"),
        ] {
            let err = settings(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{err}");
            assert!(err.problem.contains(value), "{err}");
        }
    }
}
