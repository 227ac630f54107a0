//! Canary analysis, pure parts: PromQL builders and verdicts (`promql`).

pub mod promql;
