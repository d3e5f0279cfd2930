//! The view model the HTML templates render: results grouped, cleaned and bounded.
//!
//! Everything that may come from the peer goes through `text::clean` here (controls
//! escaped, length bounded); HTML escaping is the template engine's autoescape. The
//! templates never mark a value of this model `safe`.
//!
//! Transcripts are the bulk of a report, so they get a budget, spent in order of need:
//! failures (and errors) first, then the other non-passing cases, then passing ones. A failure
//! always keeps its transcript (shorter once the budget is spent): it is the evidence a
//! maintainer reads, and a 28 MB results.json is no place to look for it. Only other cases'
//! transcripts are left out, with a note that `results.json` holds them.

use serde::Serialize;

use super::baseline::{Comparison, Status};
use crate::case::Grade;
use crate::results::{CaseResult, RunResults, Totals};
use crate::text::{clean, clean_line};
use crate::transcript::{Direction, Entry, Transcript};

/// Longest title, requirement or expectation shown.
pub(crate) const TEXT_MAX: usize = 2000;
/// Longest peer-controlled string shown (observed, reason, close detail, preview, note).
pub(crate) const PEER_MAX: usize = 1000;
/// At most this many reasons, checks and violations per case.
pub const LIST_MAX: usize = 50;
/// Estimated HTML bytes all transcripts of one page may take.
pub(crate) const TRANSCRIPT_BUDGET: usize = 8 << 20;

/// How much of one case's transcript a page shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TranscriptLimits {
    pub entries: usize,
    /// Bytes of each chunk shown in the hex dump.
    pub chunk_bytes: usize,
}

/// Non-passing cases: the evidence people read.
pub(crate) const DETAILED: TranscriptLimits = TranscriptLimits {
    entries: 400,
    chunk_bytes: 1024,
};
/// Passing cases: enough to see what happened.
pub(crate) const BRIEF: TranscriptLimits = TranscriptLimits {
    entries: 100,
    chunk_bytes: 256,
};

pub(crate) const GRADES: [Grade; 6] = [
    Grade::Pass,
    Grade::NonStrict,
    Grade::Informational,
    Grade::Unimplemented,
    Grade::Fail,
    Grade::Error,
];

/// The verdicts a report's tables show: `error` only when some case has it, so reports of
/// ordinary runs keep their shape.
pub(crate) fn grades_shown(t: &Totals) -> Vec<Grade> {
    GRADES
        .into_iter()
        .filter(|&g| g != Grade::Error || t.error > 0)
        .collect()
}

pub fn label(g: Grade) -> &'static str {
    match g {
        Grade::Pass => "PASS",
        Grade::NonStrict => "NON-STRICT",
        Grade::Informational => "INFO",
        Grade::Unimplemented => "UNIMPL",
        Grade::Fail => "FAIL",
        Grade::Error => "ERROR",
    }
}

fn count(t: &Totals, g: Grade) -> usize {
    match g {
        Grade::Pass => t.pass,
        Grade::NonStrict => t.non_strict,
        Grade::Informational => t.informational,
        Grade::Unimplemented => t.unimplemented,
        Grade::Fail => t.fail,
        Grade::Error => t.error,
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct VerdictCount {
    pub verdict: &'static str,
    pub label: &'static str,
    pub count: usize,
}

/// One segment of a stacked bar, in percent of the bar's width.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Segment {
    pub verdict: &'static str,
    pub x: String,
    pub w: String,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct TotalsView {
    pub total: usize,
    /// "1 case", "973 cases"
    pub cases_text: String,
    pub pass: usize,
    pub fail: usize,
    pub counts: Vec<VerdictCount>,
    pub segments: Vec<Segment>,
    /// e.g. "93.3%"
    pub pass_rate: String,
    /// A one-line description for the SVG's title (screen readers, hover).
    pub describe: String,
}

impl TotalsView {
    pub fn new(t: &Totals) -> TotalsView {
        let total = t.total();
        let mut segments = Vec::new();
        let mut x = 0.0;
        for g in GRADES {
            let n = count(t, g);
            if n == 0 {
                continue;
            }
            let w = 100.0 * n as f64 / total as f64;
            segments.push(Segment {
                verdict: g.as_str(),
                x: format!("{x:.3}"),
                w: format!("{w:.3}"),
                count: n,
            });
            x += w;
        }
        let counts: Vec<VerdictCount> = grades_shown(t)
            .into_iter()
            .map(|g| VerdictCount {
                verdict: g.as_str(),
                label: label(g),
                count: count(t, g),
            })
            .collect();
        let describe = counts
            .iter()
            .filter(|c| c.count > 0)
            .map(|c| format!("{} {}", c.count, c.verdict))
            .collect::<Vec<_>>()
            .join(", ");
        TotalsView {
            total,
            cases_text: super::headline::plural(total, "case", "cases"),
            pass: t.pass,
            fail: t.fail,
            pass_rate: if total == 0 {
                "–".to_owned()
            } else {
                format!("{:.1}%", 100.0 * t.pass as f64 / total as f64)
            },
            counts,
            segments,
            describe,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct CheckView {
    pub step: usize,
    pub expected: String,
    pub observed: String,
    pub matched: bool,
    pub verdict: &'static str,
    pub label: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ViolationView {
    pub section: String,
    pub rule: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct CloseView {
    pub verdict: &'static str,
    pub label: &'static str,
    pub closed_by: String,
    pub clean: bool,
    pub peer_code: String,
    pub wsspec_code: String,
    pub tcp_closed_by: String,
    pub detail: String,
    /// The TCP view in one line ("server sent FIN 0.4 ms after its close frame"); empty
    /// for results written before it was recorded.
    pub tcp: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct EntryView {
    /// "bytes", "frame" or "note"
    pub kind: &'static str,
    /// Time since the case started, e.g. "0.283 ms".
    pub t: String,
    /// "out", "in" or "" (notes)
    pub dir: &'static str,
    pub arrow: &'static str,
    /// Frame description, note text, or the chunk's size.
    pub text: String,
    /// Hex dump, 16 bytes a row, for byte chunks.
    pub dump: String,
    /// Non-empty when the chunk is not shown whole.
    pub cut: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct TranscriptView {
    pub shown: bool,
    /// Why the transcript is not shown (when `shown` is false).
    pub omitted: String,
    pub entries: Vec<EntryView>,
    pub total_entries: usize,
    /// Non-empty when entries or bytes are left out, saying what and where to find it.
    pub truncated: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct BaselineMark {
    /// "regression", "fixed", "known-failure", "new", "unchanged", "changed"
    pub status: String,
    pub label: &'static str,
    pub was: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct CaseView {
    pub id: String,
    pub anchor: String,
    pub title: String,
    pub area: String,
    pub section: String,
    pub requirement: String,
    pub level: &'static str,
    pub autobahn: String,
    pub origin: String,
    pub verdict: &'static str,
    pub label: &'static str,
    pub reasons: Vec<String>,
    pub checks: Vec<CheckView>,
    pub violations: Vec<ViolationView>,
    /// Non-empty when lists were cut.
    pub lists_cut: String,
    pub close: Option<CloseView>,
    /// What the page says when there is no close verdict: whether a connection was
    /// established at all (see [`close_note`]).
    pub close_note: String,
    pub duration: String,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub baseline: Option<BaselineMark>,
    /// Whether the case's details start open (failures and regressions, the first few).
    pub open: bool,
    pub transcript: TranscriptView,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct AreaView {
    pub name: String,
    pub anchor: String,
    pub totals: TotalsView,
    pub cases: Vec<CaseView>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct LinkItem {
    pub id: String,
    pub anchor: String,
    pub was: String,
    pub now: String,
    pub now_label: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct BaselineView {
    pub failed: bool,
    pub summary: String,
    pub regressions: Vec<LinkItem>,
    pub fixes: Vec<LinkItem>,
    pub known_failures: Vec<LinkItem>,
    pub new_cases: Vec<LinkItem>,
    pub new_failures: usize,
    pub changed: Vec<LinkItem>,
    pub not_run: usize,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct KeyValue {
    pub key: &'static str,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunView {
    pub agent: String,
    pub target: String,
    /// "http/1.1", "h2" or "h2c".
    pub transport: String,
    pub peer_role: String,
    pub version: String,
    pub started_at: String,
    pub duration: String,
    pub options: Vec<KeyValue>,
    pub totals: TotalsView,
    pub areas: Vec<AreaView>,
    pub baseline: Option<BaselineView>,
    /// Page-level notes (e.g. transcripts left out for size).
    pub notes: Vec<String>,
    /// The conformance summary: "N MUST findings (M cases), ...".
    pub conformance: String,
    /// The page's headline: findings per class and rates over what the peer implements.
    pub headline: super::headline::Headline,
    /// The TLS session of a `wss://` run.
    pub tls: Option<TlsView>,
    /// The non-passing cases grouped by cause, failures first.
    pub findings: Vec<FindingView>,
    /// Non-empty when findings were left out of the page.
    pub findings_cut: String,
}

/// The TLS details of a run, cleaned for the page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TlsView {
    pub version: String,
    pub cipher_suite: String,
    pub alpn: String,
    pub subject: String,
    pub issuer: String,
    pub verified: bool,
    /// Client mode: wsspec served the certificate; the client under test verified it, or
    /// not, which wsspec cannot see.
    pub served: bool,
    /// How the certificate was checked, or that it was not.
    pub trust: &'static str,
}

impl TlsView {
    pub fn new(t: &crate::results::TlsDetails) -> TlsView {
        let or_unknown = |s: &str| {
            if s.is_empty() {
                "(not readable)".to_owned()
            } else {
                clean_line(s, 300)
            }
        };
        TlsView {
            version: clean_line(&t.version, 30),
            cipher_suite: clean_line(&t.cipher_suite, 80),
            alpn: t
                .alpn
                .as_deref()
                .map(|a| clean_line(a, 50))
                .unwrap_or_else(|| "none".to_owned()),
            subject: or_unknown(&t.subject),
            issuer: or_unknown(&t.issuer),
            verified: t.verified(),
            served: matches!(
                t.trust,
                crate::results::TlsTrust::ServedGenerated | crate::results::TlsTrust::ServedGiven
            ),
            trust: t.trust.describe(),
        }
    }

    /// One line for text reports.
    pub fn line(&self) -> String {
        format!(
            "{}, {}, ALPN {}; certificate subject {}, issuer {}; {}",
            self.version, self.cipher_suite, self.alpn, self.subject, self.issuer, self.trust
        )
    }
}

/// The TLS of a run in one line (cleaned, not escaped), or that it was plain `ws://`.
pub(crate) fn tls_text(r: &RunResults) -> String {
    match &r.tls {
        Some(t) => TlsView::new(t).line(),
        None => "none (plain ws://)".to_owned(),
    }
}

/// A case of a finding, linked to its section of the page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CaseLink {
    pub id: String,
    pub anchor: String,
}

/// One finding (see [`super::findings`]), cleaned for the page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FindingView {
    pub number: usize,
    /// "must", "should", "limit", "unimplemented", "informational"
    pub class: &'static str,
    pub label: &'static str,
    /// The verdict whose colour the finding takes.
    pub verdict: &'static str,
    pub section: String,
    pub requirement: String,
    pub expected: String,
    pub behaviour: String,
    pub example_observed: String,
    pub count: usize,
    pub known_deviations: usize,
    pub cases: Vec<CaseLink>,
    /// Non-empty when the list of cases was cut.
    pub cases_cut: String,
    /// MUST findings start open, the first few.
    pub open: bool,
}

/// Findings shown on one page; the rest are counted (results.json has them all).
pub(crate) const FINDINGS_MAX: usize = 500;
/// Case links listed per finding.
pub(crate) const FINDING_CASES_MAX: usize = 1000;
/// MUST findings whose details start open.
pub(crate) const FINDINGS_OPEN: usize = 5;

pub(crate) fn finding_views(findings: &[super::findings::Finding]) -> (Vec<FindingView>, String) {
    let views = findings
        .iter()
        .take(FINDINGS_MAX)
        .enumerate()
        .map(|(i, f)| FindingView {
            number: f.number,
            class: f.class.as_str(),
            label: f.class.label(),
            verdict: f.class.verdict().as_str(),
            section: clean_line(&f.section, 100),
            requirement: clean(&f.requirement, TEXT_MAX),
            expected: clean(&f.expected, TEXT_MAX),
            behaviour: clean(&f.behaviour, PEER_MAX),
            example_observed: clean(&f.example_observed, PEER_MAX),
            count: f.count,
            known_deviations: f.known_deviations,
            cases: f
                .cases
                .iter()
                .take(FINDING_CASES_MAX)
                .map(|id| CaseLink {
                    id: clean_line(id, 200),
                    anchor: anchor("case-", id),
                })
                .collect(),
            cases_cut: if f.cases.len() > FINDING_CASES_MAX {
                format!(
                    "and {} more (results.json lists them all)",
                    f.cases.len() - FINDING_CASES_MAX
                )
            } else {
                String::new()
            },
            open: i < FINDINGS_OPEN && f.class == super::findings::FindingClass::Must,
        })
        .collect();
    let cut = if findings.len() > FINDINGS_MAX {
        format!(
            "{} more findings are not shown here; results.json lists them all.",
            findings.len() - FINDINGS_MAX
        )
    } else {
        String::new()
    };
    (views, cut)
}

/// Anchor-safe form of an id: case ids are dotted words already; anything else becomes '_'.
pub fn anchor(prefix: &str, id: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + id.len());
    s.push_str(prefix);
    s.extend(id.chars().take(200).map(|c| {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
            c
        } else {
            '_'
        }
    }));
    s
}

pub fn duration(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        "–".to_owned()
    } else if ms < 1000.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

fn party(p: crate::results::Party) -> String {
    match p {
        crate::results::Party::Peer => "peer",
        crate::results::Party::Wsspec => "wsspec",
        crate::results::Party::Nobody => "nobody",
    }
    .to_owned()
}

pub(crate) fn opcode_name(op: u8) -> String {
    match op {
        0 => "CONTINUATION".to_owned(),
        1 => "TEXT".to_owned(),
        2 => "BINARY".to_owned(),
        8 => "CLOSE".to_owned(),
        9 => "PING".to_owned(),
        10 => "PONG".to_owned(),
        n => format!("RESERVED 0x{n:x}"),
    }
}

/// Decodes the transcript's hex (tolerating junk from a hand-edited results.json).
fn unhex(hex: &str, max: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(hex.len().min(max * 2) / 2);
    let digits = hex.as_bytes();
    let val = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    for pair in digits.chunks(2) {
        if out.len() == max {
            break;
        }
        match (
            pair.first().and_then(|&b| val(b)),
            pair.get(1).and_then(|&b| val(b)),
        ) {
            (Some(h), Some(l)) => out.push(h << 4 | l),
            _ => return (out, true),
        }
    }
    (out, false)
}

/// A classic hex dump: offset, 16 bytes in two groups of 8, and their printable ASCII.
pub(crate) fn hex_dump(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() / 16 * 76 + 76);
    for (row, chunk) in bytes.chunks(16).enumerate() {
        s.push_str(&format!("{:04x}  ", row * 16));
        for k in 0..16 {
            match chunk.get(k) {
                Some(b) => s.push_str(&format!("{b:02x} ")),
                None => s.push_str("   "),
            }
            if k == 7 {
                s.push(' ');
            }
        }
        s.push(' ');
        s.extend(chunk.iter().map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        }));
        s.push('\n');
    }
    s
}

fn time(t_us: u64) -> String {
    format!("{:.3} ms", t_us as f64 / 1000.0)
}

fn dir(d: Direction) -> (&'static str, &'static str) {
    match d {
        Direction::Out => ("out", "→"),
        Direction::In => ("in", "←"),
    }
}

/// The estimated HTML size of `t` shown under `lim`, without rendering it (so a page over
/// budget does not pay for transcripts it leaves out).
pub(crate) fn transcript_cost(t: &Transcript, lim: TranscriptLimits) -> usize {
    let mut cost = 300;
    for e in t.entries.iter().take(lim.entries) {
        cost += 160
            + match e {
                Entry::Bytes { hex, .. } => {
                    let rows = (hex.len() / 2).min(lim.chunk_bytes).div_ceil(16);
                    rows * 76 * 6 / 5 + 80
                }
                Entry::Frame { preview, .. } => 60 + preview.len().min(800),
                Entry::Note { text, .. } => text.len().min(PEER_MAX * 4),
            };
    }
    cost
}

/// The transcript as shown under `lim`.
pub(crate) fn transcript_view(t: &Transcript, lim: TranscriptLimits) -> TranscriptView {
    let mut entries = Vec::with_capacity(t.entries.len().min(lim.entries));
    for e in t.entries.iter().take(lim.entries) {
        let v = match e {
            Entry::Bytes {
                t_us,
                dir: d,
                len,
                hex,
                truncated,
            } => {
                let (bytes, junk) = unhex(hex, lim.chunk_bytes);
                let kept = hex.len() / 2;
                let mut cut = Vec::new();
                if junk {
                    cut.push("the recorded hex is malformed; showing what decodes".to_owned());
                }
                if bytes.len() < kept && !junk {
                    cut.push(format!(
                        "showing {} of {} bytes kept (results.json has them all)",
                        bytes.len(),
                        kept
                    ));
                }
                if *truncated || kept < *len {
                    cut.push(format!(
                        "the transcript kept {} of {} bytes on the wire",
                        kept.min(*len),
                        len
                    ));
                }
                let (dir, arrow) = dir(*d);
                EntryView {
                    kind: "bytes",
                    t: time(*t_us),
                    dir,
                    arrow,
                    text: format!("{len} bytes"),
                    dump: hex_dump(&bytes),
                    cut: cut.join("; "),
                }
            }
            Entry::Frame {
                t_us,
                dir: d,
                fin,
                rsv,
                opcode,
                masked,
                len,
                preview,
            } => {
                let (dir, arrow) = dir(*d);
                let mut text = format!(
                    "{} fin={} rsv={:03b} {} len={}",
                    opcode_name(*opcode),
                    u8::from(*fin),
                    rsv & 7,
                    if *masked { "masked" } else { "unmasked" },
                    len
                );
                if !preview.is_empty() {
                    text.push_str("  ");
                    text.push_str(&clean_line(preview, 200));
                }
                EntryView {
                    kind: "frame",
                    t: time(*t_us),
                    dir,
                    arrow,
                    text,
                    dump: String::new(),
                    cut: String::new(),
                }
            }
            Entry::Note { t_us, text } => EntryView {
                kind: "note",
                t: time(*t_us),
                dir: "",
                arrow: "·",
                text: clean(text, PEER_MAX),
                dump: String::new(),
                cut: String::new(),
            },
        };
        entries.push(v);
    }
    let mut truncated = Vec::new();
    if t.entries.len() > entries.len() {
        truncated.push(format!(
            "{} more entries not shown here",
            t.entries.len() - entries.len()
        ));
    }
    if t.dropped_entries > 0 || t.dropped_bytes > 0 {
        truncated.push(format!(
            "the transcript reached its bound during the run: {} entries and {} bytes were not recorded",
            t.dropped_entries, t.dropped_bytes
        ));
    }
    let truncated = if truncated.is_empty() {
        String::new()
    } else {
        format!("Transcript truncated: {}.", truncated.join("; "))
    };
    TranscriptView {
        shown: true,
        omitted: String::new(),
        total_entries: t.entries.len(),
        entries,
        truncated,
    }
}

fn omitted(t: &Transcript, why: &str) -> TranscriptView {
    TranscriptView {
        shown: false,
        omitted: why.to_owned(),
        entries: Vec::new(),
        total_entries: t.entries.len(),
        truncated: String::new(),
    }
}

fn bounded_list<T, U>(
    items: &[T],
    f: impl Fn(&T) -> U,
    what: &str,
    cut: &mut Vec<String>,
) -> Vec<U> {
    if items.len() > LIST_MAX {
        cut.push(format!("{} more {what}", items.len() - LIST_MAX));
    }
    items.iter().take(LIST_MAX).map(f).collect()
}

/// One case without its transcript (the caller decides on that).
pub(crate) fn case_view(c: &CaseResult, cmp: Option<&Comparison>) -> CaseView {
    let mut cut = Vec::new();
    let reasons = bounded_list(&c.reasons, |r| clean(r, PEER_MAX), "reasons", &mut cut);
    let checks = bounded_list(
        &c.checks,
        |k| CheckView {
            step: k.step,
            expected: clean(&k.expected, TEXT_MAX),
            observed: clean(&k.observed, PEER_MAX),
            matched: k.matched,
            verdict: k.grade.as_str(),
            label: label(k.grade),
        },
        "checks",
        &mut cut,
    );
    let violations = bounded_list(
        &c.violations,
        |v| ViolationView {
            section: clean_line(&v.section, 100),
            rule: clean(&v.rule, TEXT_MAX),
            detail: clean(&v.detail, PEER_MAX),
        },
        "violations",
        &mut cut,
    );
    let baseline = cmp.and_then(|cmp| cmp.get(&c.id)).map(|ch| BaselineMark {
        status: ch.status.as_str().replace(' ', "-"),
        label: ch.status.as_str(),
        was: ch.was.map(|g| g.as_str().to_owned()).unwrap_or_default(),
    });
    CaseView {
        anchor: anchor("case-", &c.id),
        id: clean_line(&c.id, 200),
        title: clean(&c.title, TEXT_MAX),
        area: clean_line(&c.area, 100),
        section: clean_line(&c.section, 100),
        requirement: clean(&c.requirement, TEXT_MAX),
        level: c.level.as_str(),
        autobahn: c
            .autobahn
            .as_deref()
            .map(|a| clean_line(a, 50))
            .unwrap_or_default(),
        origin: clean_line(&c.origin, 300),
        verdict: c.verdict.as_str(),
        label: label(c.verdict),
        reasons,
        checks,
        violations,
        lists_cut: if cut.is_empty() {
            String::new()
        } else {
            format!("Not shown: {} (see results.json).", cut.join(", "))
        },
        close: c.close.as_ref().map(|k| CloseView {
            verdict: k.verdict.as_str(),
            label: label(k.verdict),
            closed_by: party(k.closed_by),
            clean: k.clean,
            peer_code: k
                .peer_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "none".into()),
            wsspec_code: k
                .wsspec_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "none".into()),
            tcp_closed_by: party(k.tcp_closed_by),
            detail: clean(&k.detail, PEER_MAX),
            tcp: k
                .tcp
                .as_ref()
                .map(|v| clean(&v.summary, PEER_MAX))
                .unwrap_or_default(),
        }),
        close_note: if c.close.is_some() {
            String::new()
        } else {
            close_note(c).to_owned()
        },
        duration: duration(c.duration_ms),
        bytes_sent: c.bytes_sent,
        bytes_received: c.bytes_received,
        open: false,
        baseline,
        transcript: omitted(&c.transcript, ""),
    }
}

/// Why a case has no close verdict, in words that agree with its checks. A case judges the
/// close only when its connection was established, it asks for the close to be judged, and
/// wsspec did not end the connection itself once the verdict was decided; a case whose
/// handshake passed must not read "no connection was established".
pub(crate) fn close_note(c: &CaseResult) -> &'static str {
    let upgraded = c
        .checks
        .iter()
        .any(|k| (k.implicit && k.matched) || k.observed.starts_with("status 101"))
        || c.transcript.entries.iter().any(|e| {
            matches!(
                e,
                Entry::Frame {
                    dir: Direction::In,
                    ..
                }
            )
        });
    let heard = c.bytes_received > 0;
    if upgraded {
        "not judged in this case: the WebSocket connection was established, and wsspec ended it once the case's checks were decided"
    } else if heard {
        "no WebSocket connection was established: the peer did not accept the opening handshake"
    } else {
        "no WebSocket connection was established: nothing came back from the peer"
    }
}

/// Areas in order of first appearance, each with its cases in run order.
pub fn group(cases: &[CaseResult]) -> Vec<(&str, Vec<&CaseResult>)> {
    let mut areas: Vec<(&str, Vec<&CaseResult>)> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for c in cases {
        let i = *index.entry(c.area.as_str()).or_insert_with(|| {
            areas.push((c.area.as_str(), Vec::new()));
            areas.len() - 1
        });
        areas[i].1.push(c);
    }
    areas
}

/// Cases whose details start open: failures first, at most this many.
pub(crate) const OPEN_MAX: usize = 100;

fn link(ch: &super::baseline::Change) -> LinkItem {
    LinkItem {
        anchor: anchor("case-", &ch.id),
        id: clean_line(&ch.id, 200),
        was: ch.was.map(|g| g.as_str().to_owned()).unwrap_or_default(),
        now: ch.now.as_str().to_owned(),
        now_label: label(ch.now),
    }
}

pub(crate) fn baseline_view(cmp: &Comparison) -> BaselineView {
    let links = |v: &[super::baseline::Change]| v.iter().map(link).collect::<Vec<_>>();
    BaselineView {
        failed: cmp.failed(),
        summary: cmp.summary_line(),
        regressions: links(&cmp.regressions),
        fixes: links(&cmp.fixes),
        known_failures: links(&cmp.known_failures),
        new_cases: links(&cmp.new_cases),
        new_failures: cmp.new_failures().count(),
        changed: links(&cmp.changed),
        not_run: cmp.not_run.len(),
    }
}

pub(crate) fn run_view(r: &RunResults, cmp: Option<&Comparison>) -> RunView {
    let mut areas: Vec<AreaView> = group(&r.cases)
        .into_iter()
        .map(|(name, cases)| {
            let mut t = Totals::default();
            for c in &cases {
                t.add(c.verdict);
            }
            AreaView {
                anchor: anchor("area-", name),
                name: clean_line(name, 100),
                totals: TotalsView::new(&t),
                cases: cases.iter().map(|c| case_view(c, cmp)).collect(),
            }
        })
        .collect();

    // Transcripts under a page budget, non-passing cases first.
    let by_index: Vec<(usize, usize, &CaseResult)> = {
        let mut v = Vec::with_capacity(r.cases.len());
        for (a, (_, cases)) in group(&r.cases).into_iter().enumerate() {
            for (k, c) in cases.into_iter().enumerate() {
                v.push((a, k, c));
            }
        }
        v
    };
    let mut budget = TRANSCRIPT_BUDGET;
    let mut left_out = 0;
    let mut shortened = 0;
    let mut opened = 0;
    // Round 0: failures and errors; 1: the other non-passing cases; 2: passing cases.
    let round_of = |g: Grade| match g {
        Grade::Fail | Grade::Error => 0,
        Grade::Pass => 2,
        _ => 1,
    };
    for round in 0..3 {
        let pass_round = round == 2;
        for &(a, k, c) in &by_index {
            if round_of(c.verdict) != round {
                continue;
            }
            let lim = if pass_round { BRIEF } else { DETAILED };
            let cost = transcript_cost(&c.transcript, lim);
            let view = &mut areas[a].cases[k];
            if cost <= budget {
                budget -= cost;
                view.transcript = transcript_view(&c.transcript, lim);
            } else if round == 0 {
                // A failure is never left without its evidence: past the budget it is shown
                // in brief, and the page grows.
                shortened += 1;
                budget = budget.saturating_sub(transcript_cost(&c.transcript, BRIEF));
                view.transcript = transcript_view(&c.transcript, BRIEF);
            } else {
                left_out += 1;
                view.transcript = omitted(
                    &c.transcript,
                    "left out to keep this page small; results.json holds the whole transcript",
                );
            }
            let regression = view
                .baseline
                .as_ref()
                .is_some_and(|b| b.status == Status::Regression.as_str());
            let known = view
                .baseline
                .as_ref()
                .is_some_and(|b| b.status == "known-failure");
            if !pass_round
                && opened < OPEN_MAX
                && (regression || (c.verdict == Grade::Fail && !known))
            {
                view.open = true;
                opened += 1;
            }
        }
    }
    let mut notes = Vec::new();
    if let Some(inc) = &r.incomplete {
        notes.push(format!(
            "{}. Not run: {}.",
            inc.headline(),
            inc.missing_list(500)
        ));
    }
    if left_out > 0 {
        notes.push(format!(
            "The wire transcripts of {} that did not fail are left out to keep this page small; results.json holds them. Every failing case keeps its transcript.",
            super::headline::plural(left_out, "case", "cases")
        ));
    }
    if shortened > 0 {
        notes.push(format!(
            "The transcripts of {} are shown in brief (fewer entries and bytes) to keep this page small; results.json holds them whole.",
            super::headline::plural(shortened, "failing case", "failing cases")
        ));
    }
    let o = &r.options;
    let list = |v: &[String]| {
        if v.is_empty() {
            "all".to_owned()
        } else {
            v.iter()
                .take(50)
                .map(|s| clean_line(s, 200))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let options = vec![
        KeyValue {
            key: "jobs",
            value: o.jobs.to_string(),
        },
        KeyValue {
            key: "timeout",
            value: format!("{} ms", o.timeout_ms),
        },
        KeyValue {
            key: "strict",
            value: if o.strict { "yes" } else { "no" }.to_owned(),
        },
        KeyValue {
            key: "cases",
            value: list(&o.cases),
        },
        KeyValue {
            key: "exclude",
            value: if o.exclude.is_empty() {
                "none".to_owned()
            } else {
                list(&o.exclude)
            },
        },
        KeyValue {
            key: "extra headers",
            value: if o.header_names.is_empty() {
                "none".to_owned()
            } else {
                list(&o.header_names)
            },
        },
    ];
    let found = super::findings::group(&r.cases);
    let (findings, findings_cut) = finding_views(&found);
    let totals = Totals::of(&r.cases);
    RunView {
        headline: super::headline::Headline::new(&totals, &found),
        tls: r.tls.as_ref().map(TlsView::new),
        conformance: super::findings::Summary::of(&found).line(),
        findings,
        findings_cut,
        agent: clean_line(&r.agent, 200),
        target: clean_line(&r.target, 500),
        transport: clean_line(&r.transport, 20),
        peer_role: clean_line(&r.peer_role, 20),
        version: clean_line(&r.wsspec_version, 50),
        started_at: clean_line(&r.started_at, 50),
        duration: duration(r.duration_ms),
        options,
        totals: TotalsView::new(&totals),
        areas,
        baseline: cmp.map(baseline_view),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_dump_rows_of_sixteen() {
        let d = hex_dump(b"GET / HTTP/1.1\r\nHost: x\r\n");
        let rows: Vec<&str> = d.lines().collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            "0000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  GET / HTTP/1.1.."
        );
        assert!(
            rows[1].starts_with("0010  48 6f 73 74 3a 20 78 0d  0a "),
            "{}",
            rows[1]
        );
        assert!(rows[1].ends_with("Host: x.."), "{}", rows[1]);
    }

    #[test]
    fn unhex_tolerates_junk() {
        assert_eq!(unhex("41ff", 10), (vec![0x41, 0xff], false));
        assert_eq!(unhex("41zz42", 10), (vec![0x41], true));
        assert_eq!(unhex("414", 10), (vec![0x41], true));
        assert_eq!(unhex("414243", 2), (vec![0x41, 0x42], false));
    }

    #[test]
    fn bars_add_up() {
        let t = Totals {
            pass: 3,
            non_strict: 0,
            informational: 1,
            unimplemented: 0,
            fail: 1,
            error: 0,
        };
        let v = TotalsView::new(&t);
        assert_eq!(v.segments.len(), 3);
        assert_eq!(v.segments[2].x, "80.000");
        assert_eq!(v.pass_rate, "60.0%");
    }

    #[test]
    fn transcript_budget_prefers_failures() {
        let mut r = super::super::sample::synthetic(40, "a", 1);
        // Make every transcript large enough that the budget runs out.
        for c in &mut r.cases {
            let e = c.transcript.entries[1].clone();
            if let Entry::Bytes { t_us, dir, .. } = e {
                for _ in 0..399 {
                    c.transcript.entries.push(Entry::Bytes {
                        t_us,
                        dir,
                        len: 2048,
                        hex: "ab".repeat(2048),
                        truncated: false,
                    });
                }
            }
        }
        let v = run_view(&r, None);
        let cases: Vec<&CaseView> = v.areas.iter().flat_map(|a| &a.cases).collect();
        let shown_fail = cases
            .iter()
            .filter(|c| c.verdict == "fail" && c.transcript.shown)
            .count();
        let fails = cases.iter().filter(|c| c.verdict == "fail").count();
        assert!(fails > 1 && shown_fail >= 1, "{fails} {shown_fail}");
        // Failures are served first: a failing case only goes without when the budget could
        // not hold it, and then the page says so.
        let first_fail = cases.iter().find(|c| c.verdict == "fail").unwrap();
        assert!(first_fail.transcript.shown);
        assert!(first_fail.transcript.entries.len() == DETAILED.entries);
        // No failure ever goes without its transcript.
        assert_eq!(shown_fail, fails);
        let left_out: Vec<&&CaseView> = cases
            .iter()
            .filter(|c| !c.transcript.shown && !c.transcript.omitted.is_empty())
            .collect();
        assert!(!left_out.is_empty());
        assert!(left_out.iter().all(|c| c.verdict != "fail"));
        assert!(!v.notes.is_empty());
    }

    #[test]
    fn failures_keep_transcripts_past_the_budget() {
        // 60 failing cases of ~400 KB of transcript each: far beyond the page budget.
        let mut r = super::super::sample::synthetic(60, "a", 1);
        for c in &mut r.cases {
            c.verdict = Grade::Fail;
            let t_us = 1;
            for _ in 0..399 {
                c.transcript.entries.push(Entry::Bytes {
                    t_us,
                    dir: Direction::In,
                    len: 2048,
                    hex: "ab".repeat(2048),
                    truncated: false,
                });
            }
        }
        let v = run_view(&r, None);
        let cases: Vec<&CaseView> = v.areas.iter().flat_map(|a| &a.cases).collect();
        assert_eq!(cases.len(), 60);
        assert!(cases.iter().all(|c| c.transcript.shown));
        let brief = cases
            .iter()
            .filter(|c| c.transcript.entries.len() == BRIEF.entries)
            .count();
        assert!(brief > 0, "the budget ran out, so some are brief");
        assert!(
            v.notes.iter().any(|n| n.contains("shown in brief")),
            "{:?}",
            v.notes
        );
    }

    fn check(observed: &str, matched: bool, implicit: bool) -> crate::results::Check {
        crate::results::Check {
            step: 1,
            expected: "status 101".into(),
            observed: observed.into(),
            matched,
            grade: if matched { Grade::Pass } else { Grade::Fail },
            implicit,
            count: 1,
            limit: false,
        }
    }

    #[test]
    fn close_line_agrees_with_the_handshake() {
        let mut r = super::super::sample::synthetic(1, "a", 1);
        let c = &mut r.cases[0];
        c.close = None;
        // The implicit handshake passed: a connection was established.
        c.checks = vec![check("status 101", true, true)];
        c.transcript = Transcript::default();
        let note = case_view(c, None).close_note;
        assert!(note.starts_with("not judged"), "{note}");
        assert!(!note.contains("no WebSocket connection"), "{note}");
        // A handshake case whose server accepted what it should have refused.
        c.checks = vec![check("status 101 Switching Protocols", false, false)];
        assert!(case_view(c, None).close_note.starts_with("not judged"));
        // Refused with a 400: no connection.
        c.checks = vec![check("status 400 Bad Request", true, false)];
        c.bytes_received = 120;
        let note = case_view(c, None).close_note;
        assert!(
            note.contains("did not accept the opening handshake"),
            "{note}"
        );
        c.bytes_received = 0;
        let note = case_view(c, None).close_note;
        assert!(note.contains("nothing came back"), "{note}");
    }

    #[test]
    fn tls_line_says_when_the_certificate_was_not_verified() {
        let mut t = crate::results::TlsDetails {
            version: "TLSv1.3".into(),
            cipher_suite: "TLS13_AES_128_GCM_SHA256".into(),
            alpn: Some("http/1.1".into()),
            subject: "CN=example.test".into(),
            issuer: "CN=Example CA".into(),
            trust: crate::results::TlsTrust::Insecure,
        };
        let line = TlsView::new(&t).line();
        assert!(line.contains("NOT verified (--insecure)"), "{line}");
        assert!(
            line.contains("subject CN=example.test, issuer CN=Example CA"),
            "{line}"
        );
        t.trust = crate::results::TlsTrust::CaFile;
        let v = TlsView::new(&t);
        assert!(
            v.verified
                && v.line()
                    .contains("verified against the certificates given with --ca")
        );
        // Client mode: wsspec served the certificate; it verified nothing itself, and the
        // line does not claim that the client did.
        t.trust = crate::results::TlsTrust::ServedGenerated;
        let v = TlsView::new(&t);
        assert!(!v.verified && v.served);
        assert!(v.line().contains("served by wsspec"), "{}", v.line());
        assert!(!v.line().contains("NOT verified"), "{}", v.line());
    }
}
