//! The runtime's metric names, read off the `hermes_*` constants of `interface/src/metrics.rs` and their doc comments.

use crate::Error;
use crate::table::markdown;

const SOURCE: &str = include_str!("../../../interface/src/metrics.rs");

/// `(name, doc)` of every `pub const X: &str = "hermes_...";` in `source`, in order.
pub fn metrics(source: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    for line in source.lines().map(str::trim) {
        if let Some(d) = line.strip_prefix("///") {
            doc.push(d.trim());
            continue;
        }
        let value = line
            .strip_prefix("pub const ")
            .filter(|rest| rest.contains(": &str = \""))
            .and_then(|rest| rest.split('"').nth(1));
        if let Some(name) = value.filter(|v| v.starts_with("hermes_")) {
            out.push((name.to_string(), doc.join(" ")));
        }
        doc.clear();
    }
    out
}

pub fn render() -> Result<String, Error> {
    let rows: Vec<Vec<String>> = metrics(SOURCE)
        .into_iter()
        .map(|(name, doc)| vec![format!("`{name}`"), doc])
        .collect();
    if rows.is_empty() {
        return Err(Error::Render {
            block: "runtime-metrics",
            reason: "no `hermes_*` constant found in interface/src/metrics.rs".into(),
        });
    }
    Ok(markdown(&["metric", "type, labels and meaning"], &rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hermes_interface::metrics as m;

    #[test]
    fn every_metric_constant_is_found_with_its_doc() {
        let found = metrics(SOURCE);
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        for name in [
            m::HTTP_REQUESTS_TOTAL,
            m::HTTP_REQUEST_DURATION_SECONDS,
            m::MODEL_READY,
            m::MODEL_LOAD_SECONDS,
            m::MODEL_RESIDENT_BYTES,
            m::BUILD_INFO,
            m::FEEDBACK_TOTAL,
            m::OUTBOX_DEPTH,
            m::OUTBOX_BYTES,
            m::OUTBOX_REPLAYED_TOTAL,
            m::OUTBOX_REJECTED_TOTAL,
            m::DELIVERY_FAILURES_TOTAL,
            m::CIRCUIT_STATE,
            m::RETRIES_TOTAL,
            m::HTTP_IN_FLIGHT_REQUESTS,
            m::MODEL_IN_FLIGHT_REQUESTS,
            m::MODEL_QUEUE_DEPTH,
            m::LLM_TIME_TO_FIRST_TOKEN_SECONDS,
            m::LLM_OUTPUT_TOKENS_PER_SECOND,
        ] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
        // Labels and the revision pod label are not metrics.
        assert!(!names.iter().any(|n| !n.starts_with("hermes_")));
        let (_, doc) = &found[0];
        assert!(
            doc.starts_with("Counter `{route, api_version, method, status}`"),
            "{doc}"
        );
    }
}
