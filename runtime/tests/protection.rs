//! Protection against the real binary (issue 15): the API key matrix with key
//! file reload, pydantic-shaped input limits on every text field and model id,
//! JSON 413s, rate limits with their
//! headers, `Retry-After` on 503s, a burst far above capacity shed while the
//! admitted keep their latency, slow clients, and log hygiene.

mod common;

use std::time::{Duration, Instant};

use common::{Server, scratch_dir};
use serde_json::{Value, json};

async fn body(r: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text:?}"));
    (status, headers, value)
}

fn embed_body() -> Value {
    json!({"text": "Hermes carries messages."})
}

#[tokio::test]
async fn api_keys_guard_every_route_but_the_open_ones_and_the_key_file_reloads() {
    let dir = scratch_dir("keys");
    let key_file = dir.join("keys");
    std::fs::write(&key_file, "# mounted Secret\nci:file-key-one\n").unwrap();
    let key_file_s = key_file.display().to_string();
    let s = Server::start_ready(&[
        (
            "HERMES_API_KEYS",
            "alice:alice-secret-1234,bob:bob-secret-5678",
        ),
        ("HERMES_API_KEYS_FILE", &key_file_s),
    ])
    .await;
    let post = |key: Option<(&'static str, String)>, path: &'static str| {
        let mut rb = s.client.post(s.url(path)).json(&embed_body());
        if let Some((header, value)) = key {
            rb = rb.header(header, value);
        }
        rb.send()
    };

    // Open paths answer without a key.
    for path in ["/livez", "/readyz", "/health", "/metrics"] {
        assert_eq!(s.get(path).await.status(), 200, "{path}");
    }
    // No key, a wrong key, a key of the wrong scheme: 401 with a challenge and a JSON detail.
    for (what, key) in [
        ("none", None),
        (
            "wrong bearer",
            Some(("authorization", "Bearer nope".to_owned())),
        ),
        (
            "wrong header",
            Some(("x-api-key", "alice-secret-123".to_owned())),
        ),
        (
            "basic",
            Some(("authorization", "Basic alice-secret-1234".to_owned())),
        ),
    ] {
        let (status, headers, value) = body(post(key, "/embed_text").await.unwrap()).await;
        assert_eq!(status, 401, "{what}");
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
        assert!(value["detail"].is_string(), "{what}: {value}");
    }
    // Unknown paths and the OpenAI route are guarded too.
    assert_eq!(s.get("/v1/models").await.status(), 401);
    assert_eq!(s.get("/no/such/path").await.status(), 401);
    // Each valid key, in either header.
    for key in [
        ("authorization", "Bearer alice-secret-1234".to_owned()),
        ("x-api-key", "bob-secret-5678".to_owned()),
        ("authorization", "bearer file-key-one".to_owned()),
    ] {
        let r = post(Some(key.clone()), "/embed_text").await.unwrap();
        assert_eq!(r.status(), 200, "{key:?}");
    }
    let r = post(
        Some(("x-api-key", "alice-secret-1234".to_owned())),
        "/v1/embed_text",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);

    // The file changes: the old file key stops working, the new one works.
    std::fs::write(&key_file, "ci:file-key-two\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let old = post(
            Some(("x-api-key", "file-key-one".to_owned())),
            "/embed_text",
        )
        .await
        .unwrap()
        .status();
        let new = post(
            Some(("x-api-key", "file-key-two".to_owned())),
            "/embed_text",
        )
        .await
        .unwrap()
        .status();
        if old == 401 && new == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "key file not reloaded: old {old}, new {new}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The environment's keys still work after the reload.
    let r = post(
        Some(("x-api-key", "bob-secret-5678".to_owned())),
        "/embed_text",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);

    // Names, never keys, in the metrics and the logs.
    let metrics = s.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("hermes_auth_requests_total{key=\"alice\",outcome=\"accepted\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("key=\"ci\""), "{metrics}");
    let logs = s.logs();
    assert!(logs.contains("\"api_key\":\"alice\""), "{logs}");
    for secret in [
        "alice-secret-1234",
        "bob-secret-5678",
        "file-key-one",
        "file-key-two",
    ] {
        assert!(!logs.contains(secret), "{secret} in the logs");
        assert!(!metrics.contains(secret), "{secret} in the metrics");
    }
}

#[tokio::test]
async fn auth_is_off_without_keys_and_warns_beyond_loopback() {
    let s = Server::start(&[("HERMES_HOST", "0.0.0.0")]).await;
    assert_ne!(s.get("/v1/models").await.status(), 401);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.logs().contains("authentication is off") {
        assert!(Instant::now() < deadline, "no warning:\n{}", s.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn inputs_are_bounded_like_pydantic_and_every_413_is_json() {
    let s = Server::start_ready(&[("HERMES_MAX_JSON_BODY_BYTES", "65536")]).await;
    let r = s
        .post_json("/embed_text", &json!({"text": "a".repeat(10_000)}))
        .await;
    assert_eq!(r.status(), 200, "10,000 characters are allowed");

    let long = "é".repeat(10_001);
    let r = s.post_json("/embed_text", &json!({"text": long})).await;
    let (status, _, value) = body(r).await;
    assert_eq!(status, 422);
    let issue = &value["detail"][0];
    assert_eq!(issue["type"], "string_too_long", "{value}");
    assert_eq!(issue["loc"], json!(["body", "text"]));
    assert_eq!(issue["ctx"], json!({"max_length": 10000}));
    assert!(
        value.to_string().len() < 1000,
        "the echo is an excerpt: {} bytes",
        value.to_string().len()
    );

    // A validation error never echoes a large body back.
    let r = s
        .post_json("/embed_text", &json!({"txt": "b".repeat(60_000)}))
        .await;
    let (status, _, value) = body(r).await;
    assert_eq!(status, 422);
    assert!(
        value.to_string().len() < 2000,
        "{} bytes",
        value.to_string().len()
    );

    for bad in ["../etc/passwd", "a b", "x/y"] {
        let r = s
            .post_json("/embed_text", &json!({"text": "hi", "model": bad}))
            .await;
        let (status, _, value) = body(r).await;
        assert_eq!(status, 422, "{bad}");
        assert_eq!(
            value["detail"][0]["type"], "string_pattern_mismatch",
            "{bad}"
        );
        assert_eq!(value["detail"][0]["loc"], json!(["body", "model"]));
    }

    // Over the body limit: 413 with a JSON body, in OpenAI's shape on its route.
    let big = json!({"text": "c".repeat(70_000)});
    let (status, _, value) = body(s.post_json("/embed_text", &big).await).await;
    assert_eq!(status, 413);
    assert!(value["detail"].is_string(), "{value}");
    let chat = json!({"model": "x", "messages": [{"role": "user", "content": "d".repeat(70_000)}]});
    let (status, _, value) = body(s.post_json("/v1/chat/completions", &chat).await).await;
    assert_eq!(status, 413);
    assert!(value["error"]["message"].is_string(), "{value}");

    // A malformed query string is a JSON 400, not plain text.
    let r = s
        .client
        .post(s.url("/ingest/media?x=%ZZ"))
        .send()
        .await
        .unwrap();
    let (status, _, value) = body(r).await;
    assert!((400..500).contains(&status), "{status}");
    assert!(
        value["detail"].is_string() || value["detail"].is_array(),
        "{value}"
    );
}

/// Posts a form of a (tiny) WAV upload in `file_field` and text `fields` to `path`.
async fn post_audio_form(
    s: &Server,
    path: &str,
    file_field: &str,
    fields: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let part = reqwest::multipart::Part::bytes(vec![0u8; 64])
        .file_name("a.wav")
        .mime_str("audio/wav")
        .expect("mime");
    let mut form = reqwest::multipart::Form::new().part(file_field.to_owned(), part);
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    let r = s.client.post(s.url(path)).multipart(form).send().await;
    body(r.unwrap_or_else(|e| panic!("POST {path}: {e}"))).await
}

#[tokio::test]
async fn every_text_field_and_model_id_is_bounded_on_every_route() {
    let s = Server::start_ready(&[("HERMES_LLM_PROVIDER", "echo")]).await;
    let long = "a".repeat(10_001);
    let at_limit = "a".repeat(10_000);
    let feedback = |reason: &str| json!({"feedback_type": "plan", "outcome": "accepted", "plan_id": "p", "reason": reason});
    let user = |content: &str| json!({"role": "user", "content": content});

    // The Hermes routes: a 422 naming every failing field, as pydantic would.
    let hermes = [
        (
            "/simple_nlp",
            json!({"text": long}),
            vec![json!(["body", "text"])],
        ),
        ("/tts", json!({"text": long}), vec![json!(["body", "text"])]),
        (
            "/tts",
            json!({"text": "hi", "voice": "../x"}),
            vec![json!(["body", "voice"])],
        ),
        (
            "/llm",
            json!({"prompt": long}),
            vec![json!(["body", "prompt"])],
        ),
        (
            "/llm",
            json!({"messages": [user("hi"), user(&long)], "model": "a b"}),
            vec![
                json!(["body", "messages", 1, "content"]),
                json!(["body", "model"]),
            ],
        ),
        (
            "/feedback",
            feedback(&long),
            vec![json!(["body", "reason"])],
        ),
    ];
    for (path, request, locs) in &hermes {
        let (status, _, value) = body(s.post_json(path, request).await).await;
        assert_eq!(status, 422, "{path}: {value}");
        let issues = value["detail"].as_array().expect("a list of issues");
        let found: Vec<&Value> = issues.iter().map(|i| &i["loc"]).collect();
        assert_eq!(found, locs.iter().collect::<Vec<_>>(), "{path}: {value}");
        for issue in issues {
            let kind = issue["type"].as_str().unwrap_or_default();
            if issue["loc"][1] == "voice" || issue["loc"][1] == "model" {
                assert_eq!(kind, "string_pattern_mismatch", "{path}: {value}");
            } else {
                assert_eq!(kind, "string_too_long", "{path}: {value}");
                assert_eq!(
                    issue["ctx"],
                    json!({"max_length": 10000}),
                    "{path}: {value}"
                );
            }
        }
        assert!(
            value.to_string().len() < 2000,
            "{path}: the input is an excerpt"
        );
    }
    // At the limit, each field passes the check (whatever the route answers next).
    for (path, request) in [
        ("/simple_nlp", json!({"text": at_limit})),
        (
            "/llm",
            json!({"prompt": at_limit, "model": "meta-llama/Llama-3.1-8B-Instruct"}),
        ),
        ("/feedback", feedback(&at_limit)),
    ] {
        let status = s.post_json(path, &request).await.status();
        assert_ne!(status, 422, "{path} refused a text at the limit");
    }

    // The question of /ingest/media and the model of /stt, in their forms.
    let ingest = format!("/ingest/media?media_type=image&question={long}");
    let (status, _, value) = post_audio_form(&s, &ingest, "file", &[]).await;
    assert_eq!(status, 422, "{value}");
    assert_eq!(
        value["detail"][0]["loc"],
        json!(["query", "question"]),
        "{value}"
    );
    let (status, _, value) = post_audio_form(&s, "/stt", "audio", &[("model", "../whisper")]).await;
    assert_eq!(status, 422, "{value}");
    assert_eq!(
        value["detail"][0]["type"], "string_pattern_mismatch",
        "{value}"
    );

    // The OpenAI routes: OpenAI's 400 naming the field.
    let openai = [
        (
            "/v1/chat/completions",
            json!({"model": "x", "messages": [user(&long)]}),
            "messages.0.content",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "a b", "messages": [user("hi")]}),
            "model",
        ),
        (
            "/v1/audio/speech",
            json!({"model": "tts-1", "voice": "alloy", "input": long}),
            "input",
        ),
        (
            "/v1/audio/speech",
            json!({"model": "../m", "voice": "alloy", "input": "hi"}),
            "model",
        ),
    ];
    for (path, request, param) in &openai {
        let (status, _, value) = body(s.post_json(path, request).await).await;
        assert_eq!(status, 400, "{path}: {value}");
        assert_eq!(value["error"]["param"], *param, "{path}: {value}");
        assert_eq!(value["error"]["type"], "invalid_request_error");
    }
    let transcriptions = "/v1/audio/transcriptions";
    let (status, _, value) = post_audio_form(&s, transcriptions, "file", &[("model", "a/b")]).await;
    assert_eq!(status, 400, "{value}");
    assert_eq!(value["error"]["param"], "model", "{value}");
    // A provider's model name with an organisation passes to the provider.
    let chat = json!({"model": "meta-llama/Llama-3.1-8B-Instruct", "messages": [user("hi")]});
    let (status, _, value) = body(s.post_json("/v1/chat/completions", &chat).await).await;
    assert_eq!(status, 200, "{value}");
}

#[tokio::test]
async fn rate_limits_answer_429_with_headers_per_key() {
    let s = Server::start(&[
        ("HERMES_API_KEYS", "alice:alice-key,bob:bob-key"),
        ("HERMES_RATE_LIMIT_LLM_PER_MINUTE", "3"),
        ("HERMES_RATE_LIMIT_PER_MINUTE", "4"),
        ("HERMES_RATE_LIMIT_COSTS", "feedback=2"),
    ])
    .await;
    let llm = |key: &'static str| {
        s.client
            .post(s.url("/llm"))
            .header("x-api-key", key)
            .json(&json!({"prompt": "hello"}))
            .send()
    };
    for i in 0..3 {
        let r = llm("alice-key").await.unwrap();
        assert_ne!(r.status(), 429, "request {i}");
        let h = r.headers();
        assert_eq!(h["ratelimit-policy"], "\"llm\";q=3;w=60");
        assert_eq!(
            h["ratelimit"].to_str().unwrap(),
            format!("\"llm\";r={};t={}", 2 - i, 20 * (i + 1))
        );
    }
    let (status, headers, value) = body(llm("alice-key").await.unwrap()).await;
    assert_eq!(status, 429);
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry), "{retry}");
    assert!(
        value["detail"].as_str().unwrap().contains("Rate limit"),
        "{value}"
    );
    // Another key has its own bucket; probes are never limited.
    assert_ne!(llm("bob-key").await.unwrap().status(), 429);
    for _ in 0..5 {
        assert_eq!(s.get("/livez").await.status(), 200);
    }
    // Per-route costs: feedback costs 2 of 4 units.
    let feedback = || {
        s.client
            .post(s.url("/feedback"))
            .header("x-api-key", "bob-key")
            .json(&json!({"feedback_type": "x"}))
            .send()
    };
    assert_ne!(feedback().await.unwrap().status(), 429);
    assert_ne!(feedback().await.unwrap().status(), 429);
    assert_eq!(feedback().await.unwrap().status(), 429);
    let metrics = s.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("hermes_rate_limited_total{policy=\"llm\",client=\"alice\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn every_503_carries_retry_after() {
    // Models not loaded yet (load delayed): the capability answers 503.
    let s = Server::start(&[("HERMES_TEST_LOAD_DELAY_MS", "600000")]).await;
    let (status, headers, value) = body(s.post_json("/embed_text", &embed_body()).await).await;
    assert_eq!(status, 503, "{value}");
    assert_eq!(headers["retry-after"], "1");
    let r = s.get("/readyz").await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
}

/// Sends `n` different `/embed_text` requests at once; each answer's status,
/// `Retry-After`, JSON-ness and latency.
async fn embed_burst(s: &Server, n: usize, round: &str) -> Vec<(u16, bool, bool, Duration)> {
    let requests = (0..n).map(|i| async move {
        let started = Instant::now();
        let text = format!("Burst {round} request {i} carries its own words.");
        let r = s.post_json("/embed_text", &json!({ "text": text })).await;
        let status = r.status().as_u16();
        let retry_after = r.headers().contains_key("retry-after");
        let json = r.json::<Value>().await.is_ok();
        (status, retry_after, json, started.elapsed())
    });
    futures::future::join_all(requests).await
}

fn p99(answers: &[(u16, bool, bool, Duration)]) -> Duration {
    let mut times: Vec<Duration> = answers.iter().filter(|a| a.0 == 200).map(|a| a.3).collect();
    times.sort();
    times
        .get((times.len() * 99).div_ceil(100).saturating_sub(1))
        .copied()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_burst_far_above_capacity_is_shed_and_the_admitted_keep_their_latency() {
    // Capacity: 64 waiting requests (plus the passes running).
    const QUEUE: usize = 64;
    let s = Server::start_ready(&[("HERMES_EMBEDDING_QUEUE", "64")]).await;
    // The peer in the same run: a burst the queue holds.
    let calm = embed_burst(&s, QUEUE, "calm").await;
    assert!(
        calm.iter().all(|a| a.0 == 200),
        "a burst within capacity is served whole"
    );
    // Ten times the capacity at once.
    let burst = embed_burst(&s, 10 * QUEUE, "storm").await;
    let served = burst.iter().filter(|a| a.0 == 200).count();
    let shed: Vec<_> = burst.iter().filter(|a| a.0 == 503).collect();
    let other: Vec<u16> = burst
        .iter()
        .map(|a| a.0)
        .filter(|s| *s != 200 && *s != 503)
        .collect();
    assert!(other.is_empty(), "only 200 or 503: {other:?}");
    assert!(
        served >= QUEUE,
        "at least a queue's worth is served: {served}"
    );
    assert!(
        !shed.is_empty(),
        "what exceeds the queue is refused, not queued"
    );
    assert!(
        shed.iter().all(|a| a.1 && a.2),
        "every 503 has Retry-After and a JSON body"
    );
    // The admitted wait behind at most a full queue, as in the calm burst (a wide
    // margin for a busy machine; queueing all 640 would take several times longer).
    let (calm_p99, burst_p99) = (p99(&calm), p99(&burst));
    eprintln!(
        "burst of {}: {served} served, {} shed; admitted p99 {burst_p99:?} (calm {calm_p99:?})",
        10 * QUEUE,
        shed.len()
    );
    assert!(
        burst_p99 <= calm_p99 * 3 + Duration::from_secs(2),
        "admitted p99 {burst_p99:?} against {calm_p99:?} within capacity"
    );
    assert_eq!(
        s.get("/readyz").await.status(),
        200,
        "still ready after the storm"
    );
}

#[tokio::test]
async fn logs_never_hold_raw_personal_data_or_forged_lines() {
    let forged =
        "robot\nERROR forged line jane.doe@example.com card 4111 1111 1111 1111 ssn 078-05-1120";
    for format in ["text", "json"] {
        let s = Server::start(&[("HERMES_LOG_FORMAT", format)]).await;
        let r = s
            .post_json(
                "/feedback",
                &json!({"feedback_type": "execution", "outcome": "partial", "reason": "ok", "plan_id": "p1",
                        "source_service": forged}),
            )
            .await;
        let status = r.status();
        assert_eq!(
            status,
            201,
            "{format}: {}",
            r.text().await.unwrap_or_default()
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let logs = loop {
            let logs = std::fs::read_to_string(&s.log).unwrap_or_default();
            if logs.contains("feedback received") {
                break logs;
            }
            assert!(
                Instant::now() < deadline,
                "{format}: no feedback line:\n{logs}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        for raw in ["jane.doe@example.com", "4111 1111 1111 1111", "078-05-1120"] {
            assert!(!logs.contains(raw), "{format}: {raw} in the logs:\n{logs}");
        }
        assert!(
            !logs.lines().any(|l| l.starts_with("ERROR forged")),
            "{format}: a forged line:\n{logs}"
        );
        let line = logs
            .lines()
            .find(|l| l.contains("feedback received"))
            .unwrap_or_default();
        assert!(
            line.contains("[email]") && line.contains("[card]"),
            "{format}: {line}"
        );
    }
}

/// Opens a connection and sends `bytes` one byte every `every`, until the server
/// closes it or `give_up` passes; returns how long the server took to close it (or
/// answer), `None` if it kept the connection open.
async fn trickle(
    port: u16,
    bytes: &'static [u8],
    every: Duration,
    give_up: Duration,
) -> Option<Duration> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let mut buf = [0u8; 512];
    for byte in bytes.iter().cycle() {
        if started.elapsed() > give_up {
            return None;
        }
        if stream.write_all(&[*byte]).await.is_err() {
            return Some(started.elapsed());
        }
        // Anything read back (an answer) or EOF: the server is done with us.
        match tokio::time::timeout(every, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => return Some(started.elapsed()),
            Err(_) => {}
        }
    }
    None
}

#[tokio::test]
async fn slow_clients_are_cut_off_while_normal_clients_are_served() {
    let s = Server::start_ready(&[
        ("HERMES_HEADER_READ_TIMEOUT_MS", "1000"),
        ("HERMES_BODY_READ_TIMEOUT_MS", "1500"),
        ("HERMES_MAX_CONNECTIONS", "40"),
    ])
    .await;
    let give_up = Duration::from_secs(10);
    // 20 clients sending their headers one byte every 200 ms.
    let header_trickles: Vec<_> = (0..20)
        .map(|_| {
            tokio::spawn(trickle(
                s.port,
                b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                Duration::from_millis(200),
                give_up,
            ))
        })
        .collect();
    // 10 connections that never send anything.
    let mut idle = Vec::new();
    for _ in 0..10 {
        idle.push(
            tokio::net::TcpStream::connect(("127.0.0.1", s.port))
                .await
                .expect("connect"),
        );
    }
    // Meanwhile a normal client is served.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // (A fresh client: the harness's pooled connection was closed as idle.)
    let r = reqwest::Client::new()
        .post(s.url("/embed_text"))
        .json(&embed_body())
        .send()
        .await
        .expect("normal request");
    assert!(
        r.status().is_success() || r.status() == 503,
        "{}",
        r.status()
    );
    for t in header_trickles {
        let closed = t
            .await
            .expect("trickle")
            .expect("a slow header sender was never cut off");
        assert!(
            closed < Duration::from_secs(4),
            "cut off after {closed:?}, the header timeout is 1 s"
        );
    }
    // The idle connections were closed by the header timeout as well.
    for mut stream in idle {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(Duration::from_secs(4), stream.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "an idle connection stayed open: {read:?}"
        );
    }

    // A body trickled after complete headers: 408 with a JSON detail once the body
    // deadline passes.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", s.port))
        .await
        .expect("connect");
    stream
        .write_all(b"POST /embed_text HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"text\": \"")
        .await
        .expect("headers");
    let started = Instant::now();
    let mut answer = Vec::new();
    loop {
        if stream.write_all(b"a").await.is_err() {
            break;
        }
        let mut buf = [0u8; 1024];
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                    break;
                }
            }
            Err(_) => {}
        }
        assert!(
            started.elapsed() < give_up,
            "the trickled body was never cut off"
        );
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("\"detail\":\"Request body not received in time"),
        "{answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_connection_over_the_cap_gets_a_json_503_and_served_ones_continue() {
    let s = Server::start_ready(&[
        ("HERMES_MAX_CONNECTIONS", "3"),
        ("HERMES_HEADER_READ_TIMEOUT_MS", "20000"),
    ])
    .await;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(
            tokio::net::TcpStream::connect(("127.0.0.1", s.port))
                .await
                .expect("connect"),
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = tokio::net::TcpStream::connect(("127.0.0.1", s.port))
        .await
        .expect("connect");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), extra.read_to_string(&mut answer))
        .await
        .expect("answered in time")
        .expect("read");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert!(
        answer.contains(r#"{"detail":"Too many open connections (at most 3); retry later"}"#),
        "{answer}"
    );
    // A held connection is still served.
    let stream = &mut held[0];
    stream
        .write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut reply = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut reply))
        .await
        .expect("served in time")
        .expect("read");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    // Once connections close, new ones are served again.
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(s.get("/livez").await.status(), 200);
}

/// One response read off a raw connection: (status line, lower-cased head, body),
/// the body by its `content-length`; `None` when the connection closed first.
async fn read_response(stream: &mut tokio::net::TcpStream) -> Option<(String, String, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("answered in time")
            .ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&got[..head_end]).to_ascii_lowercase();
    let status = head.lines().next().unwrap_or_default().to_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no content-length: {head}"));
    let mut body = got[head_end..].to_vec();
    while body.len() < length {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("body in time")
            .ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    assert_eq!(body.len(), length, "{head}");
    Some((status, head, body))
}

/// The JSON `detail` of a raw answer, checking its content type.
fn json_detail(head: &str, body: &[u8]) -> String {
    assert!(head.contains("content-type: application/json"), "{head}");
    let value: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)));
    value["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("no detail: {value}"))
        .to_owned()
}

#[tokio::test]
async fn the_http_layer_s_own_errors_have_json_bodies() {
    use tokio::io::AsyncWriteExt;
    let s = Server::start_ready(&[]).await;
    let connect = || tokio::net::TcpStream::connect(("127.0.0.1", s.port));
    let huge_uri = format!(
        "GET /embed_text?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let many_headers = format!(
        "GET /livez HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..120)
            .map(|i| format!("X-H{i}: v\r\n"))
            .collect::<String>()
    );
    for (what, request, status, says) in [
        ("a 64 KB URL", huge_uri.as_str(), "414", "uri too long"),
        (
            "120 header fields",
            many_headers.as_str(),
            "431",
            "header fields too large",
        ),
        (
            "a garbage request line",
            "\u{1}\u{2} garbage\r\n\r\n",
            "400",
            "malformed",
        ),
        (
            "a bad header line",
            "GET /livez HTTP/1.1\r\nHost x\r\n\r\n",
            "400",
            "malformed",
        ),
    ] {
        let mut stream = connect().await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("write");
        let (line, head, body) = read_response(&mut stream)
            .await
            .unwrap_or_else(|| panic!("{what}: closed without an answer"));
        assert!(
            line.starts_with(&format!("http/1.1 {status}")),
            "{what}: {line}"
        );
        let detail = json_detail(&head, &body);
        assert!(
            detail.to_ascii_lowercase().contains(says),
            "{what}: {detail}"
        );
        // hyper closes the connection after its own error.
        assert!(read_response(&mut stream).await.is_none(), "{what}");
    }

    // Normal requests on one keep-alive connection are unaffected, an error the
    // router emits keeps its own JSON body, and a malformed request after them is
    // answered in JSON too.
    let mut stream = connect().await.expect("connect");
    for _ in 0..2 {
        stream
            .write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let (line, _, body) = read_response(&mut stream).await.expect("livez");
        assert!(line.starts_with("http/1.1 200"), "{line}");
        assert!(String::from_utf8_lossy(&body).contains("alive"));
        stream
            .write_all(b"GET /no/such/path HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let (line, head, body) = read_response(&mut stream).await.expect("404");
        assert!(line.starts_with("http/1.1 404"), "{line}");
        json_detail(&head, &body);
    }
    stream
        .write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        .await
        .expect("write");
    let (line, head, body) = read_response(&mut stream).await.expect("400");
    assert!(line.starts_with("http/1.1 400"), "{line}");
    json_detail(&head, &body);
}

#[tokio::test]
async fn a_request_past_its_route_s_timeout_is_a_json_504() {
    // Every API request is delayed 1.5 s (the fault-injection testing aid);
    // /embed_text may take 300 ms, /feedback 20 s.
    let s = Server::start_ready(&[
        ("HERMES_FAULT_LATENCY_MS", "1500"),
        ("HERMES_ROUTE_TIMEOUTS_MS", "embed_text=300,feedback=20000"),
    ])
    .await;
    let (status, _, value) = body(s.post_json("/embed_text", &embed_body()).await).await;
    assert_eq!(status, 504, "{value}");
    let detail = value["detail"].as_str().expect("detail");
    assert!(detail.contains("limit of 300 ms"), "{detail}");
    // The OpenAI route answers in OpenAI's shape.
    let (status, _, value) = body(
        s.post_json(
            "/v1/embeddings",
            &json!({"input": "hello", "model": "all-minilm-l6-v2"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 504, "{value}");
    assert_eq!(value["error"]["type"], "server_error", "{value}");
    // A route with a longer limit answers (here its 422) after the delay.
    let (status, _, value) = body(s.post_json("/feedback", &json!({})).await).await;
    assert_eq!(status, 422, "{value}");
    let logs = s.logs();
    assert!(logs.contains("request timed out"), "{logs}");
}
