//! `wsspec baseline`: the known verdict of every case, from a results.json.

use std::path::PathBuf;

use super::report::read_results;
use super::{fail, EXIT_OK};
use crate::report;

pub(super) fn write_baseline(results: &PathBuf, out: &std::path::Path) -> i32 {
    let r = match read_results(results) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match report::baseline::Baseline::from_results(&r).write(out) {
        Ok(()) => {
            println!("wrote {} ({} cases)", out.display(), r.cases.len());
            EXIT_OK
        }
        Err(e) => fail(e),
    }
}
