//! Models: loading them once at start ([`registry`]) and running inference off the
//! async executor ([`worker`]). Each capability adds its model type here, a variant
//! to [`registry::LoadedModel`] and its task to [`SERVED_TASKS`].

pub mod batcher;
pub mod embedding;
pub mod embedding_cache;
pub mod embedding_load;
pub mod embedding_onnx;
pub mod llm;
pub mod piper;
pub mod registry;
pub mod whisper;
pub mod worker;

use std::time::Duration;

use hermes_interface::Task;

/// The `tracing` span of one model inference (the binary exports it to
/// OpenTelemetry when tracing is on): `model`, then `queue_ms` (time waiting for
/// a worker slot or a batch) and, for batched models, `batch_size` (texts in the
/// forward pass) once known. Created by [`worker::ModelWorker::run`] and the
/// embedding [`batcher::Batcher`].
pub fn inference_span(model: &'static str) -> tracing::Span {
    tracing::info_span!(
        target: crate::TRACE_TARGET,
        "inference",
        model,
        queue_ms = tracing::field::Empty,
        batch_size = tracing::field::Empty
    )
}

/// Records on an [`inference_span`] how long the job waited before it ran.
pub fn record_queue_time(span: &tracing::Span, waited: Duration) {
    span.record("queue_ms", waited.as_secs_f64() * 1000.0);
}

/// Tasks this build can serve; a declared model of another task is a config error.
pub const SERVED_TASKS: &[Task] = &[Task::Embedding, Task::Llm, Task::Tts, Task::Stt, Task::Nlp];

/// Files that must exist under `models/<id>/` for a model of `task` to load.
pub fn required_files(task: Task) -> &'static [&'static str] {
    match task {
        Task::Embedding => &[
            "config.json",
            "sentence_bert_config.json",
            "1_Pooling/config.json",
            "tokenizer.json",
            // Built by `make models` from model.safetensors (scripts/minilm_to_onnx.py).
            embedding_onnx::GRAPH_FILE,
        ],
        // The one catalog llm model; `LocalLlm::load` takes the folder's only .gguf.
        Task::Llm => &["SmolLM2-135M-Instruct.Q4_1.gguf"],
        // `<name>.onnx` + `<name>.onnx.json`; the voice checks its own folder.
        Task::Tts => &[],
        Task::Stt => &[whisper::WEIGHTS_FILE],
        // spaCy's en_core_web_sm files that `hermes_nlp::NlpPipeline::load` reads.
        Task::Nlp => &[
            "tokenizer",
            "vocab/lookups.bin",
            "tok2vec/model",
            "tagger/model",
            "tagger/cfg",
            "attribute_ruler/patterns",
            "lemmatizer/lookups/lookups.bin",
            "ner/model",
            "ner/moves",
        ],
    }
}
