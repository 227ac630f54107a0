//! `GET /openapi.json`: the OpenAPI 3.1 document of every route, built by utoipa
//! from the handlers' `#[utoipa::path]` attributes and the body types'
//! `ToSchema` derives. The canonical API is listed at both prefixes the router
//! mounts it at (`/` and `/v1`); the responses any route may get from the
//! protection layers are added by [`layers`].

pub mod bodies;
mod layers;
pub mod openai_bodies;

use axum::Json;
use serde_json::Value;
use utoipa::OpenApi;

use super::{
    chat_completions, embed, feedback, health, ingest_media, llm, meta, openai_audio,
    openai_embeddings, probes, simple_nlp, stt, tts,
};
use crate::error::ApiError;

/// The canonical Hermes API (routed at `/` and under `/v1`).
#[derive(OpenApi)]
#[openapi(
    paths(
    meta::root,
    health::health,
    stt::stt,
    tts::tts,
    simple_nlp::simple_nlp,
    embed::embed_text,
    llm::llm,
    ingest_media::ingest_media,
    feedback::feedback,
    ),
    // Named by a query parameter's `value_type`, which utoipa does not collect.
    components(schemas(bodies::MediaType))
)]
struct CanonicalApi;

/// The routes served only at the root: probes, metrics, this document and the
/// OpenAI-compatible routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hermes API",
        description = "The Hermes runtime: the canonical Hermes API of Project LOGOS \
            (speech-to-text, text-to-speech, simple NLP, text embeddings, an LLM gateway, \
            media ingestion and feedback), served at `/` and under `/v1`, plus \
            OpenAI-compatible routes, probes and metrics. Errors are JSON: \
            `{\"detail\": ...}`, or OpenAI's `{\"error\": {...}}` on the OpenAI routes. \
            Generated from the code."
    ),
    paths(
        probes::livez,
        probes::readyz,
        meta::metrics,
        openapi_json,
        chat_completions::create,
        chat_completions::models,
        openai_audio::transcriptions,
        openai_audio::speech,
        openai_embeddings::create,
    ),
    // What the `data` of a streamed completion's events holds.
    components(schemas(openai_bodies::ChatCompletionChunk, openai_bodies::StreamError)),
    tags(
        (name = "hermes", description = "The canonical Hermes API (also under `/v1`)"),
        (name = "openai", description = "OpenAI-compatible routes"),
        (name = "operations", description = "Probes, metrics and this document"),
    )
)]
struct RootApi;

/// The prefix the canonical API is also mounted at.
const V1: &str = "/v1";

/// The whole document, as served.
pub fn document() -> Result<Value, serde_json::Error> {
    let mut doc = RootApi::openapi().merge_from(CanonicalApi::openapi());
    doc.info.version = crate::state::VERSION.to_owned();
    let v1 = CanonicalApi::openapi();
    let doc = doc.nest_with_path_composer(V1, v1, |base, path| match path {
        // axum's nest("/v1", ..) routes the nested "/" at "/v1".
        "/" => base.to_owned(),
        path => format!("{base}{path}"),
    });
    let mut doc = serde_json::to_value(doc)?;
    rename_v1_operations(&mut doc);
    layers::add_layer_responses(&mut doc);
    Ok(doc)
}

/// Operation ids are unique in a document: the `/v1` copies get a `V1` suffix
/// (the routes served only under `/v1`, the OpenAI ones, keep theirs).
fn rename_v1_operations(doc: &mut Value) {
    let canonical: Vec<String> = CanonicalApi::openapi().paths.paths.into_keys().collect();
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(rest) = path.strip_prefix(V1) else {
            continue;
        };
        let rest = if rest.is_empty() { "/" } else { rest };
        if !canonical.iter().any(|p| p == rest) {
            continue;
        }
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                op["operationId"] = Value::String(format!("{id}V1"));
            }
        }
    }
}

/// What `GET /openapi.json` answers (its schema is OpenAPI 3.1's own).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // the schema only
pub struct OpenApiDocument {
    /// `3.1.0`.
    openapi: String,
    #[schema(value_type = Object)]
    info: Value,
    #[schema(value_type = Object)]
    paths: Value,
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    summary = "This document",
    responses((status = 200, description = "The OpenAPI 3.1 document of every route", body = OpenApiDocument))
)]
pub async fn openapi_json() -> Result<Json<Value>, ApiError> {
    document()
        .map(Json)
        .map_err(|e| ApiError::Internal(format!("OpenAPI document: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves_and_operation_ids_are_unique() {
        let doc = document().expect("document");
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 50, "{}", found.len());
        let broken: Vec<&&str> = found
            .iter()
            .filter(|r| r.strip_prefix('#').and_then(|p| doc.pointer(p)).is_none())
            .collect();
        assert!(broken.is_empty(), "unresolvable: {broken:?}");
        let mut ids: Vec<&str> = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .flat_map(|item| item.as_object().expect("item").values())
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "duplicate operationId");
    }

    #[test]
    fn the_canonical_endpoints_are_documented_at_both_prefixes() {
        let doc = document().expect("document");
        for endpoint in super::super::meta::ENDPOINTS {
            for path in [endpoint.to_string(), format!("/v1{endpoint}")] {
                assert!(doc["paths"].get(&path).is_some(), "{path} missing");
            }
        }
    }
}
