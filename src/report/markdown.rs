//! `summary.md`, for `$GITHUB_STEP_SUMMARY` and pull-request comments: the run in a header
//! with the conformance summary, the baseline's regressions / fixes / known failures, a table
//! per area, and the findings (the non-passing cases grouped by cause) with their cases.
//!
//! Bounded: GitHub refuses step summaries above 1 MiB, so lists stop at [`LIST_MAX`] items
//! with "… and N more", every string is cut short, and the whole text never exceeds
//! [`SIZE_MAX`]. Peer strings are escaped so they cannot close a table cell (`|`), open code
//! (`` ` ``), inject HTML (`<`), links or emphasis.

use std::fmt::Write;

use super::baseline::{Change, Comparison};
use super::findings::{self, Finding};
use super::view::{grades_shown, label};
use crate::case::Grade;
use crate::results::{RunResults, Totals};
use crate::text::clean_line;

/// Items listed per section before "… and N more".
pub const LIST_MAX: usize = 200;
/// Hard cap on the summary's size in bytes (GitHub's limit is 1 MiB).
pub(crate) const SIZE_MAX: usize = 900 * 1024;
const REASON_MAX: usize = 300;

/// Escapes one line of untrusted text for Markdown (GitHub-flavoured), table cells included.
pub fn escape(s: &str, max: usize) -> String {
    let s = clean_line(s, max);
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            // Inline Markdown only: every escaped string sits inside a line or a table cell.
            // With '[' and ']' escaped no link or image can form, so '(' and '!' stay.
            '\\' | '`' | '*' | '_' | '[' | ']' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
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

fn rate(t: &Totals) -> String {
    if t.total() == 0 {
        "–".to_owned()
    } else {
        format!("{:.1}%", 100.0 * t.pass as f64 / t.total() as f64)
    }
}

fn change_list(out: &mut String, title: &str, items: &[Change], r: &RunResults, with_reason: bool) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n#### {title} ({})\n", items.len());
    if with_reason {
        let _ = writeln!(
            out,
            "| case | was | now | reason |\n| --- | --- | --- | --- |"
        );
    } else {
        let _ = writeln!(out, "| case | was | now |\n| --- | --- | --- |");
    }
    for ch in items.iter().take(LIST_MAX) {
        let was = ch.was.map(|g| g.as_str()).unwrap_or("–");
        if with_reason {
            let reason = r
                .cases
                .iter()
                .find(|c| c.id == ch.id)
                .and_then(|c| c.reasons.first())
                .map(|s| escape(s, REASON_MAX))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {was} | {} | {reason} |",
                escape(&ch.id, 200),
                ch.now.as_str()
            );
        } else {
            let _ = writeln!(
                out,
                "| {} | {was} | {} |",
                escape(&ch.id, 200),
                ch.now.as_str()
            );
        }
    }
    if items.len() > LIST_MAX {
        let _ = writeln!(out, "\n… and {} more", items.len() - LIST_MAX);
    }
}

/// The TLS line of text reports: what was negotiated and whether the certificate was
/// verified, or that the run was plain `ws://`.
pub(crate) fn tls_line(r: &RunResults) -> String {
    escape(&super::view::tls_text(r), 1000)
}

/// The Markdown summary of a run.
pub fn render(r: &RunResults, comparison: Option<&Comparison>) -> String {
    let t = Totals::of(&r.cases);
    let found = findings::group(&r.cases);
    let grades = grades_shown(&t);
    let mut out = String::new();
    let status = match comparison {
        Some(c) if c.failed() => "❌",
        Some(_) => "✅",
        None if t.fail > 0 || t.error > 0 || r.incomplete.is_some() => "❌",
        None => "✅",
    };
    let _ = writeln!(
        out,
        "## {status} wsspec: {} — {} failed, {} passed of {} cases\n",
        escape(&r.agent, 200),
        t.fail,
        t.pass,
        t.total()
    );
    if let Some(inc) = &r.incomplete {
        let _ = writeln!(
            out,
            "> **{}.** Not run: {}\n",
            escape(&inc.headline(), 300),
            escape(&inc.missing_list(50), 5000)
        );
    }
    let _ = writeln!(
        out,
        "**Peer** {} ({}) · **transport** {} · **wsspec** {} · **started** {} · **ran** {}{}\n",
        escape(&r.target, 300),
        escape(&r.peer_role, 20),
        escape(&r.transport, 20),
        escape(&r.wsspec_version, 50),
        escape(&r.started_at, 50),
        super::view::duration(r.duration_ms),
        if r.options.strict {
            " · **strict**"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "| {} | pass rate |\n| {}--- |",
        grades
            .iter()
            .map(|&g| label(g))
            .collect::<Vec<_>>()
            .join(" | "),
        "---: | ".repeat(grades.len())
    );
    let _ = writeln!(
        out,
        "| {} | {} |",
        grades
            .iter()
            .map(|&g| count(&t, g).to_string())
            .collect::<Vec<_>>()
            .join(" | "),
        rate(&t)
    );
    let headline = super::headline::Headline::new(&t, &found);
    let _ = writeln!(
        out,
        "\n**Conformance:** {}\n\n**Rates:** {}.",
        headline.line, headline.rates
    );
    let _ = writeln!(out, "\n**TLS:** {}", tls_line(r));

    if let Some(cmp) = comparison {
        let _ = writeln!(
            out,
            "\n### Against the baseline: {}\n\n{} regression(s), {} fixed, {} known failure(s), {} new case(s) of which {} fail{}.",
            if cmp.failed() { "failed" } else { "ok" },
            cmp.regressions.len(),
            cmp.fixes.len(),
            cmp.known_failures.len(),
            cmp.new_cases.len(),
            cmp.new_failures().count(),
            if cmp.not_run.is_empty() {
                String::new()
            } else {
                format!(", {} baseline case(s) not run", cmp.not_run.len())
            }
        );
        change_list(&mut out, "Regressions", &cmp.regressions, r, true);
        let new_failures: Vec<Change> = cmp.new_failures().cloned().collect();
        change_list(&mut out, "New cases that fail", &new_failures, r, true);
        change_list(&mut out, "Fixed", &cmp.fixes, r, false);
        change_list(&mut out, "Known failures", &cmp.known_failures, r, false);
    }

    let _ = writeln!(
        out,
        "\n### Areas\n\n| area | cases | {} | pass rate |\n| --- | ---: | {}--- |",
        grades
            .iter()
            .map(|&g| label(g))
            .collect::<Vec<_>>()
            .join(" | "),
        "---: | ".repeat(grades.len())
    );
    for (area, cases) in super::view::group(&r.cases) {
        let mut at = Totals::default();
        for c in &cases {
            at.add(c.verdict);
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            escape(area, 100),
            at.total(),
            grades
                .iter()
                .map(|&g| count(&at, g).to_string())
                .collect::<Vec<_>>()
                .join(" | "),
            rate(&at)
        );
    }

    findings_table(&mut out, &found, comparison);
    rules_table(&mut out, &found);
    let _ = writeln!(
        out,
        "\nThe full report with wire transcripts is in `index.html`; complete results in `results.json`."
    );
    cap(out, SIZE_MAX)
}

/// Case ids shown per finding before "… and N more".
pub const IDS_SHOWN: usize = 5;

/// The findings table: one row per cause, failures first, each with its cases (the first
/// few; the example first).
fn findings_table(out: &mut String, findings: &[Finding], comparison: Option<&Comparison>) {
    if findings.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n### Findings ({})\n\n| # | class | rule | expected | observed | cases |\n| ---: | --- | --- | --- | --- | --- |",
        findings.len()
    );
    for f in findings.iter().take(LIST_MAX) {
        let mut ids: Vec<String> = f
            .cases
            .iter()
            .take(IDS_SHOWN)
            .map(|id| {
                let mark = comparison
                    .and_then(|cmp| cmp.get(id))
                    .filter(|ch| ch.status != super::baseline::Status::Unchanged)
                    .map(|ch| format!(" ({})", ch.status.as_str()))
                    .unwrap_or_default();
                format!("{}{mark}", escape(id, 200))
            })
            .collect();
        if f.cases.len() > IDS_SHOWN {
            ids.push(format!("… and {} more", f.cases.len() - IDS_SHOWN));
        }
        let rule = if f.requirement.is_empty() {
            escape(&f.section, 100)
        } else {
            format!(
                "{}: {}",
                escape(&f.section, 100),
                escape(&f.requirement, REASON_MAX)
            )
        };
        let _ = writeln!(
            out,
            "| {} | {} | {rule} | {} | {} | **{}**: {} |",
            f.number,
            f.class.label(),
            if f.expected.is_empty() {
                "–".to_owned()
            } else {
                escape(&f.expected, REASON_MAX)
            },
            escape(&f.behaviour, REASON_MAX),
            f.count,
            ids.join(", ")
        );
    }
    if findings.len() > LIST_MAX {
        let _ = writeln!(out, "\n… and {} more findings", findings.len() - LIST_MAX);
    }
}

/// The findings grouped by the catalogue rule they cite (violations and handshake rules),
/// so a maintainer sees which RFC rules the peer breaks and how often.
fn rules_table(out: &mut String, findings: &[Finding]) {
    let rules = super::findings::by_rule(findings);
    if rules.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n### Findings by rule ({})\n\n| rule | section | level | findings | cases |\n| --- | --- | --- | --- | ---: |",
        rules.len()
    );
    for (rule, numbers, cases) in rules.iter().take(LIST_MAX) {
        let numbers: Vec<String> = numbers.iter().map(|n| format!("#{n}")).collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {cases} |",
            rule.id(),
            escape(rule.section(), 100),
            rule.spec().level.as_str(),
            numbers.join(", ")
        );
    }
}

/// Cuts `s` to at most `max` bytes at a line boundary, saying so.
fn cap(mut s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let note = "\n\n… summary cut to stay under GitHub's size limit; see index.html.\n";
    let mut end = max - note.len();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    if let Some(nl) = s[..end].rfind('\n') {
        end = nl;
    }
    s.truncate(end);
    s.push_str(note);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markdown_and_html() {
        let e = escape("a|b `c` <script> [x](y) **z**\n\0", 100);
        assert!(!e.contains('|') || e.contains("&#124;"));
        assert!(!e.contains("<script"));
        assert!(e.contains("\\`c\\`"));
        assert!(e.contains("\\[x\\](y)"), "{e}");
        assert!(e.contains("\\*\\*z\\*\\*"), "{e}");
        assert!(!e.contains('\n'));
        assert!(!e.contains('\0'));
    }

    #[test]
    fn findings_are_listed_by_rule() {
        let finding = |number: usize, rule: Option<crate::rules::Rule>, count: usize| Finding {
            number,
            class: findings::FindingClass::Must,
            source: findings::Source::Violation,
            key: format!("k{number}"),
            section: "RFC 6455 §5.1".into(),
            requirement: "r".into(),
            expected: String::new(),
            behaviour: "b".into(),
            count,
            cases: (0..count).map(|i| format!("c{number}.{i}")).collect(),
            example_observed: "o".into(),
            known_deviations: 0,
            rule,
        };
        let mut out = String::new();
        rules_table(&mut out, &[finding(1, None, 5)]);
        assert_eq!(out, "", "no rule, no table");
        let mask = Some(crate::rules::Rule::MaskPresent);
        rules_table(
            &mut out,
            &[
                finding(1, None, 5),
                finding(2, mask, 2),
                finding(3, mask, 1),
            ],
        );
        assert!(out.contains("### Findings by rule (1)"), "{out}");
        assert!(
            out.contains("| `mask-present` | RFC 6455 §5.1 | MUST | #2, #3 | 3 |"),
            "{out}"
        );
    }

    #[test]
    fn cap_cuts_on_a_line() {
        let s = "line\n".repeat(1000);
        let c = cap(s, 1000);
        assert!(c.len() <= 1000);
        assert!(c.ends_with("see index.html.\n"));
    }
}
