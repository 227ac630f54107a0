//! Canary rollouts as pure data: the state machine (`machine`), its policy (`policy`) and
//! the replica split (`replicas`). No I/O here: the controller feeds events in, persists
//! the returned state in the status and carries out the returned actions.

pub mod command;
pub mod machine;
pub mod persist;
pub mod policy;
pub mod replicas;

#[cfg(test)]
mod machine_tests;

pub use machine::{Action, RolloutEvent, RolloutPhase, RolloutState, next};
pub use policy::{CanaryPolicy, NoDataPolicy};
pub use replicas::canary_replicas;
