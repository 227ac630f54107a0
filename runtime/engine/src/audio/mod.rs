//! Audio in: any container and codec symphonia knows (WAV with 8/16/24/32-bit
//! integer or float PCM, FLAC, MP3, Ogg Vorbis), at any sample rate and channel
//! count, decoded packet by packet into the 16 kHz mono `f32` samples Whisper
//! expects. Channels are averaged; the rate is converted with a band-limited FFT
//! resampler (`resample`). Decoding streams ([`AudioStream`]): the length is checked
//! before anything is kept, and transcription reads the audio in bounded windows
//! ([`window`]), so a request's memory does not grow with the audio's duration.

mod decode;
mod resample;
pub mod window;

pub use decode::{AudioStream, decode_to_mono_16k};
pub use resample::Mono16k;
pub use window::Windows;

/// The sample rate Whisper models take.
pub const WHISPER_SAMPLE_RATE: u32 = 16_000;

/// What the caller knows about the upload, to help the format probe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudioHint {
    /// The upload's content type, e.g. `audio/mpeg`.
    pub mime_type: Option<String>,
    /// The file name's extension, e.g. `flac`.
    pub extension: Option<String>,
}

impl AudioHint {
    /// A hint from an upload's content type and file name.
    pub fn new(content_type: Option<&str>, file_name: Option<&str>) -> Self {
        let extension = file_name
            .and_then(|name| std::path::Path::new(name).extension())
            .and_then(|ext| ext.to_str())
            .map(str::to_ascii_lowercase);
        Self {
            mime_type: content_type.map(|c| c.trim().to_ascii_lowercase()),
            extension,
        }
    }
}

/// Bounds on one decoded upload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeLimits {
    /// Longest audio accepted, in seconds; longer is [`AudioError::TooLong`].
    pub max_seconds: f64,
}

/// Decoded audio: 16 kHz mono samples, and what the source was.
#[derive(Debug, Clone, PartialEq)]
pub struct Pcm16k {
    pub samples: Vec<f32>,
    pub source_rate: u32,
    pub source_channels: usize,
}

impl Pcm16k {
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(WHISPER_SAMPLE_RATE)
    }
}

/// Why an upload cannot be turned into samples. Each is the client's problem (a
/// 400, or a 413 for [`AudioError::TooLong`]), never a server error.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AudioError {
    #[error("The audio file is empty")]
    EmptyFile,
    #[error("Unsupported or unrecognised audio format ({0}); send WAV, FLAC, MP3 or Ogg Vorbis")]
    UnknownFormat(String),
    #[error("The audio file holds no decodable audio track")]
    NoTrack,
    #[error("Unsupported audio codec: {0}")]
    UnsupportedCodec(String),
    #[error("Could not decode the audio: {0}")]
    Corrupt(String),
    #[error("The audio holds no samples")]
    NoSamples,
    #[error("The audio is longer than the limit of {max_seconds} seconds")]
    TooLong { max_seconds: f64 },
    #[error(
        "Unsupported sample rate {rate} Hz: send audio sampled between {} and {} Hz",
        SAMPLE_RATES.start(),
        SAMPLE_RATES.end()
    )]
    UnsupportedSampleRate { rate: u32 },
}

/// Sample rates accepted (telephone 8 kHz to studio 384 kHz). A header declaring another
/// (a corrupt or hostile one says 537 MHz) would make resampling cost minutes of CPU for
/// a few kilobytes of upload; found by `tests/fuzz_audio.rs`.
pub const SAMPLE_RATES: std::ops::RangeInclusive<u32> = 8_000..=384_000;
