//! The headline every report opens with: the conformance summary (findings per class, each
//! as causes and cases) and pass rates over what the peer implements.
//!
//! A plain "N cases, P% pass" counts an optional feature the peer does not offer
//! (permessage-deflate is a MAY of RFC 7692) and SHOULD-level misses against it, so a good
//! server that skips compression reads as half broken. The rates here leave unimplemented
//! cases out of the denominator, and say apart how many of the rest meet every MUST and how
//! many pass outright.

use serde::Serialize;

use super::findings::{Finding, FindingClass, Summary};
use crate::results::Totals;

/// One class of findings in the headline.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ClassTile {
    /// "must", "should", "limit", "unimplemented", "informational"
    pub class: &'static str,
    /// "MUST findings", "limits", ...
    pub name: &'static str,
    /// The verdict whose colour the tile takes (a class with no finding is shown as passing).
    pub verdict: &'static str,
    pub causes: usize,
    pub cases: usize,
    /// "1 case", "229 cases"
    pub cases_text: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Headline {
    /// "pass" when nothing a MUST forbids was seen, "fail" otherwise (page colour).
    pub verdict: &'static str,
    /// The summary in one line: "2 MUST findings (2 cases), 2 SHOULD findings (2 cases), ...".
    pub line: String,
    /// MUST, SHOULD, limits, unimplemented features; informational only when there is one.
    pub tiles: Vec<ClassTile>,
    /// Cases the peer implements: every case but the unimplemented ones.
    pub implemented: usize,
    pub unimplemented: usize,
    /// Of the implemented cases, the share without a failure or error ("99.8%").
    pub must_rate: String,
    /// Of the implemented cases, the share that passed outright.
    pub pass_rate: String,
    /// Cases that did not pass (what "show only problems" leaves on the page).
    pub problems: usize,
    /// "1 case", "4 cases"
    pub problems_text: String,
    /// The rates in one sentence, for text reports.
    pub rates: String,
}

fn percent(n: usize, of: usize) -> String {
    // Never round a shortfall up to 100%: 999 of 1000 is 99.9%, 9999 of 10000 too.
    match (1000 * n).checked_div(of) {
        None => "–".to_owned(),
        Some(permille) => format!("{:.1}%", permille as f64 / 10.0),
    }
}

/// "1 case", "2 cases".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Headline {
    pub fn new(t: &Totals, findings: &[Finding]) -> Headline {
        let s = Summary::of(findings);
        let mut tiles = Vec::new();
        for class in FindingClass::ALL {
            let c = s.get(class);
            if class == FindingClass::Informational && c.findings == 0 {
                continue;
            }
            tiles.push(ClassTile {
                class: class.as_str(),
                name: match class {
                    FindingClass::Must => "MUST findings",
                    FindingClass::Should => "SHOULD findings",
                    FindingClass::Limit => "limits",
                    FindingClass::Unimplemented => "unimplemented features",
                    FindingClass::Informational => "informational",
                },
                verdict: if c.findings == 0 {
                    "pass"
                } else {
                    class.verdict().as_str()
                },
                causes: c.findings,
                cases: c.cases,
                cases_text: plural(c.cases, "case", "cases"),
            });
        }
        let implemented = t.total() - t.unimplemented;
        let meets_must = implemented - t.fail - t.error;
        let must_rate = percent(meets_must, implemented);
        let pass_rate = percent(t.pass, implemented);
        let mut rates = format!(
            "{must_rate} of the {} the peer implements meet every MUST; {pass_rate} pass outright",
            plural(implemented, "case", "cases"),
        );
        if t.unimplemented > 0 {
            rates.push_str(&format!(
                " ({} of an optional feature the peer does not implement left out)",
                plural(t.unimplemented, "case", "cases")
            ));
        }
        Headline {
            verdict: if t.fail + t.error == 0 {
                "pass"
            } else {
                "fail"
            },
            line: s.line(),
            tiles,
            implemented,
            unimplemented: t.unimplemented,
            must_rate,
            pass_rate,
            problems: t.total() - t.pass,
            problems_text: plural(t.total() - t.pass, "case", "cases"),
            rates,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_leave_unimplemented_cases_out() {
        // 750 implemented cases: 740 pass, 8 non-strict, 2 fail; 221 unimplemented.
        let t = Totals {
            pass: 740,
            non_strict: 8,
            informational: 0,
            unimplemented: 221,
            fail: 2,
            error: 0,
        };
        let h = Headline::new(&t, &[]);
        assert_eq!(h.implemented, 750);
        assert_eq!(h.must_rate, "99.7%");
        assert_eq!(h.pass_rate, "98.6%");
        assert_eq!(h.problems, 231);
        assert_eq!(h.verdict, "fail");
        assert!(
            h.rates
                .starts_with("99.7% of the 750 cases the peer implements"),
            "{}",
            h.rates
        );
        assert!(
            h.rates.contains("221 cases of an optional feature"),
            "{}",
            h.rates
        );
    }

    #[test]
    fn a_shortfall_never_rounds_to_a_full_score() {
        assert_eq!(percent(9999, 10000), "99.9%");
        assert_eq!(percent(10, 10), "100.0%");
        assert_eq!(percent(0, 0), "–");
    }

    #[test]
    fn four_tiles_and_informational_only_when_present() {
        let h = Headline::new(&Totals::default(), &[]);
        let classes: Vec<&str> = h.tiles.iter().map(|t| t.class).collect();
        assert_eq!(classes, ["must", "should", "limit", "unimplemented"]);
        assert!(h.tiles.iter().all(|t| t.verdict == "pass"));
        assert_eq!(h.verdict, "pass");
        assert_eq!(
            h.rates,
            "– of the 0 cases the peer implements meet every MUST; – pass outright"
        );
    }
}
