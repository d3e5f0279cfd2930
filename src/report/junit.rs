//! `junit.xml` for CI: one testsuite per area, one testcase per case (classname = area,
//! name = id), time in seconds.
//!
//! - fail: `<failure>`, message = first reason, text = every reason plus expected versus
//!   observed for each missed check, the RFC section and requirement;
//! - unimplemented: `<skipped>` with its reason;
//! - non-strict and informational: success, with the verdict as a property and the reasons
//!   in system-out;
//! - with a baseline: a known failure is `<skipped>` of type "known-failure" (CI stays
//!   green), a regression or a failing new case is a `<failure>` of type "regression" /
//!   "new-failure", a fix is a success with the property `baseline = fixed`.
//!
//! Each non-passing case names its finding (the cause it shares with other cases,
//! [`findings`]): its message starts with `[finding N: ...]` and its properties hold
//! `finding` (N), `finding_class` and `finding_key` (stable across runs), so CI can group
//! failures by cause while keeping one testcase, and one failure at most, per case. Each
//! testsuite carries the run's conformance summary as the property `conformance`.
//!
//! Peer strings are cleaned first (controls escaped as `\u{..}`, U+FFFE/U+FFFF too, length
//! bounded), so the file holds no character XML 1.0 forbids; quick-junit escapes markup.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::baseline::{Comparison, Status};
use super::findings::{self, Finding};
use crate::case::Grade;
use crate::results::{CaseResult, RunResults};
use crate::text::{clean, clean_line};

const MESSAGE_MAX: usize = 500;
const TEXT_MAX: usize = 4000;

fn secs(ms: f64) -> Duration {
    if ms.is_finite() && ms > 0.0 {
        Duration::from_secs_f64(ms / 1000.0)
    } else {
        Duration::ZERO
    }
}

/// Every reason, then expected versus observed for each missed check.
fn description(c: &CaseResult) -> String {
    let mut s = String::new();
    for r in c.reasons.iter().take(50) {
        s.push_str(&clean(r, MESSAGE_MAX));
        s.push('\n');
    }
    for k in c.checks.iter().filter(|k| !k.matched).take(50) {
        s.push_str(&format!(
            "step {}: expected {}\n         observed {}\n",
            k.step,
            clean_line(&k.expected, MESSAGE_MAX),
            clean_line(&k.observed, MESSAGE_MAX)
        ));
    }
    for v in c.violations.iter().take(20) {
        s.push_str(&format!(
            "peer violation ({}): {}: {}\n",
            clean_line(&v.section, 100),
            clean_line(&v.rule, MESSAGE_MAX),
            clean_line(&v.detail, MESSAGE_MAX)
        ));
    }
    if let Some(close) = &c.close {
        s.push_str(&format!(
            "close: {} ({})\n",
            close.verdict.as_str(),
            clean_line(&close.detail, MESSAGE_MAX)
        ));
    }
    s.push_str(&format!(
        "{} ({}): {}\n",
        clean_line(&c.section, 100),
        c.level.as_str(),
        clean(&c.requirement, 2000)
    ));
    clean(&s, TEXT_MAX)
}

fn first_reason(c: &CaseResult) -> String {
    c.reasons
        .first()
        .map(|r| clean_line(r, MESSAGE_MAX))
        .unwrap_or_else(|| c.verdict.as_str().to_owned())
}

/// "[finding 3: MUST RFC 6455 §8.1: ...] " before a failure's message: CI tools that show
/// only messages still see which cause a failure belongs to.
fn finding_tag(f: Option<&Finding>) -> String {
    match f {
        Some(f) => format!("[finding {}: {}] ", f.number, clean_line(&f.title(), 300)),
        None => String::new(),
    }
}

fn testcase(c: &CaseResult, cmp: Option<&Comparison>, finding: Option<&Finding>) -> TestCase {
    let tag = finding_tag(finding);
    let change = cmp.and_then(|cmp| cmp.get(&c.id));
    let status = change.map(|ch| ch.status);
    let st = match (c.verdict, status) {
        (Grade::Fail, Some(Status::KnownFailure)) => {
            let mut s = TestCaseStatus::skipped();
            s.set_type("known-failure")
                .set_message(format!(
                    "{tag}known failure (baseline): {}",
                    first_reason(c)
                ))
                .set_description(description(c));
            s
        }
        (Grade::Fail, _) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_type(match status {
                Some(Status::Regression) => "regression",
                Some(Status::New) => "new-failure",
                _ => "fail",
            })
            .set_message(format!("{tag}{}", first_reason(c)))
            .set_description(description(c));
            s
        }
        (Grade::Unimplemented, _) => {
            let mut s = TestCaseStatus::skipped();
            s.set_type("unimplemented")
                .set_message(format!("{tag}{}", first_reason(c)));
            s
        }
        (Grade::Error, _) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_type("error")
                .set_message(first_reason(c))
                .set_description(description(c));
            s
        }
        _ => TestCaseStatus::success(),
    };
    let mut tc = TestCase::new(clean_line(&c.id, 200), st);
    tc.set_classname(clean_line(&c.area, 100))
        .set_time(secs(c.duration_ms));
    let mut props = vec![
        Property::new("verdict", c.verdict.as_str()),
        Property::new("section", clean_line(&c.section, 100)),
        Property::new("level", c.level.as_str()),
    ];
    if let Some(a) = &c.autobahn {
        props.push(Property::new("autobahn", clean_line(a, 50)));
    }
    if let Some(close) = &c.close {
        props.push(Property::new("close", close.verdict.as_str()));
    }
    if let Some(f) = finding {
        // One property to group on (the number is per run; the key is stable across runs).
        props.push(Property::new("finding", f.number.to_string()));
        props.push(Property::new("finding_class", f.class.as_str()));
        props.push(Property::new("finding_key", clean_line(&f.key, 600)));
    }
    if let Some(ch) = change {
        props.push(Property::new("baseline", ch.status.as_str()));
        if let Some(was) = ch.was {
            props.push(Property::new("baseline_verdict", was.as_str()));
        }
    }
    tc.add_properties(props);
    if matches!(c.verdict, Grade::NonStrict | Grade::Informational) {
        tc.set_system_out(format!("{tag}{}: {}", c.verdict.as_str(), description(c)));
    }
    tc
}

/// The JUnit XML of a run.
pub fn render(r: &RunResults, comparison: Option<&Comparison>) -> String {
    let found = findings::group(&r.cases);
    let by_case = findings::by_case(&found);
    let mut report = Report::new("wsspec");
    report.set_time(secs(r.duration_ms));
    for (area, cases) in super::view::group(&r.cases) {
        let mut suite = TestSuite::new(clean_line(area, 100));
        suite.add_properties([
            Property::new("agent", clean_line(&r.agent, 200)),
            Property::new("target", clean_line(&r.target, 500)),
            Property::new("transport", clean_line(&r.transport, 20)),
            Property::new("wsspec_version", clean_line(&r.wsspec_version, 50)),
            Property::new("started_at", clean_line(&r.started_at, 50)),
            Property::new("strict", r.options.strict.to_string()),
            Property::new("conformance", findings::Summary::of(&found).line()),
            Property::new("tls", super::view::tls_text(r)),
        ]);
        let time: f64 = cases.iter().map(|c| c.duration_ms.max(0.0)).sum();
        suite.set_time(secs(time));
        suite.add_test_cases(
            cases
                .iter()
                .map(|c| testcase(c, comparison, by_case.get(c.id.as_str()).copied())),
        );
        report.add_test_suite(suite);
    }
    if let Some(inc) = &r.incomplete {
        // Not-run cases appear as skipped, so CI shows them instead of a shorter, green list.
        let mut suite = TestSuite::new("not-run");
        suite.add_properties([Property::new(
            "incomplete",
            clean_line(&inc.headline(), 300),
        )]);
        suite.add_test_cases(inc.missing.iter().map(|id| {
            let mut s = TestCaseStatus::skipped();
            s.set_type("not-run")
                .set_message(clean_line(&inc.headline(), MESSAGE_MAX));
            TestCase::new(clean_line(id, 200), s)
        }));
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .expect("JUnit XML of cleaned strings serializes")
}
