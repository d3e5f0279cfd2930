//! QPACK (RFC 9204) as wsspec needs it: the static table only, never the dynamic table.
//!
//! wsspec's SETTINGS leave SETTINGS_QPACK_MAX_TABLE_CAPACITY at its default 0 (RFC 9204
//! §5: "The default value is zero"), so a server may not insert into a dynamic table and its
//! field sections can only use static references and literals; no encoder or decoder stream
//! carries anything. What wsspec sends is every field as a literal with a literal name, not
//! Huffman-coded: the HEADERS of a request hold exactly the bytes a case asked for, a missing
//! or unknown pseudo-header included, and read as text in a packet capture.

use super::huffman;

/// RFC 9204 Appendix A: the static table, index 0 to 98.
pub const STATIC: [(&str, &str); 99] = [
    (":authority", ""),
    (":path", "/"),
    ("age", "0"),
    ("content-disposition", ""),
    ("content-length", "0"),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("referer", ""),
    ("set-cookie", ""),
    (":method", "CONNECT"),
    (":method", "DELETE"),
    (":method", "GET"),
    (":method", "HEAD"),
    (":method", "OPTIONS"),
    (":method", "POST"),
    (":method", "PUT"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "103"),
    (":status", "200"),
    (":status", "304"),
    (":status", "404"),
    (":status", "503"),
    ("accept", "*/*"),
    ("accept", "application/dns-message"),
    ("accept-encoding", "gzip, deflate, br"),
    ("accept-ranges", "bytes"),
    ("access-control-allow-headers", "cache-control"),
    ("access-control-allow-headers", "content-type"),
    ("access-control-allow-origin", "*"),
    ("cache-control", "max-age=0"),
    ("cache-control", "max-age=2592000"),
    ("cache-control", "max-age=604800"),
    ("cache-control", "no-cache"),
    ("cache-control", "no-store"),
    ("cache-control", "public, max-age=31536000"),
    ("content-encoding", "br"),
    ("content-encoding", "gzip"),
    ("content-type", "application/dns-message"),
    ("content-type", "application/javascript"),
    ("content-type", "application/json"),
    ("content-type", "application/x-www-form-urlencoded"),
    ("content-type", "image/gif"),
    ("content-type", "image/jpeg"),
    ("content-type", "image/png"),
    ("content-type", "text/css"),
    ("content-type", "text/html; charset=utf-8"),
    ("content-type", "text/plain"),
    ("content-type", "text/plain;charset=utf-8"),
    ("range", "bytes=0-"),
    ("strict-transport-security", "max-age=31536000"),
    (
        "strict-transport-security",
        "max-age=31536000; includesubdomains",
    ),
    (
        "strict-transport-security",
        "max-age=31536000; includesubdomains; preload",
    ),
    ("vary", "accept-encoding"),
    ("vary", "origin"),
    ("x-content-type-options", "nosniff"),
    ("x-xss-protection", "1; mode=block"),
    (":status", "100"),
    (":status", "204"),
    (":status", "206"),
    (":status", "302"),
    (":status", "400"),
    (":status", "403"),
    (":status", "421"),
    (":status", "425"),
    (":status", "500"),
    ("accept-language", ""),
    ("access-control-allow-credentials", "FALSE"),
    ("access-control-allow-credentials", "TRUE"),
    ("access-control-allow-headers", "*"),
    ("access-control-allow-methods", "get"),
    ("access-control-allow-methods", "get, post, options"),
    ("access-control-allow-methods", "options"),
    ("access-control-expose-headers", "content-length"),
    ("access-control-request-headers", "content-type"),
    ("access-control-request-method", "get"),
    ("access-control-request-method", "post"),
    ("alt-svc", "clear"),
    ("authorization", ""),
    (
        "content-security-policy",
        "script-src 'none'; object-src 'none'; base-uri 'none'",
    ),
    ("early-data", "1"),
    ("expect-ct", ""),
    ("forwarded", ""),
    ("if-range", ""),
    ("origin", ""),
    ("purpose", "prefetch"),
    ("server", ""),
    ("timing-allow-origin", "*"),
    ("upgrade-insecure-requests", "1"),
    ("user-agent", ""),
    ("x-forwarded-for", ""),
    ("x-frame-options", "deny"),
    ("x-frame-options", "sameorigin"),
];

/// Why a server's field section cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QpackError {
    #[error("the field section ends in the middle of a field line")]
    Truncated,
    #[error("an integer in the field section is too large")]
    Overflow,
    #[error("static table index {0} does not exist (RFC 9204 Appendix A has 0-98)")]
    StaticIndex(u64),
    #[error("the field section uses the dynamic table, which wsspec's SETTINGS did not allow (RFC 9204 §3.2.3: SETTINGS_QPACK_MAX_TABLE_CAPACITY is 0)")]
    Dynamic,
    #[error("{0}")]
    Huffman(#[from] huffman::HuffmanError),
}

/// A field section of literal field lines with literal names (RFC 9204 §4.5.6), none
/// Huffman-coded, after the prefix of a section that references no dynamic table.
pub fn encode(fields: &[(String, String)]) -> Vec<u8> {
    // Required Insert Count 0, Delta Base 0 (RFC 9204 §4.5.1).
    let mut out = vec![0x00, 0x00];
    for (name, value) in fields {
        // 001N H + name length on 3 bits; N = 0 (may be indexed by an intermediary), H = 0.
        integer(&mut out, 0x20, 3, name.len() as u64);
        out.extend_from_slice(name.as_bytes());
        integer(&mut out, 0x00, 7, value.len() as u64);
        out.extend_from_slice(value.as_bytes());
    }
    out
}

/// An integer with an N-bit prefix (RFC 7541 §5.1, which RFC 9204 §4.1.1 uses), after the
/// bits `first` already holds.
fn integer(out: &mut Vec<u8>, first: u8, prefix: u32, mut value: u64) {
    let max = (1u64 << prefix) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Result<u8, QpackError> {
        self.bytes
            .get(self.at)
            .copied()
            .ok_or(QpackError::Truncated)
    }

    /// An integer with an N-bit prefix starting in the current byte.
    fn integer(&mut self, prefix: u32) -> Result<u64, QpackError> {
        let max = (1u64 << prefix) - 1;
        let mut value = u64::from(self.peek()?) & max;
        self.at += 1;
        if value < max {
            return Ok(value);
        }
        let mut shift = 0u32;
        loop {
            let b = self.peek()?;
            self.at += 1;
            if shift > 56 {
                return Err(QpackError::Overflow);
            }
            value += u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
    }

    /// A string literal whose Huffman flag is the bit just above an N-bit length prefix.
    fn string(&mut self, prefix: u32) -> Result<Vec<u8>, QpackError> {
        let huffman = self.peek()? & (1 << prefix) != 0;
        let len = self.integer(prefix)?;
        let len = usize::try_from(len).map_err(|_| QpackError::Overflow)?;
        let end = self
            .at
            .checked_add(len)
            .filter(|e| *e <= self.bytes.len())
            .ok_or(QpackError::Truncated)?;
        let raw = &self.bytes[self.at..end];
        self.at = end;
        if huffman {
            Ok(huffman::decode(raw)?)
        } else {
            Ok(raw.to_vec())
        }
    }
}

fn static_entry(index: u64) -> Result<(&'static str, &'static str), QpackError> {
    usize::try_from(index)
        .ok()
        .and_then(|i| STATIC.get(i).copied())
        .ok_or(QpackError::StaticIndex(index))
}

/// One field line: name and value, as the peer sent them (not necessarily UTF-8).
pub type Field = (Vec<u8>, Vec<u8>);

/// The field lines of a field section that uses the static table and literals only.
pub fn decode(section: &[u8]) -> Result<Vec<Field>, QpackError> {
    let mut r = Reader {
        bytes: section,
        at: 0,
    };
    if r.integer(8)? != 0 {
        return Err(QpackError::Dynamic);
    }
    // Delta Base: meaningless without a dynamic table (sign bit and 7-bit prefix).
    r.integer(7)?;
    let mut fields = Vec::new();
    while r.at < section.len() {
        let b = r.peek()?;
        if b & 0x80 != 0 {
            // 1T + index (6): indexed field line; T = 1 is the static table.
            if b & 0x40 == 0 {
                return Err(QpackError::Dynamic);
            }
            let (n, v) = static_entry(r.integer(6)?)?;
            fields.push((n.as_bytes().to_vec(), v.as_bytes().to_vec()));
        } else if b & 0x40 != 0 {
            // 01NT + index (4): literal field line with a name reference.
            if b & 0x10 == 0 {
                return Err(QpackError::Dynamic);
            }
            let (n, _) = static_entry(r.integer(4)?)?;
            let value = r.string(7)?;
            fields.push((n.as_bytes().to_vec(), value));
        } else if b & 0x20 != 0 {
            // 001NH + length (3): literal field line with a literal name.
            let name = r.string(3)?;
            let value = r.string(7)?;
            fields.push((name, value));
        } else {
            // 0001 (indexed post-base) and 0000 (post-base name reference): dynamic only.
            return Err(QpackError::Dynamic);
        }
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_table_has_its_landmarks() {
        assert_eq!(STATIC[0], (":authority", ""));
        assert_eq!(STATIC[15], (":method", "CONNECT"));
        assert_eq!(STATIC[25], (":status", "200"));
        assert_eq!(STATIC[67], (":status", "400"));
        assert_eq!(STATIC[98], ("x-frame-options", "sameorigin"));
    }

    #[test]
    fn sent_fields_are_plain_literals() {
        let fields = vec![
            (":protocol".to_owned(), "websocket".to_owned()),
            ("x".to_owned(), "y".repeat(200)),
        ];
        let bytes = encode(&fields);
        // Prefix, then 0x20|7 + (9 - 7): the 3-bit name length continues; ":protocol",
        // 0x09, "websocket".
        assert_eq!(&bytes[..4], &[0x00, 0x00, 0x27, 0x02]);
        assert_eq!(&bytes[4..13], b":protocol");
        assert_eq!(bytes[13], 9);
        // 200 = 127 + 73: the value length continues in a second byte.
        assert_eq!(&bytes[24..27], &[b'x', 0x7f, 73]);
        let back = decode(&bytes).expect("decodes");
        assert_eq!(back[0], (b":protocol".to_vec(), b"websocket".to_vec()));
        assert_eq!(back[1].1.len(), 200);
    }

    #[test]
    fn reads_static_references_and_huffman_values() {
        // :status 200 (indexed, static 25); server: with a Huffman value "302" (6402);
        // literal name "a" with value "b".
        let section = [
            0x00, 0x00, 0xd9, 0x5f, 0x4d, 0x82, 0x64, 0x02, 0x21, b'a', 0x01, b'b',
        ];
        let f = decode(&section).expect("decodes");
        assert_eq!(f[0], (b":status".to_vec(), b"200".to_vec()));
        assert_eq!(f[1], (b"server".to_vec(), b"302".to_vec()));
        assert_eq!(f[2], (b"a".to_vec(), b"b".to_vec()));
        // :status 400 is static 67: 0xff then 67 - 63 = 4.
        let f = decode(&[0x00, 0x00, 0xff, 0x04]).expect("decodes");
        assert_eq!(f[0].1, b"400");
    }

    #[test]
    fn dynamic_references_and_truncation_are_errors() {
        assert_eq!(decode(&[0x01, 0x00]), Err(QpackError::Dynamic));
        assert_eq!(decode(&[0x00, 0x00, 0x80]), Err(QpackError::Dynamic));
        assert_eq!(decode(&[0x00, 0x00, 0x10]), Err(QpackError::Dynamic));
        assert_eq!(
            decode(&[0x00, 0x00, 0x21, b'a']),
            Err(QpackError::Truncated)
        );
        assert_eq!(
            decode(&[0x00, 0x00, 0xff, 0x7f]),
            Err(QpackError::StaticIndex(190))
        );
        assert!(
            decode(&[0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
                .is_err()
        );
    }
}
