//! The responses the layers around every handler may answer (see `api::router`):
//! 401 (API keys, on the routes not open by default), 429 (rate limits, on the
//! model routes), 408 and 413 (body read deadline and size limit, on routes with a
//! body), 500, 503 with `Retry-After` (connection cap, load, a feature turned off)
//! and 504 (the route's request timeout; not on the probes and `/metrics`). 401 and
//! 429 carry `{"detail"}` everywhere; the others OpenAI's error on the OpenAI routes.

use serde_json::{Map, Value, json};

use crate::config::DEFAULT_OPEN_PATHS;
use crate::protection::json_errors::is_openai_path;
use crate::protection::timeout::untimed;

fn error_ref(openai: bool) -> Value {
    let name = if openai { "OpenAiError" } else { "ErrorDetail" };
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn response(description: &str, schema: Value, retry_after: bool) -> Value {
    let mut r = json!({
        "description": description,
        "content": { "application/json": { "schema": schema } },
    });
    if retry_after {
        r["headers"] = json!({ "Retry-After": {
            "description": "Seconds to wait before retrying",
            "schema": { "type": "integer", "minimum": 0 },
        }});
    }
    r
}

/// Adds to every operation of `doc` the layers' responses it does not list itself.
pub fn add_layer_responses(doc: &mut Value) {
    let open: Vec<&str> = DEFAULT_OPEN_PATHS.split(',').collect();
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let openai = is_openai_path(path);
        let protected = !open.contains(&path.as_str());
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let has_body = method == "post";
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            let mut add = |status: &str, r: Value| {
                responses.entry(status.to_owned()).or_insert(r);
            };
            if protected {
                add(
                    "401",
                    response(
                        "API key missing or wrong (when keys are configured); `WWW-Authenticate` names the scheme",
                        error_ref(false),
                        false,
                    ),
                );
            }
            if has_body {
                add(
                    "408",
                    response(
                        "Request body not received in time",
                        error_ref(openai),
                        false,
                    ),
                );
                add(
                    "413",
                    response(
                        "Request body over the route's limit",
                        error_ref(openai),
                        false,
                    ),
                );
                add(
                    "429",
                    response(
                        "Rate limit exceeded (`RateLimit-Policy` and `RateLimit` headers describe the bucket)",
                        error_ref(false),
                        true,
                    ),
                );
            }
            add(
                "500",
                response(
                    "Internal error (details in the log)",
                    error_ref(openai),
                    false,
                ),
            );
            add(
                "503",
                response(
                    "Overloaded, a dependency is unavailable, or the feature is turned off",
                    error_ref(openai),
                    true,
                ),
            );
            if !untimed(path) {
                add(
                    "504",
                    response(
                        "The response did not start within the route's request timeout",
                        error_ref(openai),
                        false,
                    ),
                );
            }
            sort_responses(responses);
        }
    }
}

/// Statuses in numeric order, for a readable document.
fn sort_responses(responses: &mut Map<String, Value>) {
    let mut all: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    responses.extend(all);
}
