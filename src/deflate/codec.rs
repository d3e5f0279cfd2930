//! permessage-deflate message transforms (RFC 7692 §7.2): compress a message to the
//! payload of a frame with RSV1 set, and inflate one back, with or without context
//! takeover and at any window size the RFC allows.
//!
//! Inflation is bounded: a peer that sends a few bytes that inflate to gigabytes is stopped
//! at the configured bound and reported, never obeyed.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The empty stored block a sync flush ends with; RFC 7692 §7.2.1 strips it from the
/// payload and §7.2.2 appends it again before inflating.
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InflateError {
    #[error("the compressed data is not valid DEFLATE: {0}")]
    Corrupt(String),
    #[error("the message inflates to more than {limit} bytes (after {consumed} compressed bytes)")]
    TooLarge { limit: usize, consumed: usize },
}

/// Compresses messages one at a time.
pub struct Compressor {
    inner: Compress,
    no_context_takeover: bool,
    stored_only: bool,
}

impl Compressor {
    /// `window_bits` 8-15. zlib cannot produce raw DEFLATE with an 8-bit window (it raises it
    /// to 9, RFC 7692 §7.1.2.1), and a 9-bit window could reference data a peer limited to
    /// 8 bits no longer has; with 8, stored blocks are used instead, which are valid for any
    /// window.
    pub fn new(window_bits: u8, no_context_takeover: bool) -> Compressor {
        let bits = window_bits.clamp(9, 15);
        let stored_only = window_bits <= 8;
        let level = if stored_only {
            Compression::none()
        } else {
            Compression::default()
        };
        Compressor {
            inner: Compress::new_with_window_bits(level, false, bits),
            no_context_takeover,
            stored_only,
        }
    }

    pub fn stored_only(&self) -> bool {
        self.stored_only
    }

    /// The payload of a compressed message: DEFLATE data ending in a sync flush, with the
    /// final `00 00 ff ff` removed (RFC 7692 §7.2.1).
    pub fn compress(&mut self, message: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(message.len() / 2 + 64);
        let start_in = self.inner.total_in();
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(64));
            }
            let consumed = (self.inner.total_in() - start_in) as usize;
            let (in_before, out_before) = (self.inner.total_in(), self.inner.total_out());
            self.inner
                .compress_vec(&message[consumed..], &mut out, FlushCompress::Sync)
                .expect("compressing into a growing buffer does not fail");
            let all_in = (self.inner.total_in() - start_in) as usize == message.len();
            // zlib returns with room to spare only once the flush is complete; with no
            // progress at all there was nothing left to flush.
            let stalled =
                self.inner.total_in() == in_before && self.inner.total_out() == out_before;
            if (all_in && out.len() < out.capacity()) || stalled {
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if out.is_empty() {
            // Nothing was pending (an empty message right after a flush): RFC 7692 §7.2.3.6
            // uses a lone empty stored-block header as the payload.
            out.push(0x00);
        }
        if self.no_context_takeover {
            self.inner.reset();
        }
        out
    }
}

/// Inflates messages one at a time.
pub struct Decompressor {
    inner: Decompress,
    no_context_takeover: bool,
    max_message: usize,
}

impl Decompressor {
    pub fn new(window_bits: u8, no_context_takeover: bool, max_message: usize) -> Decompressor {
        Decompressor {
            inner: Decompress::new_with_window_bits(false, window_bits.clamp(9, 15)),
            no_context_takeover,
            max_message,
        }
    }

    /// Inflates one message's payload (all its fragments, concatenated).
    pub fn decompress(&mut self, payload: &[u8]) -> Result<Vec<u8>, InflateError> {
        let mut input = Vec::with_capacity(payload.len() + TAIL.len());
        input.extend_from_slice(payload);
        input.extend_from_slice(&TAIL);
        let mut out: Vec<u8> = Vec::with_capacity((payload.len() * 4).min(self.max_message) + 64);
        let start_in = self.inner.total_in();
        loop {
            let consumed = (self.inner.total_in() - start_in) as usize;
            if out.len() > self.max_message {
                return Err(InflateError::TooLarge {
                    limit: self.max_message,
                    consumed,
                });
            }
            if out.capacity() == out.len() {
                let grow = out
                    .capacity()
                    .clamp(64, self.max_message + 1 - out.len().min(self.max_message));
                out.reserve(grow.max(64));
            }
            let status = self
                .inner
                .decompress_vec(&input[consumed..], &mut out, FlushDecompress::Sync)
                .map_err(|e| InflateError::Corrupt(e.to_string()))?;
            let consumed_now = (self.inner.total_in() - start_in) as usize;
            if status == Status::StreamEnd {
                // BFINAL was set (RFC 7692 §7.2.3.4): the stream ended; what follows must
                // be the padding block. Start a fresh stream for the next message.
                self.inner.reset(false);
                break;
            }
            if consumed_now == input.len() && out.len() < out.capacity() {
                break;
            }
            if consumed_now == consumed && out.len() < out.capacity() {
                return Err(InflateError::Corrupt(
                    "the data stopped making progress".into(),
                ));
            }
        }
        if out.len() > self.max_message {
            return Err(InflateError::TooLarge {
                limit: self.max_message,
                consumed: payload.len(),
            });
        }
        if self.no_context_takeover {
            self.inner.reset(false);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7692 §7.2.3.1: "Hello" in one compressed block.
    const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

    #[test]
    fn rfc_7692_7_2_3_1_hello() {
        for bits in [9, 12, 15] {
            let mut c = Compressor::new(bits, false);
            assert_eq!(c.compress(b"Hello"), HELLO, "window bits {bits}");
        }
        let mut d = Decompressor::new(15, false, 1024);
        assert_eq!(d.decompress(&HELLO).unwrap(), b"Hello");
    }

    /// RFC 7692 §7.2.3.2: with context takeover the second "Hello" is `f2 00 11 00 00`;
    /// without it, the same 7 bytes again.
    #[test]
    fn rfc_7692_7_2_3_2_sliding_window() {
        let mut keep = Compressor::new(15, false);
        assert_eq!(keep.compress(b"Hello"), HELLO);
        assert_eq!(keep.compress(b"Hello"), [0xf2, 0x00, 0x11, 0x00, 0x00]);
        let mut fresh = Compressor::new(15, true);
        assert_eq!(fresh.compress(b"Hello"), HELLO);
        assert_eq!(fresh.compress(b"Hello"), HELLO);
        let mut d = Decompressor::new(15, false, 1024);
        assert_eq!(d.decompress(&HELLO).unwrap(), b"Hello");
        assert_eq!(
            d.decompress(&[0xf2, 0x00, 0x11, 0x00, 0x00]).unwrap(),
            b"Hello"
        );
    }

    /// §7.2.3.3 (stored block), §7.2.3.4 (BFINAL set), §7.2.3.5 (two blocks), §7.2.3.6
    /// (empty fragment payload).
    #[test]
    fn rfc_7692_other_examples_inflate() {
        let cases: [(&[u8], &[u8]); 4] = [
            (
                &[
                    0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
                ],
                b"Hello",
            ),
            (&[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00], b"Hello"),
            (
                &[
                    0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
                ],
                b"Hello",
            ),
            (&[0x00], b""),
        ];
        for (payload, want) in cases {
            let mut d = Decompressor::new(15, false, 1024);
            assert_eq!(d.decompress(payload).unwrap(), want, "{payload:02x?}");
        }
    }

    #[test]
    fn round_trip_every_window_and_takeover() {
        let text: Vec<u8> = (0..20_000u32)
            .map(|i| b"abcdefgh"[(i * i % 7) as usize])
            .collect();
        for bits in 8..=15u8 {
            for nct in [false, true] {
                let mut c = Compressor::new(bits, nct);
                let mut d = Decompressor::new(bits.max(9), nct, 1 << 20);
                for _ in 0..3 {
                    let p = c.compress(&text);
                    assert_eq!(d.decompress(&p).unwrap(), text, "bits {bits} nct {nct}");
                }
                assert_eq!(d.decompress(&c.compress(b"")).unwrap(), b"");
            }
        }
    }

    #[test]
    fn a_bomb_is_stopped_at_the_bound() {
        let mut c = Compressor::new(15, true);
        let bomb = c.compress(&vec![0u8; 8 << 20]);
        assert!(bomb.len() < 16 * 1024, "{}", bomb.len());
        let mut d = Decompressor::new(15, true, 1 << 20);
        match d.decompress(&bomb) {
            Err(InflateError::TooLarge { limit, .. }) => assert_eq!(limit, 1 << 20),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut d = Decompressor::new(15, false, 1024);
        assert!(matches!(
            d.decompress(&[0xff, 0xff, 0xff, 0xff, 0x13]),
            Err(InflateError::Corrupt(_))
        ));
    }
}
