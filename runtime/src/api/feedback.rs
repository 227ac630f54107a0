//! `POST /feedback`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::extract::ValidJson;
use crate::state::AppState;
use crate::usecases::feedback::{self, Feedback, Receipt};

pub async fn feedback(
    State(state): State<AppState>,
    ValidJson(body): ValidJson<Feedback>,
) -> (StatusCode, Json<Receipt>) {
    (
        StatusCode::CREATED,
        Json(feedback::record(&body, &state.metrics)),
    )
}
