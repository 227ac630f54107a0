//! What a caller asks of one generation, and what it gets back.

use super::error::LlmError;

/// Sampling and length settings of one generation.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationParams {
    /// Softmax temperature; 0 picks the most likely token every step (greedy).
    pub temperature: f64,
    /// Nucleus sampling: sample among the most likely tokens whose probabilities
    /// sum to `top_p`; `None` or 1 samples from all tokens. Ignored when greedy.
    pub top_p: Option<f64>,
    /// Most tokens to generate, the end-of-turn token included.
    pub max_tokens: usize,
    /// Seed of the sampler, so that sampled answers can be reproduced.
    pub seed: u64,
}

impl GenerationParams {
    /// Deterministic decoding of at most `max_tokens` tokens.
    pub fn greedy(max_tokens: usize) -> Self {
        Self {
            temperature: 0.0,
            top_p: None,
            max_tokens,
            seed: 0,
        }
    }

    pub(super) fn validate(&self) -> Result<(), LlmError> {
        if !self.temperature.is_finite() || self.temperature < 0.0 {
            return Err(LlmError::InvalidParams(format!(
                "temperature must be a finite number >= 0, got {}",
                self.temperature
            )));
        }
        if let Some(top_p) = self.top_p
            && !(top_p > 0.0 && top_p <= 1.0)
        {
            return Err(LlmError::InvalidParams(format!(
                "top_p must be in (0, 1], got {top_p}"
            )));
        }
        if self.max_tokens == 0 {
            return Err(LlmError::InvalidParams(
                "max_tokens must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The model ended its turn (or the caller stopped the stream, e.g. on a stop
    /// sequence).
    Stop,
    /// `max_tokens` or the context window was reached first.
    Length,
}

impl FinishReason {
    /// OpenAI's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
        }
    }
}

/// The answer of one generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// The generated text, control tokens left out.
    pub text: String,
    /// Tokens of the rendered prompt.
    pub prompt_tokens: usize,
    /// Tokens sampled, the end-of-turn token included (it was generated).
    pub completion_tokens: usize,
    pub finish_reason: FinishReason,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_greedy_and_sampled_settings() {
        assert!(GenerationParams::greedy(1).validate().is_ok());
        let sampled = GenerationParams {
            temperature: 0.7,
            top_p: Some(1.0),
            max_tokens: 16,
            seed: 7,
        };
        assert!(sampled.validate().is_ok());
    }

    #[test]
    fn rejects_out_of_range_settings() {
        let base = GenerationParams::greedy(4);
        for bad in [
            GenerationParams {
                temperature: -0.1,
                ..base.clone()
            },
            GenerationParams {
                temperature: f64::NAN,
                ..base.clone()
            },
            GenerationParams {
                top_p: Some(0.0),
                ..base.clone()
            },
            GenerationParams {
                top_p: Some(1.5),
                ..base.clone()
            },
            GenerationParams {
                max_tokens: 0,
                ..base.clone()
            },
        ] {
            assert!(
                matches!(bad.validate(), Err(LlmError::InvalidParams(_))),
                "{bad:?} was accepted"
            );
        }
    }
}
