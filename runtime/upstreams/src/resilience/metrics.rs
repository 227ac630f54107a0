//! Metrics of deliveries to dependencies: outbox depth and bytes, replayed and
//! refused records, failures by dependency and reason, circuit state.

use hermes_interface::metrics as names;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::breaker::CircuitState;
use crate::outbox::log::Depth;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DependencyLabel {
    dependency: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RetryLabels {
    dependency: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    dependency: &'static str,
    reason: &'static str,
}

/// Cheap to clone: every clone updates the same series.
#[derive(Clone, Debug, Default)]
pub struct DeliveryMetrics {
    depth: Family<DependencyLabel, Gauge>,
    bytes: Family<DependencyLabel, Gauge>,
    replayed: Family<DependencyLabel, Counter>,
    rejected: Family<DependencyLabel, Counter>,
    failures: Family<FailureLabels, Counter>,
    circuit: Family<DependencyLabel, Gauge>,
    retries: Family<RetryLabels, Counter>,
}

fn counter_name(full: &'static str) -> &'static str {
    full.strip_suffix("_total").unwrap_or(full)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl DeliveryMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            names::OUTBOX_DEPTH,
            "Outbox records not acknowledged by the dependency yet",
            self.depth.clone(),
        );
        registry.register(
            names::OUTBOX_BYTES,
            "Bytes on disk of outbox records not acknowledged yet",
            self.bytes.clone(),
        );
        registry.register(
            counter_name(names::OUTBOX_REPLAYED_TOTAL),
            "Outbox records delivered by the background replay",
            self.replayed.clone(),
        );
        registry.register(
            counter_name(names::OUTBOX_REJECTED_TOTAL),
            "Records refused because the outbox was full (answered 503)",
            self.rejected.clone(),
        );
        registry.register(
            counter_name(names::DELIVERY_FAILURES_TOTAL),
            "Failed deliveries to a dependency by reason",
            self.failures.clone(),
        );
        registry.register(
            names::CIRCUIT_STATE,
            "Circuit breaker state: 0 closed, 1 open, 2 half-open",
            self.circuit.clone(),
        );
        registry.register(
            counter_name(names::RETRIES_TOTAL),
            "Retries asked for, by whether the retry budget granted them",
            self.retries.clone(),
        );
    }

    pub fn set_depth(&self, dependency: &'static str, depth: Depth) {
        let label = DependencyLabel { dependency };
        self.depth.get_or_create(&label).set(to_i64(depth.records));
        self.bytes.get_or_create(&label).set(to_i64(depth.bytes));
    }

    pub fn replayed(&self, dependency: &'static str, records: u64) {
        self.replayed
            .get_or_create(&DependencyLabel { dependency })
            .inc_by(records);
    }

    pub fn rejected(&self, dependency: &'static str) {
        self.rejected
            .get_or_create(&DependencyLabel { dependency })
            .inc();
    }

    pub fn failure(&self, dependency: &'static str, reason: &'static str) {
        self.failures
            .get_or_create(&FailureLabels { dependency, reason })
            .inc();
    }

    pub fn retry(&self, dependency: &'static str, outcome: &'static str) {
        self.retries
            .get_or_create(&RetryLabels {
                dependency,
                outcome,
            })
            .inc();
    }

    pub fn circuit(&self, dependency: &'static str, state: CircuitState) {
        self.circuit
            .get_or_create(&DependencyLabel { dependency })
            .set(state.as_gauge());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_exported_with_their_labels() {
        let metrics = DeliveryMetrics::default();
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        metrics.set_depth(
            "milvus",
            Depth {
                records: 3,
                bytes: 300,
            },
        );
        metrics.replayed("milvus", 2);
        metrics.rejected("sophia");
        metrics.failure("milvus", "unreachable");
        metrics.circuit("milvus", CircuitState::Open);
        metrics.retry("llm_upstream", "denied");
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        for expected in [
            r#"hermes_outbox_depth_records{dependency="milvus"} 3"#,
            r#"hermes_outbox_bytes{dependency="milvus"} 300"#,
            r#"hermes_outbox_replayed_total{dependency="milvus"} 2"#,
            r#"hermes_outbox_rejected_total{dependency="sophia"} 1"#,
            r#"hermes_delivery_failures_total{dependency="milvus",reason="unreachable"} 1"#,
            r#"hermes_circuit_state{dependency="milvus"} 1"#,
            r#"hermes_retries_total{dependency="llm_upstream",outcome="denied"} 1"#,
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
    }
}
