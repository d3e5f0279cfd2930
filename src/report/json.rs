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
    let mut out = Vec::new();
    render_to(r, comparison, &mut out).expect("results serialize");
    out
}

/// [`render`] written straight to `out`: a whole run's file is several MiB, and the buffer
/// grown to hold it (doubling as it goes) was the peak of a run's memory.
pub fn render_to(
    r: &RunResults,
    comparison: Option<&Comparison>,
    mut out: impl std::io::Write,
) -> std::io::Result<()> {
    let findings = findings::group(&r.cases);
    serde_json::to_writer_pretty(
        &mut out,
        &WithBaseline {
            run: r,
            conformance: Summary::of(&findings),
            findings,
            baseline: comparison,
        },
    )?;
    out.write_all(b"\n")
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
