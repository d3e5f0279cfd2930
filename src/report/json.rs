//! `results.json`: the complete results in the versioned schema of `crate::results`.
//!
//! The file also holds `conformance` (findings and cases per class) and `findings` (the
//! non-passing cases grouped by cause, [`findings`]), both additive.
//!
//! With a baseline, the file gains a `baseline` member (an additive change, so the schema
//! version stays): `regressions`, `fixes`, `known_failures`, `new_cases`, `changed` as lists
//! of `{id, was, now, status}`, and `not_run` as a list of ids.

use serde::Serialize;

use super::baseline::Comparison;
use super::findings::{self, Finding, Summary};
use crate::results::RunResults;

#[derive(Serialize)]
struct WithBaseline<'a> {
    #[serde(flatten)]
    run: &'a RunResults,
    /// Derived from `cases` when the file is written, so reading a file back needs no field
    /// for it; older files without it still parse.
    conformance: Summary,
    findings: Vec<Finding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<&'a Comparison>,
}

pub fn render(r: &RunResults, comparison: Option<&Comparison>) -> Vec<u8> {
    let findings = findings::group(&r.cases);
    let mut out = serde_json::to_vec_pretty(&WithBaseline {
        run: r,
        conformance: Summary::of(&findings),
        findings,
        baseline: comparison,
    })
    .expect("results serialize");
    out.push(b'\n');
    out
}

/// Reads results back (for re-rendering and comparison), checking the schema version.
pub fn parse(bytes: &[u8]) -> Result<RunResults, String> {
    let r: RunResults = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if r.schema != crate::results::SCHEMA {
        return Err(format!(
            "schema {:?} is not {:?}",
            r.schema,
            crate::results::SCHEMA
        ));
    }
    Ok(r)
}
