//! The oracle: what RFC 6455 requires of a server for a generated sequence, written as the
//! expectations of a case, so running it reuses `run_case` and its strict judging.
//!
//! The oracle does not re-implement the rules. It encodes the sequence to the bytes the
//! session will write and reads them back as a server must (RFC 6455 §5.1: masked frames),
//! with wsspec's strict decoder and message assembler. What a correct server does follows:
//!
//! - every complete message is echoed (the peer under test is an echo server, as for the
//!   rest of the suite) and every ping answered with a pong of the same payload, in order;
//! - at the first frame that breaks a rule the server must fail the connection on (an RSV
//!   bit, a reserved opcode, an unmasked frame, an oversized or fragmented control frame, a
//!   continuation with no message open, a new message inside an open one, text that is not
//!   UTF-8, a close frame with an invalid code, a one-byte body or a reason that is not
//!   UTF-8, a 64-bit length with its top bit set) the case sends a probe ping and expects
//!   `fail`: nothing after the bad frame may be processed, everything before it must be;
//! - a valid close frame must be answered with a close frame, and ends the sequence;
//! - a length written in a longer form than needed binds the sender only (§5.2), so the
//!   server may process the frame or fail: both are accepted, and the sequence ends there;
//! - a request that breaks §4.2.1 must be refused with an HTTP 4xx.
//!
//! Invalid UTF-8 found before a text message ends is graded as the corpus does: failing at
//! once passes, waiting for the end of the message is non-strict (§8.1 fail-fast).
//!
//! When a frame lies about its length, the server reads our later bytes as part of it;
//! with the masking keys fixed (the generator pins them) that is still deterministic, and
//! the oracle completes a frame left open at the end with zero bytes so that every frame
//! the server starts reading, it can finish. Sequences whose outcome depends on the
//! server's own limits (a frame announcing megabytes) are [`Uncertain`] and never run.

use super::generate::{frame, message_frames};
use super::Sequence;
use crate::case::{
    Expect, ExpectKind, Fragmenting, Grade, HandshakeExpect, HandshakeSpec, LengthSpec, MaskSpec,
    Payload, Send, StatusPattern, Step, WriteOpts,
};
use crate::codec::{
    Assembled, Assembler, Decoder, DecoderConfig, Expect as Masking, FatalError, Frame, LengthForm,
    OpCode, Rule,
};
use crate::handshake::{generate_key, parse_request, validate_request, HandshakeRule, RequestSpec};

/// The payload of the ping sent after a frame the server must fail on: a server that
/// ignored the bad frame answers it, so a miss shows at once instead of at the timeout.
pub(crate) const PROBE: &[u8] = b"wsspec-probe";

/// Largest frame the oracle assumes any server accepts; a frame announcing more may be
/// refused by a limit (1009) or waited for, so its outcome is not the RFC's to say.
const ASSUMED_FRAME_LIMIT: u64 = 1 << 20;
/// Longest filler the oracle writes to complete a frame left open by a lying length.
const MAX_FILLER: usize = 8 * 1024;
/// Masking key the oracle uses where the session draws a random one: without a lying
/// length, frame boundaries and unmasked payloads do not depend on the key.
const ANY_KEY: [u8; 4] = [0x5a, 0x17, 0xc3, 0x99];

/// The RFC requirement a plan's decisive expectation rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Stable kebab-case name, e.g. `reserved-bit-set`.
    pub name: String,
    /// e.g. "RFC 6455 §5.2"
    pub section: String,
    pub text: String,
}

impl Requirement {
    fn of_rule(r: Rule) -> Requirement {
        Requirement {
            name: r.name().to_owned(),
            section: r.section().to_owned(),
            text: r.text().to_owned(),
        }
    }

    fn of_handshake(r: HandshakeRule) -> Requirement {
        Requirement {
            name: kebab(&format!("{r:?}")),
            section: r.section().to_owned(),
            text: r.text().to_owned(),
        }
    }

    pub(crate) fn new(name: &str, section: &str, text: &str) -> Requirement {
        Requirement {
            name: name.to_owned(),
            section: section.to_owned(),
            text: text.to_owned(),
        }
    }
}

fn kebab(camel: &str) -> String {
    let mut s = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            s.push('-');
        }
        s.push(c.to_ascii_lowercase());
    }
    s
}

/// How a correct server ends the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It answers everything (echoes and pongs), then closes cleanly when wsspec does.
    Answers,
    /// It fails the connection at a frame that breaks a rule.
    Fails,
    /// It answers a valid close frame.
    Closes,
    /// It may process a non-minimally encoded frame or fail; either is fine.
    Either,
    /// It refuses the opening handshake with an HTTP error.
    Refused,
}

/// The case the oracle makes of a sequence: steps with expectations, ready to render.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Steps as written in the case (the implicit handshake is left to the loader).
    pub steps: Vec<Step>,
    /// Whether the runner's closing handshake applies (`close` in the case file).
    pub close: bool,
    pub outcome: Outcome,
    /// The rule the decisive expectation rests on (None when the server must just answer).
    pub requirement: Option<Requirement>,
}

impl Plan {
    /// Send steps in the case (with those the oracle adds: a probe ping, filler).
    pub fn send_steps(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s, Step::Send(..)))
            .count()
    }
}

/// The oracle cannot say what a correct server does (or the case loader would reject the
/// steps); such sequences are not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncertain(pub String);

fn expect(kind: ExpectKind) -> Expect {
    Expect {
        kind,
        grade: Grade::Pass,
        otherwise: Grade::Fail,
        timeout_ms: None,
        note: None,
        implicit: false,
        idle: false,
    }
}

/// Writes smaller than this make a request "trickled": a server may refuse it for a limit.
const TRICKLE: usize = 16;

fn flushed(opts: &WriteOpts) -> WriteOpts {
    WriteOpts {
        flush: true,
        ..opts.clone()
    }
}

fn probe() -> Step {
    Step::Send(
        Send::Frame(frame(OpCode::PING.0, true, PROBE.to_vec())),
        WriteOpts {
            flush: true,
            ..Default::default()
        },
    )
}

fn pong(payload: &[u8]) -> Expect {
    expect(ExpectKind::Pong {
        payload: Some(Payload::Bytes(payload.to_vec())),
    })
}

fn fail() -> Expect {
    expect(ExpectKind::Fail {
        codes: Vec::new(),
        codes_not: Vec::new(),
    })
}

/// The answer `e`, or, when `may_fail_first`, the connection failed instead: the server
/// read a frame it must fail on in the same write, and failing as soon as it sees it, before
/// its application echoes a message read just before, is as correct as answering first
/// (RFC 6455 §7.1.7 asks only that it stop processing; §5.5.1 forbids data frames after
/// its close frame).
fn answer_or_fail(e: Expect, may_fail_first: bool) -> Step {
    if !may_fail_first {
        return Step::Expect(e);
    }
    let mut any = expect(ExpectKind::Any(vec![e, fail()]));
    any.note = Some(
        "a frame the server must fail on came in the same write: it may fail before answering"
            .into(),
    );
    Step::Expect(any)
}

/// The request the session writes for `h` (without `--header`s: the oracle judges the
/// case's own changes).
fn request_bytes(h: &HandshakeSpec) -> Vec<u8> {
    let mut req = RequestSpec::standard("127.0.0.1", 9001, false, "/", generate_key([7; 16]));
    h.apply_to(&mut req);
    req.to_bytes()
}

/// The §4.2.1 rule the request for `h` breaks, if any: the server must refuse it.
pub(crate) fn handshake_refused(h: &HandshakeSpec) -> Option<Requirement> {
    let bytes = request_bytes(h);
    match parse_request(&bytes, 64 * 1024) {
        Ok(Some(req)) => validate_request(&req)
            .into_iter()
            // Refusing a key with non-zero pad bits is optional (erratum 3150).
            .find(|p| p.rule != HandshakeRule::KeyNonCanonical)
            .map(|p| refusal_requirement(p.rule)),
        Ok(None) | Err(_) => Some(Requirement::new(
            "request-malformed",
            "RFC 6455 §4.2.1",
            "The client's opening handshake consists of ... a valid HTTP request; otherwise the server MUST stop processing the client's handshake and return an HTTP response with an appropriate error code (such as 400 Bad Request).",
        )),
    }
}

/// The server's side of a request rule: the sentence that makes a server refuse a request
/// breaking `rule`. [`HandshakeRule::section`] cites the client's side (§4.1, "The method
/// of the request MUST be GET, and the HTTP version MUST be at least 1.1"), right when
/// wsspec judges a client's request but not when a server accepted one: the server's
/// MUST is §4.2.1's (or §4.2.2's, for the version). Rules without such a sentence keep
/// their own citation.
pub fn refusal_requirement(rule: HandshakeRule) -> Requirement {
    use HandshakeRule::*;
    const STOP: &str = "If the server, while reading the handshake, finds that the client did not send a handshake that matches the description below ... the server MUST stop processing the client's handshake and return an HTTP response with an appropriate error code (such as 400 Bad Request). ... ";
    let item = match rule {
        HttpVersion | MethodNotGet | TargetInvalid => {
            "An HTTP/1.1 or higher GET request, including a \"Request-URI\" [RFC2616] that should be interpreted as a /resource name/ defined in Section 3 (or an absolute HTTP/HTTPS URI containing the /resource name/)."
        }
        HostMissing => "A |Host| header field containing the server's authority.",
        UpgradeMissing | UpgradeNotWebsocket => {
            "An |Upgrade| header field containing the value \"websocket\", treated as an ASCII case-insensitive value."
        }
        ConnectionMissingUpgrade => {
            "A |Connection| header field that includes the token \"Upgrade\", treated as an ASCII case-insensitive value."
        }
        KeyMissing | KeyInvalid => {
            "A |Sec-WebSocket-Key| header field with a base64-encoded (see Section 4 of [RFC4648]) value that, when decoded, is 16 bytes in length."
        }
        VersionMissing => "A |Sec-WebSocket-Version| header field, with a value of 13.",
        VersionNot13 => {
            return Requirement::new(
                &kebab(&format!("{rule:?}")),
                "RFC 6455 §4.2.2",
                "If this version does not match a version understood by the server, the server MUST abort the WebSocket handshake described in this section and instead send an appropriate HTTP error code (such as 426 Upgrade Required) and a |Sec-WebSocket-Version| header field indicating the version(s) the server is capable of understanding.",
            )
        }
        _ => return Requirement::of_handshake(rule),
    };
    Requirement::new(
        &kebab(&format!("{rule:?}")),
        "RFC 6455 §4.2.1",
        &format!("{STOP}{item}"),
    )
}

/// Whether the request asks for one earlier hybi version whose framing is RFC 6455's (7 or
/// 8) and is otherwise valid: RFC 6455 §4.2.2 asks for 426 only for a version "not
/// understood by the server", so a server may accept it.
pub(crate) fn understandable_version(h: &HandshakeSpec) -> bool {
    let bytes = request_bytes(h);
    let Ok(Some(req)) = parse_request(&bytes, 64 * 1024) else {
        return false;
    };
    let mut versions = req.headers_named("Sec-WebSocket-Version");
    let single = match (versions.next(), versions.next()) {
        (Some(v), None) => matches!(v.trim_ascii(), b"7" | b"8"),
        _ => false,
    };
    single
        && validate_request(&req).iter().all(|p| {
            matches!(
                p.rule,
                HandshakeRule::VersionNot13 | HandshakeRule::KeyNonCanonical
            )
        })
}

fn encode(f: &crate::case::FrameSpec, lie: bool) -> Result<Vec<u8>, Uncertain> {
    let len = f.payload.len();
    match f.length_form {
        LengthSpec::Bits7 if len > 125 => return Err(Uncertain("7-bit length over 125".into())),
        LengthSpec::Bits16 if len > 0xFFFF => {
            return Err(Uncertain("16-bit length over 65535".into()))
        }
        _ => {}
    }
    if f.declared_len.is_some_and(|d| d > i64::MAX as u64) {
        return Err(Uncertain(
            "declared_len does not fit a TOML integer; send such a frame raw".into(),
        ));
    }
    let mask = match f.mask {
        MaskSpec::Auto | MaskSpec::Random if lie => {
            return Err(Uncertain(
                "a random masking key in a sequence with a lying length".into(),
            ))
        }
        MaskSpec::Auto | MaskSpec::Random => Some(ANY_KEY),
        MaskSpec::None => None,
        MaskSpec::Key(k) => Some(k),
    };
    Frame {
        fin: f.fin,
        rsv1: f.rsv1,
        rsv2: f.rsv2,
        rsv3: f.rsv3,
        opcode: f.opcode,
        mask,
        length_form: match f.length_form {
            LengthSpec::Minimal => LengthForm::Minimal,
            LengthSpec::Bits7 => LengthForm::Bits7,
            LengthSpec::Bits16 => LengthForm::Bits16,
            LengthSpec::Bits64 => LengthForm::Bits64,
        },
        declared_len: f.declared_len,
        payload: f.payload.bytes(),
    }
    .encode()
    .map_err(|e| Uncertain(format!("cannot encode a frame: {e}")))
}

/// The bytes the session writes for one send step.
fn wire(send: &Send, lie: bool) -> Result<Vec<u8>, Uncertain> {
    match send {
        Send::Frame(f) => encode(f, lie),
        Send::Message(m) => {
            let len = m.payload.len();
            match &m.fragments {
                Fragmenting::Size(0) => return Err(Uncertain("fragment_size 0".into())),
                Fragmenting::Sizes(s) if s.is_empty() || s.iter().sum::<usize>() != len => {
                    return Err(Uncertain("fragment sizes do not add up".into()))
                }
                _ => {}
            }
            if m.opcode != OpCode::TEXT.0 && m.opcode != OpCode::BINARY.0 {
                return Err(Uncertain("a message is text or binary".into()));
            }
            let mut out = Vec::new();
            for f in message_frames(m) {
                out.extend(encode(&f, lie)?);
            }
            Ok(out)
        }
        Send::Raw(p) => Ok(p.bytes()),
        Send::Handshake(_) | Send::Shutdown | Send::SecondStreamError => Err(Uncertain(
            "only frames, messages and raw bytes follow the handshake".into(),
        )),
    }
}

/// Where reading the bytes so far left the server.
enum Drained {
    /// Needs more bytes (possibly in the middle of a frame).
    More,
    /// Must fail the connection; `lenient` when only fail-fast UTF-8 checking notices.
    Failed { rule: Rule, lenient: bool },
    /// Received a valid close frame.
    Closed,
    /// Read a frame it may process or refuse; `effect` is what processing it produces.
    Either { effect: Option<Expect> },
}

#[derive(Debug, Default, Clone, Copy)]
struct Behind {
    ping: bool,
    open: bool,
}

/// A correct server's reading side.
#[derive(Clone)]
struct Server {
    dec: Decoder,
    asm: Assembler,
    /// Every byte fed, so the start of a frame not yet complete can be read.
    fed: Vec<u8>,
}

impl Server {
    fn new() -> Server {
        Server {
            dec: Decoder::new(DecoderConfig {
                expect: Masking::Masked,
                max_frame_payload: ASSUMED_FRAME_LIMIT,
                allowed_rsv: 0,
            }),
            asm: Assembler::new(1 << 24),
            fed: Vec::new(),
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.dec.feed(bytes);
        self.fed.extend_from_slice(bytes);
    }

    /// Whether the answers held so far (`held`, not awaited yet) must be awaited before
    /// `bytes` are written, because the order of what comes back is not fixed once they
    /// share a write:
    /// - a pong against an echo: the pong is the protocol layer's, "as soon as is
    ///   practical" (§5.5.2), the echo the application's; Python websockets answers a ping
    ///   read together with a message's last frame before it echoes the message;
    /// - a pong after a pong: an endpoint "MAY elect to send a Pong frame for only the most
    ///   recently processed Ping frame" (§5.5.2);
    /// - anything before a frame that ends the sequence (one the server fails on, even if
    ///   only its first two bytes come now, a close frame, a non-minimal length): a server
    ///   may act on it before its application echoes what came before in the same read,
    ///   as the suite's `close.after-message` allows.
    fn answers_first(&self, bytes: &[u8], held: &[Expect]) -> Result<bool, Uncertain> {
        let mut trial = self.clone();
        trial.feed(bytes);
        let mut new = Vec::new();
        let end = trial.drain(&mut new)?;
        let is_pong = |e: &Expect| matches!(e.kind, ExpectKind::Pong { .. });
        Ok(!matches!(end, Drained::More)
            || trial.visible_violation()
            || (!new.is_empty() && held.iter().chain(&new).any(is_pong)))
    }

    /// Whether the first two bytes of the frame still incomplete already break a rule the
    /// server must fail on (a reserved bit or opcode, no mask, a fragmented or long
    /// control frame, a continuation with no message open, a data frame inside one). A
    /// server may fail as soon as it has read those two bytes, before the frame ends and
    /// before its application has echoed what came earlier in the same read: Python
    /// websockets does, on the opcode.
    fn visible_violation(&self) -> bool {
        let at = usize::try_from(self.dec.offset()).unwrap_or(usize::MAX);
        let Some(&[b0, b1]) = self.fed.get(at..).and_then(|r| r.get(..2)) else {
            return false;
        };
        let op = OpCode(b0 & 0x0f);
        let fin = b0 & 0x80 != 0;
        let len7 = b1 & 0x7f;
        b0 & 0x70 != 0
            || op.is_reserved()
            || b1 & 0x80 == 0
            || (op.is_control() && (!fin || len7 > 125))
            || (op == OpCode::CONTINUATION && !self.asm.in_message())
            || ((op == OpCode::TEXT || op == OpCode::BINARY) && self.asm.in_message())
    }

    /// Reads every complete frame, adding the answers they call for to `answers`.
    fn drain(&mut self, answers: &mut Vec<Expect>) -> Result<Drained, Uncertain> {
        loop {
            let df = match self.dec.next_frame() {
                Ok(None) => return Ok(Drained::More),
                Ok(Some(df)) => df,
                Err(FatalError::FrameTooLarge {
                    header_violations, ..
                }) => {
                    return if header_violations
                        .iter()
                        .any(|v| v.rule == Rule::Length64MsbSet)
                    {
                        Ok(Drained::Failed {
                            rule: Rule::Length64MsbSet,
                            lenient: false,
                        })
                    } else {
                        Err(Uncertain(
                            "a frame longer than any limit a server can be assumed to have".into(),
                        ))
                    };
                }
            };
            if let Some(v) = df
                .violations
                .iter()
                .find(|v| v.rule != Rule::NonMinimalLength)
            {
                return Ok(Drained::Failed {
                    rule: v.rule,
                    lenient: false,
                });
            }
            let either = df.has_violation(Rule::NonMinimalLength);
            let effect = match self.asm.push(&df) {
                Err(v) => {
                    return Ok(Drained::Failed {
                        rule: v.rule,
                        lenient: v.rule == Rule::InvalidUtf8 && !df.frame.fin,
                    })
                }
                Ok(Assembled::Partial) => None,
                Ok(Assembled::Message {
                    opcode, payload, ..
                }) => Some(expect(ExpectKind::Message {
                    opcode: Some(opcode),
                    payload: Some(Payload::Bytes(payload)),
                })),
                Ok(Assembled::Control(f)) => match OpCode(f.opcode) {
                    OpCode::PING => Some(pong(&f.payload)),
                    OpCode::PONG => None,
                    OpCode::CLOSE => Some(expect(ExpectKind::Close { codes: Vec::new() })),
                    _ => return Err(Uncertain("reserved control opcode passed".into())),
                },
            };
            let closes = matches!(
                effect,
                Some(Expect {
                    kind: ExpectKind::Close { .. },
                    ..
                })
            );
            if either {
                // What comes after depends on the server's choice: the sequence ends here.
                if self.dec.buffered() > 0 {
                    return Err(Uncertain(
                        "bytes after a frame the server may refuse".into(),
                    ));
                }
                return Ok(Drained::Either { effect });
            }
            if closes {
                if self.dec.buffered() > 0 {
                    return Err(Uncertain("bytes after the close frame".into()));
                }
                return Ok(Drained::Closed);
            }
            answers.extend(effect);
        }
    }

    /// For a sequence ending at a frame the server must fail on, what lies behind it.
    /// A ping there, already sent in the same write, may be answered before the server
    /// fails (the grading rule accepts that for pings wsspec sent as such, but the judge
    /// cannot tell a ping the server carved out of a lying length's leftovers from one it
    /// was never sent): such sequences are not the oracle's to judge.
    ///
    /// Nor is one that sent a close frame with no code or a valid one (the failing frame
    /// itself, say with an RSV bit, or one read as part of another frame behind a lying
    /// length): a server failing with that code (1011, 1002, none) looks to the judge like
    /// one answering the close, and the judge rightly fails that.
    fn failed_on(&self, end: &Drained, sent: &[super::Action]) -> Result<Behind, Uncertain> {
        if !matches!(end, Drained::Failed { .. }) {
            return Ok(Behind::default());
        }
        if sent.iter().any(|a| match &a.send {
            Send::Frame(f) if f.opcode == OpCode::CLOSE.0 => {
                let body = f.payload.bytes();
                // A valid body: what a server that ignored the frame's other fault echoes.
                body.is_empty()
                    || (body.len() >= 2
                        && crate::codec::close_code_valid_on_wire(u16::from_be_bytes([
                            body[0], body[1],
                        ]))
                        && std::str::from_utf8(&body[2..]).is_ok())
            }
            _ => false,
        }) {
            return Err(Uncertain(
                "a close frame with a code a failing server may use was sent".into(),
            ));
        }
        let behind = self.behind_failure();
        if behind.ping {
            return Err(Uncertain(
                "a ping follows the frame the server must fail on; it may be answered first".into(),
            ));
        }
        Ok(behind)
    }

    /// What the server could read behind the frame it fails on, from bytes already sent:
    /// whether a ping is among them, and whether they end inside a frame (so the probe's
    /// bytes would be read as part of it).
    fn behind_failure(&self) -> Behind {
        let mut d = self.dec.clone();
        let mut behind = Behind::default();
        loop {
            match d.next_frame() {
                Ok(Some(df)) => behind.ping |= df.frame.opcode == OpCode::PING.0,
                Ok(None) => {
                    behind.open = d.buffered() > 0;
                    return behind;
                }
                Err(_) => {
                    behind.open = true;
                    return behind;
                }
            }
        }
    }

    /// Zero bytes that complete the frame the server is in the middle of, if few enough.
    fn filler(&self) -> Result<Vec<u8>, Uncertain> {
        let mut d = self.dec.clone();
        let mut n = 0;
        while n < MAX_FILLER {
            d.feed(&[0]);
            n += 1;
            match d.next_frame() {
                Ok(None) => continue,
                Ok(Some(_)) | Err(_) => return Ok(vec![0; n]),
            }
        }
        Err(Uncertain(
            "the frame left open needs more filler than the oracle writes".into(),
        ))
    }
}

/// The case for `seq`: its send steps with the expectations of RFC 6455.
pub fn plan(seq: &Sequence) -> Result<Plan, Uncertain> {
    let mut steps = Vec::new();
    if let Some(h) = &seq.handshake {
        let Send::Handshake(spec) = &h.send else {
            return Err(Uncertain("the handshake step is not a handshake".into()));
        };
        steps.push(Step::Send(h.send.clone(), flushed(&h.opts)));
        if let Some(req) = handshake_refused(spec) {
            steps.push(Step::Expect(expect(ExpectKind::Handshake(
                HandshakeExpect {
                    status: vec![StatusPattern::Class(4)],
                    // A version the server may understand may be accepted (§4.2.2).
                    accepted: understandable_version(spec).then_some(Grade::Informational),
                    ..Default::default()
                },
            ))));
            return Ok(Plan {
                steps,
                close: false,
                outcome: Outcome::Refused,
                requirement: Some(req),
            });
        }
        let mut accept = expect(ExpectKind::Handshake(HandshakeExpect {
            status: vec![StatusPattern::Exact(101)],
            ..Default::default()
        }));
        if h.opts.chop.is_some_and(|c| c < TRICKLE) {
            // A request trickled in tiny writes may be refused (tungstenite drops one that
            // takes too many reads, a slowloris guard): a limit of the server, not a
            // violation. The rest of the sequence is then skipped. Only a refusal (an
            // error status, TCP closed before any response) is softened: the judge grades
            // a 101 that breaks §4.2.2, or a response that is not HTTP, as a failure
            // whatever `otherwise` says.
            accept.otherwise = Grade::Unimplemented;
            accept.note =
                Some("a request written in tiny pieces may be refused as a resource limit".into());
        }
        steps.push(Step::Expect(accept));
    }
    if seq.actions.is_empty() && seq.handshake.is_none() {
        return Err(Uncertain("nothing to send".into()));
    }
    let lie = seq.has_lie();
    let mut server = Server::new();
    let mut answers: Vec<Expect> = Vec::new();
    let n = seq.actions.len();
    for (i, a) in seq.actions.iter().enumerate() {
        let bytes = wire(&a.send, lie)?;
        let opts = if i + 1 == n {
            flushed(&a.opts)
        } else {
            a.opts.clone()
        };
        if !answers.is_empty() && server.answers_first(&bytes, &answers)? {
            // The answers held so far are awaited before these bytes are written: their
            // order against what these bytes call for is not the RFC's to say.
            if let Some(Step::Send(_, o)) = steps.last_mut() {
                o.flush = true;
            }
            steps.extend(answers.drain(..).map(Step::Expect));
        }
        steps.push(Step::Send(a.send.clone(), opts.clone()));
        server.feed(&bytes);
        match server.drain(&mut answers)? {
            Drained::More => {
                if opts.flush {
                    let may_fail_first = server.visible_violation();
                    steps.extend(answers.drain(..).map(|e| answer_or_fail(e, may_fail_first)));
                }
            }
            end => {
                // The sequence ends here: what was held is written now.
                if let Some(Step::Send(_, o)) = steps.last_mut() {
                    o.flush = true;
                }
                let behind = server.failed_on(&end, &seq.actions[..=i])?;
                return Ok(finish(steps, answers, end, lie, !behind.open));
            }
        }
    }
    if server.dec.buffered() > 0 {
        let filler = server.filler()?;
        server.feed(&filler);
        steps.push(Step::Send(
            Send::Raw(Payload::Bytes(filler)),
            WriteOpts {
                flush: true,
                ..Default::default()
            },
        ));
        match server.drain(&mut answers)? {
            Drained::More if server.dec.buffered() == 0 => {}
            Drained::More => return Err(Uncertain("a frame is still open".into())),
            end => {
                let behind = server.failed_on(&end, &seq.actions)?;
                return Ok(finish(steps, answers, end, lie, !behind.open));
            }
        }
    }
    steps.extend(answers.into_iter().map(Step::Expect));
    Ok(Plan {
        steps,
        close: !lie,
        outcome: Outcome::Answers,
        requirement: None,
    })
}

/// `probe`: whether the probe ping is sent after a frame the server must fail on (not when
/// its bytes would be read as part of a frame left open behind it).
fn finish(
    mut steps: Vec<Step>,
    answers: Vec<Expect>,
    end: Drained,
    lie: bool,
    probe_read_alone: bool,
) -> Plan {
    // Answers left here came in the same write as the frame that ends the sequence (the
    // earlier ones were awaited first): a server failing on that frame may do so before
    // it answers them.
    let may_fail_first = matches!(end, Drained::Failed { .. });
    steps.extend(
        answers
            .into_iter()
            .map(|e| answer_or_fail(e, may_fail_first)),
    );
    // With a lying length the runner's own close frame could be read as part of a frame;
    // such cases end without the closing handshake.
    let close = !lie;
    match end {
        Drained::Failed { rule, lenient } => {
            if probe_read_alone {
                steps.push(probe());
            }
            let mut e = expect(ExpectKind::Fail {
                codes: Vec::new(),
                codes_not: Vec::new(),
            });
            if lenient {
                e.otherwise = Grade::NonStrict;
                e.note = Some(
                    "fail fast: the text is invalid before the message ends (RFC 6455 §8.1)".into(),
                );
            }
            steps.push(Step::Expect(e));
            Plan {
                steps,
                close,
                outcome: Outcome::Fails,
                requirement: Some(Requirement::of_rule(rule)),
            }
        }
        Drained::Closed => {
            steps.push(Step::Expect(expect(ExpectKind::Close {
                codes: Vec::new(),
            })));
            Plan {
                steps,
                close,
                outcome: Outcome::Closes,
                requirement: Some(close_requirement()),
            }
        }
        Drained::Either { effect } => {
            let answer = match effect {
                Some(e) => e,
                None => {
                    steps.push(probe());
                    pong(PROBE)
                }
            };
            let mut any = expect(ExpectKind::Any(vec![
                answer,
                expect(ExpectKind::Fail {
                    codes: Vec::new(),
                    codes_not: Vec::new(),
                }),
            ]));
            any.note = Some(
                "a non-minimal length binds the sender only: processing the frame or failing are both correct"
                    .into(),
            );
            steps.push(Step::Expect(any));
            Plan {
                steps,
                close,
                outcome: Outcome::Either,
                requirement: Some(Requirement::of_rule(Rule::NonMinimalLength)),
            }
        }
        Drained::More => unreachable!("finish is called for an ending"),
    }
}

pub(crate) fn close_requirement() -> Requirement {
    Requirement::new(
        "close-answered",
        "RFC 6455 §5.5.1",
        "If an endpoint receives a Close frame and did not previously send a Close frame, the endpoint MUST send a Close frame in response.",
    )
}

#[cfg(test)]
mod tests {
    use super::super::generate::{action, frame, generate, valid, Rng};
    use super::*;
    use crate::case::MessageSpec;

    fn seq(actions: Vec<Send>) -> Sequence {
        Sequence {
            handshake: None,
            actions: actions.into_iter().map(action).collect(),
        }
    }

    fn kinds(p: &Plan) -> Vec<String> {
        p.steps
            .iter()
            .map(|s| match s {
                Step::Send(Send::Frame(f), _) => format!("send {}", OpCode(f.opcode).name()),
                Step::Send(Send::Message(_), _) => "send message".into(),
                Step::Send(Send::Raw(p), _) => format!("send raw {}", p.len()),
                Step::Send(..) => "send other".into(),
                Step::Expect(e) => match &e.kind {
                    ExpectKind::Message { .. } => "message".into(),
                    ExpectKind::Pong { .. } => "pong".into(),
                    ExpectKind::Close { .. } => "close".into(),
                    ExpectKind::Fail { .. } => "fail".into(),
                    ExpectKind::Any(_) => "any".into(),
                    ExpectKind::Handshake(_) => "handshake".into(),
                    _ => "other".into(),
                },
                Step::Wait { .. } => "wait".into(),
                Step::Repeat { .. } => "repeat".into(),
            })
            .collect()
    }

    #[test]
    fn valid_frames_are_answered_in_order() {
        let p = plan(&seq(vec![
            Send::Frame(frame(1, false, b"frag".to_vec())),
            Send::Frame(frame(9, true, b"p".to_vec())),
            Send::Frame(frame(0, true, b"ment".to_vec())),
        ]))
        .unwrap();
        assert_eq!(
            kinds(&p),
            [
                "send text",
                "send ping",
                "pong",
                "send continuation",
                "message"
            ]
        );
        assert_eq!(p.outcome, Outcome::Answers);
        assert!(p.close);
    }

    #[test]
    fn a_bad_frame_is_failed_on_after_the_answers_before_it() {
        let mut bad = frame(1, true, b"x".to_vec());
        bad.rsv1 = true;
        let p = plan(&seq(vec![
            Send::Frame(frame(9, true, b"p".to_vec())),
            Send::Frame(bad),
            Send::Frame(frame(9, true, b"never".to_vec())),
        ]))
        .unwrap();
        assert_eq!(
            kinds(&p),
            ["send ping", "pong", "send text", "send ping", "fail"]
        );
        assert_eq!(p.requirement.unwrap().name, "reserved-bit-set");
    }

    #[test]
    fn invalid_utf8_in_an_open_message_is_graded_as_fail_fast() {
        let p = plan(&seq(vec![Send::Frame(frame(1, false, vec![b'a', 0xff]))])).unwrap();
        let Some(Step::Expect(e)) = p.steps.last() else {
            panic!()
        };
        assert_eq!(e.otherwise, Grade::NonStrict);
        let p = plan(&seq(vec![Send::Frame(frame(1, true, vec![b'a', 0xce]))])).unwrap();
        let Some(Step::Expect(e)) = p.steps.last() else {
            panic!()
        };
        assert_eq!(e.otherwise, Grade::Fail);
        assert_eq!(p.requirement.unwrap().name, "invalid-utf8");
    }

    #[test]
    fn close_frames() {
        let close = |payload: Vec<u8>| plan(&seq(vec![Send::Frame(frame(8, true, payload))]));
        assert_eq!(close(vec![]).unwrap().outcome, Outcome::Closes);
        assert_eq!(close(vec![0x03, 0xe8]).unwrap().outcome, Outcome::Closes);
        assert_eq!(close(vec![0x03]).unwrap().outcome, Outcome::Fails);
        assert_eq!(close(vec![0x03, 0xed]).unwrap().outcome, Outcome::Fails);
        assert_eq!(
            close(vec![0x03, 0xe8, 0xc0, 0xaf]).unwrap().outcome,
            Outcome::Fails
        );
    }

    #[test]
    fn non_minimal_lengths_may_go_either_way() {
        let mut f = frame(2, true, b"abc".to_vec());
        f.length_form = LengthSpec::Bits64;
        let p = plan(&seq(vec![
            Send::Frame(f),
            Send::Frame(frame(9, true, vec![])),
        ]))
        .unwrap();
        assert_eq!(p.outcome, Outcome::Either);
        assert_eq!(kinds(&p), ["send binary", "any"]);
    }

    #[test]
    fn a_short_lie_is_completed_with_filler() {
        let mut f = frame(2, true, b"abc".to_vec());
        f.declared_len = Some(10);
        f.mask = MaskSpec::Key([0, 0, 0, 0]);
        let p = plan(&seq(vec![Send::Frame(f)])).unwrap();
        assert_eq!(kinds(&p), ["send binary", "send raw 7", "message"]);
        assert!(!p.close);
        let mut f = frame(2, true, b"abc".to_vec());
        f.declared_len = Some(10);
        assert!(plan(&seq(vec![Send::Frame(f)])).is_err(), "random key");
    }

    fn unflushed(send: Send) -> super::super::Action {
        let mut a = action(send);
        a.opts.flush = false;
        a
    }

    #[test]
    fn an_echo_and_a_pong_from_one_write_are_awaited_apart() {
        // Python websockets, sent a text message and a ping in one write (81 80 <key> 89
        // 80 <key>), answers the ping at once and echoes afterwards: the order is not
        // the RFC's, so the message is awaited before the ping is written.
        let s = Sequence {
            handshake: None,
            actions: vec![
                unflushed(Send::Frame(frame(1, true, vec![]))),
                action(Send::Frame(frame(9, true, vec![]))),
            ],
        };
        let p = plan(&s).unwrap();
        assert_eq!(kinds(&p), ["send text", "message", "send ping", "pong"]);
        let Step::Send(_, o) = &p.steps[0] else {
            panic!()
        };
        assert!(o.flush, "the message is written, and answered, alone");
        // Same for the end of a fragmented message and a ping (iteration 1312 of seed 1).
        let s = Sequence {
            handshake: None,
            actions: vec![
                action(Send::Frame(frame(1, false, vec![]))),
                action(Send::Frame(frame(9, true, vec![]))),
                unflushed(Send::Frame(frame(0, true, vec![]))),
                action(Send::Frame(frame(9, true, vec![]))),
            ],
        };
        assert_eq!(
            kinds(&plan(&s).unwrap()),
            [
                "send text",
                "send ping",
                "pong",
                "send continuation",
                "message",
                "send ping",
                "pong"
            ]
        );
        // Two pings in one write: a server MAY answer only the latest (§5.5.2).
        let s = Sequence {
            handshake: None,
            actions: vec![
                unflushed(Send::Frame(frame(9, true, b"a".to_vec()))),
                action(Send::Frame(frame(9, true, b"b".to_vec()))),
            ],
        };
        assert_eq!(
            kinds(&plan(&s).unwrap()),
            ["send ping", "pong", "send ping", "pong"]
        );
        // Messages alone keep sharing a write: their echoes come in order.
        let s = Sequence {
            handshake: None,
            actions: vec![
                unflushed(Send::Frame(frame(1, true, b"a".to_vec()))),
                action(Send::Frame(frame(2, true, b"b".to_vec()))),
            ],
        };
        assert_eq!(
            kinds(&plan(&s).unwrap()),
            ["send text", "send binary", "message", "message"]
        );
    }

    #[test]
    fn an_echo_is_awaited_before_a_frame_the_server_fails_on() {
        // Iteration 847 of seed 1: an empty text message and a text frame with RSV3 in one
        // write; Python websockets fails with 1002 before its application echoes.
        let mut bad = frame(1, true, vec![]);
        bad.rsv3 = true;
        let s = Sequence {
            handshake: None,
            actions: vec![
                unflushed(Send::Frame(frame(1, true, vec![]))),
                action(Send::Frame(bad)),
            ],
        };
        let p = plan(&s).unwrap();
        assert_eq!(
            kinds(&p),
            ["send text", "message", "send text", "send ping", "fail"]
        );
        assert_eq!(p.requirement.unwrap().name, "reserved-bit-set");
    }

    #[test]
    fn a_bad_header_read_with_a_message_may_be_failed_on_first() {
        // Iteration 617 of seed 1, reduced: a masked text frame "hi" and, in the same write,
        // the first two bytes of a frame with the reserved opcode 3 (83 80). The server
        // can see the opcode before the frame's masking key arrives and fail at once.
        let mut bytes = vec![0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
        bytes.extend([0x83, 0x80]);
        let p = plan(&seq(vec![Send::Raw(Payload::Bytes(bytes))])).unwrap();
        assert_eq!(
            kinds(&p),
            ["send raw 10", "any", "send raw 4", "send ping", "fail"]
        );
        let Step::Expect(any) = &p.steps[1] else {
            panic!()
        };
        let ExpectKind::Any(alts) = &any.kind else {
            panic!()
        };
        assert!(matches!(alts[0].kind, ExpectKind::Message { .. }));
        assert!(matches!(alts[1].kind, ExpectKind::Fail { .. }));
        assert_eq!(p.requirement.unwrap().name, "reserved-opcode");
        // The same two bytes with opcode 2 break nothing: the echo is plainly expected.
        let mut bytes = vec![0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
        bytes.extend([0x82, 0x80]);
        let p = plan(&seq(vec![Send::Raw(Payload::Bytes(bytes))])).unwrap();
        assert_eq!(
            kinds(&p),
            ["send raw 10", "message", "send raw 4", "message"]
        );
    }

    #[test]
    fn handshake_refusals() {
        let mut h = HandshakeSpec::default();
        h.remove.push("Upgrade".into());
        let s = Sequence {
            handshake: Some(action(Send::Handshake(h))),
            actions: vec![],
        };
        let p = plan(&s).unwrap();
        assert_eq!(p.outcome, Outcome::Refused);
        assert!(!p.close);
    }

    #[test]
    fn messages_with_bad_fragment_sizes_are_not_run() {
        let m = MessageSpec {
            opcode: 1,
            payload: Payload::Bytes(b"abc".to_vec()),
            fragments: Fragmenting::Sizes(vec![1, 1]),
            mask: MaskSpec::Auto,
            compress: false,
        };
        assert!(plan(&seq(vec![Send::Message(m)])).is_err());
    }

    #[quickcheck_macros::quickcheck]
    fn unmutated_sequences_expect_only_echoes_and_pongs(seed: u64) -> bool {
        let s = valid(&mut Rng::new(seed));
        let p = plan(&s).unwrap();
        p.outcome == Outcome::Answers
            && p.steps.iter().all(|s| match s {
                Step::Expect(e) => {
                    matches!(e.kind, ExpectKind::Message { .. } | ExpectKind::Pong { .. })
                }
                Step::Send(..) => true,
                Step::Wait { .. } | Step::Repeat { .. } => false,
            })
    }

    #[quickcheck_macros::quickcheck]
    fn generated_sequences_are_always_judged(seed: u64, iteration: u16) -> bool {
        plan(&generate(seed, u64::from(iteration))).is_ok()
    }
}
