//! `results.json`: the complete results in the versioned schema of `crate::results`.
//!
//! With a baseline, the file gains a `baseline` member (an additive change, so the schema
//! version stays): `regressions`, `fixes`, `known_failures`, `new_cases`, `changed` as lists
//! of `{id, was, now, status}`, and `not_run` as a list of ids.

use serde::Serialize;

use super::baseline::Comparison;
use crate::results::RunResults;

#[derive(Serialize)]
struct WithBaseline<'a> {
    #[serde(flatten)]
    run: &'a RunResults,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<&'a Comparison>,
}

pub fn render(r: &RunResults, comparison: Option<&Comparison>) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(&WithBaseline {
        run: r,
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
