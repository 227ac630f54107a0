//! The SLOs each HermesDeployment declares (`spec.slos`), exported as gauges on the
//! operator's /metrics. A chart installed at cluster set-up cannot know them; with them in
//! Prometheus, generic rules (the chart's PrometheusRule) join the runtime's series with
//! the objective `on(namespace, hermesdeployment, route)`, so every declared SLO gets its
//! own alert without templating one rule per SLO.
//!
//! - `hermes_slo_objective_error_rate{namespace,hermesdeployment,route}`: `maxErrorRate`;
//! - `hermes_slo_objective_latency_seconds{namespace,hermesdeployment,route,quantile}`:
//!   `latencyP95` (quantile "0.95") and `latencyP99` where set ("0.99");
//! - `hermes_slo_objective_ttft_seconds{namespace,hermesdeployment,route,quantile}`:
//!   `ttftP95` where set (quantile "0.95"), the time to first token of an LLM route.
//!
//! The `route` label is the SLO's canonical route (`/v1/embed_text` -> `/embed_text`), as the
//! runtime labels its series.
//!
//! A reconcile of a valid spec replaces the resource's series (an SLO removed from the spec
//! disappears); a deleted resource's series are removed.

use crate::crd::Slo;
use crate::quantity::parse_duration;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

pub const OBJECTIVE_ERROR_RATE: &str = "hermes_slo_objective_error_rate";
pub const OBJECTIVE_LATENCY_SECONDS: &str = "hermes_slo_objective_latency_seconds";
pub const OBJECTIVE_TTFT_SECONDS: &str = "hermes_slo_objective_ttft_seconds";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SloLabels {
    pub namespace: String,
    pub hermesdeployment: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LatencyLabels {
    pub namespace: String,
    pub hermesdeployment: String,
    pub route: String,
    /// "0.95" or "0.99", as PromQL's `histogram_quantile` takes it.
    pub quantile: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The series one resource exports, to remove them again.
#[derive(Debug, Default)]
struct Declared {
    error_rate: Vec<SloLabels>,
    latency: Vec<LatencyLabels>,
    ttft: Vec<LatencyLabels>,
}

/// The objective gauges; cheap to clone (every clone updates the same series).
#[derive(Clone, Debug, Default)]
pub struct SloObjectives {
    error_rate: Family<SloLabels, FloatGauge>,
    latency: Family<LatencyLabels, FloatGauge>,
    ttft: Family<LatencyLabels, FloatGauge>,
    /// `(namespace, name)` -> its series.
    declared: Arc<Mutex<HashMap<(String, String), Declared>>>,
}

impl SloObjectives {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            OBJECTIVE_ERROR_RATE,
            "Highest acceptable 5xx ratio a HermesDeployment declares for a route (spec.slos[].maxErrorRate)",
            self.error_rate.clone(),
        );
        registry.register(
            OBJECTIVE_LATENCY_SECONDS,
            "Latency bound in seconds a HermesDeployment declares for a route at a quantile (spec.slos[].latencyP95/P99)",
            self.latency.clone(),
        );
        registry.register(
            OBJECTIVE_TTFT_SECONDS,
            "Time to first token bound in seconds a HermesDeployment declares for an LLM route at a quantile (spec.slos[].ttftP95)",
            self.ttft.clone(),
        );
    }

    /// A lock that survives a panic elsewhere: the map stays usable (worst case a stale
    /// series until the next reconcile).
    fn lock(&self) -> MutexGuard<'_, HashMap<(String, String), Declared>> {
        self.declared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets the series of `namespace/name` to exactly `slos`. A latency bound that does
    /// not parse (validation refuses such a spec before this) exports no latency series.
    pub fn declare(&self, namespace: &str, name: &str, slos: &[Slo]) {
        let mut new = Declared::default();
        for slo in slos {
            let labels = SloLabels {
                namespace: namespace.into(),
                hermesdeployment: name.into(),
                route: slo.canonical_route().into(),
            };
            self.error_rate
                .get_or_create(&labels)
                .set(slo.max_error_rate);
            new.error_rate.push(labels);
            let bounds = [
                ("0.95", Some(&slo.latency_p95)),
                ("0.99", slo.latency_p99.as_ref()),
            ];
            for (quantile, bound) in bounds {
                let Some(seconds) = bound
                    .and_then(|b| parse_duration(b).ok())
                    .map(|d| d.as_secs_f64())
                else {
                    continue;
                };
                let labels = LatencyLabels {
                    namespace: namespace.into(),
                    hermesdeployment: name.into(),
                    route: slo.canonical_route().into(),
                    quantile: quantile.into(),
                };
                self.latency.get_or_create(&labels).set(seconds);
                new.latency.push(labels);
            }
            if let Some(seconds) = slo
                .ttft_p95
                .as_deref()
                .and_then(|b| parse_duration(b).ok())
                .map(|d| d.as_secs_f64())
            {
                let labels = LatencyLabels {
                    namespace: namespace.into(),
                    hermesdeployment: name.into(),
                    route: slo.canonical_route().into(),
                    quantile: "0.95".into(),
                };
                self.ttft.get_or_create(&labels).set(seconds);
                new.ttft.push(labels);
            }
        }
        let mut declared = self.lock();
        if let Some(old) = declared.remove(&(namespace.to_string(), name.to_string())) {
            self.remove_stale(&old, &new);
        }
        if !new.error_rate.is_empty() || !new.latency.is_empty() || !new.ttft.is_empty() {
            declared.insert((namespace.into(), name.into()), new);
        }
    }

    /// Removes every series of `namespace/name` (the resource is gone).
    pub fn forget(&self, namespace: &str, name: &str) {
        let old = self
            .lock()
            .remove(&(namespace.to_string(), name.to_string()));
        if let Some(old) = old {
            self.remove_stale(&old, &Declared::default());
        }
    }

    /// Removes the series of every resource for which `keep(namespace, name)` is false.
    pub fn retain(&self, keep: impl Fn(&str, &str) -> bool) {
        let mut declared = self.lock();
        let gone: Vec<(String, String)> = declared
            .keys()
            .filter(|(ns, name)| !keep(ns, name))
            .cloned()
            .collect();
        for key in gone {
            if let Some(old) = declared.remove(&key) {
                self.remove_stale(&old, &Declared::default());
            }
        }
    }

    /// Resources with at least one series.
    pub fn declared_count(&self) -> usize {
        self.lock().len()
    }

    fn remove_stale(&self, old: &Declared, new: &Declared) {
        for l in old
            .error_rate
            .iter()
            .filter(|l| !new.error_rate.contains(l))
        {
            self.error_rate.remove(l);
        }
        for l in old.latency.iter().filter(|l| !new.latency.contains(l)) {
            self.latency.remove(l);
        }
        for l in old.ttft.iter().filter(|l| !new.ttft.contains(l)) {
            self.ttft.remove(l);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slo(route: &str, p95: &str, p99: Option<&str>, max_error_rate: f64) -> Slo {
        Slo {
            dry_run: false,
            route: route.into(),
            latency_p95: p95.into(),
            latency_p99: p99.map(Into::into),
            ttft_p95: None,
            max_error_rate,
        }
    }

    fn exposition(objectives: &SloObjectives) -> Vec<String> {
        let mut registry = Registry::default();
        objectives.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(String::from)
            .collect();
        lines.sort();
        lines
    }

    #[test]
    fn every_slo_is_one_error_rate_and_one_series_per_latency_bound() {
        let o = SloObjectives::default();
        o.declare(
            "prod",
            "chat",
            &[
                slo("/embed_text", "250ms", Some("1s"), 0.01),
                slo("/llm", "2s", None, 0.05),
            ],
        );
        assert_eq!(
            exposition(&o),
            [
                r#"hermes_slo_objective_error_rate{namespace="prod",hermesdeployment="chat",route="/embed_text"} 0.01"#,
                r#"hermes_slo_objective_error_rate{namespace="prod",hermesdeployment="chat",route="/llm"} 0.05"#,
                r#"hermes_slo_objective_latency_seconds{namespace="prod",hermesdeployment="chat",route="/embed_text",quantile="0.95"} 0.25"#,
                r#"hermes_slo_objective_latency_seconds{namespace="prod",hermesdeployment="chat",route="/embed_text",quantile="0.99"} 1.0"#,
                r#"hermes_slo_objective_latency_seconds{namespace="prod",hermesdeployment="chat",route="/llm",quantile="0.95"} 2.0"#,
            ]
        );
    }

    #[test]
    fn a_versioned_route_is_exported_under_its_canonical_route() {
        let o = SloObjectives::default();
        o.declare(
            "prod",
            "chat",
            &[slo("/v1/embed_text", "250ms", None, 0.01)],
        );
        assert_eq!(
            exposition(&o),
            [
                r#"hermes_slo_objective_error_rate{namespace="prod",hermesdeployment="chat",route="/embed_text"} 0.01"#,
                r#"hermes_slo_objective_latency_seconds{namespace="prod",hermesdeployment="chat",route="/embed_text",quantile="0.95"} 0.25"#,
            ]
        );
    }

    #[test]
    fn a_ttft_bound_is_its_own_series_and_goes_with_its_slo() {
        let o = SloObjectives::default();
        let mut chat = slo("/v1/chat/completions", "30s", None, 0.05);
        chat.ttft_p95 = Some("800ms".into());
        o.declare("prod", "chat", &[chat]);
        assert!(exposition(&o).contains(
            &r#"hermes_slo_objective_ttft_seconds{namespace="prod",hermesdeployment="chat",route="/v1/chat/completions",quantile="0.95"} 0.8"#.to_string()
        ));
        o.declare(
            "prod",
            "chat",
            &[slo("/v1/chat/completions", "30s", None, 0.05)],
        );
        assert!(!exposition(&o).iter().any(|l| l.contains("ttft")));
    }

    #[test]
    fn a_new_spec_replaces_the_series_and_leaves_other_resources_alone() {
        let o = SloObjectives::default();
        o.declare(
            "prod",
            "chat",
            &[
                slo("/embed_text", "250ms", Some("1s"), 0.01),
                slo("/llm", "2s", None, 0.05),
            ],
        );
        o.declare("dev", "chat", &[slo("/llm", "3s", None, 0.1)]);
        // /llm dropped, /embed_text loses its p99 and gets a new error budget.
        o.declare("prod", "chat", &[slo("/embed_text", "300ms", None, 0.02)]);
        assert_eq!(
            exposition(&o),
            [
                r#"hermes_slo_objective_error_rate{namespace="dev",hermesdeployment="chat",route="/llm"} 0.1"#,
                r#"hermes_slo_objective_error_rate{namespace="prod",hermesdeployment="chat",route="/embed_text"} 0.02"#,
                r#"hermes_slo_objective_latency_seconds{namespace="dev",hermesdeployment="chat",route="/llm",quantile="0.95"} 3.0"#,
                r#"hermes_slo_objective_latency_seconds{namespace="prod",hermesdeployment="chat",route="/embed_text",quantile="0.95"} 0.3"#,
            ]
        );
        // No SLO left: nothing exported, nothing tracked.
        o.declare("dev", "chat", &[]);
        assert_eq!(o.declared_count(), 1);
        assert!(exposition(&o).iter().all(|l| l.contains("prod")));
    }

    #[test]
    fn forget_and_retain_remove_a_deleted_resources_series() {
        let o = SloObjectives::default();
        for (ns, name) in [("a", "x"), ("a", "y"), ("b", "x")] {
            o.declare(ns, name, &[slo("/embed_text", "1s", Some("2s"), 0.01)]);
        }
        o.forget("a", "x");
        o.forget("a", "never-declared");
        assert_eq!(o.declared_count(), 2);
        assert!(
            !exposition(&o)
                .iter()
                .any(|l| l.contains(r#"namespace="a",hermesdeployment="x""#))
        );
        o.retain(|ns, name| (ns, name) == ("b", "x"));
        assert_eq!(o.declared_count(), 1);
        let lines = exposition(&o);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines
                .iter()
                .all(|l| l.contains(r#"namespace="b",hermesdeployment="x""#))
        );
    }
}
