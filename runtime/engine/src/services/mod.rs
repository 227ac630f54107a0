//! Capability services: what a request means, independent of HTTP. Handlers parse,
//! call a service and map its typed error to an `ApiError`.

pub mod embedding;
pub mod nlp;
pub mod stt;
pub mod tts;
