//! The one way inference runs: on tokio's blocking pool, never on the async
//! executor, with a per-model concurrency limit and a bounded queue.
//!
//! `concurrency` jobs of a model run at once; up to `queue` jobs (running plus
//! waiting) are admitted; the next one is refused at once with
//! [`WorkerError::Busy`] (a 503) instead of waiting without bound. Every capability
//! (embedding, stt, tts, nlp, llm) wraps its model in a `ModelWorker`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::Semaphore;
use tracing::Instrument;

/// How much of a model's work may run and wait at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerLimits {
    /// Jobs running at the same time (threads of the blocking pool).
    pub concurrency: usize,
    /// Jobs admitted (running + waiting); more are refused as busy.
    pub queue: usize,
}

impl WorkerLimits {
    /// One job per core; a queue deep enough for bursts, short enough to shed load.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            concurrency: cores,
            queue: 256,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WorkerError {
    #[error("model {model} is busy: {queue} requests are already queued; retry later")]
    Busy { model: &'static str, queue: usize },
    #[error("model {model} worker failed: {reason}")]
    Crashed {
        model: &'static str,
        reason: &'static str,
    },
}

/// A loaded model plus the limits its inference runs under.
pub struct ModelWorker<M> {
    name: &'static str,
    model: Arc<M>,
    limits: WorkerLimits,
    running: Arc<Semaphore>,
    admitted: Arc<AtomicUsize>,
}

impl<M> std::fmt::Debug for ModelWorker<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelWorker")
            .field("name", &self.name)
            .field("limits", &self.limits)
            .field("admitted", &self.admitted.load(Ordering::Relaxed))
            .finish()
    }
}

/// Holds one admission slot; frees it when dropped (job done or caller gone).
struct Admission(Arc<AtomicUsize>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<M: Send + Sync + 'static> ModelWorker<M> {
    pub fn new(name: &'static str, model: M, limits: WorkerLimits) -> Self {
        let limits = WorkerLimits {
            concurrency: limits.concurrency.max(1),
            queue: limits.queue.max(1),
        };
        Self {
            name,
            model: Arc::new(model),
            limits,
            running: Arc::new(Semaphore::new(limits.concurrency)),
            admitted: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn limits(&self) -> WorkerLimits {
        self.limits
    }

    /// The model itself, for cheap synchronous reads (dimension, names).
    pub fn model(&self) -> &M {
        &self.model
    }

    /// Jobs admitted right now (running + waiting).
    pub fn in_flight(&self) -> usize {
        self.admitted.load(Ordering::Acquire)
    }

    /// Jobs admitted but not running yet (waiting for one of the `concurrency` slots).
    pub fn waiting(&self) -> usize {
        let running = self
            .limits
            .concurrency
            .saturating_sub(self.running.available_permits());
        self.in_flight().saturating_sub(running)
    }

    /// Runs `job` on the blocking pool once a slot is free; refuses at once when the
    /// queue is full. If the caller goes away, a job already running finishes (and
    /// keeps its slot until then) and its result is dropped. The wait and the job run
    /// in an `inference` span ([`crate::models::inference_span`]) whose `queue_ms` is
    /// the time spent waiting for a slot.
    pub async fn run<T, F>(&self, job: F) -> Result<T, WorkerError>
    where
        F: FnOnce(&M) -> T + Send + 'static,
        T: Send + 'static,
    {
        let span = super::inference_span(self.name);
        self.run_in(job, span.clone()).instrument(span).await
    }

    async fn run_in<T, F>(&self, job: F, span: tracing::Span) -> Result<T, WorkerError>
    where
        F: FnOnce(&M) -> T + Send + 'static,
        T: Send + 'static,
    {
        let _admission = self.admit()?;
        let queued = Instant::now();
        let permit =
            self.running
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| WorkerError::Crashed {
                    model: self.name,
                    reason: "worker closed",
                })?;
        super::record_queue_time(&span, queued.elapsed());
        let model = Arc::clone(&self.model);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _in_span = span.enter();
            job(&model)
        })
        .await
        .map_err(|e| WorkerError::Crashed {
            model: self.name,
            reason: if e.is_panic() {
                "inference panicked"
            } else {
                "inference cancelled"
            },
        })
    }

    fn admit(&self) -> Result<Admission, WorkerError> {
        let queue = self.limits.queue;
        self.admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < queue).then_some(n + 1)
            })
            .map(|_| Admission(Arc::clone(&self.admitted)))
            .map_err(|_| WorkerError::Busy {
                model: self.name,
                queue,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// A model whose jobs block until the test releases them, counting peaks.
    struct Gate {
        release: Barrier,
        running: AtomicUsize,
        peak: AtomicUsize,
    }

    impl Gate {
        fn work(&self) -> usize {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            self.release.wait();
            self.running.fetch_sub(1, Ordering::SeqCst);
            now
        }
    }

    async fn wait_until(cond: impl Fn() -> bool) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while !cond() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("condition not reached within 10 s");
    }

    async fn release(worker: &Arc<ModelWorker<Gate>>) {
        let w = Arc::clone(worker);
        tokio::task::spawn_blocking(move || {
            w.model().release.wait();
        })
        .await
        .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refuses_beyond_queue_and_caps_concurrency() {
        let gate = Gate {
            // Two jobs run at once; the barrier also includes the test thread.
            release: Barrier::new(3),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        };
        let worker = Arc::new(ModelWorker::new(
            "gate",
            gate,
            WorkerLimits {
                concurrency: 2,
                queue: 3,
            },
        ));
        let mut jobs = Vec::new();
        for _ in 0..3 {
            let w = Arc::clone(&worker);
            jobs.push(tokio::spawn(async move { w.run(|g| g.work()).await }));
        }
        wait_until(|| {
            worker.in_flight() == 3 && worker.model().running.load(Ordering::SeqCst) == 2
        })
        .await;
        assert_eq!(worker.waiting(), 1, "two run, the third waits its turn");

        let refused = worker.run(|g| g.work()).await;
        assert_eq!(
            refused,
            Err(WorkerError::Busy {
                model: "gate",
                queue: 3
            })
        );

        // Round one: the test joins the barrier and frees the two running jobs; the
        // queued third starts. Round two: a fourth job and the test free it.
        release(&worker).await;
        wait_until(|| {
            worker.in_flight() == 1 && worker.model().running.load(Ordering::SeqCst) == 1
        })
        .await;
        assert_eq!(worker.waiting(), 0);
        let w = Arc::clone(&worker);
        jobs.push(tokio::spawn(async move { w.run(|g| g.work()).await }));
        wait_until(|| worker.model().running.load(Ordering::SeqCst) == 2).await;
        release(&worker).await;
        for job in jobs {
            assert!(job.await.unwrap().is_ok());
        }
        assert_eq!(worker.model().peak.load(Ordering::SeqCst), 2);
        assert_eq!(worker.in_flight(), 0, "admissions are released");
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_not_a_crash() {
        let worker = ModelWorker::new(
            "boom",
            (),
            WorkerLimits {
                concurrency: 1,
                queue: 1,
            },
        );
        let result: Result<(), _> = worker.run(|_| panic!("model bug")).await;
        assert_eq!(
            result,
            Err(WorkerError::Crashed {
                model: "boom",
                reason: "inference panicked"
            })
        );
        assert_eq!(worker.run(|_| 7).await, Ok(7), "the worker still serves");
    }
}
