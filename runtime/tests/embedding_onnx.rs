//! The ONNX all-MiniLM-L6-v2 embedder that serves `/embed_text` (model.onnx, built
//! by `make models` with scripts/minilm_to_onnx.py) and its batching queue, against
//! the real graph and the independent NumPy reference
//! (scripts/make_reference_embeddings.py).

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use hermes_engine::models::batcher::{
    BatchError, BatchObserver, BatchRecord, BatchSettings, Batcher,
};
use hermes_engine::models::embedding_cache::EmbeddingCache;
use hermes_engine::models::embedding_onnx::{OnnxEmbedder, OnnxEmbeddingSettings};
use serde::Deserialize;

const MIN_COSINE: f32 = 0.9999;
/// Long enough that a batch only runs once full: the tests choose what shares a pass.
const UNTIL_FULL: Duration = Duration::from_secs(120);

#[derive(Deserialize)]
struct Fixture {
    items: Vec<FixtureItem>,
}

#[derive(Deserialize)]
struct FixtureItem {
    text: String,
    embedding: Vec<f32>,
}

fn fixture() -> Vec<FixtureItem> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm_reference.json");
    let fixture: Fixture = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(fixture.items.len() >= 12, "fixture too small");
    fixture.items
}

/// Loaded once for the whole file: loading is the slow part.
fn embedder() -> Arc<OnnxEmbedder> {
    static EMBEDDER: OnceLock<Arc<OnnxEmbedder>> = OnceLock::new();
    Arc::clone(EMBEDDER.get_or_init(|| {
        let dir = common::installed_model_dir(common::MODEL_ID, "model.onnx");
        let settings = OnnxEmbeddingSettings {
            intra_threads: 2,
            ..OnnxEmbeddingSettings::default()
        };
        Arc::new(
            OnnxEmbedder::load(&dir, &settings)
                .unwrap_or_else(|e| panic!("loading {}: {e}", dir.display())),
        )
    }))
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

/// Keeps every batch the queue ran.
#[derive(Default)]
struct Batches(Mutex<Vec<BatchRecord>>);

impl BatchObserver for Batches {
    fn batch(&self, _model: &'static str, record: &BatchRecord) {
        self.0.lock().unwrap().push(record.clone());
    }
}

fn batcher(max_batch_size: usize, cache_bytes: usize) -> (Batcher<OnnxEmbedder>, Arc<Batches>) {
    let batches = Arc::new(Batches::default());
    let settings = BatchSettings {
        max_batch_size,
        max_wait: UNTIL_FULL,
        ..BatchSettings::default()
    };
    let batcher = Batcher::start(
        common::MODEL_ID,
        embedder(),
        settings,
        Arc::new(EmbeddingCache::new(cache_bytes)),
        Arc::clone(&batches) as Arc<dyn BatchObserver>,
    )
    .unwrap();
    (batcher, batches)
}

#[test]
fn each_text_alone_matches_the_numpy_reference() {
    let embedder = embedder();
    assert_eq!(embedder.dimension(), 384);
    for item in fixture() {
        let got = embedder.embed(&[&item.text]).unwrap().remove(0);
        let cos = cosine(&got, &item.embedding);
        assert!(cos >= MIN_COSINE, "cosine {cos} for {:?}", item.text);
    }
}

#[tokio::test]
async fn texts_batched_by_the_queue_equal_each_text_alone_and_the_reference() {
    let items = fixture();
    let (batcher, batches) = batcher(items.len(), 0);
    let texts: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
    let batched = batcher.embed_many(&texts).await;
    let sizes: Vec<usize> = batches.0.lock().unwrap().iter().map(|b| b.size).collect();
    assert_eq!(sizes, vec![items.len()], "one pass over every text");
    for (item, got) in items.iter().zip(batched) {
        let got = got.unwrap();
        let alone = embedder().embed(&[&item.text]).unwrap().remove(0);
        let vs_alone = cosine(&got, &alone);
        let vs_reference = cosine(&got, &item.embedding);
        assert!(
            vs_alone >= MIN_COSINE && vs_reference >= MIN_COSINE,
            "batched vs alone {vs_alone}, vs reference {vs_reference} for {:?}",
            item.text
        );
    }
}

#[tokio::test]
async fn a_malformed_input_in_a_batch_fails_only_itself() {
    let embedder = embedder();
    let good_a = embedder.tokenize("A man is playing a guitar.").unwrap();
    let good_b = embedder
        .tokenize("The stock market fell sharply today.")
        .unwrap();
    // A token id outside the 30522-word vocabulary (an API caller can send ids).
    let mut bad = good_a.clone();
    bad[2] = 999_999;
    let too_long = vec![101u32; 257];
    let (batcher, batches) = batcher(3, 0);
    let (a, bad, b, too_long) = futures::join!(
        batcher.embed_tokens(good_a.clone()),
        batcher.embed_tokens(bad),
        batcher.embed_tokens(good_b.clone()),
        batcher.embed_tokens(too_long),
    );
    match bad {
        Err(BatchError::Inference { detail, .. }) => assert!(detail.contains("999999"), "{detail}"),
        other => panic!("malformed ids gave {other:?}"),
    }
    assert!(
        matches!(
            too_long,
            Err(BatchError::TooLong {
                tokens: 257,
                max: 256,
                ..
            })
        ),
        "{too_long:?}"
    );
    let alone_a = embedder
        .embed(&["A man is playing a guitar."])
        .unwrap()
        .remove(0);
    let alone_b = embedder
        .embed(&["The stock market fell sharply today."])
        .unwrap()
        .remove(0);
    assert!(cosine(&a.unwrap(), &alone_a) >= MIN_COSINE);
    assert!(cosine(&b.unwrap(), &alone_b) >= MIN_COSINE);
    let records = batches.0.lock().unwrap();
    assert_eq!(
        records.len(),
        1,
        "the three valid-length inputs shared one pass"
    );
    assert!(records[0].failed && records[0].size == 3);
}

#[tokio::test]
async fn a_repeated_text_comes_from_the_cache_with_the_identical_vector() {
    let (batcher, batches) = batcher(1, 1 << 20);
    let first = batcher.embed("How do I reset my password?").await.unwrap();
    let second = batcher.embed("How do I reset my password?").await.unwrap();
    let other = batcher.embed("How do I reset my password").await.unwrap();
    assert_eq!(&*first, &*second);
    assert_ne!(&*first, &*other);
    assert_eq!(batches.0.lock().unwrap().len(), 2, "the repeat ran no pass");
}

#[test]
fn words_past_max_seq_length_never_reach_the_model() {
    let embedder = embedder();
    let long = fixture()
        .into_iter()
        .find(|i| i.text.split_whitespace().count() > 256)
        .expect("fixture holds a text longer than 256 tokens");
    let mut extended = long.text.clone();
    for _ in 0..20_000 {
        extended.push_str(" And then the tide went out, far beyond the reef.");
    }
    let ids = embedder.tokenize(&long.text).unwrap();
    assert_eq!(ids.len(), 256, "truncated at max_seq_length");
    assert_eq!(embedder.tokenize(&extended).unwrap(), ids);
    let got = embedder.embed(&[&extended]).unwrap().remove(0);
    let cos = cosine(&got, &long.embedding);
    assert!(cos >= MIN_COSINE, "cosine {cos}");
    let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "unit length: {norm}");
}
