//! Combining the checks of one case into its verdict.

use crate::case::{Grade, Level};
use crate::results::{Check, CloseResult};

use super::event::PeerViolation;

/// A miss costs what the requirement's level says: a SHOULD miss is non-strict, a MAY or
/// informational miss is informational. Peer violations of the framing rules are always
/// MUST-level (RFC 6455 §5) and are not softened.
pub fn soften(grade: Grade, level: Level) -> Grade {
    match (grade, level) {
        (Grade::Fail, Level::Should) => Grade::NonStrict,
        (Grade::Fail | Grade::NonStrict, Level::May | Level::Info) => Grade::Informational,
        (g, _) => g,
    }
}

/// The verdict and the reasons it is not a pass.
pub fn case_verdict(
    level: Level,
    checks: &[Check],
    violations: &[PeerViolation],
    close: Option<&CloseResult>,
    error: Option<&str>,
    strict: bool,
) -> (Grade, Vec<String>) {
    let mut verdict = Grade::Pass;
    let mut reasons = Vec::new();
    for c in checks {
        let g = if c.implicit {
            c.grade
        } else {
            soften(c.grade, level)
        };
        if g != Grade::Pass {
            reasons.push(format!(
                "[{}] expected {}; observed {}",
                g.as_str(),
                c.expected,
                c.observed
            ));
        }
        verdict = verdict.max(g);
    }
    for v in violations {
        reasons.push(format!(
            "[fail] peer broke {}: {} ({})",
            v.section, v.rule, v.detail
        ));
        verdict = Grade::Fail;
    }
    if let Some(c) = close {
        // An informational close (a failure by dropping TCP, which RFC 6455 §7.1.7 only
        // discourages) is shown with the close result but does not colour the case.
        if matches!(c.verdict, Grade::NonStrict | Grade::Fail) {
            let g = soften(c.verdict, level);
            reasons.push(format!("[{}] close: {}", g.as_str(), c.detail));
            verdict = verdict.max(g);
        }
    }
    if let Some(e) = error {
        reasons.push(format!("[fail] {e}"));
        verdict = Grade::Fail;
    }
    if strict && verdict == Grade::NonStrict {
        reasons.push("[fail] non-strict counts as a failure under --strict".into());
        verdict = Grade::Fail;
    }
    (verdict, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(grade: Grade) -> Check {
        Check {
            step: 0,
            expected: "e".into(),
            observed: "o".into(),
            matched: grade == Grade::Pass,
            grade,
            implicit: false,
            count: 1,
            limit: false,
        }
    }

    #[test]
    fn worst_grade_wins_and_level_softens() {
        let (v, r) = case_verdict(
            Level::Must,
            &[check(Grade::Pass), check(Grade::NonStrict)],
            &[],
            None,
            None,
            false,
        );
        assert_eq!(v, Grade::NonStrict);
        assert_eq!(r.len(), 1);
        let (v, _) = case_verdict(Level::Should, &[check(Grade::Fail)], &[], None, None, false);
        assert_eq!(v, Grade::NonStrict);
        let (v, _) = case_verdict(Level::Should, &[check(Grade::Fail)], &[], None, None, true);
        assert_eq!(v, Grade::Fail);
        let (v, _) = case_verdict(Level::May, &[check(Grade::Fail)], &[], None, None, true);
        assert_eq!(v, Grade::Informational);
    }

    #[test]
    fn implicit_checks_are_not_softened() {
        let mut c = check(Grade::Fail);
        c.implicit = true;
        let (v, _) = case_verdict(Level::Info, &[c], &[], None, None, false);
        assert_eq!(v, Grade::Fail);
    }

    #[test]
    fn violations_always_fail() {
        let v = PeerViolation::new(crate::rules::Rule::MaskPresent, "d");
        let (g, _) = case_verdict(Level::May, &[check(Grade::Pass)], &[v], None, None, false);
        assert_eq!(g, Grade::Fail);
    }
}
