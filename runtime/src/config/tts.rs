//! `/tts` settings from the environment (`HERMES_TTS_*`, `HERMES_ESPEAK_NG`,
//! `HERMES_ORT_LIB`) into the engine's plain [`TtsConfig`].

use std::path::PathBuf;
use std::time::Duration;

use hermes_engine::config::TtsConfig;
use hermes_interface::env;

use super::error::{ConfigError, whole_count};

const MAX_MAX_CHARS: usize = 1_000_000;
const MAX_THREADS: usize = 256;

/// `get` returns a variable's trimmed value, `None` when unset or empty.
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<TtsConfig, ConfigError> {
    let defaults = TtsConfig::default();
    let max_chars = whole_count(
        &get,
        env::TTS_MAX_CHARS,
        defaults.max_chars,
        1..=MAX_MAX_CHARS as u64,
    )?;
    let threads = whole_count(
        &get,
        env::TTS_THREADS,
        defaults.threads,
        1..=MAX_THREADS as u64,
    )?;
    let espeak_timeout = match get(env::TTS_ESPEAK_TIMEOUT_SECONDS) {
        None => defaults.espeak_timeout,
        Some(v) => match v.parse::<f64>() {
            Ok(s) if s.is_finite() && s > 0.0 && s <= 600.0 => Duration::from_secs_f64(s),
            _ => {
                return Err(invalid(
                    env::TTS_ESPEAK_TIMEOUT_SECONDS,
                    &v,
                    "seconds in (0, 600]",
                ));
            }
        },
    };
    Ok(TtsConfig {
        max_chars,
        threads,
        espeak_ng: get(env::ESPEAK_NG).map_or(defaults.espeak_ng, PathBuf::from),
        espeak_timeout,
        ort_lib: get(env::ORT_LIB)
            .or_else(|| get(env::ORT_DYLIB_PATH))
            .map(PathBuf::from),
        noise_scale: parse_scale(env::TTS_NOISE_SCALE, get(env::TTS_NOISE_SCALE))?,
        length_scale: match parse_scale(env::TTS_LENGTH_SCALE, get(env::TTS_LENGTH_SCALE))? {
            Some(0.0) => return Err(invalid(env::TTS_LENGTH_SCALE, "0", "a number in (0, 10]")),
            other => other,
        },
        noise_w: parse_scale(env::TTS_NOISE_W, get(env::TTS_NOISE_W))?,
    })
}

fn invalid(variable: &'static str, value: &str, expected: &str) -> ConfigError {
    ConfigError {
        variable,
        problem: format!("invalid value {value:?}: expected {expected}"),
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

    fn settings(vars: &[(&str, &str)]) -> Result<TtsConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(settings(&[]).unwrap(), TtsConfig::default());
        let s = settings(&[
            (env::TTS_MAX_CHARS, "100"),
            (env::TTS_THREADS, "1"),
            (env::ESPEAK_NG, "/opt/espeak-ng"),
            (env::TTS_ESPEAK_TIMEOUT_SECONDS, "2.5"),
            (env::ORT_DYLIB_PATH, "/lib/ort.so"),
            (env::TTS_NOISE_SCALE, "0"),
            (env::TTS_NOISE_W, "0"),
            (env::TTS_LENGTH_SCALE, "1.2"),
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
        let both = settings(&[(env::ORT_LIB, "/a.so"), (env::ORT_DYLIB_PATH, "/b.so")]).unwrap();
        assert_eq!(both.ort_lib, Some(PathBuf::from("/a.so")), "ours wins");
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (var, value) in [
            (env::TTS_MAX_CHARS, "0"),
            (env::TTS_MAX_CHARS, "many"),
            (env::TTS_THREADS, "-1"),
            (env::TTS_ESPEAK_TIMEOUT_SECONDS, "0"),
            (env::TTS_NOISE_SCALE, "-0.5"),
            (env::TTS_LENGTH_SCALE, "0"),
            (env::TTS_NOISE_W, "NaN"),
        ] {
            let err = settings(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{err}");
            assert!(err.problem.contains(value), "{err}");
        }
    }
}
