//! The LLM gateway's settings from the environment (`HERMES_LLM_*`,
//! `OPENAI_API_KEY`), validated once at start.

use std::path::Path;
use std::time::Duration;

use hermes_engine::config::{
    DEFAULT_LLM_MAX_TOKENS, DEFAULT_SYSTEM_PROMPT, LocalLlmConfig, TEMPLATE_SYSTEM_PROMPT,
};
use hermes_engine::llm::provider::ProviderKind;
use hermes_interface::{ModelEntry, Task, env};
use hermes_upstreams::config::{
    DEFAULT_LLM_MAX_RETRIES, DEFAULT_OPENAI_MODEL, KeySource, OPENAI_BASE_URL, OpenAiUpstream,
};
use hermes_upstreams::secret::Secret;
use url::Url;

use super::error::ConfigError;
use super::parse_http_url;

const MAX_LLM_MAX_TOKENS: usize = 8192;
const MAX_LLM_RETRIES: u32 = 10;
/// `HERMES_LLM_MAX_TOKENS_CAP` when unset: half of candle's 4096-position context,
/// so that a prompt still fits next to the longest completion.
pub const DEFAULT_LLM_MAX_TOKENS_CAP: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmConfig {
    /// `HERMES_LLM_PROVIDER` as given (lower case).
    pub provider: Option<String>,
    /// The provider a request without `provider` gets: the configured one, else
    /// `local` when an llm model is declared, else none (requests get a 503).
    pub default_provider: Option<ProviderKind>,
    pub base_url: Option<Url>,
    pub model: Option<String>,
    /// `OPENAI_API_KEY` or the content of `HERMES_LLM_API_KEY_FILE`.
    pub openai_api_key: Option<Secret>,
    /// The `openai` provider's upstream, when a base URL or a key is configured.
    pub openai: Option<OpenAiUpstream>,
    /// The `local` provider's system message and default `max_tokens`.
    pub local: LocalLlmConfig,
    /// Largest `max_tokens` a request may ask for (`HERMES_LLM_MAX_TOKENS_CAP`).
    pub max_tokens_cap: usize,
}

/// Reads the LLM settings; `models` are the declared models (for the default
/// provider and to check that `local` has a model).
pub fn from_lookup(
    get: &dyn Fn(&str) -> Option<String>,
    models: &[&'static ModelEntry],
    timeout: Duration,
) -> Result<LlmConfig, ConfigError> {
    let provider = get(env::LLM_PROVIDER).map(|v| v.to_ascii_lowercase());
    let base_url = match get(env::LLM_BASE_URL) {
        None => None,
        Some(v) => Some(parse_http_url(&v).map_err(|p| error(env::LLM_BASE_URL, p))?),
    };
    let model = get(env::LLM_MODEL);
    let (api_key, key_source) = match get(env::LLM_API_KEY_FILE) {
        Some(path) => (
            Some(read_key_file(Path::new(&path))?),
            Some(KeySource::File),
        ),
        None => match get(env::OPENAI_API_KEY) {
            Some(key) => (Some(Secret::new(key)), Some(KeySource::Env)),
            None => (None, None),
        },
    };
    let max_retries = match get(env::LLM_MAX_RETRIES) {
        None => DEFAULT_LLM_MAX_RETRIES,
        Some(v) => match v.parse::<u32>() {
            Ok(n) if n <= MAX_LLM_RETRIES => n,
            _ => {
                return Err(error(
                    env::LLM_MAX_RETRIES,
                    format!("invalid value {v:?}: expected a count in 0..={MAX_LLM_RETRIES}"),
                ));
            }
        },
    };
    let max_tokens = match get(env::LLM_MAX_TOKENS) {
        None => DEFAULT_LLM_MAX_TOKENS,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LLM_MAX_TOKENS).contains(&n) => n,
            _ => {
                return Err(error(
                    env::LLM_MAX_TOKENS,
                    format!("invalid value {v:?}: expected tokens in 1..={MAX_LLM_MAX_TOKENS}"),
                ));
            }
        },
    };
    let max_tokens_cap = match get(env::LLM_MAX_TOKENS_CAP) {
        None => DEFAULT_LLM_MAX_TOKENS_CAP,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LLM_MAX_TOKENS).contains(&n) => n,
            _ => {
                return Err(error(
                    env::LLM_MAX_TOKENS_CAP,
                    format!("invalid value {v:?}: expected tokens in 1..={MAX_LLM_MAX_TOKENS}"),
                ));
            }
        },
    };
    if max_tokens > max_tokens_cap {
        return Err(error(
            env::LLM_MAX_TOKENS,
            format!(
                "{max_tokens} is above {}={max_tokens_cap}: the default cannot exceed the cap",
                env::LLM_MAX_TOKENS_CAP
            ),
        ));
    }
    let system_prompt = match get(env::LLM_SYSTEM_PROMPT) {
        None => Some(DEFAULT_SYSTEM_PROMPT.to_owned()),
        Some(v) if v.eq_ignore_ascii_case(TEMPLATE_SYSTEM_PROMPT) => None,
        Some(v) => Some(v),
    };

    let openai = (base_url.is_some() || api_key.is_some()).then(|| OpenAiUpstream {
        base_url: base_url
            .clone()
            .unwrap_or_else(|| Url::parse(OPENAI_BASE_URL).expect("constant URL")),
        model: model
            .clone()
            .unwrap_or_else(|| DEFAULT_OPENAI_MODEL.to_owned()),
        api_key: api_key.clone(),
        key_source,
        max_retries,
        timeout,
    });
    let has_local_model = models.iter().any(|m| m.task == Task::Llm);

    let default_provider = match provider.as_deref() {
        None => has_local_model.then_some(ProviderKind::Local),
        Some(name) => {
            let kind = ProviderKind::parse(name).ok_or_else(|| {
                error(
                    env::LLM_PROVIDER,
                    format!("unknown provider {name:?}: expected echo, local or openai"),
                )
            })?;
            match kind {
                ProviderKind::Local if !has_local_model => {
                    return Err(error(
                        env::LLM_PROVIDER,
                        format!(
                            "\"local\" needs an llm model, but none is declared or installed \
                             (run `make models`, or add smollm2-135m-instruct to {})",
                            env::MODELS
                        ),
                    ));
                }
                ProviderKind::Openai if openai.is_none() => {
                    return Err(error(
                        env::LLM_PROVIDER,
                        format!(
                            "\"openai\" needs {} (an OpenAI-compatible server) or an API key \
                             ({} or {})",
                            env::LLM_BASE_URL,
                            env::OPENAI_API_KEY,
                            env::LLM_API_KEY_FILE
                        ),
                    ));
                }
                _ => {}
            }
            Some(kind)
        }
    };

    Ok(LlmConfig {
        provider,
        default_provider,
        base_url,
        model,
        openai_api_key: api_key,
        openai,
        local: LocalLlmConfig {
            system_prompt,
            max_tokens,
        },
        max_tokens_cap,
    })
}

fn error(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

/// The key file's content, trimmed; its content never appears in errors.
fn read_key_file(path: &Path) -> Result<Secret, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        error(
            env::LLM_API_KEY_FILE,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let key = text.trim();
    if key.is_empty() {
        return Err(error(
            env::LLM_API_KEY_FILE,
            format!("{} is empty", path.display()),
        ));
    }
    Ok(Secret::new(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hermes_interface::catalog;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)], with_local: bool) -> Result<LlmConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let models: Vec<&'static ModelEntry> = if with_local {
            vec![catalog::find("smollm2-135m-instruct").unwrap()]
        } else {
            vec![catalog::find("all-minilm-l6-v2").unwrap()]
        };
        from_lookup(
            &|name| map.get(name).cloned(),
            &models,
            Duration::from_secs(5),
        )
    }

    #[test]
    fn default_provider_is_local_when_its_model_is_declared_else_none() {
        let c = read(&[], true).unwrap();
        assert_eq!(c.default_provider, Some(ProviderKind::Local));
        assert_eq!(
            c.local.system_prompt.as_deref(),
            Some(DEFAULT_SYSTEM_PROMPT)
        );
        assert_eq!(c.local.max_tokens, DEFAULT_LLM_MAX_TOKENS);
        assert_eq!(c_cap(&[]), DEFAULT_LLM_MAX_TOKENS_CAP);
        assert_eq!(c_cap(&[(env::LLM_MAX_TOKENS_CAP, "300")]), 300);
        assert!(c.openai.is_none());
        assert_eq!(read(&[], false).unwrap().default_provider, None);
        let echo = read(&[(env::LLM_PROVIDER, "ECHO")], false).unwrap();
        assert_eq!(echo.default_provider, Some(ProviderKind::Echo));
    }

    #[test]
    fn openai_needs_a_base_url_or_a_key_and_defaults_to_openai_com() {
        let err = read(&[(env::LLM_PROVIDER, "openai")], true).unwrap_err();
        assert_eq!(err.variable, env::LLM_PROVIDER);
        let c = read(
            &[(env::LLM_PROVIDER, "openai"), (env::OPENAI_API_KEY, "sk-1")],
            true,
        )
        .unwrap();
        let up = c.openai.unwrap();
        assert_eq!(
            up.endpoint("chat/completions"),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(up.model, DEFAULT_OPENAI_MODEL);
        assert_eq!(up.key_source, Some(KeySource::Env));
        let c = read(
            &[
                (env::LLM_BASE_URL, "http://127.0.0.1:9/v1/"),
                (env::LLM_MODEL, "m"),
            ],
            true,
        )
        .unwrap();
        assert_eq!(
            c.default_provider,
            Some(ProviderKind::Local),
            "a URL alone does not switch the default"
        );
        let up = c.openai.unwrap();
        assert_eq!(
            up.endpoint("/chat/completions"),
            "http://127.0.0.1:9/v1/chat/completions"
        );
        assert_eq!(up.model, "m");
        assert!(up.api_key.is_none());
    }

    fn c_cap(vars: &[(&str, &str)]) -> usize {
        read(vars, true).map(|c| c.max_tokens_cap).unwrap_or(0)
    }

    #[test]
    fn invalid_values_name_their_variable() {
        for (vars, variable, with_local) in [
            (vec![(env::LLM_PROVIDER, "gpt")], env::LLM_PROVIDER, true),
            (vec![(env::LLM_PROVIDER, "local")], env::LLM_PROVIDER, false),
            (vec![(env::LLM_MAX_TOKENS, "0")], env::LLM_MAX_TOKENS, true),
            (
                vec![(env::LLM_MAX_TOKENS_CAP, "1000000000")],
                env::LLM_MAX_TOKENS_CAP,
                true,
            ),
            (
                vec![
                    (env::LLM_MAX_TOKENS, "512"),
                    (env::LLM_MAX_TOKENS_CAP, "256"),
                ],
                env::LLM_MAX_TOKENS,
                true,
            ),
            (
                vec![(env::LLM_MAX_RETRIES, "many")],
                env::LLM_MAX_RETRIES,
                true,
            ),
            (
                vec![(env::LLM_API_KEY_FILE, "/nonexistent/key")],
                env::LLM_API_KEY_FILE,
                true,
            ),
            (
                vec![(env::LLM_BASE_URL, "ftp://x")],
                env::LLM_BASE_URL,
                true,
            ),
        ] {
            let err = read(&vars, with_local).unwrap_err();
            assert_eq!(err.variable, variable, "{vars:?}: {err}");
        }
    }

    #[test]
    fn the_key_file_wins_and_its_content_stays_secret() {
        let dir = std::env::temp_dir().join(format!("hermes-llm-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("key");
        std::fs::write(&file, "sk-from-file\n").unwrap();
        let c = read(
            &[
                (env::LLM_API_KEY_FILE, file.to_str().unwrap()),
                (env::OPENAI_API_KEY, "sk-from-env"),
            ],
            true,
        )
        .unwrap();
        assert_eq!(
            c.openai_api_key.as_ref().map(Secret::expose),
            Some("sk-from-file")
        );
        assert_eq!(c.openai.as_ref().unwrap().key_source, Some(KeySource::File));
        assert!(!format!("{c:?}").contains("sk-from"));
        std::fs::write(&file, " \n").unwrap();
        let err = read(&[(env::LLM_API_KEY_FILE, file.to_str().unwrap())], true).unwrap_err();
        assert!(err.problem.contains("is empty"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn system_prompt_is_configurable_or_left_to_the_template() {
        let c = read(&[(env::LLM_SYSTEM_PROMPT, "Be terse.")], true).unwrap();
        assert_eq!(c.local.system_prompt.as_deref(), Some("Be terse."));
        let c = read(&[(env::LLM_SYSTEM_PROMPT, "Template")], true).unwrap();
        assert_eq!(c.local.system_prompt, None);
    }
}
