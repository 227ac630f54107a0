//! A bounded LRU cache of embeddings keyed by model id and exact text, bounded in bytes.
//!
//! One cache serves every embedding model of the process. An entry costs its key
//! (model id and text), its vector (4 bytes a value) and a fixed bookkeeping
//! overhead; inserting past the bound evicts the least recently used entries first.
//! Hits, misses and evictions are counted for `/metrics`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Bytes charged per entry besides its key and vector: hash-map slot, recency-index
/// node and the two reference-counted allocations' headers.
pub const ENTRY_OVERHEAD_BYTES: usize = 96;

/// Counters and size of the cache at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub entries: usize,
    pub bytes: usize,
    pub capacity_bytes: usize,
}

struct Slot {
    vector: Arc<[f32]>,
    last_used: u64,
    cost: usize,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Arc<str>, Slot>,
    /// Recency index: `last_used` tick to key, oldest first.
    order: BTreeMap<u64, Arc<str>>,
    tick: u64,
    bytes: usize,
}

/// The embedding cache; a capacity of 0 turns it off (nothing stored or counted).
pub struct EmbeddingCache {
    capacity: usize,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

impl std::fmt::Debug for EmbeddingCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddingCache")
            .field("stats", &self.stats())
            .finish()
    }
}

/// One key for model and text: the model id never contains a NUL.
fn key(model: &str, text: &str) -> String {
    let mut key = String::with_capacity(model.len() + 1 + text.len());
    key.push_str(model);
    key.push('\0');
    key.push_str(text);
    key
}

fn cost(key_len: usize, dimension: usize) -> usize {
    key_len + dimension * std::mem::size_of::<f32>() + ENTRY_OVERHEAD_BYTES
}

impl EmbeddingCache {
    pub fn new(capacity_bytes: usize) -> Self {
        Self {
            capacity: capacity_bytes,
            inner: Mutex::new(Inner::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The cached vector of `text` under `model`, marking it most recently used.
    pub fn get(&self, model: &str, text: &str) -> Option<Arc<[f32]>> {
        if !self.enabled() {
            return None;
        }
        let key = key(model, text);
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.tick += 1;
        let tick = inner.tick;
        let Inner { map, order, .. } = &mut *inner;
        match map.get_mut(key.as_str()) {
            Some(slot) => {
                if let Some(k) = order.remove(&slot.last_used) {
                    order.insert(tick, k);
                }
                slot.last_used = tick;
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(Arc::clone(&slot.vector))
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Stores `vector` for `text` under `model`, evicting the least recently used
    /// entries until it fits. An entry larger than the whole cache is not stored.
    pub fn insert(&self, model: &str, text: &str, vector: Arc<[f32]>) {
        let key: Arc<str> = Arc::from(key(model, text));
        let cost = cost(key.len(), vector.len());
        if !self.enabled() || cost > self.capacity {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.tick += 1;
        let tick = inner.tick;
        if let Some(old) = inner.map.remove(&key) {
            inner.order.remove(&old.last_used);
            inner.bytes -= old.cost;
        }
        while inner.bytes + cost > self.capacity {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            if let Some(slot) = inner.map.remove(&oldest) {
                inner.bytes -= slot.cost;
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        inner.order.insert(tick, Arc::clone(&key));
        inner.map.insert(
            key,
            Slot {
                vector,
                last_used: tick,
                cost,
            },
        );
        inner.bytes += cost;
    }

    pub fn stats(&self) -> CacheStats {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries: inner.map.len(),
            bytes: inner.bytes,
            capacity_bytes: self.capacity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(seed: f32) -> Arc<[f32]> {
        (0..384).map(|i| seed + i as f32).collect()
    }

    #[test]
    fn returns_the_stored_vector_for_the_same_model_and_text_only() {
        let cache = EmbeddingCache::new(1 << 20);
        let v = vector(1.0);
        cache.insert("minilm", "hello", Arc::clone(&v));
        assert_eq!(cache.get("minilm", "hello").as_deref(), Some(&*v));
        assert_eq!(cache.get("minilm", "hello "), None);
        assert_eq!(cache.get("other-model", "hello"), None);
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.entries), (1, 2, 1));
    }

    #[test]
    fn never_holds_more_bytes_than_its_bound_and_evicts_least_recently_used() {
        let one = cost(key("m", "text-00").len(), 384);
        let cache = EmbeddingCache::new(one * 3 + one / 2);
        for i in 0..3 {
            cache.insert("m", &format!("text-{i:02}"), vector(i as f32));
        }
        // Touch text-00 so text-01 is now the least recently used.
        assert!(cache.get("m", "text-00").is_some());
        cache.insert("m", "text-03", vector(3.0));
        let stats = cache.stats();
        assert_eq!(stats.entries, 3);
        assert_eq!(stats.evictions, 1);
        assert!(stats.bytes <= stats.capacity_bytes, "{stats:?}");
        assert!(cache.get("m", "text-01").is_none(), "LRU entry kept");
        assert!(
            cache.get("m", "text-00").is_some(),
            "recently used entry evicted"
        );
        for i in 4..40 {
            cache.insert("m", &format!("text-{i:02}"), vector(i as f32));
            let stats = cache.stats();
            assert!(stats.bytes <= stats.capacity_bytes, "{stats:?}");
        }
        assert_eq!(cache.stats().entries, 3);
    }

    #[test]
    fn an_entry_larger_than_the_cache_is_not_stored_and_zero_capacity_is_off() {
        let cache = EmbeddingCache::new(100);
        cache.insert("m", "t", vector(0.0));
        assert_eq!(cache.stats().entries, 0);
        let off = EmbeddingCache::new(0);
        off.insert("m", "t", vector(0.0));
        assert!(off.get("m", "t").is_none());
        assert_eq!(off.stats(), CacheStats::default());
    }

    #[test]
    fn replacing_an_entry_does_not_count_it_twice() {
        let cache = EmbeddingCache::new(1 << 20);
        cache.insert("m", "t", vector(0.0));
        let bytes = cache.stats().bytes;
        cache.insert("m", "t", vector(1.0));
        assert_eq!(cache.stats().bytes, bytes);
        assert_eq!(cache.get("m", "t").as_deref(), Some(&*vector(1.0)));
    }
}
