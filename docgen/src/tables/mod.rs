//! One file per generated table; `BLOCKS` in `lib.rs` lists them.

pub mod catalog;
pub mod env;
pub mod operator_metrics;
pub mod runtime_metrics;
pub mod sizing;
