//! A small Prometheus HTTP API client: one instant query, one number back. Every way the
//! answer can go wrong is a typed error, which the analysis counts as a failed check.

use serde::Deserialize;
use std::time::Duration;

/// Upper bound of one query, so an analysis never hangs on a stuck Prometheus.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error("Prometheus URL {url:?} is not a valid http(s) URL")]
    BadUrl { url: String },
    #[error("Prometheus at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("Prometheus answered HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("Prometheus rejected the query ({error_type}): {error}")]
    Query { error_type: String, error: String },
    #[error("unexpected answer from Prometheus: {0}")]
    Malformed(String),
    #[error("the query returned {0} series; a check needs exactly one")]
    ManySeries(usize),
}

/// Prometheus at `base` (e.g. `http://prometheus.monitoring:9090`).
#[derive(Clone, Debug)]
pub struct Prometheus {
    base: reqwest::Url,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<Sample>),
    Scalar((f64, String)),
    Matrix(serde::de::IgnoredAny),
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct Sample {
    value: (f64, String),
}

/// Parses Prometheus's sample text, which spells the specials `NaN`, `+Inf`, `-Inf`.
fn parse_value(text: &str) -> Result<f64, QueryError> {
    match text {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        t => t
            .parse()
            .map_err(|_| QueryError::Malformed(format!("sample value {t:?}"))),
    }
}

impl Prometheus {
    /// A client for `base` sharing `http`'s connection pool.
    pub fn new(base: &str, http: reqwest::Client) -> Result<Self, QueryError> {
        let bad = || QueryError::BadUrl { url: base.into() };
        let trimmed = base.trim_end_matches('/');
        let url = reqwest::Url::parse(&format!("{trimmed}/api/v1/query")).map_err(|_| bad())?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad());
        }
        Ok(Prometheus { base: url, http })
    }

    /// A client with its own pool and the query timeout.
    pub fn standalone(base: &str) -> Result<Self, QueryError> {
        let http = reqwest::Client::builder()
            .timeout(QUERY_TIMEOUT)
            .build()
            .map_err(|e| QueryError::Unreachable {
                url: base.into(),
                reason: e.to_string(),
            })?;
        Prometheus::new(base, http)
    }

    /// The query endpoint, for messages.
    pub fn url(&self) -> &str {
        self.base.as_str()
    }

    /// Runs `promql` as an instant query: `None` when the result is empty, else its one
    /// value (NaN included: the caller decides what no data means).
    pub async fn query(&self, promql: &str) -> Result<Option<f64>, QueryError> {
        let mut url = self.base.clone();
        url.query_pairs_mut().append_pair("query", promql);
        let response = self
            .http
            .get(url)
            .timeout(QUERY_TIMEOUT)
            .send()
            .await
            .map_err(|e| QueryError::Unreachable {
                url: self.base.as_str().into(),
                reason: error_chain(&e),
            })?;
        let status = response.status();
        let body = response.text().await.map_err(|e| QueryError::Unreachable {
            url: self.base.as_str().into(),
            reason: error_chain(&e),
        })?;
        let answer: Answer = match serde_json::from_str(&body) {
            Ok(a) => a,
            Err(_) if !status.is_success() => {
                return Err(QueryError::Http {
                    status: status.as_u16(),
                    body: body.chars().take(300).collect(),
                });
            }
            Err(e) => return Err(QueryError::Malformed(e.to_string())),
        };
        if answer.status != "success" {
            return Err(QueryError::Query {
                error_type: answer.error_type.unwrap_or_else(|| "unknown".into()),
                error: answer.error.unwrap_or_default(),
            });
        }
        match answer.data {
            Some(Data::Vector(samples)) => match samples.as_slice() {
                [] => Ok(None),
                [one] => parse_value(&one.value.1).map(Some),
                many => Err(QueryError::ManySeries(many.len())),
            },
            Some(Data::Scalar((_, v))) => parse_value(&v).map(Some),
            Some(Data::Matrix(_)) => Err(QueryError::Malformed(
                "a range vector; a check needs an instant value".into(),
            )),
            Some(Data::String(_)) => Err(QueryError::Malformed(
                "a string; a check needs a number".into(),
            )),
            None => Err(QueryError::Malformed("no data field".into())),
        }
    }
}

/// An error with its sources ("error sending request: connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_values_including_the_specials() {
        assert_eq!(parse_value("0.25"), Ok(0.25));
        assert!(parse_value("NaN").is_ok_and(f64::is_nan));
        assert_eq!(parse_value("+Inf"), Ok(f64::INFINITY));
        assert!(parse_value("abc").is_err());
    }

    #[test]
    fn urls() {
        let p = Prometheus::standalone("http://prom:9090/").expect("url");
        assert_eq!(p.url(), "http://prom:9090/api/v1/query");
        assert!(Prometheus::standalone("prom:9090").is_err());
        assert!(Prometheus::standalone("ftp://prom").is_err());
    }

    #[tokio::test]
    async fn unreachable_is_an_error_not_a_value() {
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        let p = Prometheus::standalone(&format!("http://127.0.0.1:{port}")).expect("url");
        let err = p.query("up").await.expect_err("nothing listens");
        assert!(matches!(&err, QueryError::Unreachable { .. }), "{err}");
        assert!(
            err.to_string().starts_with(&format!(
                "Prometheus at http://127.0.0.1:{port}/api/v1/query is unreachable"
            )),
            "{err}"
        );
    }
}
