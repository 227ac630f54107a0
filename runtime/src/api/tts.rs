//! `POST /tts`: `{text, voice?, language?}` -> `audio/wav` (16-bit PCM mono at the
//! voice's sample rate).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::openapi::bodies::{Binary, ErrorDetail, ValidationError};
use crate::error::ApiError;
use crate::extract::{Fields, FromJsonBody, ValidJson, parse};
use crate::protection::input;
use crate::state::AppState;
use hermes_engine::models::worker::WorkerError;
use hermes_engine::services::tts::{self, TtsError};

#[derive(Debug, utoipa::ToSchema)]
#[schema(as = TTSRequest)]
pub struct TtsRequest {
    /// Text to synthesize: not blank, at most `HERMES_MAX_TEXT_CHARS` characters (422
    /// beyond) and at most `HERMES_TTS_MAX_CHARS` (413 beyond).
    #[schema(pattern = r"\S")]
    text: String,
    /// `default` or an installed voice id.
    #[schema(
        required = false,
        default = "default",
        pattern = r"^[A-Za-z0-9_.-]+$",
        max_length = 128
    )]
    voice: String,
    /// Language code (e.g. "en-US").
    #[schema(required = false, default = "en-US")]
    language: String,
}

impl FromJsonBody for TtsRequest {
    const NAME: &'static str = "TTSRequest";
    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let text = f.required("text", parse::string);
        let voice = f.with_default("voice", || "default".to_owned(), parse::string);
        let language = f.with_default("language", || "en-US".to_owned(), parse::string);
        Some(Self {
            text: text?,
            voice: voice?,
            language: language?,
        })
    }
}

#[utoipa::path(
    post,
    path = "/tts",
    operation_id = "textToSpeech",
    tag = "hermes",
    summary = "Text-to-speech",
    request_body = TtsRequest,
    responses(
        (status = 200, description = "16-bit PCM mono WAV at the voice's rate", body = Binary, content_type = "audio/wav"),
        (status = 400, description = "Blank text, unknown voice or language, nothing to say", body = ErrorDetail),
        (status = 413, description = "Text longer than the limit", body = ErrorDetail),
        (status = 422, description = "Body not valid, text longer than `HERMES_MAX_TEXT_CHARS`, or voice id malformed", body = ValidationError),
        (status = 503, description = "No voice served or loaded, phonemizer missing, or queue full", body = ErrorDetail),
    )
)]
pub async fn tts(
    State(state): State<AppState>,
    ValidJson(req): ValidJson<TtsRequest>,
) -> Result<Response, TtsHttpError> {
    input::Checks::new(state.config.protection.max_text_chars)
        .text(input::field("text"), &req.text)
        .model_id(input::field("voice"), &req.voice)
        .finish()?;
    let text_chars = req.text.chars().count();
    let speech = tts::synthesize(
        &state.registry,
        req.text,
        &req.voice,
        &req.language,
        state.config.tts.max_chars,
        1.0,
    )
    .await
    .map_err(TtsHttpError::from)?;
    tracing::info!(
        voice = speech.voice,
        text_chars,
        audio_seconds = speech.seconds(),
        "speech synthesised"
    );
    Ok(([(CONTENT_TYPE, "audio/wav")], speech.wav).into_response())
}

/// A `/tts` failure: the shared API errors, plus statuses whose `detail` the
/// client should see (413 with the limit, 500 naming the failing phonemizer).
#[derive(Debug)]
pub enum TtsHttpError {
    Api(ApiError),
    Detailed(StatusCode, String),
}

impl From<ApiError> for TtsHttpError {
    fn from(e: ApiError) -> Self {
        TtsHttpError::Api(e)
    }
}

impl From<TtsError> for TtsHttpError {
    fn from(err: TtsError) -> Self {
        let detailed = |status, e: &TtsError| TtsHttpError::Detailed(status, e.to_string());
        match err {
            TtsError::EmptyText => ApiError::empty_text().into(),
            e @ TtsError::TooLong { .. } => detailed(StatusCode::PAYLOAD_TOO_LARGE, &e),
            e @ (TtsError::UnknownVoice { .. }
            | TtsError::Language { .. }
            | TtsError::NothingToSay) => ApiError::BadRequest(e.to_string()).into(),
            e @ (TtsError::Model(_)
            | TtsError::PhonemizerUnavailable(_)
            | TtsError::Worker(WorkerError::Busy { .. })) => {
                ApiError::Unavailable(e.to_string()).into()
            }
            e @ TtsError::PhonemizerFailed(_) => {
                tracing::error!(error = %e, "tts request failed");
                detailed(StatusCode::INTERNAL_SERVER_ERROR, &e)
            }
            e @ (TtsError::Worker(_) | TtsError::Synthesis(_)) => {
                ApiError::Internal(e.to_string()).into()
            }
        }
    }
}

impl IntoResponse for TtsHttpError {
    fn into_response(self) -> Response {
        match self {
            TtsHttpError::Api(e) => e.into_response(),
            TtsHttpError::Detailed(status, detail) => {
                (status, Json(json!({ "detail": detail }))).into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hermes_engine::models::piper::phonemize::PhonemizeError;
    use hermes_engine::models::registry::ResolveError;

    fn status_of(err: TtsError) -> StatusCode {
        TtsHttpError::from(err).into_response().status()
    }

    #[test]
    fn service_errors_map_to_statuses() {
        let cases = [
            (TtsError::EmptyText, StatusCode::BAD_REQUEST),
            (
                TtsError::TooLong { chars: 9, max: 8 },
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            (
                TtsError::UnknownVoice {
                    requested: "x".into(),
                    available: vec!["default"],
                },
                StatusCode::BAD_REQUEST,
            ),
            (TtsError::NothingToSay, StatusCode::BAD_REQUEST),
            (
                TtsError::Model(ResolveError::Loading { model: "v" }),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                TtsError::PhonemizerUnavailable(PhonemizeError::NotFound {
                    program: "espeak-ng".into(),
                }),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                TtsError::PhonemizerFailed(PhonemizeError::NotUtf8),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
            (
                TtsError::Worker(WorkerError::Busy {
                    model: "v",
                    queue: 1,
                }),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                TtsError::Worker(WorkerError::Crashed {
                    model: "v",
                    reason: "inference panicked",
                }),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (err, status) in cases {
            let text = err.to_string();
            assert_eq!(status_of(err), status, "{text}");
        }
    }
}
