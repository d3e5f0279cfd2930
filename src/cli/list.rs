//! `wsspec list`: case ids, levels, sections, titles, and counts per area; with
//! `--autobahn`, the Autobahn|Testsuite mapping per role.

use std::path::PathBuf;

use super::error::{CliError, CliResult, Outcome};
use super::{load, patterns};
use crate::case::{self, Case};

pub(super) fn list(pattern: Option<String>, extra: &[PathBuf], autobahn: bool) -> CliResult {
    let cases = load(extra)?;
    let inc = patterns(pattern.as_slice())?;
    // Listing shows opt-in cases too: they exist, they only stay out of default runs.
    let cases = case::select_listing(cases, &inc, &[]);
    if cases.is_empty() {
        if let Some(p) = pattern {
            return Err(CliError::NoMatch(p));
        }
    }
    // A reader that stops early (`wsspec list | head`) is not an error: stop writing.
    let written = if autobahn {
        use crate::report::autobahn::{mapping, mapping_table};
        use std::io::Write;
        std::io::stdout()
            .lock()
            .write_all(mapping_table(&mapping(&cases)).as_bytes())
    } else {
        write_list(&cases)
    };
    match written {
        Ok(()) => Ok(Outcome::Passed),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Outcome::Passed),
        Err(e) => Err(CliError::Stdout(e)),
    }
}

fn write_list(cases: &[Case]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut areas: Vec<(String, usize)> = Vec::new();
    for c in cases {
        writeln!(
            out,
            "{:<48} {:<6} {:<6} {:<16} {}",
            c.id,
            c.level.as_str(),
            format!("{:?}", c.role).to_lowercase(),
            c.section,
            c.title
        )?;
        match areas.iter_mut().find(|(a, _)| a == c.area()) {
            Some((_, n)) => *n += 1,
            None => areas.push((c.area().to_owned(), 1)),
        }
    }
    writeln!(out)?;
    for (a, n) in &areas {
        writeln!(out, "{a:<16} {n:>5}")?;
    }
    writeln!(out, "{:<16} {:>5}", "total", cases.len())?;
    out.flush()
}
