//! Findings: the cases of a run that did not pass, grouped by cause (DESIGN.md §5, "one
//! cause, one finding").
//!
//! A maintainer acts on causes, not on cases: a server that checks UTF-8 only at the end of a
//! message misses 229 fail-fast cases for one reason, and a report that lists 229 lines hides
//! the one thing to fix. Every non-passing case gets exactly one cause, the evidence that
//! decided its verdict, so the case counts of all findings add up to the non-passing cases.
//!
//! A cause is (rule, behaviour):
//! - the rule that was broken: for a missed expectation, the case's RFC section and what was
//!   expected of the peer; for a rule the peer broke in what it sent, that rule's section and
//!   sentence; for the close verdict, its own rule; for a limit, the limit itself (a limit is
//!   one property of the peer, whichever case ran into it);
//! - the decisive observed behaviour, normalised so that what varies from case to case
//!   (payload sizes, byte offsets, timings, hex, accept keys, close reasons) does not split a
//!   group: "nothing within the step timeout", "close 1003", "text message of N bytes: the
//!   peer went on instead of failing the connection".
//!
//! The requirement sentence is shown but is not part of the key: one family of cases may
//! quote its section at different lengths, and notes (`[fail fast, ...]`) differ per matrix
//! row; neither is a different cause.

use serde::{Deserialize, Serialize};

use crate::case::Grade;
use crate::judge::verdict::soften;
use crate::results::{CaseResult, Check};
use crate::rules::Rule;
use crate::text::clean_line;

/// Longest rule, expectation or behaviour kept in a finding (they are peer-derived in part).
pub(crate) const FINDING_TEXT_MAX: usize = 400;

/// What kind of finding, in the order reports list them: failures first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingClass {
    /// Cases that failed: behaviour a MUST of the cited RFC forbids.
    Must,
    /// Non-strict cases: a SHOULD missed, or a MUST met in a way the RFC discourages.
    Should,
    /// The peer refused for a size, fragment-count or resource limit (informational).
    Limit,
    /// An optional feature the peer does not implement (e.g. permessage-deflate).
    Unimplemented,
    /// Something the RFC leaves open.
    Informational,
}

impl FindingClass {
    pub const ALL: [FindingClass; 5] = [
        FindingClass::Must,
        FindingClass::Should,
        FindingClass::Limit,
        FindingClass::Unimplemented,
        FindingClass::Informational,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingClass::Must => "must",
            FindingClass::Should => "should",
            FindingClass::Limit => "limit",
            FindingClass::Unimplemented => "unimplemented",
            FindingClass::Informational => "informational",
        }
    }

    /// Short label for badges and terminal columns.
    pub fn label(self) -> &'static str {
        match self {
            FindingClass::Must => "MUST",
            FindingClass::Should => "SHOULD",
            FindingClass::Limit => "LIMIT",
            FindingClass::Unimplemented => "UNIMPL",
            FindingClass::Informational => "INFO",
        }
    }

    /// The verdict whose colour this class borrows in reports.
    pub fn verdict(self) -> Grade {
        match self {
            FindingClass::Must => Grade::Fail,
            FindingClass::Should => Grade::NonStrict,
            FindingClass::Limit | FindingClass::Informational => Grade::Informational,
            FindingClass::Unimplemented => Grade::Unimplemented,
        }
    }

    /// "N MUST findings", "1 limit", ... for the headline.
    fn counted(self, n: usize) -> String {
        let s = if n == 1 { "" } else { "s" };
        match self {
            FindingClass::Must => format!("{n} MUST finding{s}"),
            FindingClass::Should => format!("{n} SHOULD finding{s}"),
            FindingClass::Limit => format!("{n} limit{s}"),
            FindingClass::Unimplemented => format!("{n} unimplemented feature{s}"),
            FindingClass::Informational => format!("{n} informational"),
        }
    }
}

/// Where the decisive evidence of a case came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// A missed expectation of the case.
    Check,
    /// The opening handshake: a rule the response broke, or the handshake wsspec checks in
    /// every case (not softened by the case's level).
    Handshake,
    /// A rule the judge named in what it observed (e.g. RFC 6455 §7.1.7's "SHOULD send an
    /// appropriate status code" when the peer failed the connection with another code).
    Rule,
    /// A rule the peer broke in what it sent.
    Violation,
    /// The close behaviour, judged apart from the case.
    Close,
    /// A size or resource limit.
    Limit,
    /// Nothing structured: a run error, or a reason alone.
    Other,
}

/// The cause of one case's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub class: FindingClass,
    pub source: Source,
    /// e.g. "RFC 6455 §8.1"
    pub section: String,
    /// The requirement sentence shown with the finding (not part of the key).
    pub requirement: String,
    /// What was expected of the peer, normalised; empty for violations and the close verdict.
    pub expected: String,
    /// The decisive observed behaviour, normalised.
    pub behaviour: String,
    /// The case's own observation, as recorded (for the example).
    pub observed: String,
    /// The catalogue rule the cause cites, when it is one (a violation, a handshake rule).
    pub rule: Option<Rule>,
}

impl Cause {
    /// The grouping key: stable across runs and peers for the same cause.
    pub fn key(&self) -> String {
        let mut k = format!("{} | {}", self.class.as_str(), self.section);
        if !self.expected.is_empty() {
            k.push_str(" | expected ");
            k.push_str(&self.expected);
        }
        k.push_str(" | observed ");
        k.push_str(&self.behaviour);
        k
    }
}

/// One cause and the cases it explains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// 1-based position in this run's list (failures first); JUnit messages cite it.
    pub number: usize,
    pub class: FindingClass,
    pub source: Source,
    /// See [`Cause::key`].
    pub key: String,
    pub section: String,
    pub requirement: String,
    pub expected: String,
    pub behaviour: String,
    /// Number of cases, equal to `cases.len()`.
    pub count: usize,
    /// Case ids in run order; the first is the example.
    pub cases: Vec<String>,
    /// The example case's observation as recorded, before normalising.
    pub example_observed: String,
    /// How many of the cases are documented deviations of the implementation under test.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub known_deviations: usize,
    /// The id of the catalogue rule the finding cites, if any (see [`by_rule`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Finding {
    /// The example case: the first in run order.
    pub fn example(&self) -> &str {
        self.cases.first().map(String::as_str).unwrap_or("")
    }

    /// One line naming the cause, for JUnit messages and properties.
    pub fn title(&self) -> String {
        let mut s = format!("{} {}", self.class.label(), self.section);
        if !self.expected.is_empty() {
            s.push_str(": expected ");
            s.push_str(&self.expected);
            s.push_str("; observed ");
        } else {
            s.push_str(": ");
        }
        s.push_str(&self.behaviour);
        s
    }
}

/// Findings and cases per class: the conformance summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ClassCount {
    pub findings: usize,
    pub cases: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub must: ClassCount,
    pub should: ClassCount,
    pub limit: ClassCount,
    pub unimplemented: ClassCount,
    pub informational: ClassCount,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Summary {
        let mut s = Summary::default();
        for f in findings {
            let c = s.get_mut(f.class);
            c.findings += 1;
            c.cases += f.count;
        }
        s
    }

    pub fn get(&self, class: FindingClass) -> ClassCount {
        match class {
            FindingClass::Must => self.must,
            FindingClass::Should => self.should,
            FindingClass::Limit => self.limit,
            FindingClass::Unimplemented => self.unimplemented,
            FindingClass::Informational => self.informational,
        }
    }

    fn get_mut(&mut self, class: FindingClass) -> &mut ClassCount {
        match class {
            FindingClass::Must => &mut self.must,
            FindingClass::Should => &mut self.should,
            FindingClass::Limit => &mut self.limit,
            FindingClass::Unimplemented => &mut self.unimplemented,
            FindingClass::Informational => &mut self.informational,
        }
    }

    /// The headline: "2 MUST findings (458 cases), 1 SHOULD finding (229 cases), 1 limit,
    /// 0 unimplemented features, 0 informational". Case counts are given for MUST and
    /// SHOULD, where they say how much of the suite a fix moves.
    pub fn line(&self) -> String {
        FindingClass::ALL
            .iter()
            .map(|&k| {
                let c = self.get(k);
                let head = k.counted(c.findings);
                match k {
                    FindingClass::Must | FindingClass::Should => {
                        let s = if c.cases == 1 { "" } else { "s" };
                        format!("{head} ({} case{s})", c.cases)
                    }
                    _ => head,
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether a check is a refusal for a limit (DESIGN.md §5). The judge marks such outcomes
/// (`Check::limit`); results written before the marker existed are recognised by the words
/// the judge has always used for them. This is the one place that decides it.
pub(crate) fn is_limit(c: &Check) -> bool {
    c.limit || c.observed.contains("size limit") || c.observed.contains("refused for a limit")
}

/// The words of the reason `judge::case_verdict` adds when `--strict` turned a non-strict
/// verdict into a failure.
const STRICT_REASON: &str = "non-strict counts as a failure under --strict";

/// One piece of evidence on a case and the grade it gave.
enum Evidence<'a> {
    Check(&'a Check),
    Violation(&'a crate::judge::PeerViolation),
    Close(&'a crate::results::CloseResult),
}

/// The evidence behind a case's verdict, most decisive first: the implicit handshake (when
/// it fails nothing else ran), then rules the peer broke in what it sent (they say what the
/// peer did; a missed expectation after one often only shows that wsspec stopped reading),
/// then the case's expectations in step order, then the close verdict.
fn evidence(c: &CaseResult) -> Vec<(Grade, Evidence<'_>)> {
    let mut v = Vec::new();
    let check_grade = |k: &Check| {
        if k.implicit {
            k.grade
        } else {
            soften(k.grade, c.level)
        }
    };
    for k in c.checks.iter().filter(|k| k.implicit) {
        v.push((check_grade(k), Evidence::Check(k)));
    }
    for x in &c.violations {
        v.push((Grade::Fail, Evidence::Violation(x)));
    }
    for k in c.checks.iter().filter(|k| !k.implicit) {
        v.push((check_grade(k), Evidence::Check(k)));
    }
    if let Some(k) = &c.close {
        // As in `case_verdict`: an informational close does not colour the case.
        if matches!(k.verdict, Grade::NonStrict | Grade::Fail) {
            v.push((soften(k.verdict, c.level), Evidence::Close(k)));
        }
    }
    v.retain(|(g, _)| *g != Grade::Pass);
    v
}

/// The class of a case's finding: its verdict, with a limit apart.
fn class_of(verdict: Grade, limit: bool) -> Option<FindingClass> {
    match verdict {
        // A case wsspec could not run to the end (its own error) says nothing of the peer:
        // reports list it apart, not as a finding.
        Grade::Pass | Grade::Error => None,
        Grade::Fail => Some(FindingClass::Must),
        Grade::NonStrict => Some(FindingClass::Should),
        Grade::Unimplemented => Some(FindingClass::Unimplemented),
        Grade::Informational if limit => Some(FindingClass::Limit),
        Grade::Informational => Some(FindingClass::Informational),
    }
}

/// The cause of a case's verdict; `None` for a pass.
pub fn cause(c: &CaseResult) -> Option<Cause> {
    let ev = evidence(c);
    // The evidence graded as the case was. Under --strict a non-strict miss made the case
    // fail: then the worst evidence there is. Otherwise a verdict no evidence explains (a
    // run error) is told by its first reason.
    let strict = c.reasons.iter().any(|r| r.contains(STRICT_REASON));
    let pick = ev.iter().find(|(g, _)| *g == c.verdict).or_else(|| {
        // The first of the worst (max_by_key would return the last).
        strict
            .then(|| ev.iter().rev().max_by_key(|(g, _)| *g))
            .flatten()
    });
    let limit = matches!(pick, Some((_, Evidence::Check(k))) if is_limit(k));
    let class = class_of(c.verdict, limit)?;
    let cause = match pick {
        Some((_, Evidence::Check(k))) if limit => {
            let (behaviour, _) = split_rules(&k.observed);
            Cause {
                class,
                source: Source::Limit,
                section: if k.observed.starts_with("status") {
                    "HTTP status".to_owned()
                } else {
                    "RFC 6455 §7.4.1".to_owned()
                },
                requirement: "A refusal for a size, fragment-count or resource limit (close 1009 or 1008, HTTP 413, 431 or 503) is a limit of the peer, not a failure (DESIGN.md §5).".to_owned(),
                expected: String::new(),
                behaviour: normalise(&behaviour),
                observed: bounded(&k.observed),
                rule: None,
            }
        }
        Some((_, Evidence::Check(k))) => {
            let (behaviour, rule) = split_rules(&k.observed);
            match rule {
                // The judge names the rule a response broke ("Sec-WebSocket-Accept: ...
                // (RFC 6455 §4.1: ...)") or the SHOULD a refusal missed: that rule is the
                // cause, whichever case showed it.
                Some((section, requirement)) => Cause {
                    rule: cited_rule(&section, &requirement),
                    class,
                    source: if k.implicit || k.expected.starts_with("status") {
                        Source::Handshake
                    } else {
                        Source::Rule
                    },
                    section: bounded(&section),
                    requirement: bounded(&requirement),
                    expected: String::new(),
                    behaviour: normalise(&behaviour),
                    observed: bounded(&k.observed),
                },
                None if k.implicit => Cause {
                    class,
                    source: Source::Handshake,
                    section: rfc_ref(&k.expected).unwrap_or_else(|| "RFC 6455 §4.1".to_owned()),
                    requirement:
                        "The server's opening handshake response is valid (checked in every case)."
                            .to_owned(),
                    expected: String::new(),
                    behaviour: normalise(&behaviour),
                    observed: bounded(&k.observed),
                    rule: None,
                },
                None => Cause {
                    class,
                    source: Source::Check,
                    section: bounded(&c.section),
                    requirement: bounded(&c.requirement),
                    expected: normalise(&strip_notes(&k.expected)),
                    behaviour: normalise(&behaviour),
                    observed: bounded(&k.observed),
                    rule: None,
                },
            }
        }
        Some((_, Evidence::Violation(v))) => Cause {
            class,
            source: Source::Violation,
            section: bounded(&v.section),
            requirement: bounded(&v.rule),
            expected: String::new(),
            behaviour: normalise(&v.detail),
            observed: bounded(&v.detail),
            rule: v.id.or_else(|| cited_rule(&v.section, &v.rule)),
        },
        Some((_, Evidence::Close(k))) => {
            let (behaviour, _) = split_rules(&k.detail);
            Cause {
                class,
                source: Source::Close,
                section: rfc_ref(&k.detail).unwrap_or_else(|| "RFC 6455 §7.1".to_owned()),
                requirement: "How the connection ends: the closing handshake and who closes TCP (RFC 6455 §5.5.1, §7.1), judged apart from the case.".to_owned(),
                expected: String::new(),
                behaviour: normalise(&behaviour),
                observed: bounded(&k.detail),
                rule: None,
            }
        }
        None => {
            // A run error or a verdict without recorded evidence: the first reason says why.
            let reason = c
                .reasons
                .first()
                .map(String::as_str)
                .unwrap_or("no reason recorded");
            let reason = reason
                .strip_prefix('[')
                .and_then(|r| r.split_once("] "))
                .map(|(_, r)| r)
                .unwrap_or(reason);
            Cause {
                class,
                source: Source::Other,
                section: bounded(&c.section),
                requirement: bounded(&c.requirement),
                expected: String::new(),
                behaviour: normalise(reason),
                observed: bounded(reason),
                rule: None,
            }
        }
    };
    Some(cause)
}

/// Groups the non-passing cases of a run by cause: MUST findings first, then SHOULD,
/// limits, unimplemented features and informational ones; within a class the finding with
/// the most cases first, ties in run order. Numbers follow that order.
pub fn group(cases: &[CaseResult]) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for c in cases {
        let Some(cause) = cause(c) else { continue };
        let key = cause.key();
        let i = *index.entry(key.clone()).or_insert_with(|| {
            findings.push(Finding {
                number: 0,
                class: cause.class,
                source: cause.source,
                key,
                section: cause.section.clone(),
                requirement: cause.requirement.clone(),
                expected: cause.expected.clone(),
                behaviour: cause.behaviour.clone(),
                count: 0,
                cases: Vec::new(),
                example_observed: cause.observed.clone(),
                known_deviations: 0,
                rule: cause.rule,
            });
            findings.len() - 1
        });
        let f = &mut findings[i];
        f.count += 1;
        f.cases.push(c.id.clone());
        if c.deviation.is_some() {
            f.known_deviations += 1;
        }
    }
    // Stable: equal counts keep run order.
    findings.sort_by(|a, b| a.class.cmp(&b.class).then(b.count.cmp(&a.count)));
    for (n, f) in findings.iter_mut().enumerate() {
        f.number = n + 1;
    }
    findings
}

/// The catalogue rule with this citation and sentence, as the judge quotes it.
fn cited_rule(section: &str, sentence: &str) -> Option<Rule> {
    Rule::ALL
        .iter()
        .copied()
        .find(|r| r.section() == section && r.text() == sentence)
}

/// The findings that cite a catalogue rule, grouped by it: each rule with the numbers of
/// its findings and the count of their cases, most cases first.
pub fn by_rule(findings: &[Finding]) -> Vec<(Rule, Vec<usize>, usize)> {
    let mut rules: Vec<(Rule, Vec<usize>, usize)> = Vec::new();
    for f in findings {
        let Some(r) = f.rule else { continue };
        match rules.iter_mut().find(|(x, _, _)| *x == r) {
            Some((_, numbers, cases)) => {
                numbers.push(f.number);
                *cases += f.count;
            }
            None => rules.push((r, vec![f.number], f.count)),
        }
    }
    // Stable: equal counts keep the order of the findings.
    rules.sort_by_key(|r| std::cmp::Reverse(r.2));
    rules
}

/// The finding each case belongs to, by case id (for per-case marks in JUnit and HTML).
pub(crate) fn by_case(findings: &[Finding]) -> std::collections::HashMap<&str, &Finding> {
    findings
        .iter()
        .flat_map(|f| f.cases.iter().map(move |id| (id.as_str(), f)))
        .collect()
}

fn bounded(s: &str) -> String {
    clean_line(s, FINDING_TEXT_MAX)
}

/// The first "RFC NNNN §x.y" named in a text (without the rest of a parenthesis).
fn rfc_ref(s: &str) -> Option<String> {
    let at = s.find("RFC ")?;
    let rest = &s[at..];
    let end = rest.find([')', ':', ';', ',']).unwrap_or(rest.len());
    let r = rest[..end].trim();
    r.contains('§').then(|| r.to_owned())
}

/// Removes the "(RFC NNNN §x: sentence)" parentheses the judge appends to handshake
/// problems and close details, returning the text without them and the first rule found
/// as (section, sentence).
fn split_rules(s: &str) -> (String, Option<(String, String)>) {
    let mut out = String::with_capacity(s.len());
    let mut rule = None;
    let mut rest = s;
    while let Some(at) = rest.find(" (RFC ") {
        out.push_str(&rest[..at]);
        let inner_start = at + 2;
        // The matching parenthesis: sentences may hold parentheses of their own.
        let mut depth = 1;
        let mut end = None;
        for (i, ch) in rest[inner_start..].char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(inner_start + i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            out.push_str(&rest[at..]);
            rest = "";
            break;
        };
        let inner = &rest[inner_start..end];
        if rule.is_none() {
            rule = Some(match inner.split_once(": ") {
                Some((sec, text)) => (sec.trim().to_owned(), text.trim().to_owned()),
                None => (inner.trim().to_owned(), String::new()),
            })
            .filter(|(sec, _)| sec.contains('§'));
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    (out, rule)
}

/// Removes the case's notes ("[fail fast, at the first fragment]") from an expectation:
/// they differ from matrix row to matrix row and are not a different rule.
fn strip_notes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for ch in s.chars() {
        match ch {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Words after which a number is a per-case quantity (a size, an offset, a time).
const NUMBER_BEFORE: [&str; 6] = ["byte ", "length ", "of ", "where ", "within ", "offset "];
/// Words before which a number is a per-case quantity.
const NUMBER_AFTER: [&str; 8] = [
    " bytes", " byte", "-byte", " ms", " frames", " more", " entries", " events",
];

/// Normalises a description of what the peer did so that per-case details do not split a
/// group: sizes, offsets and timings become N, hex bytes 0x…, long tokens (accept keys,
/// hex dumps) and quoted peer text (close reasons, payload previews) "…". Close codes and
/// HTTP statuses stay: they are the behaviour.
pub fn normalise(s: &str) -> String {
    let s = split_rules(s).0;
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // "UTF-8", "Bits16": a number glued to a word is part of it.
        let prev_word = i == 0
            || !(is_word(chars[i - 1])
                || chars[i - 1] == '-' && i >= 2 && chars[i - 2].is_alphanumeric());
        let ours = out.ends_with("contain ") || out.ends_with("containing ");
        if c == '"' {
            // A quoted string, with backslash escapes ({:?} output): the peer's text (a close
            // reason, a header value) goes; wsspec's own ("expected it to contain ...") stays.
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                if chars[j] == '\\' {
                    j += 1;
                }
                j += 1;
            }
            if ours {
                out.extend(&chars[i..(j + 1).min(chars.len())]);
            } else {
                out.push_str("\"…\"");
            }
            i = j + 1;
            continue;
        }
        if c == '0' && prev_word && chars.get(i + 1) == Some(&'x') {
            let mut j = i + 2;
            while j < chars.len() && chars[j].is_ascii_hexdigit() {
                j += 1;
            }
            if j > i + 2 {
                out.push_str("0x…");
                i = j;
                continue;
            }
        }
        if prev_word && is_token(c) {
            // A long token mixing digits and letters: a key, a hash, a hex dump.
            let mut j = i;
            while j < chars.len() && is_token(chars[j]) {
                j += 1;
            }
            let tok: String = chars[i..j].iter().collect();
            let mixed = tok.chars().any(|c| c.is_ascii_digit() || "+/=".contains(c))
                || tok.chars().any(|c| c.is_ascii_uppercase())
                    && tok.chars().any(|c| c.is_ascii_lowercase());
            let long = tok.len() >= 16 && mixed && tok.chars().any(|c| c.is_ascii_alphabetic());
            if long {
                out.push('…');
                i = j;
                continue;
            }
        }
        if c.is_ascii_digit() && prev_word {
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            let next_word = j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_');
            if !next_word {
                let before: String = chars[i.saturating_sub(8)..i].iter().collect();
                let after: String = chars[j..(j + 8).min(chars.len())].iter().collect();
                let quantity = NUMBER_BEFORE.iter().any(|w| before.ends_with(w))
                    || NUMBER_AFTER.iter().any(|w| after.starts_with(w));
                if quantity {
                    out.push('N');
                } else {
                    out.extend(&chars[i..j]);
                }
                i = j;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    let out = out
        .replace(" (byte N of the peer's stream)", "")
        .replace("within N ms (timed out)", "within the step timeout")
        .replace(
            "within N ms, the --idle wait (timed out)",
            "within the --idle wait",
        );
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    bounded(out.trim_end_matches(['.', ';', ',']))
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '+' || c == '/' || c == '='
}

fn is_token(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Level;
    use crate::judge::PeerViolation;
    use crate::results::{CloseResult, Party};

    fn check(expected: &str, observed: &str, grade: Grade) -> Check {
        Check {
            step: 3,
            expected: expected.into(),
            observed: observed.into(),
            matched: grade == Grade::Pass,
            grade,
            implicit: false,
            count: 1,
            limit: false,
        }
    }

    fn handshake_ok() -> Check {
        Check {
            step: 1,
            expected: "status 101 with a valid handshake response (RFC 6455 §4.1)".into(),
            observed: "status 101".into(),
            matched: true,
            grade: Grade::Pass,
            implicit: true,
            count: 1,
            limit: false,
        }
    }

    fn case(id: &str, section: &str, verdict: Grade, checks: Vec<Check>) -> CaseResult {
        CaseResult {
            id: id.into(),
            title: format!("title of {id}"),
            area: id.split('.').next().unwrap().into(),
            section: section.into(),
            requirement: format!("requirement of {section}"),
            level: Level::Must,
            autobahn: None,
            origin: "cases/x.toml:1".into(),
            verdict,
            deviation: None,
            reasons: vec!["[fail] r".into()],
            checks,
            violations: Vec::new(),
            close: None,
            duration_ms: 1.0,
            bytes_sent: 0,
            bytes_received: 0,
            bytes_per_sec: 0.0,
            timings: Default::default(),
            transcript: Default::default(),
        }
    }

    #[test]
    fn normalise_drops_per_case_details_and_keeps_codes() {
        assert_eq!(
            normalise("nothing within 251 ms (timed out)"),
            "nothing within the step timeout"
        );
        // A missed heartbeat waited --idle, not the step timeout.
        assert_eq!(
            normalise("nothing within 1001 ms, the --idle wait (timed out)"),
            "nothing within the --idle wait"
        );
        assert_eq!(normalise("close 1003"), "close 1003");
        assert_eq!(
            normalise("close 1002 \"bad \\\"frame\\\" 17\""),
            "close 1002 \"…\""
        );
        assert_eq!(
            normalise("pong with 12 bytes: byte 0 is 0x71, expected 0x70"),
            "pong with N bytes: byte N is 0x…, expected 0x…"
        );
        assert_eq!(
            normalise("text message byte 13 is not valid UTF-8 (byte 15 of the peer's stream)"),
            "text message byte N is not valid UTF-8"
        );
        assert_eq!(
            normalise("the 18-byte text message echoed back"),
            "the N-byte text message echoed back"
        );
        assert_eq!(
            normalise("Sec-WebSocket-Accept: vTdUfumh9ybeGzqDlTNlOfrr3OU=, expected qtn0XfR5Dtd86qGnrgwVMSTf284= (RFC 6455 §4.1: |Sec-WebSocket-Accept| (hash))"),
            "Sec-WebSocket-Accept: …, expected …"
        );
        assert_eq!(
            normalise("status 101 Switching Protocols; header Sec-WebSocket-Version missing"),
            "status 101 Switching Protocols; header Sec-WebSocket-Version missing"
        );
        assert_eq!(
            normalise("length 125 written in the Bits16 form"),
            "length N written in the Bits16 form"
        );
        assert_eq!(
            normalise("Sec-WebSocket-Accept: LfcOkhoEIZPPSEwpXmgByAukJPU=, expected x"),
            "Sec-WebSocket-Accept: …, expected x"
        );
        assert_eq!(
            normalise("not valid UTF-8 (invalid UTF-8 byte at offset 5)"),
            "not valid UTF-8 (invalid UTF-8 byte at offset N)"
        );
        // wsspec's own expectation stays; the peer's value goes.
        assert_eq!(
            normalise("header Sec-WebSocket-Version is \"8, 7\", expected it to contain \"13\""),
            "header Sec-WebSocket-Version is \"…\", expected it to contain \"13\""
        );
    }

    #[test]
    fn one_cause_for_a_family_whatever_its_sizes_timings_and_notes() {
        // Three fail-fast cases of one family (different notes, sizes and timings) and one
        // case of another section that timed out the same way.
        let cases = vec![
            case(
                "utf8.fail-fast.byte-fa",
                "RFC 6455 §8.1",
                Grade::NonStrict,
                vec![
                    handshake_ok(),
                    check(
                        "the peer fails the connection (close frame or TCP close, nothing processed) [fail fast, before the message ends]",
                        "nothing within 250 ms (timed out)",
                        Grade::NonStrict,
                    ),
                ],
            ),
            case(
                "utf8.split.c0.at-1.early",
                "RFC 6455 §8.1",
                Grade::NonStrict,
                vec![
                    handshake_ok(),
                    check(
                        "the peer fails the connection (close frame or TCP close, nothing processed) [fail fast, at the first fragment]",
                        "nothing within 1003 ms (timed out)",
                        Grade::NonStrict,
                    ),
                ],
            ),
            case("utf8.valid.a", "RFC 6455 §8.1", Grade::Pass, vec![handshake_ok()]),
            case(
                "control.ping.125",
                "RFC 6455 §5.5.2",
                Grade::Fail,
                vec![
                    handshake_ok(),
                    check(
                        "a pong with the 125-byte ping payload",
                        "nothing within 1001 ms (timed out)",
                        Grade::Fail,
                    ),
                ],
            ),
            case(
                "control.ping.empty",
                "RFC 6455 §5.5.2",
                Grade::Fail,
                vec![
                    handshake_ok(),
                    check(
                        "a pong with the 0-byte ping payload",
                        "nothing within 1000 ms (timed out)",
                        Grade::Fail,
                    ),
                ],
            ),
        ];
        let f = group(&cases);
        assert_eq!(f.len(), 2, "{f:#?}");
        // Failures first, whatever the counts.
        assert_eq!(f[0].number, 1);
        assert_eq!(f[0].class, FindingClass::Must);
        assert_eq!(f[0].section, "RFC 6455 §5.5.2");
        assert_eq!(f[0].expected, "a pong with the N-byte ping payload");
        assert_eq!(f[0].behaviour, "nothing within the step timeout");
        assert_eq!(f[0].cases, vec!["control.ping.125", "control.ping.empty"]);
        assert_eq!(f[0].count, 2);
        assert_eq!(f[1].class, FindingClass::Should);
        assert_eq!(
            f[1].expected,
            "the peer fails the connection (close frame or TCP close, nothing processed)"
        );
        assert_eq!(
            f[1].cases,
            vec!["utf8.fail-fast.byte-fa", "utf8.split.c0.at-1.early"]
        );
        assert_eq!(f[1].example(), "utf8.fail-fast.byte-fa");
        assert_eq!(f[1].example_observed, "nothing within 250 ms (timed out)");
        let s = Summary::of(&f);
        assert_eq!(
            s.line(),
            "1 MUST finding (2 cases), 1 SHOULD finding (2 cases), 0 limits, 0 unimplemented features, 0 informational"
        );
    }

    #[test]
    fn different_behaviour_or_rule_is_a_different_finding() {
        let echo = |id: &str, observed: &str| {
            case(
                id,
                "RFC 6455 §5.4",
                Grade::Fail,
                vec![check(
                    "the 18-byte text message echoed back",
                    observed,
                    Grade::Fail,
                )],
            )
        };
        let cases = vec![
            echo("fragmentation.a", "close 1003"),
            echo("fragmentation.b", "close 1002"),
            echo("fragmentation.c", "close 1003"),
        ];
        let f = group(&cases);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].behaviour, "close 1003");
        assert_eq!(f[0].cases, vec!["fragmentation.a", "fragmentation.c"]);
        assert_eq!(f[1].behaviour, "close 1002");
        assert_eq!(f[1].cases, vec!["fragmentation.b"]);
    }

    #[test]
    fn violations_and_the_handshake_speak_for_themselves_not_for_the_case() {
        // A broken accept key fails every case on the implicit handshake; a masked frame
        // fails cases of any section on the violation, whatever their checks say.
        let mut bad_hs = handshake_ok();
        bad_hs.matched = false;
        bad_hs.grade = Grade::Fail;
        bad_hs.observed = "Sec-WebSocket-Accept: AAAAbbbbCCCC1111dddd=, expected zzzzYYYY0000xxxxwwww= (RFC 6455 §4.1: the |Sec-WebSocket-Accept| header field)".into();
        let mut other_hs = bad_hs.clone();
        other_hs.observed = "Sec-WebSocket-Accept: 9999bbbbCCCC1111dddd=, expected +zzzYYYY0000xxxxwwww= (RFC 6455 §4.1: the |Sec-WebSocket-Accept| header field)".into();
        let a = case(
            "close.code.valid.1000",
            "RFC 6455 §7.4",
            Grade::Fail,
            vec![bad_hs],
        );
        let b = case(
            "control.ping.empty",
            "RFC 6455 §5.5.2",
            Grade::Fail,
            vec![other_hs],
        );
        let masked = |id: &str, offset: usize| {
            let mut c = case(
                id,
                "RFC 6455 §5.2",
                Grade::Fail,
                vec![
                    handshake_ok(),
                    check(
                        "the peer fails the connection",
                        "nothing within 1000 ms (timed out)",
                        Grade::Fail,
                    ),
                ],
            );
            c.violations.push(PeerViolation::new(
                crate::rules::Rule::MaskPresent,
                format!("client received a frame with the MASK bit set (byte {offset} of the peer's stream)"),
            ));
            c
        };
        let f = group(&[a, b, masked("framing.x", 7), masked("utf8.y", 1039)]);
        assert_eq!(f.len(), 2, "{f:#?}");
        assert_eq!(f[0].source, Source::Handshake);
        assert_eq!(f[0].section, "RFC 6455 §4.1");
        assert_eq!(f[0].requirement, "the |Sec-WebSocket-Accept| header field");
        assert_eq!(f[0].behaviour, "Sec-WebSocket-Accept: …, expected …");
        assert_eq!(f[0].count, 2);
        assert_eq!(f[1].source, Source::Violation);
        assert_eq!(f[1].section, "RFC 6455 §5.1");
        assert_eq!(
            f[1].behaviour,
            "client received a frame with the MASK bit set"
        );
        assert_eq!(f[1].cases, vec!["framing.x", "utf8.y"]);
    }

    #[test]
    fn findings_carry_the_catalogue_rule_and_group_by_it() {
        use crate::rules::Rule;
        // The judge quotes a handshake rule as "(RFC 6455 §4.1: <the sentence>)"; written
        // out here, not taken from the catalogue, so a changed sentence shows.
        let mut bad_hs = handshake_ok();
        bad_hs.matched = false;
        bad_hs.grade = Grade::Fail;
        bad_hs.observed = "Sec-WebSocket-Accept: x=, expected y= (RFC 6455 §4.1: the |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key| (as a string, not base64-decoded) with the string \"258EAFA5-E914-47DA-95CA-C5AB0DC85B11\" but ignoring any leading and trailing whitespace, the client MUST _Fail the WebSocket Connection_.)".into();
        let hs = case("opening.a", "RFC 6455 §4.1", Grade::Fail, vec![bad_hs]);
        let violation = |id: &str, rule: Rule, what: &str| {
            let mut c = case(id, "RFC 6455 §5.2", Grade::Fail, vec![handshake_ok()]);
            c.violations.push(PeerViolation::new(rule, what));
            c
        };
        let f = group(&[
            hs,
            violation("framing.a", Rule::MaskPresent, "a masked frame"),
            violation("framing.b", Rule::MaskPresent, "a masked frame"),
            violation("framing.c", Rule::MaskPresent, "another masked frame"),
            violation("framing.d", Rule::ReservedOpcode, "opcode 0x3"),
        ]);
        let ids: Vec<Option<&str>> = f.iter().map(|x| x.rule.map(Rule::id)).collect();
        assert_eq!(
            ids,
            vec![
                Some("mask-present"),
                Some("accept-wrong"),
                Some("mask-present"),
                Some("reserved-opcode")
            ],
            "{f:#?}"
        );
        let by = by_rule(&f);
        let summary: Vec<(&str, Vec<usize>, usize)> =
            by.iter().map(|(r, n, c)| (r.id(), n.clone(), *c)).collect();
        assert_eq!(
            summary,
            vec![
                ("mask-present", vec![1, 3], 3),
                ("accept-wrong", vec![2], 1),
                ("reserved-opcode", vec![4], 1),
            ]
        );
        // A results.json written before rule ids: the id is read back from the quote.
        let mut old = violation("framing.e", Rule::MaskPresent, "x");
        old.violations[0].id = None;
        assert_eq!(group(&[old])[0].rule, Some(Rule::MaskPresent));
    }

    #[test]
    fn a_rule_the_judge_names_groups_across_sections() {
        let other_code = |id: &str, section: &str| {
            case(
                id,
                section,
                Grade::NonStrict,
                vec![check(
                    "the peer fails the connection with close code 1002 (or drops TCP)",
                    "close 1009: failed the connection, with another code (RFC 6455 §7.1.7: the endpoint SHOULD send \"an appropriate status code\")",
                    Grade::NonStrict,
                )],
            )
        };
        let f = group(&[
            other_code("framing.a", "RFC 6455 §5.2"),
            other_code("reserved.b", "RFC 6455 §5.2"),
            other_code("fragmentation.c", "RFC 6455 §5.4"),
        ]);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].source, Source::Rule);
        assert_eq!(f[0].section, "RFC 6455 §7.1.7");
        assert_eq!(
            f[0].requirement,
            "the endpoint SHOULD send \"an appropriate status code\""
        );
        assert_eq!(
            f[0].behaviour,
            "close 1009: failed the connection, with another code"
        );
        assert_eq!(f[0].count, 3);
    }

    #[test]
    fn limits_are_one_finding_per_limit_across_sections() {
        let refused = |id: &str, section: &str, size: usize, marked: bool| {
            let mut k = check(
                &format!("the {size}-byte text message echoed back"),
                &format!("close 1009: size limit, the peer refuses messages of {size} bytes"),
                Grade::Informational,
            );
            k.limit = marked;
            case(id, section, Grade::Informational, vec![handshake_ok(), k])
        };
        let f = group(&[
            refused("limits.text.size.4m", "RFC 6455 §5.2", 4194304, true),
            refused(
                "limits.text.fragmented-4m.64b",
                "RFC 6455 §5.4",
                4194304,
                true,
            ),
            // Written before the judge marked limits: recognised by its words.
            refused("limits.text.size.8m", "RFC 6455 §5.2", 8388608, false),
        ]);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].class, FindingClass::Limit);
        assert_eq!(f[0].count, 3);
        assert_eq!(
            f[0].behaviour,
            "close 1009: size limit, the peer refuses messages of N bytes"
        );
        assert_eq!(
            Summary::of(&f).line(),
            "0 MUST findings (0 cases), 0 SHOULD findings (0 cases), 1 limit, 0 unimplemented features, 0 informational"
        );
    }

    #[test]
    fn close_verdict_and_strict_and_reasons_alone() {
        let mut a = case(
            "close.a",
            "RFC 6455 §7.4",
            Grade::Fail,
            vec![handshake_ok()],
        );
        a.close = Some(CloseResult {
            verdict: Grade::Fail,
            closed_by: Party::Wsspec,
            clean: false,
            peer_code: None,
            wsspec_code: Some(1000),
            tcp_closed_by: Party::Wsspec,
            detail: "wsspec sent a close frame and got none back; an endpoint MUST answer a close frame with one (RFC 6455 §5.5.1)".into(),
            tcp: None,
        });
        // --strict: the case failed on a non-strict miss.
        let mut b = case(
            "close.b",
            "RFC 6455 §7.1.1",
            Grade::Fail,
            vec![check(
                "the peer closes TCP",
                "nothing within 900 ms (timed out)",
                Grade::NonStrict,
            )],
        );
        // The reasons as the judge writes them under --strict.
        let (verdict, reasons) =
            crate::judge::case_verdict(Level::Must, &b.checks, &[], None, None, true);
        assert_eq!(verdict, Grade::Fail);
        b.reasons = reasons;
        // A run error: no evidence but the reason.
        let mut c = case("x.c", "RFC 6455 §1", Grade::Fail, Vec::new());
        c.reasons = vec!["[fail] connection refused".into()];
        let f = group(&[a, b, c]);
        assert_eq!(f.len(), 3, "{f:#?}");
        assert!(f.iter().all(|f| f.class == FindingClass::Must));
        assert_eq!(f[0].source, Source::Close);
        assert_eq!(f[0].section, "RFC 6455 §5.5.1");
        assert_eq!(
            f[0].behaviour,
            "wsspec sent a close frame and got none back; an endpoint MUST answer a close frame with one"
        );
        assert_eq!(f[1].source, Source::Check);
        assert_eq!(f[1].behaviour, "nothing within the step timeout");
        assert_eq!(f[2].source, Source::Other);
        assert_eq!(f[2].behaviour, "connection refused");
    }
}
