//! The longest back-reference in DEFLATE data (RFC 1951), to hold a peer to the window it
//! agreed to (RFC 7692 §7.1.2: the sender "MUST NOT use an LZ77 sliding window longer
//! than" 2^w bytes).
//!
//! The inflater cannot tell: zlib-rs keeps a 32 KiB window whatever window bits it is
//! given, so a peer that agreed to 9 bits and compresses with 15 inflates without a
//! complaint. The distance codes say it plainly, so this walks the blocks and the Huffman
//! codes without producing any output, and reports the longest distance used. It is a
//! second reading of the same bytes, independent of the inflater: data it cannot decode is
//! the inflater's to report, and what was read up to there still counts.

/// Base lengths and extra bits of length codes 257-285 (RFC 1951 §3.2.5).
const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Base distances and extra bits of distance codes 0-29 (RFC 1951 §3.2.5).
const DIST_BASE: [u32; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order in which code length code lengths are sent (RFC 1951 §3.2.7).
const CLEN_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Ran out of input, or the data breaks a rule of RFC 1951: either way the walk stops.
struct Stop;

struct Bits<'a> {
    data: &'a [u8],
    at: usize,
    bit: u32,
}

impl Bits<'_> {
    fn bit(&mut self) -> Result<u32, Stop> {
        let byte = *self.data.get(self.at).ok_or(Stop)?;
        let b = (u32::from(byte) >> self.bit) & 1;
        self.bit += 1;
        if self.bit == 8 {
            self.bit = 0;
            self.at += 1;
        }
        Ok(b)
    }

    /// `n` bits, least significant first (how DEFLATE packs everything but Huffman codes).
    fn bits(&mut self, n: u8) -> Result<u32, Stop> {
        let mut v = 0;
        for i in 0..n {
            v |= self.bit()? << i;
        }
        Ok(v)
    }

    fn align(&mut self) {
        if self.bit != 0 {
            self.bit = 0;
            self.at += 1;
        }
    }
}

/// A canonical Huffman code (RFC 1951 §3.2.2), decoded a bit at a time: how many codes
/// have each length, and the symbols in code order.
struct Huffman {
    count: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Result<Huffman, Stop> {
        let mut count = [0u16; 16];
        for &l in lengths {
            count[usize::from(l)] += 1;
        }
        count[0] = 0;
        // Over-subscribed codes are invalid; incomplete ones are allowed (a single
        // distance code is common).
        let mut left: i32 = 1;
        for &c in &count[1..] {
            left = left * 2 - i32::from(c);
            if left < 0 {
                return Err(Stop);
            }
        }
        let mut offsets = [0u16; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + count[len];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbols[usize::from(offsets[usize::from(l)])] = sym as u16;
                offsets[usize::from(l)] += 1;
            }
        }
        Ok(Huffman { count, symbols })
    }

    fn decode(&self, b: &mut Bits) -> Result<u16, Stop> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= b.bit()? as i32;
            let count = i32::from(self.count[len]);
            if code - first < count {
                return self
                    .symbols
                    .get((index + code - first) as usize)
                    .copied()
                    .ok_or(Stop);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err(Stop)
    }
}

/// The longest distance any back-reference in `data` uses (0 when there is none), read
/// up to the end of the data, a block with BFINAL set, or the first thing that does not
/// decode.
pub fn longest_distance(data: &[u8]) -> u32 {
    let mut longest = 0;
    let mut b = Bits {
        data,
        at: 0,
        bit: 0,
    };
    let _ = walk(&mut b, &mut longest);
    longest
}

fn walk(b: &mut Bits, longest: &mut u32) -> Result<(), Stop> {
    loop {
        let last = b.bits(1)? == 1;
        match b.bits(2)? {
            0 => {
                b.align();
                let len = b.bits(16)?;
                let nlen = b.bits(16)?;
                if len != !nlen & 0xffff {
                    return Err(Stop);
                }
                b.at = b.at.checked_add(len as usize).ok_or(Stop)?;
                if b.at > b.data.len() {
                    return Err(Stop);
                }
            }
            1 => {
                let mut lit = [8u8; 288];
                lit[144..256].fill(9);
                lit[256..280].fill(7);
                codes(b, &Huffman::new(&lit)?, &Huffman::new(&[5u8; 30])?, longest)?;
            }
            2 => {
                let (lit, dist) = dynamic_tables(b)?;
                codes(b, &lit, &dist, longest)?;
            }
            _ => return Err(Stop),
        }
        if last {
            return Ok(());
        }
    }
}

fn dynamic_tables(b: &mut Bits) -> Result<(Huffman, Huffman), Stop> {
    let nlit = b.bits(5)? as usize + 257;
    let ndist = b.bits(5)? as usize + 1;
    let nclen = b.bits(4)? as usize + 4;
    if nlit > 286 || ndist > 30 {
        return Err(Stop);
    }
    let mut clen = [0u8; 19];
    for &i in &CLEN_ORDER[..nclen] {
        clen[i] = b.bits(3)? as u8;
    }
    let clen = Huffman::new(&clen)?;
    let mut lengths = Vec::with_capacity(nlit + ndist);
    while lengths.len() < nlit + ndist {
        let sym = clen.decode(b)?;
        let (value, times) = match sym {
            0..=15 => (sym as u8, 1),
            16 => (*lengths.last().ok_or(Stop)?, 3 + b.bits(2)?),
            17 => (0, 3 + b.bits(3)?),
            18 => (0, 11 + b.bits(7)?),
            _ => return Err(Stop),
        };
        if lengths.len() + times as usize > nlit + ndist {
            return Err(Stop);
        }
        lengths.extend(std::iter::repeat_n(value, times as usize));
    }
    Ok((
        Huffman::new(&lengths[..nlit])?,
        Huffman::new(&lengths[nlit..])?,
    ))
}

fn codes(b: &mut Bits, lit: &Huffman, dist: &Huffman, longest: &mut u32) -> Result<(), Stop> {
    loop {
        let sym = lit.decode(b)?;
        match sym {
            0..=255 => {}
            256 => return Ok(()),
            257..=285 => {
                let i = usize::from(sym - 257);
                let _length = LENGTH_BASE[i] as u32 + b.bits(LENGTH_EXTRA[i])?;
                let d = usize::from(dist.decode(b)?);
                if d >= 30 {
                    return Err(Stop);
                }
                let distance = DIST_BASE[d] + b.bits(DIST_EXTRA[d])?;
                *longest = (*longest).max(distance);
            }
            _ => return Err(Stop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::{Compressor, TAIL};

    fn with_tail(p: &[u8]) -> Vec<u8> {
        let mut v = p.to_vec();
        v.extend_from_slice(&TAIL);
        v
    }

    #[test]
    fn rfc_7692_examples() {
        // §7.2.3.1: literals only.
        assert_eq!(
            longest_distance(&with_tail(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])),
            0
        );
        // §7.2.3.2: the second "Hello" refers 5 bytes back into the first.
        assert_eq!(
            longest_distance(&with_tail(&[0xf2, 0x00, 0x11, 0x00, 0x00])),
            5
        );
        // §7.2.3.3: a stored block.
        let stored = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        assert_eq!(longest_distance(&with_tail(&stored)), 0);
    }

    #[test]
    fn the_distance_follows_the_data() {
        // 300 random bytes twice: the copy refers exactly 300 bytes back.
        let mut x = 7u32;
        let block: Vec<u8> = (0..300)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        let msg = [block.clone(), block].concat();
        for bits in 10..=15 {
            let p = Compressor::new(bits, true).compress(&msg);
            assert_eq!(longest_distance(&with_tail(&p)), 300, "bits {bits}");
        }
        // zlib reaches back at most the window less its 262-byte lookahead: with 9 bits,
        // 250 bytes, so the copy is sent as literals.
        let p = Compressor::new(9, true).compress(&msg);
        assert_eq!(longest_distance(&with_tail(&p)), 0);
    }

    #[test]
    fn a_window_never_exceeds_what_the_compressor_was_given() {
        let text: Vec<u8> = (0..40_000u32).map(|i| (i * i % 251) as u8).collect();
        for bits in 9..=15u8 {
            let mut c = Compressor::new(bits, false);
            for _ in 0..2 {
                let p = c.compress(&text);
                let d = longest_distance(&with_tail(&p));
                assert!(d <= 1 << bits, "bits {bits}: distance {d}");
            }
        }
    }

    #[test]
    fn garbage_stops_without_panicking() {
        for data in [
            &[0xffu8, 0xff, 0xff][..],
            &[0x07],
            &[],
            &[0x05, 0xff, 0xff, 0xff],
        ] {
            let _ = longest_distance(data);
        }
    }
}
