//! `POST /simple_nlp` over HTTP against the real en_core_web_sm pipeline: operations, spaCy's
//! answers, contract errors (422 before 400 before 503), health.

mod common;

use common::{Server, installed_model_dir};
use serde_json::{Value, json};

const NLP_MODEL: &str = "en-core-web-sm";

async fn nlp_server() -> Server {
    installed_model_dir(NLP_MODEL, "ner/model");
    Server::start_ready(&[("HERMES_MODELS", NLP_MODEL)]).await
}

#[tokio::test]
async fn default_operation_is_tokenize_only() {
    let s = nlp_server().await;
    let r = s
        .post_json(
            "/simple_nlp",
            &json!({"text": "Apple is looking at buying a U.K. startup for $1 billion."}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"tokens": ["Apple", "is", "looking", "at", "buying", "a", "U.K.", "startup", "for", "$", "1", "billion", "."]})
    );
}

/// spaCy 3.8 with en_core_web_sm answers exactly this for the sentence.
#[tokio::test]
async fn all_operations_answer_as_spacy_does() {
    let s = nlp_server().await;
    let text = "Barack Obama was born in Hawaii on August 4, 1961.";
    let r = s
        .post_json(
            "/simple_nlp",
            &json!({"text": text, "operations": ["tokenize", "pos_tag", "lemmatize", "ner"]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let tags: Vec<(String, String)> = body["pos_tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["token"].as_str().unwrap().to_owned(),
                p["tag"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = [
        ("Barack", "PROPN"),
        ("Obama", "PROPN"),
        ("was", "AUX"),
        ("born", "VERB"),
        ("in", "ADP"),
        ("Hawaii", "PROPN"),
        ("on", "ADP"),
        ("August", "PROPN"),
        ("4", "NUM"),
        (",", "PUNCT"),
        ("1961", "NUM"),
        (".", "PUNCT"),
    ];
    assert_eq!(tags, want.map(|(a, b)| (a.to_owned(), b.to_owned())));
    assert_eq!(
        body["lemmas"],
        json!([
            "Barack", "Obama", "be", "bear", "in", "Hawaii", "on", "August", "4", ",", "1961", "."
        ])
    );
    assert_eq!(
        body["entities"],
        json!([
            {"text": "Barack Obama", "label": "PERSON", "start": 0, "end": 12},
            {"text": "Hawaii", "label": "GPE", "start": 25, "end": 31},
            {"text": "August 4, 1961", "label": "DATE", "start": 35, "end": 49}
        ])
    );
    assert_eq!(&text[35..49], "August 4, 1961");
}

#[tokio::test]
async fn only_requested_fields_are_returned() {
    let s = nlp_server().await;
    let r = s
        .post_json(
            "/simple_nlp",
            &json!({"text": "Paris is nice.", "operations": ["ner"]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"entities": [{"text": "Paris", "label": "GPE", "start": 0, "end": 5}]})
    );
}

#[tokio::test]
async fn invalid_operations_and_empty_text_are_400() {
    let s = nlp_server().await;
    let r = s
        .post_json(
            "/simple_nlp",
            &json!({"text": "Hello.", "operations": ["tokenize", "parse"]}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let detail = r.json::<Value>().await.unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(detail.contains("parse"), "{detail}");
    assert!(
        detail.contains("tokenize, pos_tag, lemmatize, ner"),
        "{detail}"
    );
    for text in ["", "  \n "] {
        let r = s.post_json("/simple_nlp", &json!({"text": text})).await;
        assert_eq!(r.status(), 400);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"detail": "Text cannot be empty"})
        );
    }
}

#[tokio::test]
async fn malformed_bodies_are_422_even_without_an_nlp_model() {
    // The default test server serves only the embedder: NLP is not available there.
    let bare = Server::start_ready(&[]).await;
    let served = nlp_server().await;
    for s in [&bare, &served] {
        for body in [
            json!({"text": 12345}),
            json!({"operations": ["tokenize"]}),
            json!({"text": "hi", "operations": "tokenize"}),
            json!({"text": "hi", "operations": [1]}),
        ] {
            let r = s.post_json("/simple_nlp", &body).await;
            assert_eq!(r.status(), 422, "{body}");
            assert!(
                r.json::<Value>().await.unwrap()["detail"].is_array(),
                "{body}"
            );
        }
    }
    let r = bare
        .post_json("/simple_nlp", &json!({"text": "hello"}))
        .await;
    assert_eq!(r.status(), 503);
}

#[tokio::test]
async fn health_and_readyz_report_the_nlp_model() {
    let s = nlp_server().await;
    let health: Value = s.get("/health").await.json().await.unwrap();
    assert_eq!(health["capabilities"]["nlp"], "available");
    let ready: Value = s.get("/readyz").await.json().await.unwrap();
    let model = ready["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == NLP_MODEL)
        .cloned()
        .unwrap_or_else(|| panic!("no {NLP_MODEL} in {ready}"));
    assert_eq!(model["state"], "ready");
    assert!(model["resident_bytes"].as_u64().unwrap() > 0, "{model}");
}
