//! The candle all-MiniLM-L6-v2 embedder against the real weights (`make models`)
//! and an independent NumPy reference (scripts/make_reference_embeddings.py).

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use hermes_engine::models::embedding::MiniLmEmbedder;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    model: String,
    max_seq_length: usize,
    items: Vec<FixtureItem>,
}

#[derive(Deserialize)]
struct FixtureItem {
    text: String,
    tokens: usize,
    embedding: Vec<f32>,
}

fn model_dir() -> PathBuf {
    common::installed_model_dir(common::MODEL_ID, "model.safetensors")
}

/// Loaded once for the whole file: loading is the slow part.
fn embedder() -> &'static MiniLmEmbedder {
    static EMBEDDER: OnceLock<MiniLmEmbedder> = OnceLock::new();
    EMBEDDER.get_or_init(|| {
        let dir = model_dir();
        MiniLmEmbedder::load(&dir).unwrap_or_else(|e| panic!("loading {}: {e}", dir.display()))
    })
}

fn fixture() -> Fixture {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm_reference.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let fixture: Fixture = serde_json::from_str(&text).unwrap();
    assert_eq!(fixture.model, "all-minilm-l6-v2");
    assert!(fixture.items.len() >= 12, "fixture too small");
    fixture
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

fn embed_one(text: &str) -> Vec<f32> {
    let mut out = embedder().embed(&[text]).unwrap();
    assert_eq!(out.len(), 1);
    out.remove(0)
}

#[test]
fn dimension_is_384() {
    assert_eq!(embedder().dimension(), 384);
    assert_eq!(embed_one("hello").len(), 384);
}

#[test]
fn each_text_alone_matches_the_numpy_reference() {
    for item in fixture().items {
        let got = embed_one(&item.text);
        let cos = cosine(&got, &item.embedding);
        assert!(cos >= 0.999, "cosine {cos} < 0.999 for {:?}", item.text);
    }
}

#[test]
fn one_mixed_length_batch_matches_the_numpy_reference() {
    // Lengths from 3 to 256 tokens in one call: short texts are padded, so any
    // mask or pooling mistake shows here and not in the one-by-one test.
    let items = fixture().items;
    let texts: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
    let got = embedder().embed(&texts).unwrap();
    assert_eq!(got.len(), items.len());
    for (vector, item) in got.iter().zip(&items) {
        let cos = cosine(vector, &item.embedding);
        assert!(
            cos >= 0.999,
            "batched cosine {cos} < 0.999 for {:?}",
            item.text
        );
    }
}

#[test]
fn vectors_have_unit_length() {
    let got = embedder()
        .embed(&[
            "short",
            "a somewhat longer sentence about unit vectors",
            "42",
        ])
        .unwrap();
    for v in got {
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
}

#[test]
fn related_sentences_score_higher_than_unrelated() {
    let anchor = embed_one("A man is playing a guitar.");
    let related = cosine(&anchor, &embed_one("Someone plays an instrument."));
    let unrelated = cosine(&anchor, &embed_one("The stock market fell sharply today."));
    assert!(
        related > 0.5 && unrelated < 0.2 && related - unrelated > 0.4,
        "related {related}, unrelated {unrelated}"
    );
}

#[test]
fn text_longer_than_max_seq_length_is_truncated_like_the_reference() {
    let fixture = fixture();
    let long = fixture
        .items
        .iter()
        .find(|i| i.tokens == fixture.max_seq_length)
        .expect("fixture holds a text truncated at max_seq_length");
    // Words past the 256th token cannot change the embedding.
    let extended = format!(
        "{} And then the tide went out, far beyond the reef.",
        long.text
    );
    let a = embed_one(&long.text);
    let b = embed_one(&extended);
    assert!(
        cosine(&a, &b) > 0.99999,
        "tail after truncation changed the vector"
    );
    assert!(cosine(&a, &long.embedding) >= 0.999);
}

#[test]
fn empty_input_gives_empty_output() {
    assert!(embedder().embed(&[]).unwrap().is_empty());
}

#[test]
fn same_text_twice_in_a_batch_gives_the_same_vector() {
    let got = embedder()
        .embed(&[
            "repeat me",
            "a much longer sentence in between the two",
            "repeat me",
        ])
        .unwrap();
    assert!(cosine(&got[0], &got[2]) > 0.99999);
    assert_eq!(got[0].len(), got[2].len());
}
