//! The results of a run: what reports render and what `results.json` holds.
//!
//! The JSON shape is versioned by [`SCHEMA`]; additive changes keep the version, anything
//! that removes or changes the meaning of a field bumps it (docs/results-schema.md).

use serde::{Deserialize, Serialize};

use crate::case::{Grade, Level};
/// Re-exported: the results model names it, and `judge` is not public outside wsspec's own tests.
pub use crate::judge::PeerViolation;
use crate::transcript::Transcript;

pub const SCHEMA: &str = "wsspec.results/1";

/// Exit codes of a run, in server and client mode alike: 0 nothing failed, 1 something
/// failed, 2 wsspec could not do its job: a bad argument, a peer that is not a WebSocket
/// server or stopped answering, an interrupted or timed-out run (reports are still written,
/// marked incomplete), a case wsspec could not judge (`error`).
pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResults {
    pub schema: String,
    pub wsspec_version: String,
    /// The name reports use for the implementation under test.
    pub agent: String,
    /// The URL tested (server mode).
    pub target: String,
    /// Which role the peer played: "server" or "client".
    pub peer_role: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub duration_ms: f64,
    pub options: RunOptions,
    pub totals: Totals,
    pub cases: Vec<CaseResult>,
    /// Present when not every selected case ran (interrupted, out of time, or the peer
    /// stopped answering): such a run proves nothing about the missing cases and exits 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<Incomplete>,
    /// The TLS session of a `wss://` run (absent for `ws://`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsDetails>,
    /// What carried the WebSocket connections: "http/1.1", "h2" (HTTP/2 over TLS) or "h2c"
    /// (cleartext HTTP/2), so the same server's runs over each can be told apart and put side
    /// by side. Results written before it existed were HTTP/1.1 runs.
    #[serde(default = "http1")]
    pub transport: String,
}

fn http1() -> String {
    "http/1.1".into()
}

/// Why a run stopped early and what it left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incomplete {
    /// One line: "interrupted (SIGINT)", "peer unresponsive", "--max-time 60s reached".
    pub reason: String,
    /// Cases with a verdict.
    pub run: usize,
    /// Cases selected.
    pub of: usize,
    /// Ids of the selected cases that did not run, in suite order.
    pub missing: Vec<String>,
}

impl Incomplete {
    /// The line every report shows: "incomplete: N of M cases run (reason)".
    /// The missing ids, at most `max` of them, then how many more.
    pub fn missing_list(&self, max: usize) -> String {
        let mut s = self
            .missing
            .iter()
            .take(max)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        if self.missing.len() > max {
            s.push_str(&format!(" and {} more", self.missing.len() - max));
        }
        s
    }

    pub fn headline(&self) -> String {
        format!(
            "incomplete: {} of {} cases run ({})",
            self.run, self.of, self.reason
        )
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunOptions {
    pub jobs: usize,
    pub timeout_ms: u64,
    pub strict: bool,
    pub cases: Vec<String>,
    pub exclude: Vec<String>,
    /// Header names added with --header (values are not recorded: they may be secrets).
    pub header_names: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub pass: usize,
    pub non_strict: usize,
    pub informational: usize,
    pub unimplemented: usize,
    pub fail: usize,
    /// Cases wsspec could not judge (see `Grade::Error`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub error: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl RunResults {
    /// Failures that are not documented deviations: these decide exit code 1.
    pub fn unexpected_failures(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| c.verdict == Grade::Fail && c.deviation.is_none())
            .count()
    }

    /// Whether the run cannot vouch for itself: cases missing or unjudged (exit code 2).
    pub fn untrustworthy(&self) -> bool {
        self.incomplete.is_some() || self.cases.iter().any(|c| c.verdict == Grade::Error)
    }
}

impl Totals {
    pub fn of(cases: &[CaseResult]) -> Totals {
        let mut t = Totals::default();
        for c in cases {
            t.add(c.verdict);
        }
        t
    }

    pub fn add(&mut self, g: Grade) {
        match g {
            Grade::Pass => self.pass += 1,
            Grade::NonStrict => self.non_strict += 1,
            Grade::Informational => self.informational += 1,
            Grade::Unimplemented => self.unimplemented += 1,
            Grade::Fail => self.fail += 1,
            Grade::Error => self.error += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.pass
            + self.non_strict
            + self.informational
            + self.unimplemented
            + self.fail
            + self.error
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub id: String,
    pub title: String,
    pub area: String,
    pub section: String,
    pub requirement: String,
    pub level: Level,
    pub autobahn: Option<String>,
    pub origin: String,
    pub verdict: Grade,
    /// When the case file documents this deviation for the implementation under test
    /// (`--known-deviations`), the explanation; such a failure does not fail the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deviation: Option<String>,
    /// Why the verdict is not `pass`, one line each (empty on pass).
    pub reasons: Vec<String>,
    pub checks: Vec<Check>,
    pub violations: Vec<PeerViolation>,
    /// How the connection ended; absent when no WebSocket connection was established.
    pub close: Option<CloseResult>,
    pub duration_ms: f64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// (bytes sent + bytes received) per second of the case's duration.
    #[serde(default)]
    pub bytes_per_sec: f64,
    /// Where the case's time went (absent in results written before it existed).
    #[serde(default)]
    pub timings: Timings,
    pub transcript: Transcript,
}

/// Where one case's time went, in milliseconds. `connect`, `handshake`, `exchange` and
/// `close` are consecutive phases and add up to about `duration_ms`; `waiting` is the part
/// of them spent waiting for something that never came (an expectation that timed out, a
/// `wait` step, a peer that did not close TCP): the time a faster peer cannot save.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// TCP (and TLS) connection, or waiting for the client to connect in client mode.
    pub connect_ms: f64,
    /// The opening handshake steps.
    pub handshake_ms: f64,
    /// The case's own steps after the handshake.
    pub exchange_ms: f64,
    /// The closing handshake, until TCP is closed.
    pub close_ms: f64,
    pub waiting_ms: f64,
}

impl Timings {
    /// Counts a step's time in its phase: the handshake's send and expectation, or the
    /// exchange.
    pub fn add_step(&mut self, step: &crate::case::Step, d: std::time::Duration) {
        use crate::case::{ExpectKind, Send, Step};
        let ms = d.as_secs_f64() * 1000.0;
        match step {
            Step::Send(Send::Handshake(_), _) => self.handshake_ms += ms,
            Step::Expect(e) if matches!(e.kind, ExpectKind::Handshake(_)) => {
                self.handshake_ms += ms
            }
            _ => self.exchange_ms += ms,
        }
    }

    /// The share of the phases spent waiting, 0 to 1.
    pub fn waiting_share(&self) -> f64 {
        let total = self.connect_ms + self.handshake_ms + self.exchange_ms + self.close_ms;
        if total > 0.0 {
            (self.waiting_ms / total).min(1.0)
        } else {
            0.0
        }
    }
}

impl CaseResult {
    /// A result for `case` with nothing observed, for verdicts wsspec gives without a
    /// session (a panic in wsspec).
    pub fn unjudged(case: &crate::case::Case) -> CaseResult {
        CaseResult {
            id: case.id.clone(),
            title: case.title.clone(),
            area: case.area().to_owned(),
            section: case.section.clone(),
            requirement: case.requirement.clone(),
            level: case.level,
            autobahn: case.autobahn.clone(),
            origin: case.origin.clone(),
            verdict: Grade::Error,
            deviation: None,
            reasons: Vec::new(),
            checks: Vec::new(),
            violations: Vec::new(),
            close: None,
            duration_ms: 0.0,
            bytes_sent: 0,
            bytes_received: 0,
            bytes_per_sec: 0.0,
            timings: Timings::default(),
            transcript: Transcript::default(),
        }
    }
}

/// One expectation and what was seen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    /// Index into the case's steps (after the implicit handshake steps are added; a step
    /// with `repeat` is one step, whichever of its runs the check judged).
    pub step: usize,
    pub expected: String,
    pub observed: String,
    pub matched: bool,
    pub grade: Grade,
    /// The check wsspec adds itself (the implicit handshake): never softened by the level.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub implicit: bool,
    /// Identical consecutive checks (a `repeat`ed expectation) are kept once and counted.
    #[serde(default = "one")]
    pub count: usize,
    /// The peer refused for a size, fragment-count or resource limit (DESIGN.md §5): the
    /// "limit" outcome, informational unless a declared limit says otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub limit: bool,
}

fn one() -> usize {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    Peer,
    Wsspec,
    Nobody,
}

/// The close behaviour of one case, judged apart from the case (as Autobahn does).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CloseResult {
    pub verdict: Grade,
    /// Who sent the first close frame.
    pub closed_by: Party,
    /// Both close frames were exchanged.
    pub clean: bool,
    pub peer_code: Option<u16>,
    pub wsspec_code: Option<u16>,
    /// Who closed TCP first.
    pub tcp_closed_by: Party,
    pub detail: String,
    /// The TCP view of the end: FIN or RST, and when, relative to the close frames
    /// (absent in results written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpView>,
}

/// How one side ended its TCP connection, as wsspec saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TcpEnd {
    /// An orderly close: a zero read.
    Fin,
    /// A reset: ECONNRESET (or a broken pipe) on a read or a write.
    Rst,
}

impl TcpEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            TcpEnd::Fin => "FIN",
            TcpEnd::Rst => "RST",
        }
    }
}

/// The TCP view of closing (RFC 6455 §7.1.1, §7.1.7), as a packet capture shows it: who
/// closed TCP first, whether by FIN or RST, and when, in milliseconds since the case
/// started, next to the close frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TcpView {
    /// Who ended TCP first on the wire (Nobody: both sides still open when wsspec stopped).
    pub first: Party,
    /// How the peer's side ended; None: it was still open when wsspec stopped reading.
    pub peer_end: Option<TcpEnd>,
    pub peer_end_ms: Option<f64>,
    /// When wsspec shut its write side (FIN).
    pub wsspec_fin_ms: Option<f64>,
    pub peer_close_frame_ms: Option<f64>,
    pub wsspec_close_frame_ms: Option<f64>,
    /// One line, e.g. "server sent FIN 0.4 ms after its close frame; then wsspec sent FIN
    /// 0.1 ms after the server's close frame".
    pub summary: String,
}

/// The TLS session of a `wss://` run, as seen on one connection made after the reachability
/// check (in client mode: on the client's first case connection): a report of a run over
/// TLS says what was negotiated and whether the server's identity was checked, so an
/// `--insecure` run never reads like a verified one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsDetails {
    /// e.g. "TLSv1.3"
    pub version: String,
    /// rustls' name of the cipher suite, e.g. "TLS13_AES_256_GCM_SHA384".
    pub cipher_suite: String,
    /// The ALPN protocol the server chose, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// The server certificate's subject and issuer, attributes in certificate order
    /// ("CN=example.org, O=Example"); empty when the certificate could not be read.
    pub subject: String,
    pub issuer: String,
    /// Whom wsspec trusted; `insecure` means the certificate was not verified.
    pub trust: TlsTrust,
}

impl TlsDetails {
    /// Whether wsspec verified the server's certificate chain and name (never in client
    /// mode, where wsspec is the server and the client under test does the verifying).
    pub fn verified(&self) -> bool {
        matches!(self.trust, TlsTrust::PublicRoots | TlsTrust::CaFile)
    }
}

/// Which certificates a `wss://` run trusted (see `run::tls::Trust`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsTrust {
    /// The Mozilla root set compiled into wsspec (webpki-roots).
    #[default]
    PublicRoots,
    /// Only the certificates given with `--ca` (or a private anchor, as `demo --tls` uses).
    CaFile,
    /// `--insecure`: any certificate; the identity of the server was not checked.
    Insecure,
    /// Client mode: wsspec served a self-signed certificate it generated for the run, and
    /// the client under test accepted it (it was told to trust it, or verifies nothing).
    ServedGenerated,
    /// Client mode: wsspec served the certificate given with `--cert`, and the client
    /// under test accepted it.
    ServedGiven,
}

impl TlsTrust {
    /// How reports say it.
    pub fn describe(self) -> &'static str {
        match self {
            TlsTrust::PublicRoots => "verified against the public web roots (webpki-roots)",
            TlsTrust::CaFile => "verified against the certificates given with --ca",
            TlsTrust::Insecure => "NOT verified (--insecure): any certificate was accepted",
            TlsTrust::ServedGenerated => {
                "served by wsspec: a self-signed certificate generated for this run (wsspec-cert.pem), which the client accepted: it trusted that file or verifies no certificate"
            }
            TlsTrust::ServedGiven => {
                "served by wsspec: the certificate given with --cert, which the client accepted"
            }
        }
    }
}
