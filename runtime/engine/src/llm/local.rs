//! `local`: the in-process GGUF model (SmolLM2) behind its worker. Generation runs
//! on the blocking pool; streamed pieces cross to the response through a bounded
//! channel, and a client that goes away stops the generation.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use hermes_interface::Task;
use serde_json::json;
use tokio::sync::mpsc;

use crate::config::LocalLlmConfig;
use crate::llm::error::GatewayError;
use crate::llm::types::{
    Choice, Completion, CompletionRequest, CompletionStream, Message, StreamEvent, Usage, new_id,
    unix_now,
};
use crate::models::llm::{ChatMessage, Generation, GenerationParams, LlmError, LocalLlm, Role};
use crate::models::registry::{LoadedModel, Registry, ResolveError};
use crate::models::worker::{ModelWorker, WorkerError};

pub const NAME: &str = "local";
/// Temperature when a request sets none (the contract's default for `/llm`).
pub const DEFAULT_TEMPERATURE: f64 = 0.7;
/// Pieces buffered between the generating thread and the response.
const STREAM_BUFFER: usize = 32;

/// The model and the exact settings of one generation.
struct Job {
    model: &'static str,
    messages: Vec<ChatMessage>,
    params: GenerationParams,
}

impl Job {
    fn new(
        registry: &Registry,
        settings: &LocalLlmConfig,
        request: &CompletionRequest,
    ) -> Result<Self, GatewayError> {
        let (entry, _) = resolve(registry, request.model.as_deref())?;
        let mut messages: Vec<ChatMessage> = Vec::with_capacity(request.messages.len() + 1);
        if let Some(system) = &settings.system_prompt
            && request
                .messages
                .first()
                .is_none_or(|m| m.role != Role::System)
        {
            messages.push(ChatMessage::new(Role::System, system.clone()));
        }
        messages.extend(
            request
                .messages
                .iter()
                .map(|m| ChatMessage::new(m.role, m.content.clone())),
        );
        let params = GenerationParams {
            temperature: request.temperature.unwrap_or(DEFAULT_TEMPERATURE),
            top_p: request.top_p,
            max_tokens: request.max_tokens.unwrap_or(settings.max_tokens),
            // A sampled answer can be replayed with the seed reported in `raw`.
            seed: request
                .seed
                .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0),
        };
        Ok(Self {
            model: entry.id,
            messages,
            params,
        })
    }

    fn raw(&self, generation: &Generation) -> serde_json::Value {
        json!({
            "engine": "candle",
            "model": self.model,
            "temperature": self.params.temperature,
            "top_p": self.params.top_p,
            "max_tokens": self.params.max_tokens,
            "seed": self.params.seed,
            "finish_reason": generation.finish_reason.as_str(),
            "prompt_tokens": generation.prompt_tokens,
            "completion_tokens": generation.completion_tokens,
        })
    }
}

fn resolve<'r>(
    registry: &'r Registry,
    model: Option<&str>,
) -> Result<
    (
        &'static hermes_interface::ModelEntry,
        &'r ModelWorker<LocalLlm>,
    ),
    GatewayError,
> {
    let (entry, loaded) = registry
        .resolve(Task::Llm, model.unwrap_or("default"))
        .map_err(|e| match e {
            ResolveError::NotServed { .. } => GatewayError::NotConfigured {
                provider: NAME,
                hint: "no llm model is loaded by this server (run `make models`, or add \
                       smollm2-135m-instruct to HERMES_MODELS)"
                    .to_owned(),
            },
            e @ ResolveError::UnknownModel { .. } => GatewayError::BadRequest(e.to_string()),
            e => GatewayError::Unavailable(e.to_string()),
        })?;
    match loaded {
        LoadedModel::Llm(worker) => Ok((entry, worker)),
        _ => Err(GatewayError::Internal {
            provider: NAME,
            detail: format!("model {} is not an llm", entry.id),
        }),
    }
}

fn worker_error(e: WorkerError) -> GatewayError {
    match e {
        e @ WorkerError::Busy { .. } => GatewayError::Unavailable(e.to_string()),
        e => GatewayError::Internal {
            provider: NAME,
            detail: e.to_string(),
        },
    }
}

fn generation_error(e: LlmError) -> GatewayError {
    match e {
        e @ (LlmError::ContextOverflow { .. } | LlmError::InvalidParams(_)) => {
            GatewayError::BadRequest(e.to_string())
        }
        e => GatewayError::Internal {
            provider: NAME,
            detail: e.to_string(),
        },
    }
}

/// Set when the request that started a generation goes away (its future is
/// dropped, as when the client disconnects); the generating thread checks it
/// before every token and stops.
#[derive(Debug, Default)]
struct CancelOnDrop(Arc<AtomicBool>);

impl CancelOnDrop {
    /// The flag the generating thread reads.
    fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// `on_token` for a generation nobody reads piece by piece: go on until cancelled.
fn until_cancelled(cancelled: &AtomicBool) -> ControlFlow<()> {
    if cancelled.load(Ordering::Acquire) {
        ControlFlow::Break(())
    } else {
        ControlFlow::Continue(())
    }
}

fn usage(generation: &Generation) -> Usage {
    Usage::new(
        generation.prompt_tokens as u64,
        generation.completion_tokens as u64,
    )
}

pub async fn complete(
    registry: &Registry,
    settings: &LocalLlmConfig,
    request: &CompletionRequest,
) -> Result<Completion, GatewayError> {
    let job = Job::new(registry, settings, request)?;
    let (_, worker) = resolve(registry, Some(job.model))?;
    let (messages, params) = (job.messages.clone(), job.params.clone());
    // Dropped with this future when the client goes away: the generation stops.
    let cancel_on_drop = CancelOnDrop::default();
    let cancelled = cancel_on_drop.flag();
    let generation = worker
        .run(move |llm| llm.generate(&messages, &params, &mut |_| until_cancelled(&cancelled)))
        .await
        .map_err(worker_error)?
        .map_err(generation_error)?;
    Ok(Completion {
        id: new_id("chatcmpl"),
        provider: NAME,
        model: job.model.to_owned(),
        created: unix_now(),
        choices: vec![Choice {
            index: 0,
            message: Message::new(Role::Assistant, generation.text.clone()),
            finish_reason: Some(generation.finish_reason.as_str().to_owned()),
        }],
        usage: Some(usage(&generation)),
        raw: Some(job.raw(&generation)),
    })
}

/// Streams the pieces as the model produces them. Returns once the first piece
/// (or the end) is there, so that a busy or failing model is an error status
/// rather than a broken stream.
pub async fn stream(
    registry: Arc<Registry>,
    settings: &LocalLlmConfig,
    request: &CompletionRequest,
) -> Result<CompletionStream, GatewayError> {
    let job = Job::new(&registry, settings, request)?;
    let model = job.model;
    let (tx, mut rx) = mpsc::channel::<Result<StreamEvent, GatewayError>>(STREAM_BUFFER);
    tokio::spawn(async move {
        let last = match resolve(&registry, Some(model)) {
            Err(e) => Err(e),
            Ok((_, worker)) => {
                let pieces = tx.clone();
                let Job {
                    messages, params, ..
                } = job;
                worker
                    .run(move |llm| {
                        llm.generate(&messages, &params, &mut |piece| {
                            // The receiver is gone when the client disconnected: stop.
                            match pieces.blocking_send(Ok(StreamEvent::Delta(piece.to_owned()))) {
                                Ok(()) => ControlFlow::Continue(()),
                                Err(_) => ControlFlow::Break(()),
                            }
                        })
                    })
                    .await
                    .map_err(worker_error)
                    .and_then(|r| r.map_err(generation_error))
                    .map(|generation| StreamEvent::Finish {
                        finish_reason: Some(generation.finish_reason.as_str().to_owned()),
                        usage: Some(usage(&generation)),
                    })
            }
        };
        let _ = tx.send(last).await;
    });

    let first = rx.recv().await.ok_or_else(|| GatewayError::Internal {
        provider: NAME,
        detail: "generation ended without a result".to_owned(),
    })??;
    let rest = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (event, rx))
    });
    Ok(CompletionStream {
        id: new_id("chatcmpl"),
        provider: NAME,
        model: model.to_owned(),
        created: unix_now(),
        events: futures::stream::once(async move { Ok(first) })
            .chain(rest)
            .boxed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_request_cancels_its_generation() {
        let guard = CancelOnDrop::default();
        let flag = guard.flag();
        assert_eq!(until_cancelled(&flag), ControlFlow::Continue(()));
        drop(guard);
        assert_eq!(until_cancelled(&flag), ControlFlow::Break(()));
    }

    #[test]
    fn a_full_queue_is_503_a_long_prompt_400_and_a_crash_500() {
        let busy = worker_error(WorkerError::Busy {
            model: "m",
            queue: 16,
        });
        assert_eq!(busy.status_code(), 503);
        let crashed = worker_error(WorkerError::Crashed {
            model: "m",
            reason: "inference panicked",
        });
        assert_eq!(crashed.status_code(), 500);
        let long = generation_error(LlmError::ContextOverflow {
            prompt_tokens: 5000,
            context_window: 4096,
        });
        assert_eq!(long.status_code(), 400);
        assert!(long.to_string().contains("5000"), "{long}");
    }
}
