//! Candle side of scripts/embedding_engine_compare.sh: load time, single-sentence
//! latency and batch throughput of `MiniLmEmbedder`, printed as one JSON line.
//!
//! cargo run --release -p hermes-runtime --example embedding_engine_bench -- MODEL_DIR CORPUS [BATCH]
//! CORPUS holds one sentence per line; BATCH (default 32) texts go into each `embed` call.

use std::path::Path;
use std::time::Instant;

use hermes_engine::models::embedding::MiniLmEmbedder;

const LATENCY_RUNS: usize = 50;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, model_dir, corpus, rest @ ..] = args.as_slice() else {
        return Err("usage: embedding_engine_bench MODEL_DIR CORPUS [BATCH]".into());
    };
    let batch: usize = rest.first().map_or(Ok(32), |b| b.parse())?;
    let corpus = std::fs::read_to_string(corpus)?;
    let sentences: Vec<&str> = corpus.lines().filter(|l| !l.is_empty()).collect();

    let start = Instant::now();
    let embedder = MiniLmEmbedder::load(Path::new(model_dir))?;
    let load_s = start.elapsed().as_secs_f64();

    // Warm-up: first calls allocate and spin up the thread pools.
    embedder.embed(&sentences[..sentences.len().min(batch)])?;

    let mut latencies = Vec::with_capacity(LATENCY_RUNS);
    for i in 0..LATENCY_RUNS {
        let t = Instant::now();
        embedder.embed(&[sentences[i % sentences.len()]])?;
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
    }
    latencies.sort_by(f64::total_cmp);

    let t = Instant::now();
    for chunk in sentences.chunks(batch) {
        embedder.embed(chunk)?;
    }
    let batch_per_s = sentences.len() as f64 / t.elapsed().as_secs_f64();

    println!(
        "{{\"engine\":\"candle-f32\",\"load_s\":{load_s:.3},\"latency_ms_p50\":{:.2},\"latency_ms_p95\":{:.2},\"batch\":{batch},\"sentences\":{},\"batch_sentences_per_s\":{batch_per_s:.1}}}",
        latencies[LATENCY_RUNS / 2],
        latencies[LATENCY_RUNS * 95 / 100],
        sentences.len(),
    );
    Ok(())
}
