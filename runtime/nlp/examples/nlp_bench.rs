//! `make bench` helper: words per second of the full pipeline on a corpus file, and resident memory, as JSON.
//!
//! Usage: nlp_bench <model dir> <corpus.txt> <rounds>

use hermes_nlp::{NlpPipeline, Operation};
use std::path::Path;
use std::time::Instant;

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<u64>().ok())
            })
        })
        .map_or(0, |kb| kb * 1024)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        return Err("usage: nlp_bench <model dir> <corpus.txt> <rounds>".into());
    }
    let rss_before = rss_bytes();
    let start = Instant::now();
    let nlp = NlpPipeline::load(Path::new(&args[1]))?;
    let load_seconds = start.elapsed().as_secs_f64();
    let rss_loaded = rss_bytes();
    let corpus = std::fs::read_to_string(&args[2])?;
    let texts: Vec<&str> = corpus.lines().filter(|l| !l.trim().is_empty()).collect();
    let rounds: usize = args[3].parse()?;
    let ops = [
        Operation::Tokenize,
        Operation::PosTag,
        Operation::Lemmatize,
        Operation::Ner,
    ];
    for t in &texts {
        nlp.analyze(t, &ops);
    }
    let mut words = 0usize;
    let start = Instant::now();
    for _ in 0..rounds {
        for t in &texts {
            words += nlp.analyze(t, &ops).tokens.map_or(0, |t| t.len());
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    if std::env::var_os("NLP_BENCH_SPLIT").is_some() {
        for ops in [
            &[Operation::Tokenize][..],
            &[Operation::PosTag],
            &[Operation::Ner],
        ] {
            let t = Instant::now();
            for x in &texts {
                nlp.analyze(x, ops);
            }
            eprintln!("{ops:?}: {:.3} s per round", t.elapsed().as_secs_f64());
        }
    }
    println!(
        "{{\"words\": {words}, \"seconds\": {seconds:.4}, \"words_per_second\": {:.1}, \"load_seconds\": {load_seconds:.4}, \"rss_bytes\": {}, \"model_resident_bytes\": {}}}",
        words as f64 / seconds,
        rss_bytes(),
        rss_loaded.saturating_sub(rss_before)
    );
    Ok(())
}
