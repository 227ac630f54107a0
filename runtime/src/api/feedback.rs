//! `POST /feedback`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::openapi::bodies::ValidationError;
use crate::extract::ValidJson;
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
        (status = 422, description = "Body not valid", body = ValidationError),
    )
)]
pub async fn feedback(
    State(state): State<AppState>,
    ValidJson(body): ValidJson<Feedback>,
) -> (StatusCode, Json<Receipt>) {
    (
        StatusCode::CREATED,
        Json(feedback::record(&body, &state.metrics)),
    )
}
