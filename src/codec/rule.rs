//! The RFC requirements a peer's frames can break, and a located breach.
//!
//! Every finding names its rule so that a report can quote the RFC section
//! and requirement it is judged against, rather than a library's opinion.

use std::fmt;

/// One requirement from RFC 6455 that received data can violate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// An RSV bit is set that no negotiated extension defines.
    ReservedBitSet,
    /// Opcode 0x3-0x7 or 0xB-0xF.
    ReservedOpcode,
    /// A control frame with FIN clear.
    ControlFrameFragmented,
    /// A control frame with a payload over 125 bytes.
    ControlFrameTooLong,
    /// A 16- or 64-bit length form used for a length that fits a shorter one.
    NonMinimalLength,
    /// A 64-bit length with its most significant bit set.
    Length64MsbSet,
    /// A server received an unmasked frame.
    MaskMissing,
    /// A client received a masked frame.
    MaskPresent,
    /// A close frame whose payload is exactly one byte.
    ClosePayloadOneByte,
    /// A close frame carrying a status code that may not be sent.
    CloseCodeInvalid,
    /// A close frame whose reason is not UTF-8.
    CloseReasonInvalidUtf8,
    /// A continuation frame with no fragmented message open.
    ContinuationWithoutMessage,
    /// A text or binary frame while a fragmented message is still open.
    MessageInterleaved,
    /// A text message whose payload is not UTF-8.
    InvalidUtf8,
    /// A frame larger than this endpoint's limit.
    FrameTooLarge,
    /// A reassembled message larger than this endpoint's limit.
    MessageTooLarge,
}

impl Rule {
    /// Every rule, for listings and exhaustive tests.
    pub const ALL: [Rule; 16] = [
        Rule::ReservedBitSet,
        Rule::ReservedOpcode,
        Rule::ControlFrameFragmented,
        Rule::ControlFrameTooLong,
        Rule::NonMinimalLength,
        Rule::Length64MsbSet,
        Rule::MaskMissing,
        Rule::MaskPresent,
        Rule::ClosePayloadOneByte,
        Rule::CloseCodeInvalid,
        Rule::CloseReasonInvalidUtf8,
        Rule::ContinuationWithoutMessage,
        Rule::MessageInterleaved,
        Rule::InvalidUtf8,
        Rule::FrameTooLarge,
        Rule::MessageTooLarge,
    ];

    /// The section that states the requirement, e.g. `"RFC 6455 §5.2"`.
    pub fn section(&self) -> &'static str {
        match self {
            Rule::ReservedBitSet
            | Rule::ReservedOpcode
            | Rule::NonMinimalLength
            | Rule::Length64MsbSet => "RFC 6455 §5.2",
            Rule::MaskMissing | Rule::MaskPresent => "RFC 6455 §5.1",
            Rule::ControlFrameFragmented | Rule::ControlFrameTooLong => "RFC 6455 §5.5",
            Rule::ClosePayloadOneByte | Rule::CloseReasonInvalidUtf8 => "RFC 6455 §5.5.1",
            Rule::CloseCodeInvalid => "RFC 6455 §7.4",
            Rule::ContinuationWithoutMessage | Rule::MessageInterleaved => "RFC 6455 §5.4",
            Rule::InvalidUtf8 => "RFC 6455 §8.1",
            Rule::FrameTooLarge | Rule::MessageTooLarge => "RFC 6455 §10.4",
        }
    }

    /// The requirement, quoted or closely paraphrased from the RFC.
    pub fn text(&self) -> &'static str {
        match self {
            Rule::ReservedBitSet => {
                "RSV1-3 MUST be 0 unless an extension is negotiated that defines meanings for non-zero values"
            }
            Rule::ReservedOpcode => {
                "if an unknown opcode is received, the receiving endpoint MUST fail the connection"
            }
            Rule::ControlFrameFragmented => "control frames MUST NOT be fragmented",
            Rule::ControlFrameTooLong => {
                "all control frames MUST have a payload length of 125 bytes or less"
            }
            Rule::NonMinimalLength => {
                "the minimal number of bytes MUST be used to encode the length"
            }
            Rule::Length64MsbSet => {
                "in a 64-bit payload length the most significant bit MUST be 0"
            }
            Rule::MaskMissing => {
                "a client MUST mask all frames it sends; the server MUST close the connection upon receiving an unmasked frame"
            }
            Rule::MaskPresent => {
                "a server MUST NOT mask frames it sends; a client MUST close the connection if it detects a masked frame"
            }
            Rule::ClosePayloadOneByte => {
                "if a close frame has a body, its first two bytes MUST be a 2-byte status code"
            }
            Rule::CloseCodeInvalid => {
                "a close frame MUST NOT carry a status code that is reserved (1004-1006, 1015), unassigned (1016-2999) or outside 1000-4999"
            }
            Rule::CloseReasonInvalidUtf8 => {
                "the close reason following the status code is UTF-8-encoded data"
            }
            Rule::ContinuationWithoutMessage => {
                "a continuation frame (opcode 0x0) is only valid inside a fragmented message"
            }
            Rule::MessageInterleaved => {
                "the fragments of one message MUST NOT be interleaved with the fragments of another"
            }
            Rule::InvalidUtf8 => {
                "an endpoint that finds a text stream is not valid UTF-8 MUST fail the connection"
            }
            Rule::FrameTooLarge => {
                "implementations MUST protect themselves against exceeding their frame size limits"
            }
            Rule::MessageTooLarge => {
                "implementations MUST protect themselves against exceeding their message size limits"
            }
        }
    }

    /// Stable kebab-case identifier for reports and case files.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::ReservedBitSet => "reserved-bit-set",
            Rule::ReservedOpcode => "reserved-opcode",
            Rule::ControlFrameFragmented => "control-frame-fragmented",
            Rule::ControlFrameTooLong => "control-frame-too-long",
            Rule::NonMinimalLength => "non-minimal-length",
            Rule::Length64MsbSet => "length64-msb-set",
            Rule::MaskMissing => "mask-missing",
            Rule::MaskPresent => "mask-present",
            Rule::ClosePayloadOneByte => "close-payload-one-byte",
            Rule::CloseCodeInvalid => "close-code-invalid",
            Rule::CloseReasonInvalidUtf8 => "close-reason-invalid-utf8",
            Rule::ContinuationWithoutMessage => "continuation-without-message",
            Rule::MessageInterleaved => "message-interleaved",
            Rule::InvalidUtf8 => "invalid-utf8",
            Rule::FrameTooLarge => "frame-too-large",
            Rule::MessageTooLarge => "message-too-large",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}: {})", self.name(), self.section(), self.text())
    }
}

/// A rule broken by the peer, located at the absolute stream offset of the
/// byte where the breach first becomes visible to a reader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule} at offset {offset}: {detail}")]
pub struct Violation {
    pub rule: Rule,
    pub offset: u64,
    pub detail: String,
}

impl Violation {
    pub fn new(rule: Rule, offset: u64, detail: impl Into<String>) -> Self {
        Self {
            rule,
            offset,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_cites_a_section_and_has_a_unique_name() {
        let mut names: Vec<_> = Rule::ALL.iter().map(Rule::name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Rule::ALL.len());
        for r in Rule::ALL {
            assert!(r.section().starts_with("RFC 6455 §"), "{r:?}");
            assert!(!r.text().is_empty());
        }
    }

    #[test]
    fn display_mentions_rule_section_and_offset() {
        let v = Violation::new(Rule::ReservedOpcode, 42, "opcode 0x3");
        let s = v.to_string();
        assert!(s.contains("reserved-opcode") && s.contains("§5.2") && s.contains("42"));
    }
}
