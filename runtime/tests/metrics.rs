//! `/metrics` exposes the interface's series with route templates as labels.

mod common;

use common::{MODEL_ID, Server};
use serde_json::json;

#[tokio::test]
async fn metrics_use_route_templates_and_report_models() {
    let s = Server::start_ready(&[]).await;
    s.embed("count me").await;
    assert_eq!(
        s.post_json("/v1/embed_text", &json!({"text": ""}))
            .await
            .status(),
        400
    );
    assert_eq!(s.get("/no/such/path/123").await.status(), 404);
    assert_eq!(s.get("/another-unknown").await.status(), 404);
    let feedback =
        json!({"feedback_type": "plan", "outcome": "accepted", "reason": "r", "plan_id": "p"});
    assert_eq!(s.post_json("/feedback", &feedback).await.status(), 201);

    let r = s.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    for expected in [
        r#"hermes_http_requests_total{route="/embed_text",api_version="unversioned",method="POST",status="200"} 1"#,
        // The versioned path counts under the canonical route: one SLO covers both.
        r#"hermes_http_requests_total{route="/embed_text",api_version="v1",method="POST",status="400"} 1"#,
        r#"hermes_http_requests_total{route="unmatched",api_version="unversioned",method="GET",status="404"} 2"#,
        r#"hermes_http_request_duration_seconds_bucket{route="/embed_text",api_version="unversioned",method="POST",le="30"} 1"#,
        r#"hermes_http_request_duration_seconds_bucket{route="/embed_text",api_version="v1",method="POST",le="30"} 1"#,
        r#"hermes_http_request_duration_seconds_bucket{route="/embed_text",api_version="unversioned",method="POST",le="0.005"}"#,
        r#"hermes_feedback_total{feedback_type="plan",outcome="accepted"} 1"#,
        &format!(r#"hermes_model_ready{{model="{MODEL_ID}"}} 1"#),
        // Idle now: every request answered; the scrape itself is the one in flight.
        &format!(r#"hermes_model_in_flight_requests{{model="{MODEL_ID}"}} 0"#),
        &format!(r#"hermes_model_queue_depth{{model="{MODEL_ID}"}} 0"#),
        r#"hermes_http_in_flight_requests{route="/embed_text"} 0"#,
        r#"hermes_http_in_flight_requests{route="/metrics"} 1"#,
        &format!(
            r#"hermes_build_info{{version="{}"}} 1"#,
            env!("CARGO_PKG_VERSION")
        ),
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    assert!(
        !text.contains("/no/such/path"),
        "raw paths never become labels"
    );
    assert!(
        !text.contains(r#"route="/v1/embed_text""#),
        "a versioned path is never its own route:\n{text}"
    );
    for series in ["hermes_model_load_seconds", "hermes_model_resident_bytes"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!(r#"{series}{{model="{MODEL_ID}"}}"#)))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"));
        let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(value > 0.0, "{line}");
    }
}
