//! Every error the router emits has a JSON body: plain-text rejections (axum's
//! own 400/413/415/...) become `{"detail": ...}` (OpenAI's `{"error": {...}}` on
//! the OpenAI routes); every 503 carries `Retry-After`; and 5xx details lose any
//! internal URL (the full detail goes to the log).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use hermes_upstreams::addresses;

use super::Protection;

/// Longest plain-text message kept as the detail.
const MAX_DETAIL_CHARS: usize = 300;
/// Largest error body read back to scrub it.
const MAX_SCRUBBED_BODY: usize = 64 * 1024;

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/event-stream"))
}

/// The OpenAI-compatible routes answer errors in OpenAI's shape.
pub fn is_openai_path(path: &str) -> bool {
    matches!(
        path,
        "/v1/chat/completions"
            | "/v1/models"
            | "/v1/embeddings"
            | "/v1/audio/transcriptions"
            | "/v1/audio/speech"
    )
}

/// The JSON body of an error whose message is `message`.
pub fn error_body(openai: bool, status: StatusCode, message: &str) -> Value {
    if openai {
        let kind = if status.is_server_error() {
            "server_error"
        } else {
            "invalid_request_error"
        };
        json!({ "error": { "message": message, "type": kind, "param": null, "code": null } })
    } else {
        json!({ "detail": message })
    }
}

/// The message a JSON error without one gets: the status's reason.
pub fn reason(status: StatusCode) -> &'static str {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => "Request body too large",
        StatusCode::REQUEST_TIMEOUT => "Request body not received in time",
        s => s.canonical_reason().unwrap_or("Error"),
    }
}

fn scrub_value(v: &mut Value) -> bool {
    match v {
        Value::String(s) => {
            let scrubbed = addresses::scrub(s);
            let changed = scrubbed != *s;
            *s = scrubbed;
            changed
        }
        // Every item is scrubbed: no short-circuit.
        Value::Array(items) => items.iter_mut().map(scrub_value).filter(|c| *c).count() > 0,
        Value::Object(map) => map.values_mut().map(scrub_value).filter(|c| *c).count() > 0,
        _ => false,
    }
}

pub async fn middleware(
    State(protection): State<Arc<Protection>>,
    req: Request,
    next: Next,
) -> Response {
    let openai = is_openai_path(req.uri().path());
    let response = next.run(req).await;
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response;
    }
    let mut response = if !is_json(&response) {
        let (parts, body) = response.into_parts();
        let text = axum::body::to_bytes(body, MAX_SCRUBBED_BODY)
            .await
            .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
            .unwrap_or_default();
        let message = if text.is_empty() || status.is_server_error() {
            reason(status).to_owned()
        } else {
            text.chars().take(MAX_DETAIL_CHARS).collect()
        };
        let mut fresh = (status, Json(error_body(openai, status, &message))).into_response();
        for (name, value) in &parts.headers {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                fresh.headers_mut().append(name, value.clone());
            }
        }
        fresh
    } else if status.is_server_error() && !is_event_stream(&response) {
        let (mut parts, body) = response.into_parts();
        match axum::body::to_bytes(body, MAX_SCRUBBED_BODY).await {
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes).map(|mut v| {
                let scrubbed = scrub_value(&mut v);
                (v, scrubbed)
            }) {
                Ok((value, true)) => {
                    tracing::warn!(
                        status = status.as_u16(),
                        detail = %String::from_utf8_lossy(&bytes),
                        "error detail held internal addresses: the client got it without them"
                    );
                    parts.headers.remove(header::CONTENT_LENGTH);
                    Response::from_parts(parts, Body::from(value.to_string()))
                }
                _ => Response::from_parts(parts, Body::from(bytes)),
            },
            Err(_) => (status, Json(error_body(openai, status, reason(status)))).into_response(),
        }
    } else {
        response
    };
    if status == StatusCode::SERVICE_UNAVAILABLE
        && !response.headers().contains_key(header::RETRY_AFTER)
    {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(protection.retry_after.as_secs().max(1)),
        );
    }
    response
}

fn is_event_stream(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_of_a_json_error_is_scrubbed() {
        let mut v = json!({"detail": ["grpc://milvus:19530 refused", "peer 10.0.0.7:8001 reset"]});
        assert!(scrub_value(&mut v));
        assert_eq!(
            v,
            json!({"detail": ["[internal address] refused", "peer [internal address] reset"]})
        );
        let mut untouched = json!({"detail": "Service Unavailable"});
        assert!(!scrub_value(&mut untouched));
    }

    #[test]
    fn openai_routes_get_openai_errors() {
        let body = error_body(true, StatusCode::PAYLOAD_TOO_LARGE, "too big");
        assert_eq!(body["error"]["message"], "too big");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(
            error_body(false, StatusCode::BAD_REQUEST, "x"),
            json!({"detail": "x"})
        );
    }
}
