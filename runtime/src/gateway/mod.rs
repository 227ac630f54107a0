//! The LLM gateway, built once at start: picks the provider of a request and
//! runs it. [`health`] is its `/health` entry.
//!
//! A request's `provider` wins; without one the configured default answers
//! (`HERMES_LLM_PROVIDER`, else `local` when an llm model is declared, else
//! none: 503). `echo` is always available when asked for by name; `local` needs
//! a declared llm model; `openai` needs a base URL or an API key.

pub mod health;

use std::sync::Arc;

use hermes_engine::llm::types::{Completion, CompletionRequest, CompletionStream};
use hermes_engine::llm::{GatewayError, ProviderKind, echo, local};
use hermes_engine::models::registry::Registry;
use hermes_interface::{Task, env};
use hermes_upstreams::llm_upstream::guard::UpstreamGuard;
use hermes_upstreams::llm_upstream::{self, openai};
use hermes_upstreams::resilience::metrics::DeliveryMetrics;

use crate::config::LlmConfig;

pub struct Gateway {
    pub settings: LlmConfig,
    pub registry: Arc<Registry>,
    pub http: reqwest::Client,
    /// Circuit breaker and retry budget of the `openai` upstream.
    pub guard: UpstreamGuard,
}

impl Gateway {
    pub fn new(
        settings: LlmConfig,
        registry: Arc<Registry>,
        http: reqwest::Client,
        metrics: &DeliveryMetrics,
    ) -> Self {
        Self {
            settings,
            registry,
            http,
            guard: UpstreamGuard::new(metrics),
        }
    }

    /// Whether `provider` has what it needs on this server.
    pub fn is_configured(&self, provider: ProviderKind) -> bool {
        match provider {
            ProviderKind::Echo => true,
            ProviderKind::Local => !self.registry.model_ids(Task::Llm).is_empty(),
            ProviderKind::Openai => self.settings.openai.is_some(),
        }
    }

    /// Names of the providers a request may ask for.
    pub fn configured(&self) -> Vec<&'static str> {
        ProviderKind::ALL
            .into_iter()
            .filter(|p| self.is_configured(*p))
            .map(ProviderKind::as_str)
            .collect()
    }

    /// The provider for a request's `provider` field (`None` or blank: the default).
    pub fn select(&self, requested: Option<&str>) -> Result<ProviderKind, GatewayError> {
        let requested = requested.map(str::trim).filter(|r| !r.is_empty());
        let Some(name) = requested else {
            return self
                .settings
                .default_provider
                .ok_or_else(|| GatewayError::NoDefaultProvider {
                    configured: self.configured(),
                });
        };
        let kind = ProviderKind::parse(name).ok_or_else(|| GatewayError::UnknownProvider {
            requested: name.to_owned(),
            configured: self.configured(),
        })?;
        if !self.is_configured(kind) {
            let hint = match kind {
                ProviderKind::Openai => format!(
                    "set HERMES_LLM_BASE_URL (an OpenAI-compatible server) and/or an API key \
                     ({} or {})",
                    env::OPENAI_API_KEY,
                    env::LLM_API_KEY_FILE
                ),
                _ => "no llm model is loaded by this server (run `make models`, or add \
                      smollm2-135m-instruct to HERMES_MODELS)"
                    .to_owned(),
            };
            return Err(GatewayError::NotConfigured {
                provider: kind.as_str(),
                hint,
            });
        }
        Ok(kind)
    }

    fn openai(&self) -> Result<openai::OpenAi<'_>, GatewayError> {
        let upstream =
            self.settings
                .openai
                .as_ref()
                .ok_or_else(|| GatewayError::NotConfigured {
                    provider: llm_upstream::NAME,
                    hint: "no upstream is configured".to_owned(),
                })?;
        Ok(openai::OpenAi {
            upstream,
            http: &self.http,
            guard: &self.guard,
        })
    }

    pub async fn complete(
        &self,
        provider: ProviderKind,
        request: &CompletionRequest,
    ) -> Result<Completion, GatewayError> {
        match provider {
            ProviderKind::Echo => Ok(echo::complete(request)),
            ProviderKind::Local => {
                local::complete(&self.registry, &self.settings.local, request).await
            }
            ProviderKind::Openai => self.openai()?.complete(request).await,
        }
    }

    pub async fn stream(
        &self,
        provider: ProviderKind,
        request: &CompletionRequest,
    ) -> Result<CompletionStream, GatewayError> {
        match provider {
            ProviderKind::Echo => Ok(echo::stream(request)),
            ProviderKind::Local => {
                local::stream(Arc::clone(&self.registry), &self.settings.local, request).await
            }
            ProviderKind::Openai => self.openai()?.stream(request).await,
        }
    }
}
