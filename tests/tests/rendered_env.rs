//! What the operator renders into the runtime's environment is what the runtime
//! accepts: `spec.runtime.rateLimits`, `requestTimeouts` and `featuresDisabled` of a
//! HermesDeployment, rendered by the operator's own stages (`hermes-operator render`),
//! pass the runtime's `--check`, which parses every variable as a start does (and
//! refuses a route name it does not know, as the operator's validation does).
//! `spec.runtime.tracing` too: its `OTEL_*` variables, resolved as the kubelet does
//! (downward API, the headers Secret, `$(VAR)` expansion), pass the check, and a runtime
//! started with them exports its spans to a real OTLP receiver with the pod's identity
//! (service name, namespace, pod, revision, canary track) and the Secret's header.

use hermes_integration_tests::otlp::Receiver;
use hermes_integration_tests::rendered::{RenderedRuntime, kubelet_env};
use hermes_integration_tests::runtime::Runtime;
use hermes_integration_tests::{model_dir, scratch_dir, workspace_binary};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const DEPLOYMENT: &str = r#"
apiVersion: hermes.logos.dev/v1alpha1
kind: HermesDeployment
metadata: {name: guarded, namespace: env-it}
spec:
  image: hermes-runtime:test
  models:
    - {name: all-minilm-l6-v2, task: embedding}
  runtime:
    rateLimits: {perMinute: 120, llmPerMinute: 5, costs: {embed_text: 2, stt: 20}}
    requestTimeouts: {defaultMs: 30000, routesMs: {embed_text: 5000, llm: 90000}}
    featuresDisabled: [tts, sophia]
"#;

/// `hermes-runtime --check` with the rendered `env` and the pod's address and folders
/// (here), then `extra`.
fn check(env: &[(String, String)], extra: &[(&str, &str)]) -> Output {
    // `--check` itself names a model whose files are missing.
    let models = model_dir(&[]);
    Command::new(workspace_binary("hermes-runtime"))
        .arg("--check")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("HERMES_HOST", "127.0.0.1")
        .env("HERMES_PORT", "0")
        .env("HERMES_MODEL_DIR", &models)
        .env(
            "HERMES_OUTBOX_DIR",
            std::env::temp_dir().join("hermes-it-rendered-env"),
        )
        .envs(extra.iter().copied())
        .output()
        .expect("run hermes-runtime --check")
}

#[test]
fn rendered_protection_settings_pass_the_runtime_s_check() {
    let rendered = RenderedRuntime::of(DEPLOYMENT, "env-it");
    let get = |name: &str| rendered.var(name);
    let env = &rendered.env;
    assert_eq!(get("HERMES_RATE_LIMIT_PER_MINUTE"), Some("120"));
    assert_eq!(get("HERMES_RATE_LIMIT_LLM_PER_MINUTE"), Some("5"));
    assert_eq!(get("HERMES_RATE_LIMIT_COSTS"), Some("embed_text=2,stt=20"));
    assert_eq!(get("HERMES_REQUEST_TIMEOUT_MS"), Some("30000"));
    assert_eq!(
        get("HERMES_ROUTE_TIMEOUTS_MS"),
        Some("embed_text=5000,llm=90000")
    );
    assert_eq!(get("HERMES_FEATURES_DISABLED"), Some("tts,sophia"));

    let check = |extra: &[(&str, &str)]| check(env, extra);
    let out = check(&[]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("configuration ok"), "{stdout}");

    // The same check refuses a route the operator would refuse too.
    let out = check(&[("HERMES_RATE_LIMIT_COSTS", "translate=3")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown route \"translate\""), "{stderr}");
}

/// A HermesDeployment `traced` exporting to `endpoint`, its headers in a Secret.
fn traced(endpoint: &str) -> String {
    format!(
        r#"
apiVersion: hermes.logos.dev/v1alpha1
kind: HermesDeployment
metadata: {{name: traced, namespace: tracing-it}}
spec:
  image: hermes-runtime:test
  models:
    - {{name: all-minilm-l6-v2, task: embedding}}
  runtime:
    tracing:
      otlpEndpoint: {endpoint}
      headersSecret: {{name: otel-auth, key: headers}}
"#
    )
}

const SECRETS: &[(&str, &str, &str)] =
    &[("otel-auth", "headers", "authorization=Bearer%20it-token")];

fn revision_label(rendered: &RenderedRuntime) -> String {
    rendered
        .deployment
        .spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.as_ref())
        .and_then(|l| l.get("hermes.logos.dev/revision"))
        .cloned()
        .expect("the pod template's revision label")
}

fn get<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[test]
fn rendered_tracing_as_the_kubelet_resolves_it_passes_the_runtime_s_check() {
    let rendered = RenderedRuntime::of(&traced("http://otel-collector.observability:4318"), "x");
    let revision = revision_label(&rendered);
    // A stable pod: no track label.
    let env = kubelet_env(&rendered.deployment, "traced-5d8f7c9b4-x2x7q", SECRETS);
    assert_eq!(
        get(&env, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        Some("http://otel-collector.observability:4318")
    );
    assert_eq!(get(&env, "OTEL_SERVICE_NAME"), Some("traced"));
    assert_eq!(
        get(&env, "OTEL_EXPORTER_OTLP_HEADERS"),
        Some("authorization=Bearer%20it-token")
    );
    assert_eq!(
        get(&env, "OTEL_RESOURCE_ATTRIBUTES").map(str::to_owned),
        Some(format!(
            "k8s.namespace.name=tracing-it,k8s.pod.name=traced-5d8f7c9b4-x2x7q,\
             hermes.revision={revision},hermes.track="
        ))
    );
    // The header is never in the spec: only a reference is rendered.
    assert_eq!(rendered.var("OTEL_EXPORTER_OTLP_HEADERS"), None);

    let out = check(&env, &[]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("configuration ok"), "{stdout}");
}

#[tokio::test]
async fn a_canary_pod_started_with_the_rendered_tracing_exports_its_spans_with_its_identity() {
    let receiver = Receiver::start();
    let rendered = RenderedRuntime::of(&traced(&receiver.endpoint()), "x");
    let revision = revision_label(&rendered);
    let pod = "traced-canary-6b9d4f-k2m8p";
    let env = kubelet_env(&rendered.canary_deployment(), pod, SECRETS);
    // This machine's address, folders and no models instead of the pod's.
    let outbox = scratch_dir("tracing-outbox").display().to_string();
    let mut envs: Vec<(&str, &str)> = env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .filter(|(k, _)| {
            !matches!(
                *k,
                "HERMES_HOST" | "HERMES_PORT" | "HERMES_MODELS" | "HERMES_OUTBOX_DIR"
            )
        })
        .collect();
    envs.push(("HERMES_OUTBOX_DIR", outbox.as_str()));
    let mut runtime = Runtime::start("traced", &envs).await;

    let health = reqwest::get(format!("{}/health", runtime.base))
        .await
        .expect("GET /health");
    assert_eq!(health.status(), 200);
    // The spans leave at the latest with the flush at SIGTERM.
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(runtime.process.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = runtime.process.exited() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "no exit within 30 s of SIGTERM:\n{}",
            runtime.process.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}\n{}", runtime.process.logs());

    let spans = receiver.spans();
    let span = spans
        .iter()
        .find(|s| s["name"] == "GET /health")
        .unwrap_or_else(|| panic!("no GET /health span among {spans:#?}"));
    let resource = &span["resource"];
    assert_eq!(resource["service.name"], "traced", "{resource}");
    assert_eq!(resource["k8s.namespace.name"], "tracing-it", "{resource}");
    assert_eq!(resource["k8s.pod.name"], pod, "{resource}");
    assert_eq!(resource["hermes.revision"], revision.as_str(), "{resource}");
    assert_eq!(resource["hermes.track"], "canary", "{resource}");
    assert_eq!(
        span["headers"]["authorization"], "Bearer it-token",
        "the export carries the Secret's header"
    );
}
