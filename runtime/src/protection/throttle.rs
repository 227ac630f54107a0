//! The rate-limit middleware: charges the client's bucket for the route, answers
//! 429 with `Retry-After` when it is empty, and reports the bucket in the
//! `RateLimit-Policy` / `RateLimit` headers of every limited route's response.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::ratelimit::{policy_header, state_header};
use super::{KeyName, Protection};

pub const POLICY_HEADER: &str = "ratelimit-policy";
pub const STATE_HEADER: &str = "ratelimit";

pub async fn middleware(
    State(protection): State<Arc<Protection>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(charge) = protection.limits.charge(req.uri().path()) else {
        return next.run(req).await;
    };
    let (client, label) = match req.extensions().get::<KeyName>() {
        Some(KeyName(name)) => (format!("key:{name}"), name.clone()),
        None => {
            let addr = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
            (format!("addr:{addr}"), "address".to_owned())
        }
    };
    let decision = protection.buckets.take(&client, charge, Instant::now());
    let mut response = if decision.allowed {
        next.run(req).await
    } else {
        protection.metrics.count_rate_limited(charge.policy, &label);
        tracing::info!(
            policy = charge.policy,
            retry_after_seconds = decision.retry_after_seconds,
            "request refused: rate limit"
        );
        let mut r = (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({
                "detail": format!(
                    "Rate limit exceeded: {} per minute on this route; retry after {} s",
                    charge.per_minute, decision.retry_after_seconds
                )
            })),
        )
            .into_response();
        r.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(decision.retry_after_seconds),
        );
        r
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&policy_header(charge)) {
        headers.insert(POLICY_HEADER, v);
    }
    if let Ok(v) = HeaderValue::from_str(&state_header(charge, decision)) {
        headers.insert(STATE_HEADER, v);
    }
    response
}
