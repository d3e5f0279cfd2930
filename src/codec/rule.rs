//! A located breach of an RFC requirement by a peer's frames.
//!
//! Every finding names its rule so that a report can quote the RFC section
//! and requirement it is judged against, rather than a library's opinion.

/// The rules received frames can break are the catalogue's ([`crate::rules`]), so a
/// violation found here carries the rule id reports group by.
pub use crate::rules::Rule;

use std::borrow::Cow;

/// A rule broken by the peer, located at the absolute stream offset of the
/// byte where the breach first becomes visible to a reader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule} at offset {offset}: {detail}")]
pub struct Violation {
    pub rule: Rule,
    pub offset: u64,
    /// Borrowed where the words are fixed: hostile streams break a rule in nearly every
    /// frame, and a `String` per violation was a tenth of the frame decoder's work.
    pub detail: Cow<'static, str>,
}

impl Violation {
    pub fn new(rule: Rule, offset: u64, detail: impl Into<Cow<'static, str>>) -> Self {
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
    fn display_mentions_rule_section_and_offset() {
        let v = Violation::new(Rule::ReservedOpcode, 42, "opcode 0x3");
        let s = v.to_string();
        assert!(s.contains("reserved-opcode") && s.contains("§5.2") && s.contains("42"));
    }
}
