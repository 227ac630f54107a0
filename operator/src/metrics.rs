//! The operator's own Prometheus metrics.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ObjectLabels {
    pub namespace: String,
    pub name: String,
}

/// Counters and histograms, registered once; cheap to clone (shared atomics).
#[derive(Clone)]
pub struct Metrics {
    /// `hermes_operator_reconciliations_total{result="ok"|"error"}`.
    pub reconciliations: Family<ResultLabels, Counter>,
    /// `hermes_operator_reconcile_errors_total{reason}`.
    pub errors: Family<ReasonLabels, Counter>,
    /// `hermes_operator_reconcile_duration_seconds`.
    pub duration: Histogram,
    /// `hermes_operator_watch_errors_total`: watch stream errors the controller survived.
    pub watch_errors: Counter,
    /// `hermes_operator_leader`: 1 while this replica holds the Lease.
    pub leader: Gauge,
    /// `hermes_operator_rollouts_total{result="promoted"|"rolled_back"|"aborted"}`.
    pub rollouts: Family<ResultLabels, Counter>,
    /// `hermes_operator_canary_weight{namespace,name}`: current canary weight in percent.
    pub canary_weight: Family<ObjectLabels, Gauge>,
    /// `hermes_operator_analysis_duration_seconds`: one canary analysis (every query).
    pub analysis_duration: Histogram,
    /// `hermes_slo_objective_*`: the SLOs every HermesDeployment declares.
    pub slo_objectives: crate::slo_metrics::SloObjectives,
}

impl Metrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Metrics {
            reconciliations: Family::default(),
            errors: Family::default(),
            duration: Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            watch_errors: Counter::default(),
            leader: Gauge::default(),
            rollouts: Family::default(),
            canary_weight: Family::default(),
            analysis_duration: Histogram::new([
                0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            slo_objectives: crate::slo_metrics::SloObjectives::default(),
        };
        // Unprefixed (`hermes_slo_objective_*`): the names the chart's rules join on.
        m.slo_objectives.register(registry);
        let r = registry.sub_registry_with_prefix("hermes_operator");
        r.register(
            "reconciliations",
            "Reconciliations by result",
            m.reconciliations.clone(),
        );
        r.register(
            "reconcile_errors",
            "Failed reconciliations by reason",
            m.errors.clone(),
        );
        r.register(
            "reconcile_duration_seconds",
            "Duration of one reconciliation",
            m.duration.clone(),
        );
        r.register(
            "watch_errors",
            "Watch errors the controller survived",
            m.watch_errors.clone(),
        );
        r.register(
            "leader",
            "1 while this replica is the leader",
            m.leader.clone(),
        );
        r.register(
            "rollouts",
            "Finished canary rollouts by result",
            m.rollouts.clone(),
        );
        r.register(
            "canary_weight",
            "Current canary traffic weight in percent",
            m.canary_weight.clone(),
        );
        r.register(
            "analysis_duration_seconds",
            "Duration of one canary analysis",
            m.analysis_duration.clone(),
        );
        m
    }

    /// Counts a finished rollout.
    pub fn rollout_finished(&self, result: &str) {
        self.rollouts
            .get_or_create(&ResultLabels {
                result: result.into(),
            })
            .inc();
    }

    pub fn set_canary_weight(&self, namespace: &str, name: &str, weight: i32) {
        self.canary_weight
            .get_or_create(&ObjectLabels {
                namespace: namespace.into(),
                name: name.into(),
            })
            .set(i64::from(weight));
    }

    pub fn observe(&self, elapsed: Duration, error_reason: Option<&str>) {
        self.duration.observe(elapsed.as_secs_f64());
        let result = if error_reason.is_some() {
            "error"
        } else {
            "ok"
        };
        self.reconciliations
            .get_or_create(&ResultLabels {
                result: result.into(),
            })
            .inc();
        if let Some(reason) = error_reason {
            self.errors
                .get_or_create(&ReasonLabels {
                    reason: reason.into(),
                })
                .inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_names_and_labels() {
        let mut registry = Registry::default();
        let m = Metrics::new(&mut registry);
        m.observe(Duration::from_millis(20), None);
        m.observe(Duration::from_millis(20), Some("apply"));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        assert!(
            text.contains("hermes_operator_reconciliations_total{result=\"ok\"} 1"),
            "{text}"
        );
        assert!(text.contains("hermes_operator_reconciliations_total{result=\"error\"} 1"));
        assert!(text.contains("hermes_operator_reconcile_errors_total{reason=\"apply\"} 1"));
        assert!(text.contains("hermes_operator_reconcile_duration_seconds_count 2"));
        assert!(text.contains("hermes_operator_leader 0"));
        m.rollout_finished("rolled_back");
        m.set_canary_weight("prod", "chat", 25);
        m.analysis_duration.observe(0.2);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        assert!(
            text.contains("hermes_operator_rollouts_total{result=\"rolled_back\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("hermes_operator_canary_weight{namespace=\"prod\",name=\"chat\"} 25")
        );
        assert!(text.contains("hermes_operator_analysis_duration_seconds_count 1"));
    }
}
