//! The subcommands of the `hermes-operator` binary besides its argument parsing:
//! `run` (the controller), `render` (the pure stages offline) and `analyze` (one canary
//! analysis against a Prometheus).

pub mod analyze;
pub mod render;
pub mod run;
