//! Embedding series of `/metrics`: the batching queue's measurements (the engine's
//! [`BatchObserver`], handed to the model registry) and the shared cache's counters,
//! read from its [`CacheStats`] at each scrape.

use std::sync::{Arc, OnceLock};

use hermes_engine::models::batcher::{BatchObserver, BatchRecord};
use hermes_engine::models::embedding_cache::{CacheStats, EmbeddingCache};
use hermes_interface::metrics as names;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabel {
    model: &'static str,
}

type Histograms = Family<ModelLabel, Histogram, fn() -> Histogram>;

fn seconds_histogram() -> Histogram {
    Histogram::new(names::EMBEDDING_SECONDS_BUCKETS.iter().copied())
}

fn batch_histogram() -> Histogram {
    Histogram::new(names::EMBEDDING_BATCH_BUCKETS.iter().copied())
}

/// Queue size, batch sizes, queue and inference times of every embedding model.
#[derive(Debug)]
pub struct EmbeddingMetrics {
    queue_size: Family<ModelLabel, Gauge>,
    batch_size: Histograms,
    queue_seconds: Histograms,
    inference_seconds: Histograms,
    cache: Arc<CacheCollector>,
}

impl EmbeddingMetrics {
    /// Creates the series and registers them (the cache's once it is watched).
    pub fn register(registry: &mut Registry) -> Self {
        let queue_size = Family::<ModelLabel, Gauge>::default();
        registry.register(
            names::EMBEDDING_QUEUE_SIZE,
            "Embedding requests waiting in the model's batching queue",
            queue_size.clone(),
        );
        let batch_size: Histograms = Family::new_with_constructor(batch_histogram);
        registry.register(
            names::EMBEDDING_BATCH_SIZE,
            "Texts per embedding forward pass",
            batch_size.clone(),
        );
        let queue_seconds: Histograms = Family::new_with_constructor(seconds_histogram);
        registry.register(
            names::EMBEDDING_QUEUE_SECONDS,
            "Seconds each embedding request waited in the queue before its forward pass",
            queue_seconds.clone(),
        );
        let inference_seconds: Histograms = Family::new_with_constructor(seconds_histogram);
        registry.register(
            names::EMBEDDING_INFERENCE_SECONDS,
            "Seconds of each embedding forward pass",
            inference_seconds.clone(),
        );
        let cache = Arc::new(CacheCollector::default());
        registry.register_collector(Box::new(Arc::clone(&cache)));
        Self {
            queue_size,
            batch_size,
            queue_seconds,
            inference_seconds,
            cache,
        }
    }

    /// Reports `cache`'s counters at every scrape from now on (the first call wins).
    pub fn watch_cache(&self, cache: Arc<EmbeddingCache>) {
        let _ = self.cache.0.set(cache);
    }
}

impl BatchObserver for EmbeddingMetrics {
    fn queue_size(&self, model: &'static str, waiting: usize) {
        self.queue_size
            .get_or_create(&ModelLabel { model })
            .set(i64::try_from(waiting).unwrap_or(i64::MAX));
    }

    fn batch(&self, model: &'static str, record: &BatchRecord) {
        let label = ModelLabel { model };
        self.batch_size
            .get_or_create(&label)
            .observe(record.size as f64);
        let queue = self.queue_seconds.get_or_create(&label);
        for waited in &record.queue_times {
            queue.observe(waited.as_secs_f64());
        }
        self.inference_seconds
            .get_or_create(&label)
            .observe(record.inference.as_secs_f64());
    }
}

/// The cache's counters as they are at the scrape.
#[derive(Debug, Default)]
struct CacheCollector(OnceLock<Arc<EmbeddingCache>>);

/// prometheus-client appends `_total` to counters itself.
fn counter_name(full: &'static str) -> &'static str {
    full.strip_suffix("_total").unwrap_or(full)
}

impl Collector for CacheCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(cache) = self.0.get() else {
            return Ok(());
        };
        let CacheStats {
            hits,
            misses,
            evictions,
            bytes,
            ..
        } = cache.stats();
        for (name, help, value) in [
            (
                names::EMBEDDING_CACHE_HITS_TOTAL,
                "Embedding requests answered from the cache",
                hits,
            ),
            (
                names::EMBEDDING_CACHE_MISSES_TOTAL,
                "Embedding requests the cache could not answer",
                misses,
            ),
            (
                names::EMBEDDING_CACHE_EVICTIONS_TOTAL,
                "Embedding cache entries evicted to stay within its byte bound",
                evictions,
            ),
        ] {
            let counter = ConstCounter::new(value);
            let metric =
                encoder.encode_descriptor(counter_name(name), help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        let gauge = ConstGauge::new(i64::try_from(bytes).unwrap_or(i64::MAX));
        let metric = encoder.encode_descriptor(
            names::EMBEDDING_CACHE_BYTES,
            "Bytes the embedding cache holds",
            None,
            gauge.metric_type(),
        )?;
        gauge.encode(metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn batches_and_cache_counters_are_exported() {
        let mut registry = Registry::default();
        let metrics = EmbeddingMetrics::register(&mut registry);
        let cache = Arc::new(EmbeddingCache::new(1 << 20));
        metrics.watch_cache(Arc::clone(&cache));
        assert!(cache.get("m", "text").is_none());
        cache.insert("m", "text", Arc::from(vec![0.5f32; 4]));
        assert!(cache.get("m", "text").is_some());
        metrics.queue_size("m", 3);
        metrics.batch(
            "m",
            &BatchRecord {
                size: 2,
                padded_tokens: 20,
                queue_times: vec![Duration::from_millis(2), Duration::from_millis(30)],
                inference: Duration::from_millis(4),
                failed: false,
            },
        );
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        for expected in [
            r#"hermes_embedding_queue_size{model="m"} 3"#,
            r#"hermes_embedding_batch_size_bucket{model="m",le="2"} 1"#,
            r#"hermes_embedding_batch_size_bucket{model="m",le="1"} 0"#,
            r#"hermes_embedding_queue_seconds_count{model="m"} 2"#,
            r#"hermes_embedding_inference_seconds_bucket{model="m",le="0.005"} 1"#,
            "hermes_embedding_cache_hits_total 1",
            "hermes_embedding_cache_misses_total 1",
            "hermes_embedding_cache_evictions_total 0",
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
    }
}
