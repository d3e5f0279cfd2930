//! Reports: one file per output format. They read `RunResults` (and, when a baseline is
//! applied, its [`Comparison`]) and know nothing of how cases ran.
//!
//! | format | file | module |
//! | --- | --- | --- |
//! | `html` | `index.html` | [`html`] (tera 2, templates in `reports/`) |
//! | `json` | `results.json` | [`json`] |
//! | `junit` | `junit.xml` | [`junit`] |
//! | `md` | `summary.md` | [`markdown`] |
//!
//! Every string a peer controls is untrusted: each format cleans it with `text::clean`
//! (controls escaped, length bounded) and escapes it for its own syntax.

pub mod autobahn;
pub mod baseline;
pub mod findings;
pub mod headline;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
#[doc(hidden)]
/// Synthetic results for the reporters' tests and benchmarks (feature `testing`).
#[cfg(any(test, feature = "testing"))]
pub mod sample;
pub mod terminal;
pub mod view;

pub use baseline::{Baseline, BaselineError, Comparison};
pub use findings::{Finding, FindingClass};

use std::path::Path;
use std::str::FromStr;

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
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
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

/// [`write_atomic`] for contents written piece by piece by `write`, never held whole.
fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let err = |e| WriteError {
        path: path.display().to_string(),
        source: e,
    };
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("out")
    ));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(err)?);
    write(&mut file).map_err(err)?;
    use std::io::Write as _;
    file.flush().map_err(err)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(err)
}

/// A file report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Html,
    Json,
    Junit,
    Markdown,
    /// The Autobahn testsuite's `index.json`, written on request.
    Autobahn,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Html,
        Format::Json,
        Format::Junit,
        Format::Markdown,
        Format::Autobahn,
    ];
    /// What a run writes without `--format` (DESIGN.md §5: Autobahn's file on request).
    pub const DEFAULT: [Format; 4] = [Format::Html, Format::Json, Format::Junit, Format::Markdown];

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Markdown => "md",
            Format::Autobahn => "autobahn",
        }
    }

    /// The file written in the output folder.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Html => "index.html",
            Format::Json => "results.json",
            Format::Junit => "junit.xml",
            Format::Markdown => "summary.md",
            Format::Autobahn => "index.json",
        }
    }

    /// The file's contents.
    pub fn render(self, r: &RunResults, comparison: Option<&Comparison>) -> Vec<u8> {
        match self {
            Format::Html => html::render(r, comparison).into_bytes(),
            Format::Json => json::render(r, comparison),
            Format::Junit => junit::render(r, comparison).into_bytes(),
            Format::Markdown => markdown::render(r, comparison).into_bytes(),
            Format::Autobahn => autobahn::render(r),
        }
    }

    /// The file's contents written to `out`: the two large ones (HTML and JSON, several
    /// MiB for a whole run) as they are produced, the others whole.
    pub fn render_to(
        self,
        r: &RunResults,
        comparison: Option<&Comparison>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        match self {
            Format::Html => html::render_to(r, comparison, out),
            Format::Json => json::render_to(r, comparison, out),
            _ => out.write_all(&self.render(r, comparison)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown report format {0:?} (known: html, json, junit, md, autobahn, all)")]
pub struct FormatError(pub String);

impl FromStr for Format {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Format, FormatError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "html" => Ok(Format::Html),
            "json" => Ok(Format::Json),
            "junit" | "xml" => Ok(Format::Junit),
            "md" | "markdown" => Ok(Format::Markdown),
            "autobahn" | "index.json" => Ok(Format::Autobahn),
            _ => Err(FormatError(s.trim().to_owned())),
        }
    }
}

/// The value of `--format`: a comma-separated list (`html,json,junit,md`), duplicates
/// ignored, order kept. `all` names every format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formats(pub Vec<Format>);

impl Default for Formats {
    fn default() -> Self {
        Formats(Format::DEFAULT.to_vec())
    }
}

impl FromStr for Formats {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Formats, FormatError> {
        let mut v: Vec<Format> = Vec::new();
        for part in s.split(',') {
            if part.trim().is_empty() {
                continue;
            }
            if part.trim().eq_ignore_ascii_case("all") {
                return Ok(Formats(Format::ALL.to_vec()));
            }
            let f: Format = part.parse()?;
            if !v.contains(&f) {
                v.push(f);
            }
        }
        if v.is_empty() {
            return Err(FormatError(s.to_owned()));
        }
        Ok(Formats(v))
    }
}

fn create_dir(dir: &Path) -> Result<(), WriteError> {
    std::fs::create_dir_all(dir).map_err(|e| WriteError {
        path: dir.display().to_string(),
        source: e,
    })
}

/// Checks before a run that reports can be written into `dir`: creates it and writes and
/// removes a scratch file there.
pub fn check_writable(dir: &Path) -> Result<(), WriteError> {
    create_dir(dir)?;
    let probe = dir.join(".wsspec-write-check");
    std::fs::write(&probe, b"").map_err(|e| WriteError {
        path: dir.display().to_string(),
        source: e,
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Writes the reports in `formats` into `dir` (created if needed), each atomically;
/// returns the paths written. With a baseline comparison, every format shows regressions,
/// fixes and known failures apart.
pub fn write_reports(
    dir: &Path,
    r: &RunResults,
    formats: &[Format],
    comparison: Option<&Comparison>,
) -> Result<Vec<String>, WriteError> {
    create_dir(dir)?;
    let mut written = Vec::new();
    for f in formats {
        let path = dir.join(f.file_name());
        write_atomic_with(&path, |out| f.render_to(r, comparison, out))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// Writes every file report into `dir` (created if needed), without a baseline.
/// Same as `write_reports(dir, r, &Format::DEFAULT, None)`.
pub fn write_all(dir: &Path, r: &RunResults) -> Result<Vec<String>, WriteError> {
    write_reports(dir, r, &Format::DEFAULT, None)
}

/// `wsspec report a.json b.json --out DIR`: the side-by-side page of several runs as
/// `DIR/index.html`.
pub fn write_comparison(dir: &Path, runs: &[RunResults]) -> Result<Vec<String>, WriteError> {
    create_dir(dir)?;
    let path = dir.join("index.html");
    write_atomic(&path, html::render_comparison(runs).as_bytes())?;
    Ok(vec![path.display().to_string()])
}

/// Several agents side by side (see [`html::render_comparison`]).
pub use html::render_comparison;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse() {
        let f: Formats = "html, json,junit,md,html".parse().unwrap();
        assert_eq!(
            f.0,
            vec![Format::Html, Format::Json, Format::Junit, Format::Markdown]
        );
        assert_eq!(
            "markdown".parse::<Formats>().unwrap().0,
            vec![Format::Markdown]
        );
        assert_eq!("all".parse::<Formats>().unwrap().0, Format::ALL.to_vec());
        assert_eq!(Formats::default().0, Format::DEFAULT.to_vec());
        assert_eq!(
            "autobahn".parse::<Formats>().unwrap().0,
            vec![Format::Autobahn]
        );
        let e = "html,pdf".parse::<Formats>().unwrap_err();
        assert!(e.to_string().contains("\"pdf\""), "{e}");
        assert!("".parse::<Formats>().is_err());
    }
}
