//! How a command ends: [`Outcome`] when it did its work (exit 0 or 1), [`CliError`] when it
//! could not (exit 2, with one line on stderr printed by [`report`] and nowhere else).

use std::path::PathBuf;

use crate::case::select::PatternError;
use crate::case::CaseError;
use crate::report::{BaselineError, WriteError};
use crate::results::{EXIT_ERROR, EXIT_FAILED, EXIT_OK};
use crate::run::tls::TlsError;
use crate::run::wait::WaitError;
use crate::run::{RunError, TargetError};

/// A command that did its work: whether the peer under test (or the case files, the
/// fuzzer's findings) gave a reason to fail the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Exit 0: nothing failed (documented deviations and baseline-known failures aside).
    Passed,
    /// Exit 1: a case failed, or the fuzzer found a cause.
    Failed,
}

impl Outcome {
    pub(crate) fn failed_if(failed: bool) -> Self {
        if failed {
            Outcome::Failed
        } else {
            Outcome::Passed
        }
    }
}

/// What a subcommand returns.
pub(crate) type CliResult = Result<Outcome, CliError>;

/// Why wsspec could not do what it was asked: every variant exits with code 2. Scripts read
/// the one line `wsspec: error: ...`, so each message says what to change, not only what
/// went wrong.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Arguments that parse on their own but not together, or a value clap cannot check.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Pattern(#[from] PatternError),
    #[error(transparent)]
    Cases(#[from] CaseError),
    /// `wsspec check` found several errors: each is printed on its own line first.
    #[error("{} case-file errors", .0.len())]
    CaseFiles(Vec<CaseError>),
    #[error("no cases selected: check --cases and --exclude (`wsspec list` shows the ids)")]
    NoServerCases,
    #[error(
        "no client cases selected: check --cases and --exclude (`wsspec list` shows the ids and roles)"
    )]
    NoClientCases,
    #[error("no case matches {0:?} (`wsspec list` shows the ids)")]
    NoMatch(String),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Wait(#[from] WaitError),
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot start the reference server: {0}")]
    Reference(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("{}: cannot read: {source}", .path.display())]
    ReadResults {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a wsspec results file: {reason}", .path.display())]
    NotResults { path: PathBuf, reason: String },
    #[error("cannot write the list: {0}")]
    Stdout(std::io::Error),
    /// The run stopped early (interrupt, `--max-time`, a peer that stopped answering):
    /// reports were written, marked incomplete.
    #[error("{headline}; reports list the {missing} cases not run")]
    Incomplete { headline: String, missing: usize },
    #[error("{0} case(s) could not be judged (verdict error: a wsspec bug, please report it)")]
    Unjudged(usize),
    #[error("no client ran any case")]
    NoClientRan,
    /// Client mode's listener ended with exit 2: not every selected case ran, one could not
    /// be judged, or reports could not be written (each write error is printed first).
    #[error("the client run proves less than it seems: not every selected case ran, one could not be judged, or reports could not be written")]
    ClientRunIncomplete,
}

impl From<Outcome> for i32 {
    fn from(o: Outcome) -> i32 {
        match o {
            Outcome::Passed => EXIT_OK,
            Outcome::Failed => EXIT_FAILED,
        }
    }
}

/// The one place a command's end becomes an exit code, and an error a line on stderr.
pub(crate) fn report(result: CliResult) -> i32 {
    match result {
        Ok(outcome) => outcome.into(),
        Err(e) => {
            if let CliError::CaseFiles(errors) = &e {
                for e in errors {
                    eprintln!("wsspec: error: {e}");
                }
            }
            eprintln!("wsspec: error: {}", one_line(&e));
            EXIT_ERROR
        }
    }
}

/// Whatever produced the message (a peer's reason phrase, an OS error), it stays one line,
/// so scripts can show it as is.
fn one_line(msg: &impl std::fmt::Display) -> String {
    msg.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_the_documented_codes() {
        assert_eq!(i32::from(Outcome::Passed), 0);
        assert_eq!(i32::from(Outcome::Failed), 1);
        assert_eq!(report(Err(CliError::NoClientRan)), 2);
        assert_eq!(report(Ok(Outcome::failed_if(true))), 1);
        assert_eq!(report(Ok(Outcome::failed_if(false))), 0);
    }

    #[test]
    fn a_multi_line_reason_is_folded_into_one_line() {
        let e = CliError::Usage("first\n  second\r\nthird".into());
        assert_eq!(one_line(&e), "first second third");
    }
}
