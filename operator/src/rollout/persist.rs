//! The rollout state as it lives in `status.rollout`, and back: everything the state
//! machine needs survives an operator restart (times at whole seconds, as stored).

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::machine::{RolloutPhase, RolloutState};
use crate::crd::{AnalysisStatus, RolloutStatus, RolloutStatusPhase};

pub fn to_time(t: DateTime<Utc>) -> Option<Time> {
    Timestamp::from_second(t.timestamp()).ok().map(Time)
}

pub fn from_time(t: &Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.0.as_second(), 0)
}

/// The status of `state`, carrying `last_analysis` along.
pub fn to_status(state: &RolloutState, last_analysis: Option<AnalysisStatus>) -> RolloutStatus {
    let (phase, step, reason) = match &state.phase {
        RolloutPhase::Stable => (RolloutStatusPhase::Stable, None, None),
        RolloutPhase::Progressing { step, .. } => {
            (RolloutStatusPhase::Progressing, Some(*step), None)
        }
        RolloutPhase::Paused { step, .. } => (RolloutStatusPhase::Paused, Some(*step), None),
        RolloutPhase::Promoting => (RolloutStatusPhase::Promoting, None, None),
        RolloutPhase::RolledBack { reason } => {
            (RolloutStatusPhase::RolledBack, None, Some(reason.clone()))
        }
        RolloutPhase::Aborted { reason } => {
            (RolloutStatusPhase::Aborted, None, Some(reason.clone()))
        }
    };
    RolloutStatus {
        phase,
        step: step.and_then(|s| u32::try_from(s).ok()),
        // The step's weight (what the canary takes once its pre-rollout gates pass).
        weight: match state.phase {
            RolloutPhase::Progressing { weight, .. } | RolloutPhase::Paused { weight, .. } => {
                weight
            }
            _ => state.canary_weight(),
        },
        stable_revision: state.stable_revision.clone(),
        canary_revision: state.canary_revision.clone(),
        consecutive_failures: state.consecutive_failures,
        last_failure: state.last_failure.clone(),
        reason,
        started_at: state.started_at.and_then(to_time),
        last_transition: state.last_transition.and_then(to_time),
        last_analysis,
        last_command: None,
        awaiting_pre_rollout: state.awaiting_pre_rollout
            && matches!(
                state.phase,
                RolloutPhase::Progressing { .. } | RolloutPhase::Paused { .. }
            ),
        gates: Vec::new(),
    }
}

/// The state machine's state from a stored status.
pub fn from_status(status: &RolloutStatus) -> RolloutState {
    let step = status.step.map(|s| s as usize).unwrap_or(0);
    let weight = status.weight;
    let reason = || status.reason.clone().unwrap_or_default();
    let phase = match status.phase {
        RolloutStatusPhase::Stable => RolloutPhase::Stable,
        RolloutStatusPhase::Progressing => RolloutPhase::Progressing { step, weight },
        RolloutStatusPhase::Paused => RolloutPhase::Paused { step, weight },
        RolloutStatusPhase::Promoting => RolloutPhase::Promoting,
        RolloutStatusPhase::RolledBack => RolloutPhase::RolledBack { reason: reason() },
        RolloutStatusPhase::Aborted => RolloutPhase::Aborted { reason: reason() },
    };
    RolloutState {
        phase,
        stable_revision: status.stable_revision.clone(),
        canary_revision: status.canary_revision.clone(),
        consecutive_failures: status.consecutive_failures,
        last_failure: status.last_failure.clone(),
        started_at: status.started_at.as_ref().and_then(from_time),
        last_transition: status.last_transition.as_ref().and_then(from_time),
        awaiting_pre_rollout: status.awaiting_pre_rollout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn every_phase_round_trips_through_the_status_json() {
        let t = |s: i64| Utc.timestamp_opt(1_800_000_000 + s, 0).single();
        let phases = [
            RolloutPhase::Stable,
            RolloutPhase::Progressing {
                step: 2,
                weight: 50,
            },
            RolloutPhase::Paused {
                step: 1,
                weight: 25,
            },
            RolloutPhase::Promoting,
            RolloutPhase::RolledBack {
                reason: "check error-rate / failed: value 0.2 against threshold 0.05".into(),
            },
            RolloutPhase::Aborted {
                reason: "aborted by user".into(),
            },
        ];
        for phase in phases {
            let phase_of_test = phase.clone();
            let state = RolloutState {
                phase,
                stable_revision: Some("aaa".into()),
                canary_revision: Some("bbb".into()),
                consecutive_failures: 1,
                last_failure: Some("check x failed: no data".into()),
                started_at: t(0),
                last_transition: t(30),
                awaiting_pre_rollout: matches!(
                    phase_of_test,
                    RolloutPhase::Progressing { .. } | RolloutPhase::Paused { .. }
                ),
            };
            let json = serde_json::to_value(to_status(&state, None)).expect("json");
            let back: RolloutStatus = serde_json::from_value(json).expect("status");
            assert_eq!(from_status(&back), state);
        }
    }
}
