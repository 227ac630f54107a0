//! LLM series of `/metrics`: time to first token of streamed completions and output tokens
//! per second, by canonical route and provider. For a stream, HTTP latency measures the
//! length of the answer; these measure the service.

use std::sync::Arc;
use std::time::Instant;

use hermes_engine::llm::Usage;
use hermes_interface::metrics as names;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use hermes_interface::metrics::{ROUTE_CHAT_COMPLETIONS, ROUTE_LLM};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FirstTokenLabels {
    route: &'static str,
    provider: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RateLabels {
    route: &'static str,
    provider: &'static str,
    streamed: &'static str,
}

fn first_token_histogram() -> Histogram {
    Histogram::new(names::LATENCY_BUCKETS.iter().copied())
}

fn rate_histogram() -> Histogram {
    Histogram::new(names::LLM_TOKENS_PER_SECOND_BUCKETS.iter().copied())
}

/// Time to first token and output rate histograms.
#[derive(Debug)]
pub struct LlmMetrics {
    first_token: Family<FirstTokenLabels, Histogram, fn() -> Histogram>,
    output_rate: Family<RateLabels, Histogram, fn() -> Histogram>,
}

impl LlmMetrics {
    /// Creates the series and registers them.
    pub fn register(registry: &mut Registry) -> Self {
        let first_token: Family<FirstTokenLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(first_token_histogram);
        registry.register(
            names::LLM_TIME_TO_FIRST_TOKEN_SECONDS,
            "Seconds from a streamed LLM request's arrival to its first token",
            first_token.clone(),
        );
        let output_rate: Family<RateLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(rate_histogram);
        registry.register(
            names::LLM_OUTPUT_TOKENS_PER_SECOND,
            "Output tokens per second of LLM completions (streamed: after the first token)",
            output_rate.clone(),
        );
        Self {
            first_token,
            output_rate,
        }
    }

    /// A non-streamed completion of `usage` that took `seconds` to generate (no usage, no
    /// output token or no time: nothing to record).
    pub fn observe_completion(
        &self,
        route: &'static str,
        provider: &'static str,
        usage: Option<Usage>,
        seconds: f64,
    ) {
        let tokens = usage.map_or(0, |u| u.completion_tokens);
        if tokens == 0 || seconds <= 0.0 {
            return;
        }
        self.output_rate
            .get_or_create(&RateLabels {
                route,
                provider,
                streamed: "false",
            })
            .observe(tokens as f64 / seconds);
    }

    /// The timer of one streamed completion whose request arrived at `started`.
    pub fn stream(
        self: &Arc<Self>,
        route: &'static str,
        provider: &'static str,
        started: Instant,
    ) -> StreamTimer {
        StreamTimer {
            metrics: Arc::clone(self),
            route,
            provider,
            started,
            first_token: None,
            pieces: 0,
        }
    }
}

/// Watches one stream: its first piece of text records the time to first token, its end
/// the output rate.
#[derive(Debug)]
pub struct StreamTimer {
    metrics: Arc<LlmMetrics>,
    route: &'static str,
    provider: &'static str,
    started: Instant,
    first_token: Option<Instant>,
    pieces: u64,
}

impl StreamTimer {
    /// A piece of text arrived (empty pieces are not tokens).
    pub fn piece(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.pieces += 1;
        if self.first_token.is_none() {
            let now = Instant::now();
            self.first_token = Some(now);
            self.metrics
                .first_token
                .get_or_create(&FirstTokenLabels {
                    route: self.route,
                    provider: self.provider,
                })
                .observe(now.duration_since(self.started).as_secs_f64());
        }
    }

    /// The stream finished; `usage` counts its tokens where the provider says (else one
    /// token per piece). The tokens after the first over the time since the first.
    pub fn finished(&mut self, usage: Option<Usage>) {
        let Some(first) = self.first_token else {
            return;
        };
        let tokens = usage.map_or(self.pieces, |u| u.completion_tokens);
        let seconds = first.elapsed().as_secs_f64();
        if tokens < 2 || seconds <= 0.0 {
            return;
        }
        self.metrics
            .output_rate
            .get_or_create(&RateLabels {
                route: self.route,
                provider: self.provider,
                streamed: "true",
            })
            .observe((tokens - 1) as f64 / seconds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposition(registry: &Registry) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).expect("encode");
        text
    }

    fn usage(completion_tokens: u64) -> Option<Usage> {
        Some(Usage {
            prompt_tokens: 5,
            completion_tokens,
            total_tokens: 5 + completion_tokens,
        })
    }

    #[test]
    fn a_stream_records_its_first_token_once_and_its_rate_at_the_end() {
        let mut registry = Registry::default();
        let m = Arc::new(LlmMetrics::register(&mut registry));
        let mut timer = m.stream(ROUTE_LLM, "local", Instant::now());
        timer.piece("");
        assert!(!exposition(&registry).contains("time_to_first_token_seconds_count"));
        timer.piece("Hello");
        timer.piece(" world");
        std::thread::sleep(std::time::Duration::from_millis(2));
        timer.finished(usage(3));
        let text = exposition(&registry);
        for expected in [
            r#"hermes_llm_time_to_first_token_seconds_count{route="/llm",provider="local"} 1"#,
            r#"hermes_llm_output_tokens_per_second_count{route="/llm",provider="local",streamed="true"} 1"#,
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
    }

    #[test]
    fn nothing_to_measure_records_nothing() {
        let mut registry = Registry::default();
        let m = Arc::new(LlmMetrics::register(&mut registry));
        // No text at all: no first token, no rate.
        m.stream(ROUTE_CHAT_COMPLETIONS, "echo", Instant::now())
            .finished(usage(0));
        // One token: no rate after the first.
        let mut one = m.stream(ROUTE_CHAT_COMPLETIONS, "echo", Instant::now());
        one.piece("x");
        one.finished(None);
        m.observe_completion(ROUTE_LLM, "local", None, 1.0);
        m.observe_completion(ROUTE_LLM, "local", usage(10), 0.0);
        let text = exposition(&registry);
        assert!(!text.contains("output_tokens_per_second_count"), "{text}");
        m.observe_completion(ROUTE_LLM, "local", usage(10), 2.0);
        let text = exposition(&registry);
        assert!(
            text.contains(r#"hermes_llm_output_tokens_per_second_sum{route="/llm",provider="local",streamed="false"} 5.0"#),
            "{text}"
        );
    }
}
