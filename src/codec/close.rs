//! Close frame bodies (RFC 6455 §5.5.1, §7.4).

use super::rule::Rule;
use crate::utf8::{Utf8Error, Utf8Validator};

/// Whether `code` may appear in a close frame on the wire.
///
/// Valid: 1000-1003 and 1007-1011 (RFC 6455 §7.4.1), 1012-1014 (later
/// IANA registrations: Service Restart, Try Again Later, Bad Gateway) and
/// 3000-4999 (§7.4.2, registered/private use). Invalid: 0-999 (not used),
/// 1004 (reserved), 1005, 1006 and 1015 (MUST NOT be set in a close frame:
/// they only describe a closure locally), 1016-2999 (reserved for future
/// revisions, so no peer can legitimately send them today) and 5000+.
pub fn close_code_valid_on_wire(code: u16) -> bool {
    VALID_ON_WIRE
        .iter()
        .any(|&(lo, hi)| (lo..=hi).contains(&code))
}

/// The codes [`close_code_valid_on_wire`] accepts, as inclusive ranges.
const VALID_ON_WIRE: [(u16, u16); 3] = [(1000, 1003), (1007, 1014), (3000, 4999)];

/// Whether some valid code has `high` as its first byte: if none has, the first
/// byte of the code already shows it invalid. Range arithmetic rather than
/// trying the 256 codes one by one, which was most of the frame decoder's time
/// on close frames under the fuzzer's comparison tracing.
fn some_valid_code_starts_with(high: u8) -> bool {
    let first = u16::from(high) << 8;
    let last = first | 0xFF;
    VALID_ON_WIRE
        .iter()
        .any(|&(lo, hi)| lo <= last && first <= hi)
}

/// Builds a close body: nothing when `code` is None, otherwise the code in
/// network byte order followed by `reason`. Deliberately does not check
/// the code or reason, so callers can build invalid bodies on purpose.
pub fn close_payload(code: Option<u16>, reason: &[u8]) -> Vec<u8> {
    match code {
        None => reason.to_vec(),
        Some(c) => {
            let mut p = Vec::with_capacity(2 + reason.len());
            p.extend_from_slice(&c.to_be_bytes());
            p.extend_from_slice(reason);
            p
        }
    }
}

/// A close body taken apart and judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The status code, if the body has at least two bytes.
    pub code: Option<u16>,
    /// Bytes after the code, exactly as received (possibly not UTF-8).
    pub reason: Vec<u8>,
    /// The first rule the body breaks, if any.
    pub problem: Option<Rule>,
    /// Payload-relative index of the byte where `problem` becomes visible
    /// (`Some` exactly when `problem` is). For a one-byte body this is 0.
    pub problem_offset: Option<usize>,
}

/// One finding in a close body, payload-relative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CloseProblem {
    pub rule: Rule,
    pub at: usize,
    pub detail: String,
}

/// Splits and judges a close body. An empty body is valid (no code).
pub fn parse_close_payload(p: &[u8]) -> CloseInfo {
    let problems = close_problems(p);
    let first = problems.first();
    CloseInfo {
        code: (p.len() >= 2).then(|| u16::from_be_bytes([p[0], p[1]])),
        reason: p.get(2..).unwrap_or_default().to_vec(),
        problem: first.map(|pr| pr.rule),
        problem_offset: first.map(|pr| pr.at),
    }
}

/// Every problem in a close body, in order of position, so the decoder can
/// report an invalid code *and* an invalid reason in the same frame.
pub(crate) fn close_problems(p: &[u8]) -> Vec<CloseProblem> {
    let mut out = Vec::new();
    if p.len() == 1 {
        out.push(CloseProblem {
            rule: Rule::ClosePayloadOneByte,
            at: 0,
            detail: format!("close payload is the single byte {:#04x}", p[0]),
        });
        return out;
    }
    if p.len() < 2 {
        return out;
    }
    let code = u16::from_be_bytes([p[0], p[1]]);
    if !close_code_valid_on_wire(code) {
        // Fail fast: if no code starting with this high byte is valid, the
        // first byte already gives it away.
        let any_valid = some_valid_code_starts_with(p[0]);
        out.push(CloseProblem {
            rule: Rule::CloseCodeInvalid,
            at: if any_valid { 1 } else { 0 },
            detail: format!("close code {code} may not be sent on the wire"),
        });
    }
    let mut v = Utf8Validator::new();
    let utf8 = v.feed(&p[2..]).and_then(|()| v.finish());
    match utf8 {
        Ok(()) => {}
        Err(Utf8Error::Invalid { offset }) => out.push(CloseProblem {
            rule: Rule::CloseReasonInvalidUtf8,
            at: 2 + offset as usize,
            detail: format!("close reason byte {offset} is not valid UTF-8"),
        }),
        // The frame length tells a reader where the body ends, so a
        // truncated sequence is visible at the body's last byte.
        Err(Utf8Error::Incomplete { .. }) => out.push(CloseProblem {
            rule: Rule::CloseReasonInvalidUtf8,
            at: p.len() - 1,
            detail: "close reason ends inside a UTF-8 sequence".to_owned(),
        }),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_validity_table() {
        let valid: Vec<u16> = (0..=u16::MAX)
            .filter(|&c| close_code_valid_on_wire(c))
            .collect();
        assert_eq!(valid.len(), 4 + 8 + 2000);
        for c in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999,
        ] {
            assert!(close_code_valid_on_wire(c), "{c}");
        }
        for c in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, u16::MAX] {
            assert!(!close_code_valid_on_wire(c), "{c}");
        }
    }

    #[test]
    fn high_bytes_that_start_a_valid_code() {
        // 1000-1014 are 0x03E8-0x03F6; 3000-4999 are 0x0BB8-0x1387.
        let starting: Vec<u8> = (0..=u8::MAX)
            .filter(|&b| some_valid_code_starts_with(b))
            .collect();
        let mut want = vec![0x03];
        want.extend(0x0B..=0x13);
        assert_eq!(starting, want);
    }

    #[test]
    fn builds_and_parses_bodies() {
        let p = close_payload(Some(1000), b"bye");
        assert_eq!(p, [0x03, 0xE8, b'b', b'y', b'e']);
        let info = parse_close_payload(&p);
        assert_eq!(info.code, Some(1000));
        assert_eq!(info.reason, b"bye");
        assert_eq!(info.problem, None);
        assert_eq!(info.problem_offset, None);
        assert_eq!(close_payload(None, b""), Vec::<u8>::new());
        assert_eq!(parse_close_payload(&[]).problem, None);
    }

    #[test]
    fn one_byte_body() {
        let info = parse_close_payload(&[0x03]);
        assert_eq!(info.code, None);
        assert_eq!(info.problem, Some(Rule::ClosePayloadOneByte));
        assert_eq!(info.problem_offset, Some(0));
    }

    #[test]
    fn invalid_codes_fail_at_the_first_telling_byte() {
        // 1005 = 03 ED: high byte 03 also starts valid 1000-1003.
        let info = parse_close_payload(&close_payload(Some(1005), b""));
        assert_eq!(info.problem, Some(Rule::CloseCodeInvalid));
        assert_eq!(info.problem_offset, Some(1));
        // 0x00xx is < 256: hopeless from the first byte.
        let info = parse_close_payload(&close_payload(Some(5), b""));
        assert_eq!(info.problem_offset, Some(0));
        // 5000 = 13 88; 0x13xx also holds 4864-4999.
        assert_eq!(
            parse_close_payload(&close_payload(Some(5000), b"")).problem_offset,
            Some(1)
        );
        assert_eq!(
            parse_close_payload(&close_payload(Some(6000), b"")).problem_offset,
            Some(0)
        );
    }

    #[test]
    fn invalid_reasons() {
        let info = parse_close_payload(&close_payload(Some(1000), &[b'a', 0xED, 0xA0, 0x80]));
        assert_eq!(info.problem, Some(Rule::CloseReasonInvalidUtf8));
        assert_eq!(info.problem_offset, Some(4));
        let info = parse_close_payload(&close_payload(Some(1000), &[b'a', 0xE2, 0x82]));
        assert_eq!(info.problem_offset, Some(4));
        // Both problems exist; the earlier one is reported first.
        let all = close_problems(&close_payload(Some(1004), &[0xFF]));
        let rules: Vec<_> = all.iter().map(|p| (p.rule, p.at)).collect();
        assert_eq!(
            rules,
            [
                (Rule::CloseCodeInvalid, 1),
                (Rule::CloseReasonInvalidUtf8, 2)
            ]
        );
    }
}
