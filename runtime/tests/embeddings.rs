//! Embeddings over HTTP are the real model: they match an independent reference
//! and rank related sentences above unrelated ones.

mod common;

use common::{Server, cosine, vector_of};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Fixture {
    model: String,
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    text: String,
    embedding: Vec<f32>,
}

fn fixture() -> Fixture {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/minilm_reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (written by scripts/make_reference_embeddings.py)",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("fixture format: {model, items: [{text, embedding}]}")
}

#[tokio::test]
async fn vectors_match_the_independent_reference() {
    let fixture = fixture();
    assert!(fixture.items.len() >= 10, "at least 10 reference sentences");
    assert!(
        fixture
            .items
            .iter()
            .any(|i| i.text.split_whitespace().count() > 256),
        "one text is longer than 256 tokens"
    );
    let s = Server::start_ready(&[]).await;
    for item in &fixture.items {
        let r = s
            .post_json(
                "/embed_text",
                &json!({"text": item.text, "model": fixture.model}),
            )
            .await;
        assert_eq!(r.status(), 200, "{:?}", item.text);
        let got = vector_of(&r.json::<Value>().await.unwrap());
        let similarity = cosine(&got, &item.embedding);
        assert!(
            similarity >= 0.999,
            "cosine {similarity} for {:?}",
            item.text.chars().take(60).collect::<String>()
        );
    }
}

#[tokio::test]
async fn related_sentences_score_clearly_higher_than_unrelated() {
    let s = Server::start_ready(&[]).await;
    let cat = s.embed("A cat is sleeping on the sofa.").await;
    let kitten = s.embed("A kitten naps on the couch.").await;
    let bonds = s
        .embed("The central bank raised interest rates by half a point.")
        .await;
    let markets = s.embed("Stock markets fell after the rate hike.").await;

    let related = cosine(&cat, &kitten);
    let unrelated = cosine(&cat, &bonds);
    assert!(related > 0.6, "related pair: {related}");
    assert!(unrelated < 0.2, "unrelated pair: {unrelated}");
    assert!(related - unrelated > 0.4, "{related} vs {unrelated}");
    assert!(cosine(&bonds, &markets) > cosine(&bonds, &kitten) + 0.2);
}

#[tokio::test]
async fn the_same_text_gives_the_same_vector_and_default_is_the_model() {
    let s = Server::start_ready(&[]).await;
    let a = s.embed("Deterministic inference.").await;
    let r = s
        .post_json(
            "/embed_text",
            &json!({"text": "Deterministic inference.", "model": "All-MiniLM-L6-v2"}),
        )
        .await;
    assert_eq!(r.status(), 200, "model ids match case-insensitively");
    let b = vector_of(&r.json::<Value>().await.unwrap());
    assert!(cosine(&a, &b) > 0.99999);
}

#[tokio::test]
async fn request_texts_are_never_logged_whole() {
    let s = Server::start_ready(&[]).await;
    let secret = "zebra-quartz-marker-7731 is a private sentence";
    s.embed(secret).await;
    let r = s
        .post_json(
            "/feedback",
            &json!({"feedback_type": "plan", "outcome": "accepted", "reason": secret, "plan_id": "p-1"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    // The access log line is written after the response; poll briefly for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let logs = loop {
        let logs = s.logs();
        if logs.contains("feedback received") || std::time::Instant::now() > deadline {
            break logs;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(logs.contains("feedback received"), "{logs}");
    assert!(logs.contains("text_chars"), "lengths are logged: {logs}");
    assert!(!logs.contains("zebra-quartz-marker-7731"), "{logs}");
}
