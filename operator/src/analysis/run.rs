//! One analysis: run every check against Prometheus, then one decision for the rollout
//! state machine. An error is a failed check with its reason, never a pass; a failure
//! outranks an error, which outranks no data.

use super::plan::{Check, CheckKind, RequestGate};
use super::prometheus::Prometheus;
use super::promql::{Bound, Verdict, evaluate, evaluate_against_stable, evaluate_burn_rate};
use crate::crd::CheckStatus;
use crate::rollout::RolloutEvent;
use serde::Serialize;

/// How one check came out.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "result")]
pub enum Outcome {
    Pass,
    /// `threshold` is the bound that was crossed.
    Fail {
        threshold: f64,
    },
    NoData,
    Error {
        error: String,
    },
}

/// One check's result, with what it ran.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    pub name: String,
    pub query: String,
    /// The value compared with the bound (absent: no data, or an error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Why a check has no data when that is not the query's doing (too few requests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Recorded, never decides.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

impl CheckResult {
    /// `pass`, `fail`, `noData` or `error`.
    pub fn result(&self) -> &'static str {
        match self.outcome {
            Outcome::Pass => "pass",
            Outcome::Fail { .. } => "fail",
            Outcome::NoData => "noData",
            Outcome::Error { .. } => "error",
        }
    }

    pub fn to_status(&self) -> CheckStatus {
        let message = match &self.outcome {
            Outcome::Pass => None,
            Outcome::NoData => self.note.clone(),
            Outcome::Fail { threshold } => Some(format!(
                "value {} against threshold {threshold}",
                show(self.value)
            )),
            Outcome::Error { error } => Some(error.clone()),
        };
        CheckStatus {
            name: self.name.clone(),
            result: self.result().into(),
            // JSON has no NaN or infinities: those are shown in the message only.
            value: self.value.filter(|v| v.is_finite()),
            min: self.min,
            max: self.max,
            message,
            dry_run: self.dry_run,
        }
    }
}

/// A value for messages (`-` when absent).
pub fn show(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v}"))
}

fn result(check: &Check, value: Option<f64>, bound: Bound, outcome: Outcome) -> CheckResult {
    CheckResult {
        name: check.name.clone(),
        query: check.query(),
        value,
        min: bound.min,
        max: bound.max,
        outcome,
        note: None,
        dry_run: check.dry_run,
    }
}

fn from_verdict(check: &Check, bound: Bound, verdict: Verdict) -> CheckResult {
    match verdict {
        Verdict::Pass { value } => result(check, Some(value), bound, Outcome::Pass),
        Verdict::Fail { value, threshold } => {
            result(check, Some(value), bound, Outcome::Fail { threshold })
        }
        Verdict::NoData => result(check, None, bound, Outcome::NoData),
    }
}

fn errored(check: &Check, bound: Bound, error: String) -> CheckResult {
    result(check, None, bound, Outcome::Error { error })
}

/// Why `count` requests (absent or NaN: none) are too few for `min`, if they are.
pub fn too_few_requests(count: Option<f64>, min: u64) -> Option<String> {
    let n = count.filter(|c| c.is_finite()).unwrap_or(0.0);
    // Counters' increase() extrapolates: 19.6 of a minimum of 20 is too few.
    (n < min as f64).then(|| {
        format!(
            "{} requests in the window, below minRequests {min}",
            n.floor()
        )
    })
}

/// Every check of `checks` against `prometheus` (`Err`: no Prometheus to ask, with why;
/// every check then errors with that reason). A gated check whose route served too few
/// requests is not run: it has no data (each route's requests are counted once).
pub async fn run(prometheus: Result<&Prometheus, String>, checks: &[Check]) -> Vec<CheckResult> {
    let mut out = Vec::with_capacity(checks.len());
    let mut counted: Vec<(String, Result<Option<f64>, String>)> = Vec::new();
    for check in checks {
        if let (Ok(p), Some(RequestGate { query, min }), false) = (
            &prometheus,
            &check.gate,
            matches!(check.kind, CheckKind::Invalid { .. }),
        ) {
            let count = match counted.iter().find(|(q, _)| q == query) {
                Some((_, c)) => c.clone(),
                None => {
                    let c = p.query(query).await.map_err(|e| e.to_string());
                    counted.push((query.clone(), c.clone()));
                    c
                }
            };
            let bound = bound_of(check);
            match count {
                Err(e) => {
                    out.push(errored(check, bound, format!("counting requests: {e}")));
                    continue;
                }
                Ok(n) => {
                    if let Some(note) = too_few_requests(n, *min) {
                        let mut r = result(check, None, bound, Outcome::NoData);
                        r.note = Some(note);
                        out.push(r);
                        continue;
                    }
                }
            }
        }
        out.push(run_one(&prometheus, check).await);
    }
    out
}

/// The bound a check's value is compared with, as reported.
fn bound_of(check: &Check) -> Bound {
    match &check.kind {
        CheckKind::Bound { bound, .. } => *bound,
        CheckKind::AgainstStable { .. } | CheckKind::Invalid { .. } => Bound::default(),
        CheckKind::BurnRate { factor, .. } => Bound {
            min: None,
            max: Some(*factor),
        },
    }
}

async fn run_one(prometheus: &Result<&Prometheus, String>, check: &Check) -> CheckResult {
    let max = |m: f64| Bound {
        min: None,
        max: Some(m),
    };
    let bound = bound_of(check);
    let prom = match (prometheus, &check.kind) {
        (_, CheckKind::Invalid { error }) => return errored(check, bound, error.clone()),
        (Err(why), _) => return errored(check, bound, why.clone()),
        (Ok(p), _) => *p,
    };
    match &check.kind {
        CheckKind::Bound { query, bound } => match prom.query(query).await {
            Ok(v) => from_verdict(check, *bound, evaluate(v, bound)),
            Err(e) => errored(check, *bound, e.to_string()),
        },
        CheckKind::AgainstStable {
            canary,
            stable,
            tolerance,
        } => {
            let (c, s) = match (prom.query(canary).await, prom.query(stable).await) {
                (Ok(c), Ok(s)) => (c, s),
                (Err(e), _) | (_, Err(e)) => return errored(check, bound, e.to_string()),
            };
            let baseline = s.filter(|v| !v.is_nan()).unwrap_or(0.0);
            from_verdict(
                check,
                max(baseline + tolerance),
                evaluate_against_stable(c, s, *tolerance),
            )
        }
        CheckKind::BurnRate {
            long,
            short,
            factor,
        } => match (prom.query(long).await, prom.query(short).await) {
            (Ok(l), Ok(s)) => from_verdict(check, bound, evaluate_burn_rate(l, s, *factor)),
            (Err(e), _) | (_, Err(e)) => errored(check, bound, e.to_string()),
        },
        CheckKind::Invalid { error } => errored(check, bound, error.clone()),
    }
}

/// The event for the state machine: the first failed check, else the first error, else
/// the first check without data, else a pass. Dry-run checks never count.
pub fn decide(results: &[CheckResult]) -> RolloutEvent {
    let counted: Vec<&CheckResult> = results.iter().filter(|r| !r.dry_run).collect();
    let results = counted.as_slice();
    if let Some((r, threshold)) = results.iter().find_map(|r| match r.outcome {
        Outcome::Fail { threshold } => Some((r, threshold)),
        _ => None,
    }) {
        return RolloutEvent::CheckFailed {
            metric: r.name.clone(),
            value: r.value.unwrap_or(f64::NAN),
            threshold,
        };
    }
    if let Some((r, error)) = results.iter().find_map(|r| match &r.outcome {
        Outcome::Error { error } => Some((r, error)),
        _ => None,
    }) {
        return RolloutEvent::CheckErrored {
            metric: r.name.clone(),
            error: error.clone(),
        };
    }
    if let Some(r) = results.iter().find(|r| r.outcome == Outcome::NoData) {
        return RolloutEvent::NoData {
            metric: r.name.clone(),
        };
    }
    RolloutEvent::CheckPassed
}

/// `Passed`, `Failed` or `NoData`: the word the status records for a decision.
pub fn summary(event: &RolloutEvent) -> &'static str {
    match event {
        RolloutEvent::CheckPassed => "Passed",
        RolloutEvent::NoData { .. } => "NoData",
        _ => "Failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, outcome: Outcome) -> CheckResult {
        CheckResult {
            name: name.into(),
            query: "q".into(),
            value: Some(0.3),
            min: None,
            max: Some(0.1),
            outcome,
            note: None,
            dry_run: false,
        }
    }

    #[test]
    fn failure_outranks_error_outranks_no_data() {
        let err = || Outcome::Error {
            error: "Prometheus at x is unreachable".into(),
        };
        let fail = Outcome::Fail { threshold: 0.1 };
        let table = [
            (vec![r("a", Outcome::Pass), r("b", Outcome::Pass)], "Passed"),
            (
                vec![r("a", Outcome::NoData), r("b", Outcome::Pass)],
                "NoData b? no: a",
            ),
            (vec![r("a", Outcome::NoData), r("b", err())], "Errored b"),
            (vec![r("a", err()), r("b", fail.clone())], "Failed b"),
        ];
        for (results, want) in table {
            let got = match decide(&results) {
                RolloutEvent::CheckPassed => "Passed".to_string(),
                RolloutEvent::NoData { metric } => format!("NoData b? no: {metric}"),
                RolloutEvent::CheckErrored { metric, .. } => format!("Errored {metric}"),
                RolloutEvent::CheckFailed {
                    metric,
                    value,
                    threshold,
                } => {
                    assert_eq!((value, threshold), (0.3, 0.1));
                    format!("Failed {metric}")
                }
                other => format!("{other:?}"),
            };
            assert_eq!(got, want);
        }
    }

    /// Each check of an LLM SLO given the value Prometheus would return for it.
    fn llm_analysis(value_of: impl Fn(&str) -> Option<f64>) -> RolloutEvent {
        let spec: crate::crd::HermesDeploymentSpec = serde_json::from_value(serde_json::json!({
            "image": "i:1",
            "models": [{"name": "smollm2-135m-instruct", "task": "llm"}],
            "slos": [{"route": "/llm", "latencyP95": "30s", "ttftP95": "800ms", "maxErrorRate": 0.05}],
        }))
        .expect("spec");
        let target = super::super::plan::Target {
            namespace: "prod",
            name: "chat",
            revision: "new1",
            stable_revision: None,
            window: "1m",
        };
        let results: Vec<CheckResult> = super::super::plan::checks(&spec, &target)
            .iter()
            .map(|c| {
                let bound = bound_of(c);
                from_verdict(c, bound, evaluate(value_of(&c.name), &bound))
            })
            .collect();
        decide(&results)
    }

    #[test]
    fn a_slow_first_token_fails_a_canary_whose_request_latency_passes() {
        // Answers stream for 12 s (within latencyP95 30s), but the first token takes 1.5 s.
        let slow = llm_analysis(|name| match name {
            "error-rate /llm" => Some(0.0),
            "latency-p95 /llm" => Some(12.0),
            "ttft-p95 /llm" => Some(1.5),
            other => panic!("unexpected check {other}"),
        });
        assert_eq!(
            slow,
            RolloutEvent::CheckFailed {
                metric: "ttft-p95 /llm".into(),
                value: 1.5,
                threshold: 0.8
            }
        );
        let fast = llm_analysis(|name| Some(if name.starts_with("ttft") { 0.3 } else { 0.0 }));
        assert_eq!(fast, RolloutEvent::CheckPassed);
        // No streamed request in the window: the histogram has no sample (NaN).
        let unstreamed = llm_analysis(|name| {
            Some(if name.starts_with("ttft") {
                f64::NAN
            } else {
                0.0
            })
        });
        assert_eq!(
            unstreamed,
            RolloutEvent::NoData {
                metric: "ttft-p95 /llm".into()
            }
        );
    }

    #[test]
    fn too_few_requests_is_no_data_with_the_count() {
        let table = [
            (
                None,
                20,
                Some("0 requests in the window, below minRequests 20"),
            ),
            (
                Some(f64::NAN),
                1,
                Some("0 requests in the window, below minRequests 1"),
            ),
            (
                Some(3.0),
                20,
                Some("3 requests in the window, below minRequests 20"),
            ),
            (
                Some(19.6),
                20,
                Some("19 requests in the window, below minRequests 20"),
            ),
            (Some(20.0), 20, None),
            (Some(500.0), 20, None),
        ];
        for (count, min, want) in table {
            assert_eq!(
                too_few_requests(count, min).as_deref(),
                want,
                "{count:?} of {min}"
            );
        }
        // Reported as no data (the policy decides), with the reason in the status.
        let mut low = r("error-rate /x", Outcome::NoData);
        low.note = too_few_requests(Some(1.0), 20);
        assert_eq!(
            low.to_status().message.as_deref(),
            Some("1 requests in the window, below minRequests 20")
        );
        assert!(matches!(decide(&[low]), RolloutEvent::NoData { .. }));
    }

    #[test]
    fn a_dry_run_check_is_recorded_but_never_decides() {
        let mut tried = r("custom", Outcome::Fail { threshold: 0.1 });
        tried.dry_run = true;
        let results = [tried.clone(), r("error-rate /x", Outcome::Pass)];
        assert_eq!(decide(&results), RolloutEvent::CheckPassed);
        let status = tried.to_status();
        assert!(status.dry_run);
        assert_eq!(status.result, "fail");
        // Only dry-run checks: nothing decides against the rollout either.
        assert_eq!(decide(&[tried]), RolloutEvent::CheckPassed);
    }

    #[tokio::test]
    async fn without_prometheus_every_check_errors_with_the_reason() {
        let checks = [Check {
            gate: None,
            dry_run: false,
            name: "error-rate /x".into(),
            kind: CheckKind::Bound {
                query: "q".into(),
                bound: Bound {
                    min: None,
                    max: Some(0.01),
                },
            },
        }];
        let results = run(Err("no Prometheus URL configured".into()), &checks).await;
        assert_eq!(
            results[0].outcome,
            Outcome::Error {
                error: "no Prometheus URL configured".into()
            }
        );
        assert_eq!(
            results[0].to_status().message.as_deref(),
            Some("no Prometheus URL configured")
        );
        assert!(matches!(
            decide(&results),
            RolloutEvent::CheckErrored { .. }
        ));
    }
}
