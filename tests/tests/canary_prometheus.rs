//! The canary analysis against a REAL Prometheus scraping REAL runtime processes.
//!
//! Three `hermes-runtime` processes play three revisions of one HermesDeployment:
//! `healthy`, `faulty` (the testing aid HERMES_FAULT_5XX_RATE=0.2 and
//! HERMES_FAULT_LATENCY_MS=600; the SLO is p95 <= 400 ms, 5xx <= 5 %) and `idle` (no traffic). Prometheus scrapes them every
//! second with `namespace`/`revision` labels. A load generator drives the first two;
//! the operator's own analysis (plan -> Prometheus -> decision) feeds its own state
//! machine every interval, exactly as the controller does, and `hermes-operator analyze`
//! runs against the same Prometheus. Two more play canaries of their own: `sparse`
//! (HERMES_FAULT_5XX_RATE=0.5, a handful of requests: too little traffic must not roll it
//! back) and `llm` (the local LLM, streamed chat completions: the `ttftP95` SLO read from
//! the runtime's time-to-first-token histogram). One test so the processes start once;
//! the whole of it is bounded.

use chrono::Utc;
use hermes_integration_tests::load::Load;
use hermes_integration_tests::prometheus::{Prometheus, SCRAPE_INTERVAL, Target};
use hermes_integration_tests::runtime::Runtime;
use hermes_integration_tests::{free_port, model_dir, scratch_dir, workspace_binary};
use hermes_operator::analysis::plan::{self, Target as PlanTarget};
use hermes_operator::analysis::prometheus::Prometheus as PromClient;
use hermes_operator::analysis::run::{self, CheckResult, Outcome};
use hermes_operator::crd::HermesDeployment;
use hermes_operator::rollout::{
    CanaryPolicy, NoDataPolicy, RolloutEvent, RolloutPhase, RolloutState, next,
};
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

const NS: &str = "canary-it";
/// Analysis interval of the test (the spec's `interval`); the rate window is wider so
/// that it always holds several 1 s scrapes.
const INTERVAL: Duration = Duration::from_secs(2);
const FAILURE_LIMIT: u32 = 2;
/// The whole test, processes included.
const TEST_BOUND: Duration = Duration::from_secs(150);
/// The local LLM of the catalog (`make models` installs it).
const LLM_ID: &str = "smollm2-135m-instruct";

fn resource(no_data_policy: &str, steps: &[i32]) -> HermesDeployment {
    serde_json::from_value(json!({
        "apiVersion": "hermes.logos.dev/v1alpha1",
        "kind": "HermesDeployment",
        "metadata": {"name": "hermes", "namespace": NS},
        "spec": {
            "image": "hermes-runtime:test",
            "models": [{"name": "all-minilm-l6-v2", "task": "embedding"}],
            "slos": [{"route": "/", "latencyP95": "400ms", "maxErrorRate": 0.05}],
            "rollout": {
                "canary": {
                    "steps": steps,
                    "interval": "2s",
                    "failureLimit": FAILURE_LIMIT,
                    "noDataPolicy": no_data_policy,
                },
                "analysis": {
                    "window": "5s",
                    "compareWithStable": {"tolerance": 0.01},
                    "metrics": [{
                        "name": "throughput",
                        "query": "sum(rate(hermes_http_requests_total{namespace=\"{{namespace}}\",revision=\"{{revision}}\",route=\"/\"}[{{interval}}]))",
                        "min": 1,
                    }],
                },
            },
        },
    }))
    .expect("HermesDeployment")
}

/// A canary of its own (`steps` 50, 100, interval 2 s, failureLimit 2) with the SLO
/// `slo`, `noDataPolicy` and `analysis`.
fn own_canary(
    models: Value,
    slo: Value,
    no_data_policy: &str,
    analysis: Value,
) -> HermesDeployment {
    serde_json::from_value(json!({
        "apiVersion": "hermes.logos.dev/v1alpha1",
        "kind": "HermesDeployment",
        "metadata": {"name": "hermes", "namespace": NS},
        "spec": {
            "image": "hermes-runtime:test",
            "models": models,
            "slos": [slo],
            "rollout": {
                "canary": {
                    "steps": [50, 100],
                    "interval": "2s",
                    "failureLimit": FAILURE_LIMIT,
                    "noDataPolicy": no_data_policy,
                },
                "analysis": analysis,
            },
        },
    }))
    .expect("HermesDeployment")
}

fn policy_of(hd: &HermesDeployment) -> CanaryPolicy {
    CanaryPolicy::from_spec(hd.spec.rollout.as_ref().and_then(|r| r.canary.as_ref()))
}

/// Requests to the runtime Prometheus knows as `revision`, in two bursts with scrapes
/// before, between and after: a series is created by its first increment, which `rate()`
/// cannot see; the second burst is what it measures. (Prometheus scrapes a new target
/// only some seconds after it starts.)
async fn in_two_bursts<F, Fut>(prom: &PromClient, revision: &str, per_burst: usize, send: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let up = format!("up{{namespace=\"{NS}\",revision=\"{revision}\"}} == 1");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(prom.query(&up).await, Ok(Some(_))) {
        assert!(
            Instant::now() < deadline,
            "Prometheus never scraped {revision}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let scrapes = SCRAPE_INTERVAL * 2 + Duration::from_millis(500);
    for _ in 0..2 {
        for _ in 0..per_burst {
            send().await;
        }
        tokio::time::sleep(scrapes).await;
    }
}

/// Four GETs to `sparse`, two of them failing (HERMES_FAULT_5XX_RATE=0.5 fails every
/// second request).
async fn sparse_traffic(prom: PromClient, base: String) {
    let client = reqwest::Client::new();
    let url = format!("{base}/");
    in_two_bursts(&prom, "sparse", 2, || async {
        client.get(&url).send().await.expect("GET /");
    })
    .await;
}

/// The local LLM on `port` (Prometheus scrapes it from the start), then two streamed chat
/// completions, one per burst; returns the runtime (alive until the test ends).
async fn llm_with_streamed_chats(prom: PromClient, port: u16) -> Runtime {
    let models = model_dir(&[LLM_ID]);
    let models = models.to_string_lossy();
    let port = port.to_string();
    let env = [
        ("HERMES_MODEL_DIR", &*models),
        ("HERMES_MODELS", LLM_ID),
        ("HERMES_PORT", &*port),
    ];
    let llm = Runtime::start("llm", &env).await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", llm.base);
    let body = json!({
        "model": LLM_ID, "stream": true, "temperature": 0, "max_tokens": 4,
        "messages": [{"role": "user", "content": "Say hello."}],
    });
    in_two_bursts(&prom, "llm", 1, || async {
        let r = client.post(&url).json(&body).send().await.expect("POST");
        assert_eq!(r.status(), 200);
        let text = r.text().await.expect("stream");
        assert!(text.contains("data: [DONE]"), "{text}");
    })
    .await;
    llm
}

/// One analysis of `revision`, as the controller runs it.
async fn analyse(
    hd: &HermesDeployment,
    prom: &PromClient,
    revision: &str,
    stable: &str,
) -> (RolloutEvent, Vec<CheckResult>) {
    let window = plan::window(&hd.spec, INTERVAL);
    let checks = plan::checks(
        &hd.spec,
        &PlanTarget {
            namespace: NS,
            name: "hermes",
            revision,
            stable_revision: Some(stable),
            window: &window,
        },
    );
    let results = run::run(Ok(prom), &checks).await;
    (run::decide(&results), results)
}

fn state_with_canary(revision: &str, policy: &CanaryPolicy) -> RolloutState {
    let first = RolloutState::default();
    let (stable, _) = next(
        &first,
        RolloutEvent::NewRevision("stable-rev".into()),
        policy,
        Utc::now(),
    );
    let (canary, _) = next(
        &stable,
        RolloutEvent::NewRevision(revision.into()),
        policy,
        Utc::now(),
    );
    assert!(matches!(canary.phase, RolloutPhase::Progressing { .. }));
    canary
}

fn check<'a>(results: &'a [CheckResult], name: &str) -> &'a CheckResult {
    results
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("check {name} in {results:?}"))
}

/// `hermes-operator analyze` on `hd` for `revision`: (exit code, stdout).
fn analyze_cli(hd_file: &std::path::Path, url: &str, revision: &str, json: bool) -> (i32, String) {
    let mut cmd = Command::new(workspace_binary("hermes-operator"));
    cmd.args(["analyze", "-f"]).arg(hd_file).args([
        "--prometheus",
        url,
        "--revision",
        revision,
        "--stable-revision",
        "healthy",
    ]);
    if json {
        cmd.args(["-o", "json"]);
    }
    let out = cmd.output().expect("run hermes-operator analyze");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn canary_analysis_with_real_prometheus_and_runtimes() {
    tokio::time::timeout(TEST_BOUND, scenario())
        .await
        .expect("the canary scenario finished within its bound");
}

async fn scenario() {
    let healthy = Runtime::start("healthy", &[]).await;
    let faulty = Runtime::start(
        "faulty",
        &[
            ("HERMES_FAULT_5XX_RATE", "0.2"),
            ("HERMES_FAULT_LATENCY_MS", "600"),
        ],
    )
    .await;
    let idle = Runtime::start("idle", &[]).await;
    let sparse = Runtime::start("sparse", &[("HERMES_FAULT_5XX_RATE", "0.5")]).await;
    let llm_port = free_port();

    // The testing aid announces itself in /health, and only where it is on.
    let health = |r: &Runtime| {
        let url = format!("{}/health", r.base);
        async move {
            reqwest::get(url)
                .await
                .expect("GET /health")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let faulty_health = health(&faulty).await;
    assert_eq!(faulty_health["fault_injection"]["error_rate"], 0.2);
    assert_eq!(faulty_health["fault_injection"]["latency_ms"], 600);
    assert!(health(&healthy).await.get("fault_injection").is_none());

    let prometheus = Prometheus::start(&[
        Target {
            addr: healthy.addr(),
            namespace: NS,
            revision: "healthy",
        },
        Target {
            addr: faulty.addr(),
            namespace: NS,
            revision: "faulty",
        },
        Target {
            addr: idle.addr(),
            namespace: NS,
            revision: "idle",
        },
        Target {
            addr: sparse.addr(),
            namespace: NS,
            revision: "sparse",
        },
        Target {
            addr: format!("127.0.0.1:{llm_port}"),
            namespace: NS,
            revision: "llm",
        },
    ])
    .await;
    let prom = PromClient::standalone(&prometheus.url).expect("client");
    let sparse_done = tokio::spawn(sparse_traffic(prom.clone(), sparse.base.clone()));
    // The LLM loads its model and serves its requests while the first canaries run.
    let llm = tokio::spawn(llm_with_streamed_chats(prom.clone(), llm_port));

    // Load on both; the faults start with the first request to `faulty`.
    let healthy_load = Load::start(format!("{}/", healthy.base), 2, Duration::from_millis(10));
    let fault_injected = Instant::now();
    let faulty_load = Load::start(format!("{}/", faulty.base), 6, Duration::from_millis(10));

    // --- faulty: fails error rate and latency, rolled back within failureLimit failures.
    let hd = resource("wait", &[50, 100]);
    let policy = CanaryPolicy::from_spec(hd.spec.rollout.as_ref().and_then(|r| r.canary.as_ref()));
    assert_eq!(policy.failure_limit, FAILURE_LIMIT);
    let mut state = state_with_canary("faulty", &policy);
    let mut decisions = Vec::new();
    let mut last = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    while !matches!(state.phase, RolloutPhase::RolledBack { .. }) {
        assert!(
            Instant::now() < deadline,
            "no rollback decision within 40 s: {decisions:?}\n{last:#?}"
        );
        tokio::time::sleep(INTERVAL).await;
        let (event, results) = analyse(&hd, &prom, "faulty", "healthy").await;
        decisions.push(run::summary(&event));
        state = next(&state, event, &policy, Utc::now()).0;
        last = results;
    }
    let decided = fault_injected.elapsed();
    let failed = decisions.iter().filter(|d| **d == "Failed").count();
    assert_eq!(
        failed, FAILURE_LIMIT as usize,
        "rolled back after exactly failureLimit failed analyses: {decisions:?}"
    );
    assert!(
        decisions.ends_with(&["Failed"; FAILURE_LIMIT as usize]),
        "consecutive: {decisions:?}"
    );
    let error_rate = check(&last, "error-rate /");
    assert_eq!(error_rate.result(), "fail", "{error_rate:?}");
    let value = error_rate.value.expect("a value");
    assert!((0.1..=0.3).contains(&value), "about 0.2: {value}");
    assert_eq!(error_rate.outcome, Outcome::Fail { threshold: 0.05 });
    let p95 = check(&last, "latency-p95 /");
    assert_eq!(p95.result(), "fail", "{p95:?}");
    assert!(p95.value.expect("p95") > 0.4, "{p95:?}");
    assert_eq!(check(&last, "error-rate-vs-stable /").result(), "fail");
    assert_eq!(
        check(&last, "throughput").result(),
        "pass",
        "it had traffic"
    );
    let RolloutPhase::RolledBack { reason } = &state.phase else {
        unreachable!()
    };
    assert!(
        reason.starts_with("check error-rate / failed: value 0.")
            && reason.ends_with("against threshold 0.05 (2 consecutive failures)"),
        "{reason}"
    );
    let expected = INTERVAL * FAILURE_LIMIT + SCRAPE_INTERVAL;
    let (_, faulty_5xx, _) = faulty_load.totals();
    assert!(faulty_5xx > 0, "the faulty runtime answered 5xx");
    println!(
        "MEASURED fault injection -> rollback decision: {:.1} s over {} analyses {:?} (interval {} s x failureLimit {} + scrape {} s = {:.1} s; the rest is waiting for the first 5 s rate window)",
        decided.as_secs_f64(),
        decisions.len(),
        decisions,
        INTERVAL.as_secs(),
        FAILURE_LIMIT,
        SCRAPE_INTERVAL.as_secs(),
        expected.as_secs_f64()
    );

    // The LLM's work is done before the healthy canary is judged on its latency.
    let llm = llm.await.expect("the LLM runtime and its requests");

    // --- healthy: every check passes at every step, then it is promoted.
    let mut state = state_with_canary("healthy", &policy);
    for step in 0..2 {
        let (event, results) = analyse(&hd, &prom, "healthy", "idle").await;
        for r in &results {
            assert_eq!(r.result(), "pass", "step {step}: {r:?}");
        }
        assert_eq!(event, RolloutEvent::CheckPassed);
        state = next(&state, event, &policy, Utc::now()).0;
        tokio::time::sleep(INTERVAL).await;
    }
    assert_eq!(state.phase, RolloutPhase::Promoting);

    // --- no traffic: the noDataPolicy decides.
    let (event, results) = analyse(&hd, &prom, "idle", "healthy").await;
    assert_eq!(
        event,
        RolloutEvent::NoData {
            metric: "error-rate /".into()
        }
    );
    for name in ["error-rate /", "latency-p95 /", "throughput"] {
        assert_eq!(check(&results, name).result(), "noData", "{name}");
    }
    let after = |policy_name: &str, event: RolloutEvent| {
        let hd = resource(policy_name, &[50, 100]);
        let policy =
            CanaryPolicy::from_spec(hd.spec.rollout.as_ref().and_then(|r| r.canary.as_ref()));
        let start = state_with_canary("idle", &policy);
        let once = next(&start, event.clone(), &policy, Utc::now()).0;
        (policy, once)
    };
    let (p, waited) = after("wait", event.clone());
    assert_eq!(p.no_data_policy, NoDataPolicy::Wait);
    assert_eq!(
        waited.phase,
        RolloutPhase::Progressing {
            step: 0,
            weight: 50
        }
    );
    assert_eq!(waited.consecutive_failures, 0, "wait counts nothing");
    let (_, skipped) = after("skip", event.clone());
    assert_eq!(
        skipped.phase,
        RolloutPhase::Progressing {
            step: 1,
            weight: 100
        }
    );
    let (p, once) = after("fail", event.clone());
    assert_eq!(once.consecutive_failures, 1);
    tokio::time::sleep(INTERVAL).await;
    let (again, _) = analyse(&hd, &prom, "idle", "healthy").await;
    let twice = next(&once, again, &p, Utc::now()).0;
    assert!(
        matches!(&twice.phase, RolloutPhase::RolledBack { reason } if reason.contains("no data")),
        "{twice:?}"
    );

    // --- Prometheus rejecting a query is a failed check with its reason, never a pass.
    let mut broken = resource("skip", &[50, 100]);
    if let Some(a) = broken
        .spec
        .rollout
        .as_mut()
        .and_then(|r| r.analysis.as_mut())
    {
        a.metrics[0].query = "sum(rate(hermes_http_requests_total[{{interval}}]".into();
    }
    let (event, results) = analyse(&broken, &prom, "healthy", "idle").await;
    let Outcome::Error { error } = &check(&results, "throughput").outcome else {
        panic!("{results:?}")
    };
    assert!(
        error.starts_with("Prometheus rejected the query (bad_data)"),
        "{error}"
    );
    assert!(
        matches!(event, RolloutEvent::CheckErrored { .. }),
        "{event:?}"
    );

    // --- the CLI on the same Prometheus.
    let file = scratch_dir("analyze").join("hd.yaml");
    std::fs::write(&file, serde_json::to_string_pretty(&hd).expect("json")).expect("hd.yaml");
    let (code, out) = analyze_cli(&file, &prometheus.url, "faulty", true);
    assert_eq!(code, 1, "{out}");
    let report: Value = serde_json::from_str(&out).expect("json report");
    assert_eq!(report["decision"], "fail");
    let checks = report["checks"].as_array().expect("checks");
    let by_name = |n: &str| {
        checks
            .iter()
            .find(|c| c["name"] == n)
            .unwrap_or_else(|| panic!("{n} in {out}"))
    };
    assert_eq!(by_name("error-rate /")["result"], "fail");
    assert_eq!(by_name("error-rate /")["max"], 0.05);
    assert!(
        by_name("error-rate /")["query"]
            .as_str()
            .unwrap_or("")
            .contains("revision=\"faulty\"")
    );
    assert_eq!(by_name("latency-p95 /")["result"], "fail");
    let (code, out) = analyze_cli(&file, &prometheus.url, "healthy", false);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("decision: pass -> the step passes"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("error-rate /") && l.contains("pass")),
        "{out}"
    );
    let (code, out) = analyze_cli(&file, &prometheus.url, "idle", false);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("decision: noData"), "{out}");

    drop(healthy_load);
    drop(faulty_load);

    sparse_done.await.expect("the sparse canary's requests");
    low_traffic_does_not_roll_back(&prom).await;
    ttft_slo_on_the_local_llm(&prom).await;
    drop((sparse, llm));
}

/// The `sparse` canary's four requests (`sparse_traffic`), two of them failing: an
/// error rate of 0.5 that fails the SLO, unless `minRequests` says it is too little
/// traffic to judge; then `noDataPolicy: wait` holds the step, analysis after analysis.
async fn low_traffic_does_not_roll_back(prom: &PromClient) {
    let slo = json!({"route": "/", "latencyP95": "400ms", "maxErrorRate": 0.05});
    let models = json!([{"name": "all-minilm-l6-v2", "task": "embedding"}]);
    let window = json!({"window": "2m"});

    // Without minRequests: two failures in four requests read as a 50 % error rate.
    let judged = own_canary(models.clone(), slo.clone(), "wait", window.clone());
    let (event, results) = analyse(&judged, prom, "sparse", "idle").await;
    let error_rate = check(&results, "error-rate /");
    assert_eq!(error_rate.result(), "fail", "{results:#?}");
    let value = error_rate.value.expect("a value");
    assert!((0.3..=0.7).contains(&value), "about 0.5: {value}");
    assert!(
        matches!(event, RolloutEvent::CheckFailed { .. }),
        "{event:?}"
    );

    // With minRequests 50: no data, and the canary keeps its step.
    let gated = own_canary(
        models,
        slo,
        "wait",
        json!({"window": "2m", "minRequests": 50}),
    );
    let policy = policy_of(&gated);
    let mut state = state_with_canary("sparse", &policy);
    let start = state.phase.clone();
    for _ in 0..FAILURE_LIMIT + 1 {
        let (event, results) = analyse(&gated, prom, "sparse", "idle").await;
        assert_eq!(
            event,
            RolloutEvent::NoData {
                metric: "error-rate /".into()
            }
        );
        let error_rate = check(&results, "error-rate /");
        assert_eq!(error_rate.result(), "noData");
        let note = error_rate.note.as_deref().unwrap_or_default();
        assert!(
            note.ends_with("requests in the window, below minRequests 50")
                && !note.starts_with("0 "),
            "{note}"
        );
        state = next(&state, event, &policy, Utc::now()).0;
        assert_eq!(state.phase, start, "held, never rolled back");
        assert_eq!(state.consecutive_failures, 0);
    }
}

/// The local LLM's streamed chat completions (`llm_with_streamed_chats`): the `ttftP95` check from the real
/// histogram: a reachable objective passes (with the error rate and latency), an
/// impossible one (1 ms) fails with the measured p95.
async fn ttft_slo_on_the_local_llm(prom: &PromClient) {
    let models = json!([{"name": LLM_ID, "task": "llm"}]);
    let slo = |ttft: &str| {
        json!({"route": "/v1/chat/completions", "latencyP95": "30s", "ttftP95": ttft,
               "maxErrorRate": 0.05})
    };
    let window = json!({"window": "2m"});

    let reachable = own_canary(models.clone(), slo("30s"), "fail", window.clone());
    let (event, results) = analyse(&reachable, prom, "llm", "idle").await;
    let ttft = check(&results, "ttft-p95 /v1/chat/completions");
    assert_eq!(ttft.result(), "pass", "{results:#?}");
    let p95 = ttft.value.expect("a measured p95");
    assert!(p95 > 0.0 && p95 <= 30.0, "{p95}");
    assert_eq!(event, RolloutEvent::CheckPassed, "{results:#?}");

    let impossible = own_canary(models, slo("1ms"), "fail", window);
    let (event, results) = analyse(&impossible, prom, "llm", "idle").await;
    let ttft = check(&results, "ttft-p95 /v1/chat/completions");
    assert_eq!(ttft.result(), "fail", "{results:#?}");
    assert_eq!(ttft.outcome, Outcome::Fail { threshold: 0.001 });
    assert_eq!(
        event,
        RolloutEvent::CheckFailed {
            metric: "ttft-p95 /v1/chat/completions".into(),
            value: ttft.value.expect("value"),
            threshold: 0.001,
        }
    );
    println!("MEASURED ttft p95 of the local LLM (max_tokens 4, streamed): {p95:.3} s");
}
