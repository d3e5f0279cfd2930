//! Incremental, fail-fast UTF-8 validation (RFC 3629 §4).
//!
//! RFC 6455 §8.1 requires an endpoint to fail the connection as soon as it
//! finds that a text stream is not UTF-8, and a conformance suite has to
//! judge *when* a peer could first have known. So this validator does not
//! merely say "valid or not": it reports the absolute offset of the first
//! byte that no valid continuation of the stream could contain. That is the
//! byte a fail-fast endpoint reacts to, which lets a test check that the peer
//! closed after (and not long after) that point.
//!
//! The state machine follows the RFC 3629 §4 ABNF directly: after a lead
//! byte, the *next* byte has a range that depends on the lead (this is what
//! rules out overlongs, surrogates and code points above U+10FFFF at the
//! earliest possible byte), and any further bytes are plain `%x80-BF` tails.

/// Why a byte stream is not UTF-8, with the absolute offset (counted from
/// [`Utf8Validator::new`] or the last [`Utf8Validator::reset`]) at which
/// this became certain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Utf8Error {
    /// The byte at `offset` cannot appear at that position in any valid
    /// stream, whatever follows it.
    #[error("invalid UTF-8 byte at offset {offset}")]
    Invalid { offset: u64 },
    /// The stream ended inside a multi-byte sequence. `offset` is the
    /// stream length, i.e. the position where the missing byte should have
    /// been: only the end of the message reveals this error.
    #[error("UTF-8 sequence truncated at end of message (offset {offset})")]
    Incomplete { offset: u64 },
}

/// The general continuation range `%x80-BF` (RFC 3629 §4 `UTF8-tail`).
const TAIL_LO: u8 = 0x80;
const TAIL_HI: u8 = 0xBF;

/// Streaming validator that keeps only the state of the current sequence,
/// so a message can be checked frame by frame without reassembling it.
#[derive(Debug, Clone)]
pub struct Utf8Validator {
    /// Bytes still needed to complete the current sequence (0 = between
    /// characters).
    need: u8,
    /// Inclusive range allowed for the very next byte when `need > 0`.
    /// Only the first byte after the lead is narrowed; later ones are tails.
    lo: u8,
    hi: u8,
    /// Bytes consumed since construction or reset; base for error offsets.
    seen: u64,
    /// First error found. Kept so that feeding more bytes after a failure
    /// keeps reporting the original (earliest) offset instead of inventing
    /// new errors from a desynchronised state.
    failed: Option<Utf8Error>,
}

impl Default for Utf8Validator {
    fn default() -> Self {
        Self::new()
    }
}

impl Utf8Validator {
    /// A validator positioned at the start of a message, offset 0.
    pub fn new() -> Self {
        Self {
            need: 0,
            lo: TAIL_LO,
            hi: TAIL_HI,
            seen: 0,
            failed: None,
        }
    }

    /// Feeds the next chunk. Err gives the absolute byte offset (since
    /// `new()`) of the first byte that makes the stream invalid, i.e. the
    /// earliest point at which a fail-fast endpoint knows.
    ///
    /// Once an error has been returned, every later call returns the same
    /// error until [`reset`](Self::reset).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), Utf8Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let mut i = 0;
        while i < bytes.len() {
            if self.need == 0 {
                // Between characters: skip ASCII runs a word at a time,
                // since text payloads are overwhelmingly ASCII.
                i += ascii_prefix_len(&bytes[i..]);
                if i == bytes.len() {
                    break;
                }
                let b = bytes[i];
                match lead(b) {
                    Some((need, lo, hi)) => {
                        self.need = need;
                        self.lo = lo;
                        self.hi = hi;
                    }
                    None if b < 0x80 => {}
                    None => return Err(self.fail(i)),
                }
            } else {
                let b = bytes[i];
                if b < self.lo || b > self.hi {
                    return Err(self.fail(i));
                }
                self.need -= 1;
                self.lo = TAIL_LO;
                self.hi = TAIL_HI;
            }
            i += 1;
        }
        self.seen += bytes.len() as u64;
        Ok(())
    }

    /// End of message: Err if a sequence is incomplete (or if an earlier
    /// `feed` already failed, in which case that error is repeated).
    pub fn finish(&self) -> Result<(), Utf8Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.need > 0 {
            return Err(Utf8Error::Incomplete { offset: self.seen });
        }
        Ok(())
    }

    /// Forgets all state, ready for a new message starting at offset 0.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// True when the bytes seen so far end on a character boundary.
    pub fn at_boundary(&self) -> bool {
        self.need == 0 && self.failed.is_none()
    }

    fn fail(&mut self, index: usize) -> Utf8Error {
        let e = Utf8Error::Invalid {
            offset: self.seen + index as u64,
        };
        self.failed = Some(e);
        e
    }
}

/// Classifies a non-ASCII lead byte per RFC 3629 §4: how many bytes follow,
/// and the allowed range of the first of them. `None` for ASCII and for
/// bytes that can never start a sequence (`%x80-C1`, `%xF5-FF`).
fn lead(b: u8) -> Option<(u8, u8, u8)> {
    match b {
        0xC2..=0xDF => Some((1, TAIL_LO, TAIL_HI)),
        // E0 A0-BF: anything lower would be an overlong 2-byte form.
        0xE0 => Some((2, 0xA0, TAIL_HI)),
        0xE1..=0xEC | 0xEE..=0xEF => Some((2, TAIL_LO, TAIL_HI)),
        // ED 80-9F: ED A0-BF would encode the surrogates U+D800-DFFF.
        0xED => Some((2, TAIL_LO, 0x9F)),
        // F0 90-BF: anything lower would be an overlong 3-byte form.
        0xF0 => Some((3, 0x90, TAIL_HI)),
        0xF1..=0xF3 => Some((3, TAIL_LO, TAIL_HI)),
        // F4 80-8F: F4 90 and above exceed U+10FFFF.
        0xF4 => Some((3, TAIL_LO, 0x8F)),
        _ => None,
    }
}

/// Length of the leading run of ASCII bytes, checked 16 bytes at a time.
fn ascii_prefix_len(bytes: &[u8]) -> usize {
    const HIGH_BITS: u128 = u128::from_ne_bytes([0x80; 16]);
    let mut n = 0;
    for chunk in bytes.chunks_exact(16) {
        let word = u128::from_ne_bytes(chunk.try_into().expect("chunk of 16"));
        if word & HIGH_BITS != 0 {
            break;
        }
        n += 16;
    }
    n + bytes[n..].iter().take_while(|b| b.is_ascii()).count()
}

/// Whole-buffer convenience: [`Utf8Validator::feed`] then
/// [`Utf8Validator::finish`].
pub fn validate(bytes: &[u8]) -> Result<(), Utf8Error> {
    let mut v = Utf8Validator::new();
    v.feed(bytes)?;
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(offset: u64) -> Result<(), Utf8Error> {
        Err(Utf8Error::Invalid { offset })
    }

    fn incomplete(offset: u64) -> Result<(), Utf8Error> {
        Err(Utf8Error::Incomplete { offset })
    }

    /// What our fail-fast offset must be, derived from std's error.
    ///
    /// std reports `valid_up_to` (start of the bad sequence) and
    /// `error_len`, the length of the maximal prefix of a valid sequence
    /// (Unicode "maximal subpart"), except that it reports 1 rather than 0
    /// when the byte at `valid_up_to` cannot start a sequence at all. The
    /// byte that makes the stream detectably bad is the first byte after
    /// that maximal subpart, so:
    /// * lead byte itself invalid (`%x80-C1`, `%xF5-FF`): `valid_up_to`;
    /// * otherwise: `valid_up_to + error_len`;
    /// * `error_len == None` (input ends mid-sequence): Incomplete at len.
    fn expected_from_std(bytes: &[u8]) -> Result<(), Utf8Error> {
        match std::str::from_utf8(bytes) {
            Ok(_) => Ok(()),
            Err(e) => match e.error_len() {
                None => incomplete(bytes.len() as u64),
                Some(n) => {
                    let start = e.valid_up_to();
                    let lead_ok = lead(bytes[start]).is_some();
                    let at = if lead_ok { start + n } else { start };
                    invalid(at as u64)
                }
            },
        }
    }

    #[quickcheck_macros::quickcheck]
    fn agrees_with_std_on_arbitrary_bytes(bytes: Vec<u8>) -> bool {
        validate(&bytes) == expected_from_std(&bytes)
    }

    /// Random bytes are almost always invalid within a few bytes; this
    /// property starts from valid text and corrupts one byte so the
    /// interesting boundary cases (truncations, bad tails deep inside a
    /// long valid prefix) are exercised too.
    #[quickcheck_macros::quickcheck]
    fn agrees_with_std_on_corrupted_text(s: String, at: usize, byte: u8, cut: usize) -> bool {
        let mut bytes = s.into_bytes();
        if !bytes.is_empty() {
            let i = at % bytes.len();
            bytes[i] = byte;
            bytes.truncate(bytes.len() - cut % 2);
        }
        validate(&bytes) == expected_from_std(&bytes)
    }

    #[quickcheck_macros::quickcheck]
    fn valid_strings_are_valid(s: String) -> bool {
        validate(s.as_bytes()).is_ok()
    }

    fn chunked(bytes: &[u8], sizes: &[usize]) -> Result<(), Utf8Error> {
        let mut v = Utf8Validator::new();
        let mut rest = bytes;
        let mut k = 0;
        while !rest.is_empty() {
            let n = sizes.get(k).map_or(rest.len(), |s| s % 7).min(rest.len());
            let (head, tail) = rest.split_at(n);
            v.feed(head)?;
            rest = tail;
            k += 1;
        }
        v.finish()
    }

    #[quickcheck_macros::quickcheck]
    fn any_split_matches_one_feed(bytes: Vec<u8>, sizes: Vec<usize>) -> bool {
        chunked(&bytes, &sizes) == validate(&bytes)
    }

    #[quickcheck_macros::quickcheck]
    fn any_split_matches_one_feed_on_text(
        s: String,
        at: usize,
        byte: u8,
        sizes: Vec<usize>,
    ) -> bool {
        let mut bytes = s.into_bytes();
        if !bytes.is_empty() {
            let i = at % bytes.len();
            bytes[i] = byte;
        }
        chunked(&bytes, &sizes) == validate(&bytes)
    }

    #[test]
    fn boundary_code_points_are_valid() {
        for s in [
            "\u{0}", "\u{7F}", "\u{80}", "\u{7FF}", "\u{800}", "\u{D7FF}", "\u{E000}",
        ] {
            assert_eq!(validate(s.as_bytes()), Ok(()), "{s:?}");
        }
        // U+FFFF and U+10FFFF: noncharacters, but valid UTF-8.
        assert_eq!(validate(&[0xEF, 0xBF, 0xBF]), Ok(()));
        assert_eq!(validate(&[0xF4, 0x8F, 0xBF, 0xBF]), Ok(()));
        // 4-byte sequences: smallest (U+10000) and a common emoji.
        assert_eq!(validate(&[0xF0, 0x90, 0x80, 0x80]), Ok(()));
        assert_eq!(validate("😀".as_bytes()), Ok(()));
        assert_eq!(validate(&[0xF3, 0xBF, 0xBF, 0xBF]), Ok(()));
    }

    #[test]
    fn overlongs_fail_at_first_distinguishing_byte() {
        // C0/C1 can only start overlong 2-byte forms: invalid at the lead.
        assert_eq!(validate(&[0xC0, 0x80]), invalid(0));
        assert_eq!(validate(&[0xC1, 0xBF]), invalid(0));
        // E0 80..9F and F0 80..8F are overlong: invalid at the 2nd byte.
        assert_eq!(validate(&[0xE0, 0x80, 0x80]), invalid(1));
        assert_eq!(validate(&[0xE0, 0x9F, 0xBF]), invalid(1));
        assert_eq!(validate(&[0xF0, 0x8F, 0xBF, 0xBF]), invalid(1));
    }

    #[test]
    fn surrogates_fail_at_second_byte() {
        assert_eq!(validate(&[0xED, 0xA0, 0x80]), invalid(1));
        assert_eq!(validate(&[0xED, 0xBF, 0xBF]), invalid(1));
        assert_eq!(validate(&[0xED, 0x9F, 0xBF]), Ok(())); // U+D7FF
    }

    #[test]
    fn above_max_code_point_fails_fast() {
        assert_eq!(validate(&[0xF4, 0x90, 0x80, 0x80]), invalid(1));
        for b in 0xF5..=0xFF {
            assert_eq!(validate(&[b]), invalid(0), "{b:#x}");
        }
    }

    #[test]
    fn stray_continuation_and_bad_tail() {
        assert_eq!(validate(&[0x41, 0x80]), invalid(1));
        assert_eq!(validate(&[0xBF]), invalid(0));
        assert_eq!(validate(&[0xC3, 0x41]), invalid(1));
        assert_eq!(validate(&[0xE2, 0x82, 0x41]), invalid(2));
        assert_eq!(validate(&[0xF0, 0x9F, 0x98, 0xC0]), invalid(3));
    }

    #[test]
    fn truncated_sequences_are_incomplete_at_end() {
        assert_eq!(validate(&[0xC3]), incomplete(1));
        assert_eq!(validate(&[0x41, 0xE2, 0x82]), incomplete(3));
        assert_eq!(validate(&[0xF0, 0x9F, 0x98]), incomplete(3));
    }

    #[test]
    fn offsets_are_absolute_across_feeds_and_errors_stick() {
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[b'a'; 40]), Ok(()));
        assert_eq!(v.feed(&[0xE0]), Ok(()));
        assert!(!v.at_boundary());
        assert_eq!(v.feed(&[0x80]), invalid(41));
        assert_eq!(v.feed(b"ok"), invalid(41));
        assert_eq!(v.finish(), invalid(41));
        v.reset();
        assert_eq!(v.feed(&[0xF5]), invalid(0));
    }

    #[test]
    fn long_ascii_runs_then_error() {
        let mut bytes = vec![b'x'; 100];
        bytes.push(0xFF);
        assert_eq!(validate(&bytes), invalid(100));
        bytes[37] = 0x80;
        assert_eq!(validate(&bytes), invalid(37));
    }
}
