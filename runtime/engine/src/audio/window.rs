//! Long audio in bounded windows: transcription reads an [`AudioStream`] a window
//! at a time, so one request holds at most a window of samples (and Whisper's
//! log-mel of a window), however long the upload. Each window ends at the quietest
//! 20 ms within its last seconds, so a cut seldom falls inside a word; the rest is
//! carried into the next window and no sample is lost or repeated.

use super::{AudioError, AudioStream, WHISPER_SAMPLE_RATE};

/// Samples per window: five minutes at 16 kHz (19 MB of `f32`).
pub const WINDOW_SAMPLES: usize = 300 * WHISPER_SAMPLE_RATE as usize;
/// How far back from a window's end the quietest point is looked for: two seconds.
pub const SEARCH_SAMPLES: usize = 2 * WHISPER_SAMPLE_RATE as usize;
/// The unit of loudness compared: 20 ms.
const FRAME: usize = WHISPER_SAMPLE_RATE as usize / 50;

/// Reads `stream` in windows of at most `window` samples, cut at quiet points.
#[derive(Debug)]
pub struct Windows<'a> {
    stream: &'a mut AudioStream,
    window: usize,
    search: usize,
    carry: Vec<f32>,
    ended: bool,
}

impl<'a> Windows<'a> {
    pub fn new(stream: &'a mut AudioStream, window: usize, search: usize) -> Self {
        let window = window.max(FRAME);
        Self {
            stream,
            window,
            search: search.min(window / 2),
            carry: Vec::new(),
            ended: false,
        }
    }

    /// The next window; `None` after the last.
    pub fn next_window(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        let mut window = std::mem::take(&mut self.carry);
        if !self.ended {
            let need = self.window - window.len();
            match self.stream.next_samples(need)? {
                Some(piece) => {
                    self.ended = piece.len() < need;
                    window.extend_from_slice(&piece);
                }
                None => self.ended = true,
            }
        }
        if window.is_empty() {
            return Ok(None);
        }
        if !self.ended {
            let cut = quietest_cut(&window, self.search);
            self.carry = window.split_off(cut);
        }
        Ok(Some(window))
    }
}

/// Where to end `samples`: the start of the quietest 20 ms frame within its last
/// `search` samples (the latest of equals), or its end when it is too short.
pub fn quietest_cut(samples: &[f32], search: usize) -> usize {
    let len = samples.len();
    if search < FRAME || len < 2 * FRAME {
        return len;
    }
    let first = len.saturating_sub(search).max(FRAME);
    let mut best = (f32::INFINITY, len);
    let mut at = first;
    while at + FRAME <= len {
        let energy: f32 = samples[at..at + FRAME].iter().map(|s| s * s).sum();
        if energy <= best.0 {
            best = (energy, at);
        }
        at += FRAME;
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{AudioHint, DecodeLimits};
    use bytes::Bytes;

    fn wav_f32(rate: u32, samples: &[f32]) -> Bytes {
        let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut out = Vec::new();
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&3u16.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&rate.to_le_bytes());
        out.extend_from_slice(&(rate * 4).to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&32u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&data);
        Bytes::from(out)
    }

    /// A 440 Hz tone with a 40 ms pause every `every` samples.
    fn speech_like(len: usize, every: usize) -> Vec<f32> {
        (0..len)
            .map(|i| {
                if i % every < 640 {
                    0.0
                } else {
                    (i as f32 * 440.0 * std::f32::consts::TAU / 16_000.0).sin() * 0.5
                }
            })
            .collect()
    }

    #[test]
    fn windows_join_to_the_whole_decode_and_are_bounded() {
        // At 16 kHz (no resampling) and at 44.1 kHz (the resampler's buffers drained
        // window by window): the same samples as one whole decode.
        for rate in [16_000, 44_100] {
            let signal = speech_like(100_000 * rate as usize / 16_000, 7_001);
            let file = wav_f32(rate, &signal);
            let hint = AudioHint::new(Some("audio/wav"), Some("a.wav"));
            let limits = DecodeLimits { max_seconds: 60.0 };
            let whole = crate::audio::decode_to_mono_16k(file.clone(), &hint, limits)
                .unwrap()
                .samples;
            let mut stream = AudioStream::open(file, &hint, limits).unwrap();
            let mut windows = Windows::new(&mut stream, 16_000, 4_000);
            let mut joined = Vec::new();
            let mut count = 0;
            while let Some(window) = windows.next_window().unwrap() {
                assert!(window.len() <= 16_000, "a window of {}", window.len());
                joined.extend(window);
                count += 1;
            }
            assert!(count >= 7, "{rate} Hz: {count} windows");
            assert_eq!(joined.len(), whole.len(), "{rate} Hz");
            assert_eq!(joined, whole, "{rate} Hz: nothing lost, nothing repeated");
        }
    }

    #[test]
    fn a_window_ends_in_the_pause_not_in_the_tone() {
        let signal = speech_like(16_000, 7_001);
        // Pauses start at 0, 7001 and 14002; the last 4000 samples hold the one at 14002.
        let cut = quietest_cut(&signal, 4_000);
        assert!(
            (14_002..14_002 + 640).contains(&cut),
            "cut at {cut}, not in the pause"
        );
        assert_eq!(quietest_cut(&signal[..100], 4_000), 100, "too short to cut");
    }
}
