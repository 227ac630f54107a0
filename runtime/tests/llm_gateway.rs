//! `/llm` and `/v1/chat/completions` without a model: request validation with
//! the contract's statuses and FastAPI/OpenAI error shapes, the `echo` provider,
//! and provider selection (unknown, not configured, no default -> 503).

mod common;
mod llm_support;

use common::{MODEL_ID, Server};
use llm_support::{check_framing, content_chunks, read_sse, streamed_text};
use serde_json::{Value, json};

/// A server with only the embedder (quick to start) and `echo` as default.
async fn echo_server() -> Server {
    Server::start_ready(&[("HERMES_MODELS", MODEL_ID), ("HERMES_LLM_PROVIDER", "echo")]).await
}

async fn post(s: &Server, path: &str, body: Value) -> (u16, Value) {
    let r = s.post_json(path, &body).await;
    let status = r.status().as_u16();
    (status, r.json().await.expect("json body"))
}

#[tokio::test]
async fn llm_validation_follows_the_contract() {
    let s = echo_server().await;
    for body in [
        json!({"prompt": "   "}),
        json!({}),
        json!({"messages": []}),
        json!({"prompt": null}),
    ] {
        let (status, answer) = post(&s, "/llm", body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(
            answer,
            json!({"detail": "Either 'prompt' or 'messages' must be provided."})
        );
    }
    let cases = [
        (
            json!({"prompt": "hi", "temperature": 5}),
            json!(["body", "temperature"]),
            "less_than_equal",
        ),
        (
            json!({"prompt": "hi", "temperature": -1}),
            json!(["body", "temperature"]),
            "greater_than_equal",
        ),
        (
            json!({"prompt": "hi", "max_tokens": 0}),
            json!(["body", "max_tokens"]),
            "greater_than_equal",
        ),
        (
            json!({"messages": [{"role": "wizard", "content": "hi"}]}),
            json!(["body", "messages", 0, "role"]),
            "literal_error",
        ),
        (
            json!({"messages": [{"role": "user"}]}),
            json!(["body", "messages", 0, "content"]),
            "missing",
        ),
        (
            json!({"prompt": 42}),
            json!(["body", "prompt"]),
            "string_type",
        ),
        (
            json!({"prompt": "hi", "stream": "sometimes"}),
            json!(["body", "stream"]),
            "bool_parsing",
        ),
    ];
    for (body, loc, kind) in cases {
        let (status, answer) = post(&s, "/v1/llm", body.clone()).await;
        assert_eq!(status, 422, "{body}: {answer}");
        let issue = &answer["detail"][0];
        assert_eq!(
            (&issue["loc"], issue["type"].as_str()),
            (&loc, Some(kind)),
            "{answer}"
        );
        assert!(issue["msg"].as_str().unwrap().starts_with("Input should") || kind == "missing");
    }
    let r = s
        .post_raw("/llm", "application/json", "{\"prompt\": ")
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["detail"][0]["type"],
        "json_invalid"
    );
}

#[tokio::test]
async fn echo_answers_the_transcript_and_streams_it() {
    let s = echo_server().await;
    let body = json!({
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}],
        "metadata": {"scenario": "smoke"},
        "max_tokens": 5,
    });
    let (status, answer) = post(&s, "/llm", body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["provider"], "echo");
    assert_eq!(answer["model"], "echo-stub");
    assert!(
        answer["id"].as_str().unwrap().starts_with("echo-"),
        "{answer}"
    );
    assert!(answer["created"].as_i64().unwrap() > 1_700_000_000);
    let text = "[echo] [smoke] system: Be brief.\nuser: Hello there";
    assert_eq!(
        answer["choices"],
        json!([{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}])
    );
    let usage = &answer["usage"];
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(
            usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
        )
    );
    assert_eq!(
        answer["raw"],
        json!({"echo": true, "metadata": {"scenario": "smoke"}})
    );

    // A prompt is one user message; the request's provider wins over the default.
    let (_, answer) = post(
        &s,
        "/llm",
        json!({"prompt": "  hi  ", "provider": "ECHO", "model": "my-model"}),
    )
    .await;
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "[echo] user: hi"
    );
    assert_eq!(answer["model"], "my-model");

    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let events = read_sse(s.post_json("/llm", &streamed).await).await;
    assert_eq!(check_framing(&events), "stop");
    assert!(content_chunks(&events).len() > 1, "{events:?}");
    assert_eq!(streamed_text(&events), text);
    assert!(
        events
            .iter()
            .filter(|e| e.data != "[DONE]")
            .all(|e| e.json()["provider"] == "echo")
    );
    let usage_chunk = events[events.len() - 2].json();
    assert_eq!(usage_chunk["usage"], answer_usage(&s, &body).await);
}

async fn answer_usage(s: &Server, body: &Value) -> Value {
    post(s, "/llm", body.clone()).await.1["usage"].clone()
}

#[tokio::test]
async fn chat_completions_speak_openai_including_its_errors() {
    let s = echo_server().await;
    let (status, answer) = post(
        &s,
        "/v1/chat/completions",
        json!({"model": "echo-stub", "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "you"}]}
        ]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["model"], "echo-stub");
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "[echo] system: Be brief.\nuser: Hi you"
    );
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert!(answer["usage"]["total_tokens"].as_u64().unwrap() > 0);

    for (body, param) in [
        (
            json!({"messages": [{"role": "user", "content": "x"}], "temperature": 5}),
            "temperature",
        ),
        (json!({"model": "m"}), "messages"),
        (json!({"messages": []}), "messages"),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}),
            "max_tokens",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "n": 2}),
            "n",
        ),
    ] {
        let (status, answer) = post(&s, "/v1/chat/completions", body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["type"], "invalid_request_error", "{answer}");
        assert_eq!(answer["error"]["param"], param, "{answer}");
        assert!(answer["error"]["message"].is_string());
    }
    let (status, answer) = post(
        &s,
        "/v1/chat/completions",
        json!({"messages": [{"role": "user", "content": "x"}], "provider": "nope"}),
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(answer["error"]["type"], "service_unavailable");

    let events = read_sse(
        s.post_json(
            "/v1/chat/completions",
            &json!({"messages": [{"role": "user", "content": "one two three"}], "stream": true,
                    "stream_options": {"include_usage": true}}),
        )
        .await,
    )
    .await;
    assert_eq!(check_framing(&events), "stop");
    assert_eq!(streamed_text(&events), "[echo] user: one two three");
    let usage = events[events.len() - 2].json();
    assert_eq!(usage["choices"], json!([]));
    assert!(usage["usage"]["total_tokens"].as_u64().unwrap() > 0);

    let models: Value = s.get("/v1/models").await.json().await.unwrap();
    assert_eq!(models["object"], "list");
    // Every served model with its task: the embedder of this server, then the LLM
    // provider's model.
    let listed: Vec<(&str, &str)> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_str().unwrap(), m["task"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [("all-minilm-l6-v2", "embedding"), ("echo-stub", "llm")]
    );
}

#[tokio::test]
async fn unknown_unconfigured_and_missing_providers_are_503() {
    // No llm model, no HERMES_LLM_PROVIDER: no default provider.
    let s = Server::start_ready(&[("HERMES_MODELS", MODEL_ID)]).await;
    let cases = [
        (json!({"prompt": "hi"}), "No LLM provider is configured"),
        (
            json!({"prompt": "hi", "provider": "gpt-5"}),
            "Unknown LLM provider \"gpt-5\"; configured providers: echo",
        ),
        (
            json!({"prompt": "hi", "provider": "openai"}),
            "\"openai\" is not configured: set HERMES_LLM_BASE_URL",
        ),
        (
            json!({"prompt": "hi", "provider": "local"}),
            "\"local\" is not configured: no llm model is loaded",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = post(&s, "/llm", body.clone()).await;
        assert_eq!(status, 503, "{body}: {answer}");
        let detail = answer["detail"].as_str().unwrap();
        assert!(detail.contains(expected), "{body}: {detail}");
    }
    // Asked for by name, echo still answers.
    let (status, _) = post(&s, "/llm", json!({"prompt": "hi", "provider": "echo"})).await;
    assert_eq!(status, 200);

    let health: Value = s.get("/health").await.json().await.unwrap();
    let llm = &health["dependencies"]["llm"];
    assert_eq!(llm["status"], "unavailable", "{llm}");
    assert_eq!(llm["connected"], false);
    assert_eq!(llm["details"]["provider"], Value::Null);
    assert_eq!(
        llm["details"]["providers"],
        json!({"echo": true, "local": false, "openai": false})
    );
    assert_eq!(health["capabilities"]["llm"], "unavailable");
}
