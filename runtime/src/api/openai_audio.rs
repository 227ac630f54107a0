//! OpenAI-compatible audio: `POST /v1/audio/transcriptions` (the `/stt` engine, its
//! limits and its worker) and `POST /v1/audio/speech` (the `/tts` engine). Model
//! names OpenAI clients send by default (`whisper-1`, `tts-1`, `tts-1-hd`,
//! `gpt-4o-mini-tts`) mean the default model; OpenAI's voice names mean the default
//! voice. Errors in OpenAI's shape.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use hermes_interface::Task;
use serde_json::json;

use super::openai_errors::{from_api_error, invalid, openai_error};
use super::openapi::bodies::Binary;
use super::openapi::openai_bodies::{OpenAiError, Transcription, TranscriptionForm};
use super::stt::{log_transcribed, missing_field, read_audio_form, to_api_error};
use super::tts::TtsHttpError;
use crate::extract::{Fields, FromJsonBody, ValidJson, parse};
use crate::protection::input;
use crate::state::AppState;
use hermes_engine::services::stt::{self, Segment, SttRequest};
use hermes_engine::services::tts;

/// OpenAI's model names that stand for this runtime's default model of the task.
const OPENAI_STT_MODELS: &[&str] = &["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"];
const OPENAI_TTS_MODELS: &[&str] = &["tts-1", "tts-1-hd", "gpt-4o-mini-tts"];
/// OpenAI's voices; each is served by the default voice.
const OPENAI_VOICES: &[&str] = &[
    "alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse",
];
const TRANSCRIPTION_FORMATS: &[&str] = &["json", "text", "verbose_json", "srt", "vtt"];

fn default_if_openai(name: Option<&str>, openai: &[&str]) -> String {
    match name.map(str::trim) {
        None | Some("") => "default".into(),
        Some(n) if openai.contains(&n) => "default".into(),
        Some(n) => n.to_owned(),
    }
}

/// `POST /v1/audio/transcriptions`: multipart `file`, `model`, `language`, `prompt`,
/// `temperature`, `response_format`. Whisper decodes greedily without a prompt here:
/// `prompt` and `temperature` are checked and otherwise not used.
#[utoipa::path(
    post,
    path = "/v1/audio/transcriptions",
    operation_id = "createTranscription",
    tag = "openai",
    summary = "OpenAI-compatible speech-to-text",
    request_body(content = TranscriptionForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The transcription in `response_format`", content(
            (Transcription = "application/json"),
            (String = "text/plain"),
            (String = "application/x-subrip"),
            (String = "text/vtt"),
        )),
        (status = 400, description = "Bad upload or field", body = OpenAiError),
        (status = 413, description = "Upload or audio longer than the limits", body = OpenAiError),
        (status = 503, description = "No STT model served or loaded, or its queue is full", body = OpenAiError),
    )
)]
pub async fn transcriptions(State(state): State<AppState>, request: Request) -> Response {
    let fields = [
        "model",
        "language",
        "prompt",
        "temperature",
        "response_format",
    ];
    let mut form = match read_audio_form(&state, request, "file", &fields).await {
        Ok(form) => form,
        Err(e) => return from_api_error(e),
    };
    let Some((audio, hint)) = form.audio.take() else {
        return from_api_error(missing_field("file"));
    };
    let format = form
        .fields
        .get("response_format")
        .map_or("json", String::as_str)
        .to_owned();
    if !TRANSCRIPTION_FORMATS.contains(&format.as_str()) {
        return invalid(
            format!(
                "response_format {format:?} is not supported; use one of {}",
                TRANSCRIPTION_FORMATS.join(", ")
            ),
            "response_format",
        );
    }
    if let Some(t) = form.fields.get("temperature")
        && t.trim()
            .parse::<f64>()
            .map_or(true, |t| !(0.0..=1.0).contains(&t))
    {
        return invalid(
            format!("temperature must be a number in 0..=1, got {t:?}"),
            "temperature",
        );
    }
    let language = form.fields.remove("language").unwrap_or_default();
    let upload_bytes = audio.len();
    let model = default_if_openai(
        form.fields.get("model").map(String::as_str),
        OPENAI_STT_MODELS,
    );
    let checked = input::Checks::new(state.config.protection.max_text_chars)
        .model_id(input::field("model"), &model)
        .finish();
    if let Err(e) = checked {
        return from_api_error(e);
    }
    let request = SttRequest {
        audio,
        hint,
        language: language.clone(),
        model,
    };
    let done = match stt::transcribe(&state.registry, &state.config.stt, request).await {
        Ok(done) => done,
        Err(e) => return from_api_error(to_api_error(e)),
    };
    log_transcribed(&done, upload_bytes);
    match format.as_str() {
        "text" => text("text/plain; charset=utf-8", format!("{}\n", done.text)),
        "srt" => text("application/x-subrip; charset=utf-8", srt(&done.segments)),
        "vtt" => text("text/vtt; charset=utf-8", vtt(&done.segments)),
        "verbose_json" => {
            let segments: Vec<_> = done
                .segments
                .iter()
                .enumerate()
                .map(|(id, s)| {
                    json!({
                        "id": id,
                        "seek": (s.start * 100.0).round() as u64,
                        "start": s.start,
                        "end": s.end,
                        "text": s.text,
                        "tokens": [],
                        "temperature": 0.0,
                    })
                })
                .collect();
            let language = if language.trim().is_empty() {
                "en".to_owned()
            } else {
                language
            };
            Json(json!({
                "task": "transcribe",
                "language": language,
                "duration": done.audio_seconds,
                "text": done.text,
                "segments": segments,
            }))
            .into_response()
        }
        _ => Json(json!({ "text": done.text })).into_response(),
    }
}

fn text(content_type: &'static str, body: String) -> Response {
    ([(CONTENT_TYPE, content_type)], body).into_response()
}

/// `hh:mm:ss` plus milliseconds after `separator`.
fn timestamp(seconds: f64, separator: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{separator}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

fn srt(segments: &[Segment]) -> String {
    segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                "{}\n{} --> {}\n{}\n\n",
                i + 1,
                timestamp(s.start, ','),
                timestamp(s.end, ','),
                s.text
            )
        })
        .collect()
}

fn vtt(segments: &[Segment]) -> String {
    let cues: String = segments
        .iter()
        .map(|s| {
            format!(
                "{} --> {}\n{}\n\n",
                timestamp(s.start, '.'),
                timestamp(s.end, '.'),
                s.text
            )
        })
        .collect();
    format!("WEBVTT\n\n{cues}")
}

#[derive(Debug)]
pub struct SpeechRequest {
    model: String,
    input: String,
    voice: String,
    response_format: String,
    speed: Option<f64>,
}

impl FromJsonBody for SpeechRequest {
    const NAME: &'static str = "CreateSpeechRequest";
    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let model = f.required("model", parse::string);
        let input = f.required("input", parse::string);
        let voice = f.required("voice", parse::string);
        let response_format = f.with_default("response_format", || "wav".into(), parse::string);
        let speed = f.optional("speed", parse::number);
        Some(Self {
            model: model?,
            input: input?,
            voice: voice?,
            response_format: response_format?,
            speed: speed?,
        })
    }
}

/// `POST /v1/audio/speech`: `{model, input, voice, response_format?, speed?}` ->
/// `audio/wav` (16-bit mono at the voice's rate) or `pcm` (the same samples, raw
/// little-endian, no header). `voice` is an installed voice id or one of OpenAI's
/// (the default voice); `model` may also name the voice.
#[utoipa::path(
    post,
    path = "/v1/audio/speech",
    operation_id = "createSpeech",
    tag = "openai",
    summary = "OpenAI-compatible text-to-speech",
    request_body = super::openapi::openai_bodies::SpeechRequest,
    responses(
        (status = 200, description = "WAV, or raw 16-bit little-endian PCM", content(
            (Binary = "audio/wav"),
            (Binary = "audio/pcm"),
        )),
        (status = 400, description = "Body not valid", body = OpenAiError),
        (status = 413, description = "Input longer than the limit", body = OpenAiError),
        (status = 503, description = "No voice served or loaded, or queue full", body = OpenAiError),
    )
)]
pub async fn speech(
    State(state): State<AppState>,
    body: Result<ValidJson<SpeechRequest>, crate::error::ApiError>,
) -> Response {
    let req = match body {
        Ok(ValidJson(req)) => req,
        Err(e) => return from_api_error(e),
    };
    let checked = input::Checks::new(state.config.protection.max_text_chars)
        .text(input::field("input"), &req.input)
        .model_id(input::field("model"), &req.model)
        .model_id(input::field("voice"), &req.voice)
        .finish();
    if let Err(e) = checked {
        return from_api_error(e);
    }
    let format = req.response_format.as_str();
    if !matches!(format, "wav" | "pcm") {
        return invalid(
            format!("response_format {format:?} is not supported; use wav or pcm"),
            "response_format",
        );
    }
    let speed = req.speed.unwrap_or(1.0);
    if !(0.25..=4.0).contains(&speed) {
        return invalid(
            format!("speed must be in 0.25..=4.0 (OpenAI's range), got {speed}"),
            "speed",
        );
    }
    let voices = state.registry.model_ids(Task::Tts);
    let voice = if voices.contains(&req.voice.as_str()) {
        req.voice.clone()
    } else if voices.contains(&req.model.as_str()) {
        req.model.clone()
    } else if OPENAI_VOICES.contains(&req.voice.as_str()) {
        "default".into()
    } else {
        return invalid(
            format!(
                "voice {:?} is not installed; use one of {} or an OpenAI voice name ({}), which the default voice serves",
                req.voice,
                voices.join(", "),
                OPENAI_VOICES.join(", ")
            ),
            "voice",
        );
    };
    if !voices.contains(&req.model.as_str())
        && !OPENAI_TTS_MODELS.contains(&req.model.as_str())
        && req.model != "default"
    {
        return invalid(
            format!(
                "model {:?} is not a speech model here; use default, {} or an installed voice id",
                req.model,
                OPENAI_TTS_MODELS.join(", ")
            ),
            "model",
        );
    }
    let speech = tts::synthesize(
        &state.registry,
        req.input,
        &voice,
        "en-US",
        state.config.tts.max_chars,
        speed as f32,
    )
    .await;
    let speech = match speech {
        Ok(speech) => speech,
        Err(e) => {
            return match TtsHttpError::from(e) {
                TtsHttpError::Api(e) => from_api_error(e),
                TtsHttpError::Detailed(status, message) => {
                    let kind = if status.is_server_error() {
                        "server_error"
                    } else {
                        "invalid_request_error"
                    };
                    openai_error(status, kind, message, Some("input".into()))
                }
            };
        }
    };
    if format == "pcm" {
        return match pcm_samples(&speech.wav) {
            Some(pcm) => ([(CONTENT_TYPE, "audio/pcm")], pcm.to_vec()).into_response(),
            None => openai_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the synthesised WAV has no data chunk".into(),
                None,
            ),
        };
    }
    ([(CONTENT_TYPE, "audio/wav")], speech.wav).into_response()
}

/// The `data` chunk of a RIFF/WAVE file.
fn pcm_samples(wav: &[u8]) -> Option<&[u8]> {
    let mut at = 12;
    while at + 8 <= wav.len() {
        let id = &wav[at..at + 4];
        let len = u32::from_le_bytes(wav[at + 4..at + 8].try_into().ok()?) as usize;
        let body = at + 8;
        if id == b"data" {
            return wav.get(body..body.checked_add(len)?.min(wav.len()));
        }
        at = body.checked_add(len + (len & 1))?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtitles_number_and_time_their_segments() {
        let segments = [
            Segment {
                start: 0.0,
                end: 299.98,
                text: "Hello there.".into(),
            },
            Segment {
                start: 299.98,
                end: 3_661.5,
                text: "Bye.".into(),
            },
        ];
        assert_eq!(
            srt(&segments),
            "1\n00:00:00,000 --> 00:04:59,980\nHello there.\n\n2\n00:04:59,980 --> 01:01:01,500\nBye.\n\n"
        );
        assert!(
            vtt(&segments).starts_with("WEBVTT\n\n00:00:00.000 --> 00:04:59.980\nHello there.\n\n")
        );
    }

    #[test]
    fn the_data_chunk_is_the_pcm() {
        let wav = hermes_engine::wav::encode_mono_pcm16(&[1, -2, 3], 22_050);
        assert_eq!(pcm_samples(&wav), Some(&[1u8, 0, 254, 255, 3, 0][..]));
        assert_eq!(pcm_samples(b"RIFF\0\0\0\0WAVE"), None);
    }

    #[test]
    fn openai_model_names_mean_the_default() {
        assert_eq!(
            default_if_openai(Some("whisper-1"), OPENAI_STT_MODELS),
            "default"
        );
        assert_eq!(default_if_openai(None, OPENAI_STT_MODELS), "default");
        assert_eq!(
            default_if_openai(Some("whisper-tiny-en"), OPENAI_STT_MODELS),
            "whisper-tiny-en"
        );
    }
}
