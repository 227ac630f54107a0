//! The sizing table: memory limit and startup budget the operator computes for typical model sets.

use crate::Error;
use crate::table::{markdown, number};
use hermes_interface::catalog::{CATALOG, Task};
use hermes_operator::build::probes::startup_budget_seconds;
use hermes_operator::catalog::Catalog;
use hermes_operator::crd::HermesDeploymentSpec;
use hermes_operator::quantity::{MIB, format_memory};
use hermes_operator::sizing::plan;
use hermes_operator::validate::{Identity, validate};

/// Rows: a description and the tasks declared (the first catalog model of each task).
const ROWS: &[(&str, &[Task])] = &[
    ("embedding only (the minimal example)", &[Task::Embedding]),
    (
        "stt + tts + embedding + nlp (the earlier service's four; its review recommended 768 MiB)",
        &[Task::Stt, Task::Tts, Task::Embedding, Task::Nlp],
    ),
    ("all five", &Task::ALL),
];

fn failed(reason: impl ToString) -> Error {
    Error::Render {
        block: "sizing",
        reason: reason.to_string(),
    }
}

/// A spec declaring the first catalog model of each task, with every other field at its default.
fn spec(tasks: &[Task]) -> Result<HermesDeploymentSpec, Error> {
    let models = tasks
        .iter()
        .map(|t| {
            let m = CATALOG
                .iter()
                .find(|m| m.task == *t)
                .ok_or_else(|| failed(format!("no catalog model for task {}", t.as_str())))?;
            Ok(serde_json::json!({"name": m.id, "task": t.as_str()}))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    serde_json::from_value(serde_json::json!({"image": "hermes-runtime", "models": models}))
        .map_err(failed)
}

pub fn render() -> Result<String, Error> {
    let catalog = Catalog::builtin();
    let mut rows = Vec::new();
    for (what, tasks) in ROWS {
        let spec = spec(tasks)?;
        let id = Identity {
            name: "docs".into(),
            namespace: "default".into(),
            owner: None,
            generation: None,
        };
        let valid = validate(id, &spec, &catalog).map_err(failed)?;
        let memory = plan(&valid, &catalog).map_err(failed)?;
        rows.push(vec![
            what.to_string(),
            format!("{} MiB", number(memory.needed as f64 / MIB as f64)),
            format!("**{}**", format_memory(memory.limit)),
            format!("{} s", startup_budget_seconds(&spec, &catalog)),
        ]);
    }
    Ok(markdown(
        &["models declared", "needed", "limit", "startup budget"],
        &rows,
    ))
}
