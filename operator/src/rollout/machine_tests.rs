//! Table tests: every phase x every event, plus the scenarios the issue names.

use chrono::{DateTime, TimeZone, Utc};

use super::machine::{Action, RolloutEvent as E, RolloutPhase as P, RolloutState, next};
use super::policy::{CanaryPolicy, NoDataPolicy};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
}

fn state(phase: P, failures: u32) -> RolloutState {
    RolloutState {
        phase,
        stable_revision: Some("old".into()),
        canary_revision: Some("new".into()),
        consecutive_failures: failures,
        last_failure: None,
        started_at: Some(t(0)),
        last_transition: Some(t(0)),
        awaiting_pre_rollout: false,
    }
}

fn stable() -> RolloutState {
    RolloutState {
        canary_revision: None,
        started_at: None,
        ..state(P::Stable, 0)
    }
}

fn failed() -> E {
    E::CheckFailed {
        metric: "error_rate /v1/chat".into(),
        value: 0.2,
        threshold: 0.01,
    }
}

fn all_events() -> Vec<E> {
    vec![
        E::NewRevision("newer".into()),
        E::CheckPassed,
        failed(),
        E::CheckErrored {
            metric: "error-rate /v1/chat".into(),
            error: "Prometheus at http://prom:9090 is unreachable".into(),
        },
        E::NoData {
            metric: "p95 /v1/chat".into(),
        },
        E::Pause,
        E::Resume,
        E::Abort,
        E::Retry,
        E::PromoteNow,
        E::MaxDurationExceeded,
        E::PromotionComplete,
    ]
}

fn all_states() -> Vec<RolloutState> {
    vec![
        RolloutState::default(),
        stable(),
        state(
            P::Progressing {
                step: 0,
                weight: 10,
            },
            0,
        ),
        state(
            P::Progressing {
                step: 1,
                weight: 25,
            },
            1,
        ),
        state(
            P::Progressing {
                step: 3,
                weight: 100,
            },
            0,
        ),
        state(
            P::Paused {
                step: 1,
                weight: 25,
            },
            1,
        ),
        state(P::Promoting, 0),
        state(P::RolledBack { reason: "r".into() }, 0),
        state(P::Aborted { reason: "a".into() }, 0),
    ]
}

/// Short name of a phase for the table's expectations.
fn name(p: &P) -> String {
    match p {
        P::Stable => "Stable".into(),
        P::Progressing { step, weight } => format!("Progressing{step}@{weight}"),
        P::Paused { step, weight } => format!("Paused{step}@{weight}"),
        P::Promoting => "Promoting".into(),
        P::RolledBack { .. } => "RolledBack".into(),
        P::Aborted { .. } => "Aborted".into(),
    }
}

/// Expected phase after every (state, event); rows follow `all_states`, columns
/// `all_events`: NewRevision, Passed, Failed, Errored, NoData, Pause, Resume, Abort, Retry,
/// PromoteNow, MaxDuration, PromotionComplete.
const TABLE: [[&str; 12]; 9] = [
    // first deployment: straight to stable, nothing else means anything
    [
        "Stable", "Stable", "Stable", "Stable", "Stable", "Stable", "Stable", "Stable", "Stable",
        "Stable", "Stable", "Stable",
    ],
    // stable
    [
        "Progressing0@10",
        "Stable",
        "Stable",
        "Stable",
        "Stable",
        "Stable",
        "Stable",
        "Stable",
        "Stable",
        "Stable",
        "Stable",
        "Stable",
    ],
    // step 0, no failures yet: one failure is below the limit of 2
    [
        "Progressing0@10",
        "Progressing1@25",
        "Progressing0@10",
        "Progressing0@10",
        "Progressing0@10",
        "Paused0@10",
        "Progressing0@10",
        "Aborted",
        "Progressing0@10",
        "Promoting",
        "RolledBack",
        "Progressing0@10",
    ],
    // step 1 with one failure already: the next failure (or no data, policy fail) rolls back
    [
        "Progressing0@10",
        "Progressing2@50",
        "RolledBack",
        "RolledBack",
        "RolledBack",
        "Paused1@25",
        "Progressing1@25",
        "Aborted",
        "Progressing1@25",
        "Promoting",
        "RolledBack",
        "Progressing1@25",
    ],
    // last step: passing it promotes
    [
        "Progressing0@10",
        "Promoting",
        "Progressing3@100",
        "Progressing3@100",
        "Progressing3@100",
        "Paused3@100",
        "Progressing3@100",
        "Aborted",
        "Progressing3@100",
        "Promoting",
        "RolledBack",
        "Progressing3@100",
    ],
    // paused: checks and max duration are not acted on; a new revision stays paused
    [
        "Paused0@10",
        "Paused1@25",
        "Paused1@25",
        "Paused1@25",
        "Paused1@25",
        "Paused1@25",
        "Progressing1@25",
        "Aborted",
        "Paused1@25",
        "Promoting",
        "Paused1@25",
        "Paused1@25",
    ],
    // promoting: only completion (or a newer revision) moves it
    [
        "Progressing0@10",
        "Promoting",
        "Promoting",
        "Promoting",
        "Promoting",
        "Promoting",
        "Promoting",
        "Promoting",
        "Promoting",
        "Promoting",
        "Promoting",
        "Stable",
    ],
    // rolled back: retry restarts, a newer revision starts over
    [
        "Progressing0@10",
        "RolledBack",
        "RolledBack",
        "RolledBack",
        "RolledBack",
        "RolledBack",
        "RolledBack",
        "RolledBack",
        "Progressing0@10",
        "RolledBack",
        "RolledBack",
        "RolledBack",
    ],
    // aborted: same as rolled back
    [
        "Progressing0@10",
        "Aborted",
        "Aborted",
        "Aborted",
        "Aborted",
        "Aborted",
        "Aborted",
        "Aborted",
        "Progressing0@10",
        "Aborted",
        "Aborted",
        "Aborted",
    ],
];

#[test]
fn every_phase_times_every_event() {
    let policy = CanaryPolicy::default();
    for (row, s) in all_states().iter().enumerate() {
        for (col, ev) in all_events().into_iter().enumerate() {
            let (after, actions) = next(s, ev.clone(), &policy, t(60));
            assert_eq!(
                name(&after.phase),
                TABLE[row][col],
                "state {s:?} event {ev:?}"
            );
            if after == *s {
                assert!(
                    actions.is_empty(),
                    "no-op {s:?} {ev:?} asked for {actions:?}"
                );
            }
        }
    }
}

#[test]
fn operator_restart_resumes_exactly() {
    // Serialise every state through the status JSON, then take the same next step.
    let policy = CanaryPolicy {
        max_duration_seconds: Some(600),
        ..CanaryPolicy::default()
    };
    for s in all_states() {
        let json = serde_json::to_string(&s).unwrap();
        let restored: RolloutState = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, s, "{json}");
        for ev in all_events() {
            assert_eq!(
                next(&restored, ev.clone(), &policy, t(60)),
                next(&s, ev.clone(), &policy, t(60)),
                "{json} {ev:?}"
            );
        }
    }
    let json = serde_json::to_value(state(
        P::Progressing {
            step: 1,
            weight: 25,
        },
        1,
    ))
    .unwrap();
    assert_eq!(json["phase"]["phase"], "progressing");
    assert_eq!(json["phase"]["weight"], 25);
    assert_eq!(json["consecutiveFailures"], 1);
}

#[test]
fn first_revision_goes_straight_to_stable() {
    let (s, actions) = next(
        &RolloutState::default(),
        E::NewRevision("r1".into()),
        &CanaryPolicy::default(),
        t(0),
    );
    assert_eq!(s.phase, P::Stable);
    assert_eq!(s.stable_revision.as_deref(), Some("r1"));
    assert_eq!(s.canary_revision, None);
    assert_eq!(
        actions,
        vec![Action::DeployStable {
            revision: "r1".into()
        }]
    );
    // Seeing it again on the next reconcile changes nothing.
    assert_eq!(
        next(
            &s,
            E::NewRevision("r1".into()),
            &CanaryPolicy::default(),
            t(5)
        ),
        (s, vec![])
    );
}

#[test]
fn full_rollout_walks_the_steps_and_promotes() {
    let policy = CanaryPolicy::default();
    let (mut s, actions) = next(&stable(), E::NewRevision("r2".into()), &policy, t(0));
    assert_eq!(
        actions[0],
        Action::DeployCanary {
            revision: "r2".into(),
            weight: 10
        }
    );
    let mut weights = vec![s.canary_weight()];
    for _ in 0..3 {
        let (n, a) = next(&s, E::CheckPassed, &policy, t(1));
        assert!(a.contains(&Action::SetWeight {
            weight: n.canary_weight()
        }));
        weights.push(n.canary_weight());
        s = n;
    }
    assert_eq!(weights, vec![10, 25, 50, 100]);
    let (s, a) = next(&s, E::CheckPassed, &policy, t(2));
    assert_eq!(s.phase, P::Promoting);
    assert_eq!(
        a[0],
        Action::Promote {
            revision: "r2".into()
        }
    );
    let (s, a) = next(&s, E::PromotionComplete, &policy, t(3));
    assert_eq!(s.phase, P::Stable);
    assert_eq!(s.stable_revision.as_deref(), Some("r2"));
    assert_eq!(s.canary_revision, None);
    assert!(a.is_empty());
}

#[test]
fn failure_limit_rolls_back_naming_metric_value_threshold() {
    let policy = CanaryPolicy {
        failure_limit: 3,
        ..CanaryPolicy::default()
    };
    let mut s = state(
        P::Progressing {
            step: 1,
            weight: 25,
        },
        0,
    );
    for i in 1..3 {
        let (n, a) = next(&s, failed(), &policy, t(i));
        assert_eq!(
            n.phase,
            P::Progressing {
                step: 1,
                weight: 25
            }
        );
        assert_eq!(n.consecutive_failures, i as u32);
        assert!(a.is_empty());
        s = n;
    }
    let (s, a) = next(&s, failed(), &policy, t(3));
    let P::RolledBack { reason } = &s.phase else {
        panic!("{s:?}")
    };
    assert!(
        reason.contains("error_rate /v1/chat") && reason.contains("0.2") && reason.contains("0.01"),
        "{reason}"
    );
    assert!(reason.contains("3 consecutive"), "{reason}");
    assert_eq!(s.canary_weight(), 0);
    assert_eq!(s.stable_revision.as_deref(), Some("old"));
    assert_eq!(
        a[0],
        Action::RollBack {
            reason: reason.clone()
        }
    );
    assert!(matches!(&a[1], Action::Event { reason: r, warning: true, .. } if r == "RolledBack"));
}

#[test]
fn a_pass_resets_the_failure_count() {
    let policy = CanaryPolicy::default();
    let (s, _) = next(
        &state(
            P::Progressing {
                step: 0,
                weight: 10,
            },
            0,
        ),
        failed(),
        &policy,
        t(1),
    );
    let (s, _) = next(&s, E::CheckPassed, &policy, t(2));
    assert_eq!(s.consecutive_failures, 0);
    let (s, _) = next(&s, failed(), &policy, t(3));
    assert_eq!(
        s.phase,
        P::Progressing {
            step: 1,
            weight: 25
        }
    );
}

#[test]
fn no_data_policy_decides() {
    let s = state(
        P::Progressing {
            step: 1,
            weight: 25,
        },
        1,
    );
    let no_data = || E::NoData {
        metric: "p95 /v1/chat".into(),
    };
    let with = |p| CanaryPolicy {
        no_data_policy: p,
        ..CanaryPolicy::default()
    };
    let (fail, _) = next(&s, no_data(), &with(NoDataPolicy::Fail), t(1));
    let P::RolledBack { reason } = fail.phase else {
        panic!()
    };
    assert!(
        reason.contains("p95 /v1/chat") && reason.contains("no data"),
        "{reason}"
    );
    let (skip, _) = next(&s, no_data(), &with(NoDataPolicy::Skip), t(1));
    assert_eq!(
        skip.phase,
        P::Progressing {
            step: 2,
            weight: 50
        }
    );
    let (wait, a) = next(&s, no_data(), &with(NoDataPolicy::Wait), t(1));
    assert_eq!((wait, a), (s, vec![]));
}

#[test]
fn newer_revision_mid_rollout_restarts_on_the_newest() {
    let policy = CanaryPolicy::default();
    let s = state(
        P::Progressing {
            step: 2,
            weight: 50,
        },
        1,
    );
    let (n, a) = next(&s, E::NewRevision("newest".into()), &policy, t(30));
    assert_eq!(
        n.phase,
        P::Progressing {
            step: 0,
            weight: 10
        }
    );
    assert_eq!(n.canary_revision.as_deref(), Some("newest"));
    assert_eq!(n.stable_revision.as_deref(), Some("old"));
    assert_eq!(n.consecutive_failures, 0);
    assert_eq!(n.started_at, Some(t(30)));
    assert_eq!(
        a[0],
        Action::DeployCanary {
            revision: "newest".into(),
            weight: 10
        }
    );
    // The same canary revision reported again is not a restart.
    assert_eq!(
        next(&s, E::NewRevision("new".into()), &policy, t(31)),
        (s.clone(), vec![])
    );
    // Going back to the stable revision drops the canary.
    let (n, a) = next(&s, E::NewRevision("old".into()), &policy, t(32));
    assert_eq!((n.phase, n.canary_revision), (P::Stable, None));
    assert_eq!(a[0], Action::RemoveCanary);
}

#[test]
fn new_revision_during_promotion_analyses_against_the_promoted_stable() {
    let (n, _) = next(
        &state(P::Promoting, 0),
        E::NewRevision("newest".into()),
        &CanaryPolicy::default(),
        t(1),
    );
    assert_eq!(n.stable_revision.as_deref(), Some("new"));
    assert_eq!(n.canary_revision.as_deref(), Some("newest"));
}

#[test]
fn pause_resume_keep_step_and_failures() {
    let policy = CanaryPolicy::default();
    let s = state(
        P::Progressing {
            step: 1,
            weight: 25,
        },
        1,
    );
    let (p, _) = next(&s, E::Pause, &policy, t(1));
    assert_eq!(p.canary_weight(), 25);
    let (r, _) = next(&p, E::Resume, &policy, t(2));
    assert_eq!(r.phase, s.phase);
    assert_eq!(r.consecutive_failures, 1);
}

#[test]
fn abort_and_retry() {
    let policy = CanaryPolicy::default();
    let (a, actions) = next(
        &state(
            P::Progressing {
                step: 2,
                weight: 50,
            },
            0,
        ),
        E::Abort,
        &policy,
        t(1),
    );
    assert_eq!(
        a.phase,
        P::Aborted {
            reason: "aborted by user".into()
        }
    );
    assert_eq!(
        actions[0],
        Action::RollBack {
            reason: "aborted by user".into()
        }
    );
    let (r, actions) = next(&a, E::Retry, &policy, t(9));
    assert_eq!(
        r.phase,
        P::Progressing {
            step: 0,
            weight: 10
        }
    );
    assert_eq!(r.started_at, Some(t(9)));
    assert_eq!(
        actions[0],
        Action::DeployCanary {
            revision: "new".into(),
            weight: 10
        }
    );
}

#[test]
fn promote_now_skips_the_analysis() {
    let (p, a) = next(
        &state(
            P::Paused {
                step: 0,
                weight: 10,
            },
            0,
        ),
        E::PromoteNow,
        &CanaryPolicy::default(),
        t(1),
    );
    assert_eq!(p.phase, P::Promoting);
    assert_eq!(
        a[0],
        Action::Promote {
            revision: "new".into()
        }
    );
}

#[test]
fn max_duration() {
    let policy = CanaryPolicy {
        max_duration_seconds: Some(600),
        ..CanaryPolicy::default()
    };
    let s = state(
        P::Progressing {
            step: 1,
            weight: 25,
        },
        0,
    );
    assert!(!s.max_duration_exceeded(&policy, t(599)));
    assert!(s.max_duration_exceeded(&policy, t(600)));
    assert!(
        !state(
            P::Paused {
                step: 1,
                weight: 25
            },
            0
        )
        .max_duration_exceeded(&policy, t(900))
    );
    assert!(!s.max_duration_exceeded(&CanaryPolicy::default(), t(9000)));
    let (n, _) = next(&s, E::MaxDurationExceeded, &policy, t(600));
    assert_eq!(
        n.phase,
        P::RolledBack {
            reason: "rollout exceeded its max duration of 600s".into()
        }
    );
}

#[test]
fn custom_steps_from_the_spec() {
    let spec = crate::crd::CanarySpec {
        steps: vec![20, 100],
        ..Default::default()
    };
    let policy = CanaryPolicy::from_spec(Some(&spec));
    let (s, _) = next(&stable(), E::NewRevision("r".into()), &policy, t(0));
    assert_eq!(s.canary_weight(), 20);
    let (s, _) = next(&s, E::CheckPassed, &policy, t(1));
    assert_eq!(s.canary_weight(), 100);
    let (s, _) = next(&s, E::CheckPassed, &policy, t(2));
    assert_eq!(s.phase, P::Promoting);
    assert_eq!(CanaryPolicy::from_spec(None), CanaryPolicy::default());
}

#[test]
fn every_knob_of_the_spec_reaches_the_policy() {
    let spec: crate::crd::CanarySpec = serde_json::from_value(serde_json::json!({
        "steps": [5, 50],
        "interval": "1m30s",
        "failureLimit": 3,
        "noDataPolicy": "wait",
        "maxDuration": "1h",
    }))
    .unwrap();
    let policy = CanaryPolicy::from_spec(Some(&spec));
    assert_eq!(policy.steps, [5, 50]);
    assert_eq!(policy.failure_limit, 3);
    assert_eq!(policy.no_data_policy, NoDataPolicy::Wait);
    assert_eq!(policy.max_duration_seconds, Some(3600));
    assert_eq!(
        CanaryPolicy::interval(Some(&spec)),
        std::time::Duration::from_secs(90)
    );
    assert_eq!(
        CanaryPolicy::interval(None),
        std::time::Duration::from_secs(60)
    );
    let defaults = CanaryPolicy::from_spec(Some(&crate::crd::CanarySpec::default()));
    assert_eq!(defaults.failure_limit, 2);
    assert_eq!(defaults.no_data_policy, NoDataPolicy::Fail);
    assert_eq!(defaults.max_duration_seconds, None);
}

/// A Prometheus error is a failed check (never a pass): it counts toward the limit and
/// its reason reaches the rollback.
#[test]
fn an_erroring_check_counts_as_a_failure_with_its_reason() {
    let policy = CanaryPolicy::default();
    let errored = || E::CheckErrored {
        metric: "error-rate /v1/chat".into(),
        error: "Prometheus at http://prom:9090/api/v1/query is unreachable".into(),
    };
    let start = state(
        P::Progressing {
            step: 0,
            weight: 10,
        },
        0,
    );
    let (once, actions) = next(&start, errored(), &policy, t(1));
    assert!(actions.is_empty());
    assert_eq!(once.consecutive_failures, 1);
    let (twice, actions) = next(&once, errored(), &policy, t(2));
    let reason = "check error-rate /v1/chat failed: Prometheus at http://prom:9090/api/v1/query is unreachable (2 consecutive failures)";
    assert_eq!(
        twice.phase,
        P::RolledBack {
            reason: reason.into()
        }
    );
    assert!(actions.contains(&Action::RollBack {
        reason: reason.into()
    }));
}
