//! Loading a voice for the registry: load, then one real synthesis (warm-up),
//! then behind its worker.

use std::path::Path;

use super::PiperVoice;
use crate::config::TtsConfig;
use crate::models::worker::{ModelWorker, WorkerLimits};

/// Text of the warm-up synthesis each voice runs before it is ready.
const WARM_UP_TEXT: &str = "Hermes warms up its voice with one real sentence.";

/// Loads the voice in `dir` and proves it speaks: espeak-ng must phonemize and the
/// model must produce audible samples, or the load fails with the reason.
pub fn load_and_warm_up(
    id: &'static str,
    dir: &Path,
    limits: WorkerLimits,
    settings: &TtsConfig,
) -> Result<ModelWorker<PiperVoice>, String> {
    let voice = PiperVoice::load(dir, settings).map_err(|e| e.to_string())?;
    let handle = tokio::runtime::Handle::try_current()
        .map_err(|e| format!("warm-up needs the async runtime: {e}"))?;
    let sentences = handle
        .block_on(voice.phonemize(WARM_UP_TEXT))
        .map_err(|e| format!("warm-up phonemization failed: {e}"))?;
    let samples = voice
        .synthesize(&sentences, 1.0)
        .map_err(|e| format!("warm-up synthesis failed: {e}"))?;
    let loudest = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    if samples.len() < voice.sample_rate() as usize / 2 || loudest < 1000 {
        return Err(format!(
            "warm-up synthesis gave {} samples peaking at {loudest}: not speech",
            samples.len()
        ));
    }
    // One synthesis at a time per voice: the session is exclusive and each run
    // already uses the configured intra-op threads; the rest wait in the queue.
    let limits = WorkerLimits {
        concurrency: 1,
        queue: limits.queue,
    };
    Ok(ModelWorker::new(id, voice, limits))
}
