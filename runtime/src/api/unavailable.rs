//! Capabilities this build does not serve yet: an honest 503, never a fake.

use crate::error::ApiError;

fn not_built(capability: &str) -> ApiError {
    ApiError::Unavailable(format!(
        "The {capability} capability is not available: it is not built into this Hermes runtime yet"
    ))
}

pub async fn stt() -> ApiError {
    not_built("speech-to-text (stt)")
}

pub async fn tts() -> ApiError {
    not_built("text-to-speech (tts)")
}

pub async fn simple_nlp() -> ApiError {
    not_built("NLP (simple_nlp)")
}
