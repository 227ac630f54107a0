//! Opens the outboxes, creates the Milvus store, and starts the background
//! tasks (Milvus supervisor, replays); stops them on shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{DeliveryConfig, MilvusConfig, SophiaConfig};
use crate::outbound::DependencyTimeouts;
use crate::outbox::Outbox;
use crate::outbox::log::OutboxError;
use crate::outbox::replay::{self, Wakers};
use crate::persistence::embeddings::{EmbeddingPersistence, MilvusDeliverer, ReplayMetrics};
use crate::persistence::milvus::{DEPENDENCY as MILVUS, Dimension, MilvusStore};
use crate::resilience::backoff::Backoff;
use crate::resilience::metrics::DeliveryMetrics;
use crate::sophia::client::{DEPENDENCY as SOPHIA, SophiaClient};
use crate::sophia::proposals::{CompletedLlm, Proposal, ProposalDeliverer, ProposalQueue};

/// Everything that delivers to dependencies, shared by the handlers.
#[derive(Debug)]
pub struct Deliveries {
    pub embeddings: EmbeddingPersistence,
    pub sophia: SophiaClient,
    pub proposals: ProposalQueue,
    /// The replays' "dependency is back" signals: the drain at shutdown pulls them
    /// so that a backoff of up to `HERMES_RETRY_MAX_DELAY_MS` does not outlast it.
    retry_now: Vec<Arc<tokio::sync::Notify>>,
}

/// The running background tasks.
#[derive(Debug)]
pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    /// Stops every task; each finishes its current step (bounded by `grace`).
    /// Pending records stay in the outbox for the next start.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let all = futures::future::join_all(self.tasks);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!(
                "background deliveries did not stop in time; their records stay in the outbox"
            );
        }
    }
}

/// Opens the outboxes below `config.delivery.outbox_dir` and starts the tasks. With
/// `milvus_enabled` false (persistence switched off) nothing connects to Milvus and its
/// outbox is not replayed: records an earlier run queued stay there for a later one.
pub fn start(
    milvus_enabled: bool,
    milvus: &MilvusConfig,
    sophia: &SophiaConfig,
    delivery: &DeliveryConfig,
    http: reqwest::Client,
    metrics: &DeliveryMetrics,
) -> Result<(Arc<Deliveries>, Background), OutboxError> {
    let milvus_outbox = open(MILVUS, delivery)?;
    let sophia_outbox = open(SOPHIA, delivery)?;
    let store = Arc::new(MilvusStore::new(
        milvus.clone(),
        delivery.milvus_timeout,
        delivery.retry_max_delay,
        metrics,
    ));
    let embeddings = EmbeddingPersistence::new(
        Arc::clone(&store),
        Arc::clone(&milvus_outbox),
        metrics.clone(),
    );
    let wakers = Wakers {
        appended: Arc::clone(&embeddings.wake),
        recovered: Arc::clone(&store.recovered),
    };
    let (stop, stop_rx) = watch::channel(false);
    let backoff = Backoff::new(Duration::from_millis(200), delivery.retry_max_delay);
    let sophia = SophiaClient::new(http, sophia, DependencyTimeouts::default().sophia, metrics);
    let proposals = ProposalQueue::new(Arc::clone(&sophia_outbox), metrics.clone());
    let sophia_wakers = Wakers {
        appended: Arc::clone(&proposals.wake),
        recovered: Arc::new(tokio::sync::Notify::new()),
    };
    let retry_now = vec![
        Arc::clone(&wakers.recovered),
        Arc::clone(&sophia_wakers.recovered),
    ];
    let mut tasks = vec![tokio::spawn(replay::run(
        sophia_outbox,
        Arc::new(ProposalDeliverer {
            client: sophia.clone(),
        }),
        Arc::new(ReplayMetrics {
            dependency: SOPHIA,
            metrics: metrics.clone(),
        }),
        sophia_wakers,
        backoff,
        stop_rx.clone(),
    ))];
    if milvus_enabled {
        tasks.push(tokio::spawn(Arc::clone(&store).supervise(stop_rx.clone())));
        tasks.push(tokio::spawn(replay::run(
            milvus_outbox,
            Arc::new(MilvusDeliverer { store }),
            Arc::new(ReplayMetrics {
                dependency: MILVUS,
                metrics: metrics.clone(),
            }),
            wakers,
            backoff,
            stop_rx,
        )));
    } else {
        tracing::info!(
            pending = milvus_outbox.depth().records,
            "Milvus persistence is switched off (HERMES_FEATURES_DISABLED): not connecting; \
             records queued by an earlier run stay in its outbox"
        );
    }
    let deliveries = Deliveries {
        embeddings,
        sophia,
        proposals,
        retry_now,
    };
    Ok((Arc::new(deliveries), Background { stop, tasks }))
}

fn open(name: &'static str, delivery: &DeliveryConfig) -> Result<Arc<Outbox>, OutboxError> {
    let (outbox, recovery) = Outbox::open(
        name,
        &delivery.outbox_dir.join(name),
        delivery.outbox_limits,
    )?;
    if recovery.pending > 0 || recovery.truncated_bytes > 0 {
        tracing::info!(
            outbox = name,
            pending = recovery.pending,
            truncated_bytes = recovery.truncated_bytes,
            "outbox recovered: replaying"
        );
    }
    Ok(Arc::new(outbox))
}

/// How often [`Deliveries::drain`] looks at the outboxes and cuts a replay's
/// backoff short (a dependency still down fails fast on its open circuit).
const DRAIN_POLL: Duration = Duration::from_millis(500);

impl Deliveries {
    /// Records of both outboxes not acknowledged yet.
    pub fn pending_records(&self) -> u64 {
        self.embeddings.outbox.depth().records + self.proposals.outbox.depth().records
    }

    /// At shutdown, after the last request: lets the replays deliver what is queued,
    /// for `within` at most (a deleted pod's emptyDir goes with it). Returns the
    /// records left behind.
    pub async fn drain(&self, within: Duration) -> u64 {
        let deadline = tokio::time::Instant::now() + within;
        let started = self.pending_records();
        if started == 0 {
            return 0;
        }
        tracing::info!(
            pending = started,
            within_seconds = within.as_secs_f64(),
            "delivering the outbox before exiting"
        );
        loop {
            let left = self.pending_records();
            if left == 0 || tokio::time::Instant::now() >= deadline {
                return left;
            }
            for notify in &self.retry_now {
                notify.notify_one();
            }
            let rest = deadline.saturating_duration_since(tokio::time::Instant::now());
            tokio::time::sleep(DRAIN_POLL.min(rest)).await;
        }
    }

    /// Called once the models are loaded: the collection's dimension.
    pub fn models_loaded(&self, dimension: Option<usize>) {
        let dimension = match dimension.and_then(|d| u32::try_from(d).ok()) {
            Some(d) => Dimension::Known(d),
            None => Dimension::NoModel,
        };
        self.embeddings.store.set_dimension(dimension);
    }

    /// Whether a proposal could be queued now: `Err` with the reason when a Sophia
    /// token is set and the Sophia outbox is full, so that `/llm` answers 503 instead
    /// of producing an answer whose proposal would be lost. (Requests already running
    /// may still overflow it; those proposals are logged and counted as rejected.)
    pub fn check_proposal_room(&self) -> Result<(), OutboxError> {
        if self.sophia.has_token() {
            self.proposals.outbox.check_room()
        } else {
            Ok(())
        }
    }

    /// Call after each completed LLM answer. Returns at once; the proposal is
    /// queued in the background (only when a Sophia token is set, as the contract
    /// says).
    pub fn propose(self: &Arc<Self>, completion: CompletedLlm) {
        if !self.sophia.has_token() {
            return;
        }
        let deliveries = Arc::clone(self);
        tokio::spawn(async move {
            let proposal = Proposal::from_completion(&completion);
            if let Err(e) = deliveries.proposals.enqueue(&proposal).await {
                tracing::error!(error = %e, proposal_id = %proposal.proposal_id, correlation_id = %proposal.correlation_id, "Sophia proposal could not be queued: lost");
            }
        });
    }
}
