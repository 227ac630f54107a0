//! `POST /simple_nlp`: tokens, coarse POS tags, lemmas and entities (spaCy's en_core_web_sm in Rust).

use axum::Json;
use axum::extract::State;
use hermes_nlp::{Analysis, Entity, PosTag};
use serde::Serialize;

use super::openapi::bodies::{ErrorDetail, NlpOperation, ValidationError};
use crate::error::ApiError;
use crate::extract::{Fields, FromJsonBody, ValidJson, parse};
use crate::protection::input;
use crate::state::AppState;
use hermes_engine::services::nlp::{self, NlpServiceError};

#[derive(Debug, utoipa::ToSchema)]
#[schema(as = SimpleNLPRequest)]
pub struct SimpleNlpRequest {
    /// Text to process: not blank.
    #[schema(pattern = r"\S")]
    text: String,
    /// Analyses to run (an unknown name is a 400 naming the valid ones).
    #[schema(required = false, value_type = Vec<NlpOperation>, default = json!(["tokenize"]))]
    operations: Vec<String>,
}

impl FromJsonBody for SimpleNlpRequest {
    const NAME: &'static str = "SimpleNLPRequest";
    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let text = f.required("text", parse::string);
        // A list of strings (422 otherwise); unknown names are a 400 from the service.
        let operations = f.with_default(
            "operations",
            || vec!["tokenize".to_owned()],
            parse::list(parse::string),
        );
        Some(Self {
            text: text?,
            operations: operations?,
        })
    }
}

/// Only the requested analyses appear in the body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SimpleNLPResponse)]
pub struct SimpleNlpResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = Vec<String>)]
    tokens: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = Vec<super::openapi::bodies::PosTag>)]
    pos_tags: Option<Vec<PosTag>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = Vec<String>)]
    lemmas: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = Vec<super::openapi::bodies::Entity>)]
    entities: Option<Vec<Entity>>,
}

impl From<Analysis> for SimpleNlpResponse {
    fn from(a: Analysis) -> Self {
        Self {
            tokens: a.tokens,
            pos_tags: a.pos_tags,
            lemmas: a.lemmas,
            entities: a.entities,
        }
    }
}

#[utoipa::path(
    post,
    path = "/simple_nlp",
    operation_id = "simpleNlp",
    tag = "hermes",
    summary = "Tokens, POS tags, lemmas and named entities",
    request_body = SimpleNlpRequest,
    responses(
        (status = 200, description = "The requested analyses only", body = SimpleNlpResponse),
        (status = 400, description = "Blank text or an unknown operation", body = ErrorDetail),
        (status = 422, description = "Body not valid, or text longer than `HERMES_MAX_TEXT_CHARS`", body = ValidationError),
        (status = 503, description = "No NLP model served or loaded, or its queue is full", body = ErrorDetail),
    )
)]
pub async fn simple_nlp(
    State(state): State<AppState>,
    ValidJson(req): ValidJson<SimpleNlpRequest>,
) -> Result<Json<SimpleNlpResponse>, ApiError> {
    input::Checks::new(state.config.protection.max_text_chars)
        .text(input::field("text"), &req.text)
        .finish()?;
    let text_chars = req.text.chars().count();
    let (model, analysis) = nlp::analyze(&state.registry, req.text, &req.operations)
        .await
        .map_err(to_api_error)?;
    tracing::info!(model, text_chars, operations = ?req.operations, "nlp analysed");
    Ok(Json(analysis.into()))
}

fn to_api_error(err: NlpServiceError) -> ApiError {
    match err {
        NlpServiceError::EmptyText => ApiError::empty_text(),
        NlpServiceError::Operations(e) => ApiError::BadRequest(e.to_string()),
        NlpServiceError::Model(e) => e.into(),
        NlpServiceError::Worker(e) => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use hermes_engine::models::registry::ResolveError;
    use hermes_engine::models::worker::WorkerError;

    #[test]
    fn service_errors_map_to_contract_statuses() {
        let cases = [
            (NlpServiceError::EmptyText, StatusCode::BAD_REQUEST),
            (
                NlpServiceError::Operations(hermes_nlp::NlpError::InvalidOperations(vec![
                    "parse".into(),
                ])),
                StatusCode::BAD_REQUEST,
            ),
            (
                NlpServiceError::Model(ResolveError::NotServed { task: "nlp" }),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                NlpServiceError::Model(ResolveError::Loading { model: "m" }),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                NlpServiceError::Worker(WorkerError::Busy {
                    model: "m",
                    queue: 1,
                }),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
        ];
        for (err, status) in cases {
            let text = err.to_string();
            assert_eq!(to_api_error(err).status(), status, "{text}");
        }
    }
}
