//! What wsspec observes from the peer, in order: the input to every expectation.

/// One observation. Violations travel in the same stream so the judge sees them in order,
/// but expectations look past them: they are judged once, at the end of the case.
#[derive(Debug, Clone)]
pub enum Event {
    /// The peer's handshake response (we are the client).
    Handshake(Box<crate::handshake::Response>),
    /// The response could not be parsed: garbage, oversize, or the connection ended early.
    HandshakeInvalid(String),
    /// A complete data message. A message over the streaming threshold is not held:
    /// `payload` is then only its head and `summary` gives its length and digest.
    Message {
        opcode: u8,
        payload: Vec<u8>,
        frames: usize,
        summary: Option<crate::codec::Summary>,
    },
    /// A data message the peer sent whole but wsspec could not read (compressed data that
    /// does not inflate, inflated text that is not UTF-8): its violation comes first. It
    /// decides an expectation as a message that does not match would, at once, where
    /// waiting would only run out the timeout for a message that already came.
    Unreadable {
        opcode: u8,
        why: &'static str,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close {
        code: Option<u16>,
        reason: Vec<u8>,
    },
    /// The peer broke a rule of the protocol in what it sent.
    Violation(PeerViolation),
    /// The peer closed its side of TCP.
    Eof,
    /// The connection failed (reset, or a read error).
    Reset(String),
    /// wsspec stopped reading: the peer announced more than wsspec will buffer.
    Fatal(String),
}

impl Event {
    /// Whether this event ends what the peer can send: nothing can follow it.
    pub fn is_end(&self) -> bool {
        matches!(self, Event::Eof | Event::Reset(_) | Event::Fatal(_))
    }

    /// A short description for "observed" lines in reports.
    pub fn describe(&self) -> String {
        match self {
            Event::Handshake(r) => format!("handshake response {} {}", r.status, r.reason),
            Event::HandshakeInvalid(e) => format!("invalid handshake response: {e}"),
            Event::Message {
                opcode,
                payload,
                frames,
                summary,
            } => {
                let kind = if *opcode == 1 { "text" } else { "binary" };
                let frag = if *frames > 1 {
                    format!(" in {frames} frames")
                } else {
                    String::new()
                };
                let len = summary.map_or(payload.len() as u64, |s| s.len);
                format!("{kind} message of {len} bytes{frag}")
            }
            Event::Unreadable { opcode, why } => {
                let kind = if *opcode == 1 { "text" } else { "binary" };
                format!("a compressed {kind} message that {why}")
            }
            Event::Ping(p) => format!("ping with {} bytes", p.len()),
            Event::Pong(p) => format!("pong with {} bytes", p.len()),
            Event::Close {
                code: Some(c),
                reason,
            } if !reason.is_empty() => {
                format!("close {c} {:?}", crate::text::bounded_lossy(reason, 60))
            }
            Event::Close { code: Some(c), .. } => format!("close {c}"),
            Event::Close { code: None, .. } => "close without code".into(),
            Event::Violation(v) => format!("protocol violation: {}", v.detail),
            Event::Eof => "TCP closed by peer".into(),
            Event::Reset(e) => format!("connection error: {e}"),
            Event::Fatal(e) => format!("stopped reading: {e}"),
        }
    }
}

/// A rule the peer broke, with where it shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PeerViolation {
    /// The catalogue rule broken, by its stable id, so reports can group by rule. `None`
    /// only in a results.json written before rules had ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<crate::rules::Rule>,
    /// e.g. "RFC 6455 §5.1"
    pub section: String,
    /// The requirement: the rule's sentence.
    pub rule: String,
    /// What the peer did, with its byte offset in the stream from the peer.
    pub detail: String,
}

impl PeerViolation {
    /// A breach of `rule`; the section and sentence are the catalogue's, kept in the
    /// results so a report needs no catalogue to quote them.
    pub fn new(rule: crate::rules::Rule, detail: impl Into<String>) -> PeerViolation {
        PeerViolation {
            id: Some(rule),
            section: rule.section().to_owned(),
            rule: rule.text().to_owned(),
            detail: detail.into(),
        }
    }
}
