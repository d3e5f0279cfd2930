//! A running 64-bit digest of a message, for echoes too large to hold.
//!
//! A 16 MiB echo is compared with what wsspec sent by length and digest, both computed
//! while the bytes pass, so neither side of the comparison is ever held whole. The digest
//! only has to tell an honest echo from a damaged one, not resist a forger, so it is a
//! plain word-at-a-time mix: every step `state -> rotl((state ^ word) * K, 29)` is a
//! bijection of the state for a fixed word, so any change confined to one 8-byte word (one
//! byte flipped, say) always changes the result; other damage collides with probability
//! about 2^-64. The result does not depend on how the bytes were split into chunks.

const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// A streaming digest: feed chunks of any size, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    state: u64,
    /// Bytes of an incomplete word carried to the next chunk.
    tail: [u8; 8],
    tail_len: usize,
    len: u64,
}

impl Default for Digest {
    fn default() -> Self {
        Digest::new()
    }
}

impl Digest {
    pub fn new() -> Digest {
        Digest {
            state: 0x243F_6A88_85A3_08D3,
            tail: [0; 8],
            tail_len: 0,
            len: 0,
        }
    }

    #[inline]
    fn word(&mut self, w: u64) {
        self.state = (self.state ^ w).wrapping_mul(K).rotate_left(29);
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.tail_len > 0 {
            let take = (8 - self.tail_len).min(data.len());
            self.tail[self.tail_len..self.tail_len + take].copy_from_slice(&data[..take]);
            self.tail_len += take;
            data = &data[take..];
            if self.tail_len < 8 {
                return;
            }
            self.word(u64::from_le_bytes(self.tail));
            self.tail_len = 0;
        }
        let mut words = data.chunks_exact(8);
        for w in &mut words {
            self.word(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        let rest = words.remainder();
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len = rest.len();
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest of everything fed, length included (so trailing zero bytes count).
    pub fn finish(&self) -> u64 {
        let mut d = self.clone();
        if d.tail_len > 0 {
            let mut last = [0u8; 8];
            last[..d.tail_len].copy_from_slice(&d.tail[..d.tail_len]);
            d.word(u64::from_le_bytes(last));
        }
        d.word(self.len);
        d.state
    }

    /// The digest of `data` in one go.
    pub fn of(data: &[u8]) -> u64 {
        let mut d = Digest::new();
        d.update(data);
        d.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunking_does_not_change_the_digest() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        let whole = Digest::of(&data);
        for split in [1, 3, 7, 8, 9, 500] {
            let mut d = Digest::new();
            for c in data.chunks(split) {
                d.update(c);
            }
            assert_eq!(d.finish(), whole, "chunks of {split}");
            assert_eq!(d.len(), 1000);
        }
    }

    #[test]
    fn one_changed_byte_or_a_missing_zero_changes_the_digest() {
        let data = vec![0x2au8; 4096];
        let whole = Digest::of(&data);
        for at in [0, 1, 7, 8, 2000, 4095] {
            let mut bad = data.clone();
            bad[at] ^= 0x01;
            assert_ne!(Digest::of(&bad), whole, "byte {at}");
        }
        assert_ne!(Digest::of(&[0, 0, 0]), Digest::of(&[0, 0]));
        assert_ne!(Digest::of(&[]), Digest::of(&[0]));
    }
}
