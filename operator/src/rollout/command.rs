//! Manual control of a rollout through one annotation on the HermesDeployment:
//! `kubectl annotate hd NAME hermes.logos.dev/rollout=pause --overwrite`. The operator
//! carries the command out once and removes the annotation; a repeated command is a no-op
//! in the state machine, so a restart between the two cannot do harm.

use super::machine::{RolloutEvent, RolloutPhase};

/// The annotation key.
pub const ANNOTATION: &str = "hermes.logos.dev/rollout";

/// The annotation's accepted values.
pub const COMMANDS: [&str; 5] = ["pause", "resume", "promote", "abort", "retry"];

/// The event of an annotation value, or an error naming the accepted values.
pub fn parse(value: &str) -> Result<RolloutEvent, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "pause" => Ok(RolloutEvent::Pause),
        "resume" => Ok(RolloutEvent::Resume),
        "promote" => Ok(RolloutEvent::PromoteNow),
        "abort" => Ok(RolloutEvent::Abort),
        "retry" => Ok(RolloutEvent::Retry),
        other => Err(format!(
            "annotation {ANNOTATION}={other:?} is not a command; use one of {}",
            COMMANDS.join(", ")
        )),
    }
}

/// Why the command `value` changed nothing in a rollout in `phase`, and what to do.
pub fn not_applicable(value: &str, phase: &RolloutPhase) -> String {
    let command = value.trim().to_ascii_lowercase();
    let (name, hint) = match phase {
        RolloutPhase::Stable => (
            "stable",
            "no canary is in progress; a change of the pod template starts one",
        ),
        RolloutPhase::Promoting => ("promoting", "the canary is already being promoted"),
        RolloutPhase::RolledBack { .. } | RolloutPhase::Aborted { .. } => {
            let name = if matches!(phase, RolloutPhase::Aborted { .. }) {
                "aborted"
            } else {
                "rolled back"
            };
            if command == "retry" {
                (name, "there is no canary revision to retry")
            } else {
                (
                    name,
                    "use `retry` first to restart the canary from its first step",
                )
            }
        }
        RolloutPhase::Paused { .. } => match command.as_str() {
            "pause" => ("paused", "it is already paused; `resume` continues it"),
            _ => (
                "paused",
                "only a rolled back or aborted rollout can be retried",
            ),
        },
        RolloutPhase::Progressing { .. } => match command.as_str() {
            "resume" => ("progressing", "it is not paused"),
            _ => (
                "progressing",
                "only a rolled back or aborted rollout can be retried",
            ),
        },
    };
    format!("command {command:?} does not apply to a {name} rollout: {hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_that_does_not_apply_says_why_and_what_to_do() {
        let rolled_back = RolloutPhase::RolledBack {
            reason: "check failed".into(),
        };
        assert_eq!(
            not_applicable("promote", &rolled_back),
            "command \"promote\" does not apply to a rolled back rollout: use `retry` first to restart the canary from its first step"
        );
        let progressing = RolloutPhase::Progressing {
            step: 0,
            weight: 10,
        };
        assert_eq!(
            not_applicable("Resume", &progressing),
            "command \"resume\" does not apply to a progressing rollout: it is not paused"
        );
        assert_eq!(
            not_applicable("retry", &progressing),
            "command \"retry\" does not apply to a progressing rollout: only a rolled back or aborted rollout can be retried"
        );
        assert!(
            not_applicable("pause", &RolloutPhase::Stable).contains("no canary is in progress")
        );
        assert!(
            not_applicable(
                "pause",
                &RolloutPhase::Paused {
                    step: 1,
                    weight: 50
                }
            )
            .contains("already paused")
        );
    }

    #[test]
    fn commands() {
        assert_eq!(parse("pause"), Ok(RolloutEvent::Pause));
        assert_eq!(parse(" Resume "), Ok(RolloutEvent::Resume));
        assert_eq!(parse("promote"), Ok(RolloutEvent::PromoteNow));
        assert_eq!(parse("abort"), Ok(RolloutEvent::Abort));
        assert_eq!(parse("retry"), Ok(RolloutEvent::Retry));
        assert_eq!(
            parse("rollback"),
            Err("annotation hermes.logos.dev/rollout=\"rollback\" is not a command; use one of pause, resume, promote, abort, retry".into())
        );
    }
}
