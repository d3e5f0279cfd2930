//! Baselines: the expected verdict of every case, so CI goes green on known failures, red on
//! regressions, and reports what got fixed.
//!
//! The file is JSON, versioned by [`SCHEMA`]:
//!
//! ```json
//! { "schema": "wsspec.baseline/1", "cases": { "close.code.invalid.1005": "fail", ... } }
//! ```
//!
//! Case ids are sorted so a baseline diffs well under version control.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::case::Grade;
use crate::results::RunResults;

pub const SCHEMA: &str = "wsspec.baseline/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub schema: String,
    pub cases: BTreeMap<String, Grade>,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{path}: cannot read baseline: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a wsspec baseline: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: baseline schema {found:?} is not {SCHEMA:?}")]
    Schema { path: String, found: String },
    #[error("{path}: the baseline names {} case id(s) wsspec does not know: {}", ids.len(), ids.join(", "))]
    UnknownIds { path: String, ids: Vec<String> },
}

impl Baseline {
    /// The verdicts of a run, as the baseline for later runs.
    pub fn from_results(r: &RunResults) -> Baseline {
        Baseline {
            schema: SCHEMA.to_owned(),
            cases: r.cases.iter().map(|c| (c.id.clone(), c.verdict)).collect(),
        }
    }

    /// The file's bytes: pretty JSON, one case per line, ids sorted.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("baseline serializes");
        out.push(b'\n');
        out
    }

    /// Writes the baseline atomically.
    pub fn write(&self, path: &Path) -> Result<(), super::WriteError> {
        super::write_atomic(path, &self.to_json())
    }

    /// Parses a baseline; `path` only names the source in errors. Every id must be one of
    /// `known_ids` (pass every case wsspec knows, not only the selected ones, so a baseline
    /// of the full suite works with `--cases`).
    pub fn parse<I, S>(bytes: &[u8], path: &str, known_ids: I) -> Result<Baseline, BaselineError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        // Check the schema first so a future version says so instead of a field error.
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| BaselineError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(SCHEMA) => {}
            Some(other) => {
                return Err(BaselineError::Schema {
                    path: path.to_owned(),
                    found: other.to_owned(),
                })
            }
            None => {
                return Err(BaselineError::Parse {
                    path: path.to_owned(),
                    message: "missing \"schema\"".to_owned(),
                })
            }
        }
        let b: Baseline = serde_json::from_value(value).map_err(|e| BaselineError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let known: BTreeSet<String> = known_ids
            .into_iter()
            .map(|s| s.as_ref().to_owned())
            .collect();
        let unknown: Vec<String> = b
            .cases
            .keys()
            .filter(|id| !known.contains(*id))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(BaselineError::UnknownIds {
                path: path.to_owned(),
                ids: unknown,
            });
        }
        Ok(b)
    }
}

/// Reads and checks a baseline file; see [`Baseline::parse`].
pub fn load<I, S>(path: &Path, known_ids: I) -> Result<Baseline, BaselineError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| BaselineError::Io {
        path: shown.clone(),
        source: e,
    })?;
    Baseline::parse(&bytes, &shown, known_ids)
}

/// The verdicts of a run, as a baseline (same as [`Baseline::from_results`]).
pub fn from_results(r: &RunResults) -> Baseline {
    Baseline::from_results(r)
}

/// How one case's verdict relates to the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Did not fail in the baseline, fails now.
    Regression,
    /// Failed in the baseline, does not fail now.
    Fixed,
    /// Failed in the baseline and still fails.
    KnownFailure,
    /// Not in the baseline.
    New,
    /// Same verdict as the baseline, not a failure.
    Unchanged,
    /// Another verdict than the baseline, neither failing before nor now (e.g. pass to
    /// non-strict).
    Changed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Regression => "regression",
            Status::Fixed => "fixed",
            Status::KnownFailure => "known failure",
            Status::New => "new",
            Status::Unchanged => "unchanged",
            Status::Changed => "changed",
        }
    }
}

/// One case compared with the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub id: String,
    /// The baseline's verdict (absent for new cases).
    pub was: Option<Grade>,
    pub now: Grade,
    pub status: Status,
}

/// A run compared with a baseline. Every list is in the run's case order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// Was pass, non-strict, informational or unimplemented; now fails.
    pub regressions: Vec<Change>,
    /// Was fail; now anything else.
    pub fixes: Vec<Change>,
    /// Was fail; still fails.
    pub known_failures: Vec<Change>,
    /// Cases the baseline does not know (with any verdict).
    pub new_cases: Vec<Change>,
    /// Verdict changed between non-failing verdicts (e.g. pass to non-strict).
    pub changed: Vec<Change>,
    /// Baseline cases this run did not run (deselected or removed); informational only.
    pub not_run: Vec<String>,
    /// Every case of the run by id, for per-case lookups.
    #[serde(skip)]
    by_id: BTreeMap<String, Change>,
}

impl Comparison {
    /// The comparison's verdict on one case of the run.
    pub fn get(&self, id: &str) -> Option<&Change> {
        self.by_id.get(id)
    }

    /// New cases that fail: they count against the run like regressions.
    pub fn new_failures(&self) -> impl Iterator<Item = &Change> {
        self.new_cases.iter().filter(|c| c.now == Grade::Fail)
    }

    /// Whether the run fails once the baseline is applied: a regression, or a failure of a
    /// case the baseline does not know. Known failures do not count.
    pub fn failed(&self) -> bool {
        !self.regressions.is_empty() || self.new_failures().next().is_some()
    }

    /// Process exit code for the run with this baseline: 1 when [`Comparison::failed`], else 0.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.failed())
    }

    /// One line for terminals and logs.
    pub fn summary_line(&self) -> String {
        format!(
            "baseline: {} regression(s), {} fixed, {} known failure(s), {} new case(s) ({} failing)",
            self.regressions.len(),
            self.fixes.len(),
            self.known_failures.len(),
            self.new_cases.len(),
            self.new_failures().count()
        )
    }
}

/// Compares a run with a baseline.
pub fn compare(b: &Baseline, r: &RunResults) -> Comparison {
    let mut cmp = Comparison::default();
    let mut seen = BTreeSet::new();
    for c in &r.cases {
        seen.insert(c.id.as_str());
        let was = b.cases.get(&c.id).copied();
        let now = c.verdict;
        let status = match was {
            None => Status::New,
            Some(Grade::Fail) if now == Grade::Fail => Status::KnownFailure,
            Some(Grade::Fail) => Status::Fixed,
            Some(_) if now == Grade::Fail => Status::Regression,
            Some(w) if w == now => Status::Unchanged,
            Some(_) => Status::Changed,
        };
        let change = Change {
            id: c.id.clone(),
            was,
            now,
            status,
        };
        match status {
            Status::Regression => cmp.regressions.push(change.clone()),
            Status::Fixed => cmp.fixes.push(change.clone()),
            Status::KnownFailure => cmp.known_failures.push(change.clone()),
            Status::New => cmp.new_cases.push(change.clone()),
            Status::Changed => cmp.changed.push(change.clone()),
            Status::Unchanged => {}
        }
        cmp.by_id.insert(c.id.clone(), change);
    }
    cmp.not_run = b
        .cases
        .keys()
        .filter(|id| !seen.contains(id.as_str()))
        .cloned()
        .collect();
    cmp
}
