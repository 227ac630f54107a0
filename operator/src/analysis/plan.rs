//! The checks of one canary analysis, from a HermesDeployment's SLOs and
//! `rollout.analysis` (pure). A check that cannot be built (a template with an unknown
//! variable) is kept as `Invalid`, which the run reports as a failed check: a broken rule
//! never passes silently.

use super::promql::{
    self, Bound, CanaryTarget, TemplateVars, burn_rate_query, error_rate_all_routes_query,
    error_rate_query, latency_quantile_query, render_template, request_count_all_routes_query,
    request_count_query, ttft_quantile_query,
};
use crate::crd::{AnalysisSpec, BurnRateWindow, HermesDeploymentSpec};
use crate::quantity::parse_duration;
use std::time::Duration;

/// Max error rate of the default check when a resource declares no SLO: the reference
/// rollout's "promote when the 5xx rate stays under 1 %".
pub const DEFAULT_MAX_ERROR_RATE: f64 = 0.01;

/// The SRE workbook's paging windows: 2 % of a 30-day budget in 1 h, 5 % in 6 h.
pub fn default_burn_windows() -> Vec<BurnRateWindow> {
    vec![
        BurnRateWindow {
            long: "1h".into(),
            short: "5m".into(),
            factor: 14.4,
        },
        BurnRateWindow {
            long: "6h".into(),
            short: "30m".into(),
            factor: 6.0,
        },
    ]
}

/// One check of the analysis.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// e.g. `error-rate /embed_text`.
    pub name: String,
    pub kind: CheckKind,
    /// `rollout.analysis.minRequests` of the check's route: below it, no data.
    pub gate: Option<RequestGate>,
    /// Evaluated and recorded, never decides (`dryRun` of its SLO or metric).
    pub dry_run: bool,
}

/// Too little traffic to judge: while `query` (the canary's requests in the window)
/// counts fewer than `min`, the check has no data.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestGate {
    pub query: String,
    pub min: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CheckKind {
    /// One query whose value must lie within `bound`.
    Bound { query: String, bound: Bound },
    /// The canary's error rate against the stable's plus `tolerance`.
    AgainstStable {
        canary: String,
        stable: String,
        tolerance: f64,
    },
    /// Burn rate over a long and a short window; fails when both exceed `factor`.
    BurnRate {
        long: String,
        short: String,
        factor: f64,
    },
    /// The check could not be built; it fails with this reason.
    Invalid { error: String },
}

impl Check {
    /// The PromQL of the check, for display (several queries joined by ` ; `).
    pub fn query(&self) -> String {
        match &self.kind {
            CheckKind::Bound { query, .. } => query.clone(),
            CheckKind::AgainstStable { canary, stable, .. } => format!("{canary} ; {stable}"),
            CheckKind::BurnRate { long, short, .. } => format!("{long} ; {short}"),
            CheckKind::Invalid { .. } => String::new(),
        }
    }
}

/// What the analysis looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub revision: &'a str,
    /// Only needed for `compareWithStable`.
    pub stable_revision: Option<&'a str>,
    /// PromQL range of the rate windows.
    pub window: &'a str,
}

/// PromQL range for `rollout.analysis.window`, else the canary interval, in whole seconds
/// (at least 1 s; PromQL takes no fractions).
pub fn window(spec: &HermesDeploymentSpec, interval: Duration) -> String {
    let rollout = spec.rollout.as_ref();
    if let Some(w) = rollout
        .and_then(|r| r.analysis.as_ref())
        .and_then(|a| a.window.clone())
    {
        return w;
    }
    format!("{}s", interval.as_secs().max(1))
}

/// Every check of `spec` for `target`, in a fixed order: per SLO error rate, p95, p99,
/// time to first token p95, comparison with stable, burn rate; then the custom metrics.
pub fn checks(spec: &HermesDeploymentSpec, target: &Target<'_>) -> Vec<Check> {
    let analysis = spec
        .rollout
        .as_ref()
        .and_then(|r| r.analysis.clone())
        .unwrap_or_default();
    let mut out = Vec::new();
    let built = |name: String, r: Result<CheckKind, promql::PromqlError>| Check {
        name,
        kind: r.unwrap_or_else(|e| CheckKind::Invalid {
            error: e.to_string(),
        }),
        gate: None,
        dry_run: false,
    };
    // The gate of every check from `first` on (a query that cannot be built leaves the
    // checks ungated: they are invalid themselves then).
    let gate = |out: &mut [Check], first: usize, q: Result<String, promql::PromqlError>| {
        if let (Some(min), Ok(query)) = (analysis.min_requests, q) {
            for c in &mut out[first..] {
                c.gate = Some(RequestGate {
                    query: query.clone(),
                    min,
                });
            }
        }
    };
    let max = |m: f64| Bound {
        min: None,
        max: Some(m),
    };
    if spec.slos.is_empty() && analysis.metrics.is_empty() {
        let q = error_rate_all_routes_query(target.namespace, target.revision, target.window);
        out.push(built(
            "error-rate (all routes)".into(),
            q.map(|query| CheckKind::Bound {
                query,
                bound: max(DEFAULT_MAX_ERROR_RATE),
            }),
        ));
        let count =
            request_count_all_routes_query(target.namespace, target.revision, target.window);
        gate(&mut out[..], 0, count);
    }
    for slo in &spec.slos {
        let first = out.len();
        // The runtime labels `/v1/x` as route `/x`: the canonical route covers both paths.
        let route = slo.canonical_route();
        let t = CanaryTarget {
            namespace: target.namespace,
            revision: target.revision,
            route,
            interval: target.window,
        };
        out.push(built(
            format!("error-rate {route}"),
            error_rate_query(&t).map(|query| CheckKind::Bound {
                query,
                bound: max(slo.max_error_rate),
            }),
        ));
        type QueryFn = fn(&CanaryTarget<'_>, f64) -> Result<String, promql::PromqlError>;
        let latency = |label: &str, quantile: f64, bound: &str, query: QueryFn| {
            let kind = parse_duration(bound)
                .map_err(|e| e.to_string())
                .and_then(|d| {
                    query(&t, quantile)
                        .map(|query| CheckKind::Bound {
                            query,
                            bound: max(d.as_secs_f64()),
                        })
                        .map_err(|e| e.to_string())
                })
                .unwrap_or_else(|error| CheckKind::Invalid { error });
            Check {
                name: format!("{label} {route}"),
                kind,
                gate: None,
                dry_run: false,
            }
        };
        out.push(latency(
            "latency-p95",
            0.95,
            &slo.latency_p95,
            latency_quantile_query,
        ));
        if let Some(p99) = &slo.latency_p99 {
            out.push(latency("latency-p99", 0.99, p99, latency_quantile_query));
        }
        if let Some(ttft) = &slo.ttft_p95 {
            out.push(latency("ttft-p95", 0.95, ttft, ttft_quantile_query));
        }
        if let Some(cmp) = &analysis.compare_with_stable {
            let name = format!("error-rate-vs-stable {route}");
            let kind = match target.stable_revision {
                None => Ok(CheckKind::Invalid {
                    error: "no stable revision to compare with".into(),
                }),
                Some(stable) => error_rate_query(&t).and_then(|canary| {
                    let s = CanaryTarget {
                        revision: stable,
                        ..t.clone()
                    };
                    Ok(CheckKind::AgainstStable {
                        canary,
                        stable: error_rate_query(&s)?,
                        tolerance: cmp.tolerance,
                    })
                }),
            };
            out.push(built(name, kind));
        }
        if let Some(gate) = &analysis.burn_rate
            && slo.max_error_rate > 0.0
        {
            let windows = if gate.windows.is_empty() {
                default_burn_windows()
            } else {
                gate.windows.clone()
            };
            for w in windows {
                let kind = burn_rate_query(&t, &w.long, slo.max_error_rate).and_then(|long| {
                    Ok(CheckKind::BurnRate {
                        long,
                        short: burn_rate_query(&t, &w.short, slo.max_error_rate)?,
                        factor: w.factor,
                    })
                });
                out.push(built(
                    format!("burn-rate {route} {}/{}", w.long, w.short),
                    kind,
                ));
            }
        }
        gate(&mut out[..], first, request_count_query(&t));
        for c in &mut out[first..] {
            c.dry_run = slo.dry_run;
        }
    }
    let vars = TemplateVars {
        namespace: target.namespace,
        name: target.name,
        revision: target.revision,
        interval: target.window,
    };
    for m in &analysis.metrics {
        let first = out.len();
        out.push(built(
            m.name.clone(),
            render_template(&m.query, &vars).map(|query| CheckKind::Bound {
                query,
                bound: Bound {
                    min: m.min,
                    max: m.max,
                },
            }),
        ));
        out[first].dry_run = m.dry_run;
    }
    out
}

/// Problems of `rollout.analysis` that the schema cannot see, as validation messages.
pub fn validate(analysis: &AnalysisSpec, problems: &mut Vec<String>) {
    if analysis.min_requests == Some(0) {
        problems.push("rollout.analysis.minRequests must be at least 1".into());
    }
    if let Some(w) = &analysis.window
        && let Err(e) = promql::validate_interval(w)
    {
        problems.push(format!("rollout.analysis.window: {e}"));
    }
    let vars = TemplateVars {
        namespace: "ns",
        name: "name",
        revision: "rev",
        interval: "1m",
    };
    for (i, m) in analysis.metrics.iter().enumerate() {
        // Parsed after substitution with placeholder values: a typo is refused here, not
        // counted as a failed check (and a rolled back release) at analysis time.
        match render_template(&m.query, &vars) {
            Err(e) => problems.push(format!("rollout.analysis.metrics[{i}].query: {e}")),
            Ok(query) => {
                if let Err(e) = promql_parser::parser::parse(&query) {
                    problems.push(format!(
                        "rollout.analysis.metrics[{i}] ({}): query is not valid PromQL: {}",
                        m.name,
                        e.trim()
                    ));
                }
            }
        }
        match (m.min, m.max) {
            (None, None) => {
                problems.push(format!("rollout.analysis.metrics[{i}] needs min or max"))
            }
            (Some(lo), Some(hi)) if lo > hi => problems.push(format!(
                "rollout.analysis.metrics[{i}]: min {lo} exceeds max {hi}"
            )),
            _ => {}
        }
    }
    if let Some(gate) = &analysis.burn_rate {
        for (i, w) in gate.windows.iter().enumerate() {
            for (field, d) in [("long", &w.long), ("short", &w.short)] {
                if let Err(e) = promql::validate_interval(d) {
                    problems.push(format!(
                        "rollout.analysis.burnRate.windows[{i}].{field}: {e}"
                    ));
                }
            }
            if !(w.factor > 0.0 && w.factor.is_finite()) {
                problems.push(format!(
                    "rollout.analysis.burnRate.windows[{i}].factor must be above 0"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: serde_json::Value) -> HermesDeploymentSpec {
        let mut v = serde_json::json!({
            "image": "i:1",
            "models": [{"name": "all-minilm-l6-v2", "task": "embedding"}],
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        serde_json::from_value(v).expect("spec")
    }

    fn target() -> Target<'static> {
        Target {
            namespace: "prod",
            name: "chat",
            revision: "new1",
            stable_revision: Some("old1"),
            window: "30s",
        }
    }

    fn names(checks: &[Check]) -> Vec<&str> {
        checks.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn no_slo_means_the_default_error_rate_check() {
        let c = checks(&spec(serde_json::json!({})), &target());
        assert_eq!(names(&c), ["error-rate (all routes)"]);
        let CheckKind::Bound { query, bound } = &c[0].kind else {
            panic!("{c:?}")
        };
        assert_eq!(bound.max, Some(0.01));
        assert!(
            query.contains("revision=\"new1\"") && query.contains("[30s]"),
            "{query}"
        );
    }

    #[test]
    fn every_slo_gets_error_rate_and_latency_and_the_options_their_checks() {
        let s = spec(serde_json::json!({
            "slos": [
                {"route": "/embed_text", "latencyP95": "250ms", "latencyP99": "1s", "maxErrorRate": 0.01},
                {"route": "/llm", "latencyP95": "10s", "maxErrorRate": 0.05},
            ],
            "rollout": {"canary": {}, "analysis": {
                "compareWithStable": {"tolerance": 0.005},
                "burnRate": {"windows": [{"long": "10m", "short": "1m", "factor": 10}]},
                "metrics": [{"name": "rss", "query": "max(process_resident_memory_bytes{namespace=\"{{namespace}}\",revision=\"{{revision}}\"})", "max": 1e9}],
            }},
        }));
        let c = checks(&s, &target());
        assert_eq!(
            names(&c),
            [
                "error-rate /embed_text",
                "latency-p95 /embed_text",
                "latency-p99 /embed_text",
                "error-rate-vs-stable /embed_text",
                "burn-rate /embed_text 10m/1m",
                "error-rate /llm",
                "latency-p95 /llm",
                "error-rate-vs-stable /llm",
                "burn-rate /llm 10m/1m",
                "rss",
            ]
        );
        let bound = |i: usize| match &c[i].kind {
            CheckKind::Bound { bound, .. } => *bound,
            other => panic!("{other:?}"),
        };
        assert_eq!(bound(0).max, Some(0.01));
        assert_eq!(bound(1).max, Some(0.25));
        assert_eq!(bound(2).max, Some(1.0));
        assert_eq!(bound(6).max, Some(10.0));
        assert_eq!(bound(9).max, Some(1e9));
        let CheckKind::AgainstStable {
            stable, tolerance, ..
        } = &c[3].kind
        else {
            panic!("{:?}", c[3])
        };
        assert!(stable.contains("revision=\"old1\""));
        assert_eq!(*tolerance, 0.005);
        let CheckKind::BurnRate {
            long,
            short,
            factor,
        } = &c[4].kind
        else {
            panic!("{:?}", c[4])
        };
        assert!(long.contains("[10m]") && long.ends_with("/ 0.01"), "{long}");
        assert!(short.contains("[1m]"));
        assert_eq!(*factor, 10.0);
        assert!(
            c[9].query()
                .contains("namespace=\"prod\",revision=\"new1\"")
        );
    }

    #[test]
    fn a_versioned_slo_route_queries_the_canonical_route_of_every_api_version() {
        let s = spec(serde_json::json!({
            "slos": [
                {"route": "/v1/embed_text", "latencyP95": "250ms", "maxErrorRate": 0.01},
                {"route": "/v1/chat/completions", "latencyP95": "5s", "maxErrorRate": 0.01},
            ],
            "rollout": {"analysis": {"minRequests": 10}},
        }));
        let c = checks(&s, &target());
        assert_eq!(
            names(&c),
            [
                "error-rate /embed_text",
                "latency-p95 /embed_text",
                "error-rate /v1/chat/completions",
                "latency-p95 /v1/chat/completions",
            ]
        );
        let canary = "namespace=\"prod\",revision=\"new1\",route=\"/embed_text\"";
        assert_eq!(
            c[0].query(),
            format!(
                "(sum(rate(hermes_http_requests_total{{{canary},status=~\"5..\"}}[30s])) or vector(0)) / sum(rate(hermes_http_requests_total{{{canary}}}[30s]))"
            )
        );
        assert_eq!(
            c[1].query(),
            format!(
                "histogram_quantile(0.95, sum by (le) (rate(hermes_http_request_duration_seconds_bucket{{{canary}}}[30s])))"
            )
        );
        assert_eq!(
            c[0].gate.as_ref().map(|g| g.query.as_str()),
            Some(
                format!("sum(increase(hermes_http_requests_total{{{canary}}}[30s])) or vector(0)")
                    .as_str()
            )
        );
        // No api_version matcher: the /embed_text and /v1/embed_text series are summed.
        assert!(c.iter().all(|c| !c.query().contains("api_version")));
        assert!(c[2].query().contains("route=\"/v1/chat/completions\""));
    }

    #[test]
    fn a_ttft_bound_is_a_gated_check_on_the_first_token_histogram() {
        let s = spec(serde_json::json!({
            "slos": [{"route": "/v1/llm", "latencyP95": "30s", "ttftP95": "800ms", "maxErrorRate": 0.05}],
            "rollout": {"analysis": {"minRequests": 5}},
        }));
        let c = checks(&s, &target());
        assert_eq!(
            names(&c),
            ["error-rate /llm", "latency-p95 /llm", "ttft-p95 /llm"]
        );
        assert_eq!(
            c[2].kind,
            CheckKind::Bound {
                query: "histogram_quantile(0.95, sum by (le) (rate(hermes_llm_time_to_first_token_seconds_bucket{namespace=\"prod\",revision=\"new1\",route=\"/llm\"}[30s])))".into(),
                bound: Bound {
                    min: None,
                    max: Some(0.8)
                },
            }
        );
        assert_eq!(c[2].gate, c[0].gate);
        assert_eq!(c[2].gate.as_ref().map(|g| g.min), Some(5));
        assert!(promql_parser::parser::parse(&c[2].query()).is_ok());
    }

    #[test]
    fn an_unbuildable_check_is_kept_as_invalid() {
        let s = spec(serde_json::json!({
            "slos": [{"route": "/x", "latencyP95": "1s", "maxErrorRate": 0.01}],
            "rollout": {"canary": {}, "analysis": {"compareWithStable": {"tolerance": 0.0}}},
        }));
        let t = Target {
            stable_revision: None,
            ..target()
        };
        let c = checks(&s, &t);
        assert_eq!(
            c[2].kind,
            CheckKind::Invalid {
                error: "no stable revision to compare with".into()
            }
        );
    }

    #[test]
    fn window_defaults_to_the_interval_in_whole_seconds() {
        let s = spec(serde_json::json!({}));
        assert_eq!(window(&s, Duration::from_secs(60)), "60s");
        assert_eq!(window(&s, Duration::from_millis(500)), "1s");
        let w = spec(serde_json::json!({"rollout": {"analysis": {"window": "2m"}}}));
        assert_eq!(window(&w, Duration::from_secs(60)), "2m");
    }

    #[test]
    fn min_requests_gates_every_check_of_its_route_and_no_custom_metric() {
        let s = spec(serde_json::json!({
            "slos": [
                {"route": "/embed_text", "latencyP95": "250ms", "maxErrorRate": 0.01},
                {"route": "/stt", "latencyP95": "2s", "maxErrorRate": 0.01},
            ],
            "rollout": {"analysis": {
                "minRequests": 20,
                "compareWithStable": {"tolerance": 0.01},
                "metrics": [{"name": "custom", "query": "up", "min": 1}],
            }},
        }));
        let checks = checks(&s, &target());
        let gated: Vec<(&str, Option<u64>, bool)> = checks
            .iter()
            .map(|c| {
                let gate = c.gate.as_ref();
                let route = if c.name.ends_with("/stt") {
                    "/stt"
                } else {
                    "/embed_text"
                };
                (
                    c.name.as_str(),
                    gate.map(|g| g.min),
                    gate.is_some_and(|g| g.query.contains(&format!("route=\"{route}\""))),
                )
            })
            .collect();
        assert_eq!(
            gated,
            [
                ("error-rate /embed_text", Some(20), true),
                ("latency-p95 /embed_text", Some(20), true),
                ("error-rate-vs-stable /embed_text", Some(20), true),
                ("error-rate /stt", Some(20), true),
                ("latency-p95 /stt", Some(20), true),
                ("error-rate-vs-stable /stt", Some(20), true),
                ("custom", None, false),
            ]
        );
        let g = checks[0].gate.as_ref().expect("gate");
        let counted = format!(
            "sum(increase({}{{",
            hermes_interface::metrics::HTTP_REQUESTS_TOTAL
        );
        assert!(g.query.starts_with(&counted), "{}", g.query);
        assert!(g.query.contains("revision=\"new1\""), "{}", g.query);
        assert!(g.query.ends_with("[30s])) or vector(0)"), "{}", g.query);

        // Without SLOs, the default check counts every route of the canary.
        let plain = spec(serde_json::json!({"rollout": {"analysis": {"minRequests": 5}}}));
        let checks = super::checks(&plain, &target());
        let g = checks[0].gate.as_ref().expect("gate");
        assert_eq!(g.min, 5);
        assert!(!g.query.contains("route="), "{}", g.query);
        // Unset: nothing is gated.
        assert!(
            super::checks(&spec(serde_json::json!({})), &target())[0]
                .gate
                .is_none()
        );
    }

    #[test]
    fn every_built_in_query_is_valid_promql() {
        let s = spec(serde_json::json!({
            "slos": [{"route": "/embed_text", "latencyP95": "250ms", "latencyP99": "1s", "maxErrorRate": 0.01}],
            "rollout": {"analysis": {
                "minRequests": 10,
                "compareWithStable": {"tolerance": 0.01},
                "burnRate": {},
            }},
        }));
        let mut queries = Vec::new();
        for c in checks(&s, &target()).iter().chain(
            checks(
                &spec(serde_json::json!({"rollout": {"analysis": {"minRequests": 1}}})),
                &target(),
            )
            .iter(),
        ) {
            queries.extend(c.query().split(" ; ").map(str::to_string));
            queries.extend(c.gate.as_ref().map(|g| g.query.clone()));
        }
        assert!(queries.len() > 10, "{queries:?}");
        for q in queries {
            assert!(promql_parser::parser::parse(&q).is_ok(), "{q}");
        }
    }

    #[test]
    fn a_custom_query_that_does_not_parse_is_refused_naming_the_metric() {
        let a: AnalysisSpec = serde_json::from_value(serde_json::json!({
            "metrics": [
                {"name": "good", "query": "sum(rate(x{revision=\"{{revision}}\"}[{{interval}}]))", "max": 1},
                {"name": "typo", "query": "sum(rate(x[{{interval}}])", "max": 1},
            ],
        }))
        .expect("analysis");
        let mut problems = Vec::new();
        validate(&a, &mut problems);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .starts_with("rollout.analysis.metrics[1] (typo): query is not valid PromQL: "),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn validation_messages() {
        let a: AnalysisSpec = serde_json::from_value(serde_json::json!({
            "minRequests": 0,
            "window": "1.5m",
            "metrics": [
                {"name": "a", "query": "x{pod=\"{{pod}}\"}", "max": 1},
                {"name": "b", "query": "y"},
                {"name": "c", "query": "z", "min": 2, "max": 1},
            ],
            "burnRate": {"windows": [{"long": "1h", "short": "5 m", "factor": 0}]},
        }))
        .expect("analysis");
        let mut problems = Vec::new();
        validate(&a, &mut problems);
        assert_eq!(
            problems,
            [
                "rollout.analysis.minRequests must be at least 1",
                "rollout.analysis.window: interval \"1.5m\" is not a PromQL duration such as 30s, 1m or 1h30m",
                "rollout.analysis.metrics[0].query: template uses unknown variable {{pod}}; known: namespace, name, revision, interval",
                "rollout.analysis.metrics[1] needs min or max",
                "rollout.analysis.metrics[2]: min 2 exceeds max 1",
                "rollout.analysis.burnRate.windows[0].short: interval \"5 m\" is not a PromQL duration such as 30s, 1m or 1h30m",
                "rollout.analysis.burnRate.windows[0].factor must be above 0",
            ]
        );
    }
}
