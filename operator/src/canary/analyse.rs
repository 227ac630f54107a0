//! One analysis of a canary against Prometheus, as the state machine's event plus the
//! record kept in `status.rollout.lastAnalysis`.

use crate::analysis::plan::{self, Target};
use crate::analysis::prometheus::Prometheus;
use crate::analysis::run::{self, CheckResult};
use crate::context::Context;
use crate::crd::AnalysisStatus;
use crate::events::Notice;
use crate::rollout::persist::to_time;
use crate::rollout::{RolloutEvent, RolloutState};
use crate::validate::Validated;
use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::time::{Duration, Instant};

/// The Prometheus of `v`: its own `analysis.prometheusUrl`, else the operator's.
pub fn prometheus_for(v: &Validated<'_>, ctx: &Context) -> Result<Prometheus, String> {
    let own = v
        .spec
        .rollout
        .as_ref()
        .and_then(|r| r.analysis.as_ref())
        .and_then(|a| a.prometheus_url.as_deref());
    match (own, &ctx.prometheus) {
        (Some(url), _) => Prometheus::standalone(url).map_err(|e| e.to_string()),
        (None, Some(p)) => Ok(p.clone()),
        (None, None) => Err(
            "no Prometheus configured (hermes-operator run --prometheus-url, or rollout.analysis.prometheusUrl)"
                .into(),
        ),
    }
}

/// Runs one analysis of the canary in `state`.
pub async fn analyse(
    v: &Validated<'_>,
    ctx: &Context,
    state: &RolloutState,
    interval: Duration,
    now: DateTime<Utc>,
) -> (RolloutEvent, AnalysisStatus) {
    let revision = state.canary_revision.clone().unwrap_or_default();
    let window = plan::window(v.spec, interval);
    let checks = plan::checks(
        v.spec,
        &Target {
            namespace: &v.id.namespace,
            name: &v.id.name,
            revision: &revision,
            stable_revision: state.stable_revision.as_deref(),
            window: &window,
        },
    );
    let started = Instant::now();
    let prometheus = prometheus_for(v, ctx);
    let results: Vec<CheckResult> =
        run::run(prometheus.as_ref().map_err(Clone::clone), &checks).await;
    ctx.metrics
        .analysis_duration
        .observe(started.elapsed().as_secs_f64());
    let event = run::decide(&results);
    let record = AnalysisStatus {
        time: to_time(now).unwrap_or(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)),
        revision,
        result: run::summary(&event).into(),
        checks: results.iter().map(CheckResult::to_status).collect(),
    };
    (event, record)
}

/// The Event note of an analysis that did not pass.
pub fn failure_note(event: &RolloutEvent) -> String {
    match event {
        RolloutEvent::CheckFailed {
            metric,
            value,
            threshold,
        } => format!("check {metric} failed: value {value} against threshold {threshold}"),
        RolloutEvent::CheckErrored { metric, error } => format!("check {metric} failed: {error}"),
        other => format!("{other:?}"),
    }
}

/// A Warning Event per dry-run check that failed or errored: tried, recorded, not acted on.
pub fn dry_run_notices(record: &AnalysisStatus) -> Vec<Notice> {
    record
        .checks
        .iter()
        .filter(|c| c.dry_run && matches!(c.result.as_str(), "fail" | "error"))
        .map(|c| Notice {
            warning: true,
            reason: "DryRunCheckFailed".into(),
            // One series per check: the Recorder folds equal reason and action.
            action: format!("Analyse {} {}", record.revision, c.name),
            note: format!(
                "dry run, not acted on: check {} {}ed: {}",
                c.name,
                c.result,
                c.message.as_deref().unwrap_or("-")
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::CheckStatus;

    fn check(name: &str, result: &str, dry_run: bool) -> CheckStatus {
        CheckStatus {
            name: name.into(),
            result: result.into(),
            value: None,
            min: None,
            max: None,
            message: Some("value 0.2 against threshold 0.1".into()),
            dry_run,
        }
    }

    #[test]
    fn only_failed_dry_run_checks_get_an_event() {
        let record = AnalysisStatus {
            time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
            revision: "r2".into(),
            result: "Passed".into(),
            checks: vec![
                check("error-rate /x", "fail", false),
                check("tried", "fail", true),
                check("tried-ok", "pass", true),
            ],
        };
        let notices = dry_run_notices(&record);
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert_eq!(notices[0].reason, "DryRunCheckFailed");
        assert_eq!(notices[0].action, "Analyse r2 tried");
        assert_eq!(
            notices[0].note,
            "dry run, not acted on: check tried failed: value 0.2 against threshold 0.1"
        );
        assert!(notices[0].warning);
    }
}
