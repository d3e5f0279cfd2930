//! A running 64-bit digest of a message, for echoes too large to hold.
//!
//! A 16 MiB echo is compared with what wsspec sent by length and digest, both computed
//! while the bytes pass, so neither side of the comparison is ever held whole. The digest
//! only has to tell an honest echo from a damaged one, not resist a forger, so it is a
//! plain word-at-a-time mix in four lanes: every step `state -> rotl((state ^ word) * K, 29)`
//! is a bijection of the state for a fixed word, and so is every fold of the lanes into the
//! result, so any change confined to one 8-byte word (one byte flipped, say) always changes
//! the result; other damage collides with probability about 2^-64. The result does not
//! depend on how the bytes were split into chunks.

const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// Independent lanes: word `i` goes to lane `i % LANES`, so the multiplications of
/// neighbouring words do not wait for each other (several times faster than one chain).
const LANES: usize = 4;
const BLOCK: usize = 8 * LANES;

/// A streaming digest: feed chunks of any size, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    lanes: [u64; LANES],
    /// Bytes of an incomplete block carried to the next chunk.
    tail: [u8; BLOCK],
    tail_len: usize,
    len: u64,
}

impl Default for Digest {
    fn default() -> Self {
        Digest::new()
    }
}

#[inline]
fn step(state: u64, w: u64) -> u64 {
    (state ^ w).wrapping_mul(K).rotate_left(29)
}

impl Digest {
    pub fn new() -> Digest {
        Digest {
            lanes: [
                0x243F_6A88_85A3_08D3,
                0x1319_8A2E_0370_7344,
                0xA409_3822_299F_31D0,
                0x082E_FA98_EC4E_6C89,
            ],
            tail: [0; BLOCK],
            tail_len: 0,
            len: 0,
        }
    }

    #[inline]
    fn block(&mut self, b: &[u8]) {
        for (lane, w) in self.lanes.iter_mut().zip(b.chunks_exact(8)) {
            *lane = step(*lane, u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.tail_len > 0 {
            let take = (BLOCK - self.tail_len).min(data.len());
            self.tail[self.tail_len..self.tail_len + take].copy_from_slice(&data[..take]);
            self.tail_len += take;
            data = &data[take..];
            if self.tail_len < BLOCK {
                return;
            }
            let t = self.tail;
            self.block(&t);
            self.tail_len = 0;
        }
        let mut blocks = data.chunks_exact(BLOCK);
        for b in &mut blocks {
            self.block(b);
        }
        let rest = blocks.remainder();
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

    /// The digest of everything fed, length included (so trailing zero bytes count). The
    /// lanes are folded into one chain, each fold a bijection in the lane it takes.
    pub fn finish(&self) -> u64 {
        let mut d = self.clone();
        if d.tail_len > 0 {
            let mut last = [0u8; BLOCK];
            last[..d.tail_len].copy_from_slice(&d.tail[..d.tail_len]);
            d.block(&last);
        }
        let mut h = self.len;
        for lane in d.lanes {
            h = step(h, lane);
        }
        step(h, self.len)
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
        for split in [1, 3, 7, 8, 9, 31, 32, 33, 500] {
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
        for at in [0, 1, 7, 8, 31, 32, 2000, 4095] {
            let mut bad = data.clone();
            bad[at] ^= 0x01;
            assert_ne!(Digest::of(&bad), whole, "byte {at}");
        }
        assert_ne!(Digest::of(&[0, 0, 0]), Digest::of(&[0, 0]));
        assert_ne!(Digest::of(&[]), Digest::of(&[0]));
    }
}
