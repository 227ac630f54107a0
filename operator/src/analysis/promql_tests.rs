//! Unit tests of the PromQL builders and verdicts (`promql.rs`).

use super::*;

fn target<'a>(route: &'a str) -> CanaryTarget<'a> {
    CanaryTarget {
        namespace: "prod",
        revision: "abc123",
        route,
        interval: "1m",
    }
}

#[test]
fn error_rate_query_is_exact() {
    let q = error_rate_query(&target("/v1/chat/completions")).unwrap();
    assert_eq!(
        q,
        "(sum(rate(hermes_http_requests_total{namespace=\"prod\",revision=\"abc123\",route=\"/v1/chat/completions\",status=~\"5..\"}[1m])) or vector(0)) / sum(rate(hermes_http_requests_total{namespace=\"prod\",revision=\"abc123\",route=\"/v1/chat/completions\"}[1m]))"
    );
}

#[test]
fn latency_queries_are_exact() {
    let t = target("/v1/embeddings");
    assert_eq!(
        latency_quantile_query(&t, 0.95).unwrap(),
        "histogram_quantile(0.95, sum by (le) (rate(hermes_http_request_duration_seconds_bucket{namespace=\"prod\",revision=\"abc123\",route=\"/v1/embeddings\"}[1m])))"
    );
    assert!(
        latency_quantile_query(&t, 0.99)
            .unwrap()
            .starts_with("histogram_quantile(0.99, ")
    );
    assert_eq!(
        latency_quantile_query(&t, 1.0),
        Err(PromqlError::InvalidQuantile("1".into()))
    );
    assert!(latency_quantile_query(&t, f64::NAN).is_err());
}

#[test]
fn ttft_query_is_exact() {
    let t = target("/v1/chat/completions");
    assert_eq!(
        ttft_quantile_query(&t, 0.95).unwrap(),
        "histogram_quantile(0.95, sum by (le) (rate(hermes_llm_time_to_first_token_seconds_bucket{namespace=\"prod\",revision=\"abc123\",route=\"/v1/chat/completions\"}[1m])))"
    );
    assert_eq!(
        ttft_quantile_query(&t, 0.0),
        Err(PromqlError::InvalidQuantile("0".into()))
    );
    assert!(
        ttft_quantile_query(
            &CanaryTarget {
                interval: "1 m",
                ..t
            },
            0.95
        )
        .is_err()
    );
}

#[test]
fn label_values_are_escaped() {
    assert_eq!(escape_label_value(r#"a"b\c"#), r#"a\"b\\c"#);
    assert_eq!(escape_label_value("x\ny"), "x\\ny");
    let q = error_rate_query(&target("/x\"}or vector(1)")).unwrap();
    assert!(q.contains(r#"route="/x\"}or vector(1)""#), "{q}");
}

#[test]
fn intervals_are_validated() {
    for ok in ["1m", "30s", "1h30m", "500ms", "2d"] {
        assert_eq!(validate_interval(ok), Ok(()), "{ok}");
    }
    for bad in ["", "1", "m", "1m]", "1 m", "5x", "-1m"] {
        assert_eq!(
            validate_interval(bad),
            Err(PromqlError::InvalidInterval(bad.into())),
            "{bad}"
        );
    }
    let t = CanaryTarget {
        interval: "1m] or vector(0) [1m",
        ..target("/")
    };
    assert!(error_rate_query(&t).is_err());
}

fn vars() -> TemplateVars<'static> {
    TemplateVars {
        namespace: "prod",
        name: "chat",
        revision: "abc123",
        interval: "2m",
    }
}

#[test]
fn template_substitutes_every_variable() {
    let tpl = "sum(rate(x{namespace=\"{{namespace}}\",app=\"{{ name }}\",revision=\"{{revision}}\"}[{{interval}}]))";
    assert_eq!(
        render_template(tpl, &vars()).unwrap(),
        "sum(rate(x{namespace=\"prod\",app=\"chat\",revision=\"abc123\"}[2m]))"
    );
    assert_eq!(render_template("up", &vars()).unwrap(), "up");
}

#[test]
fn template_rejects_unknown_and_unclosed_variables() {
    assert_eq!(
        render_template("x{pod=\"{{pod}}\"}", &vars()),
        Err(PromqlError::UnknownVariable { name: "pod".into() })
    );
    assert_eq!(
        render_template("a{{revision}} b{{name", &vars()),
        Err(PromqlError::Unterminated { offset: 15 })
    );
    let err = render_template("{{pod}}", &vars()).unwrap_err().to_string();
    assert!(err.contains("{{pod}}"), "{err}");
}

#[test]
fn template_escapes_values() {
    let v = TemplateVars {
        name: "a\"b",
        ..vars()
    };
    assert_eq!(render_template("{{name}}", &v).unwrap(), "a\\\"b");
}

#[test]
fn verdicts_against_bounds() {
    let max = Bound {
        min: None,
        max: Some(0.01),
    };
    let min = Bound {
        min: Some(0.9),
        max: None,
    };
    let table = [
        (Some(0.005), max, Verdict::Pass { value: 0.005 }),
        (Some(0.01), max, Verdict::Pass { value: 0.01 }),
        (
            Some(0.2),
            max,
            Verdict::Fail {
                value: 0.2,
                threshold: 0.01,
            },
        ),
        (
            Some(f64::INFINITY),
            max,
            Verdict::Fail {
                value: f64::INFINITY,
                threshold: 0.01,
            },
        ),
        (Some(0.95), min, Verdict::Pass { value: 0.95 }),
        (
            Some(0.5),
            min,
            Verdict::Fail {
                value: 0.5,
                threshold: 0.9,
            },
        ),
        (Some(f64::NAN), max, Verdict::NoData),
        (None, max, Verdict::NoData),
        (Some(3.0), Bound::default(), Verdict::Pass { value: 3.0 }),
    ];
    for (value, bound, want) in table {
        assert_eq!(evaluate(value, &bound), want, "{value:?} {bound:?}");
    }
}

#[test]
fn comparison_with_stable() {
    assert_eq!(
        evaluate_against_stable(Some(0.03), Some(0.02), 0.02),
        Verdict::Pass { value: 0.03 }
    );
    assert_eq!(
        evaluate_against_stable(Some(0.05), Some(0.02), 0.02),
        Verdict::Fail {
            value: 0.05,
            threshold: 0.04
        }
    );
    assert_eq!(
        evaluate_against_stable(Some(0.05), Some(f64::NAN), 0.01),
        Verdict::Fail {
            value: 0.05,
            threshold: 0.01
        }
    );
    assert_eq!(
        evaluate_against_stable(None, Some(0.0), 0.01),
        Verdict::NoData
    );
}

#[test]
fn burn_rate_query_divides_by_the_budget() {
    let q = burn_rate_query(&target("/v1/chat"), "5m", 0.01).unwrap();
    let ratio = error_rate_query(&CanaryTarget {
        interval: "5m",
        ..target("/v1/chat")
    })
    .unwrap();
    assert_eq!(q, format!("({ratio}) / 0.01"));
    assert!(q.contains("[5m]") && !q.contains("[1m]"), "{q}");
    assert_eq!(
        burn_rate_query(&target("/"), "5m", 0.0),
        Err(PromqlError::InvalidBudget("0".into()))
    );
    assert!(burn_rate_query(&target("/"), "5 m", 0.01).is_err());
}

#[test]
fn burn_rate_gate_needs_both_windows() {
    assert_eq!(
        evaluate_burn_rate(Some(20.0), Some(15.0), 14.4),
        Verdict::Fail {
            value: 20.0,
            threshold: 14.4
        }
    );
    // Long window burning but the short one recovered: not a failure.
    assert_eq!(
        evaluate_burn_rate(Some(20.0), Some(2.0), 14.4),
        Verdict::Pass { value: 20.0 }
    );
    assert_eq!(
        evaluate_burn_rate(Some(1.0), Some(30.0), 14.4),
        Verdict::Pass { value: 1.0 }
    );
    assert_eq!(
        evaluate_burn_rate(Some(f64::NAN), Some(30.0), 14.4),
        Verdict::NoData
    );
    assert_eq!(evaluate_burn_rate(Some(20.0), None, 14.4), Verdict::NoData);
}
