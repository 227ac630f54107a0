//! The replay loop: delivers an outbox's records in order, in batches, until the
//! dependency acknowledges them; waits with exponential backoff and jitter after
//! each failure. A restart resumes from the outbox on disk.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Notify, watch};

use super::log::Outbox;
use crate::resilience::backoff::Backoff;

/// Why one delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFailure {
    /// Short, bounded label for metrics: `unreachable`, `timeout`, `circuit_open`, ...
    pub reason: &'static str,
    pub detail: String,
    /// The dependency refused the records for good (e.g. a 4xx): retrying cannot
    /// help, so they are dropped with an error log and a metric.
    pub permanent: bool,
}

impl DeliveryFailure {
    pub fn transient(reason: &'static str, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
            permanent: false,
        }
    }

    pub fn permanent(reason: &'static str, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
            permanent: true,
        }
    }
}

/// A dependency that outbox records are delivered to.
pub trait Deliver: Send + Sync + 'static {
    /// Records delivered per attempt at most.
    fn max_batch(&self) -> usize;
    /// Delivers `records` (`(seq, payload)`, in order); `Ok` means all acknowledged.
    fn deliver(
        &self,
        records: &[(u64, Vec<u8>)],
    ) -> impl Future<Output = Result<(), DeliveryFailure>> + Send;
}

/// Reports of the loop, for metrics.
pub trait ReplayObserver: Send + Sync + 'static {
    fn delivered(&self, records: u64);
    fn failed(&self, reason: &'static str);
    fn depth_changed(&self, outbox: &Outbox);
}

/// Signals that wake the loop.
#[derive(Debug, Clone)]
pub struct Wakers {
    /// Notified on every append.
    pub appended: Arc<Notify>,
    /// Notified when the dependency is known to be back: cuts a backoff short.
    pub recovered: Arc<Notify>,
}

/// Runs until `stop` turns true.
pub async fn run<D: Deliver, O: ReplayObserver>(
    outbox: Arc<Outbox>,
    deliverer: Arc<D>,
    observer: Arc<O>,
    wakers: Wakers,
    backoff: Backoff,
    mut stop: watch::Receiver<bool>,
) {
    let name = outbox.name();
    let mut attempt: u32 = 0;
    loop {
        if stop_requested(&stop) {
            break;
        }
        let peek = {
            let outbox = Arc::clone(&outbox);
            let max = deliverer.max_batch();
            tokio::task::spawn_blocking(move || outbox.peek(max)).await
        };
        let batch = match peek {
            Ok(Ok(batch)) => batch,
            Ok(Err(e)) => {
                tracing::error!(outbox = name, error = %e, "cannot read the outbox; retrying");
                observer.failed("outbox_io");
                sleep_or_stop(backoff.delay(attempt), &mut stop).await;
                attempt = attempt.saturating_add(1);
                continue;
            }
            Err(e) => {
                tracing::error!(outbox = name, error = %e, "outbox read task failed");
                sleep_or_stop(backoff.delay(attempt), &mut stop).await;
                continue;
            }
        };
        let Some(&(last, _)) = batch.last() else {
            tokio::select! {
                () = wakers.appended.notified() => {}
                _ = stopped(&mut stop) => {}
            }
            continue;
        };
        let result = tokio::select! {
            result = deliverer.deliver(&batch) => result,
            _ = stopped(&mut stop) => break,
        };
        let acknowledged = match result {
            Ok(()) => {
                observer.delivered(batch.len() as u64);
                if attempt > 0 {
                    tracing::info!(
                        outbox = name,
                        after_attempts = attempt,
                        "dependency acknowledged: replay resumed"
                    );
                }
                attempt = 0;
                true
            }
            Err(f) if f.permanent => {
                tracing::error!(outbox = name, reason = f.reason, detail = %f.detail, records = batch.len(), first_seq = batch[0].0, "records refused for good by the dependency: dropped");
                observer.failed(f.reason);
                true
            }
            Err(f) => {
                observer.failed(f.reason);
                let delay = backoff.delay(attempt);
                tracing::warn!(outbox = name, reason = f.reason, detail = %f.detail, attempt, retry_in_ms = delay.as_millis() as u64, "delivery failed; will retry");
                attempt = attempt.saturating_add(1);
                tokio::select! {
                    () = sleep_or_stop(delay, &mut stop) => {}
                    () = wakers.recovered.notified() => {}
                }
                false
            }
        };
        if acknowledged {
            let outbox2 = Arc::clone(&outbox);
            match tokio::task::spawn_blocking(move || outbox2.ack_through(last)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    // Not fatal: the records are redelivered, and deliveries are idempotent.
                    tracing::error!(outbox = name, error = %e, "cannot record the acknowledgement");
                    observer.failed("outbox_io");
                    sleep_or_stop(backoff.delay(0), &mut stop).await;
                }
                Err(e) => tracing::error!(outbox = name, error = %e, "ack task failed"),
            }
            observer.depth_changed(&outbox);
        }
    }
    let depth = outbox.depth();
    tracing::info!(
        outbox = name,
        pending_records = depth.records,
        "replay stopped; pending records stay on disk"
    );
}

/// Sleeps `delay` unless a stop comes first (or the stop sender is gone).
async fn sleep_or_stop(delay: std::time::Duration, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep(delay) => {}
        _ = stopped(stop) => {}
    }
}

/// Resolves once stop is requested or can no longer be (sender dropped).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn stop_requested(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::OutboxLimits;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    /// Fails the first `fail_first` attempts, then records what it receives.
    struct Flaky {
        fail_first: AtomicU64,
        received: Mutex<Vec<String>>,
    }

    impl Deliver for Flaky {
        fn max_batch(&self) -> usize {
            3
        }
        async fn deliver(&self, records: &[(u64, Vec<u8>)]) -> Result<(), DeliveryFailure> {
            if self.fail_first.load(Ordering::SeqCst) > 0 {
                self.fail_first.fetch_sub(1, Ordering::SeqCst);
                return Err(DeliveryFailure::transient("unreachable", "down"));
            }
            let mut received = self.received.lock().unwrap();
            for (_, p) in records {
                received.push(String::from_utf8(p.clone()).unwrap());
            }
            Ok(())
        }
    }

    #[derive(Default)]
    struct Counts {
        delivered: AtomicU64,
        failed: AtomicU64,
    }

    impl ReplayObserver for Counts {
        fn delivered(&self, records: u64) {
            self.delivered.fetch_add(records, Ordering::SeqCst);
        }
        fn failed(&self, _reason: &'static str) {
            self.failed.fetch_add(1, Ordering::SeqCst);
        }
        fn depth_changed(&self, _outbox: &Outbox) {}
    }

    #[tokio::test]
    async fn delivers_everything_in_order_after_failures() {
        let dir = std::env::temp_dir().join(format!(
            "hermes-replay-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        let limits = OutboxLimits {
            max_bytes: 1 << 20,
            max_records: 100,
        };
        let (outbox, _) = Outbox::open("t", &dir, limits).unwrap();
        let outbox = Arc::new(outbox);
        for i in 0..10 {
            outbox.append(format!("r{i}").as_bytes()).unwrap();
        }
        let flaky = Arc::new(Flaky {
            fail_first: AtomicU64::new(3),
            received: Mutex::new(Vec::new()),
        });
        let counts = Arc::new(Counts::default());
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(
            Arc::clone(&outbox),
            Arc::clone(&flaky),
            Arc::clone(&counts),
            Wakers {
                appended: Arc::new(Notify::new()),
                recovered: Arc::new(Notify::new()),
            },
            Backoff::new(Duration::from_millis(1), Duration::from_millis(5)),
            stop_rx,
        ));
        tokio::time::timeout(Duration::from_secs(10), async {
            while outbox.depth().records > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("drained");
        stop_tx.send(true).unwrap();
        task.await.unwrap();
        let expected: Vec<String> = (0..10).map(|i| format!("r{i}")).collect();
        assert_eq!(*flaky.received.lock().unwrap(), expected);
        assert_eq!(counts.delivered.load(Ordering::SeqCst), 10);
        assert_eq!(counts.failed.load(Ordering::SeqCst), 3);
    }
}
