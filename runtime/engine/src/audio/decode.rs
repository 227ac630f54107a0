//! Container probe and packet decoding with symphonia, feeding the resampler.

use std::io::{Cursor, ErrorKind};

use bytes::Bytes;
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::{
    AudioError, AudioHint, DecodeLimits, Mono16k, Pcm16k, SAMPLE_RATES, WHISPER_SAMPLE_RATE,
};

/// Decodes a whole upload to 16 kHz mono (see [`AudioStream`]; transcription reads
/// it in windows instead, so its memory does not grow with the audio's length).
pub fn decode_to_mono_16k(
    bytes: Bytes,
    hint: &AudioHint,
    limits: DecodeLimits,
) -> Result<Pcm16k, AudioError> {
    let mut stream = AudioStream::open(bytes, hint, limits)?;
    let samples = stream.next_samples(usize::MAX)?.unwrap_or_default();
    Ok(Pcm16k {
        samples,
        source_rate: stream.source_rate(),
        source_channels: stream.source_channels(),
    })
}

/// A container's reader and its first audio track's decoder.
struct Opened {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    /// The container's own account of its length (FLAC's STREAMINFO, WAV's data
    /// size, an MP3's Xing frame count), when it gives one.
    declared_seconds: Option<f64>,
}

fn open(bytes: Bytes, hint: &AudioHint) -> Result<Opened, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::EmptyFile);
    }
    let source = MediaSourceStream::new(
        Box::new(Cursor::new(bytes)),
        MediaSourceStreamOptions::default(),
    );
    let mut probe_hint = Hint::new();
    if let Some(ext) = &hint.extension {
        probe_hint.with_extension(ext);
    }
    if let Some(mime) = &hint.mime_type {
        probe_hint.mime_type(mime);
    }
    let probed = symphonia::default::get_probe()
        .format(
            &probe_hint,
            source,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| AudioError::UnknownFormat(describe(&e)))?;
    let format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or(AudioError::NoTrack)?;
    if let Some(rate) = track.codec_params.sample_rate
        && !SAMPLE_RATES.contains(&rate)
    {
        return Err(AudioError::UnsupportedSampleRate { rate });
    }
    let declared_seconds = match (track.codec_params.n_frames, track.codec_params.sample_rate) {
        (Some(frames), Some(rate)) if rate > 0 => Some(frames as f64 / f64::from(rate)),
        _ => None,
    };
    let decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| AudioError::UnsupportedCodec(describe(&e)))?;
    Ok(Opened {
        track_id: track.id,
        format,
        decoder,
        declared_seconds,
    })
}

/// One step of decoding.
enum Step {
    /// A packet of interleaved frames was decoded into the sample buffer.
    Frames,
    /// A packet of another track, or an undecodable one (skipped as players do).
    Skipped,
    End,
}

/// An upload opened for decoding, read as 16 kHz mono samples a piece at a time:
/// only the compressed upload, one packet and the samples not taken yet are held.
/// Corrupt packets inside an otherwise readable stream are skipped; a stream of
/// which no packet decodes is an error.
pub struct AudioStream {
    opened: Opened,
    max_samples: usize,
    output: Option<(Mono16k, usize)>,
    buffer: Option<SampleBuffer<f32>>,
    mono: Vec<f32>,
    bad_packets: usize,
    last_error: String,
    ended: bool,
    delivered: usize,
}

impl std::fmt::Debug for AudioStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioStream")
            .field("delivered", &self.delivered)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl AudioStream {
    /// Probes the container and checks the audio's length against the limit before
    /// any of it is kept: the length the container declares, or, when it declares
    /// none, a first pass that decodes and counts without keeping samples. Longer
    /// audio is [`AudioError::TooLong`] before any inference can start.
    pub fn open(bytes: Bytes, hint: &AudioHint, limits: DecodeLimits) -> Result<Self, AudioError> {
        let too_long = || AudioError::TooLong {
            max_seconds: limits.max_seconds,
        };
        let opened = open(bytes.clone(), hint)?;
        match opened.declared_seconds {
            Some(seconds) if seconds > limits.max_seconds => return Err(too_long()),
            Some(_) => {}
            None => {
                if counted_seconds(open(bytes, hint)?)? > limits.max_seconds {
                    return Err(too_long());
                }
            }
        }
        Ok(Self {
            opened,
            max_samples: (limits.max_seconds * f64::from(WHISPER_SAMPLE_RATE)) as usize,
            output: None,
            buffer: None,
            mono: Vec::new(),
            bad_packets: 0,
            last_error: String::new(),
            ended: false,
            delivered: 0,
        })
    }

    /// The source's sample rate (0 before the first packet decoded).
    pub fn source_rate(&self) -> u32 {
        self.output.as_ref().map_or(0, |(r, _)| r.source_rate())
    }

    pub fn source_channels(&self) -> usize {
        self.output.as_ref().map_or(0, |(_, c)| *c)
    }

    /// The next `want` samples at 16 kHz, fewer at the end of the audio; `None` once
    /// everything was taken. An upload without a single sample is an error.
    pub fn next_samples(&mut self, want: usize) -> Result<Option<Vec<f32>>, AudioError> {
        loop {
            if let Some((resampler, _)) = self.output.as_mut()
                && (resampler.ready() >= want || self.ended)
            {
                if self.ended {
                    resampler.flush()?;
                }
                let piece = resampler.take(want);
                self.delivered += piece.len();
                if piece.is_empty() {
                    return if self.delivered == 0 {
                        Err(AudioError::NoSamples)
                    } else {
                        Ok(None)
                    };
                }
                return Ok(Some(piece));
            }
            if self.ended {
                // Ended before a single packet decoded.
                return Err(if self.bad_packets > 0 {
                    AudioError::Corrupt(self.last_error.clone())
                } else {
                    AudioError::NoSamples
                });
            }
            match self.step()? {
                Step::Frames => self.push_frames()?,
                Step::Skipped => {}
                Step::End => {
                    self.ended = true;
                    if self.bad_packets > 0 {
                        tracing::debug!(
                            bad_packets = self.bad_packets,
                            error = %self.last_error,
                            "skipped undecodable audio packets"
                        );
                    }
                }
            }
        }
    }

    /// Reads and decodes one packet into the sample buffer.
    fn step(&mut self) -> Result<Step, AudioError> {
        let started = self.output.is_some();
        let Opened {
            format,
            decoder,
            track_id,
            ..
        } = &mut self.opened;
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                return Ok(Step::End);
            }
            Err(SymphoniaError::ResetRequired) => return Ok(Step::End),
            Err(e @ SymphoniaError::DecodeError(_)) if started => {
                // A damaged tail after good audio: keep what decoded.
                self.last_error = describe(&e);
                return Ok(Step::End);
            }
            Err(e) => return Err(AudioError::Corrupt(describe(&e))),
        };
        if packet.track_id() != *track_id {
            return Ok(Step::Skipped);
        }
        let decoded = match decoder.decode(&packet) {
            Ok(decoded) => decoded,
            Err(e @ SymphoniaError::DecodeError(_)) => {
                self.bad_packets += 1;
                self.last_error = describe(&e);
                return Ok(Step::Skipped);
            }
            Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                return Ok(Step::End);
            }
            Err(e) => return Err(AudioError::Corrupt(describe(&e))),
        };
        let spec = *decoded.spec();
        let channels = spec.channels.count().max(1);
        let needed = decoded.capacity() as u64;
        if self
            .buffer
            .as_ref()
            .is_none_or(|b| (b.capacity() as u64) < needed * channels as u64)
        {
            self.buffer = Some(SampleBuffer::new(needed, spec));
        }
        if let Some(buffer) = self.buffer.as_mut() {
            buffer.copy_interleaved_ref(decoded);
        }
        match self.output.as_ref() {
            None => self.output = Some((Mono16k::new(spec.rate, self.max_samples)?, channels)),
            Some((resampler, stream_channels))
                if spec.rate != resampler.source_rate() || channels != *stream_channels =>
            {
                return Err(AudioError::Corrupt(
                    "the sample rate or channel count changes within the stream".into(),
                ));
            }
            Some(_) => {}
        }
        Ok(Step::Frames)
    }

    /// Averages the decoded packet's channels and feeds the resampler.
    fn push_frames(&mut self) -> Result<(), AudioError> {
        let (Some((resampler, channels)), Some(buffer)) =
            (self.output.as_mut(), self.buffer.as_ref())
        else {
            return Ok(());
        };
        let channels = *channels;
        self.mono.clear();
        self.mono.extend(
            buffer
                .samples()
                .chunks_exact(channels)
                .map(|frame| frame.iter().sum::<f32>() / channels as f32),
        );
        resampler.push(&self.mono)
    }
}

/// Seconds of audio in a stream whose container declares no length: every packet
/// decoded, its frames counted, nothing kept.
fn counted_seconds(mut opened: Opened) -> Result<f64, AudioError> {
    let mut frames = 0u64;
    let mut rate = 0u32;
    loop {
        let packet = match opened.format.next_packet() {
            Ok(packet) => packet,
            Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(SymphoniaError::ResetRequired | SymphoniaError::DecodeError(_)) => break,
            Err(e) => return Err(AudioError::Corrupt(describe(&e))),
        };
        if packet.track_id() != opened.track_id {
            continue;
        }
        // Undecodable packets are skipped here as in the real pass.
        if let Ok(decoded) = opened.decoder.decode(&packet) {
            frames += decoded.frames() as u64;
            rate = decoded.spec().rate;
        }
    }
    Ok(if rate == 0 {
        0.0
    } else {
        frames as f64 / f64::from(rate)
    })
}

fn describe(e: &SymphoniaError) -> String {
    match e {
        SymphoniaError::IoError(io) if io.kind() == ErrorKind::UnexpectedEof => {
            "the stream ends early".into()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DecodeLimits = DecodeLimits { max_seconds: 60.0 };

    /// A canonical WAV file: `format` 1 (integer PCM) or 3 (float), interleaved data.
    fn wav(format: u16, rate: u32, channels: u16, bits: u16, data: &[u8]) -> Bytes {
        let block = channels * bits / 8;
        let mut out = Vec::new();
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&format.to_le_bytes());
        out.extend_from_slice(&channels.to_le_bytes());
        out.extend_from_slice(&rate.to_le_bytes());
        out.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
        out.extend_from_slice(&block.to_le_bytes());
        out.extend_from_slice(&bits.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        Bytes::from(out)
    }

    #[test]
    fn a_sample_rate_outside_the_accepted_range_is_refused_at_once() {
        let samples: Vec<u8> = vec![0; 800];
        for rate in [536_887_936, 400_000, 7_999] {
            let err =
                decode_to_mono_16k(wav(1, rate, 1, 16, &samples), &AudioHint::default(), LIMITS)
                    .expect_err("refused");
            assert!(
                matches!(err, AudioError::UnsupportedSampleRate { rate: r } if r == rate),
                "{err}"
            );
            assert!(
                err.to_string().contains("between 8000 and 384000 Hz"),
                "{err}"
            );
        }
        for rate in [8_000, 44_100, 384_000] {
            decode_to_mono_16k(wav(1, rate, 1, 16, &samples), &AudioHint::default(), LIMITS)
                .unwrap_or_else(|e| panic!("{rate} Hz: {e}"));
        }
    }

    #[test]
    fn a_header_declaring_more_than_the_limit_is_refused_before_decoding() {
        // Two seconds of samples, but the data chunk says it holds two hours.
        let samples: Vec<u8> = vec![0; 16_000 * 2 * 2];
        let mut file = wav(1, 16_000, 1, 16, &samples).to_vec();
        let declared: u32 = 16_000 * 2 * 7_200;
        file[40..44].copy_from_slice(&declared.to_le_bytes());
        file[4..8].copy_from_slice(&(36 + declared).to_le_bytes());
        let err = decode_to_mono_16k(Bytes::from(file), &hint("wav"), LIMITS).unwrap_err();
        assert_eq!(err, AudioError::TooLong { max_seconds: 60.0 });
        // The same audio with an honest header decodes: the header made the difference.
        let honest = wav(1, 16_000, 1, 16, &samples);
        let pcm = decode_to_mono_16k(honest, &hint("wav"), LIMITS).unwrap();
        assert_eq!(pcm.samples.len(), 32_000);
    }

    #[test]
    fn a_stream_without_a_declared_length_is_measured_by_counting() {
        // What `open` does when the container declares no length: decode and count.
        let samples: Vec<u8> = vec![0; 44_100 * 2 * 3];
        let file = wav(1, 44_100, 1, 16, &samples);
        let seconds = counted_seconds(open(file, &hint("wav")).unwrap()).unwrap();
        assert!((seconds - 3.0).abs() < 1e-9, "{seconds}");
    }

    fn ramp(n: usize) -> Vec<f32> {
        (0..n).map(|i| (i as f32 / n as f32) - 0.5).collect()
    }

    fn hint(ext: &str) -> AudioHint {
        AudioHint::new(Some("audio/wav"), Some(&format!("clip.{ext}")))
    }

    #[test]
    fn every_pcm_width_decodes_to_the_same_signal() {
        let signal = ramp(1_600);
        let f32_le: Vec<u8> = signal.iter().flat_map(|s| s.to_le_bytes()).collect();
        let i16_le: Vec<u8> = signal
            .iter()
            .flat_map(|s| ((s * 32_767.0) as i16).to_le_bytes())
            .collect();
        let i24_le: Vec<u8> = signal
            .iter()
            .flat_map(|s| {
                let v = (s * 8_388_607.0) as i32;
                v.to_le_bytes()[..3].to_vec()
            })
            .collect();
        let i32_le: Vec<u8> = signal
            .iter()
            .flat_map(|s| ((f64::from(*s) * 2_147_483_647.0) as i32).to_le_bytes())
            .collect();
        let u8_pcm: Vec<u8> = signal.iter().map(|s| (s * 127.0 + 128.0) as u8).collect();
        let cases = [
            ("float32", wav(3, 16_000, 1, 32, &f32_le), 1e-6),
            ("int16", wav(1, 16_000, 1, 16, &i16_le), 1e-4),
            ("int24", wav(1, 16_000, 1, 24, &i24_le), 1e-6),
            ("int32", wav(1, 16_000, 1, 32, &i32_le), 1e-6),
            ("uint8", wav(1, 16_000, 1, 8, &u8_pcm), 2e-2),
        ];
        for (name, file, tolerance) in cases {
            let pcm = decode_to_mono_16k(file, &hint("wav"), LIMITS).unwrap();
            assert_eq!(pcm.samples.len(), signal.len(), "{name}");
            let max_diff = pcm
                .samples
                .iter()
                .zip(&signal)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(max_diff <= tolerance, "{name}: {max_diff}");
        }
    }

    #[test]
    fn stereo_is_averaged_and_other_rates_resampled() {
        let frames = 4_410;
        let data: Vec<u8> = (0..frames)
            .flat_map(|_| {
                let mut frame = 0.5f32.to_le_bytes().to_vec();
                frame.extend_from_slice(&(-0.1f32).to_le_bytes());
                frame
            })
            .collect();
        let pcm = decode_to_mono_16k(wav(3, 44_100, 2, 32, &data), &hint("wav"), LIMITS).unwrap();
        assert_eq!(pcm.source_rate, 44_100);
        assert_eq!(pcm.source_channels, 2);
        assert_eq!(pcm.samples.len(), 1_600);
        let middle = &pcm.samples[400..1_200];
        assert!(
            middle.iter().all(|s| (s - 0.2).abs() < 0.01),
            "{:?}",
            &middle[..4]
        );
    }

    #[test]
    fn bad_uploads_are_client_errors_with_a_reason() {
        let garbage: Vec<u8> = (0u32..4_096)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let cases = [
            (Bytes::new(), AudioError::EmptyFile),
            (
                Bytes::from_static(b"this is a text file, not audio\n"),
                AudioError::UnknownFormat(String::new()),
            ),
            (
                Bytes::from(garbage),
                AudioError::UnknownFormat(String::new()),
            ),
            (wav(1, 16_000, 1, 16, &[]), AudioError::NoSamples),
        ];
        for (file, expected) in cases {
            let err = decode_to_mono_16k(file, &hint("wav"), LIMITS).unwrap_err();
            assert_eq!(
                std::mem::discriminant(&err),
                std::mem::discriminant(&expected),
                "{err}"
            );
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn audio_over_the_duration_limit_is_too_long() {
        let data = vec![0u8; 16_000 * 2 * 3];
        let err = decode_to_mono_16k(
            wav(1, 16_000, 1, 16, &data),
            &hint("wav"),
            DecodeLimits { max_seconds: 2.0 },
        )
        .unwrap_err();
        assert_eq!(err, AudioError::TooLong { max_seconds: 2.0 });
    }
}
