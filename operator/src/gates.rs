//! The calls of a canary's HTTP gates (`rollout.canary.webhooks`), behind a small trait so
//! that the decisions around them are tested for every answer: `HttpGates` POSTs the JSON
//! body with a timeout, and any outcome (an answer, none in time, none at all) comes back
//! as a `GateAnswer`, never an error: a hung gate costs a reconcile its timeout, no more.

use crate::rollout::gates::{BODY_CHARS, GateAnswer};
use futures::future::BoxFuture;
use std::time::Duration;

/// Calls one gate.
pub trait GateCaller: Send + Sync {
    /// POSTs `body` (JSON) to `url` and waits at most `timeout` for the whole answer.
    fn call<'a>(
        &'a self,
        url: &'a str,
        body: &'a serde_json::Value,
        timeout: Duration,
    ) -> BoxFuture<'a, GateAnswer>;
}

/// The real caller: one reqwest client (connection pool) for every gate.
#[derive(Clone, Debug)]
pub struct HttpGates {
    /// `Err`: the client could not be built (no TLS backend); every call says why.
    http: Result<reqwest::Client, String>,
}

impl Default for HttpGates {
    fn default() -> Self {
        HttpGates {
            http: reqwest::Client::builder()
                .user_agent(concat!("hermes-operator/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| e.to_string()),
        }
    }
}

impl HttpGates {
    async fn post(&self, url: &str, body: &serde_json::Value, timeout: Duration) -> GateAnswer {
        let http = match &self.http {
            Ok(http) => http,
            Err(why) => return GateAnswer::Unreachable(format!("no HTTP client: {why}")),
        };
        let request = http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .timeout(timeout);
        let exchange = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            Ok::<_, reqwest::Error>((status, text))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok((status, text))) => GateAnswer::Answered {
                status,
                body: text.chars().take(BODY_CHARS).collect(),
            },
            Ok(Err(e)) if e.is_timeout() => GateAnswer::TimedOut { after: timeout },
            Ok(Err(e)) => GateAnswer::Unreachable(error_chain(&e)),
            Err(_) => GateAnswer::TimedOut { after: timeout },
        }
    }
}

impl GateCaller for HttpGates {
    fn call<'a>(
        &'a self,
        url: &'a str,
        body: &'a serde_json::Value,
        timeout: Duration,
    ) -> BoxFuture<'a, GateAnswer> {
        Box::pin(self.post(url, body, timeout))
    }
}

/// `e` and its sources, joined: reqwest's own message alone ("error sending request")
/// does not say what went wrong.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}
