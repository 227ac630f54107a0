//! Fuzzing the audio decoder, bounded so it runs in `make test`: the committed corpus
//! (`tests/fuzz-corpus/audio`: WAV, FLAC, Ogg Vorbis and MP3 of a quarter second, made
//! with sox) mutated by bit flips, overwritten runs, truncation and spliced garbage, plus
//! random bytes. Whatever arrives, decoding returns an answer (audio, or an error a client
//! can be told) without panicking, and never more samples than the length limit allows.
//! Failures proptest finds are kept in `tests/fuzz_audio.proptest-regressions` (seeds)
//! and `tests/fuzz-corpus/audio-found` (the inputs), both replayed on every run. Found so
//! far: a WAV header declaring a 537 MHz sample rate made resampling take a minute
//! (now refused: `AudioError::UnsupportedSampleRate`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use hermes_engine::audio::{AudioHint, DecodeLimits, decode_to_mono_16k};
use proptest::prelude::*;

const MAX_SECONDS: f64 = 2.0;
/// Longest one decode of these tiny files may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(20);

/// Cases per property: 6,000 in `make test` (a few seconds), more by hand with
/// `HERMES_FUZZ_CASES=100000`.
fn cases() -> u32 {
    std::env::var("HERMES_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6_000)
}
const SAMPLE_RATE: f64 = 16_000.0;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/audio");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let ext = path.extension()?.to_str()?.to_owned();
            Some((ext, std::fs::read(&path).ok()?))
        })
        .collect();
    files.sort();
    assert!(files.len() >= 4, "the corpus holds wav, flac, ogg and mp3");
    files
}

/// One mutation of a seed file.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit { at: usize, bit: u8 },
    Overwrite { at: usize, bytes: Vec<u8> },
    Truncate { keep: usize },
    Insert { at: usize, bytes: Vec<u8> },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        3 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Overwrite { at, bytes }),
        1 => any::<usize>().prop_map(|keep| Mutation::Truncate { keep }),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
    ]
}

fn mutate(mut file: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if file.is_empty() {
            break;
        }
        let len = file.len();
        match m {
            // Most of a container's structure is in its first bytes: aim there half the time.
            Mutation::FlipBit { at, bit } => {
                let at = if at % 2 == 0 {
                    at % len.min(128)
                } else {
                    at % len
                };
                file[at] ^= 1 << bit;
            }
            Mutation::Overwrite { at, bytes } => {
                let at = at % len;
                let end = (at + bytes.len()).min(len);
                file[at..end].copy_from_slice(&bytes[..end - at]);
            }
            Mutation::Truncate { keep } => file.truncate(keep % len),
            Mutation::Insert { at, bytes } => {
                let at = at % len;
                file.splice(at..at, bytes.iter().copied());
            }
        }
    }
    file
}

/// Decodes `bytes` as an upload named `*.ext`; panics (failing the property) if the
/// decoder panics or breaks the length limit.
fn decode_checked(bytes: Vec<u8>, ext: Option<&str>) {
    let hint = AudioHint {
        mime_type: None,
        extension: ext.map(str::to_owned),
    };
    let limits = DecodeLimits {
        max_seconds: MAX_SECONDS,
    };
    // On its own thread, so that a hang is reported (with the input kept) instead of
    // holding the test until nextest kills it.
    let (done, finished) = std::sync::mpsc::channel();
    let input = bytes.clone();
    std::thread::spawn(move || {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            decode_to_mono_16k(Bytes::from(input), &hint, limits)
        }));
        let _ = done.send(outcome);
    });
    let Ok(outcome) = finished.recv_timeout(HANG) else {
        let kept = std::env::temp_dir().join("hermes-fuzz-audio-hang.bin");
        let _ = std::fs::write(&kept, &bytes);
        panic!(
            "decoding took over {HANG:?}; input kept in {}",
            kept.display()
        );
    };
    match outcome {
        Err(_) => panic!("the decoder panicked"),
        Ok(Ok(pcm)) => {
            // A little slack: the last packet may carry a few ms past the limit.
            let max = (MAX_SECONDS * SAMPLE_RATE) as usize + 16_000;
            assert!(pcm.samples.len() <= max, "{} samples", pcm.samples.len());
            assert!(
                pcm.samples.iter().all(|s| s.is_finite()),
                "non-finite sample"
            );
        }
        Ok(Err(e)) => assert!(!e.to_string().is_empty(), "an error says what is wrong"),
    }
}

#[test]
fn every_seed_decodes() {
    for (ext, file) in corpus() {
        let pcm = decode_to_mono_16k(
            Bytes::from(file),
            &AudioHint {
                mime_type: None,
                extension: Some(ext.clone()),
            },
            DecodeLimits {
                max_seconds: MAX_SECONDS,
            },
        )
        .unwrap_or_else(|e| panic!("{ext}: {e}"));
        assert!(
            (3_000..6_000).contains(&pcm.samples.len()),
            "{ext}: a quarter second is ~4000 samples (MP3 adds its encoder delay), got {}",
            pcm.samples.len()
        );
    }
}

#[test]
fn inputs_found_by_fuzzing_fail_cleanly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/audio-found");
    let found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| Some(e.ok()?.path()))
        .collect();
    assert!(
        !found.is_empty(),
        "{} holds the inputs found",
        dir.display()
    );
    for path in found {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        decode_checked(bytes, None);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // A hang found is kept as it is: shrinking would wait out HANG at every step.
        max_shrink_iters: 0,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_files_decode_or_fail_cleanly(
        seed in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
        keep_extension in any::<bool>(),
    ) {
        let files = corpus();
        let (ext, file) = &files[seed.index(files.len())];
        let bytes = mutate(file.clone(), &mutations);
        decode_checked(bytes, keep_extension.then_some(ext.as_str()));
    }

    #[test]
    fn random_bytes_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        decode_checked(bytes, None);
    }
}
