//! API key authentication: `Authorization: Bearer <key>` or `X-API-Key: <key>`.
//! Open paths pass; otherwise a missing or wrong key is a 401 with
//! `WWW-Authenticate` and a JSON `detail`. The key's name goes to the request's
//! span (so every log line of the request shows it) and to the metrics.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{KeyName, Protection};

pub const API_KEY_HEADER: &str = "x-api-key";

/// The key a request presents, if any: a Bearer token wins over `X-API-Key`.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    bearer
        .or_else(|| {
            headers
                .get(API_KEY_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        })
        .filter(|k| !k.is_empty())
}

fn unauthorized(detail: &'static str, error: &'static str) -> Response {
    let mut response =
        (StatusCode::UNAUTHORIZED, Json(json!({ "detail": detail }))).into_response();
    let challenge = format!("Bearer realm=\"hermes\", error=\"{error}\"");
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

pub async fn middleware(
    State(protection): State<Arc<Protection>>,
    mut req: Request,
    next: Next,
) -> Response {
    if !protection.keys.enabled() || protection.open_paths.iter().any(|p| p == req.uri().path()) {
        return next.run(req).await;
    }
    let Some(given) = presented(req.headers()) else {
        protection.metrics.count_auth("-", "missing");
        tracing::info!(outcome = "missing", "request refused: no API key");
        return unauthorized(
            "Not authenticated: send an API key as `Authorization: Bearer <key>` or `X-API-Key`",
            "invalid_request",
        );
    };
    match protection.keys.name_of(given) {
        Some(name) => {
            protection.metrics.count_auth(&name, "accepted");
            tracing::Span::current().record("api_key", name.as_str());
            req.extensions_mut().insert(KeyName(name));
            next.run(req).await
        }
        None => {
            protection.metrics.count_auth("-", "invalid");
            tracing::info!(outcome = "invalid", "request refused: unknown API key");
            unauthorized("Invalid API key", "invalid_token")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_wins_and_blank_keys_are_absent() {
        let mut h = HeaderMap::new();
        assert_eq!(presented(&h), None);
        h.insert(API_KEY_HEADER, HeaderValue::from_static("from-header"));
        assert_eq!(presented(&h), Some("from-header"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  tok "),
        );
        assert_eq!(presented(&h), Some("tok"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(presented(&h), Some("from-header"));
        let mut h = HeaderMap::new();
        h.insert(API_KEY_HEADER, HeaderValue::from_static("  "));
        assert_eq!(presented(&h), None);
    }
}
