//! Ports and probe paths of the runtime.

/// The port the runtime listens on inside a pod (and the default of `HERMES_PORT`).
pub const HTTP_PORT: u16 = 8080;
/// Name of the container port, used by Services and scrape annotations.
pub const HTTP_PORT_NAME: &str = "http";
/// 200 while the process runs.
pub const LIVENESS_PATH: &str = "/livez";
/// 503 until every declared model is loaded and warmed up, then 200.
pub const READINESS_PATH: &str = "/readyz";
/// Prometheus text exposition.
pub const METRICS_PATH: &str = "/metrics";
/// Contract health endpoint (dependencies, capabilities).
pub const HEALTH_PATH: &str = "/health";
