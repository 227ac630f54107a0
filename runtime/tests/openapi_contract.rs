//! `GET /openapi.json` against the canonical contract
//! (`../shared/contracts/hermes.openapi.yaml`): every path, method, parameter and
//! schema of the contract is in the served document and compatible with it (all
//! mismatches reported at once); every documented operation is routed; and the
//! comparison itself catches a missing field and a wrong type.

mod common;
mod openapi_support;

use std::path::Path;

use serde_json::{Value, json};

use common::Server;
use openapi_support::mismatches;

/// The contract, where the repository's sibling `shared/` holds it.
fn contract() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/contracts/hermes.openapi.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the contract {} cannot be read ({e}): the shared contracts live beside the repository, in ../shared/contracts/",
            path.display()
        )
    });
    serde_saphyr::from_str(&text).expect("the contract is valid YAML")
}

/// The document a server serves (no model needed: it is answered while loading).
async fn served(s: &Server) -> Value {
    let r = s.get("/openapi.json").await;
    assert_eq!(r.status(), 200, "GET /openapi.json");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("application/json"),
        "{:?}",
        r.headers()
    );
    r.json().await.expect("the document is JSON")
}

#[tokio::test]
async fn the_served_document_honours_the_contract_and_every_operation_is_routed() {
    let s = Server::start(&[]).await;
    let doc = served(&s).await;
    assert_eq!(
        doc["openapi"].as_str().map(|v| &v[..3]),
        Some("3.1"),
        "{}",
        doc["openapi"]
    );

    let found = mismatches(&contract(), &doc);
    assert!(
        found.is_empty(),
        "{} mismatches between the contract and /openapi.json:\n{}",
        found.len(),
        found.join("\n")
    );

    // Both prefixes of the canonical API, the OpenAI routes, probes and this document.
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/embed_text",
        "/v1/embed_text",
        "/v1",
        "/health",
        "/v1/health",
        "/ingest/media",
        "/v1/ingest/media",
        "/livez",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/v1/chat/completions",
        "/v1/models",
        "/v1/audio/transcriptions",
        "/v1/audio/speech",
        "/v1/embeddings",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    // Every documented operation is routed: never the router's 404 or 405.
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let r = s
                .client
                .request(m, s.url(path))
                .send()
                .await
                .expect("request");
            let status = r.status().as_u16();
            assert!(
                status != 404 && status != 405,
                "{method} {path} is documented but answers {status}"
            );
        }
    }
    // Every error the layers may add is documented with its JSON body.
    let embed = &doc["paths"]["/embed_text"]["post"]["responses"];
    for status in ["400", "401", "413", "422", "429", "500", "503"] {
        assert!(
            embed.get(status).is_some(),
            "POST /embed_text lacks {status}: {embed}"
        );
    }
}

#[tokio::test]
async fn the_document_needs_no_api_key() {
    let s = Server::start(&[("HERMES_API_KEYS", "ci:openapi-test-key")]).await;
    assert_eq!(
        s.get("/embed_text").await.status(),
        401,
        "keys are enforced"
    );
    let doc = served(&s).await;
    assert_eq!(
        doc["paths"]["/openapi.json"]["get"]["responses"].get("401"),
        None,
        "documented as open"
    );
    assert!(
        doc["paths"]["/v1/models"]["get"]["responses"]
            .get("401")
            .is_some()
    );
}

#[test]
fn the_comparison_reports_every_missing_field_and_wrong_type_at_once() {
    let contract = json!({"paths": {"/embed_text": {"post": {
        "parameters": [{"name": "trace", "in": "query", "schema": {"type": "string"}}],
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["text"],
            "properties": {"text": {"type": "string"}, "model": {"type": "string"}}}}}},
        "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/R"}}}}}
    }}, "/tts": {"post": {"responses": {}}}},
    "components": {"schemas": {"R": {"type": "object", "required": ["dimension"],
        "properties": {"dimension": {"type": "integer"}, "embedding": {"type": "array", "items": {"type": "number"}}}}}}});
    let served = json!({"paths": {"/embed_text": {"post": {
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["text", "model"],
            "properties": {"text": {"type": "integer"}, "model": {"type": "string"}}}}}},
        "responses": {"200": {"content": {"application/json": {"schema": {
            "type": "object", "properties": {"dimension": {"type": ["string", "null"]},
            "embedding": {"type": "array", "items": {"type": "string"}}}}}}}}
    }}}});
    let found = mismatches(&contract, &served);
    let expect = [
        "POST /tts: operation missing",
        "parameter trace (in query): missing",
        "request body application/json.text: type [\"string\"]",
        "request body application/json.model: required by the server",
        "response 200 application/json.dimension: type",
        "response 200 application/json.dimension: required by the contract",
        "response 200 application/json.embedding[]: type [\"string\"]",
        "schema R: no served component",
    ];
    for e in expect {
        assert!(
            found.iter().any(|f| f.contains(e)),
            "{e:?} not reported in {found:#?}"
        );
    }
    assert_eq!(found.len(), expect.len(), "{found:#?}");
    // The same document compared with itself has nothing to report.
    assert!(
        mismatches(&contract, &contract).is_empty(),
        "{:#?}",
        mismatches(&contract, &contract)
    );
}
