//! hermes-operator: deploys the Hermes runtime from `HermesDeployment` resources.
//!
//! A pipeline, one concern per module (map: docs/operator-architecture.md):
//! `validate` (pure, returns a `Validated` resource; `autoscaling` its replica count when
//! an autoscaler owns it) -> `sizing` (pure, catalog) -> `build`
//! (pure desired objects, `revision` hash; `build::canary` the canary's objects from the
//! rollout state) -> with a canary, `canary` (the `rollout` state machine fed, its actions
//! turned into steps) -> `execute` (the one executor; `apply` and `traffic` are its write
//! primitives) -> `status` (pure, one status write) + `events`. `reconcile` strings the
//! stages together (`own_writes` keeps it from acting on a cached copy older than its own
//! last write); `context` (Context, the error, timings) is at the bottom; `gates` calls a
//! canary's HTTP gates (webhooks) behind a trait; `controller`
//! runs it for every resource; `leader` makes sure only one operator replica acts;
//! `metrics` and `server` expose /metrics, /healthz, /readyz; `slo_metrics` exports the
//! declared SLOs there for the chart's alert rules. `cli` holds the subcommands: `render`
//! (the pure stages offline), `analyze` (one canary analysis), `run` (leader election, the
//! server and the controller). The pure stages take a `catalog::Catalog`.
//!
//! RBAC: exactly what the code below uses (the Helm chart grants these and
//! `scripts/chart-check.sh` compares them; group `core` = the core API group):
//! rbac: hermes.logos.dev hermesdeployments get,list,watch,patch
//! rbac: hermes.logos.dev hermesdeployments/status get,patch
//! rbac: hermes.logos.dev hermesdeployments/finalizers update
//! rbac: apps deployments get,list,watch,create,patch,delete
//! rbac: core services get,list,watch,create,patch,delete
//! rbac: policy poddisruptionbudgets get,list,watch,create,patch,delete
//! rbac: events.k8s.io events create,patch
//! rbac: coordination.k8s.io leases get,create,update,patch
//! rbac: gateway.networking.k8s.io httproutes get,patch
//! rbac: autoscaling horizontalpodautoscalers get,create,patch,delete
//!
//! Why each: the controller watches HermesDeployments and the three owned kinds
//! (list/watch), reads an owned object before applying it to tell whether the apply
//! changed it (get), applies them server-side (patch; an apply that creates is authorized
//! as create), deletes the PodDisruptionBudget when replicas drop to 1 (delete), patches
//! status; `finalizers` update lets owner references set blockOwnerDeletion where the
//! OwnerReferencesPermissionEnforcement admission plugin is on; the events Recorder creates
//! an Event and patches it when it repeats; leader election reads, creates and renews
//! (update with resourceVersion) a Lease in the operator's namespace. Canary rollouts add
//! the `<name>-canary` Deployment (same verbs), remove the manual-command annotation
//! (patch on hermesdeployments), and with `rollout.traffic.httpRoute` apply two Services
//! and read and patch the named HTTPRoute's backend weights. `spec.autoscaling` applies a
//! HorizontalPodAutoscaler (read before the apply, deleted when autoscaling is turned off).

pub mod analysis;
pub mod apply;
pub mod autoscaling;
pub mod build;
pub mod canary;
pub mod catalog;
pub mod cli;
pub mod context;
pub mod controller;
pub mod crd;
pub mod env_var;
pub mod events;
pub mod execute;
pub mod gates;
pub mod leader;
pub mod metrics;
pub mod own_writes;
pub mod quantity;
pub mod reconcile;
pub mod revision;
pub mod rollout;
pub mod runtime_protection;
pub mod runtime_tracing;
pub mod server;
pub mod sizing;
pub mod slo_metrics;
pub mod status;
pub mod traffic;
pub mod validate;
