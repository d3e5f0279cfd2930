//! Choosing cases by id: `--cases` and `--exclude` patterns.

use globset::{Glob, GlobMatcher};

use super::model::Case;

/// One id pattern. A pattern with glob characters (`*?[{`) is a glob over the whole id;
/// a plain one matches the id itself or any id below it (`close` matches `close.code.1000`),
/// so running a section needs no stars, as in h2spec.
#[derive(Debug, Clone)]
pub enum IdPattern {
    Glob(GlobMatcher),
    Prefix(String),
}

#[derive(Debug, thiserror::Error)]
#[error("case pattern {pattern:?}: {message}")]
pub struct PatternError {
    pub pattern: String,
    pub message: String,
}

impl IdPattern {
    pub fn parse(p: &str) -> Result<Self, PatternError> {
        if p.is_empty() {
            return Err(PatternError {
                pattern: p.into(),
                message: "empty pattern".into(),
            });
        }
        if p.contains(['*', '?', '[', '{']) {
            Glob::new(p)
                .map(|g| IdPattern::Glob(g.compile_matcher()))
                .map_err(|e| PatternError {
                    pattern: p.into(),
                    message: e.kind().to_string(),
                })
        } else {
            Ok(IdPattern::Prefix(p.to_owned()))
        }
    }

    pub fn matches(&self, id: &str) -> bool {
        match self {
            IdPattern::Glob(g) => g.is_match(id),
            IdPattern::Prefix(p) => {
                id == p || (id.starts_with(p.as_str()) && id.as_bytes().get(p.len()) == Some(&b'.'))
            }
        }
    }
}

/// Keeps the cases matching any include pattern (all when none) and no exclude pattern,
/// in their original order. An opt-in case (`opt_in = true`, the slow `deflate.volume`
/// family) needs an include pattern that matches it: a run without `--cases` stays fast.
pub fn select(cases: Vec<Case>, include: &[IdPattern], exclude: &[IdPattern]) -> Vec<Case> {
    cases
        .into_iter()
        .filter(|c| {
            let named = include.iter().any(|p| p.matches(&c.id));
            named || (include.is_empty() && !c.opt_in)
        })
        .filter(|c| !exclude.iter().any(|p| p.matches(&c.id)))
        .collect()
}

/// Like [`select`], but opt-in cases count like any other: for listing what exists.
pub fn select_listing(cases: Vec<Case>, include: &[IdPattern], exclude: &[IdPattern]) -> Vec<Case> {
    cases
        .into_iter()
        .filter(|c| include.is_empty() || include.iter().any(|p| p.matches(&c.id)))
        .filter(|c| !exclude.iter().any(|p| p.matches(&c.id)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_matches_whole_segments() {
        let p = IdPattern::parse("close").unwrap();
        assert!(p.matches("close"));
        assert!(p.matches("close.code.1000"));
        assert!(!p.matches("closed.x"));
    }

    #[test]
    fn glob_spans_dots() {
        let p = IdPattern::parse("framing.*.125").unwrap();
        assert!(p.matches("framing.text.125"));
        assert!(p.matches("framing.binary.x.125"));
        assert!(!p.matches("framing.text.126"));
    }

    #[test]
    fn bad_glob_is_an_error() {
        assert!(IdPattern::parse("a[").is_err());
        assert!(IdPattern::parse("").is_err());
    }
}
