//! `POST /feedback`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::openapi::bodies::ValidationError;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::protection::input;
use crate::state::AppState;
use crate::usecases::feedback::{self, Feedback, Receipt};

#[utoipa::path(
    post,
    path = "/feedback",
    operation_id = "feedback",
    tag = "hermes",
    summary = "Feedback from Sophia on plans and executions",
    request_body = Feedback,
    responses(
        (status = 201, description = "Feedback recorded", body = Receipt),
        (status = 422, description = "Body not valid, or a reason longer than `HERMES_MAX_TEXT_CHARS`", body = ValidationError),
    )
)]
pub async fn feedback(
    State(state): State<AppState>,
    ValidJson(body): ValidJson<Feedback>,
) -> Result<(StatusCode, Json<Receipt>), ApiError> {
    input::Checks::new(state.config.protection.max_text_chars)
        .text(input::field("reason"), &body.reason)
        .finish()?;
    Ok((
        StatusCode::CREATED,
        Json(feedback::record(&body, &state.metrics)),
    ))
}
