//! Payload masking (RFC 6455 §5.3).
//!
//! Masking is an XOR with a 4-byte key repeated over the payload, so it is
//! its own inverse. It sits on the hot path for every byte a client sends
//! or a server receives, hence the block-at-a-time loop.

/// XORs `buf` with `key`, where `buf` starts at position `offset` of the
/// payload (RFC 6455 §5.3: octet i is XORed with key octet `i MOD 4`).
///
/// Taking the payload position lets callers mask or unmask a payload in
/// chunks as it streams, instead of buffering the whole frame first.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    // Rotate the key so that rotated[0] applies to buf[0]; from then on every 32-byte
    // block starts on a key boundary (32 is a multiple of 4). A fixed-size block XOR is
    // what the compiler turns into vector instructions (two 16-byte XORs with SSE2).
    let shift = offset % 4;
    let rotated: [u8; 4] = std::array::from_fn(|i| key[(i + shift) % 4]);
    let wide: [u8; 32] = std::array::from_fn(|i| rotated[i % 4]);

    let mut blocks = buf.chunks_exact_mut(32);
    for block in &mut blocks {
        for (b, k) in block.iter_mut().zip(wide.iter()) {
            *b ^= k;
        }
    }
    for (b, k) in blocks.into_remainder().iter_mut().zip(wide.iter()) {
        *b ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[offset.wrapping_add(i) % 4];
        }
    }

    #[quickcheck_macros::quickcheck]
    fn twice_is_identity(data: Vec<u8>, key: [u8; 4], offset: usize) -> bool {
        let mut buf = data.clone();
        apply_mask(&mut buf, key, offset);
        apply_mask(&mut buf, key, offset);
        buf == data
    }

    #[quickcheck_macros::quickcheck]
    fn matches_naive(data: Vec<u8>, key: [u8; 4], offset: usize) -> bool {
        let mut fast = data.clone();
        let mut slow = data;
        apply_mask(&mut fast, key, offset);
        naive(&mut slow, key, offset);
        fast == slow
    }

    #[quickcheck_macros::quickcheck]
    fn chunked_equals_one_shot(data: Vec<u8>, key: [u8; 4], sizes: Vec<u8>) -> bool {
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        let mut parts = data;
        let mut pos = 0;
        let mut k = 0;
        while pos < parts.len() {
            let n = sizes
                .get(k)
                .map_or(parts.len(), |&s| usize::from(s % 13))
                .min(parts.len() - pos);
            apply_mask(&mut parts[pos..pos + n], key, pos);
            pos += n;
            k += 1;
        }
        parts == whole
    }

    #[test]
    fn every_short_length_at_every_offset() {
        let key = [0x37, 0xFA, 0x21, 0x3D];
        for len in 0..=33 {
            for offset in 0..4 {
                let data: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(31)).collect();
                let mut fast = data.clone();
                let mut slow = data;
                apply_mask(&mut fast, key, offset);
                naive(&mut slow, key, offset);
                assert_eq!(fast, slow, "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn rfc_example_key() {
        // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
        let mut buf = *b"Hello";
        apply_mask(&mut buf, [0x37, 0xFA, 0x21, 0x3D], 0);
        assert_eq!(buf, [0x7F, 0x9F, 0x4D, 0x51, 0x58]);
    }
}
