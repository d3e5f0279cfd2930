//! Reports: one file per output format. They read `RunResults` and know nothing of how
//! cases ran.

pub mod autobahn;
pub mod json;
pub mod terminal;
pub mod text;

pub use text::bounded_lossy;

use std::path::Path;

use crate::results::RunResults;

#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot write: {source}")]
pub struct WriteError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

/// Writes `bytes` to `path` through a temporary file and a rename, so an interrupted run
/// never leaves a half-written report where CI would read it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let err = |e| WriteError {
        path: path.display().to_string(),
        source: e,
    };
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("out")
    ));
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// Writes every file report into `dir` (created if needed).
pub fn write_all(dir: &Path, r: &RunResults) -> Result<Vec<String>, WriteError> {
    std::fs::create_dir_all(dir).map_err(|e| WriteError {
        path: dir.display().to_string(),
        source: e,
    })?;
    let path = dir.join("results.json");
    write_atomic(&path, &json::render(r))?;
    let ab = dir.join("index.json");
    write_atomic(&ab, &autobahn::render(r))?;
    Ok(vec![path.display().to_string(), ab.display().to_string()])
}
