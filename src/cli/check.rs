//! `wsspec check`: case files validated without running them.

use std::path::PathBuf;

use super::{fail, EXIT_OK};
use crate::case;

pub(super) fn check(dir: Option<PathBuf>) -> i32 {
    let loaded = match &dir {
        Some(d) => case::load_dir(d),
        None => case::builtin(),
    };
    match loaded {
        Ok(cases) => {
            let what = dir
                .map(|d| d.display().to_string())
                .unwrap_or_else(|| "built-in cases".into());
            println!("{what}: {} cases, all valid", cases.len());
            EXIT_OK
        }
        Err(case::CaseError::Many(errors)) => {
            for e in &errors {
                eprintln!("wsspec: error: {e}");
            }
            fail(format!("{} case-file errors", errors.len()))
        }
        Err(e) => fail(e),
    }
}
