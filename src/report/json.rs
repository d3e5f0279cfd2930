//! `results.json`: the complete results in the versioned schema of `crate::results`.

use crate::results::RunResults;

pub fn render(r: &RunResults) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(r).expect("results serialize");
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
