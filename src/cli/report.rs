//! `wsspec report`: reports re-rendered from results.json files.

use std::path::PathBuf;

use super::error::{CliError, CliResult, Outcome};
use crate::report;
use crate::results::RunResults;

pub(super) fn read_results(path: &PathBuf) -> Result<RunResults, CliError> {
    let bytes = std::fs::read(path).map_err(|source| CliError::ReadResults {
        path: path.clone(),
        source,
    })?;
    report::json::parse(&bytes).map_err(|reason| CliError::NotResults {
        path: path.clone(),
        reason,
    })
}

pub(super) fn rerender(
    files: &[PathBuf],
    out: &std::path::Path,
    formats: &report::Formats,
) -> CliResult {
    let runs = files
        .iter()
        .map(read_results)
        .collect::<Result<Vec<_>, _>>()?;
    let written = if runs.len() == 1 {
        report::write_reports(out, &runs[0], &formats.0, None)?
    } else {
        report::write_comparison(out, &runs)?
    };
    for f in written {
        println!("wrote {f}");
    }
    Ok(Outcome::Passed)
}
