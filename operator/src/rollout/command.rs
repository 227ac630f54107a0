//! Manual control of a rollout through one annotation on the HermesDeployment:
//! `kubectl annotate hd NAME hermes.logos.dev/rollout=pause --overwrite`. The operator
//! carries the command out once and removes the annotation; a repeated command is a no-op
//! in the state machine, so a restart between the two cannot do harm.

use super::machine::RolloutEvent;

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

#[cfg(test)]
mod tests {
    use super::*;

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
