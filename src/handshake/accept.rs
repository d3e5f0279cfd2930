//! Sec-WebSocket-Key generation/decoding and the Sec-WebSocket-Accept
//! computation (RFC 6455 §1.3, §4.1 item 7, §4.2.2 step 5.4).

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::Engine;
use sha1::{Digest, Sha1};

/// The GUID every endpoint appends to the key before hashing (RFC 6455 §1.3).
/// It only exists so that a non-WebSocket server cannot produce a valid
/// accept value by accident.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Decodes keys whose final base64 character carries non-zero pad bits, so
/// that [`decode_key`] can tell "not base64" apart from "base64, but not the
/// canonical encoding" (erratum 3150: the RFC's own example key is such a
/// non-canonical encoding).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// Computes the `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`:
/// base64(SHA-1(key + GUID)).
///
/// The key is hashed as the string that was sent, never base64-decoded first
/// (RFC 6455 §4.1 item 4 of the response checks), so this works for malformed
/// keys too; a test case that sent a broken key can still compute what a
/// server that echoes it blindly would answer.
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(WEBSOCKET_GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

/// Encodes 16 nonce bytes as a `Sec-WebSocket-Key` value.
///
/// The randomness is taken as a parameter rather than drawn here so that this
/// module has no RNG dependency and test cases can replay a fixed key; callers
/// must pass fresh random bytes per connection (RFC 6455 §4.1 item 7).
pub fn generate_key(bytes: [u8; 16]) -> String {
    STANDARD.encode(bytes)
}

/// Why a `Sec-WebSocket-Key` value is not a valid key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The value is not base64 at all (bad alphabet, bad padding, bad length).
    #[error("not valid base64")]
    NotBase64,
    /// The value is base64 but does not decode to the 16 bytes §4.2.1 requires.
    #[error("decodes to {0} bytes, not 16")]
    WrongLength(usize),
    /// The value decodes to 16 bytes only if non-zero pad bits are ignored,
    /// like the misprinted example in RFC 6455 §4.1 (erratum 3150).
    #[error("non-canonical base64 (non-zero pad bits); canonical form is {canonical}")]
    NonCanonical {
        /// The correct encoding of the same 16 bytes.
        canonical: String,
    },
}

/// Decodes a `Sec-WebSocket-Key` value into its 16 nonce bytes.
///
/// Strict: anything but the canonical base64 of exactly 16 bytes is an error.
/// [`KeyError::NonCanonical`] is reported separately because erratum 3150
/// makes rejecting such keys optional for servers.
pub fn decode_key(key: &[u8]) -> Result<[u8; 16], KeyError> {
    let decoded = LENIENT.decode(key).map_err(|_| KeyError::NotBase64)?;
    let bytes: [u8; 16] = decoded
        .as_slice()
        .try_into()
        .map_err(|_| KeyError::WrongLength(decoded.len()))?;
    let canonical = STANDARD.encode(bytes);
    if canonical.as_bytes() != key {
        return Err(KeyError::NonCanonical { canonical });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_section_1_3_vector() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn generate_key_round_trips() {
        for seed in 0..=255u8 {
            let bytes: [u8; 16] =
                std::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(i as u8));
            let key = generate_key(bytes);
            assert_eq!(key.len(), 24);
            assert!(key.ends_with("=="));
            assert_eq!(STANDARD.decode(&key).unwrap().len(), 16);
            assert_eq!(decode_key(key.as_bytes()), Ok(bytes));
        }
    }

    #[test]
    fn erratum_3150_example_key() {
        let bytes: [u8; 16] = std::array::from_fn(|i| i as u8 + 1);
        assert_eq!(generate_key(bytes), "AQIDBAUGBwgJCgsMDQ4PEA==");
        assert_eq!(
            decode_key(b"AQIDBAUGBwgJCgsMDQ4PEC=="),
            Err(KeyError::NonCanonical {
                canonical: "AQIDBAUGBwgJCgsMDQ4PEA==".into()
            })
        );
    }

    #[test]
    fn bad_keys() {
        assert_eq!(decode_key(b"not base64!"), Err(KeyError::NotBase64));
        assert_eq!(decode_key(b""), Err(KeyError::WrongLength(0)));
        assert_eq!(decode_key(b"AQIDBA=="), Err(KeyError::WrongLength(4)));
        assert_eq!(
            decode_key(b"AQIDBAUGBwgJCgsMDQ4PEA"),
            Err(KeyError::NotBase64),
            "padding is required"
        );
    }

    #[quickcheck_macros::quickcheck]
    fn any_16_bytes_round_trip(v: Vec<u8>) -> bool {
        let mut bytes = [0u8; 16];
        for (d, s) in bytes.iter_mut().zip(v) {
            *d = s;
        }
        decode_key(generate_key(bytes).as_bytes()) == Ok(bytes)
    }
}
