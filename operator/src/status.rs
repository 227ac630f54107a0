//! The status the operator reports (pure): from what it applied, what the Deployment says
//! and where a canary rollout stands, with the previous status for condition transition
//! times. Equal in, equal out, so an unchanged world writes nothing (and cannot loop on
//! its own status patches). The reconcile writes what this computes, once.

use crate::crd::{
    AnalysisStatus, CommandStatus, GateStatus, HermesDeploymentStatus, MemoryStatus, Phase,
};
use crate::rollout::persist::to_status;
use crate::rollout::{RolloutPhase, RolloutState};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

pub const READY: &str = "Ready";
pub const PROGRESSING: &str = "Progressing";
pub const INVALID_SPEC: &str = "InvalidSpec";
pub const DEGRADED: &str = "Degraded";
pub const ROLLED_BACK: &str = "RolledBack";

/// Where a canary rollout stands after the reconcile.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout<'a> {
    pub state: &'a RolloutState,
    pub last_analysis: Option<AnalysisStatus>,
    pub last_command: Option<CommandStatus>,
    /// The last call of each gate for the canary revision.
    pub gates: Vec<GateStatus>,
    /// What the canary waits for (its gates), for the Progressing condition.
    pub waiting_for: Option<String>,
}

/// What the reconcile knows when it writes status.
// A few values per reconcile, built and consumed at once: boxing the large variant
// would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<'a> {
    /// The spec was refused; nothing was applied.
    Invalid { message: String },
    /// An object this resource would own exists and belongs to someone else; nothing of
    /// it was applied (the message names the object).
    NotOwned { message: String },
    /// The workload was applied.
    Applied {
        revision: &'a str,
        replicas: i32,
        memory: MemoryStatus,
        /// The stable Deployment as the apply returned it (or as it runs).
        deployment: &'a Deployment,
        /// With `rollout.canary`: the rollout; without, `status.rollout` is cleared.
        rollout: Option<Rollout<'a>>,
        /// The HorizontalPodAutoscaler applied (`spec.autoscaling`), if any.
        autoscaler: Option<&'a str>,
    },
}

struct Cond {
    type_: &'static str,
    status: bool,
    reason: &'static str,
    message: String,
}

/// The status for `generation` after `outcome`; `now` stamps conditions that change.
pub fn compute(
    previous: Option<&HermesDeploymentStatus>,
    generation: Option<i64>,
    outcome: &Outcome<'_>,
    now: &Time,
) -> HermesDeploymentStatus {
    let prev = previous.cloned().unwrap_or_default();
    let (mut phase, mut conds, mut status) = match outcome {
        Outcome::Invalid { message } => (
            Phase::Invalid,
            nothing_applied(
                "InvalidSpec",
                "the spec cannot be deployed; see InvalidSpec".into(),
                "nothing is applied until the spec is fixed",
                Blocker::InvalidSpec(message),
            ),
            prev.clone(),
        ),
        Outcome::NotOwned { message } => (
            Phase::Degraded,
            nothing_applied(
                "ObjectNotOwned",
                message.clone(),
                "nothing is applied until the object is deleted or renamed",
                Blocker::Degraded(message),
            ),
            prev.clone(),
        ),
        Outcome::Applied {
            revision,
            replicas,
            memory,
            deployment,
            ..
        } => applied(&prev, revision, *replicas, memory, deployment),
    };
    if let Outcome::Applied {
        rollout,
        autoscaler,
        ..
    } = outcome
    {
        status.autoscaler = autoscaler.map(str::to_string);
        match rollout {
            Some(r) => phase = rollout_overlay(&mut status, &mut conds, phase, r),
            None => status.rollout = None,
        }
    }
    status.observed_generation = generation;
    status.phase = Some(phase);
    status.conditions = conds
        .into_iter()
        .map(|c| condition(&prev.conditions, c, generation, now))
        .collect();
    status
}

/// Which condition explains a reconcile that applied nothing, with its message.
enum Blocker<'a> {
    InvalidSpec(&'a str),
    Degraded(&'a str),
}

/// The conditions of a reconcile that applied nothing (what runs keeps running): Ready and
/// Progressing false for `reason`, and the blocker's condition true with its message.
fn nothing_applied(
    reason: &'static str,
    ready: String,
    progressing: &str,
    blocker: Blocker<'_>,
) -> Vec<Cond> {
    let (invalid, degraded) = match blocker {
        Blocker::InvalidSpec(m) => (Some(m), None),
        Blocker::Degraded(m) => (None, Some(m)),
    };
    vec![
        Cond {
            type_: READY,
            status: false,
            reason,
            message: ready,
        },
        Cond {
            type_: PROGRESSING,
            status: false,
            reason,
            message: progressing.into(),
        },
        Cond {
            type_: INVALID_SPEC,
            status: invalid.is_some(),
            reason: if invalid.is_some() {
                reason
            } else {
                "SpecValid"
            },
            message: invalid.unwrap_or_default().into(),
        },
        Cond {
            type_: DEGRADED,
            status: degraded.is_some(),
            reason,
            message: degraded.unwrap_or_default().into(),
        },
    ]
}

fn applied(
    prev: &HermesDeploymentStatus,
    revision: &str,
    replicas: i32,
    memory: &MemoryStatus,
    deployment: &Deployment,
) -> (Phase, Vec<Cond>, HermesDeploymentStatus) {
    let ds = deployment.status.clone().unwrap_or_default();
    let ready = ds.ready_replicas.unwrap_or(0);
    let updated = ds.updated_replicas.unwrap_or(0);
    let total = ds.replicas.unwrap_or(0);
    // The Deployment controller has not yet seen our latest apply.
    let seen = ds.observed_generation >= deployment.metadata.generation
        && deployment.metadata.generation.is_some();
    let find = |t: &str| {
        ds.conditions
            .iter()
            .flatten()
            .find(|c| c.type_.as_deref() == Some(t))
            .cloned()
    };
    let stalled = find("Progressing")
        .filter(|c| c.status.as_deref() == Some("False"))
        .map(|c| {
            c.message
                .unwrap_or_else(|| "the Deployment stopped progressing".into())
        });
    let replica_failure = find("ReplicaFailure")
        .filter(|c| c.status.as_deref() == Some("True"))
        .map(|c| c.message.unwrap_or_else(|| "pods cannot be created".into()));
    let done = seen && updated == replicas && ready == replicas && total == replicas;
    let degraded = stalled.or(replica_failure);

    let phase = match (&degraded, done) {
        (Some(_), _) => Phase::Degraded,
        (None, true) => Phase::Ready,
        (None, false) if ready > 0 => Phase::Progressing,
        (None, false) => Phase::Pending,
    };
    let progress =
        format!("{updated}/{replicas} pods updated to revision {revision}, {ready} ready");
    let conds = vec![
        Cond {
            type_: READY,
            status: done,
            reason: if done {
                "AllReplicasReady"
            } else {
                "ReplicasNotReady"
            },
            message: progress.clone(),
        },
        Cond {
            type_: PROGRESSING,
            status: !done && degraded.is_none(),
            reason: if done {
                "RolloutComplete"
            } else if degraded.is_some() {
                "RolloutStalled"
            } else {
                "RollingOut"
            },
            message: progress,
        },
        Cond {
            type_: INVALID_SPEC,
            status: false,
            reason: "SpecValid",
            message: String::new(),
        },
        Cond {
            type_: DEGRADED,
            status: degraded.is_some(),
            reason: if degraded.is_some() {
                "DeploymentFailing"
            } else {
                "DeploymentHealthy"
            },
            message: degraded.unwrap_or_default(),
        },
    ];
    let status = HermesDeploymentStatus {
        replicas: Some(total),
        ready_replicas: Some(ready),
        updated_replicas: Some(updated),
        stable_revision: Some(revision.to_string()),
        // Reserved for the canary rollout feature.
        canary_revision: prev.canary_revision.clone(),
        canary_weight: prev.canary_weight,
        memory: Some(memory.clone()),
        ..prev.clone()
    };
    (phase, conds, status)
}

/// The rollout's fields and conditions on top of the workload's: a progressing or paused
/// canary makes the resource Progressing, a rolled back or aborted one RolledBack (a
/// Degraded stable stays Degraded); the `RolledBack` condition says whether and why.
fn rollout_overlay(
    status: &mut HermesDeploymentStatus,
    conds: &mut Vec<Cond>,
    phase: Phase,
    rollout: &Rollout<'_>,
) -> Phase {
    let state = rollout.state;
    status.stable_revision = state.stable_revision.clone();
    status.canary_revision = state
        .canary_revision
        .clone()
        .filter(|_| !matches!(state.phase, RolloutPhase::Stable));
    status.canary_weight = Some(state.canary_weight());
    let mut rollout_status = to_status(state, rollout.last_analysis.clone());
    rollout_status.last_command = rollout.last_command.clone();
    rollout_status.gates = rollout.gates.clone();
    status.rollout = Some(rollout_status);
    let (rolled_back, reason, message) = match &state.phase {
        RolloutPhase::RolledBack { reason } => (true, "AnalysisFailed", reason.clone()),
        RolloutPhase::Aborted { reason } => (true, "Aborted", reason.clone()),
        _ => (false, "NotRolledBack", String::new()),
    };
    let mut phase = phase;
    if phase != Phase::Degraded {
        match &state.phase {
            RolloutPhase::Progressing { step, .. } | RolloutPhase::Paused { step, .. } => {
                phase = Phase::Progressing;
                let paused = matches!(state.phase, RolloutPhase::Paused { .. });
                set(
                    conds,
                    Cond {
                        type_: PROGRESSING,
                        status: true,
                        reason: match (paused, &rollout.waiting_for) {
                            (true, _) => "CanaryPaused",
                            (false, Some(_)) => "CanaryGate",
                            (false, None) => "CanaryAnalysis",
                        },
                        message: format!(
                            "canary revision {} at {}% (step {}){}{}",
                            state.canary_revision.as_deref().unwrap_or("-"),
                            state.canary_weight(),
                            step + 1,
                            if paused { ", paused" } else { "" },
                            rollout
                                .waiting_for
                                .as_deref()
                                .map(|w| format!(", {w}"))
                                .unwrap_or_default()
                        ),
                    },
                );
            }
            RolloutPhase::RolledBack { .. } | RolloutPhase::Aborted { .. } => {
                phase = Phase::RolledBack;
            }
            _ => {}
        }
    }
    set(
        conds,
        Cond {
            type_: ROLLED_BACK,
            status: rolled_back,
            reason,
            message,
        },
    );
    phase
}

/// Replaces the condition of `c`'s type, or adds it.
fn set(conds: &mut Vec<Cond>, c: Cond) {
    match conds.iter_mut().find(|x| x.type_ == c.type_) {
        Some(x) => *x = c,
        None => conds.push(c),
    }
}

/// A condition, keeping the previous transition time when its status did not change.
fn condition(previous: &[Condition], c: Cond, generation: Option<i64>, now: &Time) -> Condition {
    let status = if c.status { "True" } else { "False" };
    let last_transition_time = previous
        .iter()
        .find(|p| p.type_ == c.type_ && p.status == status)
        .map(|p| p.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    Condition {
        type_: c.type_.into(),
        status: status.into(),
        reason: c.reason.into(),
        message: c.message,
        observed_generation: generation,
        last_transition_time,
    }
}

/// The condition of `type_` in `status`, if any.
pub fn find<'a>(status: &'a HermesDeploymentStatus, type_: &str) -> Option<&'a Condition> {
    status.conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus};
    use k8s_openapi::jiff::Timestamp;

    fn time(secs: i64) -> Time {
        Time(Timestamp::from_second(secs).expect("timestamp"))
    }

    fn deployment(generation: i64, seen: i64, ready: i32, updated: i32, total: i32) -> Deployment {
        let mut d = Deployment::default();
        d.metadata.generation = Some(generation);
        d.status = Some(DeploymentStatus {
            observed_generation: Some(seen),
            ready_replicas: Some(ready),
            updated_replicas: Some(updated),
            replicas: Some(total),
            ..Default::default()
        });
        d
    }

    fn applied<'a>(d: &'a Deployment) -> Outcome<'a> {
        Outcome::Applied {
            revision: "abc",
            replicas: 2,
            memory: MemoryStatus {
                limit: "256Mi".into(),
                ..Default::default()
            },
            deployment: d,
            rollout: None,
            autoscaler: None,
        }
    }

    fn cond(s: &HermesDeploymentStatus, t: &str) -> (String, String) {
        let c = find(s, t).expect(t);
        (c.status.clone(), c.reason.clone())
    }

    #[test]
    fn phases_follow_the_deployment() {
        // (generation, observed, ready, updated, total) -> phase
        let table = [
            ((1, 1, 0, 0, 0), Phase::Pending),
            ((1, 1, 1, 1, 2), Phase::Progressing),
            // the Deployment controller has not seen our latest apply yet
            ((2, 1, 2, 2, 2), Phase::Progressing),
            ((1, 1, 2, 2, 2), Phase::Ready),
            ((1, 1, 2, 1, 3), Phase::Progressing),
        ];
        for ((g, o, r, u, t), want) in table {
            let d = deployment(g, o, r, u, t);
            let s = compute(None, Some(7), &applied(&d), &time(0));
            assert_eq!(s.phase, Some(want), "{:?}", (g, o, r, u, t));
            assert_eq!(s.observed_generation, Some(7));
            assert_eq!(s.stable_revision.as_deref(), Some("abc"));
            assert_eq!(s.memory.as_ref().map(|m| m.limit.as_str()), Some("256Mi"));
        }
    }

    #[test]
    fn ready_conditions() {
        let d = deployment(1, 1, 2, 2, 2);
        let s = compute(None, Some(1), &applied(&d), &time(0));
        assert_eq!(cond(&s, READY), ("True".into(), "AllReplicasReady".into()));
        assert_eq!(
            cond(&s, PROGRESSING),
            ("False".into(), "RolloutComplete".into())
        );
        assert_eq!(cond(&s, INVALID_SPEC), ("False".into(), "SpecValid".into()));
        assert_eq!(
            cond(&s, DEGRADED),
            ("False".into(), "DeploymentHealthy".into())
        );
        assert!(
            s.conditions
                .iter()
                .all(|c| c.observed_generation == Some(1))
        );
    }

    #[test]
    fn stalled_deployment_is_degraded_with_its_message() {
        let mut d = deployment(1, 1, 0, 1, 1);
        if let Some(ds) = d.status.as_mut() {
            ds.conditions = Some(vec![DeploymentCondition {
                type_: Some("Progressing".into()),
                status: Some("False".into()),
                reason: Some("ProgressDeadlineExceeded".into()),
                message: Some("ReplicaSet \"hermes-1\" has timed out progressing.".into()),
                ..Default::default()
            }]);
        }
        let s = compute(None, Some(1), &applied(&d), &time(0));
        assert_eq!(s.phase, Some(Phase::Degraded));
        assert_eq!(
            cond(&s, DEGRADED),
            ("True".into(), "DeploymentFailing".into())
        );
        assert_eq!(
            find(&s, DEGRADED).map(|c| c.message.as_str()),
            Some("ReplicaSet \"hermes-1\" has timed out progressing.")
        );
        assert_eq!(
            cond(&s, PROGRESSING),
            ("False".into(), "RolloutStalled".into())
        );
    }

    #[test]
    fn invalid_spec_keeps_what_was_running() {
        let d = deployment(1, 1, 2, 2, 2);
        let before = compute(None, Some(1), &applied(&d), &time(0));
        let s = compute(
            Some(&before),
            Some(2),
            &Outcome::Invalid {
                message: "models[0]: unknown model".into(),
            },
            &time(100),
        );
        assert_eq!(s.phase, Some(Phase::Invalid));
        assert_eq!(s.observed_generation, Some(2));
        assert_eq!(
            cond(&s, INVALID_SPEC),
            ("True".into(), "InvalidSpec".into())
        );
        assert_eq!(
            find(&s, INVALID_SPEC).map(|c| c.message.as_str()),
            Some("models[0]: unknown model")
        );
        assert_eq!(
            s.stable_revision.as_deref(),
            Some("abc"),
            "the running revision stays"
        );
        assert_eq!(s.ready_replicas, Some(2));
    }

    #[test]
    fn transition_time_moves_only_on_change_and_equal_input_gives_equal_status() {
        let d = deployment(1, 1, 2, 2, 2);
        let first = compute(None, Some(1), &applied(&d), &time(10));
        let again = compute(Some(&first), Some(1), &applied(&d), &time(20));
        assert_eq!(first, again, "nothing changed, nothing to patch");

        let d2 = deployment(2, 2, 1, 1, 2);
        let later = compute(Some(&first), Some(2), &applied(&d2), &time(30));
        let ready = find(&later, READY).expect("ready");
        assert_eq!(
            (ready.status.as_str(), &ready.last_transition_time),
            ("False", &time(30))
        );
        let invalid = find(&later, INVALID_SPEC).expect("invalid");
        assert_eq!(
            invalid.last_transition_time,
            time(10),
            "still False since t=10"
        );
    }
}
