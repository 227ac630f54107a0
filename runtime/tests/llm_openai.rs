//! The `openai` provider: against a real OpenAI-compatible server (a second
//! runtime serving its `local` provider through `/v1/chat/completions`), and
//! against a scripted upstream for the failures: 500 -> 502 after a bounded
//! retry, 429 + Retry-After honoured, unreachable -> 503, retries capped by the
//! retry budget, a failing upstream's circuit opened.

mod common;
mod llm_support;

use std::time::Duration;

use common::{MODEL_ID, Server, scratch_dir};
use llm_support::{
    SLOW_CHUNK, SLOW_TEXT, ScriptedUpstream, check_framing, read_sse, streamed_text,
};
use serde_json::{Value, json};

const LLM_ID: &str = "smollm2-135m-instruct";

/// A front runtime (embedder only) whose default provider is `openai` at `base`.
async fn front(base: &str, extra: &[(&str, &str)]) -> Server {
    let mut envs = vec![
        ("HERMES_MODELS", MODEL_ID),
        ("HERMES_LLM_PROVIDER", "openai"),
        ("HERMES_LLM_BASE_URL", base),
    ];
    envs.extend_from_slice(extra);
    Server::start_ready(&envs).await
}

async fn post(s: &Server, body: &Value) -> (u16, Value) {
    let r = s.post_json("/llm", body).await;
    let status = r.status().as_u16();
    (status, r.json().await.expect("json"))
}

#[tokio::test]
async fn openai_provider_talks_to_a_second_runtime() {
    common::installed_model_dir(LLM_ID, "SmolLM2-135M-Instruct.Q4_1.gguf");
    let upstream = Server::start_ready(&[("HERMES_MODELS", LLM_ID)]).await;
    let base = upstream.url("/v1");
    let s = front(
        &base,
        &[
            ("HERMES_LLM_MODEL", LLM_ID),
            ("OPENAI_API_KEY", "sk-never-logged"),
        ],
    )
    .await;

    let body = json!({"prompt": "The capital of France is", "temperature": 0, "max_tokens": 16});
    let (status, answer) = post(&s, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["provider"], "openai");
    assert_eq!(answer["model"], LLM_ID);
    let text = answer["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(text.contains("Paris"), "{answer}");
    // `raw` is the upstream's own chat.completion.
    assert_eq!(answer["raw"]["object"], "chat.completion");
    assert_eq!(answer["raw"]["provider"], "local");
    assert_eq!(answer["id"], answer["raw"]["id"]);
    assert_eq!(answer["usage"], answer["raw"]["usage"]);

    // The same request served by the upstream directly gives the same answer.
    let (_, direct) = post(&upstream, &body).await;
    assert_eq!(direct["choices"][0]["message"]["content"], text);

    // Streaming passes the upstream's stream through, reframed.
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let events = read_sse(s.post_json("/llm", &streamed).await).await;
    check_framing(&events);
    assert_eq!(streamed_text(&events), text);
    assert_eq!(events[0].json()["provider"], "openai");
    assert_eq!(events[events.len() - 2].json()["usage"], answer["usage"]);

    let health: Value = s.get("/health").await.json().await.unwrap();
    let llm = &health["dependencies"]["llm"];
    assert_eq!(llm["status"], "healthy", "{llm}");
    assert_eq!(llm["connected"], true);
    assert_eq!(llm["details"]["provider"], "openai");
    assert_eq!(llm["details"]["model"], LLM_ID);
    assert_eq!(llm["details"]["api_key_from"], "OPENAI_API_KEY");
    assert!(
        !s.logs().contains("sk-never-logged"),
        "the key stays out of the logs"
    );
    assert!(!health.to_string().contains("sk-never-logged"));
}

#[tokio::test]
async fn an_upstream_error_is_a_502_with_its_detail_after_a_bounded_retry() {
    let upstream = ScriptedUpstream::start().await;
    let key_file = scratch_dir("llm-key").join("api-key");
    std::fs::write(&key_file, "sk-from-secret-file\n").unwrap();
    let s = front(
        &upstream.url("fail500"),
        &[
            ("HERMES_LLM_MAX_RETRIES", "1"),
            ("HERMES_LLM_API_KEY_FILE", key_file.to_str().unwrap()),
        ],
    )
    .await;
    let (status, answer) = post(&s, &json!({"prompt": "hi", "max_tokens": 4})).await;
    assert_eq!(status, 502, "{answer}");
    let detail = answer["detail"].as_str().unwrap();
    assert!(
        detail.contains("status 500") && detail.contains("model exploded"),
        "{detail}"
    );

    let calls = upstream.calls.lock().unwrap();
    assert_eq!(calls.at.len(), 2, "one try and one retry");
    assert_eq!(
        calls.authorization[0].as_deref(),
        Some("Bearer sk-from-secret-file")
    );
    assert_eq!(
        calls.bodies[0]["messages"],
        json!([{"role": "user", "content": "hi"}])
    );
    assert_eq!(calls.bodies[0]["max_tokens"], 4);
    assert_eq!(
        calls.bodies[0]["temperature"], 0.7,
        "the contract's default is forwarded"
    );
    assert!(!s.logs().contains("sk-from-secret-file"));
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let upstream = ScriptedUpstream::start().await;
    let s = front(
        &upstream.url("ratelimited"),
        &[("HERMES_LLM_MODEL", "gpt-test")],
    )
    .await;
    let (status, answer) = post(&s, &json!({"prompt": "hi"})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "Scripted answer."
    );
    assert_eq!(answer["model"], "gpt-test");
    assert_eq!(
        answer["usage"],
        json!({"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10})
    );

    let calls = upstream.calls.lock().unwrap();
    assert_eq!(calls.at.len(), 2, "the 429 was retried once");
    let waited = calls.at[1] - calls.at[0];
    // Retry-After: 1 (our own first backoff would be 250 ms).
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}"
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_503() {
    // A port that was just free: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v1", closed.local_addr().unwrap());
    drop(closed);
    let s = front(&base, &[("HERMES_LLM_MAX_RETRIES", "0")]).await;
    let (status, answer) = post(&s, &json!({"prompt": "hi"})).await;
    assert_eq!(status, 503, "{answer}");
    let detail = answer["detail"].as_str().unwrap();
    assert!(
        detail.contains("unreachable") && !detail.contains(&base),
        "the client learns the upstream is unreachable, not its address: {detail}"
    );

    let r = s
        .post_json(
            "/v1/chat/completions",
            &json!({"messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(r.status(), 503);

    let health: Value = s.get("/health").await.json().await.unwrap();
    let llm = &health["dependencies"]["llm"];
    assert_eq!(llm["status"], "unavailable", "{llm}");
    assert_eq!(llm["connected"], false);
    assert_eq!(llm["details"]["reachable"], false);
}

#[tokio::test]
async fn retries_are_capped_by_the_retry_budget() {
    let upstream = ScriptedUpstream::start().await;
    let s = front(&upstream.url("flaky"), &[("HERMES_LLM_MAX_RETRIES", "3")]).await;
    let requests = 30;
    let (mut ok, mut refused) = (0, 0);
    for _ in 0..requests {
        let (status, answer) = post(&s, &json!({"prompt": "hi", "max_tokens": 4})).await;
        match status {
            200 => ok += 1,
            502 => {
                let detail = answer["detail"].as_str().unwrap();
                assert!(
                    detail.contains("status 503") && detail.contains("retry budget"),
                    "{detail}"
                );
                refused += 1;
            }
            other => panic!("unexpected {other}: {answer}"),
        }
    }
    let calls = upstream.calls.lock().unwrap().at.len();
    // Every third call fails and one retry would mend it: 45 calls without a
    // budget; the budget allows 3 + 0.2 per request.
    let retries = calls - requests;
    assert!(
        retries <= 3 + requests / 5,
        "{retries} retries for {requests} requests"
    );
    assert!(ok > requests / 2, "{ok} answered");
    assert!(refused > 0, "the budget never ran out ({retries} retries)");
    let metrics = s.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(&format!(
            "hermes_retries_total{{dependency=\"llm_upstream\",outcome=\"granted\"}} {retries}"
        )) && metrics.contains(&format!(
            "hermes_retries_total{{dependency=\"llm_upstream\",outcome=\"denied\"}} {refused}"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("hermes_circuit_state{dependency=\"llm_upstream\"} 0"),
        "one failure in three keeps the circuit closed"
    );
}

#[tokio::test]
async fn a_failing_upstream_opens_its_circuit_and_is_answered_for_at_once() {
    let upstream = ScriptedUpstream::start().await;
    let s = front(&upstream.url("fail500"), &[("HERMES_LLM_MAX_RETRIES", "0")]).await;
    // The breaker's default: five consecutive failures open it.
    for _ in 0..5 {
        let (status, answer) = post(&s, &json!({"prompt": "hi"})).await;
        assert_eq!(status, 502, "{answer}");
    }
    let (status, answer) = post(&s, &json!({"prompt": "hi"})).await;
    assert_eq!(status, 503, "{answer}");
    let detail = answer["detail"].as_str().unwrap();
    assert!(detail.contains("circuit open"), "{detail}");
    assert_eq!(
        upstream.calls.lock().unwrap().at.len(),
        5,
        "an open circuit does not call the upstream"
    );
    let metrics = s.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("hermes_circuit_state{dependency=\"llm_upstream\"} 1"),
        "{metrics}"
    );
    let health = s.get("/health").await.text().await.unwrap();
    assert!(health.contains(r#""circuit":"open""#), "{health}");
}

#[tokio::test]
async fn a_slow_upstream_meets_the_llm_timeout_but_a_started_stream_runs_on() {
    let upstream = ScriptedUpstream::start().await;
    let s = front(
        &upstream.url("slow"),
        &[
            ("HERMES_ROUTE_TIMEOUTS_MS", "llm=1500"),
            ("HERMES_LLM_MAX_RETRIES", "0"),
        ],
    )
    .await;
    // The answer takes 5 s: cut at 1.5 s, a 504 with `detail` on /llm...
    let (status, answer) = post(&s, &json!({"prompt": "hi"})).await;
    assert_eq!(status, 504, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .is_some_and(|d| d.contains("limit of 1.5 s")),
        "{answer}"
    );
    // ...and OpenAI's error on /v1/chat/completions.
    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let r = s.post_json("/v1/chat/completions", &chat).await;
    assert_eq!(r.status(), 504);
    let answer: Value = r.json().await.expect("json");
    assert_eq!(answer["error"]["type"], "server_error", "{answer}");

    // A streamed answer starts at once and then takes 2.4 s: it runs to its end.
    let mut streamed = chat.clone();
    streamed["stream"] = json!(true);
    let started = std::time::Instant::now();
    let r = s.post_json("/v1/chat/completions", &streamed).await;
    assert_eq!(r.status(), 200);
    let events = read_sse(r).await;
    assert!(
        started.elapsed() >= SLOW_CHUNK * 3,
        "the stream outlived the limit"
    );
    assert_eq!(check_framing(&events), "stop");
    assert_eq!(streamed_text(&events), SLOW_TEXT);
}
