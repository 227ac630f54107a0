//! The bottom of the reconcile: the shared `Context`, the reconcile's error type and its
//! timing constants. Every stage may import this; it imports no stage.

use crate::analysis::prometheus::Prometheus;
use crate::catalog::Catalog;
use crate::gates::{GateCaller, HttpGates};
use crate::metrics::Metrics;
use crate::own_writes::OwnWrites;
use crate::validate::MissingMetadata;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::runtime::events::Recorder;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Requeue of a Ready resource: a periodic re-apply repairs drift nobody watched.
pub const RESYNC: Duration = Duration::from_secs(300);
/// Requeue while pods are still coming up (their changes also trigger a reconcile).
pub const PROGRESS_CHECK: Duration = Duration::from_secs(30);
pub const BACKOFF_BASE: Duration = Duration::from_secs(5);
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// Shared by every reconciliation.
pub struct Context {
    pub client: Client,
    pub catalog: Catalog,
    pub recorder: Recorder,
    pub metrics: Metrics,
    /// Where canary analyses query (`--prometheus-url`); a resource may name its own.
    pub prometheus: Option<Prometheus>,
    /// Calls the canaries' HTTP gates (`rollout.canary.webhooks`).
    pub gates: Arc<dyn GateCaller>,
    /// Consecutive failures per object, for the backoff.
    pub(crate) failures: Mutex<HashMap<String, u32>>,
    /// This operator's last write per object, so a stale cached copy is not acted on.
    pub(crate) own_writes: OwnWrites,
}

impl Context {
    pub fn new(client: Client, catalog: Catalog, recorder: Recorder, metrics: Metrics) -> Self {
        Context {
            client,
            catalog,
            recorder,
            metrics,
            prometheus: None,
            gates: Arc::new(HttpGates::default()),
            failures: Mutex::default(),
            own_writes: OwnWrites::default(),
        }
    }

    /// The Prometheus canary analyses query.
    pub fn with_prometheus(mut self, prometheus: Prometheus) -> Self {
        self.prometheus = Some(prometheus);
        self
    }

    /// Another caller of the canaries' gates (tests).
    pub fn with_gates(mut self, gates: Arc<dyn GateCaller>) -> Self {
        self.gates = gates;
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("HermesDeployment has no {}", .0.0)]
    MissingMetadata(#[from] MissingMetadata),
    #[error("applying {kind} {name}: {source}")]
    Apply {
        kind: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("patching the status of {name}: {source}")]
    Status {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("removing the rollout command annotation of {name}: {source}")]
    Annotation {
        name: String,
        #[source]
        source: kube::Error,
    },
}

impl ReconcileError {
    /// Label of `hermes_operator_reconcile_errors_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            ReconcileError::MissingMetadata(_) => "missing_metadata",
            ReconcileError::Apply { .. } => "apply",
            ReconcileError::Status { .. } => "status",
            ReconcileError::Annotation { .. } => "annotation",
        }
    }
}

/// Now, at whole seconds: the API server stores condition times with second precision, so
/// an unchanged status compares equal after a round trip.
pub fn now() -> Time {
    let t = Timestamp::now();
    Time(Timestamp::from_second(t.as_second()).unwrap_or(t))
}
