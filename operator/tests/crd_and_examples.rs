//! The CRD in crds/ is the output of `hermes-operator crd`, and the examples parse into the
//! types and render. Golden files pin the rendered objects: review a diff by eye, then
//! regenerate with `UPDATE_GOLDEN=1 cargo nextest run -p hermes-operator`.

use hermes_interface::{ModelEntry, Provenance, Task};
use hermes_operator::catalog::Catalog;
use hermes_operator::crd::HermesDeployment;
use kube::CustomResourceExt;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn crds_folder_matches_the_rust_types() {
    let generated = serde_saphyr::to_string(&HermesDeployment::crd()).expect("crd yaml");
    let committed = read(&repo_root().join("crds/hermes.logos.dev_hermesdeployments.yaml"));
    assert!(
        generated == committed,
        "crds/hermes.logos.dev_hermesdeployments.yaml is stale: run `make crds` (and copy it into charts/hermes-operator/crds/)"
    );
}

#[test]
fn crd_declares_names_subresources_and_printer_columns() {
    let crd = HermesDeployment::crd();
    assert_eq!(crd.spec.group, "hermes.logos.dev");
    assert_eq!(crd.spec.names.short_names, Some(vec!["hd".to_string()]));
    assert_eq!(crd.spec.scope, "Namespaced");
    let v = &crd.spec.versions[0];
    assert_eq!(v.name, "v1alpha1");
    assert!(
        v.subresources
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .is_some()
    );
    let columns: Vec<&str> = v
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        columns,
        [
            "Phase",
            "Ready",
            "Stable Rev",
            "Canary Rev",
            "Canary Weight",
            "Memory",
            "Age"
        ]
    );
    let schema = serde_json::to_value(&v.schema).expect("schema");
    let spec = &schema["openAPIV3Schema"]["properties"]["spec"]["properties"];
    assert_eq!(spec["replicas"]["minimum"], 1.0);
    assert_eq!(spec["models"]["x-kubernetes-list-type"], "map");
    assert_eq!(spec["models"]["x-kubernetes-list-map-keys"][0], "name");
    assert_eq!(
        spec["memory"]["properties"]["headroomPercent"]["maximum"],
        200.0
    );
    let task = &spec["models"]["items"]["properties"]["task"]["enum"];
    assert_eq!(
        task,
        &serde_json::json!(["stt", "tts", "embedding", "nlp", "llm"])
    );
    let cel = serde_json::to_string(&schema).expect("json");
    assert!(cel.contains("duration(self.latencyP99) >= duration(self.latencyP95)"));
    assert!(cel.contains("quantity(self.min).compareTo(quantity(self.max)) <= 0"));
}

const MIB: u64 = 1024 * 1024;

/// Fixed numbers, so the golden files change only when rendering does, not each time the
/// runtime's bench re-measures a model. Ids and tasks are the real catalog's.
fn golden_catalog() -> Catalog {
    let fixture = |id, task, mib, load_seconds| ModelEntry {
        id,
        task,
        package: "fixture",
        footprint_bytes: mib * MIB,
        load_seconds,
        provenance: Provenance::Measured("golden fixture"),
        working_bytes: 0,
        working_provenance: Provenance::Measured("golden fixture"),
    };
    let models = vec![
        fixture("all-minilm-l6-v2", Task::Embedding, 90, 1.0),
        fixture("whisper-tiny-en", Task::Stt, 150, 2.0),
        fixture("piper-en-us-joe-medium", Task::Tts, 100, 2.0),
        fixture("en-core-web-sm", Task::Nlp, 30, 1.0),
        fixture("smollm2-135m-instruct", Task::Llm, 240, 0.5),
    ];
    for m in &models {
        let real = hermes_interface::catalog::find(m.id).expect("fixture ids are real catalog ids");
        assert_eq!(real.task, m.task);
    }
    Catalog {
        models,
        runtime_overhead: 100 * MIB,
    }
}

fn check_golden(name: &str, rendered: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, rendered).expect("write golden");
        return;
    }
    let want = read(&path);
    assert!(
        want == rendered,
        "{} differs from the render; review and run with UPDATE_GOLDEN=1\n--- rendered ---\n{rendered}",
        path.display()
    );
}

#[test]
fn examples_parse_render_and_match_golden_files() {
    for (example, golden) in [
        ("hermesdeployment-minimal.yaml", "minimal.yaml"),
        ("hermesdeployment-full.yaml", "full.yaml"),
    ] {
        let yaml = read(&repo_root().join("examples").join(example));
        let hd: HermesDeployment = serde_saphyr::from_str(&yaml).expect(example);
        assert!(!hd.spec.models.is_empty());
        let rendered = hermes_operator::cli::render::render(&yaml, "default", &golden_catalog())
            .expect(example);
        check_golden(golden, &rendered);
    }
}

#[test]
fn full_example_uses_every_task_and_secret() {
    let yaml = read(&repo_root().join("examples/hermesdeployment-full.yaml"));
    let hd: HermesDeployment = serde_saphyr::from_str(&yaml).expect("full example");
    let mut tasks: Vec<_> = hd
        .spec
        .models
        .iter()
        .map(|m| m.task.to_catalog().as_str())
        .collect();
    tasks.sort();
    assert_eq!(tasks, ["embedding", "llm", "nlp", "stt", "tts"]);
    let rendered = hermes_operator::cli::render::render(&yaml, "default", &Catalog::builtin())
        .expect("render");
    for env in [
        "MILVUS_PASSWORD",
        "SOPHIA_API_TOKEN",
        "OPENAI_API_KEY",
        "HERMES_API_KEYS",
    ] {
        let at = rendered.find(&format!("name: {env}\n")).expect(env);
        assert!(
            rendered[at..].lines().nth(1) == Some("          valueFrom:"),
            "{env} is not from a Secret"
        );
    }
    assert!(
        rendered.contains("kind: PodDisruptionBudget"),
        "3 replicas get a PDB"
    );
}
