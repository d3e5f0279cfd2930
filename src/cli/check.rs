//! `wsspec check`: case files validated without running them.

use std::path::PathBuf;

use super::error::{CliError, CliResult, Outcome};
use crate::case;

pub(super) fn check(dir: Option<PathBuf>) -> CliResult {
    let loaded = match &dir {
        Some(d) => case::load_dir(d),
        None => case::builtin(),
    };
    match loaded {
        Ok(cases) => {
            let what = dir
                .map(|d| d.display().to_string())
                .unwrap_or_else(|| "built-in cases".into());
            println!(
                "{what}: {}, all valid",
                crate::report::headline::plural(cases.len(), "case", "cases")
            );
            Ok(Outcome::Passed)
        }
        Err(case::CaseError::Many(errors)) => Err(CliError::CaseFiles(errors)),
        Err(e) => Err(e.into()),
    }
}
