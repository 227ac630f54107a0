//! The `local` provider (SmolLM2 in-process) through `/llm` and
//! `/v1/chat/completions`: a factual completion at temperature 0, usage, the
//! default system message, and streaming that matches the whole answer.

mod common;
mod llm_support;

use common::Server;
use llm_support::{check_framing, content_chunks, read_sse, streamed_text};
use serde_json::{Value, json};

const LLM_ID: &str = "smollm2-135m-instruct";
/// Small, so that the whole LLM test set stays quick on two busy cores.
const MAX_TOKENS: u64 = 16;

async fn local_server() -> Server {
    common::installed_model_dir(LLM_ID, "SmolLM2-135M-Instruct.Q4_1.gguf");
    Server::start_ready(&[("HERMES_MODELS", LLM_ID)]).await
}

async fn post(s: &Server, path: &str, body: &Value) -> Value {
    let r = s.post_json(path, body).await;
    assert_eq!(r.status(), 200, "{path} {body}");
    r.json().await.expect("json")
}

fn paris_request() -> Value {
    json!({"prompt": "The capital of France is", "temperature": 0, "max_tokens": MAX_TOKENS})
}

#[tokio::test]
async fn local_knows_the_capital_of_france_and_counts_real_tokens() {
    let s = local_server().await;
    let answer = post(&s, "/llm", &paris_request()).await;
    assert_eq!(answer["provider"], "local");
    assert_eq!(answer["model"], LLM_ID);
    let text = answer["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(text.contains("Paris"), "{answer}");
    assert_eq!(answer["choices"][0]["message"]["role"], "assistant");
    assert_eq!(answer["choices"][0]["finish_reason"], "stop", "{answer}");
    let usage = &answer["usage"];
    let (prompt, completion) = (
        usage["prompt_tokens"].as_u64().unwrap(),
        usage["completion_tokens"].as_u64().unwrap(),
    );
    assert_eq!(usage["total_tokens"].as_u64(), Some(prompt + completion));
    assert!((1..=MAX_TOKENS).contains(&completion), "{usage}");
    assert_eq!(answer["raw"]["prompt_tokens"].as_u64(), Some(prompt));
    assert_eq!(answer["raw"]["temperature"], 0.0);

    // A bare prompt gets the short default system message, so the same
    // conversation written out gives the same answer and the same token counts.
    let explicit = json!({
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "The capital of France is"}
        ],
        "temperature": 0, "max_tokens": MAX_TOKENS,
    });
    let same = post(&s, "/llm", &explicit).await;
    assert_eq!(same["choices"], answer["choices"]);
    assert_eq!(same["usage"], answer["usage"]);

    // The OpenAI-compatible endpoint runs the same model the same way.
    let chat = post(
        &s,
        "/v1/chat/completions",
        &json!({"model": LLM_ID, "messages": [{"role": "user", "content": "The capital of France is"}],
                "temperature": 0, "max_tokens": MAX_TOKENS}),
    )
    .await;
    assert_eq!(chat["object"], "chat.completion");
    assert_eq!(chat["choices"][0]["message"]["content"], text);
    assert_eq!(chat["usage"], answer["usage"]);

    // An unknown local model is the client's mistake.
    let r = s
        .post_json("/llm", &json!({"prompt": "hi", "model": "llama-70b"}))
        .await;
    assert_eq!(r.status(), 400);
    let detail = r.json::<Value>().await.unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(detail.contains(LLM_ID), "{detail}");
}

#[tokio::test]
async fn streams_arrive_piece_by_piece_and_join_to_the_whole_answer() {
    let s = local_server().await;
    let prompt = "Name three colours.";
    let body = json!({"prompt": prompt, "temperature": 0, "max_tokens": MAX_TOKENS});
    let whole = post(&s, "/llm", &body).await;
    let whole_text = whole["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(!whole_text.is_empty());

    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let events = read_sse(s.post_json("/llm", &streamed).await).await;
    let finish = check_framing(&events);
    assert_eq!(finish, whole["choices"][0]["finish_reason"]);
    let pieces = content_chunks(&events);
    assert!(pieces.len() > 1, "one piece per token or so: {events:?}");
    let done = events.last().unwrap();
    assert!(
        pieces[0].read < done.read,
        "the first piece came in an earlier read than the end: {events:?}"
    );
    assert_eq!(streamed_text(&events), whole_text);
    assert_eq!(events[events.len() - 2].json()["usage"], whole["usage"]);
    assert!(events[0].json()["provider"] == "local");

    let chat_events = read_sse(
        s.post_json(
            "/v1/chat/completions",
            &json!({"messages": [{"role": "user", "content": prompt}], "temperature": 0,
                    "max_tokens": MAX_TOKENS, "stream": true}),
        )
        .await,
    )
    .await;
    check_framing(&chat_events);
    assert_eq!(streamed_text(&chat_events), whole_text);
    assert!(
        chat_events
            .iter()
            .all(|e| e.data == "[DONE]" || e.json().get("usage").is_none()),
        "no usage chunk unless stream_options.include_usage"
    );

    // Each stream recorded its time to first token and its output rate; the whole answer
    // its output rate only (it has no first token to observe).
    let text = s.get("/metrics").await.text().await.expect("metrics");
    for expected in [
        r#"hermes_llm_time_to_first_token_seconds_count{route="/llm",provider="local"} 1"#,
        r#"hermes_llm_time_to_first_token_seconds_count{route="/v1/chat/completions",provider="local"} 1"#,
        r#"hermes_llm_output_tokens_per_second_count{route="/llm",provider="local",streamed="true"} 1"#,
        r#"hermes_llm_output_tokens_per_second_count{route="/llm",provider="local",streamed="false"} 1"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    let sum = |series: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(series))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let first_token =
        sum(r#"hermes_llm_time_to_first_token_seconds_sum{route="/llm",provider="local"}"#);
    let whole_request = sum(
        r#"hermes_http_request_duration_seconds_sum{route="/llm",api_version="unversioned",method="POST"}"#,
    );
    assert!(
        first_token > 0.0 && first_token < whole_request,
        "the first token ({first_token} s) comes before the end of the two /llm requests ({whole_request} s)"
    );
    assert!(
        sum(
            r#"hermes_llm_output_tokens_per_second_sum{route="/llm",provider="local",streamed="true"}"#
        ) > 0.0
    );
}
