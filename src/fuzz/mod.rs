//! The network fuzzer behind `wsspec fuzz URL`.
//!
//! Each iteration draws a short sequence of sends from a seeded generator
//! ([`generate`]), asks the oracle what RFC 6455 requires of a server for it ([`oracle`]),
//! writes the result as a case file ([`save`]), loads it back, and runs it with the same
//! session and strict judging as `wsspec server` ([`crate::run::run_case`]). A case that
//! fails is a finding: the server crashed (stopped accepting TCP connections), hung,
//! broke the protocol in its own bytes, or accepted or refused what the RFC says it must
//! not. Findings are deduplicated, shrunk to a minimal reproducer ([`shrink`]) and saved
//! as case files that `wsspec server URL --cases-dir DIR --cases fuzz` runs again.
//!
//! Iteration `i` of a run seeded with `s` always sends the same sequence, whatever the
//! parallelism: its generator is derived from `(s, i)` alone.

pub mod generate;
pub mod oracle;
pub mod save;
pub mod shrink;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};

use crate::case::{Case, ExpectKind, Fragmenting, Grade, HandshakeSpec, MaskSpec, Send, Step};
use crate::case::{LengthSpec, WriteOpts};
use crate::results::CaseResult;
use crate::run::{self, RunError, SessionConfig, Target};
use oracle::{Plan, Requirement};

/// One send step of a sequence.
#[derive(Debug, Clone)]
pub struct Action {
    pub send: Send,
    pub opts: WriteOpts,
}

/// What one iteration sends: an opening handshake (changed, or the standard one when
/// `None`) and up to [`generate::MAX_ACTIONS`] frames, messages or raw bytes.
#[derive(Debug, Clone, Default)]
pub struct Sequence {
    pub handshake: Option<Action>,
    pub actions: Vec<Action>,
}

/// How big a sequence is, compared in this order: steps, payload bytes, fields away from
/// their defaults, how far frame opcodes are from the plainest (text), then payload bytes
/// a reader cannot read (not printable ASCII). Shrinking only ever moves down this order,
/// so a reproducer ends as plain as the cause allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size {
    pub actions: usize,
    pub bytes: usize,
    pub knobs: usize,
    pub opcodes: usize,
    pub opaque: usize,
}

/// How far from plain an opcode is: text, binary, ping, pong, close, continuation, then
/// the reserved ones.
pub(crate) fn opcode_rank(opcode: u8) -> usize {
    match opcode {
        1 => 0,
        2 => 1,
        9 => 2,
        10 => 3,
        8 => 4,
        0 => 5,
        _ => 6,
    }
}

/// Payload bytes that are not printable ASCII.
pub(crate) fn opaque_bytes(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| !(0x20..0x7f).contains(*b)).count()
}

fn handshake_knobs(h: &HandshakeSpec) -> usize {
    [&h.method, &h.target, &h.version, &h.request_line]
        .iter()
        .filter(|v| v.is_some())
        .count()
        + h.set.len()
        + h.add.len()
        + h.remove.len()
        + h.rename.len()
        + h.protocols.len()
        + h.extensions.len()
}

fn opts_knobs(o: &WriteOpts) -> usize {
    usize::from(o.chop.is_some()) + usize::from(o.pause_ms > 0) + usize::from(!o.flush)
}

impl Sequence {
    pub fn size(&self) -> Size {
        let mut s = Size {
            actions: self.actions.len(),
            bytes: 0,
            knobs: 0,
            opcodes: 0,
            opaque: 0,
        };
        if let Some(h) = &self.handshake {
            s.knobs += 1 + opts_knobs(&h.opts);
            if let Send::Handshake(spec) = &h.send {
                s.knobs += handshake_knobs(spec);
            }
        }
        for a in &self.actions {
            s.knobs += opts_knobs(&a.opts);
            match &a.send {
                Send::Frame(f) => {
                    s.bytes += f.payload.len();
                    s.opcodes += opcode_rank(f.opcode);
                    s.opaque += opaque_bytes(&f.payload.bytes());
                    s.knobs += usize::from(!f.fin)
                        + usize::from(f.rsv1)
                        + usize::from(f.rsv2)
                        + usize::from(f.rsv3)
                        + usize::from(f.mask != MaskSpec::Auto)
                        + usize::from(f.length_form != LengthSpec::Minimal)
                        + usize::from(f.declared_len.is_some());
                }
                Send::Message(m) => {
                    s.bytes += m.payload.len();
                    s.opaque += opaque_bytes(&m.payload.bytes());
                    s.knobs += usize::from(m.mask != MaskSpec::Auto)
                        + match &m.fragments {
                            Fragmenting::Whole => 0,
                            Fragmenting::Size(_) => 1,
                            Fragmenting::Sizes(v) => v.len(),
                        };
                }
                Send::Raw(p) => s.bytes += p.len(),
                Send::Handshake(spec) => s.knobs += handshake_knobs(spec),
                Send::Shutdown | Send::SecondStreamError => {}
            }
        }
        s
    }

    /// Whether a frame announces a length other than its payload's.
    pub fn has_lie(&self) -> bool {
        self.actions.iter().any(|a| match &a.send {
            Send::Frame(f) => f.declared_len.is_some_and(|d| d != f.payload.len() as u64),
            _ => false,
        })
    }

    /// What every sequence keeps: the last write is flushed, the handshake is too.
    pub fn normalize(&mut self) {
        if let Some(h) = &mut self.handshake {
            h.opts.flush = true;
        }
        if let Some(last) = self.actions.last_mut() {
            last.opts.flush = true;
        }
    }
}

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    /// The server stopped accepting TCP connections after the sequence.
    Crash,
    /// The server neither answered nor closed within the timeout.
    Hang,
    /// The server's own bytes broke RFC 6455 (a violation found by the strict decoder, or
    /// an invalid handshake response).
    ProtocolBreak,
    /// The server went on after something it must refuse (a bad frame, a bad request).
    WrongAcceptance,
    /// The server failed the connection, closed it or refused the handshake where it must
    /// have answered.
    WrongRejection,
    /// The server answered, but not with what it must (another payload, opcode, status).
    WrongAnswer,
}

impl FindingKind {
    /// Used in case ids: `fuzz.<name>.<seed>-<iteration>`.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Crash => "crash",
            FindingKind::Hang => "hang",
            FindingKind::ProtocolBreak => "protocol-break",
            FindingKind::WrongAcceptance => "wrong-acceptance",
            FindingKind::WrongRejection => "wrong-rejection",
            FindingKind::WrongAnswer => "wrong-answer",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            FindingKind::Crash => "the server stopped accepting connections",
            FindingKind::Hang => "the server neither answered nor closed",
            FindingKind::ProtocolBreak => "the server broke the protocol",
            FindingKind::WrongAcceptance => "the server went on where it must fail",
            FindingKind::WrongRejection => "the server failed where it must answer",
            FindingKind::WrongAnswer => "the server answered wrongly",
        }
    }
}

/// How one run of a case is judged by the fuzzer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// Passed, or only non-strict or informational: not a finding.
    Fine,
    /// wsspec could not connect at all (the server may have crashed).
    Unreachable(String),
    Finding {
        kind: FindingKind,
        /// The first failing reason, as reported.
        reason: String,
        /// Kind and the shape of the reason, for deduplication.
        signature: String,
    },
}

/// A reason with its numbers, hex and quoted text blanked, so that findings differing only
/// in sizes or payloads count as one.
pub fn shape(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut chars = reason.chars().peekable();
    let mut in_quote = false;
    while let Some(c) = chars.next() {
        if in_quote {
            if c == '\\' {
                chars.next();
            } else if c == '"' {
                in_quote = false;
                out.push('"');
            }
            continue;
        }
        match c {
            '"' => {
                in_quote = true;
                out.push_str("\"…");
            }
            '0' if chars.peek() == Some(&'x') => {
                chars.next();
                while chars.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                    chars.next();
                }
                out.push('#');
            }
            c if c.is_ascii_digit() => {
                while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
                    chars.next();
                }
                out.push('#');
            }
            c => out.push(c),
        }
    }
    out
}

fn ends_connection(observed: &str) -> bool {
    observed.starts_with("TCP closed")
        || observed.starts_with("connection error")
        || observed.starts_with("close")
        || observed.starts_with("stopped reading")
        || observed.starts_with("invalid handshake response")
        || observed.starts_with("handshake response")
}

/// Classifies one run of `case` (made from `plan`).
pub fn judge(case: &Case, plan: &Plan, r: &CaseResult) -> Judged {
    if r.verdict != Grade::Fail {
        return Judged::Fine;
    }
    // The plan's rule is part of the signature only where the expectation that missed
    // rests on it; a hang on an echo is the same hang whatever the sequence did later.
    let finding = |kind: FindingKind, reason: String, detail: &str, decisive: bool| {
        let rule = plan
            .requirement
            .as_ref()
            .filter(|_| decisive)
            .map(|q| q.name.as_str())
            .unwrap_or("answer");
        Judged::Finding {
            kind,
            signature: format!("{}|{rule}|{}", kind.name(), shape(detail)),
            reason,
        }
    };
    if let Some(v) = r.violations.first() {
        return finding(
            FindingKind::ProtocolBreak,
            format!("the peer broke {}: {} ({})", v.section, v.rule, v.detail),
            &v.rule,
            false,
        );
    }
    if r.checks.is_empty() {
        if let Some(reason) = r.reasons.iter().find(|x| {
            x.contains("cannot connect")
                || x.contains("connecting to")
                || x.contains("TLS handshake with")
        }) {
            return Judged::Unreachable(reason.clone());
        }
    }
    if let Some(c) = r
        .checks
        .iter()
        .find(|c| !c.matched && c.grade == Grade::Fail)
    {
        let reason = format!("expected {}; observed {}", c.expected, c.observed);
        let expected = case.steps.get(c.step).and_then(|s| match s {
            Step::Expect(e) => Some(&e.kind),
            _ => None,
        });
        let what = match expected {
            Some(ExpectKind::Handshake(h)) if h.status.iter().any(|p| p.matches(101)) => {
                "handshake-101"
            }
            Some(ExpectKind::Handshake(_)) => "handshake-refusal",
            Some(ExpectKind::Message { .. }) => "message",
            Some(ExpectKind::Pong { .. }) => "pong",
            Some(ExpectKind::Close { .. }) => "close",
            Some(ExpectKind::Fail { .. }) => "fail",
            Some(ExpectKind::Any(_)) => "either",
            _ => "other",
        };
        let observed = c.observed.as_str();
        let event = observed.split([':', '(']).next().unwrap_or(observed).trim();
        let detail = format!("{what}: {event}");
        let kind = if observed.contains("(timed out)") {
            FindingKind::Hang
        } else {
            match what {
                "fail" | "handshake-refusal" if observed.starts_with("status 101") => {
                    FindingKind::WrongAcceptance
                }
                "fail" => FindingKind::WrongAcceptance,
                "handshake-refusal" => FindingKind::WrongAnswer,
                "handshake-101" if observed.starts_with("status 4") => FindingKind::WrongRejection,
                // A 101 with a bad Accept, Upgrade or Connection is the server's own bytes
                // breaking §4.2.2.
                "handshake-101" if observed.starts_with("status 101") => FindingKind::ProtocolBreak,
                "handshake-101" => FindingKind::WrongRejection,
                _ if ends_connection(observed) => FindingKind::WrongRejection,
                _ => FindingKind::WrongAnswer,
            }
        };
        let decisive = matches!(what, "fail" | "either" | "handshake-refusal" | "close");
        return finding(kind, reason, &detail, decisive);
    }
    if let Some(close) = r.close.as_ref().filter(|c| c.verdict == Grade::Fail) {
        let kind = if close.detail.contains("got none back")
            && close.tcp_closed_by != crate::results::Party::Peer
        {
            FindingKind::Hang
        } else {
            FindingKind::WrongRejection
        };
        return finding(
            kind,
            format!("close: {}", close.detail),
            &close.detail,
            false,
        );
    }
    let reason = r
        .reasons
        .iter()
        .find(|x| x.starts_with("[fail]"))
        .cloned()
        .unwrap_or_else(|| "the case failed".into());
    let kind = if reason.contains("did not finish") {
        FindingKind::Hang
    } else {
        FindingKind::WrongAnswer
    };
    finding(kind, reason.clone(), &reason, false)
}

/// When a run stops.
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    Iterations(u64),
    Duration(Duration),
}

/// Called with each iteration's index and case file, as it is run.
pub(crate) type CaseHook = Arc<dyn Fn(u64, &str) + std::marker::Send + Sync>;
/// Called as the run progresses.
pub type ProgressHook = Arc<dyn Fn(&Status) + std::marker::Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Fuzzing,
    Shrinking { done: usize, of: usize },
    Done,
}

#[derive(Debug, Clone, Copy)]
pub struct Status {
    pub iterations: u64,
    pub findings: usize,
    pub phase: Phase,
}

#[derive(Clone)]
pub struct FuzzConfig {
    pub seed: u64,
    pub limit: Limit,
    /// Sequences run at once.
    pub jobs: usize,
    pub session: SessionConfig,
    /// Where minimal reproducers are written as case files.
    pub save_dir: Option<PathBuf>,
    /// Stop once this many distinct causes (a rule broken, and how) are known.
    pub max_findings: Option<usize>,
    /// Per finding.
    pub shrink: shrink::Budget,
    pub on_case: Option<CaseHook>,
    pub progress: Option<ProgressHook>,
}

impl Default for FuzzConfig {
    fn default() -> Self {
        FuzzConfig {
            seed: 0,
            limit: Limit::Duration(Duration::from_secs(30)),
            jobs: run::default_jobs(),
            session: SessionConfig {
                step_timeout: Duration::from_millis(1000),
                ..Default::default()
            },
            save_dir: None,
            max_findings: None,
            shrink: shrink::Budget::default(),
            on_case: None,
            progress: None,
        }
    }
}

/// One distinct problem, with its minimal reproducer.
#[derive(Debug, Clone)]
pub struct Finding {
    pub kind: FindingKind,
    /// The cause: kind, requirement name and text (what findings are deduplicated by).
    pub signature: String,
    /// The cause in words, e.g. "wrong-acceptance: the server went on where it must fail
    /// (frame-unmasked, RFC 6455 §5.1)".
    pub cause: String,
    /// The rule the minimal reproducer shows broken.
    pub requirement: Requirement,
    /// Iterations that showed this cause.
    pub count: u64,
    pub seed: u64,
    /// The first iteration that showed it.
    pub iteration: u64,
    /// The first failing reason of that iteration.
    pub reason: String,
    pub original: Sequence,
    pub minimal: Sequence,
    /// The first failing reason of the minimal reproducer.
    pub minimal_reason: String,
    pub original_sends: usize,
    pub minimal_sends: usize,
    pub shrink_attempts: usize,
    /// `fuzz.<kind>.<seed>-<iteration>`
    pub id: String,
    pub case_toml: String,
    pub saved: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct FuzzReport {
    pub seed: u64,
    pub target: String,
    /// Sequences run (shrinking not counted).
    pub iterations: u64,
    /// Time spent running sequences (shrinking not counted).
    pub elapsed: Duration,
    pub findings: Vec<Finding>,
    /// The server stopped accepting connections; the run ended there.
    pub crashed: bool,
    /// Reproducers that could not be written.
    pub save_errors: Vec<String>,
}

impl FuzzReport {
    pub fn sequences_per_sec(&self) -> f64 {
        self.iterations as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The end-of-run summary for the terminal: one entry per cause, with how many
    /// sequences showed it and its minimal reproducer.
    pub fn summary(&self) -> String {
        let showed: u64 = self.findings.iter().map(|f| f.count).sum();
        let mut s = format!(
            "wsspec fuzz {}: seed {}, {} sequences in {:.1} s ({:.0} sequences/s), {} cause{} ({} failing sequence{})\n",
            self.target,
            self.seed,
            self.iterations,
            self.elapsed.as_secs_f64(),
            self.sequences_per_sec(),
            self.findings.len(),
            if self.findings.len() == 1 { "" } else { "s" },
            showed,
            if showed == 1 { "" } else { "s" },
        );
        if self.crashed {
            s.push_str("the server stopped accepting connections: the run ended there\n");
        }
        for f in &self.findings {
            s.push_str(&format!(
                "\n  {}\n    {} \"{}\"\n    seen in {} sequence{}, first at iteration {}\n",
                f.cause,
                f.requirement.section,
                f.requirement.text,
                f.count,
                if f.count == 1 { "" } else { "s" },
                f.iteration,
            ));
            if f.kind == FindingKind::Crash {
                s.push_str(&format!("    {}\n", f.reason));
                s.push_str("    not shrunk: the server is gone; replay the case once it is back\n");
            } else {
                s.push_str(&format!(
                    "    shrunk from {} to {} send steps in {} runs: {}\n",
                    f.original_sends, f.minimal_sends, f.shrink_attempts, f.minimal_reason
                ));
            }
            match &f.saved {
                Some(p) => s.push_str(&format!("    saved {}\n", p.display())),
                None => {
                    s.push_str("    reproducer (no --save-cases given):\n");
                    for line in f.case_toml.lines() {
                        s.push_str("      ");
                        s.push_str(line);
                        s.push('\n');
                    }
                }
            }
        }
        for e in &self.save_errors {
            s.push_str(&format!("cannot save: {e}\n"));
        }
        if let Some(dir) = self.findings.iter().find_map(|f| f.saved.as_ref()) {
            if let Some(dir) = dir.parent() {
                s.push_str(&format!(
                    "\nreplay: wsspec server {} --cases-dir {} --cases fuzz\n",
                    self.target,
                    dir.display()
                ));
            }
        }
        s
    }
}

/// Parses `30s`, `2m`, `500ms`, `1h` or a number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?}: a duration is a number with ms, s, m or h, e.g. 30s"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        u => return Err(format!("{s:?}: unknown unit {u:?} (ms, s, m or h)")),
    };
    if !(secs.is_finite() && secs > 0.0 && secs < 1e7) {
        return Err(format!("{s:?}: the duration must be positive"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn generic_requirement(case: &Case, r: &CaseResult, seq: &Sequence) -> Requirement {
    if let Some(v) = r.violations.first() {
        return Requirement::new("peer-violation", &v.section, &v.rule);
    }
    let failed = r
        .checks
        .iter()
        .find(|c| !c.matched && c.grade == Grade::Fail)
        .and_then(|c| case.steps.get(c.step));
    let fragmented = seq.actions.iter().any(|a| match &a.send {
        Send::Frame(f) => !f.fin || f.opcode == 0,
        Send::Message(m) => !matches!(m.fragments, Fragmenting::Whole),
        _ => false,
    });
    // A control frame sent while a message sent frame by frame is still open.
    let mut open = false;
    let mut interleaved = false;
    for a in &seq.actions {
        if let Send::Frame(f) = &a.send {
            match f.opcode {
                1 | 2 => open = !f.fin,
                0 if f.fin => open = false,
                op if op & 8 != 0 && open => interleaved = true,
                _ => {}
            }
        }
    }
    match failed {
        Some(Step::Expect(e)) => match &e.kind {
            ExpectKind::Pong { .. } | ExpectKind::Message { .. } if interleaved => {
                Requirement::new(
                    "control-in-fragmented-message",
                    "RFC 6455 §5.4",
                    "An endpoint MUST be capable of handling control frames in the middle of a fragmented message.",
                )
            }
            ExpectKind::Pong { .. } => Requirement::new(
                "ping-answered",
                "RFC 6455 §5.5.2",
                "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, unless it already received a Close frame. A Pong frame sent in response to a Ping frame must have identical \"Application data\" as found in the message body of the Ping frame being replied to.",
            ),
            ExpectKind::Handshake(_) => Requirement::new(
                "handshake-accepted",
                "RFC 6455 §4.2.2",
                "If the server chooses to accept the incoming connection, it MUST reply with a valid HTTP response indicating the following: a Status-Line with a 101 response code, an |Upgrade| header field with value \"websocket\", a |Connection| header field with value \"Upgrade\", and a |Sec-WebSocket-Accept| header field computed from the key.",
            ),
            ExpectKind::Close { .. } => oracle::close_requirement(),
            _ if fragmented => Requirement::new(
                "fragmented-message",
                "RFC 6455 §5.4",
                "A fragmented message is conceptually equivalent to a single larger message whose payload is equal to the concatenation of the payloads of the fragments in order.",
            ),
            _ => Requirement::new(
                "message-received",
                "RFC 6455 §6.2",
                "If the frame comprises an unfragmented message, it is said that _A WebSocket Message Has Been Received_ with type /type/ and data /data/; the echo server under test sends each message it receives back.",
            ),
        },
        _ => oracle::close_requirement(),
    }
}

/// The RFC requirement a failed run of `case` shows broken: the plan's rule where the
/// expectation that missed rests on it, otherwise what that expectation asked for.
fn requirement_for(plan: &Plan, case: &Case, r: &CaseResult, seq: &Sequence) -> Requirement {
    let decisive = r.violations.is_empty()
        && r.checks
            .iter()
            .find(|c| !c.matched && c.grade == Grade::Fail)
            .and_then(|c| case.steps.get(c.step))
            .is_some_and(|s| {
                matches!(
                    s,
                    Step::Expect(e) if matches!(
                        e.kind,
                        ExpectKind::Fail { .. } | ExpectKind::Any(_) | ExpectKind::Close { .. }
                    ) || matches!(&e.kind, ExpectKind::Handshake(h) if !h.status.iter().any(|p| p.matches(101)))
                )
            });
    match &plan.requirement {
        Some(q) if decisive => q.clone(),
        _ => generic_requirement(case, r, seq),
    }
}

/// What makes two findings one cause: the rule broken (the requirement the missed
/// expectation rests on) and how it was broken (the kind), not the event observed, so an
/// unmasked text, binary and continuation frame accepted are one finding.
fn cause_key(kind: FindingKind, requirement: &Requirement) -> String {
    format!("{}|{}|{}", kind.name(), requirement.name, requirement.text)
}

/// Requirements that say what a correct server answers rather than a rule a sequence
/// broke: a finding on one of them is only the same cause with the same kind.
fn generic(requirement: &Requirement) -> bool {
    matches!(
        requirement.name.as_str(),
        "peer-violation"
            | "control-in-fragmented-message"
            | "ping-answered"
            | "handshake-accepted"
            | "close-answered"
            | "fragmented-message"
            | "message-received"
    )
}

/// Whether a candidate's finding is the same cause as the one being shrunk. The rule
/// must be the same; the kind may change (an unmasked pong first seen as a hang, because
/// a lying length swallowed the probe, is a wrong acceptance once the lie is gone),
/// except for requirements that name no rule, where the kind is all there is.
fn same_cause(
    kind: FindingKind,
    requirement: &Requirement,
    k: FindingKind,
    q: &Requirement,
) -> bool {
    q.name == requirement.name
        && q.text == requirement.text
        && k != FindingKind::Crash
        && (k == kind || !generic(requirement))
}

/// Runs one sequence as a case. `id` names the case.
async fn run_sequence(
    seq: &Sequence,
    id: &str,
    target: &Target,
    session: &SessionConfig,
) -> Option<(Plan, Case, CaseResult, Judged)> {
    run_plan(oracle::plan(seq).ok()?, id, target, session).await
}

/// What the case file of a sequence's plan says besides its steps.
fn run_meta(plan: &Plan, id: &str) -> save::CaseMeta {
    save::CaseMeta {
        id: id.to_owned(),
        title: "a generated sequence".into(),
        section: plan
            .requirement
            .as_ref()
            .map(|q| q.section.clone())
            .unwrap_or_else(|| "RFC 6455 §5".into()),
        requirement: plan
            .requirement
            .as_ref()
            .map(|q| q.text.clone())
            .unwrap_or_else(|| "Frames and messages are answered as RFC 6455 requires.".into()),
        comment: Vec::new(),
    }
}

/// [`run_sequence`] for a sequence already planned. The case is built from the plan, not
/// from its case file (see `save`): the file is rendered only for findings and hooks.
async fn run_plan(
    plan: Plan,
    id: &str,
    target: &Target,
    session: &SessionConfig,
) -> Option<(Plan, Case, CaseResult, Judged)> {
    let meta = run_meta(&plan, id);
    let case = match save::case(&meta, &plan) {
        Ok(c) => c,
        Err(e) => panic!(
            "a generated case does not load (a wsspec bug): {e}\n{}",
            save::case_toml(&meta, &plan)
        ),
    };
    let result = run::run_case(&case, target, session).await;
    let judged = judge(&case, &plan, &result);
    Some((plan, case, result, judged))
}

/// Whether the server stopped accepting connections (two probes, a moment apart).
async fn crashed(target: &Target, session: &SessionConfig) -> bool {
    for attempt in 0..2 {
        if run::probe(target, session, false).await.is_ok() {
            return false;
        }
        if attempt == 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    true
}

#[derive(Debug, Clone)]
struct Raw {
    kind: FindingKind,
    /// Iterations that showed this cause.
    count: u64,
    iteration: u64,
    reason: String,
    requirement: Requirement,
    seq: Sequence,
}

struct Shared {
    next: AtomicU64,
    done: AtomicU64,
    stop: AtomicBool,
    crashed: AtomicBool,
    raw: Mutex<BTreeMap<String, Raw>>,
}

/// Distinct findings kept while fuzzing; a server that fails everything cannot make the
/// fuzzer hold more.
const MAX_DISTINCT: usize = 256;

/// Fuzzes the server at `url`.
pub async fn fuzz(url: &str, cfg: &FuzzConfig) -> Result<FuzzReport, RunError> {
    // Findings are reported by their reasons and saved reproducers, never a transcript.
    let cfg = &FuzzConfig {
        session: SessionConfig {
            transcript: false,
            ..cfg.session.clone()
        },
        ..cfg.clone()
    };
    let target = Target::parse(url)?;
    run::probe(&target, &cfg.session, true).await?;
    let target = Arc::new(target);
    let shared = Arc::new(Shared {
        next: AtomicU64::new(0),
        done: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        crashed: AtomicBool::new(false),
        raw: Mutex::new(BTreeMap::new()),
    });
    let started = Instant::now();
    let report_progress = |shared: &Shared, phase: Phase| {
        if let Some(p) = &cfg.progress {
            p(&Status {
                iterations: shared.done.load(Ordering::Relaxed),
                findings: shared
                    .raw
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .len(),
                phase,
            });
        }
    };
    report_progress(&shared, Phase::Fuzzing);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..cfg.jobs.max(1) {
        let shared = shared.clone();
        let target = target.clone();
        let cfg = cfg.clone();
        workers.spawn(async move {
            loop {
                if shared.stop.load(Ordering::Relaxed) {
                    break;
                }
                let i = shared.next.fetch_add(1, Ordering::Relaxed);
                let more = match cfg.limit {
                    Limit::Iterations(n) => i < n,
                    Limit::Duration(d) => started.elapsed() < d,
                };
                if !more {
                    break;
                }
                let (seq, plan) = generate::generate_planned(cfg.seed, i);
                let id = format!("fuzz.seq.{}-{i}", cfg.seed);
                // Each sequence runs in a task of its own: a panic in wsspec while running
                // it costs that sequence (reported), not the fuzzing run.
                let task = {
                    let (target, session) = (target.clone(), cfg.session.clone());
                    let id = id.clone();
                    tokio::spawn(async move {
                        run_plan(plan.ok()?, &id, &target, &session).await
                    })
                };
                let ran = match task.await {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("wsspec fuzz: error: {id}: wsspec failed while running the sequence: {e}");
                        continue;
                    }
                };
                let Some((plan, case, result, judged)) = ran else {
                    continue;
                };
                if let Some(hook) = &cfg.on_case {
                    hook(i, &save::case_toml(&run_meta(&plan, &id), &plan));
                }
                let found = match judged {
                    Judged::Fine => None,
                    Judged::Unreachable(reason) => Some((None, reason)),
                    Judged::Finding {
                        kind,
                        reason,
                        signature,
                    } => Some((Some((kind, signature)), reason)),
                };
                if let Some((finding, reason)) = found {
                    let requirement = requirement_for(&plan, &case, &result, &seq);
                    if shared.stop.load(Ordering::Relaxed) && shared.crashed.load(Ordering::Relaxed)
                    {
                        // Failures after a crash are its consequences.
                    } else if crashed(&target, &cfg.session).await {
                        shared.crashed.store(true, Ordering::Relaxed);
                        shared.stop.store(true, Ordering::Relaxed);
                        let mut raw = shared.raw.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        let crash = Raw {
                            kind: FindingKind::Crash,
                            count: 1,
                            iteration: i,
                            reason,
                            requirement,
                            seq,
                        };
                        let entry = raw.entry("crash".into()).or_insert_with(|| crash.clone());
                        if i < entry.iteration {
                            *entry = crash;
                        }
                    } else if let Some((kind, _)) = finding {
                        // One entry per cause: the rule broken and how.
                        let signature = cause_key(kind, &requirement);
                        let mut raw = shared.raw.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        let cap = cfg.max_findings.unwrap_or(MAX_DISTINCT).min(MAX_DISTINCT);
                        let full = raw.len() >= cap && !raw.contains_key(&signature);
                        if !full {
                            let fresh = Raw {
                                kind,
                                count: 1,
                                iteration: i,
                                reason,
                                requirement,
                                seq,
                            };
                            match raw.get_mut(&signature) {
                                None => {
                                    raw.insert(signature, fresh);
                                }
                                Some(r) => {
                                    let count = r.count + 1;
                                    if i < r.iteration {
                                        *r = fresh;
                                    }
                                    r.count = count;
                                }
                            }
                        }
                        if cfg.max_findings.is_some_and(|m| raw.len() >= m) {
                            shared.stop.store(true, Ordering::Relaxed);
                        }
                    }
                }
                shared.done.fetch_add(1, Ordering::Relaxed);
                if let Some(p) = &cfg.progress {
                    p(&Status {
                        iterations: shared.done.load(Ordering::Relaxed),
                        findings: shared.raw.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len(),
                        phase: Phase::Fuzzing,
                    });
                }
            }
        });
    }
    while let Some(r) = workers.join_next().await {
        if let Err(e) = r {
            eprintln!("wsspec fuzz: error: a fuzzing worker failed: {e}");
        }
    }
    let elapsed = started.elapsed();
    let iterations = shared.done.load(Ordering::Relaxed);
    let crashed_server = shared.crashed.load(Ordering::Relaxed);
    let mut raws: Vec<(String, Raw)> = std::mem::take(
        &mut *shared
            .raw
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
    .into_iter()
    .collect();
    raws.sort_by_key(|(_, r)| (r.kind != FindingKind::Crash, r.iteration));

    // Findings are shrunk side by side (each one candidate at a time), in iteration order.
    let total = raws.len();
    report_progress(&shared, Phase::Shrinking { done: 0, of: total });
    let mut done = 0;
    let target_ref: &Target = &target;
    let settled: Vec<Finding> = stream::iter(
        raws.into_iter()
            .map(|(_, raw)| async move { settle(raw, cfg, target_ref, crashed_server).await }),
    )
    .buffered(cfg.jobs.clamp(1, 8))
    .inspect(|_| {
        done += 1;
        report_progress(&shared, Phase::Shrinking { done, of: total });
    })
    .collect()
    .await;
    let mut findings = Vec::with_capacity(total);
    let mut save_errors = Vec::new();
    for mut f in merge(settled) {
        if let Some(dir) = &cfg.save_dir {
            match save::write(dir, &f.id, &f.case_toml) {
                Ok(p) => f.saved = Some(p),
                Err(e) => save_errors.push(format!("{}: {e}", dir.display())),
            }
        }
        findings.push(f);
    }
    report_progress(&shared, Phase::Done);
    Ok(FuzzReport {
        seed: cfg.seed,
        target: target.url().to_owned(),
        iterations,
        elapsed,
        findings,
        crashed: crashed_server,
        save_errors,
    })
}

/// Findings whose reproducers turned out to show the same cause become one, the first
/// seen kept, with the counts added.
fn merge(settled: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::with_capacity(settled.len());
    for f in settled {
        match out.iter_mut().find(|g| g.signature == f.signature) {
            Some(g) => g.count += f.count,
            None => out.push(f),
        }
    }
    out
}

/// One line naming a cause: how the server behaved and the rule it broke.
fn cause_text(kind: FindingKind, q: &Requirement) -> String {
    format!(
        "{}: {} ({}, {})",
        kind.name(),
        kind.describe(),
        q.name,
        q.section
    )
}

/// Shrinks one finding (unless the server is gone) and writes its case file.
async fn settle(raw: Raw, cfg: &FuzzConfig, target: &Target, crashed_server: bool) -> Finding {
    let original_plan = oracle::plan(&raw.seq).expect("run sequences have a plan");
    let mut minimal = raw.seq.clone();
    let mut attempts = 0;
    let mut last: Option<(Plan, FindingKind, Requirement, String)> = None;
    let scratch = format!("fuzz.shrink.{}-{}", cfg.seed, raw.iteration);
    // The cause a run of `cand` shows, if it is a finding.
    let cause_of = |cand: Sequence, id: String| async move {
        match run_sequence(&cand, &id, target, &cfg.session).await {
            Some((plan, case, result, Judged::Finding { kind, reason, .. })) => {
                let q = requirement_for(&plan, &case, &result, &cand);
                Some((plan, kind, q, reason))
            }
            _ => None,
        }
    };
    if !crashed_server {
        let (kind, requirement) = (raw.kind, &raw.requirement);
        let counter = AtomicU64::new(0);
        let shrunk = shrink::shrink(raw.seq.clone(), cfg.shrink, |cand| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let id = format!("{scratch}-{n}");
            let run = cause_of(cand, id);
            async move {
                run.await
                    .is_some_and(|(_, k, q, _)| same_cause(kind, requirement, k, &q))
            }
        })
        .await;
        attempts = shrunk.attempts;
        // Confirm the reproducer once more; a flaky one falls back to the original. The
        // finding is then what the reproducer shows.
        for candidate in [shrunk.sequence, raw.seq.clone()] {
            if let Some(found) = cause_of(candidate.clone(), scratch.clone()).await {
                if same_cause(kind, requirement, found.1, &found.2) {
                    minimal = candidate;
                    last = Some(found);
                    break;
                }
            }
        }
    }
    let kind = last.as_ref().map(|(_, k, ..)| *k).unwrap_or(raw.kind);
    let id = format!("fuzz.{}.{}-{}", kind.name(), cfg.seed, raw.iteration);
    let plan = last
        .as_ref()
        .map(|(p, ..)| p.clone())
        .unwrap_or_else(|| original_plan.clone());
    let minimal_reason = last
        .as_ref()
        .map(|(.., r)| r.clone())
        .unwrap_or_else(|| raw.reason.clone());
    let requirement = match &last {
        Some((_, _, q, _)) => q.clone(),
        None => raw.requirement.clone(),
    };
    let cause = cause_text(kind, &requirement);
    let mut title = cause.clone();
    if title.chars().count() > 200 {
        title = title.chars().take(199).collect::<String>() + "…";
    }
    let comment = vec![
        format!(
            "Found by `wsspec fuzz --seed {}` at iteration {}: {}.",
            cfg.seed,
            raw.iteration,
            kind.describe()
        ),
        format!("Observed on these steps: {minimal_reason}"),
        if crashed_server {
            "Not shrunk: the server stopped accepting connections.".to_owned()
        } else {
            format!(
                "Shrunk from {} to {} send steps in {} runs; the expectations are the oracle's for these steps.",
                original_plan.send_steps(),
                plan.send_steps(),
                attempts
            )
        },
        format!("Replay: wsspec server URL --cases-dir DIR --cases {id}"),
    ];
    let meta = save::CaseMeta {
        id: id.clone(),
        title,
        section: requirement.section.clone(),
        requirement: requirement.text.clone(),
        comment,
    };
    let case_toml = save::case_toml(&meta, &plan);
    Finding {
        kind,
        signature: cause_key(kind, &requirement),
        cause,
        requirement,
        count: raw.count,
        seed: cfg.seed,
        iteration: raw.iteration,
        reason: raw.reason,
        original_sends: original_plan.send_steps(),
        minimal_sends: plan.send_steps(),
        original: raw.seq,
        minimal,
        minimal_reason,
        shrink_attempts: attempts,
        id,
        case_toml,
        saved: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_blank_numbers_hex_and_quotes() {
        assert_eq!(
            shape("text message of 12 bytes: byte 3 is 0x1f, \"ab\\\"c\" 1000"),
            "text message of # bytes: byte # is #, \"…\" #"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("3 weeks").is_err());
        assert!(parse_duration("").is_err());
    }
}
