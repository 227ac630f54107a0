//! `POST /ingest/media?media_type=image|audio|video&question=...` (multipart
//! `file`): forwards the file to Sophia with provenance and answers Sophia's
//! record. Sophia's 4xx/5xx status passes through; Sophia unreachable, its
//! circuit open, or no token configured: 503. Audio is transcribed first (the
//! STT model), the transcription embedded and persisted like `/embed_text`'s,
//! then the file is forwarded; without an STT model audio answers a truthful 503.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use hermes_interface::Task;

use super::openapi::bodies::{
    ErrorDetail, IngestForm, IngestResponse, MediaType, PassedThroughError, ValidationError,
};
use crate::error::{ApiError, ValidationIssue};
use crate::protection::input;
use crate::state::AppState;
use crate::usecases::embed_and_store::{EmbedAndStoreError, embed_and_store};
use hermes_engine::audio::AudioHint;
use hermes_engine::services::stt::{self, SttRequest};
use hermes_upstreams::sophia::client::{MediaUpload, SophiaError};

/// Largest upload accepted on this route.
pub const MAX_UPLOAD_BYTES: usize = 100 * 1024 * 1024;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IngestQuery {
    /// `image`, `audio` or `video` (any case); 422 when missing or another value.
    #[param(required = true, value_type = MediaType)]
    media_type: Option<String>,
    /// Forwarded to Sophia with the file.
    question: Option<String>,
}

const MEDIA_TYPES: [&str; 3] = ["image", "audio", "video"];

#[utoipa::path(
    post,
    path = "/ingest/media",
    operation_id = "ingestMedia",
    tag = "hermes",
    summary = "Forward a media file to Sophia (audio: transcribed and embedded first)",
    params(IngestQuery),
    request_body(content = IngestForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Sophia's record of the file", body = IngestResponse),
        (status = 400, description = "Malformed upload, undecodable audio, or refused by Sophia", body = PassedThroughError),
        (status = 422, description = "Missing or invalid `media_type`, or no `file`", body = ValidationError),
        (status = 502, description = "Sophia failed (its 5xx status is passed through)", body = ErrorDetail),
        (status = 503, description = "Sophia unreachable or not configured, or no STT model for audio", body = ErrorDetail),
    )
)]
pub async fn ingest_media(
    State(state): State<AppState>,
    Query(query): Query<IngestQuery>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    match ingest(state, query, multipart).await {
        Ok(body) => Json(body).into_response(),
        Err(response) => response,
    }
}

async fn ingest(
    state: AppState,
    query: IngestQuery,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Value, Response> {
    let mut issues = Vec::new();
    let media_type = match query.media_type.as_deref().map(str::to_ascii_lowercase) {
        None => {
            issues.push(ValidationIssue {
                loc: vec![json!("query"), json!("media_type")],
                msg: "Field required".into(),
                kind: "missing",
                input: Value::Null,
                ctx: None,
            });
            None
        }
        Some(m) => match MEDIA_TYPES.iter().find(|t| **t == m) {
            Some(t) => Some(*t),
            None => {
                issues.push(ValidationIssue {
                    loc: vec![json!("query"), json!("media_type")],
                    msg: "Input should be 'image', 'audio' or 'video'".into(),
                    kind: "enum",
                    input: json!(query.media_type),
                    ctx: Some(json!({"expected": "'image', 'audio' or 'video'"})),
                });
                None
            }
        },
    };
    if let Some(question) = &query.question {
        let mut checks = input::Checks::new(state.config.protection.max_text_chars);
        checks.text(vec![json!("query"), json!("question")], question);
        issues.extend(checks.into_issues());
    }
    let file = match multipart {
        Ok(multipart) => read_file(multipart)
            .await
            .map_err(IntoResponse::into_response)?,
        Err(_) => None,
    };
    if file.is_none() {
        issues.push(ValidationIssue {
            loc: vec![json!("body"), json!("file")],
            msg: "Field required".into(),
            kind: "missing",
            input: Value::Null,
            ctx: None,
        });
    }
    let (Some(media_type), Some((file_name, content_type, bytes)), true) =
        (media_type, file, issues.is_empty())
    else {
        return Err(ApiError::Validation(issues).into_response());
    };

    let deliveries = &state.deliveries;
    let heard = if media_type == "audio" {
        Some(
            transcribe_and_embed(&state, &file_name, &content_type, &bytes)
                .await
                .map_err(IntoResponse::into_response)?,
        )
    } else {
        None
    };
    let size = bytes.len();
    let upload = MediaUpload {
        file_name,
        content_type,
        bytes,
        media_type,
        question: query.question,
    };
    match deliveries.sophia.ingest_media(upload).await {
        Ok(sophia) => {
            tracing::info!(media_type, bytes = size, "media forwarded to Sophia");
            Ok(json!({
                "sample_id": sophia.get("sample_id"),
                "file_path": sophia.get("file_path"),
                "media_type": media_type,
                "metadata": sophia.get("metadata"),
                "neo4j_node_id": sophia.get("neo4j_node_id"),
                "embedding_id": heard.as_ref().and_then(|h| h.embedding_id.clone()),
                "transcription": heard.as_ref().map(|h| h.text.clone()),
                "message": sophia.get("message").cloned().unwrap_or_else(|| json!("Media ingested")),
            }))
        }
        Err(SophiaError::Status { status, body }) if status >= 500 => {
            // Sophia's own failure: its status is passed through (the contract), its
            // body goes to the log, never to the client (it may name internals).
            tracing::warn!(status, media_type, body = %body, "Sophia failed on the media");
            let detail = format!("Media ingestion failed: the media service answered {status}");
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            Err((status, Json(json!({ "detail": detail }))).into_response())
        }
        Err(SophiaError::Status { status, body }) => {
            tracing::warn!(status, media_type, "Sophia refused the media");
            let detail = body.get("detail").cloned().unwrap_or(body);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            Err((status, Json(json!({ "detail": detail }))).into_response())
        }
        Err(e) => {
            tracing::warn!(error = %e, media_type, "media not forwarded to Sophia");
            Err(
                ApiError::Unavailable(format!("Media ingestion is unavailable: {e}"))
                    .into_response(),
            )
        }
    }
}

/// What an audio upload yielded before it is forwarded.
struct Heard {
    text: String,
    /// The transcription's embedding (stored like `/embed_text`'s); `None` when
    /// nothing was heard.
    embedding_id: Option<String>,
}

/// Audio: transcribe (needs the STT model), then embed and persist the
/// transcription like `/embed_text` does.
async fn transcribe_and_embed(
    state: &AppState,
    file_name: &str,
    content_type: &str,
    bytes: &bytes::Bytes,
) -> Result<Heard, ApiError> {
    if !state.registry.task_available(Task::Stt) {
        return Err(ApiError::Unavailable(
            "Audio ingestion needs speech-to-text (transcribe, then embed the transcription) and no STT model is loaded in this runtime; image and video are forwarded".into(),
        ));
    }
    let request = SttRequest {
        audio: bytes.clone(),
        hint: AudioHint::new(Some(content_type), Some(file_name)),
        language: String::new(),
        model: String::new(),
    };
    let heard = stt::transcribe(&state.registry, &state.config.stt, request)
        .await
        .map_err(super::stt::to_api_error)?;
    let text = heard.text.trim().to_owned();
    if text.is_empty() {
        return Ok(Heard {
            text,
            embedding_id: None,
        });
    }
    let stored = embed_and_store(state, text.clone(), "default")
        .await
        .map_err(|e| match e {
            EmbedAndStoreError::Embed(e) => {
                ApiError::Unavailable(format!("The transcription could not be embedded: {e}"))
            }
            EmbedAndStoreError::Store(e) => ApiError::Unavailable(format!(
                "The transcription's embedding could not be stored: {e}"
            )),
        })?;
    Ok(Heard {
        text,
        embedding_id: Some(stored.embedding.embedding_id),
    })
}

/// The `file` part: (file name, content type, bytes); other parts are ignored.
async fn read_file(
    mut multipart: Multipart,
) -> Result<Option<(String, String, bytes::Bytes)>, ApiError> {
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(None),
            Err(e) => return Err(upload_error(e)),
        };
        if field.name() != Some("file") {
            continue;
        }
        let file_name = field.file_name().unwrap_or("upload").to_owned();
        let content_type = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bytes = field.bytes().await.map_err(upload_error)?;
        return Ok(Some((file_name, content_type, bytes)));
    }
}

fn upload_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::BadRequest(format!("Invalid multipart body: {}", e.body_text()))
    }
}
