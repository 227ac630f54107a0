//! `POST /stt`: multipart form with an `audio` file (any `audio/*` type), an
//! optional `language` hint (default `en-US`) and an optional `model` (`default`
//! or a model id); answers `{text, confidence}`.
//!
//! The route has no generic body limit: the upload is streamed and counted here,
//! so the limit is `HERMES_STT_MAX_BYTES` and an upload over it is refused with
//! 413 as soon as it is known (from `Content-Length`, or while reading: the body
//! itself is cut off past the limit, so a form without its boundary, which the
//! parser would otherwise buffer looking for one, cannot grow beyond it either).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::extract::multipart::{Field, Multipart, MultipartError};
use axum::extract::{FromRequest, Request, State};
use axum::http::header::CONTENT_LENGTH;
use bytes::{Bytes, BytesMut};
use serde::Serialize;
use serde_json::{Value, json};

use super::limited_body;
use super::openapi::bodies::{ErrorDetail, SttForm, ValidationError};
use crate::error::{ApiError, ValidationIssue};
use crate::protection::input;
use crate::state::AppState;
use hermes_engine::audio::{AudioError, AudioHint};
use hermes_engine::models::whisper::WhisperModelError;
use hermes_engine::services::stt::{self, SttError, SttRequest, Transcription};

/// The contract's answer to an upload whose content type is not `audio/*`.
pub const INVALID_FILE_TYPE: &str = "Invalid file type. Expected audio file.";
/// Room for the form's other fields and boundaries beyond the audio itself.
const FORM_OVERHEAD_BYTES: u64 = 64 * 1024;
/// Longest `language` or `model` value read.
const MAX_TEXT_FIELD_BYTES: usize = 256;

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = STTResponse)]
pub struct SttResponse {
    /// Transcribed text.
    text: String,
    /// Confidence score (0.0 to 1.0).
    confidence: f32,
}

#[utoipa::path(
    post,
    path = "/stt",
    operation_id = "speechToText",
    tag = "hermes",
    summary = "Speech-to-text",
    request_body(content = SttForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Transcription", body = SttResponse),
        (status = 400, description = "Not an audio upload, undecodable audio, or unknown language/model", body = ErrorDetail),
        (status = 413, description = "Upload or audio longer than the limits", body = ErrorDetail),
        (status = 422, description = "The `audio` field is missing", body = ValidationError),
        (status = 503, description = "No STT model served or loaded, or its queue is full", body = ErrorDetail),
    )
)]
pub async fn stt(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<SttResponse>, ApiError> {
    let mut form = read_audio_form(&state, request, "audio", &["language", "model"]).await?;
    let Some((bytes, hint)) = form.audio else {
        return Err(missing_field("audio"));
    };
    let upload_bytes = bytes.len();
    let model = form.fields.remove("model").unwrap_or_default();
    // Blank: the default model.
    if !model.trim().is_empty() {
        input::Checks::new(state.config.protection.max_text_chars)
            .model_id(input::field("model"), model.trim())
            .finish()?;
    }
    let request = SttRequest {
        audio: bytes,
        hint,
        language: form.fields.remove("language").unwrap_or_default(),
        model,
    };
    let done = stt::transcribe(&state.registry, &state.config.stt, request)
        .await
        .map_err(to_api_error)?;
    log_transcribed(&done, upload_bytes);
    Ok(Json(SttResponse {
        text: done.text,
        confidence: done.confidence,
    }))
}

pub(crate) fn log_transcribed(done: &Transcription, upload_bytes: usize) {
    tracing::info!(
        model = done.model,
        upload_bytes,
        audio_seconds = done.audio_seconds,
        text_chars = done.text.chars().count(),
        confidence = done.confidence,
        "audio transcribed"
    );
}

/// An audio upload form, read within `HERMES_STT_MAX_BYTES`.
pub(crate) struct AudioForm {
    /// The file field's bytes and what its part says about them.
    pub audio: Option<(Bytes, AudioHint)>,
    /// The text fields asked for that the form holds.
    pub fields: BTreeMap<String, String>,
}

/// Reads a multipart form whose `file_field` is an `audio/*` upload and whose
/// `text_fields` are short texts (other fields are read and dropped). The upload is
/// streamed and counted: a body over the limit is refused with 413 as soon as it is
/// known (from `Content-Length`, or while reading: the body itself is cut off past
/// the limit, so a form without its boundary cannot grow beyond it either).
pub(crate) async fn read_audio_form(
    state: &AppState,
    request: Request,
    file_field: &str,
    text_fields: &[&str],
) -> Result<AudioForm, ApiError> {
    let max_bytes = state.config.stt.max_bytes;
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared.filter(|len| *len > max_bytes + FORM_OVERHEAD_BYTES) {
        if len <= DRAIN_LIMIT_BYTES {
            drain_body(request.into_body()).await;
        }
        return Err(too_large(max_bytes));
    }
    let (parts, body) = request.into_parts();
    let (body, exceeded) = limited_body::limited(body, max_bytes + FORM_OVERHEAD_BYTES);
    let request = Request::from_parts(parts, body);
    // Like FastAPI, a body that is not a multipart form lacks the file field.
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|_| missing_field(file_field))?;

    let mut out = AudioForm {
        audio: None,
        fields: BTreeMap::new(),
    };
    let mut budget = Budget {
        max_audio: max_bytes,
        read: 0,
        exceeded,
    };
    while let Some(mut field) = form.next_field().await.map_err(|e| budget.form_error(e))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == file_field {
            let content_type = field.content_type().map(str::to_owned);
            let is_audio = content_type
                .as_deref()
                .is_some_and(|c| c.trim().to_ascii_lowercase().starts_with("audio/"));
            if !is_audio {
                // Read (and drop) the upload first: answering before the client
                // finished sending would reset the connection under it.
                budget.read(&mut field, max_bytes).await?;
                return Err(ApiError::BadRequest(INVALID_FILE_TYPE.into()));
            }
            let hint = AudioHint::new(content_type.as_deref(), field.file_name());
            let bytes = budget.read(&mut field, max_bytes).await?;
            out.audio = Some((bytes, hint));
        } else if text_fields.contains(&name.as_str()) {
            let text = budget.read_text(&mut field).await?;
            out.fields.insert(name, text);
        } else {
            budget.read(&mut field, FORM_OVERHEAD_BYTES).await?;
        }
    }
    Ok(out)
}

/// A refused upload is read and dropped up to this size (and [`DRAIN_TIMEOUT`]) before
/// the 413 goes out: answering while the client still sends resets the connection
/// under it, and the client sees a broken pipe instead of the 413. Larger uploads
/// are cut off at once.
const DRAIN_LIMIT_BYTES: u64 = 64 * 1024 * 1024;
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn drain_body(body: axum::body::Body) {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        let mut read = 0u64;
        while let Some(Ok(chunk)) = stream.next().await {
            read += chunk.len() as u64;
            if read > DRAIN_LIMIT_BYTES {
                break;
            }
        }
    })
    .await;
}

async fn drain_field(field: &mut Field<'_>) {
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        let mut read = 0u64;
        while let Ok(Some(chunk)) = field.chunk().await {
            read += chunk.len() as u64;
            if read > DRAIN_LIMIT_BYTES {
                break;
            }
        }
    })
    .await;
}

/// What the form may hold: the audio up to the limit, everything else a little.
struct Budget {
    max_audio: u64,
    read: u64,
    /// Set when the body was cut off at its limit.
    exceeded: Arc<AtomicBool>,
}

impl Budget {
    /// A parser error: 413 when the body passed its limit, else 400.
    fn form_error(&self, e: MultipartError) -> ApiError {
        if self.exceeded.load(Ordering::Acquire) {
            too_large(self.max_audio)
        } else {
            malformed(e)
        }
    }

    fn max_total(&self) -> u64 {
        self.max_audio + FORM_OVERHEAD_BYTES
    }

    /// Reads one field whole; the audio field may be `max_audio` bytes, the whole
    /// form `max_audio` plus the overhead.
    async fn read(&mut self, field: &mut Field<'_>, max_field: u64) -> Result<Bytes, ApiError> {
        let mut buffer = BytesMut::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| self.form_error(e))? {
            self.read += chunk.len() as u64;
            if buffer.len() as u64 + chunk.len() as u64 > max_field || self.read > self.max_total()
            {
                drain_field(field).await;
                return Err(too_large(self.max_audio));
            }
            buffer.extend_from_slice(&chunk);
        }
        Ok(buffer.freeze())
    }

    async fn read_text(&mut self, field: &mut Field<'_>) -> Result<String, ApiError> {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = self.read(field, FORM_OVERHEAD_BYTES).await?;
        if bytes.len() > MAX_TEXT_FIELD_BYTES {
            return Err(ApiError::BadRequest(format!(
                "Form field {name:?} is longer than {MAX_TEXT_FIELD_BYTES} bytes"
            )));
        }
        String::from_utf8(bytes.to_vec())
            .map_err(|_| ApiError::BadRequest(format!("Form field {name:?} is not UTF-8 text")))
    }
}

pub(crate) fn missing_field(name: &str) -> ApiError {
    ApiError::Validation(vec![ValidationIssue {
        loc: vec![json!("body"), json!(name)],
        msg: "Field required".into(),
        kind: "missing",
        input: Value::Null,
        ctx: None,
    }])
}

fn malformed(e: MultipartError) -> ApiError {
    ApiError::BadRequest(format!("Invalid multipart form: {}", e.body_text()))
}

fn too_large(max_bytes: u64) -> ApiError {
    ApiError::TooLarge(format!(
        "Audio file too large: the limit is {max_bytes} bytes"
    ))
}

pub(crate) fn to_api_error(err: SttError) -> ApiError {
    match err {
        SttError::Audio(e @ AudioError::TooLong { .. }) => ApiError::TooLarge(e.to_string()),
        SttError::Audio(e) => ApiError::BadRequest(e.to_string()),
        SttError::Language(e) => ApiError::BadRequest(e.to_string()),
        SttError::Model(e) => e.into(),
        SttError::Worker(e) => e.into(),
        SttError::Inference(WhisperModelError::NoSamples) => {
            ApiError::BadRequest(AudioError::NoSamples.to_string())
        }
        other => ApiError::Internal(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use hermes_engine::models::registry::ResolveError;
    use hermes_engine::models::whisper::LanguageError;
    use hermes_engine::models::worker::WorkerError;

    #[test]
    fn service_errors_map_to_contract_statuses() {
        let cases = [
            (
                SttError::Audio(AudioError::EmptyFile),
                StatusCode::BAD_REQUEST,
            ),
            (
                SttError::Audio(AudioError::UnknownFormat("x".into())),
                StatusCode::BAD_REQUEST,
            ),
            (
                SttError::Audio(AudioError::TooLong { max_seconds: 1.0 }),
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            (
                SttError::Language(LanguageError::Unknown("xx".into())),
                StatusCode::BAD_REQUEST,
            ),
            (
                SttError::Model(ResolveError::UnknownModel {
                    task: "stt",
                    requested: "x".into(),
                    available: vec!["default"],
                }),
                StatusCode::BAD_REQUEST,
            ),
            (
                SttError::Model(ResolveError::Loading { model: "m" }),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                SttError::Worker(WorkerError::Busy {
                    model: "m",
                    queue: 1,
                }),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                SttError::Inference(WhisperModelError::NoSamples),
                StatusCode::BAD_REQUEST,
            ),
            (
                SttError::Worker(WorkerError::Crashed {
                    model: "m",
                    reason: "inference panicked",
                }),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (err, status) in cases {
            let text = err.to_string();
            assert_eq!(to_api_error(err).status(), status, "{text}");
        }
    }
}
