//! The operator's metric names, types and help texts, read from the registry the operator really serves.

use crate::Error;
use crate::table::markdown;
use hermes_operator::crd::Slo;
use hermes_operator::metrics::Metrics;
use prometheus_client::registry::Registry;

fn failed(reason: impl ToString) -> Error {
    Error::Render {
        block: "operator-metrics",
        reason: reason.to_string(),
    }
}

/// `(name as scraped, type, help)` of every family in the operator's `/metrics`.
pub fn families() -> Result<Vec<(String, String, String)>, Error> {
    let mut registry = Registry::default();
    let metrics = Metrics::new(&mut registry);
    // A labelled family shows in the encoding only once it has a sample: give each one.
    metrics.observe(std::time::Duration::ZERO, Some("docs"));
    metrics.rollout_finished("promoted");
    metrics.set_canary_weight("docs", "docs", 0);
    let slo: Slo = serde_json::from_value(serde_json::json!({
        "route": "/llm", "latencyP95": "1s", "latencyP99": "2s", "ttftP95": "500ms", "maxErrorRate": 0.01
    }))
    .map_err(failed)?;
    metrics.slo_objectives.declare("docs", "docs", &[slo]);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).map_err(failed)?;
    let mut out: Vec<(String, String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            out.push((name.into(), String::new(), help.into()));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            if let Some(family) = out.iter_mut().find(|f| f.0 == name) {
                family.1 = kind.into();
                if kind == "counter" {
                    family.0 = format!("{name}_total");
                }
            }
        }
    }
    Ok(out)
}

pub fn render() -> Result<String, Error> {
    let rows: Vec<Vec<String>> = families()?
        .into_iter()
        .map(|(name, kind, help)| vec![format!("`{name}`"), kind, help])
        .collect();
    Ok(markdown(&["metric", "type", "help"], &rows))
}
