//! Picks the provider of a request and runs it.
//!
//! A request's `provider` wins; without one the configured default answers
//! (`HERMES_LLM_PROVIDER`, else `local` when an llm model is declared, else
//! none: 503). `echo` is always available when asked for by name; `local` needs
//! a declared llm model; `openai` needs a base URL or an API key.

use std::sync::Arc;

use hermes_interface::Task;

use super::error::GatewayError;
use super::providers::{echo, local, openai};
use super::settings::{API_KEY_FILE, LlmConfig, ProviderKind};
use super::types::{Completion, CompletionRequest, CompletionStream};
use super::upstream_guard::UpstreamGuard;
use crate::models::registry::Registry;
use crate::state::AppState;

#[derive(Clone, Copy)]
pub struct Gateway<'a> {
    pub settings: &'a LlmConfig,
    pub registry: &'a Arc<Registry>,
    pub http: &'a reqwest::Client,
    pub guard: &'a UpstreamGuard,
}

impl<'a> Gateway<'a> {
    pub fn new(state: &'a AppState) -> Self {
        Self {
            settings: &state.config.llm,
            registry: &state.registry,
            http: &state.http,
            guard: &state.llm_upstream,
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
                     (OPENAI_API_KEY or {API_KEY_FILE})"
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

    fn openai(&self) -> Result<openai::OpenAi<'a>, GatewayError> {
        let upstream =
            self.settings
                .openai
                .as_ref()
                .ok_or_else(|| GatewayError::NotConfigured {
                    provider: openai::NAME,
                    hint: "no upstream is configured".to_owned(),
                })?;
        Ok(openai::OpenAi {
            upstream,
            http: self.http,
            guard: self.guard,
        })
    }

    pub async fn complete(
        &self,
        provider: ProviderKind,
        request: &CompletionRequest,
    ) -> Result<Completion, GatewayError> {
        match provider {
            ProviderKind::Echo => Ok(echo::complete(request)),
            ProviderKind::Local => local::complete(self.registry, self.settings, request).await,
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
                local::stream(Arc::clone(self.registry), self.settings, request).await
            }
            ProviderKind::Openai => self.openai()?.stream(request).await,
        }
    }
}
