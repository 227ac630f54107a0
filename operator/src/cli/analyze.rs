//! `hermes-operator analyze`: one canary analysis of a HermesDeployment file against a
//! Prometheus, exactly as the controller runs it, printed check by check. Users debug
//! their SLOs with it; the integration tests drive it too.

use crate::analysis::plan::{self, Target};
use crate::analysis::prometheus::Prometheus;
use crate::analysis::run::{self, CheckResult, Outcome, show};
use crate::crd::HermesDeployment;
use crate::rollout::{CanaryPolicy, NoDataPolicy, RolloutEvent};
use kube::ResourceExt;
use serde::Serialize;

/// Exit status when every check passed.
pub const EXIT_PASS: u8 = 0;
/// Exit status when a check failed or could not be evaluated.
pub const EXIT_FAIL: u8 = 1;
/// Exit status when nothing failed but a check had no data.
pub const EXIT_NO_DATA: u8 = 3;

/// One analysis, as printed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub namespace: String,
    pub name: String,
    pub revision: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stable_revision: Option<String>,
    pub prometheus: String,
    pub window: String,
    pub checks: Vec<CheckResult>,
    /// `pass`, `fail` or `noData`.
    pub decision: String,
    /// What the decision means for the rollout under the resource's `noDataPolicy`.
    pub rollout_effect: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Report {
    pub fn exit_code(&self) -> u8 {
        match self.decision.as_str() {
            "pass" => EXIT_PASS,
            "noData" => EXIT_NO_DATA,
            _ => EXIT_FAIL,
        }
    }
}

/// Runs the analysis of `hd` for `revision` against `prometheus_url`.
pub async fn analyze(
    hd: &HermesDeployment,
    prometheus_url: &str,
    revision: &str,
    stable_revision: Option<&str>,
) -> Result<Report, String> {
    let prometheus = Prometheus::standalone(prometheus_url).map_err(|e| e.to_string())?;
    let canary = hd.spec.rollout.as_ref().and_then(|r| r.canary.as_ref());
    let policy = CanaryPolicy::from_spec(canary);
    let window = plan::window(&hd.spec, CanaryPolicy::interval(canary));
    let namespace = hd.namespace().unwrap_or_default();
    let name = hd.name_any();
    let checks = plan::checks(
        &hd.spec,
        &Target {
            namespace: &namespace,
            name: &name,
            revision,
            stable_revision,
            window: &window,
        },
    );
    let results = run::run(Ok(&prometheus), &checks).await;
    let event = run::decide(&results);
    let (decision, reason) = match &event {
        RolloutEvent::CheckPassed => ("pass", None),
        RolloutEvent::NoData { metric } => ("noData", Some(format!("{metric}: no data"))),
        RolloutEvent::CheckFailed {
            metric,
            value,
            threshold,
        } => (
            "fail",
            Some(format!(
                "{metric}: value {value} against threshold {threshold}"
            )),
        ),
        RolloutEvent::CheckErrored { metric, error } => {
            ("fail", Some(format!("{metric}: {error}")))
        }
        _ => ("fail", None),
    };
    let rollout_effect = match (decision, policy.no_data_policy) {
        ("pass", _) => "the step passes",
        ("noData", NoDataPolicy::Fail) => "counts as a failed check (noDataPolicy fail)",
        ("noData", NoDataPolicy::Skip) => "the step passes (noDataPolicy skip)",
        ("noData", NoDataPolicy::Wait) => "the step waits for data (noDataPolicy wait)",
        _ => "counts as a failed check",
    };
    Ok(Report {
        namespace,
        name,
        revision: revision.into(),
        stable_revision: stable_revision.map(str::to_string),
        prometheus: prometheus.url().into(),
        window,
        checks: results,
        decision: decision.into(),
        rollout_effect: rollout_effect.into(),
        reason,
    })
}

fn bound(r: &CheckResult) -> String {
    match (r.min, r.max) {
        (Some(lo), Some(hi)) => format!("{lo} .. {hi}"),
        (Some(lo), None) => format!(">= {lo}"),
        (None, Some(hi)) => format!("<= {hi}"),
        (None, None) => "-".into(),
    }
}

/// The human-readable report.
pub fn to_text(report: &Report) -> String {
    let mut out = format!(
        "{}/{} revision {}{} | window {} | {}\n",
        report.namespace,
        report.name,
        report.revision,
        report
            .stable_revision
            .as_ref()
            .map(|s| format!(" (stable {s})"))
            .unwrap_or_default(),
        report.window,
        report.prometheus,
    );
    let width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    out.push_str(&format!(
        "{:<width$}  {:<7}  {:>12}  {}\n",
        "CHECK", "RESULT", "VALUE", "BOUND"
    ));
    for c in &report.checks {
        out.push_str(&format!(
            "{:<width$}  {:<7}  {:>12}  {}\n",
            c.name,
            c.result(),
            show(c.value),
            bound(c)
        ));
        if let Outcome::Error { error } = &c.outcome {
            out.push_str(&format!("{:width$}  error: {error}\n", ""));
        }
        if c.dry_run {
            out.push_str(&format!("{:width$}  dry run: recorded, not acted on\n", ""));
        }
        if let Some(note) = &c.note {
            out.push_str(&format!("{:width$}  note: {note}\n", ""));
        }
        if !c.query.is_empty() {
            out.push_str(&format!("{:width$}  query: {}\n", "", c.query));
        }
    }
    out.push_str(&format!(
        "decision: {}{} -> {}\n",
        report.decision,
        report
            .reason
            .as_ref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default(),
        report.rollout_effect
    ));
    out
}
