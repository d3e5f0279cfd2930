//! The terminal summary: areas with counts, the cases that did not pass, failures with
//! expected versus observed, and one line of totals (h2spec's shape).

use std::fmt::Write;

use crate::case::Grade;
use crate::results::{RunResults, Totals};

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
        "{} cases in {:.2}s ({:.0} cases/s): {} passed, {} failed, {} non-strict, {} informational, {} unimplemented",
        t.total(),
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
    let _ = writeln!(
        out,
        "wsspec {} against {} ({})",
        r.wsspec_version, r.target, r.agent
    );
    let mut areas: Vec<&str> = Vec::new();
    for case in &r.cases {
        if !areas.contains(&case.area.as_str()) {
            areas.push(&case.area);
        }
    }
    for area in &areas {
        let cases: Vec<_> = r.cases.iter().filter(|x| &x.area == area).collect();
        let t = Totals::of(&cases.iter().map(|c| (*c).clone()).collect::<Vec<_>>());
        let _ = writeln!(
            out,
            "\n{}  {} cases: {} passed{}",
            paint(area, "1", c),
            t.total(),
            t.pass,
            if t.total() == t.pass {
                String::new()
            } else {
                format!(", {} failed, {} other", t.fail, t.total() - t.pass - t.fail)
            }
        );
        for case in cases {
            if style.verbose || case.verdict != Grade::Pass {
                let known = if case.deviation.is_some() {
                    " (known deviation)"
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "  {:>10}  {}  {}{known}",
                    label(case.verdict, c),
                    case.id,
                    case.title
                );
            }
        }
    }
    let failures: Vec<_> = r
        .cases
        .iter()
        .filter(|x| x.verdict == Grade::Fail)
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\n{}", paint("Failures:", "31;1", c));
        for f in failures {
            let _ = writeln!(out, "\n  {}  {}", paint(&f.id, "1", c), f.title);
            let _ = writeln!(
                out,
                "    {} ({}): {}",
                f.section,
                f.level.as_str(),
                f.requirement
            );
            for reason in &f.reasons {
                let _ = writeln!(out, "    {reason}");
            }
            if let Some(d) = &f.deviation {
                let _ = writeln!(out, "    known deviation of {}: {d}", r.agent);
            }
        }
    }
    let _ = writeln!(out, "\n{}", totals_line(&r.totals, r.duration_ms));
    let known = r.totals.fail - r.unexpected_failures();
    if known > 0 {
        let _ = writeln!(out, "{known} of the failures are documented deviations of the implementation under test; they do not fail the run");
    }
    out
}
