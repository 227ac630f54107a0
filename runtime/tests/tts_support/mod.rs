//! What the text-to-speech tests check audio with: a strict reader of the WAV
//! files `/tts` answers, loudness, and word error rate.

#![allow(dead_code)]

/// A decoded 16-bit PCM WAV.
#[derive(Debug)]
pub struct Wav {
    pub channels: u16,
    pub sample_rate: u32,
    pub bits: u16,
    pub samples: Vec<i16>,
}

impl Wav {
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate) / f64::from(self.channels)
    }

    /// Root mean square loudness, 0..1 of full scale.
    pub fn rms(&self) -> f64 {
        if self.samples.is_empty() {
            return 0.0;
        }
        let sum: f64 = self
            .samples
            .iter()
            .map(|&s| (f64::from(s) / 32768.0).powi(2))
            .sum();
        (sum / self.samples.len() as f64).sqrt()
    }
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Parses a canonical PCM WAV (RIFF, `fmt ` then `data`), asserting every size
/// field agrees with the bytes.
pub fn parse_wav(bytes: &[u8]) -> Wav {
    assert!(
        bytes.len() >= 44,
        "a WAV has a 44-byte header: {} bytes",
        bytes.len()
    );
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(u32_at(bytes, 4) as usize, bytes.len() - 8, "RIFF size");
    assert_eq!(&bytes[8..12], b"WAVE");
    assert_eq!(&bytes[12..16], b"fmt ");
    assert_eq!(u32_at(bytes, 16), 16, "fmt chunk size of PCM");
    assert_eq!(u16_at(bytes, 20), 1, "format tag 1 = PCM");
    let channels = u16_at(bytes, 22);
    let sample_rate = u32_at(bytes, 24);
    let bits = u16_at(bytes, 34);
    assert_eq!(u16_at(bytes, 32), channels * bits / 8, "block align");
    assert_eq!(
        u32_at(bytes, 28),
        sample_rate * u32::from(channels * bits / 8),
        "byte rate"
    );
    assert_eq!(&bytes[36..40], b"data");
    let data_len = u32_at(bytes, 40) as usize;
    assert_eq!(data_len, bytes.len() - 44, "data size");
    assert_eq!(bits, 16, "16-bit samples");
    let samples = bytes[44..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    Wav {
        channels,
        sample_rate,
        bits,
        samples,
    }
}

/// Lower case, punctuation dropped, split on whitespace.
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Word error rate: word-level edit distance over the reference's word count.
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let r = words(reference);
    let h = words(hypothesis);
    let mut row: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, hw) in h.iter().enumerate() {
            let substitution = prev + usize::from(rw != hw);
            prev = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(prev + 1);
        }
    }
    row[h.len()] as f64 / r.len().max(1) as f64
}

#[test]
fn wer_counts_edits_per_reference_word() {
    assert_eq!(wer("Hello, world!", "hello world"), 0.0);
    assert_eq!(wer("the quick brown fox", "the quick brown box"), 0.25);
    assert_eq!(wer("a b c d", "a c d e"), 0.5);
    assert_eq!(wer("one two", ""), 1.0);
}
