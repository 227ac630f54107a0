//! Streaming conversion of mono samples at any rate to 16 kHz.
//!
//! rubato's synchronous FFT resampler is band-limited (no aliasing from 44.1 or
//! 48 kHz sources, no imaging from 8 kHz ones) and cheap for the fixed ratios of
//! common rates. It works on fixed-size chunks: input is buffered until a chunk is
//! full, the resampler's delay is dropped from the front of the output, and the
//! tail is flushed with zeros and cut to the exact expected length.

use rubato::{FftFixedInOut, Resampler};

use super::{AudioError, WHISPER_SAMPLE_RATE};

/// Desired input chunk in frames; rubato rounds it to a multiple of the ratio.
const CHUNK_FRAMES: usize = 1024;

/// Collects mono samples at `source_rate` and yields them at 16 kHz.
pub struct Mono16k {
    source_rate: u32,
    resampler: Option<FftFixedInOut<f32>>,
    pending: Vec<f32>,
    out: Vec<f32>,
    input_frames: u64,
    delay_left: usize,
    max_samples: usize,
    /// Samples already handed out by [`Mono16k::take`].
    delivered: usize,
    /// Whether the resampler's delayed tail has been pushed out.
    flushed: bool,
}

impl std::fmt::Debug for Mono16k {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mono16k")
            .field("source_rate", &self.source_rate)
            .field("input_frames", &self.input_frames)
            .field("out", &self.out.len())
            .finish()
    }
}

impl Mono16k {
    /// `max_samples` bounds the 16 kHz output; more input is [`AudioError::TooLong`].
    pub fn new(source_rate: u32, max_samples: usize) -> Result<Self, AudioError> {
        if source_rate == 0 {
            return Err(AudioError::Corrupt(
                "the stream declares a sample rate of 0".into(),
            ));
        }
        let resampler = if source_rate == WHISPER_SAMPLE_RATE {
            None
        } else {
            Some(
                FftFixedInOut::new(
                    source_rate as usize,
                    WHISPER_SAMPLE_RATE as usize,
                    CHUNK_FRAMES,
                    1,
                )
                .map_err(|e| {
                    AudioError::Corrupt(format!("cannot resample from {source_rate} Hz: {e}"))
                })?,
            )
        };
        let delay_left = resampler.as_ref().map_or(0, |r| r.output_delay());
        Ok(Self {
            source_rate,
            resampler,
            pending: Vec::new(),
            out: Vec::new(),
            input_frames: 0,
            delay_left,
            max_samples,
            delivered: 0,
            flushed: false,
        })
    }

    pub fn source_rate(&self) -> u32 {
        self.source_rate
    }

    /// 16 kHz samples the input so far amounts to.
    fn expected_len(&self) -> usize {
        let out = self.input_frames * u64::from(WHISPER_SAMPLE_RATE) / u64::from(self.source_rate);
        usize::try_from(out).unwrap_or(usize::MAX)
    }

    pub fn push(&mut self, mono: &[f32]) -> Result<(), AudioError> {
        self.input_frames += mono.len() as u64;
        if self.expected_len() > self.max_samples {
            return Err(AudioError::TooLong {
                max_seconds: self.max_samples as f64 / f64::from(WHISPER_SAMPLE_RATE),
            });
        }
        let Some(resampler) = self.resampler.as_mut() else {
            self.out.extend_from_slice(mono);
            return Ok(());
        };
        self.pending.extend_from_slice(mono);
        let chunk = resampler.input_frames_next();
        let mut start = 0;
        while self.pending.len() - start >= chunk {
            let produced = resampler
                .process(&[&self.pending[start..start + chunk]], None)
                .map_err(resample_error)?;
            start += chunk;
            keep_after_delay(&mut self.out, &mut self.delay_left, produced);
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// 16 kHz samples ready to be taken.
    pub fn ready(&self) -> usize {
        self.out.len()
    }

    /// Hands out the first `n` ready samples (fewer if fewer are ready), so the
    /// output buffer holds only what the caller has not taken yet.
    pub fn take(&mut self, n: usize) -> Vec<f32> {
        let n = n.min(self.out.len());
        let rest = self.out.split_off(n);
        let taken = std::mem::replace(&mut self.out, rest);
        self.delivered += taken.len();
        taken
    }

    /// Pushes out the resampler's delayed tail (input has ended): afterwards every
    /// sample the input amounts to is ready. Idempotent.
    pub fn flush(&mut self) -> Result<(), AudioError> {
        if self.flushed {
            return Ok(());
        }
        self.flushed = true;
        let expected = self.expected_len();
        if let Some(resampler) = self.resampler.as_mut() {
            if !self.pending.is_empty() {
                let produced = resampler
                    .process_partial(Some(&[self.pending.as_slice()][..]), None)
                    .map_err(resample_error)?;
                keep_after_delay(&mut self.out, &mut self.delay_left, produced);
                self.pending.clear();
            }
            // Push the delayed tail out with silence.
            while self.delivered + self.out.len() < expected {
                let produced = resampler
                    .process_partial::<&[f32]>(None, None)
                    .map_err(resample_error)?;
                keep_after_delay(&mut self.out, &mut self.delay_left, produced);
            }
        }
        self.out.truncate(expected.saturating_sub(self.delivered));
        Ok(())
    }

    /// The 16 kHz samples of everything pushed and not taken yet.
    pub fn finish(mut self) -> Result<Vec<f32>, AudioError> {
        self.flush()?;
        Ok(self.out)
    }
}

fn keep_after_delay(out: &mut Vec<f32>, delay_left: &mut usize, produced: Vec<Vec<f32>>) {
    for channel in produced.into_iter().take(1) {
        let skip = (*delay_left).min(channel.len());
        *delay_left -= skip;
        out.extend_from_slice(&channel[skip..]);
    }
}

fn resample_error(e: rubato::ResampleError) -> AudioError {
    AudioError::Corrupt(format!("resampling failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f32, seconds: f32) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin() * 0.5)
            .collect()
    }

    /// Amplitude of `hz` in `samples` at 16 kHz (one DFT bin, by correlation).
    fn amplitude(samples: &[f32], hz: f32) -> f32 {
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for (i, s) in samples.iter().enumerate() {
            let phase = 2.0 * std::f64::consts::PI * f64::from(hz) * i as f64 / 16_000.0;
            re += f64::from(*s) * phase.cos();
            im += f64::from(*s) * phase.sin();
        }
        (2.0 * (re * re + im * im).sqrt() / samples.len() as f64) as f32
    }

    fn resample_in_pieces(rate: u32, input: &[f32], piece: usize) -> Vec<f32> {
        let mut r = Mono16k::new(rate, usize::MAX).unwrap();
        for part in input.chunks(piece) {
            r.push(part).unwrap();
        }
        r.finish().unwrap()
    }

    #[test]
    fn common_rates_keep_length_pitch_and_level() {
        for rate in [8_000, 16_000, 22_050, 44_100, 48_000] {
            let out = resample_in_pieces(rate, &tone(rate, 440.0, 1.0), 777);
            assert_eq!(out.len(), 16_000, "{rate} Hz");
            // Away from the edges, the 440 Hz tone is intact and nothing else is there.
            let middle = &out[2_000..14_000];
            let a440 = amplitude(middle, 440.0);
            assert!((a440 - 0.5).abs() < 0.02, "{rate} Hz: 440 Hz at {a440}");
            assert!(amplitude(middle, 1_000.0) < 0.01, "{rate} Hz: leakage");
        }
    }

    #[test]
    fn content_above_8_khz_is_filtered_not_aliased() {
        // A 12 kHz tone at 48 kHz cannot exist at 16 kHz; it must not fold to 4 kHz.
        let out = resample_in_pieces(48_000, &tone(48_000, 12_000.0, 1.0), 4_096);
        let middle = &out[2_000..14_000];
        assert!(amplitude(middle, 4_000.0) < 0.01, "aliased into 4 kHz");
    }

    #[test]
    fn the_alignment_does_not_drift_with_the_chunking() {
        let input = tone(44_100, 300.0, 0.5);
        let a = resample_in_pieces(44_100, &input, 1);
        let b = resample_in_pieces(44_100, &input, 100_000);
        assert_eq!(a.len(), b.len());
        let max_diff = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(max_diff < 1e-5, "{max_diff}");
    }

    #[test]
    fn output_beyond_the_limit_is_too_long() {
        let mut r = Mono16k::new(8_000, 16_000).unwrap();
        r.push(&vec![0.0; 8_000]).unwrap();
        assert!(matches!(
            r.push(&[0.0; 10]),
            Err(AudioError::TooLong { .. })
        ));
        assert!(matches!(Mono16k::new(0, 1), Err(AudioError::Corrupt(_))));
    }
}
