//! The typed case model: what one case file entry means once loaded and expanded.
//!
//! Everything here is plain data. The loader (`load.rs`) turns TOML into these types and
//! rejects what cannot run; the runner interprets them; nothing here touches a socket.

use serde::{Deserialize, Serialize};

use super::payload::Payload;

/// How strongly the RFC words the requirement a case checks (RFC 2119).
///
/// The level decides what a miss costs: a MUST miss fails, a SHOULD miss is non-strict
/// (a failure under `--strict`), a MAY or informational case never fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    #[serde(rename = "MUST")]
    Must,
    #[serde(rename = "SHOULD")]
    Should,
    #[serde(rename = "MAY")]
    May,
    #[serde(rename = "INFO")]
    Info,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
            Level::Info => "INFO",
        }
    }
}

/// Which peer the case tests. wsspec plays the other side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Server,
    Client,
    Both,
}

impl Role {
    /// Whether a case with this role applies when testing `target`.
    pub fn applies_to(self, target: Role) -> bool {
        self == Role::Both || self == target
    }
}

/// The verdict an expectation grants when it matches or misses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grade {
    Pass,
    Informational,
    Unimplemented,
    NonStrict,
    Fail,
    /// wsspec could not judge the case (a panic in wsspec while running it): never granted
    /// by a case file, and it makes the run exit 2, since the fault is wsspec's, not the peer's.
    Error,
}

impl Grade {
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Pass => "pass",
            Grade::Informational => "informational",
            Grade::Unimplemented => "unimplemented",
            Grade::NonStrict => "non-strict",
            Grade::Fail => "fail",
            Grade::Error => "error",
        }
    }
}

/// One fully expanded case, ready to run.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub title: String,
    /// e.g. "RFC 6455 §5.2"
    pub section: String,
    pub requirement: String,
    pub level: Level,
    pub role: Role,
    pub autobahn: Option<String>,
    /// How the case differs on purpose from the Autobahn case it maps to (an empty final
    /// fragment Autobahn adds, an echo it waits for), so a reader comparing results knows
    /// the two do not send exactly the same bytes.
    pub autobahn_note: Option<String>,
    /// Per-step timeout override for this case (large messages need longer).
    pub timeout_ms: Option<u64>,
    /// Whether the runner closes the connection cleanly after the steps and judges the
    /// close behaviour. Handshake-rejection cases turn it off.
    pub close: bool,
    /// Runs only when a `--cases` pattern names it: a family too slow for every run, such as
    /// `deflate.volume` (Autobahn 12.x and 13.x, a thousand messages per case).
    pub opt_in: bool,
    /// A check over every connection of the run (client mode), judged with this case.
    pub run_check: Option<RunCheck>,
    /// Whether wsspec answers the peer's pings (RFC 6455 §5.5.2). Only a case about the
    /// peer's keep-alive turns it off, to see what the peer does when its pings go
    /// unanswered; everywhere else wsspec is a conforming endpoint.
    pub pongs: bool,
    pub steps: Vec<Step>,
    /// Where the case came from, for error messages and reports: `file:line`.
    pub origin: String,
    /// Implementations known to deviate here, with why (e.g. the reference server's library):
    /// a run told which implementation it tests reports these as known, not as regressions.
    pub deviations: Vec<(String, String)>,
}

impl Case {
    /// The area is the first dotted segment of the id: it groups output and reports.
    pub fn area(&self) -> &str {
        self.id.split('.').next().unwrap_or(&self.id)
    }

    /// The steps in the order they run, each with its index in [`steps`](Self::steps): a
    /// repeated step comes as often as it repeats, with the same index.
    pub fn runs(&self) -> impl Iterator<Item = (usize, &Step)> {
        self.steps.iter().enumerate().flat_map(|(i, s)| {
            let (step, times) = s.runs();
            std::iter::repeat_n((i, step), times)
        })
    }
}

/// A check that looks across every connection of a run rather than at one case's
/// connection (RFC 6455 §10.3: masking keys must be unpredictable; §4.1: the handshake key
/// is random per connection). Client-role only; judged after the other cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunCheck {
    /// Every masking key the client used: none zero, none repeated, no fixed bits.
    MaskKeys,
    /// Every `Sec-WebSocket-Key` the client sent: all different, none fixed.
    HandshakeKeys,
}

impl RunCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            RunCheck::MaskKeys => "mask-keys",
            RunCheck::HandshakeKeys => "handshake-keys",
        }
    }
}

/// One step: an action wsspec performs or an observation it waits for.
#[derive(Debug, Clone)]
pub enum Step {
    Send(Send, WriteOpts),
    Wait {
        ms: u64,
    },
    Expect(Expect),
    /// `repeat = N` on a step: the step, run N times in a row. Kept as one step rather than
    /// N copies, so a case of a thousand messages costs what a case of one does when the
    /// 2,000-odd cases load (copies made loading alone peak near 56 MiB). Never nested,
    /// never a handshake (the loader rejects both).
    Repeat {
        times: u32,
        step: Box<Step>,
    },
}

impl Step {
    /// The step to run and how many times in a row: a [`Step::Repeat`] unwrapped, any
    /// other step once. Whoever walks a case's steps goes through this, so a repeated
    /// step counts as often as it runs.
    pub fn runs(&self) -> (&Step, usize) {
        match self {
            Step::Repeat { times, step } => (step, *times as usize),
            other => (other, 1),
        }
    }
}

/// How the bytes of a send step reach the socket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOpts {
    /// Write in pieces of this many bytes (one TCP write each).
    pub chop: Option<usize>,
    /// Pause between pieces.
    pub pause_ms: u64,
    /// When false, the bytes are held and written together with the next send step, so a
    /// handshake and the first frames can share one TCP segment.
    pub flush: bool,
}

/// Something wsspec sends.
// A case has a handful of steps: keeping the handshake inline costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Send {
    Handshake(HandshakeSpec),
    Frame(FrameSpec),
    /// A data message, possibly split into fragments.
    Message(MessageSpec),
    /// Exact bytes, no framing.
    Raw(Payload),
    /// Half-close our side of TCP.
    Shutdown,
    /// Over HTTP/2: open a second WebSocket stream on the same connection, send it a frame
    /// with a reserved opcode, and wait until the server fails that stream; the case's own
    /// stream goes on after it (RFC 9113 §5.4.2: a stream error ends one stream).
    SecondStreamError,
}

/// Changes to the standard opening handshake for one case: to the request wsspec sends
/// when it tests a server (RFC 6455 §4.1), or to the response it sends when it tests a
/// client (§4.2.2).
#[derive(Debug, Clone, Default)]
pub struct HandshakeSpec {
    /// Response only (role = "client"): the status code, reason phrase, or whole status line.
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub status_line: Option<String>,
    pub method: Option<String>,
    pub target: Option<String>,
    pub version: Option<String>,
    pub request_line: Option<String>,
    /// Headers replaced (or added if absent), in order.
    pub set: Vec<(String, String)>,
    /// Headers appended even if present (duplicates).
    pub add: Vec<(String, String)>,
    pub remove: Vec<String>,
    pub rename: Vec<(String, String)>,
    /// Request: offered; response: selected (`Sec-WebSocket-Protocol`/`-Extensions`).
    pub protocols: Vec<String>,
    pub extensions: Vec<String>,
}

impl HandshakeSpec {
    /// Applies the case's changes to a request, in the order every user of a handshake step
    /// relies on: request line parts, offers, then rename, remove, set and add, so the case
    /// always has the last word.
    pub fn apply_to(&self, req: &mut crate::handshake::RequestSpec) {
        let h = self;
        if let Some(m) = &h.method {
            req.method = m.clone();
        }
        if let Some(t) = &h.target {
            req.target = t.clone();
        }
        if let Some(v) = &h.version {
            req.version = v.clone();
        }
        if h.request_line.is_some() {
            req.request_line = h.request_line.clone();
        }
        if !h.protocols.is_empty() {
            req.set("Sec-WebSocket-Protocol", &h.protocols.join(", "));
        }
        if !h.extensions.is_empty() {
            req.set("Sec-WebSocket-Extensions", &h.extensions.join(", "));
        }
        for (from, to) in &h.rename {
            req.rename(from, to);
        }
        for name in &h.remove {
            req.remove(name);
        }
        for (k, v) in &h.set {
            req.set(k, v);
        }
        for (k, v) in &h.add {
            req.add(k, v);
        }
    }
}

/// A frame with every header field under the case's control.
#[derive(Debug, Clone)]
pub struct FrameSpec {
    pub opcode: u8,
    pub fin: bool,
    pub rsv1: bool,
    pub rsv2: bool,
    pub rsv3: bool,
    pub mask: MaskSpec,
    pub length_form: LengthSpec,
    pub declared_len: Option<u64>,
    pub payload: Payload,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskSpec {
    /// What the sending role must do: masked with a fresh random key as a client,
    /// unmasked as a server (RFC 6455 §5.1).
    Auto,
    /// Masked with a fresh random key whatever the role (`mask = true`): from wsspec as a
    /// server, a frame the client must reject.
    Random,
    None,
    Key([u8; 4]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthSpec {
    Minimal,
    Bits7,
    Bits16,
    Bits64,
}

#[derive(Debug, Clone)]
pub struct MessageSpec {
    pub opcode: u8,
    pub payload: Payload,
    pub fragments: Fragmenting,
    pub mask: MaskSpec,
    /// Compress with the agreed permessage-deflate parameters (RFC 7692 §6.1): the
    /// fragments then split the compressed payload, and RSV1 marks the first frame.
    pub compress: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fragmenting {
    /// One frame.
    Whole,
    /// Frames of this many payload bytes (the last may be shorter).
    Size(usize),
    /// Exactly these payload sizes; they must add up to the payload length. For a compressed
    /// message (whose length the case cannot know) they are taken from the start of the
    /// compressed payload and what is left goes in one more frame.
    Sizes(Vec<usize>),
}

/// Something wsspec waits to observe, and how to grade it.
#[derive(Debug, Clone)]
pub struct Expect {
    pub kind: ExpectKind,
    /// Grade when this expectation is met.
    pub grade: Grade,
    /// Grade when it is not; anything but `fail` lets the case go on.
    pub otherwise: Grade,
    pub timeout_ms: Option<u64>,
    /// Short human text on what this outcome means (shown in reports).
    pub note: Option<String>,
    /// Added by wsspec rather than written in the case (the implicit opening handshake):
    /// judged at MUST level whatever the case's level, since every case depends on it.
    pub implicit: bool,
    /// Waits `--idle` (how long an idle connection is watched for heartbeats) instead of
    /// the step timeout, unless `timeout_ms` is given; a `ping` expectation always does.
    pub idle: bool,
}

impl Expect {
    /// Whether this expectation waits `--idle` rather than the step timeout.
    pub fn waits_idle(&self) -> bool {
        self.timeout_ms.is_none() && (self.idle || matches!(self.kind, ExpectKind::Ping))
    }
}

#[derive(Debug, Clone)]
pub enum ExpectKind {
    /// The handshake response.
    Handshake(HandshakeExpect),
    /// A data message. `payload: None` means the last message wsspec sent, echoed.
    Message {
        opcode: Option<u8>,
        payload: Option<Payload>,
    },
    /// A pong. `payload: None` means the payload of the last ping wsspec sent.
    Pong { payload: Option<Payload> },
    /// A ping from the peer, with any payload: a heartbeat on an idle connection (RFC 6455
    /// §5.5.2 lets a ping serve "as a keepalive"). wsspec answers it as always, unless
    /// the case turned its pongs off.
    Ping,
    /// A close frame, with a code in `codes` when given.
    Close { codes: Vec<u16> },
    /// The peer fails the connection (RFC 6455 §7.1.7): a close frame or a dropped TCP
    /// connection, and no data message before it. `codes` are the codes the RFC names for
    /// the failure; another code is a failure all the same, graded non-strict (§7.1.7 only
    /// asks for "an appropriate status code"), except the `codes_not` a peer that ignored
    /// the offending input would answer with (1005 stands for a close frame without code).
    Fail {
        codes: Vec<u16>,
        codes_not: Vec<u16>,
    },
    /// The peer closes TCP.
    TcpClosed,
    /// Nothing arrives for this long (pongs and data alike count as something).
    Silence { ms: u64 },
    /// The first alternative that matches decides, with its own grade.
    Any(Vec<Expect>),
}

#[derive(Debug, Clone, Default)]
pub struct HandshakeExpect {
    /// Accepted status codes; empty means 101.
    pub status: Vec<StatusPattern>,
    /// Headers that must be present, with a value containing the given text
    /// (case-insensitive); an empty text only asks for presence.
    pub headers: Vec<(String, String)>,
    /// Headers that must be absent.
    pub absent: Vec<String>,
    /// Client role only (the expectation checks the client's request): which groups of
    /// RFC 6455 §4.1 request rules to check. None: all of them; empty: none (the implicit
    /// handshake step, so a client with one flaw fails only the case about that flaw).
    pub rules: Option<Vec<RequestCheck>>,
    /// Whether the server must accept or decline wsspec's permessage-deflate offer. Whatever
    /// this says, an answer that fits no valid offer is the server's violation (RFC 7692 §7).
    pub deflate: Option<DeflateExpect>,
    /// For a refusal (no 101 in `status`) that the RFC lets a server decline to make: the
    /// grade of a valid 101 instead, e.g. a server that understands version 8 may accept
    /// it (RFC 6455 §4.2.2). None: a 101 misses like any other wrong status.
    pub accepted: Option<Grade>,
}

/// What a handshake expectation asks of the permessage-deflate negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeflateExpect {
    /// The 101 agrees on permessage-deflate with a valid answer.
    Accepted,
    /// No agreement: a 101 without permessage-deflate, or no 101 at all.
    Declined,
    /// Client role: the client's request offers permessage-deflate validly, and the answer
    /// in the case's own response accepts one of its offers (RFC 7692 §7.1), so the rest
    /// of the case (compressed messages both ways) can run.
    Offered,
    /// Client role: the client's request offers permessage-deflate validly, and the answer
    /// in the case's own response accepts none of its offers (an invalid answer, or one
    /// that does not fit, RFC 7692 §5, §7), so the client must fail the connection.
    OfferedAnswerInvalid,
}

impl DeflateExpect {
    /// Whether the expectation is about the client's request (wsspec the server).
    pub fn judges_request(self) -> bool {
        matches!(
            self,
            DeflateExpect::Offered | DeflateExpect::OfferedAnswerInvalid
        )
    }
}

/// A group of the request rules of RFC 6455 §4.1 (see `handshake::HandshakeRule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestCheck {
    /// The method is GET.
    Method,
    /// HTTP/1.1 or higher.
    HttpVersion,
    /// The request-target is an absolute path or absolute URI.
    Target,
    /// Exactly one non-empty Host.
    Host,
    /// Upgrade: websocket.
    Upgrade,
    /// Connection includes Upgrade.
    Connection,
    /// One Sec-WebSocket-Key, base64 of 16 bytes.
    Key,
    /// Sec-WebSocket-Version: 13.
    Version,
    /// Sec-WebSocket-Protocol, if present, is a list of unique tokens.
    Protocol,
    /// Sec-WebSocket-Extensions, if present, follows the §9.1 grammar.
    Extensions,
    /// Every permessage-deflate offer is valid: known parameters, each once, window bits
    /// 8-15 (RFC 7692 §7).
    Deflate,
}

impl RequestCheck {
    pub const ALL: [RequestCheck; 11] = [
        RequestCheck::Method,
        RequestCheck::HttpVersion,
        RequestCheck::Target,
        RequestCheck::Host,
        RequestCheck::Upgrade,
        RequestCheck::Connection,
        RequestCheck::Key,
        RequestCheck::Version,
        RequestCheck::Protocol,
        RequestCheck::Extensions,
        RequestCheck::Deflate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestCheck::Method => "method",
            RequestCheck::HttpVersion => "http-version",
            RequestCheck::Target => "target",
            RequestCheck::Host => "host",
            RequestCheck::Upgrade => "upgrade",
            RequestCheck::Connection => "connection",
            RequestCheck::Key => "key",
            RequestCheck::Version => "version",
            RequestCheck::Protocol => "protocol",
            RequestCheck::Extensions => "extensions",
            RequestCheck::Deflate => "deflate",
        }
    }
}

/// A status code or a class such as `4xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPattern {
    Exact(u16),
    Class(u16),
}

impl StatusPattern {
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Exact(s) => s == status,
            StatusPattern::Class(c) => status / 100 == c,
        }
    }
}

impl std::fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusPattern::Exact(s) => write!(f, "{s}"),
            StatusPattern::Class(c) => write!(f, "{c}xx"),
        }
    }
}
