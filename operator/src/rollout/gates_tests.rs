//! The gates' decisions and their transitions in the state machine, for every answer:
//! 2xx, another status, a timeout, no answer at all.

use super::gates::*;
use super::machine::{Action, RolloutEvent as E, RolloutPhase as P, RolloutState, next};
use super::persist::to_time;
use super::policy::CanaryPolicy;
use crate::crd::{GateStatus, Webhook, WebhookType as T};
use chrono::{DateTime, TimeZone, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + s, 0)
        .single()
        .expect("time")
}

fn hook(name: &str, type_: T) -> Webhook {
    Webhook {
        name: name.into(),
        type_,
        url: format!("http://gates.test/{name}"),
        timeout: None,
        metadata: BTreeMap::from([("ticket".to_string(), "CHG-1".to_string())]),
    }
}

fn ok() -> GateAnswer {
    GateAnswer::Answered {
        status: 200,
        body: String::new(),
    }
}

fn refused() -> GateAnswer {
    GateAnswer::Answered {
        status: 403,
        body: "  not approved yet \n".into(),
    }
}

fn timed_out() -> GateAnswer {
    GateAnswer::TimedOut {
        after: Duration::from_secs(2),
    }
}

fn unreachable() -> GateAnswer {
    GateAnswer::Unreachable("connection refused".into())
}

fn call(name: &str, type_: T, answer: GateAnswer) -> GateCall {
    GateCall {
        name: name.into(),
        type_,
        answer,
    }
}

fn gated_policy() -> CanaryPolicy {
    CanaryPolicy {
        steps: vec![50, 100],
        pre_rollout_gates: true,
        ..CanaryPolicy::default()
    }
}

fn progressing(step: usize, weight: i32, awaiting: bool, failures: u32) -> RolloutState {
    RolloutState {
        phase: P::Progressing { step, weight },
        stable_revision: Some("old".into()),
        canary_revision: Some("new".into()),
        consecutive_failures: failures,
        last_failure: None,
        started_at: Some(t(0)),
        last_transition: Some(t(0)),
        awaiting_pre_rollout: awaiting,
    }
}

fn rec(name: &str, type_: T, revision: &str, result: &str, at: i64) -> GateStatus {
    GateStatus {
        name: name.into(),
        type_,
        revision: revision.into(),
        result: result.into(),
        message: Some("HTTP 403: not approved yet".into()),
        time: to_time(t(at)).expect("time"),
    }
}

#[test]
fn only_a_2xx_answer_passes_and_each_outcome_says_what_happened() {
    let cases = [
        (ok(), true, "Passed", "HTTP 200"),
        (
            GateAnswer::Answered {
                status: 204,
                body: String::new(),
            },
            true,
            "Passed",
            "HTTP 204",
        ),
        (refused(), false, "Refused", "HTTP 403: not approved yet"),
        (
            GateAnswer::Answered {
                status: 302,
                body: String::new(),
            },
            false,
            "Refused",
            "HTTP 302",
        ),
        (timed_out(), false, "TimedOut", "no answer within 2s"),
        (
            unreachable(),
            false,
            "Unreachable",
            "unreachable: connection refused",
        ),
    ];
    for (answer, passed, result, text) in cases {
        assert_eq!(answer.passed(), passed, "{answer:?}");
        assert_eq!(answer.result(), result, "{answer:?}");
        assert_eq!(answer.describe(), text, "{answer:?}");
    }
    let long = GateAnswer::Answered {
        status: 500,
        body: "x".repeat(1000),
    };
    assert_eq!(long.describe().len(), "HTTP 500: ".len() + BODY_CHARS);
}

#[test]
fn the_body_carries_the_rollout_state_and_the_gate_metadata() {
    let h = hook("smoke", T::PreRollout);
    let state = progressing(0, 50, true, 0);
    let body = serde_json::to_value(payload("prod", "chat", &h, &state)).expect("json");
    assert_eq!(
        body,
        serde_json::json!({
            "name": "chat", "namespace": "prod", "type": "pre-rollout", "gate": "smoke",
            "phase": "Progressing", "step": 0, "weight": 0,
            "stableRevision": "old", "canaryRevision": "new",
            "metadata": {"ticket": "CHG-1"},
        })
    );
}

#[test]
fn timeouts_default_to_ten_seconds_and_never_exceed_the_bound() {
    let mut h = hook("g", T::Rollback);
    assert_eq!(timeout(&h), DEFAULT_TIMEOUT);
    h.timeout = Some("1500ms".into());
    assert_eq!(timeout(&h), Duration::from_millis(1500));
    h.timeout = Some("1h".into());
    assert_eq!(timeout(&h), MAX_TIMEOUT);
}

#[test]
fn a_round_stops_at_the_first_answer_that_decides() {
    for answer in [refused(), timed_out(), unreachable()] {
        assert!(decisive(T::PreRollout, &answer));
        assert!(decisive(T::ConfirmPromotion, &answer));
        assert!(!decisive(T::Rollback, &answer));
    }
    assert!(!decisive(T::PreRollout, &ok()));
    assert!(!decisive(T::ConfirmPromotion, &ok()));
    assert!(decisive(T::Rollback, &ok()));
}

#[test]
fn gates_are_asked_at_once_for_a_new_revision_then_once_per_interval() {
    let minute = Duration::from_secs(60);
    assert_eq!(due(&[], T::PreRollout, "new", minute, t(0)), None);
    let records = [
        rec("smoke", T::PreRollout, "new", "Refused", 100),
        rec("stop", T::Rollback, "new", "Refused", 150),
        rec("smoke", T::PreRollout, "older", "Refused", 155),
    ];
    assert_eq!(
        due(&records, T::PreRollout, "new", minute, t(130)),
        Some(Duration::from_secs(30))
    );
    assert_eq!(due(&records, T::PreRollout, "new", minute, t(160)), None);
    assert_eq!(
        due(&records, T::Rollback, "new", minute, t(160)),
        Some(Duration::from_secs(50))
    );
    // Another revision's calls do not count.
    assert_eq!(due(&records, T::PreRollout, "newest", minute, t(160)), None);
}

#[test]
fn pre_rollout_every_outcome() {
    let policy = gated_policy();
    let waiting = progressing(0, 50, true, 0);
    assert_eq!(waiting.canary_weight(), 0, "no traffic while waiting");

    // Every gate says yes: the canary takes its step's traffic.
    let passed = [
        call("a", T::PreRollout, ok()),
        call("b", T::PreRollout, ok()),
    ];
    let event = pre_rollout_event(&passed);
    assert_eq!(event, E::PreRolloutPassed);
    let (s, actions) = next(&waiting, event, &policy, t(10));
    assert!(!s.awaiting_pre_rollout);
    assert_eq!(s.canary_weight(), 50);
    assert_eq!(s.last_transition, Some(t(10)), "analysed an interval on");
    assert_eq!(actions[0], Action::SetWeight { weight: 50 });

    // A refusal, a timeout, no answer: a failed check; the canary keeps waiting ...
    for (answer, why) in [
        (refused(), "HTTP 403: not approved yet"),
        (timed_out(), "no answer within 2s"),
        (unreachable(), "unreachable: connection refused"),
    ] {
        let calls = [
            call("a", T::PreRollout, ok()),
            call("b", T::PreRollout, answer),
        ];
        let event = pre_rollout_event(&calls);
        let (s, actions) = next(&waiting, event.clone(), &policy, t(10));
        assert!(s.awaiting_pre_rollout, "{why}");
        assert_eq!(s.canary_weight(), 0);
        assert_eq!(s.consecutive_failures, 1);
        assert_eq!(
            s.last_failure.as_deref(),
            Some(format!("pre-rollout gate b failed: {why}").as_str())
        );
        assert!(actions.is_empty());
        // ... and failureLimit of them in a row roll it back.
        let (s, actions) = next(&s, event, &policy, t(70));
        let P::RolledBack { reason } = &s.phase else {
            panic!("{:?}", s.phase)
        };
        assert_eq!(
            reason,
            &format!("pre-rollout gate b failed: {why} (2 consecutive failures)")
        );
        assert!(matches!(actions[0], Action::RollBack { .. }));
    }

    // No analysis result counts while waiting (there is no traffic to judge).
    for e in [
        E::CheckPassed,
        E::NoData { metric: "m".into() },
        E::CheckErrored {
            metric: "m".into(),
            error: "e".into(),
        },
    ] {
        assert_eq!(next(&waiting, e, &policy, t(10)).0, waiting);
    }
    // A canary that is not waiting ignores a pre-rollout result.
    let running = progressing(0, 50, false, 0);
    assert_eq!(
        next(&running, E::PreRolloutPassed, &policy, t(10)).0,
        running
    );
}

#[test]
fn a_canary_with_pre_rollout_gates_starts_without_traffic_also_on_retry() {
    let policy = gated_policy();
    let stable = RolloutState {
        stable_revision: Some("old".into()),
        ..RolloutState::default()
    };
    let (s, actions) = next(&stable, E::NewRevision("new".into()), &policy, t(0));
    assert!(s.awaiting_pre_rollout);
    assert_eq!(s.canary_weight(), 0);
    let Action::Event { message, .. } = &actions[1] else {
        panic!("{actions:?}")
    };
    assert_eq!(
        message,
        "canary revision new waits for its pre-rollout gates before taking 50%"
    );
    // Pause and resume keep it waiting.
    let (paused, _) = next(&s, E::Pause, &policy, t(1));
    assert!(paused.awaiting_pre_rollout);
    let (resumed, _) = next(&paused, E::Resume, &policy, t(2));
    assert!(resumed.awaiting_pre_rollout);
    // A retried rollout asks its gates again.
    let (rolled_back, _) = next(
        &resumed,
        E::RollbackRequested {
            gate: "stop".into(),
            answer: "HTTP 200".into(),
        },
        &policy,
        t(3),
    );
    assert!(!rolled_back.awaiting_pre_rollout);
    let (retried, _) = next(&rolled_back, E::Retry, &policy, t(4));
    assert!(retried.awaiting_pre_rollout);
    // Without pre-rollout gates the canary takes its traffic at once.
    let (s, _) = next(
        &stable,
        E::NewRevision("new".into()),
        &CanaryPolicy::default(),
        t(0),
    );
    assert!(!s.awaiting_pre_rollout);
    assert_eq!(s.canary_weight(), 10);
}

#[test]
fn confirm_promotion_holds_the_last_step_until_every_gate_says_yes() {
    let policy = gated_policy();
    let last = progressing(1, 100, false, 1);
    // Only an analysis that would promote asks the gates.
    assert!(promotes(&last, &E::CheckPassed, &policy, t(5)));
    assert!(!promotes(
        &progressing(0, 50, false, 0),
        &E::CheckPassed,
        &policy,
        t(5)
    ));
    assert!(!promotes(
        &last,
        &E::NoData { metric: "m".into() },
        &policy,
        t(5)
    ));
    let skip = CanaryPolicy {
        no_data_policy: crate::crd::NoDataPolicy::Skip,
        ..gated_policy()
    };
    assert!(promotes(
        &last,
        &E::NoData { metric: "m".into() },
        &skip,
        t(5)
    ));

    for answer in [refused(), timed_out(), unreachable()] {
        let calls = [
            call("qa", T::ConfirmPromotion, ok()),
            call("cab", T::ConfirmPromotion, answer),
        ];
        assert_eq!(
            promotion_refused(&calls).map(|c| c.name.as_str()),
            Some("cab")
        );
        // Held: at its last step, failures cleared (the analysis passed), no action.
        let (s, actions) = next(&last, E::PromotionHeld, &policy, t(5));
        assert_eq!(s.phase, last.phase);
        assert_eq!(s.consecutive_failures, 0);
        assert_eq!(s.last_transition, last.last_transition);
        assert!(actions.is_empty());
        let records = [rec("cab", T::ConfirmPromotion, "new", "Refused", 5)];
        assert_eq!(
            waiting_for(&s, &records, &policy).as_deref(),
            Some("waiting for confirm-promotion gate cab (HTTP 403: not approved yet)")
        );
    }
    assert_eq!(
        promotion_refused(&[call("qa", T::ConfirmPromotion, ok())]),
        None
    );
    // Not at the last step, or every gate said yes: nothing to wait for.
    let passed = [rec("cab", T::ConfirmPromotion, "new", "Passed", 5)];
    assert_eq!(waiting_for(&last, &passed, &policy), None);
    let refused_early = [rec("cab", T::ConfirmPromotion, "new", "Refused", 5)];
    assert_eq!(
        waiting_for(&progressing(0, 50, false, 0), &refused_early, &policy),
        None
    );
}

#[test]
fn a_rollback_gate_answering_2xx_rolls_back_a_progressing_or_paused_canary() {
    let policy = gated_policy();
    for answer in [refused(), timed_out(), unreachable()] {
        assert_eq!(
            rollback_event(&[call("stop", T::Rollback, answer)]),
            None,
            "only a 2xx asks for a rollback"
        );
    }
    let event = rollback_event(&[
        call("other", T::Rollback, refused()),
        call("stop", T::Rollback, ok()),
    ])
    .expect("rollback");
    for state in [
        progressing(1, 100, false, 0),
        RolloutState {
            phase: P::Paused {
                step: 0,
                weight: 50,
            },
            ..progressing(0, 50, false, 0)
        },
    ] {
        let (s, actions) = next(&state, event.clone(), &policy, t(9));
        assert_eq!(
            s.phase,
            P::RolledBack {
                reason: "rollback gate stop asked for a rollback (HTTP 200)".into()
            }
        );
        assert!(matches!(actions[0], Action::RollBack { .. }));
    }
    // Nothing to roll back once stable.
    let stable = RolloutState {
        phase: P::Stable,
        ..progressing(0, 50, false, 0)
    };
    assert_eq!(next(&stable, event, &policy, t(9)).0, stable);
}

#[test]
fn the_status_keeps_each_declared_gates_last_call_for_the_canary_revision() {
    let hooks = [hook("smoke", T::PreRollout), hook("stop", T::Rollback)];
    let previous = [
        rec("smoke", T::PreRollout, "new", "Refused", 0),
        rec("stop", T::Rollback, "new", "Refused", 0),
        rec("gone", T::Rollback, "new", "Refused", 0),
        rec("smoke", T::PreRollout, "older", "Refused", 0),
    ];
    let now = to_time(t(60)).expect("time");
    let calls = [call("smoke", T::PreRollout, ok())];
    let records = record(&previous, &hooks, "new", &calls, &now);
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0].name, "smoke");
    assert_eq!(records[0].result, "Passed");
    assert_eq!(records[0].message.as_deref(), Some("HTTP 200"));
    assert_eq!(records[0].time, now);
    assert_eq!(records[1], previous[1], "not called: kept as it was");
    let waiting = progressing(0, 50, true, 0);
    assert_eq!(
        waiting_for(&waiting, &previous, &gated_policy()).as_deref(),
        Some("waiting for pre-rollout gate smoke (HTTP 403: not approved yet), no traffic yet")
    );
}
