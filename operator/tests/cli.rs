//! The binary's offline subcommands, as a user runs them.

use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_hermes-operator");

fn example(name: &str) -> String {
    format!("{}/../examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn crd_prints_the_committed_crd() {
    let out = Command::new(BIN).arg("crd").output().expect("run crd");
    assert!(out.status.success());
    let committed = std::fs::read(format!(
        "{}/../crds/hermes.logos.dev_hermesdeployments.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("crds/");
    assert!(out.stdout == committed, "`make crds` is out of date");
}

#[test]
fn render_prints_objects_and_the_calculation() {
    let out = Command::new(BIN)
        .args([
            "render",
            "-f",
            &example("hermesdeployment-minimal.yaml"),
            "-n",
            "team-a",
        ])
        .output()
        .expect("run render");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("# HermesDeployment team-a/hermes-minimal: revision "),
        "{text}"
    );
    assert!(text.contains("rounded up to 64 MiB"));
    assert_eq!(text.matches("\n---\n").count(), 2, "Deployment and Service");
    assert!(text.contains("  namespace: team-a\n"));
}

#[test]
fn render_reads_stdin_and_fails_with_the_reason() {
    let mut child = Command::new(BIN)
        .args(["render", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let bad = "apiVersion: hermes.logos.dev/v1alpha1\nkind: HermesDeployment\nmetadata: {name: x}\nspec:\n  image: i:1\n  models: [{name: nope, task: llm}]\n";
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bad.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(
            "hermes-operator render: default/x: invalid spec: models[0]: unknown model \"nope\""
        ),
        "{err}"
    );
}

#[test]
fn render_refuses_a_gate_that_is_not_an_http_url_and_an_unknown_gate_type() {
    let render = |spec: &str| {
        let mut child = Command::new(BIN)
            .args(["render", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let doc = format!(
            "apiVersion: hermes.logos.dev/v1alpha1\nkind: HermesDeployment\nmetadata: {{name: x}}\nspec:\n  image: i:1\n  models: [{{name: all-minilm-l6-v2, task: embedding}}]\n  rollout:\n    canary:\n      webhooks: [{spec}]\n"
        );
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(doc.as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("wait");
        assert!(!out.status.success(), "{spec}");
        assert!(out.stdout.is_empty());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = render("{name: smoke, type: pre-rollout, url: \"tester:8080/smoke\"}");
    assert!(
        err.starts_with(
            "hermes-operator render: default/x: invalid spec: rollout.canary.webhooks[0].url \"tester:8080/smoke\" is not an http(s) URL"
        ),
        "{err}"
    );
    let err = render("{name: smoke, type: post-rollout, url: \"http://tester/smoke\"}");
    assert!(err.contains("unknown variant `post-rollout`"), "{err}");
}

#[test]
fn render_of_a_missing_file_names_it() {
    let out = Command::new(BIN)
        .args(["render", "-f", "/nonexistent/hd.yaml"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/hd.yaml"));
}
