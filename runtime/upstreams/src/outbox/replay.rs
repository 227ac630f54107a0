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
    /// Records at the head of the batch the dependency acknowledged before this
    /// failure (a deliverer that sends one record at a time): they are not sent
    /// again, and a permanent failure drops only the record after them.
    pub delivered: usize,
}

impl DeliveryFailure {
    pub fn transient(reason: &'static str, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
            permanent: false,
            delivered: 0,
        }
    }

    pub fn permanent(reason: &'static str, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
            permanent: true,
            delivered: 0,
        }
    }

    /// The same failure, after the first `delivered` records were acknowledged.
    pub fn after(mut self, delivered: usize) -> Self {
        self.delivered = delivered;
        self
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
        // The last sequence number done with (delivered, or refused for good).
        let done_through = match result {
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
                Some(last)
            }
            Err(f) if f.permanent => {
                let delivered = f.delivered.min(batch.len() - 1);
                observer.delivered(delivered as u64);
                // One-at-a-time deliverers name the refused record; others refuse the batch.
                let refused = if f.delivered > 0 || deliverer.max_batch() == 1 {
                    &batch[delivered..=delivered]
                } else {
                    &batch[..]
                };
                let through = refused[refused.len() - 1].0;
                tracing::error!(outbox = name, reason = f.reason, detail = %f.detail, records = refused.len(), first_seq = refused[0].0, "records refused for good by the dependency: dropped");
                observer.failed(f.reason);
                Some(through)
            }
            Err(f) => {
                let delivered = f.delivered.min(batch.len());
                observer.delivered(delivered as u64);
                observer.failed(f.reason);
                let delay = backoff.delay(attempt);
                tracing::warn!(outbox = name, reason = f.reason, detail = %f.detail, attempt, retry_in_ms = delay.as_millis() as u64, "delivery failed; will retry");
                attempt = attempt.saturating_add(1);
                // What got through before the failure is recorded before the wait.
                if delivered > 0 {
                    ack(
                        &outbox,
                        batch[delivered - 1].0,
                        &*observer,
                        &backoff,
                        &mut stop,
                    )
                    .await;
                }
                tokio::select! {
                    () = sleep_or_stop(delay, &mut stop) => {}
                    () = wakers.recovered.notified() => {}
                }
                None
            }
        };
        if let Some(through) = done_through {
            ack(&outbox, through, &*observer, &backoff, &mut stop).await;
        }
    }
    let depth = outbox.depth();
    tracing::info!(
        outbox = name,
        pending_records = depth.records,
        "replay stopped; pending records stay on disk"
    );
}

/// Records on disk that everything through `seq` is done with.
async fn ack<O: ReplayObserver>(
    outbox: &Arc<Outbox>,
    seq: u64,
    observer: &O,
    backoff: &Backoff,
    stop: &mut watch::Receiver<bool>,
) {
    let name = outbox.name();
    let outbox2 = Arc::clone(outbox);
    match tokio::task::spawn_blocking(move || outbox2.ack_through(seq)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            // Not fatal: the records are redelivered, and deliveries are idempotent.
            tracing::error!(outbox = name, error = %e, "cannot record the acknowledgement");
            observer.failed("outbox_io");
            sleep_or_stop(backoff.delay(0), stop).await;
        }
        Err(e) => tracing::error!(outbox = name, error = %e, "ack task failed"),
    }
    observer.depth_changed(outbox);
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

    /// One record at a time, like Sophia proposals: `r2` fails once (transient),
    /// `r5` is refused for good.
    struct OneByOne {
        failed_r2: std::sync::atomic::AtomicBool,
        received: Mutex<Vec<String>>,
    }

    impl Deliver for OneByOne {
        fn max_batch(&self) -> usize {
            4
        }
        async fn deliver(&self, records: &[(u64, Vec<u8>)]) -> Result<(), DeliveryFailure> {
            for (done, (_, p)) in records.iter().enumerate() {
                let text = String::from_utf8(p.clone()).unwrap();
                if text == "r2" && !self.failed_r2.swap(true, Ordering::SeqCst) {
                    return Err(DeliveryFailure::transient("timeout", "slow").after(done));
                }
                if text == "r5" {
                    return Err(DeliveryFailure::permanent("status_4xx", "no").after(done));
                }
                self.received.lock().unwrap().push(text);
            }
            Ok(())
        }
    }

    fn scratch_outbox(tag: &str, records: usize) -> Arc<Outbox> {
        let dir = std::env::temp_dir().join(format!(
            "hermes-replay-{tag}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        let limits = OutboxLimits {
            max_bytes: 1 << 20,
            max_records: 100,
        };
        let (outbox, _) = Outbox::open("t", &dir, limits).unwrap();
        for i in 0..records {
            outbox.append(format!("r{i}").as_bytes()).unwrap();
        }
        Arc::new(outbox)
    }

    async fn replay_until_empty<D: Deliver>(
        outbox: &Arc<Outbox>,
        deliverer: Arc<D>,
    ) -> Arc<Counts> {
        let counts = Arc::new(Counts::default());
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(
            Arc::clone(outbox),
            deliverer,
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
        counts
    }

    #[tokio::test]
    async fn a_partial_batch_is_not_sent_again_and_only_the_refused_record_is_dropped() {
        let outbox = scratch_outbox("partial", 8);
        let one_by_one = Arc::new(OneByOne {
            failed_r2: std::sync::atomic::AtomicBool::new(false),
            received: Mutex::new(Vec::new()),
        });
        let counts = replay_until_empty(&outbox, Arc::clone(&one_by_one)).await;
        let expected: Vec<String> = [0, 1, 2, 3, 4, 6, 7]
            .iter()
            .map(|i| format!("r{i}"))
            .collect();
        assert_eq!(
            *one_by_one.received.lock().unwrap(),
            expected,
            "r0 and r1 sent once, r5 dropped, the rest in order"
        );
        assert_eq!(counts.delivered.load(Ordering::SeqCst), 7);
        assert_eq!(counts.failed.load(Ordering::SeqCst), 2);
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
        let outbox = scratch_outbox("flaky", 10);
        let flaky = Arc::new(Flaky {
            fail_first: AtomicU64::new(3),
            received: Mutex::new(Vec::new()),
        });
        let counts = replay_until_empty(&outbox, Arc::clone(&flaky)).await;
        let expected: Vec<String> = (0..10).map(|i| format!("r{i}")).collect();
        assert_eq!(*flaky.received.lock().unwrap(), expected);
        assert_eq!(counts.delivered.load(Ordering::SeqCst), 10);
        assert_eq!(counts.failed.load(Ordering::SeqCst), 3);
    }
}
