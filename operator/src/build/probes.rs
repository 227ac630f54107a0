//! Probes of the runtime container. The startup probe waits on `/readyz` (503 until every
//! declared model is loaded and warmed up) for as long as the declared models' load times
//! say, with a wide margin, so that a slow load is never killed by the liveness probe.

use crate::catalog::Catalog;
use crate::crd::HermesDeploymentSpec;
use hermes_interface::probes::{HTTP_PORT_NAME, LIVENESS_PATH, READINESS_PATH};
use k8s_openapi::api::core::v1::{HTTPGetAction, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Seconds of start-up allowed on top of the models (process start, image pages, warm-up).
pub const STARTUP_BASE_SECONDS: f64 = 30.0;
/// Catalog load times are measured on 2 idle cores; a busy node may be this much slower.
pub const LOAD_TIME_FACTOR: f64 = 3.0;
/// Assumed load time of a model the catalog does not list (sized by a memory override).
pub const UNKNOWN_MODEL_LOAD_SECONDS: f64 = 120.0;
pub const STARTUP_PERIOD_SECONDS: i32 = 5;

/// Seconds the startup probe allows before the kubelet restarts the container.
pub fn startup_budget_seconds(spec: &HermesDeploymentSpec, catalog: &Catalog) -> i32 {
    // The runtime loads the models one after the other: the times add up.
    let loads: f64 = spec
        .models
        .iter()
        .map(|m| {
            catalog
                .find(&m.name)
                .map_or(UNKNOWN_MODEL_LOAD_SECONDS, |e| e.load_seconds)
        })
        .sum();
    (STARTUP_BASE_SECONDS + LOAD_TIME_FACTOR * loads).ceil() as i32
}

fn http_get(path: &str) -> Option<HTTPGetAction> {
    Some(HTTPGetAction {
        path: Some(path.into()),
        port: IntOrString::String(HTTP_PORT_NAME.into()),
        ..Default::default()
    })
}

/// Startup probe allowing `budget` seconds (see `startup_budget_seconds`).
pub fn startup(budget: i32) -> Probe {
    Probe {
        http_get: http_get(READINESS_PATH),
        period_seconds: Some(STARTUP_PERIOD_SECONDS),
        timeout_seconds: Some(2),
        failure_threshold: Some((budget + STARTUP_PERIOD_SECONDS - 1) / STARTUP_PERIOD_SECONDS),
        ..Default::default()
    }
}

pub fn readiness() -> Probe {
    Probe {
        http_get: http_get(READINESS_PATH),
        period_seconds: Some(5),
        timeout_seconds: Some(2),
        failure_threshold: Some(3),
        ..Default::default()
    }
}

pub fn liveness() -> Probe {
    Probe {
        http_get: http_get(LIVENESS_PATH),
        period_seconds: Some(10),
        timeout_seconds: Some(2),
        failure_threshold: Some(3),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(models: serde_json::Value) -> HermesDeploymentSpec {
        serde_json::from_value(serde_json::json!({"image": "i:1", "models": models})).expect("spec")
    }

    #[test]
    fn startup_budget_adds_the_declared_load_times() {
        let catalog = Catalog::builtin();
        let whisper = catalog.find("whisper-tiny-en").expect("catalog entry");
        let minilm = catalog.find("all-minilm-l6-v2").expect("catalog entry");
        let s = spec(serde_json::json!([
            {"name": whisper.id, "task": "stt"},
            {"name": minilm.id, "task": "embedding"},
        ]));
        let want = (30.0 + 3.0 * (whisper.load_seconds + minilm.load_seconds)).ceil() as i32;
        assert_eq!(startup_budget_seconds(&s, &catalog), want);
        let probe = startup(want);
        let covered = probe.failure_threshold.unwrap_or(0) * probe.period_seconds.unwrap_or(0);
        assert!(
            covered >= want && covered < want + STARTUP_PERIOD_SECONDS,
            "{covered} vs {want}"
        );
        assert_eq!(
            probe.http_get.and_then(|g| g.path).as_deref(),
            Some("/readyz")
        );
    }

    #[test]
    fn unknown_models_get_a_generous_budget() {
        let s = spec(serde_json::json!([{"name": "big-llm", "task": "llm", "memory": "8Gi"}]));
        assert_eq!(startup_budget_seconds(&s, &Catalog::builtin()), 30 + 360);
    }
}
