//! The `llm` dependency of `/health`: the default provider, its model, and
//! whether it can answer now. An `openai` upstream is asked `GET /models`
//! (bounded, cached briefly so that frequent health checks do not hammer it).

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hermes_interface::Task;
use serde_json::{Value, json};

use hermes_engine::llm::{ProviderKind, echo};
use hermes_engine::models::registry::ModelState;
use hermes_interface::env;
use hermes_upstreams::config::KeySource;
use hermes_upstreams::llm_upstream::openai;

use super::Gateway;

/// Longest `/health` waits for the upstream.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a probe's answer is reused.
const PROBE_TTL: Duration = Duration::from_secs(10);

struct Probe {
    url: String,
    at: Instant,
    result: Result<u16, String>,
}

static LAST_PROBE: Mutex<Option<Probe>> = Mutex::new(None);

/// `{status, connected, details}` for the configured default provider.
pub async fn llm_dependency(gateway: &Gateway) -> Value {
    let settings = &gateway.settings;
    let providers: serde_json::Map<String, Value> = ProviderKind::ALL
        .into_iter()
        .map(|p| (p.as_str().to_owned(), json!(gateway.is_configured(p))))
        .collect();
    let base_url = settings.openai.as_ref().map(|o| o.base_url.to_string());
    let Some(provider) = settings.default_provider else {
        return json!({
            "status": "unavailable",
            "connected": false,
            "details": {
                "provider": null,
                "model": null,
                "reachable": false,
                "providers": providers,
                "base_url": base_url,
                "reason": "no default LLM provider: set HERMES_LLM_PROVIDER or install the local model",
            },
        });
    };
    let (status, reachable, model, extra) = match provider {
        ProviderKind::Echo => ("healthy", true, echo::DEFAULT_MODEL.to_owned(), json!({})),
        ProviderKind::Local => {
            let report = gateway
                .registry
                .reports()
                .into_iter()
                .find(|r| r.task == Task::Llm);
            let (status, reachable) = match report.as_ref().map(|r| r.state) {
                Some(ModelState::Ready) => ("healthy", true),
                Some(ModelState::Pending | ModelState::Loading) => ("degraded", false),
                Some(ModelState::Failed) | None => ("unavailable", false),
            };
            let model = report.as_ref().map_or("", |r| r.id).to_owned();
            let state = report.map(|r| r.state.as_str());
            (status, reachable, model, json!({ "model_state": state }))
        }
        ProviderKind::Openai => match &settings.openai {
            None => ("unavailable", false, String::new(), json!({})),
            Some(upstream) => {
                let client = openai::OpenAi {
                    upstream,
                    http: &gateway.http,
                    guard: &gateway.guard,
                };
                let result = probe(&client).await;
                let (status, reachable) = match &result {
                    Ok(code) if (200..300).contains(code) => ("healthy", true),
                    Ok(_) => ("degraded", true),
                    Err(_) => ("unavailable", false),
                };
                let key = upstream.key_source.map(|s| match s {
                    KeySource::File => env::LLM_API_KEY_FILE,
                    KeySource::Env => env::OPENAI_API_KEY,
                });
                let extra = json!({
                    "upstream_status": result.as_ref().ok(),
                    "error": result.as_ref().err(),
                    "api_key_from": key,
                    "circuit": gateway.guard.circuit().as_str(),
                });
                (status, reachable, upstream.model.clone(), extra)
            }
        },
    };
    let mut details = json!({
        "provider": provider.as_str(),
        "model": model,
        "reachable": reachable,
        "providers": providers,
        "base_url": base_url,
    });
    if let (Some(details), Value::Object(extra)) = (details.as_object_mut(), extra) {
        details.extend(extra);
    }
    json!({ "status": status, "connected": reachable, "details": details })
}

async fn probe(client: &openai::OpenAi<'_>) -> Result<u16, String> {
    let url = client.upstream.endpoint("models");
    {
        let last = LAST_PROBE.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = last
            .as_ref()
            .filter(|p| p.url == url && p.at.elapsed() < PROBE_TTL)
        {
            return p.result.clone();
        }
    }
    let result = client.probe(PROBE_TIMEOUT).await;
    *LAST_PROBE.lock().unwrap_or_else(PoisonError::into_inner) = Some(Probe {
        url,
        at: Instant::now(),
        result: result.clone(),
    });
    result
}
