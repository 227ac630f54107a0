//! How the registry serves the local LLM: load, one real generation as warm-up,
//! and the limits of its worker.

use std::ops::ControlFlow;
use std::path::Path;

use super::{ChatMessage, GenerationParams, LocalLlm, Role};
use crate::models::worker::WorkerLimits;

/// Jobs admitted per LLM model (running + waiting). A generation takes seconds,
/// so a deep queue would only turn overload into timeouts: beyond this, 503.
pub const QUEUE: usize = 16;

/// One generation at a time: the weights hold the KV cache behind a lock, and
/// candle's matmuls already use every core.
pub fn worker_limits(machine: WorkerLimits) -> WorkerLimits {
    WorkerLimits {
        concurrency: 1,
        queue: machine.queue.min(QUEUE),
    }
}

/// Loads the model in `dir` and generates two tokens with it (blocking).
pub fn load_and_warm_up(dir: &Path) -> Result<LocalLlm, String> {
    let model = LocalLlm::load(dir).map_err(|e| e.to_string())?;
    let warm_up = [ChatMessage::new(Role::User, "Hello")];
    let generation = model
        .generate(&warm_up, &GenerationParams::greedy(2), &mut |_| {
            ControlFlow::Continue(())
        })
        .map_err(|e| format!("warm-up generation failed: {e}"))?;
    if generation.completion_tokens == 0 {
        return Err("warm-up generation produced no token".into());
    }
    Ok(model)
}
