//! 16-bit PCM WAV: float audio in -1..1 to the bytes `/tts` answers with.

/// Bytes of the canonical 44-byte RIFF/WAVE header (`fmt ` chunk of 16 bytes).
pub const HEADER_BYTES: usize = 44;

/// Converts float samples (nominally -1..1; clipped beyond) to 16-bit PCM the way
/// Piper does (scale by 32767, truncate toward zero), so its output is reproduced.
pub fn to_pcm16(samples: &[f32]) -> Vec<i16> {
    samples
        .iter()
        .map(|&s| {
            // NaN (never expected from a model) becomes silence, not a click.
            let s = if s.is_nan() { 0.0 } else { s.clamp(-1.0, 1.0) };
            (s * f32::from(i16::MAX)) as i16
        })
        .collect()
}

/// A mono 16-bit PCM WAV file of `samples` at `sample_rate` Hz.
pub fn encode_mono_pcm16(samples: &[i16], sample_rate: u32) -> Vec<u8> {
    const CHANNELS: u16 = 1;
    const BITS: u16 = 16;
    let block_align = CHANNELS * BITS / 8;
    let byte_rate = sample_rate * u32::from(block_align);
    // A WAV cannot describe more than u32::MAX bytes; /tts texts are far below.
    let data_bytes = u32::try_from(samples.len() * usize::from(block_align)).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(HEADER_BYTES + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36u32.saturating_add(data_bytes)).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&CHANNELS.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&byte_rate.to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&BITS.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_bytes.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(b: &[u8], i: usize) -> u16 {
        u16::from_le_bytes([b[i], b[i + 1]])
    }

    fn u32_at(b: &[u8], i: usize) -> u32 {
        u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
    }

    #[test]
    fn header_describes_mono_pcm16_and_the_data_follows() {
        let wav = encode_mono_pcm16(&[0, 1, -1, i16::MAX, i16::MIN], 22050);
        assert_eq!(&wav[0..4], b"RIFF");
        assert_eq!(u32_at(&wav, 4) as usize, wav.len() - 8);
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        assert_eq!(u32_at(&wav, 16), 16);
        assert_eq!(u16_at(&wav, 20), 1, "PCM");
        assert_eq!(u16_at(&wav, 22), 1, "mono");
        assert_eq!(u32_at(&wav, 24), 22050);
        assert_eq!(u32_at(&wav, 28), 44100, "byte rate");
        assert_eq!(u16_at(&wav, 32), 2, "block align");
        assert_eq!(u16_at(&wav, 34), 16, "bits");
        assert_eq!(&wav[36..40], b"data");
        assert_eq!(u32_at(&wav, 40), 10);
        assert_eq!(wav.len(), HEADER_BYTES + 10);
        assert_eq!(u16_at(&wav, 44 + 6) as i16, i16::MAX);
        assert_eq!(u16_at(&wav, 44 + 8) as i16, i16::MIN);
    }

    #[test]
    fn floats_are_scaled_and_clipped() {
        assert_eq!(
            to_pcm16(&[0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, f32::NAN]),
            vec![0, 16383, -16383, 32767, -32767, 32767, -32767, 0]
        );
    }
}
