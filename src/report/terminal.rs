//! The terminal summary: areas with counts, the conformance summary and one block per
//! finding (the non-passing cases grouped by cause, [`findings`]), and one line of totals
//! (h2spec's shape). `-v` lists every case and every failure's reasons as well.

use std::fmt::Write;

use crate::case::Grade;
use crate::report::findings::{self, Finding, FindingClass, Summary};
use crate::results::{RunResults, Totals};
use crate::text::clean_line;

pub struct Style {
    pub color: bool,
    /// List every case, not only the ones that did not pass.
    pub verbose: bool,
}

fn paint(s: &str, code: &str, on: bool) -> String {
    if on {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_owned()
    }
}

fn label(g: Grade, color: bool) -> String {
    let (text, code) = match g {
        Grade::Pass => ("PASS", "32"),
        Grade::NonStrict => ("NON-STRICT", "33"),
        Grade::Informational => ("INFO", "36"),
        Grade::Unimplemented => ("UNIMPL", "35"),
        Grade::Fail => ("FAIL", "31;1"),
        Grade::Error => ("ERROR", "31;7"),
    };
    paint(text, code, color)
}

pub fn totals_line(t: &Totals, duration_ms: f64) -> String {
    let secs = duration_ms / 1000.0;
    let rate = if secs > 0.0 {
        t.total() as f64 / secs
    } else {
        0.0
    };
    format!(
        "{} in {:.2}s ({:.0} cases/s): {} passed, {} failed, {} non-strict, {} informational, {} unimplemented",
        super::headline::plural(t.total(), "case", "cases"),
        secs,
        rate,
        t.pass,
        t.fail,
        t.non_strict,
        t.informational,
        t.unimplemented
    )
}

pub fn render(r: &RunResults, style: &Style) -> String {
    let mut out = String::new();
    let c = style.color;
    // The agent defaults to the URL: name it only when it says something more.
    let agent = if r.agent == r.target {
        String::new()
    } else {
        format!(" ({})", clean_line(&r.agent, 200))
    };
    // Over HTTP/1.1 the URL says it all; h2, h2c and h3 are said.
    let over = if r.transport.is_empty() || r.transport == "http/1.1" {
        String::new()
    } else {
        format!(" over {}", clean_line(&r.transport, 20))
    };
    let _ = writeln!(
        out,
        "wsspec {} against {}{over}{agent}",
        clean_line(&r.wsspec_version, 50),
        clean_line(&r.target, 500),
    );
    if let Some(t) = &r.tls {
        let _ = writeln!(out, "TLS: {}", super::view::TlsView::new(t).line());
    }
    let mut areas: Vec<&str> = Vec::new();
    for case in &r.cases {
        if !areas.contains(&case.area.as_str()) {
            areas.push(&case.area);
        }
    }
    if !style.verbose {
        out.push('\n');
    }
    for area in &areas {
        let cases: Vec<_> = r.cases.iter().filter(|x| &x.area == area).collect();
        let mut t = Totals::default();
        for case in &cases {
            t.add(case.verdict);
        }
        let _ = writeln!(
            out,
            "{}{}  {}: {} passed{}",
            if style.verbose { "\n" } else { "" },
            paint(&clean_line(area, 100), "1", c),
            super::headline::plural(t.total(), "case", "cases"),
            t.pass,
            if t.total() == t.pass {
                String::new()
            } else {
                format!(", {} failed, {} other", t.fail, t.total() - t.pass - t.fail)
            }
        );
        // The cases that did not pass are told by finding below; -v lists every case.
        if style.verbose {
            for case in cases {
                let known = if case.deviation.is_some() {
                    " (known deviation)"
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "  {:>10}  {}  {}{known}",
                    label(case.verdict, c),
                    clean_line(&case.id, 200),
                    clean_line(&case.title, 500)
                );
            }
        }
    }
    let findings = findings::group(&r.cases);
    out.push_str(&findings_section(&findings, style));
    let _ = writeln!(
        out,
        "\n{} {}",
        paint("Rates:", "1", c),
        super::headline::Headline::new(&Totals::of(&r.cases), &findings).rates
    );
    if style.verbose {
        failure_details(&mut out, r, c);
        slowest(&mut out, r);
    }
    let _ = writeln!(out, "\n{}", totals_line(&r.totals, r.duration_ms));
    if let Some(inc) = &r.incomplete {
        let _ = writeln!(
            out,
            "{}\nnot run: {}",
            paint(&clean_line(&inc.headline(), 300), "31;1", c),
            clean_line(&inc.missing_list(20), 2000)
        );
    }
    if r.totals.error > 0 {
        let _ = writeln!(
            out,
            "{} case(s) could not be judged (ERROR: wsspec failed while running them)",
            r.totals.error
        );
    }
    let known = r.totals.fail - r.unexpected_failures();
    if known > 0 {
        let _ = writeln!(out, "{known} of the failures are documented deviations of the implementation under test; they do not fail the run");
    }
    out
}

/// Ids listed per finding without `-v`.
pub const IDS_SHOWN: usize = 5;

/// The conformance summary and one block per finding: class, rule, what was expected,
/// what the peer did, and the cases (the first few, or all with `-v`).
pub(crate) fn findings_section(findings: &[Finding], style: &Style) -> String {
    let c = style.color;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{} {}",
        paint("Conformance:", "1", c),
        Summary::of(findings).line()
    );
    for f in findings {
        let code = match f.class {
            FindingClass::Must => "31;1",
            FindingClass::Should => "33",
            FindingClass::Limit | FindingClass::Informational => "36",
            FindingClass::Unimplemented => "35",
        };
        let s = if f.count == 1 { "" } else { "s" };
        let known = if f.known_deviations > 0 {
            format!(", {} known deviation(s)", f.known_deviations)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "\n  {:>3}. {}  {} · {} case{s}{known}",
            f.number,
            paint(&format!("{:<6}", f.class.label()), code, c),
            paint(&clean_line(&f.section, 100), "1", c),
            f.count
        );
        // Finding texts come from the peer in part: cleaned again here, whatever built them.
        if !f.requirement.is_empty() {
            let _ = writeln!(out, "       rule:     {}", clean_line(&f.requirement, 400));
        }
        if !f.expected.is_empty() {
            let _ = writeln!(out, "       expected: {}", clean_line(&f.expected, 400));
        }
        let _ = writeln!(out, "       observed: {}", clean_line(&f.behaviour, 400));
        let shown = if style.verbose {
            f.cases.len()
        } else {
            IDS_SHOWN
        };
        let ids: Vec<String> = f
            .cases
            .iter()
            .take(shown)
            .map(|id| clean_line(id, 200))
            .collect();
        let more = f.cases.len().saturating_sub(shown);
        let _ = writeln!(
            out,
            "       cases:    {}{}",
            ids.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    }
    out
}

/// Every failed case with its reasons (`-v`): the long form the findings summarise.
fn failure_details(out: &mut String, r: &RunResults, c: bool) {
    let failures: Vec<_> = r
        .cases
        .iter()
        .filter(|x| x.verdict == Grade::Fail)
        .collect();
    if failures.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", paint("Failures:", "31;1", c));
    for f in failures {
        let _ = writeln!(
            out,
            "\n  {}  {}",
            paint(&clean_line(&f.id, 200), "1", c),
            clean_line(&f.title, 500)
        );
        let _ = writeln!(
            out,
            "    {} ({}): {}",
            clean_line(&f.section, 100),
            f.level.as_str(),
            clean_line(&f.requirement, 2000)
        );
        // Reasons quote the peer: no escape sequence of theirs reaches the terminal.
        for reason in &f.reasons {
            let _ = writeln!(out, "    {}", clean_line(reason, 1000));
        }
        if let Some(d) = &f.deviation {
            let _ = writeln!(
                out,
                "    known deviation of {}: {}",
                clean_line(&r.agent, 200),
                clean_line(d, 1000)
            );
        }
    }
}

/// The baseline's verdict for terminals, printed after [`render`]: regressions and
/// failing new cases (what makes the exit code 1), then fixes, then known failures, each
/// list cut at 50 ids.
pub fn baseline_section(cmp: &crate::report::Comparison, style: &Style) -> String {
    const MAX: usize = 50;
    let c = style.color;
    let mut out = String::new();
    let mut list = |title: &str, code: &str, items: &[&crate::report::baseline::Change]| {
        if items.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n{} ({}):", paint(title, code, c), items.len());
        for ch in items.iter().take(MAX) {
            let was = ch.was.map(|g| g.as_str()).unwrap_or("new");
            let _ = writeln!(
                out,
                "  {}  {} -> {}",
                crate::text::clean_line(&ch.id, 200),
                was,
                ch.now.as_str()
            );
        }
        if items.len() > MAX {
            let _ = writeln!(out, "  … and {} more", items.len() - MAX);
        }
    };
    list(
        "Regressions",
        "31;1",
        &cmp.regressions.iter().collect::<Vec<_>>(),
    );
    list(
        "New cases that fail",
        "31;1",
        &cmp.new_failures().collect::<Vec<_>>(),
    );
    list("Fixed", "32", &cmp.fixes.iter().collect::<Vec<_>>());
    list(
        "Known failures",
        "33",
        &cmp.known_failures.iter().collect::<Vec<_>>(),
    );
    let _ = writeln!(
        out,
        "\n{}",
        paint(
            &cmp.summary_line(),
            if cmp.failed() { "31;1" } else { "32" },
            c
        )
    );
    out
}

/// The cases that took longest, with the share of their time spent waiting for something
/// that never came: where a run's time goes, and how much of it a faster peer cannot save.
fn slowest(out: &mut String, r: &RunResults) {
    let mut cases: Vec<_> = r.cases.iter().collect();
    cases.sort_by(|a, b| b.duration_ms.total_cmp(&a.duration_ms));
    if cases.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nslowest cases (waiting: time spent on timeouts and waits)"
    );
    for case in cases.iter().take(SLOWEST) {
        let t = &case.timings;
        let _ = writeln!(
            out,
            "  {:>9.1} ms  waiting {:>3.0}%  {}  (connect {:.1}, handshake {:.1}, exchange {:.1}, close {:.1} ms)",
            case.duration_ms,
            t.waiting_share() * 100.0,
            clean_line(&case.id, 200),
            t.connect_ms,
            t.handshake_ms,
            t.exchange_ms,
            t.close_ms
        );
    }
}

/// How many of the slowest cases `-v` lists.
const SLOWEST: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{baseline, sample};

    #[test]
    fn baseline_section_lists_changes_apart() {
        let before = sample::synthetic(40, "a", 1);
        let mut now = before.clone();
        let pass = now
            .cases
            .iter()
            .position(|c| c.verdict == Grade::Pass)
            .unwrap();
        now.cases[pass].verdict = Grade::Fail;
        let cmp = baseline::compare(&baseline::Baseline::from_results(&before), &now);
        let s = baseline_section(
            &cmp,
            &Style {
                color: false,
                verbose: false,
            },
        );
        assert!(s.contains("Regressions (1):"), "{s}");
        assert!(
            s.contains(&format!("  {}  pass -> fail", now.cases[pass].id)),
            "{s}"
        );
        assert!(s.contains("Known failures ("), "{s}");
        assert!(!s.contains("Fixed"), "{s}");
        assert!(s.trim_end().ends_with("new case(s) (0 failing)"), "{s}");
    }
}

#[cfg(test)]
mod hostile {
    use super::*;

    #[test]
    fn no_peer_escape_sequence_reaches_the_terminal() {
        let r = crate::report::sample::hostile(20);
        let s = render(
            &r,
            &Style {
                color: false,
                verbose: true,
            },
        );
        assert!(
            !s.contains('\x1b') && !s.contains('\0'),
            "raw control characters"
        );
        assert!(s.contains("\\u{1b}[31mred"));
        assert!(s.len() < 1 << 20, "{} bytes", s.len());
    }
}
