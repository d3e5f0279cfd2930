//! `wsspec baseline`: the known verdict of every case, from a results.json.

use std::path::PathBuf;

use super::error::{CliResult, Outcome};
use super::report::read_results;
use crate::report;

pub(super) fn write_baseline(results: &PathBuf, out: &std::path::Path) -> CliResult {
    let r = read_results(results)?;
    report::baseline::Baseline::from_results(&r).write(out)?;
    println!("wrote {} ({} cases)", out.display(), r.cases.len());
    Ok(Outcome::Passed)
}
