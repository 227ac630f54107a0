//! Dynamic batching for embedding models, as text-embeddings-inference does it.
//!
//! One queue per model. Callers tokenise their text, enqueue the token ids and await
//! the vector; the model's worker threads (one per ONNX Runtime session) take
//! batches off the queue: the oldest waiting request plus the requests closest to
//! it in length, bounded by a batch size and by a token budget that counts padding
//! (rows x longest row). While a worker computes, new requests pile up and form the
//! next batch; a worker that finds fewer than a full batch waits at most `max_wait`
//! (counted from the oldest request's arrival) for more. A forward pass that fails
//! is retried text by text, so a malformed input fails only its own request.
//! A bounded byte cache ([`EmbeddingCache`]) answers repeated texts without a pass.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tracing::Instrument;

use super::embedding_cache::EmbeddingCache;

/// A model the batcher can drive: tokenise one text, embed a padded batch.
pub trait BatchModel: Send + Sync + 'static {
    type Error: std::fmt::Display;

    /// Worker threads to run (forward passes that may run at once).
    fn workers(&self) -> usize;
    /// Token ids of one text, already truncated to [`Self::max_tokens_per_text`].
    fn tokenize(&self, text: &str) -> Result<Vec<u32>, Self::Error>;
    /// Longest token sequence one text may have.
    fn max_tokens_per_text(&self) -> usize;
    /// One vector per row, in order (blocking CPU work, on worker `worker`'s thread).
    fn forward(&self, worker: usize, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>, Self::Error>;
}

/// How requests are coalesced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSettings {
    /// Texts per forward pass at most.
    pub max_batch_size: usize,
    /// Tokens per forward pass at most, padding counted (rows x longest row).
    pub max_batch_tokens: usize,
    /// How long a worker holding less than a full batch waits for more, counted from
    /// the oldest waiting request's arrival.
    pub max_wait: Duration,
    /// Requests waiting at most; the next is refused as busy (a 503).
    pub max_queue: usize,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self {
            max_batch_size: 32,
            max_batch_tokens: 8192,
            max_wait: Duration::ZERO,
            max_queue: 1024,
        }
    }
}

#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    #[error("model {model} is busy: {queue} requests are already queued; retry later")]
    Busy { model: &'static str, queue: usize },
    #[error("model {model}: the input has {tokens} tokens; the model takes at most {max}")]
    TooLong {
        model: &'static str,
        tokens: usize,
        max: usize,
    },
    #[error("model {model}: tokenisation failed: {detail}")]
    Tokenize { model: &'static str, detail: String },
    #[error("model {model}: inference failed: {detail}")]
    Inference { model: &'static str, detail: String },
    #[error("model {model}: its batching workers have stopped")]
    Stopped { model: &'static str },
}

/// What one forward pass did, for `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRecord {
    /// Texts in the pass.
    pub size: usize,
    /// Rows x longest row: the tokens the pass computed, padding included.
    pub padded_tokens: usize,
    /// How long each text waited in the queue before its pass started.
    pub queue_times: Vec<Duration>,
    /// The forward pass (including any text-by-text retry).
    pub inference: Duration,
    /// Whether the batched pass failed (its texts were then run one by one).
    pub failed: bool,
}

/// Receives the batcher's measurements; `()` ignores them.
pub trait BatchObserver: Send + Sync + 'static {
    /// Requests waiting in the queue, after every enqueue and every batch taken.
    /// Called with the queue locked, so the last call is the current size: keep it
    /// cheap (set a gauge).
    fn queue_size(&self, _model: &'static str, _waiting: usize) {}
    /// One forward pass done.
    fn batch(&self, _model: &'static str, _record: &BatchRecord) {}
}

impl BatchObserver for () {}

/// A request's answer and how it was served (for its inference span).
struct Served {
    vector: Result<Vec<f32>, BatchError>,
    /// Time in the queue before its forward pass started.
    queued: Duration,
    /// Texts in that forward pass.
    batch_size: usize,
}

type Reply = oneshot::Sender<Served>;
type Waiting = oneshot::Receiver<Served>;

/// The longest queue wait and largest pass among a call's texts, for its span.
#[derive(Default)]
struct Waits(Option<(Duration, usize)>);

impl Waits {
    fn add(&mut self, queued: Duration, batch_size: usize) {
        let (q, b) = self.0.get_or_insert((queued, batch_size));
        *q = (*q).max(queued);
        *b = (*b).max(batch_size);
    }

    fn record(&self, span: &tracing::Span) {
        if let Some((queued, batch_size)) = self.0 {
            super::record_queue_time(span, queued);
            // Signed: tracing's unsigned values reach OpenTelemetry as strings.
            span.record("batch_size", i64::try_from(batch_size).unwrap_or(i64::MAX));
        }
    }
}

struct Entry {
    ids: Vec<u32>,
    enqueued: Instant,
    reply: Reply,
}

#[derive(Default)]
struct Queue {
    entries: VecDeque<Entry>,
    stopped: bool,
}

struct Shared<M> {
    name: &'static str,
    model: Arc<M>,
    settings: BatchSettings,
    observer: Arc<dyn BatchObserver>,
    queue: Mutex<Queue>,
    wake: Condvar,
    /// Requests in the forward passes running now.
    in_pass: AtomicUsize,
    /// Whether worker 0 (the primary: the fastest alone) is in a pass. The other
    /// workers take a batch only while it is, or when more than a batch waits.
    primary_busy: AtomicBool,
}

impl<M> Shared<M> {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A model behind its batching queue and worker threads; dropping it stops the
/// workers (requests still waiting get [`BatchError::Stopped`]).
pub struct Batcher<M: BatchModel> {
    shared: Arc<Shared<M>>,
    cache: Arc<EmbeddingCache>,
}

impl<M: BatchModel> std::fmt::Debug for Batcher<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("name", &self.shared.name)
            .field("settings", &self.shared.settings)
            .field("waiting", &self.waiting())
            .finish_non_exhaustive()
    }
}

impl<M: BatchModel> Drop for Batcher<M> {
    fn drop(&mut self) {
        self.shared.lock().stopped = true;
        self.shared.wake.notify_all();
    }
}

impl<M: BatchModel> Batcher<M> {
    /// Starts `model.workers()` worker threads for `model` (named `name` in errors,
    /// metrics and cache keys). `cache` may be shared by several models.
    pub fn start(
        name: &'static str,
        model: Arc<M>,
        settings: BatchSettings,
        cache: Arc<EmbeddingCache>,
        observer: Arc<dyn BatchObserver>,
    ) -> Result<Self, std::io::Error> {
        let settings = BatchSettings {
            max_batch_size: settings.max_batch_size.max(1),
            max_batch_tokens: settings.max_batch_tokens.max(1),
            max_queue: settings.max_queue.max(1),
            ..settings
        };
        let shared = Arc::new(Shared {
            name,
            model,
            settings,
            observer,
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            in_pass: AtomicUsize::new(0),
            primary_busy: AtomicBool::new(false),
        });
        let batcher = Self { shared, cache };
        for worker in 0..batcher.shared.model.workers().max(1) {
            let shared = Arc::clone(&batcher.shared);
            std::thread::Builder::new()
                .name(format!("embed-{worker}"))
                .spawn(move || work(&shared, worker))?;
        }
        Ok(batcher)
    }

    pub fn name(&self) -> &'static str {
        self.shared.name
    }

    pub fn model(&self) -> &M {
        &self.shared.model
    }

    /// Requests waiting for a worker now.
    pub fn waiting(&self) -> usize {
        self.shared.lock().entries.len()
    }

    /// Requests waiting or in a forward pass now.
    pub fn in_flight(&self) -> usize {
        self.waiting() + self.shared.in_pass.load(Ordering::Acquire)
    }

    /// The vector of `text`: from the cache, else from a batched forward pass (in
    /// an [`super::inference_span`]).
    pub async fn embed(&self, text: &str) -> Result<Arc<[f32]>, BatchError> {
        if let Some(hit) = self.cache.get(self.shared.name, text) {
            return Ok(hit);
        }
        let span = super::inference_span(self.shared.name);
        let vector = async {
            let reply = self.submit(self.tokenize(text)?)?;
            let mut waits = Waits::default();
            let vector = self.receive(reply, &mut waits).await;
            waits.record(&span);
            vector
        }
        .instrument(span.clone())
        .await?;
        self.cache
            .insert(self.shared.name, text, Arc::clone(&vector));
        Ok(vector)
    }

    /// The vectors of `texts`, each with its own result: all are queued before any is
    /// awaited, so they share forward passes with each other and with other callers.
    /// Texts not in the cache run in one [`super::inference_span`] (its queue time
    /// is the longest any of them waited).
    pub async fn embed_many(&self, texts: &[&str]) -> Vec<Result<Arc<[f32]>, BatchError>> {
        let span = super::inference_span(self.shared.name);
        self.embed_many_in(texts, &span)
            .instrument(span.clone())
            .await
    }

    async fn embed_many_in(
        &self,
        texts: &[&str],
        span: &tracing::Span,
    ) -> Vec<Result<Arc<[f32]>, BatchError>> {
        enum Pending {
            Done(Result<Arc<[f32]>, BatchError>),
            Waiting(Waiting),
        }
        let pending: Vec<Pending> = texts
            .iter()
            .map(|text| match self.cache.get(self.shared.name, text) {
                Some(hit) => Pending::Done(Ok(hit)),
                None => match self.tokenize(text).and_then(|ids| self.submit(ids)) {
                    Ok(reply) => Pending::Waiting(reply),
                    Err(e) => Pending::Done(Err(e)),
                },
            })
            .collect();
        let mut out = Vec::with_capacity(pending.len());
        let mut waits = Waits::default();
        for (text, pending) in texts.iter().zip(pending) {
            out.push(match pending {
                Pending::Done(result) => result,
                Pending::Waiting(reply) => {
                    let result = self.receive(reply, &mut waits).await;
                    if let Ok(vector) = &result {
                        self.cache
                            .insert(self.shared.name, text, Arc::clone(vector));
                    }
                    result
                }
            });
        }
        waits.record(span);
        out
    }

    /// The vector of a token id sequence given by the caller (no cache).
    pub async fn embed_tokens(&self, ids: Vec<u32>) -> Result<Arc<[f32]>, BatchError> {
        let span = super::inference_span(self.shared.name);
        async {
            let reply = self.submit(ids)?;
            let mut waits = Waits::default();
            let vector = self.receive(reply, &mut waits).await;
            waits.record(&span);
            vector
        }
        .instrument(span.clone())
        .await
    }

    fn tokenize(&self, text: &str) -> Result<Vec<u32>, BatchError> {
        self.shared
            .model
            .tokenize(text)
            .map_err(|e| BatchError::Tokenize {
                model: self.shared.name,
                detail: e.to_string(),
            })
    }

    fn submit(&self, ids: Vec<u32>) -> Result<Waiting, BatchError> {
        let shared = &self.shared;
        let max = shared.model.max_tokens_per_text();
        if ids.len() > max {
            return Err(BatchError::TooLong {
                model: shared.name,
                tokens: ids.len(),
                max,
            });
        }
        let (reply, receiver) = oneshot::channel();
        {
            let mut queue = shared.lock();
            if queue.stopped {
                return Err(BatchError::Stopped { model: shared.name });
            }
            if queue.entries.len() >= shared.settings.max_queue {
                return Err(BatchError::Busy {
                    model: shared.name,
                    queue: queue.entries.len(),
                });
            }
            queue.entries.push_back(Entry {
                ids,
                enqueued: Instant::now(),
                reply,
            });
            shared.observer.queue_size(shared.name, queue.entries.len());
        }
        // All: a helper worker woken alone would leave the work to the idle primary.
        shared.wake.notify_all();
        Ok(receiver)
    }

    async fn receive(&self, reply: Waiting, waits: &mut Waits) -> Result<Arc<[f32]>, BatchError> {
        match reply.await {
            Ok(served) => {
                waits.add(served.queued, served.batch_size);
                served.vector.map(Arc::from)
            }
            Err(_) => Err(BatchError::Stopped {
                model: self.shared.name,
            }),
        }
    }
}

/// A worker thread: take a batch, run it, answer each request; until stopped.
fn work<M: BatchModel>(shared: &Shared<M>, worker: usize) {
    while let Some(batch) = next_batch(shared, worker) {
        shared.in_pass.fetch_add(batch.len(), Ordering::AcqRel);
        run(shared, worker, batch);
    }
}

/// Blocks until a batch is due; `None` once the batcher is stopped.
fn next_batch<M>(shared: &Shared<M>, worker: usize) -> Option<Vec<Entry>> {
    let settings = &shared.settings;
    let mut queue = shared.lock();
    loop {
        if queue.stopped {
            // Dropping the entries answers their callers with `Stopped`.
            queue.entries.clear();
            return None;
        }
        // Callers that went away (client disconnected) need no pass.
        let before = queue.entries.len();
        queue.entries.retain(|e| !e.reply.is_closed());
        if queue.entries.len() != before {
            shared.observer.queue_size(shared.name, queue.entries.len());
        }
        let Some(oldest) = queue.entries.front() else {
            queue = shared
                .wake
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
            continue;
        };
        let due = oldest.enqueued + settings.max_wait;
        let now = Instant::now();
        let tokens: usize = queue.entries.iter().map(|e| e.ids.len()).sum();
        let full =
            queue.entries.len() >= settings.max_batch_size || tokens >= settings.max_batch_tokens;
        if !full && now < due {
            queue = shared
                .wake
                .wait_timeout(queue, due - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            continue;
        }
        if worker != 0 && !full && !shared.primary_busy.load(Ordering::Acquire) {
            // The idle primary serves this faster alone (`submit` woke it too).
            queue = shared
                .wake
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
            continue;
        }
        let lengths: Vec<usize> = queue.entries.iter().map(|e| e.ids.len()).collect();
        let mut chosen = vec![false; lengths.len()];
        for i in select(&lengths, settings.max_batch_size, settings.max_batch_tokens) {
            chosen[i] = true;
        }
        let mut batch = Vec::new();
        let mut rest = VecDeque::with_capacity(queue.entries.len());
        for (entry, take) in queue.entries.drain(..).zip(chosen) {
            if take {
                batch.push(entry);
            } else {
                rest.push_back(entry);
            }
        }
        queue.entries = rest;
        shared.observer.queue_size(shared.name, queue.entries.len());
        if worker == 0 {
            shared.primary_busy.store(true, Ordering::Release);
        }
        if !queue.entries.is_empty() {
            // Another worker may take the rest now (it is busy-gated: wake them all).
            shared.wake.notify_all();
        }
        return Some(batch);
    }
}

/// Requests considered per batch: the oldest this many, so a long queue stays cheap
/// to scan and no request is passed over for long.
const SCAN_FACTOR: usize = 4;

/// Which queued requests (by index, 0 = oldest) form the next batch: the oldest
/// one, then repeatedly the waiting request closest in length to those chosen,
/// while the batch has at most `max_size` rows and `rows x longest` stays within
/// `max_tokens` (the oldest is taken even when it alone exceeds the budget).
pub fn select(lengths: &[usize], max_size: usize, max_tokens: usize) -> Vec<usize> {
    let n = lengths
        .len()
        .min(max_size.saturating_mul(SCAN_FACTOR).max(1));
    if n == 0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (lengths[i], i));
    let Some(anchor) = order.iter().position(|&i| i == 0) else {
        return Vec::new();
    };
    let (mut lo, mut hi) = (anchor, anchor);
    let mut width = lengths[0];
    let mut rows = 1;
    while rows < max_size {
        let fits = |len: usize| (rows + 1) * width.max(len) <= max_tokens;
        let below = lo
            .checked_sub(1)
            .map(|p| lengths[order[p]])
            .filter(|&len| fits(len));
        let above = order
            .get(hi + 1)
            .map(|&i| lengths[i])
            .filter(|&len| fits(len));
        match (below, above) {
            (Some(b), Some(a)) if lengths[order[lo]] - b <= a - width => lo -= 1,
            (Some(_), None) => lo -= 1,
            (_, Some(a)) => {
                hi += 1;
                width = width.max(a);
            }
            (None, None) => break,
        }
        rows += 1;
    }
    order[lo..=hi].to_vec()
}

/// Runs one batch and answers its requests; a failed pass is retried text by text.
fn run<M: BatchModel>(shared: &Shared<M>, worker: usize, batch: Vec<Entry>) {
    let started = Instant::now();
    let queue_times: Vec<Duration> = batch
        .iter()
        .map(|e| started.saturating_duration_since(e.enqueued))
        .collect();
    let rows: Vec<&[u32]> = batch.iter().map(|e| e.ids.as_slice()).collect();
    let padded_tokens = rows.len() * rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let inference_error = |e: M::Error| BatchError::Inference {
        model: shared.name,
        detail: e.to_string(),
    };
    let result = shared.model.forward(worker, &rows);
    let failed = !matches!(&result, Ok(v) if v.len() == batch.len());
    let answers: Vec<Result<Vec<f32>, BatchError>> = match result {
        Ok(vectors) if !failed => vectors.into_iter().map(Ok).collect(),
        Err(e) if batch.len() == 1 => vec![Err(inference_error(e))],
        _ => rows
            .iter()
            .map(|row| {
                let one = shared.model.forward(worker, std::slice::from_ref(row));
                match one {
                    Ok(mut v) if v.len() == 1 => Ok(v.remove(0)),
                    Ok(v) => Err(BatchError::Inference {
                        model: shared.name,
                        detail: format!("the model returned {} vectors for one text", v.len()),
                    }),
                    Err(e) => Err(inference_error(e)),
                }
            })
            .collect(),
    };
    let record = BatchRecord {
        size: batch.len(),
        padded_tokens,
        queue_times,
        inference: started.elapsed(),
        failed,
    };
    // Recorded before answering, so a caller that got its vector sees its pass counted,
    // and the primary free again (its next caller must not go to a helper).
    shared.observer.batch(shared.name, &record);
    shared.in_pass.fetch_sub(batch.len(), Ordering::AcqRel);
    if worker == 0 {
        shared.primary_busy.store(false, Ordering::Release);
    }
    let batch_size = batch.len();
    for ((entry, answer), queued) in batch.into_iter().zip(answers).zip(record.queue_times) {
        // The caller may have gone away; nothing to do then.
        let _ = entry.reply.send(Served {
            vector: answer,
            queued,
            batch_size,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_request_is_always_in_the_batch() {
        assert_eq!(select(&[300], 32, 100), vec![0]);
        let lengths = [40, 10, 10, 10];
        assert!(select(&lengths, 2, 1000).contains(&0));
        assert!(select(&[], 32, 100).is_empty());
    }

    #[test]
    fn similar_lengths_are_grouped_and_far_ones_wait() {
        // Oldest is 12 tokens; the 11 and 13 join before the 40s.
        let lengths = [12, 40, 11, 41, 13, 42];
        let mut got = select(&lengths, 3, 10_000);
        got.sort_unstable();
        assert_eq!(got, vec![0, 2, 4]);
    }

    #[test]
    fn padding_counts_against_the_token_budget() {
        // 4 rows x 50 = 200 > 150: the 50-token text does not join three 10s.
        let lengths = [10, 10, 50, 10];
        let mut got = select(&lengths, 32, 150);
        got.sort_unstable();
        assert_eq!(got, vec![0, 1, 3]);
        for (size, tokens) in [(1, 10), (2, 40), (8, 100), (32, 8192)] {
            let lengths: Vec<usize> = (0..100).map(|i| 5 + (i * 7) % 40).collect();
            let got = select(&lengths, size, tokens);
            let width = got.iter().map(|&i| lengths[i]).max().unwrap();
            assert!(got.len() <= size);
            assert!(got.len() == 1 || got.len() * width <= tokens, "{got:?}");
        }
    }

    #[test]
    fn a_full_batch_is_taken_when_everything_fits() {
        let lengths = vec![20; 100];
        assert_eq!(select(&lengths, 32, 8192).len(), 32);
    }

    /// Two workers; records which worker ran each pass. Worker 0's passes block while
    /// `hold` is set, so a test can keep the primary busy.
    struct TwoWorkers {
        passes: Mutex<Vec<usize>>,
        hold: std::sync::atomic::AtomicBool,
    }

    impl BatchModel for TwoWorkers {
        type Error = String;
        fn workers(&self) -> usize {
            2
        }
        fn tokenize(&self, text: &str) -> Result<Vec<u32>, String> {
            Ok(text.bytes().map(u32::from).collect())
        }
        fn max_tokens_per_text(&self) -> usize {
            256
        }
        fn forward(&self, worker: usize, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>, String> {
            self.passes.lock().map_err(|e| e.to_string())?.push(worker);
            let deadline = Instant::now() + std::time::Duration::from_secs(10);
            while worker == 0 && self.hold.load(Ordering::Acquire) && Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Ok(batch.iter().map(|ids| vec![ids.len() as f32]).collect())
        }
    }

    #[tokio::test]
    async fn the_primary_serves_alone_and_the_helper_joins_only_while_it_is_busy() {
        let model = Arc::new(TwoWorkers {
            passes: Mutex::new(Vec::new()),
            hold: std::sync::atomic::AtomicBool::new(false),
        });
        let batcher = Batcher::start(
            "two",
            Arc::clone(&model),
            BatchSettings::default(),
            Arc::new(EmbeddingCache::new(0)),
            Arc::new(()),
        )
        .unwrap();
        // One request at a time: every pass on the primary (worker 0, every core).
        for i in 0..20 {
            let v = batcher.embed(&"x".repeat(i + 1)).await.unwrap();
            assert_eq!(v[0], (i + 1) as f32);
        }
        assert_eq!(*model.passes.lock().unwrap(), vec![0; 20]);

        // The primary held in a pass: the next request goes to the helper.
        model.hold.store(true, Ordering::Release);
        let batcher = Arc::new(batcher);
        let held = tokio::spawn({
            let batcher = Arc::clone(&batcher);
            async move { batcher.embed("held").await }
        });
        while batcher.shared.in_pass.load(Ordering::Acquire) == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let v = batcher.embed("helped").await.unwrap();
        assert_eq!(v[0], 6.0);
        assert_eq!(
            model.passes.lock().unwrap().last(),
            Some(&1),
            "the helper ran it"
        );
        model.hold.store(false, Ordering::Release);
        assert_eq!(held.await.unwrap().unwrap()[0], 4.0);
    }
}
