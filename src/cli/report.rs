//! `wsspec report`: reports re-rendered from results.json files.

use std::path::PathBuf;

use super::{fail, EXIT_OK};
use crate::report;
use crate::results::RunResults;

pub(super) fn read_results(path: &PathBuf) -> Result<RunResults, i32> {
    let bytes =
        std::fs::read(path).map_err(|e| fail(format!("{}: cannot read: {e}", path.display())))?;
    report::json::parse(&bytes).map_err(|e| {
        fail(format!(
            "{}: not a wsspec results file: {e}",
            path.display()
        ))
    })
}

pub(super) fn rerender(files: &[PathBuf], out: &std::path::Path, formats: &report::Formats) -> i32 {
    let mut runs = Vec::with_capacity(files.len());
    for f in files {
        match read_results(f) {
            Ok(r) => runs.push(r),
            Err(code) => return code,
        }
    }
    let written = if runs.len() == 1 {
        report::write_reports(out, &runs[0], &formats.0, None)
    } else {
        report::write_comparison(out, &runs)
    };
    match written {
        Ok(files) => {
            for f in files {
                println!("wrote {f}");
            }
            EXIT_OK
        }
        Err(e) => fail(e),
    }
}
