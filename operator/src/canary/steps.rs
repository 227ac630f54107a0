//! The executor's decisions for a canary rollout (pure): which writes carry out the state
//! machine's actions, given the objects the new state wants (`build::canary::objects`).
//!
//! Level and edge: `DeployStable`, `DeployCanary`, `SetWeight` and `RollBack` are what the
//! state's objects already say, so those objects are applied on every reconcile (which
//! also repairs drift); `Promote` and `RemoveCanary` are edges: the canary Deployment is
//! deleted only in the reconcile where one of them happened; `Event` is published.

use crate::build::canary::{self as build_canary, CanaryObjects, CanaryTarget};
use crate::events::Notice;
use crate::execute::Step;
use crate::rollout::Action;
use kube::ResourceExt;

/// The steps for the objects of the new state and the machine's `actions`, for the
/// resource `base` whose spec is at `revision`. `event_revision` names the rollout in
/// the machine's Events.
pub fn steps(
    base: &str,
    revision: &str,
    objects: CanaryObjects,
    actions: &[Action],
    event_revision: &str,
) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(stable) = objects.stable {
        steps.push(Step::ApplyDeployment {
            deployment: stable,
            action: format!("Apply revision {revision}"),
            detail: format!(": revision {revision}"),
        });
    }
    let canary_goes = actions
        .iter()
        .any(|a| matches!(a, Action::Promote { .. } | Action::RemoveCanary));
    match objects.canary {
        CanaryTarget::Run {
            deployment,
            replicas,
            weight,
        } => steps.push(Step::ApplyDeployment {
            deployment,
            action: format!("Canary {revision}"),
            detail: format!(": revision {revision}, {replicas} replicas at weight {weight}%"),
        }),
        CanaryTarget::Absent if canary_goes => steps.push(Step::DeleteDeployment {
            name: build_canary::name(base),
            action: "Remove canary".into(),
        }),
        CanaryTarget::Absent | CanaryTarget::Keep => {}
    }
    if let Some(route) = objects.route {
        for service in route.services {
            // The action names the Service: the Recorder folds Events with the same
            // reason and action into one series, which would hide the second Service's.
            let action = format!("Apply {}", service.name_any());
            steps.push(Step::ApplyService { service, action });
        }
        steps.push(Step::RouteWeights {
            route: route.route,
            base: base.to_string(),
            weight: route.canary_weight,
        });
    }
    for action in actions {
        if let Action::Event {
            reason,
            message,
            warning,
        } = action
        {
            steps.push(Step::Publish(Notice {
                warning: *warning,
                reason: reason.clone(),
                action: format!("Rollout {event_revision}"),
                note: message.chars().take(1000).collect(),
            }));
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::{self, Desired};
    use crate::catalog::Catalog;
    use crate::crd::HermesDeployment;
    use crate::rollout::{CanaryPolicy, RolloutEvent, RolloutPhase, RolloutState, next};
    use crate::sizing;
    use crate::validate::{self, Validated};
    use chrono::{TimeZone, Utc};

    fn resource(image: &str, route: bool) -> HermesDeployment {
        let mut rollout = serde_json::json!({"canary": {"steps": [50, 100]}});
        if route {
            rollout["traffic"] = serde_json::json!({"httpRoute": {"name": "web"}});
        }
        serde_json::from_value(serde_json::json!({
            "apiVersion": "hermes.logos.dev/v1alpha1",
            "kind": "HermesDeployment",
            "metadata": {"name": "chat", "namespace": "ns", "uid": "u-1"},
            "spec": {
                "image": image,
                "replicas": 4,
                "models": [{"name": "all-minilm-l6-v2", "task": "embedding"}],
                "rollout": rollout,
            },
        }))
        .expect("resource")
    }

    fn validated(hd: &HermesDeployment) -> (Validated<'_>, Desired) {
        let catalog = Catalog::builtin();
        let id = validate::identity(hd).expect("identity");
        let v = validate::validate(id, &hd.spec, &catalog).expect("valid");
        let plan = sizing::plan(&v, &catalog).expect("plan");
        let desired = build::desired(&v, &plan, &catalog);
        (v, desired)
    }

    /// The state and actions after feeding `events` to `state`.
    fn feed(state: RolloutState, events: Vec<RolloutEvent>) -> (RolloutState, Vec<Action>) {
        let policy = CanaryPolicy {
            steps: vec![50, 100],
            ..CanaryPolicy::default()
        };
        let now = Utc.timestamp_opt(1_800_000_000, 0).single().expect("now");
        let mut actions = Vec::new();
        let mut state = state;
        for e in events {
            let (s, a) = next(&state, e, &policy, now);
            state = s;
            actions.extend(a);
        }
        (state, actions)
    }

    fn plan(hd: &HermesDeployment, state: &RolloutState, actions: &[Action]) -> Vec<Step> {
        let (v, desired) = validated(hd);
        let objects = build_canary::objects(&v, &desired, state);
        steps("chat", &desired.revision, objects, actions, "rev")
    }

    /// A short description of each step.
    fn describe(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s {
                Step::ApplyDeployment { deployment, .. } => format!(
                    "apply {} x{}",
                    deployment.name_any(),
                    deployment.spec.replicas.unwrap_or(-1)
                ),
                Step::ApplyService { service, .. } => format!("apply {}", service.name_any()),
                Step::ApplyPdb(_) => "apply pdb".into(),
                Step::DeleteDeployment { name, .. } => format!("delete {name}"),
                Step::DeletePdb { name } => format!("delete pdb {name}"),
                Step::ApplyHpa(_) => "apply hpa".into(),
                Step::DeleteHpa { name } => format!("delete hpa {name}"),
                Step::RouteWeights { route, weight, .. } => format!("route {route} {weight}%"),
                Step::Publish(n) => format!("event {}", n.reason),
            })
            .collect()
    }

    fn stable_at(revision: &str) -> RolloutState {
        RolloutState {
            stable_revision: Some(revision.into()),
            ..RolloutState::default()
        }
    }

    /// A canary of `canary` at `step` with `weight` % of the traffic beside `stable`.
    fn progressing(step: usize, weight: i32, stable: &str, canary: &str) -> RolloutState {
        RolloutState {
            phase: RolloutPhase::Progressing { step, weight },
            stable_revision: Some(stable.into()),
            canary_revision: Some(canary.into()),
            ..RolloutState::default()
        }
    }

    #[test]
    fn a_new_revision_starts_the_canary_and_leaves_the_stable_as_it_runs() {
        let old = resource("i:1", false);
        let new = resource("i:2", false);
        let old_rev = validated(&old).1.revision;
        let new_rev = validated(&new).1.revision;
        let (state, actions) = feed(
            stable_at(&old_rev),
            vec![RolloutEvent::NewRevision(new_rev)],
        );
        assert_eq!(
            describe(&plan(&new, &state, &actions)),
            ["apply chat-canary x2", "event RolloutStarted"],
            "50 % of 4 replicas; no write to the stable"
        );
    }

    /// `resource` with an autoscaler (2..=10) whose stable currently runs `observed` pods.
    fn autoscaled_plan(image: &str, observed: i32, state: &RolloutState) -> Vec<Step> {
        let mut hd = resource(image, false);
        hd.spec.autoscaling = serde_json::from_value(serde_json::json!({
            "minReplicas": 2, "maxReplicas": 10, "targetInFlightPerPod": 4,
        }))
        .expect("autoscaling");
        let catalog = Catalog::builtin();
        let id = validate::identity(&hd).expect("identity");
        let stable = k8s_openapi::api::apps::v1::Deployment {
            spec: k8s_openapi::api::apps::v1::DeploymentSpec {
                replicas: Some(observed),
                ..Default::default()
            },
            ..Default::default()
        };
        let v = validate::validate(id, &hd.spec, &catalog)
            .expect("valid")
            .with_observed_replicas(Some(&stable));
        let plan = sizing::plan(&v, &catalog).expect("plan");
        let desired = build::desired(&v, &plan, &catalog);
        let objects = build_canary::objects(&v, &desired, state);
        steps("chat", &desired.revision, objects, &[], "rev")
    }

    #[test]
    fn with_an_autoscaler_the_canary_is_a_share_of_the_stables_current_count() {
        let new_rev = validated(&resource("i:2", false)).1.revision;
        // The autoscaler runs the stable at 6 (spec.replicas says 4): at 50 % the canary
        // gets 3 pods and the stable is not written, so it is never inflated for it.
        assert_eq!(
            describe(&autoscaled_plan(
                "i:2",
                6,
                &progressing(0, 50, "old", &new_rev)
            )),
            ["apply chat-canary x3"]
        );
        // Promoted: the stable takes the template at the autoscaler's count, not at 4.
        assert_eq!(
            describe(&autoscaled_plan("i:2", 6, &stable_at(&new_rev))),
            ["apply chat x6"]
        );
        // Scaled down by the autoscaler meanwhile: the canary follows.
        assert_eq!(
            describe(&autoscaled_plan(
                "i:2",
                2,
                &progressing(0, 50, "old", &new_rev)
            )),
            ["apply chat-canary x1"]
        );
    }

    #[test]
    fn a_steady_stable_is_applied_and_no_canary_is_touched() {
        let hd = resource("i:1", false);
        let rev = validated(&hd).1.revision;
        let (state, actions) = feed(stable_at(&rev), vec![RolloutEvent::NewRevision(rev)]);
        assert!(actions.is_empty());
        assert_eq!(describe(&plan(&hd, &state, &actions)), ["apply chat x4"]);
    }

    #[test]
    fn a_promotion_gives_the_stable_the_template_then_removes_the_canary() {
        let new = resource("i:2", false);
        let new_rev = validated(&new).1.revision;
        let progressing = progressing(1, 100, "old", &new_rev);
        let (state, actions) = feed(
            progressing,
            vec![RolloutEvent::CheckPassed, RolloutEvent::PromotionComplete],
        );
        assert_eq!(state.phase, RolloutPhase::Stable);
        assert_eq!(
            describe(&plan(&new, &state, &actions)),
            [
                "apply chat x4",
                "delete chat-canary",
                "event RolloutPromoted"
            ]
        );
    }

    #[test]
    fn a_rollback_scales_the_canary_to_zero_and_never_writes_the_stable() {
        let new = resource("i:2", false);
        let new_rev = validated(&new).1.revision;
        let progressing = RolloutState {
            consecutive_failures: 1,
            ..progressing(0, 50, "old", &new_rev)
        };
        let failed = RolloutEvent::CheckFailed {
            metric: "error-rate".into(),
            value: 0.2,
            threshold: 0.05,
        };
        let (state, actions) = feed(progressing, vec![failed]);
        let steps = plan(&new, &state, &actions);
        assert_eq!(
            describe(&steps),
            ["apply chat-canary x0", "event RolledBack"]
        );
        let Some(Step::Publish(n)) = steps.last() else {
            panic!("{steps:?}")
        };
        assert!(n.warning);
        assert_eq!(n.action, "Rollout rev");
    }

    #[test]
    fn a_spec_reverted_to_the_stable_removes_the_canary_once() {
        let old = resource("i:1", false);
        let old_rev = validated(&old).1.revision;
        let progressing = progressing(0, 50, &old_rev, "new");
        let (state, actions) = feed(
            progressing,
            vec![RolloutEvent::NewRevision(old_rev.clone())],
        );
        assert_eq!(
            describe(&plan(&old, &state, &actions)),
            [
                "apply chat x4",
                "delete chat-canary",
                "event RolloutReverted"
            ]
        );
        // The next reconcile: nothing left to remove.
        let (state, actions) = feed(state, vec![RolloutEvent::NewRevision(old_rev)]);
        assert_eq!(describe(&plan(&old, &state, &actions)), ["apply chat x4"]);
    }

    #[test]
    fn a_canary_of_another_revision_is_left_as_it_runs() {
        let hd = resource("i:3", false);
        let rolled_back = RolloutState {
            phase: RolloutPhase::RolledBack {
                reason: "check failed".into(),
            },
            stable_revision: Some("old".into()),
            canary_revision: Some("other".into()),
            ..RolloutState::default()
        };
        assert!(plan(&hd, &rolled_back, &[]).is_empty());
    }

    #[test]
    fn route_traffic_applies_both_backends_then_the_weights() {
        let new = resource("i:2", true);
        let new_rev = validated(&new).1.revision;
        let progressing = progressing(0, 50, "old", &new_rev);
        let (state, actions) = feed(progressing, vec![RolloutEvent::CheckPassed]);
        let steps = plan(&new, &state, &actions);
        assert_eq!(
            describe(&steps),
            [
                "apply chat-canary x4",
                "apply chat-stable",
                "apply chat-canary",
                "route web 100%",
                "event RolloutStepPassed"
            ]
        );
        let Step::ApplyService { service, .. } = &steps[1] else {
            panic!("{steps:?}")
        };
        let selector = service
            .spec
            .as_ref()
            .and_then(|s| s.selector.as_ref())
            .expect("selector");
        assert_eq!(
            selector
                .get(crate::build::labels::REVISION)
                .map(String::as_str),
            Some("old"),
            "the stable backend selects the stable revision's pods"
        );
    }

    #[test]
    fn a_canary_waiting_for_its_pre_rollout_gates_takes_no_traffic() {
        // By replica ratio its pods would take traffic from the one Service: none yet.
        let new = resource("i:2", false);
        let new_rev = validated(&new).1.revision;
        let waiting = RolloutState {
            awaiting_pre_rollout: true,
            ..progressing(0, 50, "old", &new_rev)
        };
        assert_eq!(
            describe(&plan(&new, &waiting, &[])),
            ["apply chat-canary x0"]
        );
        // Behind an HTTPRoute it runs its step's pods (reachable as chat-canary for the
        // gates' tests) at route weight 0.
        let routed = resource("i:2", true);
        assert_eq!(
            describe(&plan(&routed, &waiting, &[])),
            [
                "apply chat-canary x2",
                "apply chat-stable",
                "apply chat-canary",
                "route web 0%"
            ]
        );
        // Once they pass, the step's weight.
        let policy = CanaryPolicy {
            steps: vec![50, 100],
            pre_rollout_gates: true,
            ..CanaryPolicy::default()
        };
        let now = Utc.timestamp_opt(1_800_000_000, 0).single().expect("now");
        let (passed, actions) = next(&waiting, RolloutEvent::PreRolloutPassed, &policy, now);
        assert_eq!(
            describe(&plan(&new, &passed, &actions)),
            ["apply chat-canary x2", "event PreRolloutPassed"]
        );
    }
}
