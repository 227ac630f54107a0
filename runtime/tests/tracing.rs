//! OpenTelemetry tracing end to end: a real OTLP/HTTP receiver (`otlp_receiver.py`,
//! decoding with the official `opentelemetry-proto` package) gets the spans of an
//! audio upload sent with a W3C `traceparent`: the request span is the client
//! span's child, the model inferences (Whisper, then the embedder) and the call to
//! the test Sophia are the request's children, Sophia saw our `traceparent`, and
//! the request's log lines name the trace; readiness probes are not exported. A
//! chat completion through the `openai` provider to a second traced runtime shows
//! the trace crossing the LLM upstream call. An embedding written to a real
//! Milvus through a wiretap (`grpc_wiretap.py`, decoding HTTP/2 headers) shows
//! the `traceparent` of the upsert span arriving at Milvus with the call, and an
//! embedding queued while Milvus was away is replayed in a span linked to the
//! request that queued it. The
//! export happens at SIGTERM (the batch delay is set far beyond the test), so
//! the tests also prove the flush.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::Server;
use common::milvus::{MilvusServer, ids_with_text, wait_milvus_healthy, wait_outbox_drained};
use common::sophia::Sophia;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

const STT_MODEL: &str = "whisper-tiny-en";
const SERVICE: &str = "hermes-tracing-test";

/// A helper process of this test (killed on drop), the port it listens on and
/// the JSON-lines file it writes what it saw to.
struct Helper {
    _child: tokio::process::Child,
    port: u16,
    out: std::path::PathBuf,
}

/// Starts `tests/<script>` with the venv's Python; it prints "listening PORT".
async fn start_helper(script: &str, args: &[String], out: std::path::PathBuf) -> Helper {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} missing: run `make tools`",
        python.display()
    );
    let mut child = tokio::process::Command::new(&python)
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests")
                .join(script),
        )
        .args(args)
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start {script}: {e}"));
    let stdout = child.stdout.take().expect("helper stdout");
    let mut first = String::new();
    tokio::time::timeout(
        Duration::from_secs(30),
        BufReader::new(stdout).read_line(&mut first),
    )
    .await
    .unwrap_or_else(|_| {
        panic!("{script} starts within 30 s (are its packages installed? `make tools`)")
    })
    .expect("read the helper's port");
    let port = first
        .trim()
        .strip_prefix("listening ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected {script} line {first:?}"));
    Helper {
        _child: child,
        port,
        out,
    }
}

/// A real OTLP/HTTP receiver (the official `opentelemetry-proto` decoding).
async fn start_receiver() -> Helper {
    let spans = common::scratch_dir("otlp").join("spans.jsonl");
    start_helper("otlp_receiver.py", &[], spans).await
}

/// A forwarder to `port` that records the headers of each gRPC call.
async fn start_wiretap(port: u16) -> Helper {
    let calls = common::scratch_dir("wiretap").join("calls.jsonl");
    start_helper("grpc_wiretap.py", &[port.to_string()], calls).await
}

/// The variables that send a runtime's spans to `receiver` as `service`; nothing
/// is exported before SIGTERM (the spans arrive by the shutdown flush).
fn traced(receiver: &Helper, service: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", receiver.port),
        ),
        ("OTEL_SERVICE_NAME", service.to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY", "600000".to_owned()),
    ]
}

async fn start(envs: &[(&'static str, String)]) -> Server {
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start_ready(&envs).await
}

async fn stop(s: &mut Server) {
    s.signal(libc::SIGTERM);
    assert!(
        s.wait_exit(Duration::from_secs(30)).await.success(),
        "{}",
        s.logs()
    );
}

fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// A trace id and span id no other test run uses.
fn client_ids() -> (String, String) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mix = |x: u64| x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29) | 1;
    let low = nanos as u64 ^ u64::from(std::process::id());
    let trace = format!("{:016x}{:016x}", mix(low), mix(low.rotate_left(7)));
    let span = format!("{:016x}", mix(low ^ 0x5bd1_e995));
    (trace, span)
}

async fn upload_audio(s: &Server, traceparent: &str) -> (u16, Value) {
    let wav =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/audioeval/en/hello_world.wav");
    let audio = std::fs::read(&wav)
        .unwrap_or_else(|e| panic!("{}: {e} (run `make models`)", wav.display()));
    let part = reqwest::multipart::Part::bytes(audio)
        .file_name("hello.wav")
        .mime_str("audio/wav")
        .unwrap();
    let r = s
        .client
        .post(s.url("/ingest/media?media_type=audio"))
        .header("traceparent", traceparent)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("POST /ingest/media");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The span `name` of the trace `trace_id`; panics listing every span without one.
fn span_in_trace<'a>(spans: &'a [Value], name: &str, trace_id: &str) -> &'a Value {
    spans
        .iter()
        .find(|s| s["name"] == name && s["trace_id"] == trace_id)
        .unwrap_or_else(|| {
            let all = serde_json::to_string_pretty(spans).unwrap_or_default();
            panic!("no span {name:?} in the trace {trace_id}: {all}")
        })
}

fn children_of<'a>(spans: &'a [Value], parent: &Value) -> Vec<&'a Value> {
    spans
        .iter()
        .filter(|s| s["parent_span_id"] == parent["span_id"] && s["trace_id"] == parent["trace_id"])
        .collect()
}

#[tokio::test]
async fn spans_reach_an_otlp_receiver_with_the_clients_trace() {
    common::installed_model_dir(STT_MODEL, "ggml-model.bin");
    let receiver = start_receiver().await;
    let sophia = Sophia::start().await;
    let mut envs = sophia.envs();
    envs.extend(traced(&receiver, SERVICE));
    envs.push(("HERMES_MODELS", format!("{},{STT_MODEL}", common::MODEL_ID)));
    let mut s = start(&envs).await;

    let (trace_id, client_span) = client_ids();
    let (status, body) = upload_audio(&s, &format!("00-{trace_id}-{client_span}-01")).await;
    assert_eq!(status, 200, "{body}\n{}", s.logs());
    let untraced = s.get("/health").await.status();

    stop(&mut s).await;
    let spans = read_lines(&receiver.out);
    let dump = || serde_json::to_string_pretty(&spans).unwrap_or_default();
    assert!(
        spans.iter().all(|s| s["service_name"] == SERVICE),
        "every span names the service: {}",
        dump()
    );

    // The readiness polls of the harness are logged, not exported.
    assert!(
        !spans.iter().any(|s| s["name"] == "GET /readyz"),
        "probes are not traced: {}",
        dump()
    );

    // The request span: the client's span is its parent.
    let request = spans
        .iter()
        .find(|s| s["name"] == "POST /ingest/media")
        .unwrap_or_else(|| panic!("no request span among {}", dump()));
    assert_eq!(request["trace_id"], trace_id.as_str(), "{}", dump());
    assert_eq!(
        request["parent_span_id"],
        client_span.as_str(),
        "{}",
        dump()
    );
    assert_eq!(request["kind"], 2, "a server span");
    assert_eq!(request["attributes"]["route"], "/ingest/media");
    assert_eq!(request["attributes"]["method"], "POST");
    assert_eq!(request["attributes"]["status"], 200);

    // Its children: Whisper and the embedder, each with its queue time, and Sophia.
    let children = children_of(&spans, request);
    for model in [STT_MODEL, common::MODEL_ID] {
        let inference = children
            .iter()
            .find(|s| s["name"] == "inference" && s["attributes"]["model"] == model)
            .unwrap_or_else(|| panic!("no {model} inference span under the request: {}", dump()));
        let queued = inference["attributes"]["queue_ms"].as_f64();
        assert!(queued.is_some_and(|q| q >= 0.0), "{inference}");
    }
    let outbound = children
        .iter()
        .find(|s| s["name"] == "sophia POST /ingest/media")
        .unwrap_or_else(|| panic!("no Sophia span under the request: {}", dump()));
    assert_eq!(outbound["kind"], 3, "a client span");
    assert_eq!(outbound["attributes"]["http.response.status_code"], 200);

    // Sophia saw our trace, with the outbound span as the parent.
    let seen = sophia.traceparents();
    assert_eq!(
        seen,
        vec![format!(
            "00-{trace_id}-{}-01",
            outbound["span_id"].as_str().unwrap()
        )]
    );

    // A request without a traceparent starts a trace of its own.
    assert_eq!(untraced, 200);
    let health = spans
        .iter()
        .find(|s| s["name"] == "GET /health")
        .unwrap_or_else(|| panic!("no /health span: {}", dump()));
    assert_eq!(health["parent_span_id"], "");
    assert_ne!(health["trace_id"], trace_id.as_str());

    // The request's log lines name the trace.
    let logs = std::fs::read_to_string(&s.log).unwrap_or_default();
    let finished = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == "request finished" && l["span"]["route"] == "/ingest/media")
        .unwrap_or_else(|| panic!("no access log line:\n{logs}"));
    assert_eq!(finished["trace_id"], trace_id.as_str(), "{finished}");
}

#[tokio::test]
async fn the_llm_upstream_call_carries_the_trace_to_the_upstream() {
    let receiver = start_receiver().await;
    let mut upstream_envs = traced(&receiver, "hermes-upstream");
    upstream_envs.push(("HERMES_LLM_PROVIDER", "echo".to_owned()));
    let mut upstream = start(&upstream_envs).await;
    let mut front_envs = traced(&receiver, "hermes-front");
    front_envs.extend([
        ("HERMES_LLM_PROVIDER", "openai".to_owned()),
        ("HERMES_LLM_BASE_URL", upstream.url("/v1")),
    ]);
    let mut front = start(&front_envs).await;

    let (trace_id, client_span) = client_ids();
    let r = front
        .client
        .post(front.url("/v1/chat/completions"))
        .header("traceparent", format!("00-{trace_id}-{client_span}-01"))
        .json(&serde_json::json!({"messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .expect("POST /v1/chat/completions");
    assert_eq!(r.status(), 200, "{}", front.logs());

    stop(&mut front).await;
    stop(&mut upstream).await;
    let spans = read_lines(&receiver.out);
    let dump = || serde_json::to_string_pretty(&spans).unwrap_or_default();
    let find = |service: &str, name: &str| {
        spans
            .iter()
            .find(|s| {
                s["service_name"] == service
                    && s["name"] == name
                    && s["trace_id"] == trace_id.as_str()
            })
            .unwrap_or_else(|| panic!("no {service} span {name:?} in the trace: {}", dump()))
    };
    let request = find("hermes-front", "POST /v1/chat/completions");
    assert_eq!(request["parent_span_id"], client_span.as_str());
    let call = find("hermes-front", "llm_upstream POST chat/completions");
    assert_eq!(call["parent_span_id"], request["span_id"], "{}", dump());
    assert_eq!(call["kind"], 3, "a client span");
    assert_eq!(call["attributes"]["http.response.status_code"], 200);
    // The upstream's request span is the child of our client span.
    let served = find("hermes-upstream", "POST /v1/chat/completions");
    assert_eq!(served["parent_span_id"], call["span_id"], "{}", dump());
}

/// [`traced`], with Milvus expected at `port` on 127.0.0.1.
fn traced_with_milvus(receiver: &Helper, port: u16) -> Vec<(&'static str, String)> {
    let mut envs = traced(receiver, SERVICE);
    envs.extend([
        ("MILVUS_HOST", "127.0.0.1".to_owned()),
        ("MILVUS_PORT", port.to_string()),
    ]);
    envs
}

/// `POST /embed_text` of `text` as the child of the client's span; the 200's body.
async fn embed_traced(s: &Server, text: &str, trace_id: &str, client_span: &str) -> Value {
    let r = s
        .client
        .post(s.url("/embed_text"))
        .header("traceparent", format!("00-{trace_id}-{client_span}-01"))
        .json(&serde_json::json!({ "text": text }))
        .send()
        .await
        .expect("POST /embed_text");
    assert_eq!(r.status(), 200, "{}", s.logs());
    r.json().await.expect("JSON body")
}

#[tokio::test]
async fn the_milvus_upsert_carries_the_trace_to_milvus() {
    let receiver = start_receiver().await;
    let milvus = MilvusServer::start().await;
    let wiretap = start_wiretap(milvus.port).await;
    let mut s = start(&traced_with_milvus(&receiver, wiretap.port)).await;
    wait_milvus_healthy(&s, Duration::from_secs(60)).await;

    let (trace_id, client_span) = client_ids();
    let text = format!("traced into Milvus {trace_id}");
    let body = embed_traced(&s, &text, &trace_id, &client_span).await;
    assert_eq!(body["persisted"], true, "{body}");
    let ids = ids_with_text(&milvus.client().await, "hermes_embeddings", &text).await;
    assert_eq!(ids, vec![body["embedding_id"].as_str().unwrap().to_owned()]);

    stop(&mut s).await;
    let spans = read_lines(&receiver.out);
    let dump = || serde_json::to_string_pretty(&spans).unwrap_or_default();
    let request = span_in_trace(&spans, "POST /embed_text", &trace_id);
    assert_eq!(request["parent_span_id"], client_span.as_str());
    let upsert = children_of(&spans, request)
        .into_iter()
        .find(|s| s["name"] == "milvus upsert")
        .unwrap_or_else(|| panic!("no Milvus span under the request: {}", dump()));
    assert_eq!(upsert["kind"], 3, "a client span");

    // What Milvus received: the upsert with our span as the parent, and no
    // other call (the supervisor's, outside any request) in the client's trace.
    let calls = read_lines(&wiretap.out);
    let upserts: Vec<&Value> = calls
        .iter()
        .filter(|c| c[":path"] == "/milvus.proto.milvus.MilvusService/Upsert")
        .collect();
    assert_eq!(upserts.len(), 1, "{calls:#?}");
    assert_eq!(
        upserts[0]["traceparent"],
        format!("00-{trace_id}-{}-01", upsert["span_id"].as_str().unwrap()),
        "{calls:#?}"
    );
    let others_in_trace = calls
        .iter()
        .filter(|c| c[":path"] != upserts[0][":path"])
        .filter(|c| {
            c["traceparent"]
                .as_str()
                .is_some_and(|t| t.contains(&trace_id))
        })
        .count();
    assert_eq!(others_in_trace, 0, "{calls:#?}");
}

#[tokio::test]
async fn a_replayed_upsert_links_back_to_the_request_that_queued_it() {
    let receiver = start_receiver().await;
    // Milvus is not there yet: the embedding waits in the outbox.
    let port = common::milvus::free_port();
    let mut s = start(&traced_with_milvus(&receiver, port)).await;
    let (trace_id, client_span) = client_ids();
    let text = format!("queued, then replayed {trace_id}");
    let body = embed_traced(&s, &text, &trace_id, &client_span).await;
    assert_eq!(body["persisted"], false, "{body}");

    let milvus = MilvusServer::start_at(port, common::scratch_dir("replay-milvus")).await;
    wait_milvus_healthy(&s, Duration::from_secs(60)).await;
    wait_outbox_drained(&s, Duration::from_secs(60)).await;
    let ids = ids_with_text(&milvus.client().await, "hermes_embeddings", &text).await;
    assert_eq!(ids, vec![body["embedding_id"].as_str().unwrap().to_owned()]);

    stop(&mut s).await;
    let spans = read_lines(&receiver.out);
    let dump = || serde_json::to_string_pretty(&spans).unwrap_or_default();
    let request = span_in_trace(&spans, "POST /embed_text", &trace_id);
    // The replay is background work in a trace of its own, linked to the request.
    let replay = spans
        .iter()
        .filter(|s| s["name"] == "milvus upsert" && s["trace_id"] != trace_id.as_str())
        .find(|s| s["attributes"]["error"].is_null())
        .unwrap_or_else(|| panic!("no successful replay span: {}", dump()));
    assert_eq!(
        replay["links"],
        serde_json::json!([{"trace_id": trace_id, "span_id": request["span_id"]}]),
        "{}",
        dump()
    );
}
