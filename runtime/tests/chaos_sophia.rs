//! Sophia proposals after `/llm` answers (echo provider) survive Sophia being
//! down and the runtime being SIGKILLed: every proposal arrives once Sophia is
//! back, none twice, and `/llm` never waits for Sophia (latency reported); when
//! the Sophia outbox is full `/llm` answers 503 rather than lose a proposal; at
//! SIGTERM the runtime delivers its outbox before it exits (bounded).

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Server;
use common::milvus::eventually;
use common::sophia::Sophia;
use futures::StreamExt;
use serde_json::{Value, json};

const DELIVERY_TIMEOUT: Duration = Duration::from_secs(90);

fn runtime_envs(sophia: &Sophia, outbox: &str) -> Vec<(&'static str, String)> {
    let mut envs = sophia.envs();
    envs.extend([
        ("HERMES_MODELS", common::MODEL_ID.to_owned()),
        ("HERMES_LLM_PROVIDER", "echo".to_owned()),
        ("HERMES_RETRY_MAX_DELAY_MS", "500".to_owned()),
        ("HERMES_OUTBOX_DIR", outbox.to_owned()),
    ]);
    envs
}

async fn start(envs: &[(&'static str, String)]) -> Server {
    let refs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start_ready(&refs).await
}

/// `n` `/llm` calls at concurrency 8 with request ids `{tag}-{i}`; returns
/// the sorted latencies. Every answer must be 200.
async fn llm_traffic(s: &Arc<Server>, tag: &str, n: usize) -> Vec<Duration> {
    let mut latencies: Vec<Duration> = futures::stream::iter(0..n)
        .map(|i| {
            let s = Arc::clone(s);
            let id = format!("{tag}-{i}");
            async move {
                let started = Instant::now();
                let r = s
                    .client
                    .post(s.url("/llm"))
                    .header("x-request-id", &id)
                    .json(&json!({"prompt": format!("question {id}")}))
                    .send()
                    .await
                    .expect("POST /llm");
                let status = r.status();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                assert_eq!(status, 200, "{id}: {body}");
                started.elapsed()
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    latencies.sort();
    latencies
}

fn p99(sorted: &[Duration]) -> Duration {
    sorted[(sorted.len() * 99).div_ceil(100) - 1]
}

async fn wait_for_proposals(sophia: &Sophia, n: usize) {
    eventually(
        &format!("{n} proposals at Sophia"),
        DELIVERY_TIMEOUT,
        || async { (sophia.proposals().len() >= n).then_some(()) },
    )
    .await;
}

fn assert_exactly(sophia: &Sophia, expected: &HashSet<String>) {
    let proposals = sophia.proposals();
    let correlation: Vec<String> = proposals
        .iter()
        .map(|p| p["correlation_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let unique: HashSet<String> = correlation.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        correlation.len(),
        "a proposal was stored twice"
    );
    assert_eq!(
        &unique, expected,
        "exactly the answered requests have a proposal"
    );
    let ids: HashSet<&str> = proposals
        .iter()
        .filter_map(|p| p["proposal_id"].as_str())
        .collect();
    assert_eq!(ids.len(), proposals.len(), "proposal ids are unique");
}

#[tokio::test]
async fn proposals_wait_out_a_sophia_outage_and_llm_does_not() {
    const N: usize = 120;
    let mut sophia = Sophia::start().await;
    let outbox = common::scratch_dir("chaos2").join("outbox");
    let s = Arc::new(start(&runtime_envs(&sophia, &outbox.display().to_string())).await);

    // Warm up, then measure with Sophia up.
    llm_traffic(&s, "warm", 16).await;
    let up = llm_traffic(&s, "up", N).await;
    wait_for_proposals(&sophia, N + 16).await;

    sophia.down();
    let down = llm_traffic(&s, "down", N).await;
    let metrics = s.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("hermes_delivery_failures_total{dependency=\"sophia\""),
        "failed deliveries are counted"
    );
    assert!(
        sophia.proposals().len() == N + 16,
        "nothing arrives while Sophia is down"
    );
    sophia.up().await;
    wait_for_proposals(&sophia, 2 * N + 16).await;

    let expected: HashSet<String> = [("warm", 16), ("up", N), ("down", N)]
        .into_iter()
        .flat_map(|(t, n)| (0..n).map(move |i| format!("{t}-{i}")))
        .collect();
    assert_exactly(&sophia, &expected);
    let sample = sophia
        .proposals()
        .into_iter()
        .find(|p| p["correlation_id"] == "down-7")
        .unwrap();
    assert_eq!(sample["source_service"], "hermes");
    assert_eq!(sample["llm_provider"], "echo");
    assert_eq!(sample["model"], "echo-stub");
    assert_eq!(sample["raw_text"], "[echo] user: question down-7");
    assert_eq!(sample["confidence"], 0.7);
    assert_eq!(
        sample["metadata"],
        json!({"source": "hermes_llm", "derivation": "observed"})
    );

    let (p_up, p_down) = (p99(&up), p99(&down));
    eprintln!(
        "chaos 2: /llm p99 with Sophia up {p_up:?}, down {p_down:?} (ratio {:.2}); {} proposal POSTs for {} stored",
        p_down.as_secs_f64() / p_up.as_secs_f64(),
        sophia.proposal_posts(),
        sophia.proposals().len()
    );
    // Loose on purpose (timings flake on a busy machine): /llm must not wait
    // on Sophia, whose request timeout is 30 s.
    assert!(
        p_down < Duration::from_secs(5),
        "p99 with Sophia down: {p_down:?}"
    );
}

#[tokio::test]
async fn proposals_queued_before_a_sigkill_are_delivered_after_restart() {
    let mut sophia = Sophia::start().await;
    sophia.down();
    let outbox = common::scratch_dir("chaos3-sophia").join("outbox");
    let envs = runtime_envs(&sophia, &outbox.display().to_string());
    let s = Arc::new(start(&envs).await);
    llm_traffic(&s, "crash", 12).await;
    queued(&s, 12).await;
    let mut s = Arc::into_inner(s).expect("one owner");
    s.signal(libc::SIGKILL);
    s.wait_exit(Duration::from_secs(10)).await;
    drop(s);

    sophia.up().await;
    let _s = start(&envs).await;
    wait_for_proposals(&sophia, 12).await;
    let expected: HashSet<String> = (0..12).map(|i| format!("crash-{i}")).collect();
    assert_exactly(&sophia, &expected);
}

#[tokio::test]
async fn a_full_proposal_outbox_refuses_llm_instead_of_losing_proposals() {
    let mut sophia = Sophia::start().await;
    sophia.down();
    let outbox = common::scratch_dir("chaos-full").join("outbox");
    let mut envs = runtime_envs(&sophia, &outbox.display().to_string());
    envs.push(("HERMES_OUTBOX_MAX_RECORDS", "3".to_owned()));
    let s = Arc::new(start(&envs).await);
    llm_traffic(&s, "kept", 3).await;
    queued(&s, 3).await;

    let r = s
        .post_json("/llm", &json!({"prompt": "one too many"}))
        .await;
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("Sophia") && detail.contains("full"),
        "{detail}"
    );

    sophia.up().await;
    wait_for_proposals(&sophia, 3).await;
    eventually("room again", Duration::from_secs(30), || async {
        let r = s.post_json("/llm", &json!({"prompt": "after"})).await;
        (r.status() == 200).then_some(())
    })
    .await;
    wait_for_proposals(&sophia, 4).await;
    let expected: HashSet<String> = (0..3).map(|i| format!("kept-{i}")).collect();
    let stored: HashSet<String> = sophia
        .proposals()
        .iter()
        .filter_map(|p| p["correlation_id"].as_str().map(str::to_owned))
        .filter(|id| id.starts_with("kept-"))
        .collect();
    assert_eq!(stored, expected);
}

async fn queued(s: &Server, n: usize) {
    eventually(
        &format!("{n} proposals queued on disk"),
        Duration::from_secs(30),
        || async {
            let metrics = s.get("/metrics").await.text().await.unwrap_or_default();
            metrics
                .contains(&format!(
                    "hermes_outbox_depth_records{{dependency=\"sophia\"}} {n}"
                ))
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn sigterm_delivers_the_outbox_before_exiting() {
    let mut sophia = Sophia::start().await;
    sophia.down();
    let outbox = common::scratch_dir("chaos-drain").join("outbox");
    let mut envs = runtime_envs(&sophia, &outbox.display().to_string());
    envs.push(("HERMES_OUTBOX_DRAIN_SECONDS", "60".to_owned()));
    let s = Arc::new(start(&envs).await);
    llm_traffic(&s, "drain", 6).await;
    queued(&s, 6).await;

    let mut s = Arc::into_inner(s).expect("one owner");
    s.signal(libc::SIGTERM);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        s.logs().contains("delivering the outbox before exiting"),
        "{}",
        s.logs()
    );
    assert!(sophia.proposals().is_empty());
    // Sophia returns while the runtime is draining: it delivers, then exits.
    sophia.up().await;
    let status = s.wait_exit(Duration::from_secs(45)).await;
    assert!(status.success(), "{status:?}\n{}", s.logs());
    let expected: HashSet<String> = (0..6).map(|i| format!("drain-{i}")).collect();
    assert_exactly(&sophia, &expected);
    assert!(!s.logs().contains("exiting with records not delivered"));
}

#[tokio::test]
async fn an_undeliverable_outbox_bounds_the_exit_and_is_kept_for_the_next_start() {
    let mut sophia = Sophia::start().await;
    sophia.down();
    let outbox = common::scratch_dir("chaos-drain-timeout").join("outbox");
    let mut envs = runtime_envs(&sophia, &outbox.display().to_string());
    envs.push(("HERMES_OUTBOX_DRAIN_SECONDS", "1".to_owned()));
    let s = Arc::new(start(&envs).await);
    llm_traffic(&s, "kept", 4).await;
    queued(&s, 4).await;

    let mut s = Arc::into_inner(s).expect("one owner");
    s.signal(libc::SIGTERM);
    let status = s.wait_exit(Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}");
    let logs = s.logs();
    assert!(
        logs.contains("exiting with records not delivered"),
        "{logs}"
    );
    assert!(logs.contains(r#""records":4"#), "{logs}");
    drop(s);

    sophia.up().await;
    let _s = start(&envs).await;
    wait_for_proposals(&sophia, 4).await;
    let expected: HashSet<String> = (0..4).map(|i| format!("kept-{i}")).collect();
    assert_exactly(&sophia, &expected);
}
