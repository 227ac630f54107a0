//! OpenTelemetry tracing settings from the standard `OTEL_*` variables: traces are
//! exported over OTLP/HTTP when an endpoint is set, and nothing is done otherwise.

use hermes_interface::env;
use url::Url;

use super::error::ConfigError;
use super::parse_http_url;

/// `service.name` of the exported spans when `OTEL_SERVICE_NAME` is unset.
pub const DEFAULT_SERVICE_NAME: &str = "hermes-runtime";
/// Path appended to `OTEL_EXPORTER_OTLP_ENDPOINT` (the OTLP/HTTP traces path).
const TRACES_PATH: &str = "v1/traces";

/// Where spans go, if anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracingConfig {
    /// The OTLP/HTTP traces URL; `None`: tracing is off.
    pub endpoint: Option<Url>,
    pub service_name: String,
}

/// The traces URL as the OpenTelemetry specification resolves it:
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as given, else
/// `OTEL_EXPORTER_OTLP_ENDPOINT` with `/v1/traces` appended.
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<TracingConfig, ConfigError> {
    let traces = get(env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
        .map(|v| {
            parse_http_url(&v)
                .map_err(|p| ConfigError::new(env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, p))
        })
        .transpose()?;
    let base = get(env::OTEL_EXPORTER_OTLP_ENDPOINT)
        .map(|v| {
            parse_http_url(&v)
                .map(|url| with_traces_path(&url))
                .map_err(|p| ConfigError::new(env::OTEL_EXPORTER_OTLP_ENDPOINT, p))
        })
        .transpose()?;
    Ok(TracingConfig {
        endpoint: traces.or(base),
        service_name: get(env::OTEL_SERVICE_NAME).unwrap_or_else(|| DEFAULT_SERVICE_NAME.into()),
    })
}

fn with_traces_path(base: &Url) -> Url {
    let mut url = base.clone();
    let path = format!("{}/{TRACES_PATH}", base.path().trim_end_matches('/'));
    url.set_path(&path);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<TracingConfig, ConfigError> {
        from_lookup(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn off_unless_an_endpoint_is_set() {
        let config = read(&[]).unwrap();
        assert_eq!(config.endpoint, None);
        assert_eq!(config.service_name, "hermes-runtime");
    }

    #[test]
    fn the_base_endpoint_gets_the_traces_path_and_the_traces_endpoint_wins() {
        let base = read(&[(env::OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318/")]).unwrap();
        assert_eq!(
            base.endpoint.unwrap().as_str(),
            "http://collector:4318/v1/traces"
        );
        let both = read(&[
            (env::OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318"),
            (
                env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                "http://other:9999/traces",
            ),
            (env::OTEL_SERVICE_NAME, "hermes-eu"),
        ])
        .unwrap();
        assert_eq!(both.endpoint.unwrap().as_str(), "http://other:9999/traces");
        assert_eq!(both.service_name, "hermes-eu");
    }

    #[test]
    fn a_malformed_endpoint_names_its_variable() {
        let e = read(&[(env::OTEL_EXPORTER_OTLP_ENDPOINT, "collector:4318")]).unwrap_err();
        assert_eq!(e.variable, env::OTEL_EXPORTER_OTLP_ENDPOINT);
    }
}
