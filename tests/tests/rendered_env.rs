//! What the operator renders into the runtime's environment is what the runtime
//! accepts: `spec.runtime.rateLimits`, `requestTimeouts` and `featuresDisabled` of a
//! HermesDeployment, rendered by the operator's own stages (`hermes-operator render`),
//! pass the runtime's `--check`, which parses every variable as a start does (and
//! refuses a route name it does not know, as the operator's validation does).

use hermes_integration_tests::rendered::RenderedRuntime;
use hermes_integration_tests::workspace_binary;
use std::path::PathBuf;
use std::process::Command;

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

    let models = std::env::var_os("HERMES_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"));
    let check = |extra: &[(&str, &str)]| {
        Command::new(workspace_binary("hermes-runtime"))
            .arg("--check")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            // The pod's address and folders, here.
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
    };
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
