//! The hash functions spaCy and thinc use: MurmurHash64A for strings, thinc's MurmurHash3 for embedding rows.

/// spaCy's `hash_string`: MurmurHash64A over the UTF-8 bytes with seed 1.
pub fn hash_string(s: &str) -> u64 {
    murmur64a(s.as_bytes(), 1)
}

/// MurmurHash64A (Austin Appleby), as in the `murmurhash` package's `hash64`.
pub fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let len = key.len();
    let mut h: u64 = seed ^ (len as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for chunk in &mut chunks {
        let mut k = u64::from_le_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// thinc's `MurmurHash3_x86_128_uint64`: four 32-bit keys for one 64-bit id.
pub fn thinc_hash(val: u64, seed: u32) -> [u32; 4] {
    let fmix = |mut k: u64| {
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        k ^= k >> 33;
        k
    };
    let mut h1 = val.wrapping_mul(0x87c3_7b91_1142_53d5);
    h1 = h1.rotate_left(31);
    h1 = h1.wrapping_mul(0x4cf5_ad43_2745_937f);
    h1 ^= u64::from(seed);
    h1 ^= 8;
    let mut h2 = u64::from(seed) ^ 8;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    [h1 as u32, (h1 >> 32) as u32, h2 as u32, (h2 >> 32) as u32]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by spaCy's `hash_string` and thinc's `NumpyOps().hash`.
    #[test]
    fn matches_spacy_and_thinc() {
        assert_eq!(hash_string("noun"), 16833663260455505849);
        assert_eq!(hash_string("adj"), 12401032943472870168);
        assert_eq!(hash_string(""), 14313749767032693980);
        assert_eq!(hash_string("héllo"), 3824679941704047990);
        assert_eq!(
            thinc_hash(123, 8),
            [3090227956, 991495318, 340374638, 1487242978]
        );
        assert_eq!(
            thinc_hash((1u64 << 63) + 5, 8),
            [742987760, 4031305880, 1114481640, 3899475172]
        );
    }
}
