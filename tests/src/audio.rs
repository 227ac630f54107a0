//! Test audio written here rather than shipped: a mono 16 kHz FLAC of digital
//! silence (CONSTANT subframes, ~12 bytes per 4096 samples, so an hour is ~170 KB)
//! and an 8-bit 8 kHz WAV of quiet noise (the most seconds a byte limit admits).

/// Samples per FLAC frame.
const BLOCK: u64 = 4096;
const RATE: u32 = 16_000;

/// A FLAC file of at least `seconds` of silence at 16 kHz, 16-bit, mono (whole
/// frames: up to 0.26 s more).
pub fn silent_flac(seconds: f64) -> Vec<u8> {
    let frames = ((seconds * f64::from(RATE)) as u64).div_ceil(BLOCK);
    let total = frames * BLOCK;
    let mut out = b"fLaC".to_vec();
    // STREAMINFO, the last metadata block, 34 bytes.
    out.extend_from_slice(&[0x80, 0, 0, 34]);
    out.extend_from_slice(&(BLOCK as u16).to_be_bytes());
    out.extend_from_slice(&(BLOCK as u16).to_be_bytes());
    out.extend_from_slice(&[0; 6]); // frame sizes unknown
    // 20 bits rate, 3 bits channels - 1, 5 bits bits per sample - 1, 36 bits samples.
    let packed: u64 = (u64::from(RATE) << 44) | (15 << 36) | total;
    out.extend_from_slice(&packed.to_be_bytes());
    out.extend_from_slice(&[0; 16]); // MD5 unknown
    for number in 0..frames {
        let start = out.len();
        // Sync, fixed blocking; 4096 samples (0b1100), 16 kHz (0b0101); mono, 16-bit.
        out.extend_from_slice(&[0xFF, 0xF8, 0xC5, 0x08]);
        utf8_number(number, &mut out);
        let crc = crc8(&out[start..]);
        out.push(crc);
        // CONSTANT subframe of value 0.
        out.extend_from_slice(&[0x00, 0x00, 0x00]);
        let crc = crc16(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    out
}

/// A WAV of `seconds` of quiet noise, 8 kHz, 8-bit unsigned, mono (8,000 bytes a second).
pub fn noise_wav_8k(seconds: u32) -> Vec<u8> {
    let len = 8_000 * seconds;
    let mut out = Vec::with_capacity(44 + len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&8_000u32.to_le_bytes());
    out.extend_from_slice(&8_000u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&len.to_le_bytes());
    let mut state = 0x2545_f491_u32;
    out.extend((0..len).map(|_| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        126 + (state % 5) as u8
    }));
    out
}

/// FLAC's UTF-8-like coding of a frame number (up to 2^21 frames here).
fn utf8_number(n: u64, out: &mut Vec<u8>) {
    if n < 0x80 {
        out.push(n as u8);
    } else if n < 0x800 {
        out.extend_from_slice(&[0xC0 | (n >> 6) as u8, 0x80 | (n & 0x3F) as u8]);
    } else if n < 0x10000 {
        out.extend_from_slice(&[
            0xE0 | (n >> 12) as u8,
            0x80 | ((n >> 6) & 0x3F) as u8,
            0x80 | (n & 0x3F) as u8,
        ]);
    } else {
        out.extend_from_slice(&[
            0xF0 | (n >> 18) as u8,
            0x80 | ((n >> 12) & 0x3F) as u8,
            0x80 | ((n >> 6) & 0x3F) as u8,
            0x80 | (n & 0x3F) as u8,
        ]);
    }
}

fn crc8(bytes: &[u8]) -> u8 {
    let mut crc = 0u8;
    for &b in bytes {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn crc16(bytes: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x8005
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_of_silence_is_a_small_file() {
        let flac = silent_flac(3600.0);
        assert!(flac.len() < 200_000, "{}", flac.len());
        assert_eq!(&flac[..4], b"fLaC");
        assert_eq!(noise_wav_8k(2).len(), 44 + 16_000);
    }

    #[test]
    fn crcs_match_flac_check_values() {
        // CRC-8/ATM (poly 7) and CRC-16/UMTS (poly 0x8005) check values of "123456789".
        assert_eq!(crc8(b"123456789"), 0xF4);
        assert_eq!(crc16(b"123456789"), 0xFEE8);
    }
}
