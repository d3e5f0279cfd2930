//! The Huffman code of HPACK (RFC 7541 §5.2, Appendix B), which QPACK reuses for string
//! literals (RFC 9204 §4.1.2). wsspec never Huffman-codes what it sends (a case's bytes stay
//! readable on the wire); it decodes what a server sends, which it may code as it likes.
//!
//! The code is canonical: codes of one length are consecutive, shorter lengths first and
//! symbols in order within a length. So the table below holds only each symbol's code length
//! (Appendix B's "len" column; symbol 256 is EOS), and the codes follow from it.

/// Code length in bits of each symbol 0..=255 and EOS (256), from RFC 7541 Appendix B.
const LENGTHS: [u8; 257] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5,
    5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6,
    6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22,
    23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22,
    21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20,
    22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19,
    21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22,
    22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

const EOS: u16 = 256;
const MAX_LEN: usize = 30;

/// The canonical code per length: the first code of that length, how many codes have it,
/// and where its symbols start in the symbols sorted by (length, symbol).
struct Canonical {
    first: [u32; MAX_LEN + 1],
    count: [u32; MAX_LEN + 1],
    offset: [u32; MAX_LEN + 1],
    symbols: Vec<u16>,
}

fn canonical() -> &'static Canonical {
    static TABLE: std::sync::OnceLock<Canonical> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut symbols: Vec<u16> = (0..=EOS).collect();
        symbols.sort_by_key(|&s| (LENGTHS[usize::from(s)], s));
        let mut count = [0u32; MAX_LEN + 1];
        for &l in &LENGTHS {
            count[usize::from(l)] += 1;
        }
        let mut first = [0u32; MAX_LEN + 1];
        let mut offset = [0u32; MAX_LEN + 1];
        let (mut code, mut seen) = (0u32, 0u32);
        for len in 1..=MAX_LEN {
            code <<= 1;
            first[len] = code;
            offset[len] = seen;
            code += count[len];
            seen += count[len];
        }
        Canonical {
            first,
            count,
            offset,
            symbols,
        }
    })
}

/// Why a Huffman-coded string does not decode (RFC 7541 §5.2 makes each a decoding error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HuffmanError {
    #[error("the Huffman code contains EOS")]
    Eos,
    #[error("the Huffman padding is longer than 7 bits or not all ones")]
    Padding,
}

/// Decodes a Huffman-coded string literal.
pub fn decode(coded: &[u8]) -> Result<Vec<u8>, HuffmanError> {
    let t = canonical();
    let mut out = Vec::with_capacity(coded.len() * 8 / 5);
    let (mut code, mut len) = (0u32, 0usize);
    for byte in coded {
        for i in (0..8).rev() {
            code = (code << 1) | u32::from((byte >> i) & 1);
            len += 1;
            if len > MAX_LEN {
                // Only EOS's prefix (30 ones) can run this long: EOS is not allowed.
                return Err(HuffmanError::Eos);
            }
            let index = code.wrapping_sub(t.first[len]);
            if code >= t.first[len] && index < t.count[len] {
                let sym = t.symbols[(t.offset[len] + index) as usize];
                if sym == EOS {
                    return Err(HuffmanError::Eos);
                }
                out.push(sym as u8);
                code = 0;
                len = 0;
            }
        }
    }
    // What is left must be padding: fewer than 8 bits, all ones (the start of EOS).
    if len > 7 || code != (1u32 << len) - 1 {
        return Err(HuffmanError::Padding);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// RFC 7541 Appendix C.4 and C.6: Huffman-coded header values and their text.
    #[test]
    fn decodes_the_rfc_examples() {
        for (coded, text) in [
            ("f1e3c2e5f23a6ba0ab90f4ff", "www.example.com"),
            ("a8eb10649cbf", "no-cache"),
            ("25a849e95ba97d7f", "custom-key"),
            ("25a849e95bb8e8b4bf", "custom-value"),
            ("6402", "302"),
            ("aec3771a4b", "private"),
            (
                "d07abe941054d444a8200595040b8166e082a62d1bff",
                "Mon, 21 Oct 2013 20:13:21 GMT",
            ),
            (
                "9d29ad171863c78f0b97c8e9ae82ae43d3",
                "https://www.example.com",
            ),
        ] {
            assert_eq!(
                decode(&hex(coded)).as_deref(),
                Ok(text.as_bytes()),
                "{text}"
            );
        }
    }

    #[test]
    fn bad_padding_and_eos_are_errors() {
        // "0" is 00000 (5 bits): padded with zeros instead of ones.
        assert_eq!(decode(&[0x00]), Err(HuffmanError::Padding));
        // A whole byte of padding after a symbol.
        assert_eq!(decode(&hex("6402ff")), Err(HuffmanError::Padding));
        // 30 one bits: EOS.
        assert_eq!(decode(&[0xff, 0xff, 0xff, 0xfc]), Err(HuffmanError::Eos));
        assert_eq!(decode(&[]), Ok(vec![]));
    }
}
