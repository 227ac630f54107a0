//! The canary's desired objects (pure), from the rollout state: the canary Deployment, a
//! copy of the desired Deployment under `<name>-canary` with its own selector, and for
//! HTTPRoute traffic the two Services the route's weighted backends point at.
//!
//! Replica-ratio traffic: the one Service selects `name` + `instance`, so it spreads
//! requests over stable and canary pods alike. The stable Deployment's selector also
//! matches canary pods, but it only counts pods of its own ReplicaSets (owner references);
//! the canary Deployment selects `track=canary` on top, so it never claims stable pods.

use super::{Desired, labels};
use crate::rollout::{RolloutPhase, RolloutState, canary_replicas};
use crate::validate::Validated;
use hermes_interface::probes::{HTTP_PORT, HTTP_PORT_NAME};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// Label telling canary pods apart.
pub const TRACK: &str = "hermes.logos.dev/track";
pub const TRACK_CANARY: &str = "canary";

pub fn name(base: &str) -> String {
    format!("{base}-canary")
}

pub fn stable_service_name(base: &str) -> String {
    format!("{base}-stable")
}

/// The canary Deployment: `desired`'s template (same revision) with `replicas` pods.
pub fn deployment(desired: &Deployment, base: &str, replicas: i32) -> Deployment {
    let mut d = desired.clone();
    d.metadata.name = Some(name(base));
    let add_track = |l: &mut Option<BTreeMap<String, String>>| {
        l.get_or_insert_with(BTreeMap::new)
            .insert(TRACK.into(), TRACK_CANARY.into());
    };
    add_track(&mut d.metadata.labels);
    d.spec.replicas = Some(replicas);
    add_track(&mut d.spec.selector.match_labels);
    if let Some(meta) = d.spec.template.metadata.as_mut() {
        add_track(&mut meta.labels);
    }
    d
}

/// A Service of the HTTPRoute's backends: `<name>-stable` selects the stable revision's
/// pods, `<name>-canary` the canary track. `template` is the main Service (metadata,
/// owner reference).
pub fn backend_service(
    template: &Service,
    service_name: String,
    selector: BTreeMap<String, String>,
) -> Service {
    let mut meta = template.metadata.clone();
    meta.name = Some(service_name);
    Service {
        metadata: meta,
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector),
            ports: Some(vec![ServicePort {
                name: Some(HTTP_PORT_NAME.into()),
                port: i32::from(HTTP_PORT),
                target_port: Some(IntOrString::String(HTTP_PORT_NAME.into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    }
}

/// Selector of the stable backend Service.
pub fn stable_selector(base: &str, revision: &str) -> BTreeMap<String, String> {
    labels::with_revision(labels::selector(base), revision)
}

/// Selector of the canary backend Service.
pub fn canary_selector(base: &str) -> BTreeMap<String, String> {
    let mut s = labels::selector(base);
    s.insert(TRACK.into(), TRACK_CANARY.into());
    s
}

/// What the canary Deployment should be.
// A few values per reconcile, built and consumed at once: boxing the large variant
// would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum CanaryTarget {
    /// Run `deployment`: `replicas` pods for `weight` percent (0 pods after a rollback or
    /// an abort, so that `retry` finds it).
    Run {
        deployment: Deployment,
        replicas: i32,
        weight: i32,
    },
    /// The state's canary is of another revision than the spec's: left as it runs.
    Keep,
    /// No canary in this state.
    Absent,
}

/// The HTTPRoute's backends: the two Services and the canary's weight.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteTarget {
    pub route: String,
    /// `<name>-stable`, then `<name>-canary`.
    pub services: [Service; 2],
    pub canary_weight: i32,
}

/// Everything a canary rollout wants in the cluster, in one rollout state.
#[derive(Debug, Clone, PartialEq)]
pub struct CanaryObjects {
    /// The stable Deployment from the spec, while the spec's revision is the stable one;
    /// `None`: the stable keeps running exactly as it is.
    pub stable: Option<Deployment>,
    pub canary: CanaryTarget,
    /// Only with `rollout.traffic.httpRoute`.
    pub route: Option<RouteTarget>,
}

/// The objects of `v` (built as `desired`) in `state`, the state after this reconcile's
/// events: the stable takes the spec's template only while the spec's revision is the
/// stable one (a promotion made it so); the canary runs at the state's weight while
/// progressing or paused, at 0 pods after a rollback or abort, and not at all otherwise.
pub fn objects(v: &Validated<'_>, desired: &Desired, state: &RolloutState) -> CanaryObjects {
    let base = &v.id.name;
    let revision = desired.revision.as_str();
    let stable =
        (state.stable_revision.as_deref() == Some(revision)).then(|| desired.deployment.clone());
    let http_route = v.canary.as_ref().and_then(|c| c.http_route.clone());
    let weight = match &state.phase {
        // Waiting for the pre-rollout gates: no traffic. Behind an HTTPRoute the canary
        // runs at its step's size with route weight 0 (reachable as `<name>-canary` for
        // the gates' tests); by replica ratio its pods would take traffic, so it has none.
        RolloutPhase::Progressing { .. } | RolloutPhase::Paused { .. }
            if state.awaiting_pre_rollout && http_route.is_none() =>
        {
            Some(0)
        }
        RolloutPhase::Progressing { weight, .. } | RolloutPhase::Paused { weight, .. } => {
            Some(*weight)
        }
        RolloutPhase::RolledBack { .. } | RolloutPhase::Aborted { .. } => Some(0),
        RolloutPhase::Stable | RolloutPhase::Promoting => None,
    };
    let canary = match weight {
        Some(weight) if state.canary_revision.as_deref() == Some(revision) => {
            // From the stable's count (the autoscaler's, with autoscaling): a canary is a
            // share of what runs, and the stable is never scaled up for it.
            let replicas = canary_replicas(v.replicas, weight);
            CanaryTarget::Run {
                deployment: deployment(&desired.deployment, base, replicas),
                replicas,
                weight: state.canary_weight(),
            }
        }
        Some(_) => CanaryTarget::Keep,
        None => CanaryTarget::Absent,
    };
    let route = http_route.map(|route| {
        let stable_revision = state.stable_revision.as_deref().unwrap_or(revision);
        RouteTarget {
            route,
            services: [
                backend_service(
                    &desired.service,
                    stable_service_name(base),
                    stable_selector(base, stable_revision),
                ),
                backend_service(&desired.service, name(base), canary_selector(base)),
            ],
            canary_weight: state.canary_weight(),
        }
    });
    CanaryObjects {
        stable,
        canary,
        route,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::DeploymentSpec;
    use k8s_openapi::api::core::v1::PodTemplateSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

    #[test]
    fn canary_deployment_has_its_own_name_selector_and_size() {
        let stable = Deployment {
            metadata: ObjectMeta {
                name: Some("chat".into()),
                labels: Some(labels::with_revision(labels::selector("chat"), "r2")),
                ..Default::default()
            },
            spec: DeploymentSpec {
                replicas: Some(10),
                selector: LabelSelector {
                    match_labels: Some(labels::selector("chat")),
                    match_expressions: None,
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels::with_revision(labels::selector("chat"), "r2")),
                        ..Default::default()
                    }),
                    spec: None,
                },
                ..Default::default()
            },
            status: None,
        };
        let c = deployment(&stable, "chat", 3);
        assert_eq!(c.metadata.name.as_deref(), Some("chat-canary"));
        let spec = c.spec;
        assert_eq!(spec.replicas, Some(3));
        let selector = spec.selector.match_labels.expect("selector");
        assert_eq!(selector.get(TRACK).map(String::as_str), Some("canary"));
        let pod = spec
            .template
            .metadata
            .and_then(|m| m.labels)
            .expect("labels");
        assert_eq!(pod.get(TRACK).map(String::as_str), Some("canary"));
        assert_eq!(pod.get(labels::REVISION).map(String::as_str), Some("r2"));
        assert!(
            selector.iter().all(|(k, v)| pod.get(k) == Some(v)),
            "the selector matches its own pods"
        );
    }
}
