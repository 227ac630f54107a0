//! Why the gateway could not answer, and the status code each reason gets.

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum GatewayError {
    /// The request names a provider this server does not know.
    #[error("Unknown LLM provider {requested:?}; configured providers: {}", configured.join(", "))]
    UnknownProvider {
        requested: String,
        configured: Vec<&'static str>,
    },
    /// No provider was asked for and none is configured as the default.
    #[error(
        "No LLM provider is configured: set HERMES_LLM_PROVIDER (echo, local or openai), \
         install the local model (`make models`), or name a provider in the request; \
         configured providers: {}", configured.join(", ")
    )]
    NoDefaultProvider { configured: Vec<&'static str> },
    /// A known provider that this server has no settings or model for.
    #[error("LLM provider {provider:?} is not configured: {hint}")]
    NotConfigured {
        provider: &'static str,
        hint: String,
    },
    /// The provider cannot take the request now (model loading, queue full).
    #[error("{0}")]
    Unavailable(String),
    /// The request is well-formed but cannot be served as asked (400).
    #[error("{0}")]
    BadRequest(String),
    /// The upstream answered with an error, or with something that is not a completion.
    #[error("LLM provider {provider} answered with an error: {detail}")]
    Upstream {
        provider: &'static str,
        /// The upstream's status, when it answered.
        status: Option<u16>,
        detail: String,
    },
    /// The upstream could not be reached (connection refused, DNS, connect timeout).
    #[error("LLM provider {provider} is unreachable at {url}: {detail}")]
    Unreachable {
        provider: &'static str,
        url: String,
        detail: String,
    },
    /// A fault of this server (logged; clients see a generic message).
    #[error("LLM provider {provider} failed: {detail}")]
    Internal {
        provider: &'static str,
        detail: String,
    },
}

impl GatewayError {
    /// The same error with `note` added to an upstream's detail.
    pub fn with_note(mut self, note: &str) -> Self {
        if let GatewayError::Upstream { detail, .. } | GatewayError::Unreachable { detail, .. } =
            &mut self
        {
            detail.push_str(" (");
            detail.push_str(note);
            detail.push(')');
        }
        self
    }

    /// The contract's status code: unknown / not configured / unavailable -> 503,
    /// upstream error -> 502, unreachable upstream -> 503 (the dependency is
    /// unavailable, as for Sophia), invalid request -> 400.
    pub fn status_code(&self) -> u16 {
        match self {
            GatewayError::UnknownProvider { .. }
            | GatewayError::NoDefaultProvider { .. }
            | GatewayError::NotConfigured { .. }
            | GatewayError::Unavailable(_)
            | GatewayError::Unreachable { .. } => 503,
            GatewayError::BadRequest(_) => 400,
            GatewayError::Upstream { .. } => 502,
            GatewayError::Internal { .. } => 500,
        }
    }

    /// What the client reads: the message, except for internal faults.
    pub fn client_detail(&self) -> String {
        match self {
            GatewayError::Internal { .. } => "LLM provider failure".to_owned(),
            other => other.to_string(),
        }
    }

    /// OpenAI's error `type` for this failure.
    pub fn openai_type(&self) -> &'static str {
        match self {
            GatewayError::BadRequest(_) => "invalid_request_error",
            GatewayError::Upstream { .. } => "upstream_error",
            GatewayError::Internal { .. } => "server_error",
            _ => "service_unavailable",
        }
    }

    /// Logs internal faults with their detail (their clients only see a generic message).
    pub fn log(&self) {
        match self {
            GatewayError::Internal { .. } => tracing::error!(error = %self, "llm request failed"),
            GatewayError::Upstream { .. } | GatewayError::Unreachable { .. } => {
                tracing::warn!(error = %self, "llm upstream failed")
            }
            _ => tracing::info!(error = %self, "llm request refused"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_contract() {
        let cases = [
            (
                GatewayError::UnknownProvider {
                    requested: "x".into(),
                    configured: vec!["echo"],
                },
                503,
            ),
            (GatewayError::NoDefaultProvider { configured: vec![] }, 503),
            (
                GatewayError::NotConfigured {
                    provider: "openai",
                    hint: "h".into(),
                },
                503,
            ),
            (
                GatewayError::Upstream {
                    provider: "openai",
                    status: Some(500),
                    detail: "boom".into(),
                },
                502,
            ),
            (
                GatewayError::Unreachable {
                    provider: "openai",
                    url: "u".into(),
                    detail: "refused".into(),
                },
                503,
            ),
            (GatewayError::BadRequest("b".into()), 400),
            (
                GatewayError::Internal {
                    provider: "local",
                    detail: "d".into(),
                },
                500,
            ),
        ];
        for (err, status) in cases {
            assert_eq!(err.status_code(), status, "{err}");
        }
        let unknown = GatewayError::UnknownProvider {
            requested: "gpt".into(),
            configured: vec!["echo", "local"],
        };
        assert_eq!(
            unknown.to_string(),
            "Unknown LLM provider \"gpt\"; configured providers: echo, local"
        );
    }
}
