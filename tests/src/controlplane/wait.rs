//! Bounded polling against the cluster: `eventually` retries a probe until it yields a
//! value or the bound passes, then fails with what it waited for and the logs.

use std::future::Future;
use std::time::{Duration, Instant};

pub const POLL: Duration = Duration::from_millis(250);

/// Polls `probe` until it returns `Some`, at most `bound`; on timeout panics with `what`
/// and `logs()` (the processes' output).
pub async fn eventually<T, F, Fut>(
    what: &str,
    bound: Duration,
    logs: impl Fn() -> String,
    mut probe: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + bound;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {bound:?} waiting for {what}\n{}", logs());
        }
        tokio::time::sleep(POLL).await;
    }
}
