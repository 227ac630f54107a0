//! `spec.runtime.rateLimits`, `requestTimeouts` and `featuresDisabled`, pure: what the
//! schema cannot check (names the runtime knows, checked against the lists in
//! `hermes_interface::env` that the runtime parses with), and the environment variables
//! they become.

use crate::crd::{HermesDeploymentSpec, RuntimeSettings};
use hermes_interface::env;
use std::collections::BTreeMap;

fn unknown_keys<V>(map: &BTreeMap<String, V>, known: &[&str], field: &str, out: &mut Vec<String>) {
    for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
        out.push(format!(
            "runtime.{field}: unknown route {key:?} (known: {})",
            known.join(", ")
        ));
    }
}

/// Problems of the three fields; nothing when they are unset.
pub fn check(spec: &HermesDeploymentSpec, problems: &mut Vec<String>) {
    let Some(rt) = &spec.runtime else { return };
    if let Some(r) = &rt.rate_limits {
        unknown_keys(
            &r.costs,
            &env::RATE_LIMIT_ROUTES,
            "rateLimits.costs",
            problems,
        );
    }
    if let Some(t) = &rt.request_timeouts {
        unknown_keys(
            &t.routes_ms,
            &env::TIMEOUT_ROUTES,
            "requestTimeouts.routesMs",
            problems,
        );
    }
    for (i, name) in rt.features_disabled.iter().enumerate() {
        if !env::FEATURES.contains(&name.as_str()) {
            problems.push(format!(
                "runtime.featuresDisabled[{i}]: unknown feature {name:?} (known: {})",
                env::FEATURES.join(", ")
            ));
        }
        if rt.features_disabled[..i].contains(name) {
            problems.push(format!(
                "runtime.featuresDisabled[{i}]: {name:?} is listed twice"
            ));
        }
        // Memory would be sized for a model the runtime then never loads.
        for m in spec
            .models
            .iter()
            .filter(|m| m.task.to_catalog().feature() == name)
        {
            problems.push(format!(
                "runtime.featuresDisabled switches {name} off but model {:?} serves it: remove one",
                m.name
            ));
        }
    }
}

fn pairs<V: ToString>(map: &BTreeMap<String, V>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}={}", v.to_string()))
        .collect::<Vec<_>>()
        .join(",")
}

/// `(name, value)` of the runtime variables the three fields set, in a stable order.
pub fn env_vars(rt: &RuntimeSettings) -> Vec<(&'static str, String)> {
    let mut vars = Vec::new();
    if let Some(r) = &rt.rate_limits {
        if let Some(n) = r.per_minute {
            vars.push((env::RATE_LIMIT_PER_MINUTE, n.to_string()));
        }
        if let Some(n) = r.llm_per_minute {
            vars.push((env::RATE_LIMIT_LLM_PER_MINUTE, n.to_string()));
        }
        if !r.costs.is_empty() {
            vars.push((env::RATE_LIMIT_COSTS, pairs(&r.costs)));
        }
    }
    if let Some(t) = &rt.request_timeouts {
        if let Some(ms) = t.default_ms {
            vars.push((env::REQUEST_TIMEOUT_MS, ms.to_string()));
        }
        if !t.routes_ms.is_empty() {
            vars.push((env::ROUTE_TIMEOUTS_MS, pairs(&t.routes_ms)));
        }
    }
    if !rt.features_disabled.is_empty() {
        vars.push((env::FEATURES_DISABLED, rt.features_disabled.join(",")));
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(runtime: serde_json::Value) -> HermesDeploymentSpec {
        serde_json::from_value(serde_json::json!({
            "image": "i:1",
            "models": [{"name": "all-minilm-l6-v2", "task": "embedding"}],
            "runtime": runtime,
        }))
        .expect("spec")
    }

    #[test]
    fn the_fields_become_the_runtime_s_variables() {
        let s = spec(serde_json::json!({
            "rateLimits": {"perMinute": 120, "llmPerMinute": 5, "costs": {"tts": 8, "stt": 20}},
            "requestTimeouts": {"defaultMs": 30000, "routesMs": {"llm": 90000}},
            "featuresDisabled": ["tts", "sophia"],
        }));
        let mut problems = Vec::new();
        check(&s, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let vars = env_vars(s.runtime.as_ref().expect("runtime"));
        assert_eq!(
            vars,
            vec![
                (env::RATE_LIMIT_PER_MINUTE, "120".to_string()),
                (env::RATE_LIMIT_LLM_PER_MINUTE, "5".to_string()),
                (env::RATE_LIMIT_COSTS, "stt=20,tts=8".to_string()),
                (env::REQUEST_TIMEOUT_MS, "30000".to_string()),
                (env::ROUTE_TIMEOUTS_MS, "llm=90000".to_string()),
                (env::FEATURES_DISABLED, "tts,sophia".to_string()),
            ]
        );
        assert!(env_vars(&RuntimeSettings::default()).is_empty());
    }

    #[test]
    fn unknown_names_and_a_disabled_capability_with_a_model_are_refused() {
        let s = spec(serde_json::json!({
            "rateLimits": {"costs": {"translate": 3}},
            "requestTimeouts": {"routesMs": {"embed": 10}},
            "featuresDisabled": ["embeddings", "teleport", "tts", "tts"],
        }));
        let mut problems = Vec::new();
        check(&s, &mut problems);
        let all = problems.join("\n");
        for expected in [
            "runtime.rateLimits.costs: unknown route \"translate\"",
            "runtime.requestTimeouts.routesMs: unknown route \"embed\"",
            "unknown feature \"teleport\"",
            "\"tts\" is listed twice",
            "switches embeddings off but model \"all-minilm-l6-v2\" serves it",
        ] {
            assert!(all.contains(expected), "{expected} in:\n{all}");
        }
        assert_eq!(problems.len(), 5, "{all}");
    }
}
