//! Canary analysis: PromQL builders and verdicts (`promql`, pure), the checks of a
//! HermesDeployment (`plan`, pure), the Prometheus HTTP client (`prometheus`) and one
//! analysis run with its decision (`run`).

pub mod plan;
pub mod prometheus;
pub mod promql;
pub mod run;
