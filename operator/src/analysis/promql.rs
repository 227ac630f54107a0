//! PromQL for the canary analysis, built from the runtime's metric names, and the verdict of
//! a query's value against its bound. Pure: the caller runs the queries.

use hermes_interface::metrics::{
    HTTP_REQUEST_DURATION_SECONDS, HTTP_REQUESTS_TOTAL, LABEL_ROUTE, LABEL_STATUS,
    LLM_TIME_TO_FIRST_TOKEN_SECONDS,
};
use thiserror::Error;

/// Prometheus label of the scraped pod's namespace (standard pod service discovery relabel).
pub const PROM_LABEL_NAMESPACE: &str = "namespace";
/// Prometheus label relabelled from the pod's `hermes.logos.dev/revision` label.
pub const PROM_LABEL_REVISION: &str = "revision";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PromqlError {
    #[error("interval {0:?} is not a PromQL duration such as 30s, 1m or 1h30m")]
    InvalidInterval(String),
    #[error("quantile {0} is outside (0, 1)")]
    InvalidQuantile(String),
    #[error("error budget {0} must be a finite ratio above 0")]
    InvalidBudget(String),
    #[error(
        "template uses unknown variable {{{{{name}}}}}; known: namespace, name, revision, interval"
    )]
    UnknownVariable { name: String },
    #[error("template has an unclosed {{{{ at byte {offset}")]
    Unterminated { offset: usize },
}

/// Escapes a value for a double-quoted PromQL string (backslash, quote, newline).
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Checks that `interval` is a PromQL duration: one or more `<digits><unit>` groups.
pub fn validate_interval(interval: &str) -> Result<(), PromqlError> {
    let bad = || PromqlError::InvalidInterval(interval.to_string());
    let mut rest = interval;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        rest = &rest[digits..];
        let unit = ["ms", "s", "m", "h", "d", "w", "y"]
            .into_iter()
            .find(|u| rest.starts_with(u))
            .ok_or_else(bad)?;
        rest = &rest[unit.len()..];
    }
    Ok(())
}

/// Which series a canary check looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanaryTarget<'a> {
    pub namespace: &'a str,
    pub revision: &'a str,
    pub route: &'a str,
    pub interval: &'a str,
}

impl CanaryTarget<'_> {
    fn matchers(&self) -> String {
        format!(
            "{PROM_LABEL_NAMESPACE}=\"{}\",{PROM_LABEL_REVISION}=\"{}\",{LABEL_ROUTE}=\"{}\"",
            escape_label_value(self.namespace),
            escape_label_value(self.revision),
            escape_label_value(self.route),
        )
    }
}

/// Fraction of 5xx responses of the canary on one route (no sample when it had no
/// requests). A revision that never answered 5xx has no 5xx series at all: `or vector(0)`
/// makes that a 0 rather than an empty result (which would read as "no data").
pub fn error_rate_query(t: &CanaryTarget<'_>) -> Result<String, PromqlError> {
    validate_interval(t.interval)?;
    let m = t.matchers();
    let i = t.interval;
    Ok(format!(
        "(sum(rate({HTTP_REQUESTS_TOTAL}{{{m},{LABEL_STATUS}=~\"5..\"}}[{i}])) or vector(0)) / sum(rate({HTTP_REQUESTS_TOTAL}{{{m}}}[{i}]))"
    ))
}

/// Fraction of 5xx responses of one revision over every route (the default check of a
/// resource that declares no SLO).
pub fn error_rate_all_routes_query(
    namespace: &str,
    revision: &str,
    interval: &str,
) -> Result<String, PromqlError> {
    validate_interval(interval)?;
    let m = format!(
        "{PROM_LABEL_NAMESPACE}=\"{}\",{PROM_LABEL_REVISION}=\"{}\"",
        escape_label_value(namespace),
        escape_label_value(revision),
    );
    Ok(format!(
        "(sum(rate({HTTP_REQUESTS_TOTAL}{{{m},{LABEL_STATUS}=~\"5..\"}}[{interval}])) or vector(0)) / sum(rate({HTTP_REQUESTS_TOTAL}{{{m}}}[{interval}]))"
    ))
}

/// Requests the canary served on one route within the window (0 when it served none).
pub fn request_count_query(t: &CanaryTarget<'_>) -> Result<String, PromqlError> {
    validate_interval(t.interval)?;
    Ok(format!(
        "sum(increase({HTTP_REQUESTS_TOTAL}{{{}}}[{}])) or vector(0)",
        t.matchers(),
        t.interval
    ))
}

/// Requests one revision served on every route within the window (0 when none).
pub fn request_count_all_routes_query(
    namespace: &str,
    revision: &str,
    interval: &str,
) -> Result<String, PromqlError> {
    validate_interval(interval)?;
    Ok(format!(
        "sum(increase({HTTP_REQUESTS_TOTAL}{{{PROM_LABEL_NAMESPACE}=\"{}\",{PROM_LABEL_REVISION}=\"{}\"}}[{interval}])) or vector(0)",
        escape_label_value(namespace),
        escape_label_value(revision),
    ))
}

/// The `quantile` (0.95 for p95) of the canary's request latency on one route, in seconds.
pub fn latency_quantile_query(t: &CanaryTarget<'_>, quantile: f64) -> Result<String, PromqlError> {
    validate_interval(t.interval)?;
    if !(quantile > 0.0 && quantile < 1.0) {
        return Err(PromqlError::InvalidQuantile(quantile.to_string()));
    }
    let m = t.matchers();
    Ok(format!(
        "histogram_quantile({quantile}, sum by (le) (rate({HTTP_REQUEST_DURATION_SECONDS}_bucket{{{m}}}[{}])))",
        t.interval
    ))
}

/// The `quantile` of the canary's time to first token on one LLM route, in seconds (no
/// sample while it streamed no answer).
pub fn ttft_quantile_query(t: &CanaryTarget<'_>, quantile: f64) -> Result<String, PromqlError> {
    validate_interval(t.interval)?;
    if !(quantile > 0.0 && quantile < 1.0) {
        return Err(PromqlError::InvalidQuantile(quantile.to_string()));
    }
    let m = t.matchers();
    Ok(format!(
        "histogram_quantile({quantile}, sum by (le) (rate({LLM_TIME_TO_FIRST_TOKEN_SECONDS}_bucket{{{m}}}[{}])))",
        t.interval
    ))
}

/// Values of a custom metric template's variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateVars<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub revision: &'a str,
    pub interval: &'a str,
}

/// Substitutes `{{namespace}}`, `{{name}}`, `{{revision}}` (escaped as label values, since
/// they go inside quotes) and `{{interval}}` (validated as a duration). Spaces inside the
/// braces are allowed; any other variable is an error, not left in the query.
pub fn render_template(template: &str, vars: &TemplateVars<'_>) -> Result<String, PromqlError> {
    validate_interval(vars.interval)?;
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut consumed = 0;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or(PromqlError::Unterminated {
            offset: consumed + open,
        })?;
        let name = after[..close].trim();
        let value = match name {
            "namespace" => escape_label_value(vars.namespace),
            "name" => escape_label_value(vars.name),
            "revision" => escape_label_value(vars.revision),
            "interval" => vars.interval.to_string(),
            other => {
                return Err(PromqlError::UnknownVariable {
                    name: other.to_string(),
                });
            }
        };
        out.push_str(&value);
        let used = open + 2 + close + 2;
        consumed += used;
        rest = &rest[used..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Inclusive bounds a check's value must stay within.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Bound {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    Pass {
        value: f64,
    },
    /// `threshold` is the bound that was crossed.
    Fail {
        value: f64,
        threshold: f64,
    },
    /// No sample, or NaN (e.g. 0/0: no requests in the window).
    NoData,
}

/// The verdict of a query result (`None` = empty vector) against `bound`.
/// +Inf is a real value (a latency beyond the last bucket) and fails a max bound.
pub fn evaluate(value: Option<f64>, bound: &Bound) -> Verdict {
    let Some(value) = value.filter(|v| !v.is_nan()) else {
        return Verdict::NoData;
    };
    if let Some(max) = bound.max
        && value > max
    {
        return Verdict::Fail {
            value,
            threshold: max,
        };
    }
    if let Some(min) = bound.min
        && value < min
    {
        return Verdict::Fail {
            value,
            threshold: min,
        };
    }
    Verdict::Pass { value }
}

/// Canary error rate against the stable's (same query, stable revision): the canary fails
/// when it exceeds the stable's rate plus `tolerance`. A stable with no traffic (NaN or no
/// sample) gives no baseline, so the canary is held to `tolerance` alone.
pub fn evaluate_against_stable(
    canary: Option<f64>,
    stable: Option<f64>,
    tolerance: f64,
) -> Verdict {
    let baseline = stable.filter(|v| !v.is_nan()).unwrap_or(0.0);
    evaluate(
        canary,
        &Bound {
            min: None,
            max: Some(baseline + tolerance),
        },
    )
}

/// Error-budget burn rate of the canary on one route over `window`: its 5xx ratio divided by
/// the budget (`max_error_rate`, the SLO's allowed ratio). 1 burns the budget exactly on time.
pub fn burn_rate_query(
    t: &CanaryTarget<'_>,
    window: &str,
    max_error_rate: f64,
) -> Result<String, PromqlError> {
    if !(max_error_rate > 0.0 && max_error_rate.is_finite()) {
        return Err(PromqlError::InvalidBudget(max_error_rate.to_string()));
    }
    let ratio = error_rate_query(&CanaryTarget {
        interval: window,
        ..t.clone()
    })?;
    Ok(format!("({ratio}) / {max_error_rate}"))
}

/// Multi-window burn-rate gate (SRE workbook): fail only when both the long and the short
/// window burn faster than `factor` (the short one confirms the burn is still going on).
/// No data in either window is NoData; the reported value is the long window's.
pub fn evaluate_burn_rate(long: Option<f64>, short: Option<f64>, factor: f64) -> Verdict {
    let bound = Bound {
        min: None,
        max: Some(factor),
    };
    match (evaluate(long, &bound), evaluate(short, &bound)) {
        (Verdict::NoData, _) | (_, Verdict::NoData) => Verdict::NoData,
        (fail @ Verdict::Fail { .. }, Verdict::Fail { .. }) => fail,
        (Verdict::Pass { value } | Verdict::Fail { value, .. }, _) => Verdict::Pass { value },
    }
}

#[cfg(test)]
#[path = "promql_tests.rs"]
mod tests;
