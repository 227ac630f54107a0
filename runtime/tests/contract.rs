//! The rows of the contract's behaviour table this runtime covers
//! (`../shared/contracts/README.md`), against the real binary.

mod common;

use common::{MODEL_ID, Server};
use serde_json::{Value, json};

async fn detail_list(r: reqwest::Response) -> Vec<Value> {
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    body["detail"].as_array().expect("detail is a list").clone()
}

fn locs_and_types(details: &[Value]) -> Vec<(Value, String)> {
    details
        .iter()
        .map(|d| {
            assert!(d["msg"].is_string(), "{d}");
            (d["loc"].clone(), d["type"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn schema_errors_are_422_with_a_detail_list() {
    let s = Server::start_ready(&[]).await;

    let d = detail_list(
        s.post_raw("/embed_text", "application/json", "{\"text\": ")
            .await,
    )
    .await;
    assert_eq!(
        locs_and_types(&d),
        [(json!(["body", 9]), "json_invalid".into())]
    );

    let d = detail_list(
        s.post_json("/embed_text", &json!({"model": "default"}))
            .await,
    )
    .await;
    assert_eq!(
        locs_and_types(&d),
        [(json!(["body", "text"]), "missing".into())]
    );

    let d = detail_list(s.post_json("/embed_text", &json!({"text": 12345})).await).await;
    assert_eq!(
        locs_and_types(&d),
        [(json!(["body", "text"]), "string_type".into())]
    );
    assert_eq!(d[0]["msg"], "Input should be a valid string");
    assert_eq!(d[0]["input"], 12345);

    let d = detail_list(
        s.post_json("/embed_text", &json!({"text": "hi", "model": ["a"]}))
            .await,
    )
    .await;
    assert_eq!(
        locs_and_types(&d),
        [(json!(["body", "model"]), "string_type".into())]
    );

    let d = detail_list(s.post_json("/embed_text", &json!(["text"])).await).await;
    assert_eq!(
        locs_and_types(&d),
        [(json!(["body"]), "model_attributes_type".into())]
    );

    let d = detail_list(s.post_raw("/embed_text", "application/json", "").await).await;
    assert_eq!(locs_and_types(&d), [(json!(["body"]), "missing".into())]);

    // The /v1 prefix serves the same handler.
    let d = detail_list(s.post_json("/v1/embed_text", &json!({})).await).await;
    assert_eq!(
        locs_and_types(&d),
        [(json!(["body", "text"]), "missing".into())]
    );
}

#[tokio::test]
async fn blank_text_is_400_and_unknown_model_is_400_naming_the_available() {
    let s = Server::start_ready(&[]).await;
    for text in ["", "   ", "\n\t"] {
        let r = s.post_json("/embed_text", &json!({ "text": text })).await;
        assert_eq!(r.status(), 400, "{text:?}");
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"detail": "Text cannot be empty"})
        );
    }

    let r = s
        .post_json("/embed_text", &json!({"text": "hi", "model": "bert-huge"}))
        .await;
    assert_eq!(r.status(), 400);
    let detail = r.json::<Value>().await.unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains("bert-huge") && detail.contains(MODEL_ID),
        "{detail}"
    );
}

#[tokio::test]
async fn embed_text_answers_the_contract_shape_at_both_prefixes() {
    let s = Server::start_ready(&[]).await;
    for (path, model) in [("/embed_text", "default"), ("/v1/embed_text", MODEL_ID)] {
        let r = s
            .post_json(
                path,
                &json!({"text": "Hermes carries messages.", "model": model}),
            )
            .await;
        assert_eq!(r.status(), 200, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["dimension"], 384);
        assert_eq!(body["embedding"].as_array().unwrap().len(), 384);
        assert_eq!(body["model"], MODEL_ID);
        let id = body["embedding_id"].as_str().unwrap();
        assert_eq!(id.len(), 36, "a UUID: {id}");
        let norm: f64 = body["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap().powi(2))
            .sum::<f64>()
            .sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "unit length, got {norm}");
    }
}

#[tokio::test]
async fn unknown_paths_404_and_wrong_methods_405_with_detail_and_request_id() {
    let s = Server::start_ready(&[]).await;
    for path in ["/nope", "/v1/nope", "/v2/embed_text"] {
        let r = s.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert!(r.headers().contains_key("x-request-id"));
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"detail": "Not Found"})
        );
    }
    for path in ["/embed_text", "/v1/embed_text", "/feedback", "/stt"] {
        let r = s.get(path).await;
        assert_eq!(r.status(), 405, "{path}");
        assert!(r.headers().contains_key("x-request-id"));
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"detail": "Method Not Allowed"})
        );
    }
    let r = s.client.delete(s.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn root_and_health_describe_the_service() {
    let s = Server::start_ready(&[
        ("HERMES_MODELS", "all-minilm-l6-v2,smollm2-135m-instruct"),
        ("MILVUS_HOST", "milvus.data"),
        ("MILVUS_COLLECTION_NAME", "logos_vectors"),
    ])
    .await;
    for path in ["/", "/v1"] {
        let body: Value = s.get(path).await.json().await.unwrap();
        assert!(
            body["name"].is_string() && body["description"].is_string(),
            "{body}"
        );
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
        let endpoints = body["endpoints"].as_array().unwrap();
        assert!(endpoints.contains(&json!("/embed_text")), "{body}");
    }

    for path in ["/health", "/v1/health"] {
        let r = s.get(path).await;
        assert_eq!(r.status(), 200);
        let h: Value = r.json().await.unwrap();
        // Models ready but Milvus unreachable: degraded (embeddings still serve).
        assert_eq!(h["status"], "degraded");
        assert_eq!(h["service"], "hermes");
        assert_eq!(h["version"], env!("CARGO_PKG_VERSION"));
        assert!(h["timestamp"].as_str().unwrap().starts_with("20"), "{h}");
        let milvus = &h["dependencies"]["milvus"];
        assert_eq!(milvus["status"], "unavailable");
        assert_eq!(milvus["connected"], false);
        assert_eq!(milvus["details"]["host"], "milvus.data");
        assert_eq!(milvus["details"]["port"], 17530);
        assert_eq!(milvus["details"]["collection"], "logos_vectors");
        // The default provider is the local model, loaded and ready.
        let llm = &h["dependencies"]["llm"];
        assert_eq!(llm["status"], "healthy", "{llm}");
        assert_eq!(llm["connected"], true);
        assert_eq!(llm["details"]["provider"], "local");
        assert_eq!(
            h["capabilities"],
            json!({"stt": "unavailable", "tts": "unavailable", "nlp": "unavailable",
                   "embeddings": "available", "llm": "available"})
        );
        let model = &h["models"][0];
        assert_eq!(model["id"], MODEL_ID);
        assert!(model["load_seconds"].as_f64().unwrap() > 0.0);
        assert!(model["resident_bytes"].as_u64().unwrap() > 0);
    }

    let r = s.client.head(s.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    assert!(r.bytes().await.unwrap().is_empty(), "HEAD has no body");
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated_on_every_response() {
    let s = Server::start_ready(&[]).await;
    let cases: Vec<(reqwest::RequestBuilder, u16)> = vec![
        (s.client.get(s.url("/health")), 200),
        (s.client.get(s.url("/missing")), 404),
        (s.client.get(s.url("/embed_text")), 405),
        (s.client.post(s.url("/embed_text")).json(&json!({})), 422),
        (
            s.client
                .post(s.url("/embed_text"))
                .json(&json!({"text": " "})),
            400,
        ),
        (
            s.client.post(s.url("/llm")).json(&json!({"prompt": "hi"})),
            503,
        ),
    ];
    for (i, (request, status)) in cases.into_iter().enumerate() {
        let mine = format!("test-req-{i}");
        let template = request.try_clone().unwrap();
        let r = request.header("X-Request-ID", &mine).send().await.unwrap();
        assert_eq!(r.status(), status);
        assert_eq!(
            r.headers()["x-request-id"],
            mine.as_str(),
            "echoed on {status}"
        );

        let r = template.send().await.unwrap();
        let generated = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(generated.len(), 36, "a new UUID on {status}: {generated}");
        assert_ne!(generated, mine);
    }
}

#[tokio::test]
async fn cors_allows_any_origin_by_default_and_a_list_when_configured() {
    let s = Server::start_ready(&[]).await;
    let r = s
        .client
        .get(s.url("/health"))
        .header("Origin", "https://apollo.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let r = s
        .client
        .request(reqwest::Method::OPTIONS, s.url("/embed_text"))
        .header("Origin", "https://apollo.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "preflight: {}", r.status());
    assert!(r.headers().contains_key("access-control-allow-methods"));
    drop(s);

    let s = Server::start_ready(&[("HERMES_CORS_ORIGINS", "https://apollo.example")]).await;
    let r = s
        .client
        .get(s.url("/health"))
        .header("Origin", "https://apollo.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://apollo.example"
    );
    let r = s
        .client
        .get(s.url("/health"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!r.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn capabilities_not_built_answer_503_and_health_says_unavailable() {
    let s = Server::start_ready(&[]).await;
    // (/stt validates its multipart form first: a JSON body is a 422 there.)
    for path in ["/tts", "/simple_nlp", "/v1/tts"] {
        let r = s
            .post_json(path, &json!({"text": "hello", "prompt": "hi"}))
            .await;
        assert_eq!(r.status(), 503, "{path}");
        let detail = r.json::<Value>().await.unwrap()["detail"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            detail.contains("capability is not available"),
            "{path}: {detail}"
        );
    }
}

#[tokio::test]
async fn feedback_is_accepted_with_201_and_validated_with_422() {
    let s = Server::start_ready(&[]).await;
    let valid = json!({
        "feedback_type": "execution", "outcome": "partial", "reason": "step 2 failed",
        "correlation_id": "corr-1", "step_results": [
            {"step_index": 0, "action": "move", "outcome": "success", "duration_ms": 40},
            {"step_index": 1, "action": "grasp", "outcome": "failure", "error": "slipped"}],
        "state_diff": {"added_nodes": ["n1"], "removed_nodes": [], "modified_nodes": []},
        "node_ids_created": ["n1"], "timestamp": "2026-11-29T06:00:00Z"
    });
    for path in ["/feedback", "/v1/feedback"] {
        let r = s.post_json(path, &valid).await;
        assert_eq!(r.status(), 201, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["status"], "accepted");
        assert!(body["message"].is_string());
    }

    let d = detail_list(
        s.post_json(
            "/feedback",
            &json!({"feedback_type": "plan", "outcome": "accepted", "reason": "ok"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        locs_and_types(&d),
        [(json!(["body"]), "value_error".into())]
    );
    assert!(d[0]["msg"].as_str().unwrap().contains("correlation_id"));

    let d = detail_list(
        s.post_json(
            "/feedback",
            &json!({"feedback_type": "dream", "outcome": "accepted", "plan_id": "p"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        locs_and_types(&d),
        [
            (json!(["body", "feedback_type"]), "literal_error".into()),
            (json!(["body", "reason"]), "missing".into()),
        ]
    );

    let d = detail_list(
        s.post_json(
            "/feedback",
            &json!({"feedback_type": "plan", "outcome": "success", "reason": "r", "plan_id": "p",
                    "step_results": [{"step_index": 0, "outcome": "skipped"}], "node_ids_created": "n1"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        locs_and_types(&d),
        [
            (
                json!(["body", "step_results", 0, "action"]),
                "missing".into()
            ),
            (json!(["body", "node_ids_created"]), "list_type".into()),
        ]
    );
}
