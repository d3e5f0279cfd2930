//! Payload descriptions in case files and their bytes.
//!
//! Payloads are described rather than spelled out so a 16 MiB message or a byte-exact
//! invalid UTF-8 sequence stays one readable line in a case file.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::text::hex;

/// The largest payload a case may describe. Cases are ours or the user's, but a typo such
/// as `len = 1000000000000` must be an error, not an allocation failure.
pub const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

/// Messages longer than this are generated, written and verified in chunks, never held
/// whole (and the peer's echo of them is kept as length, digest and a head sample).
pub const STREAM_ABOVE: usize = 64 * 1024;

/// The size of the chunks a streamed payload is generated in.
pub const CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// UTF-8 text, written as a plain string or `{ text = "..." }`.
    Text(String),
    /// Exact bytes from hex, spaces allowed: `{ hex = "ce ba e1" }`.
    Bytes(Vec<u8>),
    /// A pattern repeated (and cut) to `len` bytes: `{ repeat = "*", len = 125 }`.
    Repeat { pattern: Vec<u8>, len: usize },
    /// Deterministic pseudo-random bytes: `{ random = 1024, seed = 7 }`.
    Random { len: usize, seed: u64 },
    /// Parts joined in order: `{ concat = ["abc", { hex = "ff" }] }`.
    Concat(Vec<Payload>),
}

impl Default for Payload {
    fn default() -> Self {
        Payload::Bytes(Vec::new())
    }
}

impl Payload {
    pub fn len(&self) -> usize {
        match self {
            Payload::Text(s) => s.len(),
            Payload::Bytes(b) => b.len(),
            Payload::Repeat { len, .. } | Payload::Random { len, .. } => *len,
            Payload::Concat(parts) => parts.iter().map(Payload::len).sum(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        self.write_to(&mut out);
        out
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Payload::Text(s) => out.extend_from_slice(s.as_bytes()),
            Payload::Bytes(b) => out.extend_from_slice(b),
            Payload::Repeat { pattern, .. } if pattern.is_empty() => {}
            Payload::Repeat { .. } | Payload::Random { .. } => {
                // Generated in place by `fill` (word at a time), not a pattern or a word
                // appended per step: a burst of a thousand 4 KiB messages is built this way.
                let start = out.len();
                out.resize(start + self.len(), 0);
                self.fill(0, &mut out[start..]);
            }
            Payload::Concat(parts) => parts.iter().for_each(|p| p.write_to(out)),
        }
    }

    /// Writes bytes `at..at + out.len()` of the payload into `out`, without producing the
    /// bytes before them: a 16 MiB message is generated chunk by chunk as it is written,
    /// and generated again chunk by chunk to check its echo, never held whole.
    /// `at + out.len()` must not exceed [`len`](Self::len).
    pub fn fill(&self, at: usize, out: &mut [u8]) {
        if out.is_empty() {
            return;
        }
        match self {
            Payload::Text(s) => out.copy_from_slice(&s.as_bytes()[at..at + out.len()]),
            Payload::Bytes(b) => out.copy_from_slice(&b[at..at + out.len()]),
            Payload::Repeat { pattern, .. } if !pattern.is_empty() && 8 % pattern.len() == 0 => {
                // A period dividing 8 (a single byte, the common case): one 8-byte word,
                // stored 32 bytes at a time.
                let p = pattern.len();
                repeat_word(out, std::array::from_fn(|j| pattern[(at + j) % p]));
            }
            Payload::Repeat { pattern, .. } => {
                let p = pattern.len();
                // The first pattern-length bytes, then copies of what is already written
                // (doubling), so a long run costs a few memcpy calls.
                let first = out.len().min(p);
                for (i, b) in out[..first].iter_mut().enumerate() {
                    *b = pattern[(at + i) % p];
                }
                let mut done = first;
                while done < out.len() {
                    // Copy a whole number of periods so the phase stays right.
                    let period = (done / p) * p;
                    let take = period.min(out.len() - done);
                    out.copy_within(..take, done);
                    done += take;
                }
            }
            Payload::Random { seed, .. } => {
                // Word k of the payload is the (k+1)-th output of SplitMix64 from
                // `seed ^ GOLDEN`, whose state after k steps is computable directly; from
                // there the words follow one step each, written a word at a time.
                let mut state =
                    (*seed ^ GOLDEN).wrapping_add(((at / 8) as u64).wrapping_mul(GOLDEN));
                let mut out = out;
                let skip = at % 8;
                if skip != 0 {
                    let w = splitmix64(&mut state).to_le_bytes();
                    let take = (8 - skip).min(out.len());
                    out[..take].copy_from_slice(&w[skip..skip + take]);
                    out = &mut out[take..];
                }
                let mut words = out.chunks_exact_mut(8);
                for w in &mut words {
                    w.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
                }
                let rest = words.into_remainder();
                if !rest.is_empty() {
                    let n = rest.len();
                    rest.copy_from_slice(&splitmix64(&mut state).to_le_bytes()[..n]);
                }
            }
            Payload::Concat(parts) => {
                let mut start = 0;
                let mut at = at;
                let mut done = 0;
                for part in parts {
                    let n = part.len();
                    if at < start + n {
                        let from = at - start;
                        let take = (n - from).min(out.len() - done);
                        part.fill(from, &mut out[done..done + take]);
                        done += take;
                        at += take;
                        if done == out.len() {
                            return;
                        }
                    }
                    start += n;
                }
            }
        }
    }

    /// [`fill`](Self::fill), then masked with `key` as payload bytes from position
    /// `phase` of their frame on (RFC 6455 §5.3), in one pass where the payload allows:
    /// a repeated pattern whose period divides 8 stays periodic with period 8 once
    /// masked (the key's period is 4), so the masked bytes are one word stored over and
    /// over, with no separate masking pass. This is what a 16 MiB `repeat` message costs
    /// the writer per byte.
    pub fn fill_masked(&self, at: usize, out: &mut [u8], key: [u8; 4], phase: usize) {
        if let Payload::Repeat { pattern, .. } = self {
            let p = pattern.len();
            if p > 0 && 8 % p == 0 {
                let word = std::array::from_fn(|j| pattern[(at + j) % p] ^ key[(phase + j) % 4]);
                repeat_word(out, word);
                return;
            }
        }
        self.fill(at, out);
        crate::codec::apply_mask(out, key, phase);
    }

    /// The running digest of the whole payload, generated chunk by chunk. A repeated
    /// pattern is generated once: a chunk of a whole number of periods is the same bytes
    /// wherever it starts on a period boundary, so the chunk is fed again and again (the
    /// digest does not depend on how its input is split).
    pub fn digest(&self) -> u64 {
        let mut d = crate::codec::Digest::new();
        let len = self.len();
        let same_chunks = match self {
            Payload::Repeat { pattern, .. } if !pattern.is_empty() && pattern.len() <= CHUNK => {
                Some(CHUNK / pattern.len() * pattern.len())
            }
            _ => None,
        };
        let mut buf = vec![0u8; same_chunks.unwrap_or(CHUNK).min(len)];
        if same_chunks.is_some() {
            self.fill(0, &mut buf);
        }
        let mut at = 0;
        while at < len {
            let n = buf.len().min(len - at);
            if same_chunks.is_none() {
                self.fill(at, &mut buf[..n]);
            }
            d.update(&buf[..n]);
            at += n;
        }
        d.finish()
    }

    /// Payloads at least this long go out and come back as streams (see
    /// [`fill`](Self::fill)); shorter ones are handled whole.
    pub fn is_large(&self) -> bool {
        self.len() > STREAM_ABOVE
    }

    /// A short human description for reports (never the whole payload).
    pub fn describe(&self) -> String {
        match self {
            Payload::Text(s) if s.len() <= 40 => format!("text {s:?}"),
            Payload::Text(s) => format!("text of {} bytes", s.len()),
            Payload::Bytes(b) if b.len() <= 16 => format!("bytes {}", hex(b)),
            Payload::Bytes(b) => format!("{} bytes", b.len()),
            Payload::Repeat { pattern, len } => {
                format!("{len} bytes of {:?}", String::from_utf8_lossy(pattern))
            }
            Payload::Random { len, seed } => format!("{len} random bytes (seed {seed})"),
            Payload::Concat(parts) => parts
                .iter()
                .map(Payload::describe)
                .collect::<Vec<_>>()
                .join(" + "),
        }
    }
}

/// SplitMix64's increment (the golden ratio in 64 bits), also what a seed is XORed with.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// Fills `out` with `word` repeated (`out[i] = word[i % 8]`), 32 bytes a store.
fn repeat_word(out: &mut [u8], word: [u8; 8]) {
    let wide: [u8; 32] = std::array::from_fn(|i| word[i % 8]);
    let mut blocks = out.chunks_exact_mut(32);
    for b in &mut blocks {
        b.copy_from_slice(&wide);
    }
    let rest = blocks.into_remainder();
    let n = rest.len();
    rest.copy_from_slice(&wide[..n]);
}

/// SplitMix64: tiny, fast and stable across versions, so a seed names the same bytes forever.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(GOLDEN);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Parses hex with optional whitespace between bytes.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("hex {text:?} has an odd number of digits"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            // Two hex digits, the case every written payload takes (the network fuzzer
            // loads a case file per sequence), without the general parse.
            if let (Some(hi), Some(lo)) = (hex_digit(pair[0]), hex_digit(pair[1])) {
                return Ok((hi << 4) | lo);
            }
            let s = std::str::from_utf8(pair).map_err(|_| format!("hex {text:?} is not ASCII"))?;
            u8::from_str_radix(s, 16).map_err(|_| format!("hex {text:?}: {s:?} is not a hex byte"))
        })
        .collect()
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayloadTable {
    text: Option<String>,
    hex: Option<String>,
    repeat: Option<String>,
    repeat_hex: Option<String>,
    len: Option<usize>,
    random: Option<usize>,
    seed: Option<u64>,
    concat: Option<Vec<Payload>>,
}

impl PayloadTable {
    fn into_payload(self) -> Result<Payload, String> {
        let kinds = [
            self.text.is_some(),
            self.hex.is_some(),
            self.repeat.is_some() || self.repeat_hex.is_some(),
            self.random.is_some(),
            self.concat.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(
                "payload: give exactly one of text, hex, repeat, repeat_hex, random, concat".into(),
            );
        }
        let payload = if let Some(t) = self.text {
            Payload::Text(t)
        } else if let Some(h) = self.hex {
            Payload::Bytes(parse_hex(&h)?)
        } else if self.repeat.is_some() || self.repeat_hex.is_some() {
            let pattern = match (self.repeat, self.repeat_hex) {
                (Some(p), None) => p.into_bytes(),
                (None, Some(h)) => parse_hex(&h)?,
                _ => return Err("payload: repeat and repeat_hex exclude each other".into()),
            };
            if pattern.is_empty() {
                return Err("payload: repeat pattern is empty".into());
            }
            let len = self.len.ok_or("payload: repeat needs len")?;
            Payload::Repeat { pattern, len }
        } else if let Some(len) = self.random {
            Payload::Random {
                len,
                seed: self.seed.unwrap_or(0),
            }
        } else {
            Payload::Concat(self.concat.unwrap_or_default())
        };
        if payload.len() > MAX_PAYLOAD {
            return Err(format!(
                "payload: {} bytes exceeds the {MAX_PAYLOAD}-byte limit for one payload",
                payload.len()
            ));
        }
        Ok(payload)
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Payload;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a string or a table such as { hex = \"..\" } or { repeat = \"*\", len = 125 }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Payload, E> {
                Ok(Payload::Text(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Payload, A::Error> {
                let table = PayloadTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                table.into_payload().map_err(de::Error::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_cuts_pattern_to_length() {
        let p = Payload::Repeat {
            pattern: b"abc".to_vec(),
            len: 7,
        };
        assert_eq!(p.bytes(), b"abcabca");
        assert_eq!(p.len(), 7);
    }

    #[test]
    fn random_is_stable_for_a_seed() {
        let a = Payload::Random { len: 33, seed: 5 }.bytes();
        let b = Payload::Random { len: 33, seed: 5 }.bytes();
        let c = Payload::Random { len: 33, seed: 6 }.bytes();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 33);
    }

    /// Every byte range of small payloads, against their bytes written out by hand.
    #[test]
    fn fill_at_any_offset_matches_the_literal_bytes() {
        let cases: Vec<(Payload, Vec<u8>)> = vec![
            (
                Payload::Repeat {
                    pattern: b"abc".to_vec(),
                    len: 10,
                },
                b"abcabcabca".to_vec(),
            ),
            (
                Payload::Repeat {
                    pattern: vec![0xfe],
                    len: 5,
                },
                vec![0xfe; 5],
            ),
            (
                Payload::Concat(vec![
                    Payload::Text("xy".into()),
                    Payload::Bytes(vec![0xce, 0xba]),
                    Payload::Repeat {
                        pattern: b"12".to_vec(),
                        len: 3,
                    },
                    Payload::Text(String::new()),
                    Payload::Text("z".into()),
                ]),
                vec![b'x', b'y', 0xce, 0xba, b'1', b'2', b'1', b'z'],
            ),
            // SplitMix64 from state seed ^ 0x9E3779B97F4A7C15 with seed 0: the first two
            // outputs are 0x6e789e6aa1b965f4 and 0x06c45d188009454f (little-endian here).
            (
                Payload::Random { len: 11, seed: 0 },
                vec![
                    0xf4, 0x65, 0xb9, 0xa1, 0x6a, 0x9e, 0x78, 0x6e, 0x4f, 0x45, 0x09,
                ],
            ),
        ];
        for (p, want) in &cases {
            assert_eq!(&p.bytes(), want, "{p:?}");
            for at in 0..want.len() {
                for end in at..=want.len() {
                    let mut out = vec![0u8; end - at];
                    p.fill(at, &mut out);
                    assert_eq!(out, want[at..end], "{p:?} bytes {at}..{end}");
                }
            }
        }
    }

    #[test]
    fn a_long_repeat_is_filled_in_phase() {
        let p = Payload::Repeat {
            pattern: b"0123456".to_vec(),
            len: 1 << 20,
        };
        let mut out = vec![0u8; 70_001];
        p.fill(12_345, &mut out);
        // 12345 = 7 * 1763 + 4: the range starts at '4'.
        assert_eq!(&out[..10], b"4560123456");
        assert!(out
            .iter()
            .enumerate()
            .all(|(i, b)| *b == b"0123456"[(i + 4) % 7]));
    }

    /// The bytes of `p` the plain way (byte by byte, SplitMix64 step by step), as the
    /// reference for the word-at-a-time paths.
    fn naive_bytes(p: &Payload) -> Vec<u8> {
        match p {
            Payload::Text(t) => t.as_bytes().to_vec(),
            Payload::Bytes(b) => b.clone(),
            Payload::Repeat { pattern, len } => {
                (0..*len).map(|i| pattern[i % pattern.len()]).collect()
            }
            Payload::Random { len, seed } => {
                let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
                let mut out = Vec::new();
                while out.len() < *len {
                    out.extend_from_slice(&splitmix64(&mut state).to_le_bytes());
                }
                out.truncate(*len);
                out
            }
            Payload::Concat(parts) => parts.iter().flat_map(naive_bytes).collect(),
        }
    }

    /// Payloads of each kind, long enough for several digest chunks and word-at-a-time
    /// paths, not a whole number of words or chunks.
    fn mixed_payloads() -> Vec<Payload> {
        let n = 2 * CHUNK + 13;
        let mut v: Vec<Payload> = [
            &b"*"[..],
            b"ab",
            b"abcd",
            b"01234567",
            b"abc",
            b"0123456789",
        ]
        .iter()
        .map(|p| Payload::Repeat {
            pattern: p.to_vec(),
            len: n,
        })
        .collect();
        v.push(Payload::Random { len: n, seed: 9 });
        v.push(Payload::Concat(vec![
            Payload::Text("xyz".into()),
            Payload::Random { len: 1000, seed: 1 },
            Payload::Repeat {
                pattern: vec![0xfe],
                len: 77,
            },
        ]));
        v
    }

    #[test]
    fn masked_fill_is_the_payload_xored_with_the_key_from_the_phase() {
        let key = [0x12, 0x34, 0x56, 0x78];
        for p in mixed_payloads() {
            let whole = naive_bytes(&p);
            for (at, len) in [(0, 100), (1, 64), (3, 1), (5, 40_000), (7, 33), (8, 31)] {
                let len = len.min(whole.len() - at);
                for phase in 0..4 {
                    let mut out = vec![0u8; len];
                    p.fill_masked(at, &mut out, key, phase);
                    let want: Vec<u8> = whole[at..at + len]
                        .iter()
                        .enumerate()
                        .map(|(i, b)| b ^ key[(phase + i) % 4])
                        .collect();
                    assert_eq!(out, want, "{} at {at}, phase {phase}", p.describe());
                }
            }
        }
    }

    #[test]
    fn fill_anywhere_in_a_long_payload_matches_its_bytes() {
        for p in mixed_payloads() {
            assert_eq!(p.bytes(), naive_bytes(&p), "{}", p.describe());
            let whole = naive_bytes(&p);
            for (at, len) in [(0, whole.len()), (1, 9), (13, 70_000), (CHUNK - 3, 11)] {
                if at >= whole.len() {
                    continue;
                }
                let len = len.min(whole.len() - at);
                let mut out = vec![0u8; len];
                p.fill(at, &mut out);
                assert_eq!(out, whole[at..at + len], "{} at {at}", p.describe());
            }
        }
    }

    #[test]
    fn the_digest_is_that_of_the_bytes() {
        for p in mixed_payloads() {
            assert_eq!(
                p.digest(),
                crate::codec::Digest::of(&naive_bytes(&p)),
                "{}",
                p.describe()
            );
        }
    }

    #[test]
    fn hex_writes_two_lowercase_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn hex_is_two_lower_case_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0x10, 0xa5, 0xff]), "000f10a5ff");
        assert_eq!(hex(&[]), "");
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(parse_hex(&hex(&all)).unwrap(), all);
    }

    #[test]
    fn hex_accepts_spaces_and_rejects_odd_digits() {
        assert_eq!(parse_hex("ce ba\te1").unwrap(), vec![0xce, 0xba, 0xe1]);
        assert_eq!(parse_hex("0aF9").unwrap(), vec![0x0a, 0xf9]);
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
    }

    #[test]
    fn tables_parse() {
        #[derive(Deserialize)]
        struct W {
            p: Payload,
        }
        let w: W = toml::from_str("p = { concat = [\"ab\", { hex = \"ff\" }] }").unwrap();
        assert_eq!(w.p.bytes(), vec![b'a', b'b', 0xff]);
        let err = toml::from_str::<W>("p = { hex = \"ff\", text = \"x\" }")
            .err()
            .unwrap();
        assert!(err.to_string().contains("exactly one"), "{err}");
        let err = toml::from_str::<W>("p = { repeat = \"*\", len = 100000000000 }")
            .err()
            .unwrap();
        assert!(err.to_string().contains("limit"), "{err}");
    }
}
