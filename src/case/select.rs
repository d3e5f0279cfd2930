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

    /// The pattern's text before its first glob character (all of a plain pattern): the
    /// part that names cases outright.
    fn literal_head(&self) -> &str {
        match self {
            IdPattern::Glob(g) => {
                let text = g.glob().glob();
                &text[..text.find(['*', '?', '[', '{']).unwrap_or(text.len())]
            }
            IdPattern::Prefix(p) => p,
        }
    }

    /// Whether the pattern selects an opt-in case of `family`: it matches the id, and its
    /// literal head spells the family out (`deflate.volume`, `deflate.volume.json`,
    /// `deflate.volume.*`), so a parent area (`deflate`, `deflate.*`, `*`) does not.
    fn names(&self, id: &str, family: &str) -> bool {
        self.matches(id) && self.literal_head().starts_with(family)
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
/// family) needs an include pattern that names its family (see [`opt_in_family`]): a run
/// without `--cases` stays fast, and so does one that asks for a whole area (`--cases
/// deflate` is the 100-odd deflate cases, not 216 more of 1000 messages each).
pub fn select(cases: Vec<Case>, include: &[IdPattern], exclude: &[IdPattern]) -> Vec<Case> {
    let prefixes = default_prefixes(&cases);
    cases
        .into_iter()
        .filter(|c| {
            if c.opt_in {
                let family = opt_in_family(&c.id, &prefixes);
                include.iter().any(|p| p.names(&c.id, family))
            } else {
                include.is_empty() || include.iter().any(|p| p.matches(&c.id))
            }
        })
        .filter(|c| !exclude.iter().any(|p| p.matches(&c.id)))
        .collect()
}

/// Every dotted prefix of the ids of the cases that are not opt-in (`close`,
/// `close.code`, `close.code.1000`, ...).
fn default_prefixes(cases: &[Case]) -> std::collections::HashSet<String> {
    cases
        .iter()
        .filter(|c| !c.opt_in)
        .flat_map(|c| dotted_prefixes(&c.id).map(str::to_owned))
        .collect()
}

fn dotted_prefixes(id: &str) -> impl Iterator<Item = &str> {
    id.match_indices('.')
        .map(|(i, _)| &id[..i])
        .chain(std::iter::once(id))
}

/// The family of an opt-in case: the shortest dotted prefix of its id that no other case
/// shares (`deflate.volume` for `deflate.volume.json.16`, `deflate.client.volume` for the
/// client's, `heartbeat.keepalive` for `heartbeat.keepalive.unanswered`). Computed from
/// the ids, so a user's opt-in family needs no declaration.
fn opt_in_family<'a>(id: &'a str, default_prefixes: &std::collections::HashSet<String>) -> &'a str {
    dotted_prefixes(id)
        .find(|p| !default_prefixes.contains(*p))
        .unwrap_or(id)
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

    fn case(id: &str, opt_in: bool) -> Case {
        let mut c = crate::case::load_sources([(
            "t.toml",
            "[[case]]\nid = \"x\"\ntitle = \"t\"\nsection = \"RFC 6455 §5.5.2\"\nrequirement = \"r\"\nlevel = \"MUST\"\nrole = \"server\"\nsteps = [{ send = \"ping\", payload = \"p\" }, { expect = \"pong\", payload = \"p\" }]\n",
        )])
        .unwrap()
        .remove(0);
        c.id = id.into();
        c.opt_in = opt_in;
        c
    }

    fn selected(include: &[&str]) -> Vec<String> {
        let cases = vec![
            case("deflate.echo.text", false),
            case("deflate.client.echo", false),
            case("deflate.volume.json.16", true),
            case("deflate.volume.params.a.16", true),
            case("deflate.client.volume.json.16", true),
            case("heartbeat.idle.ping", false),
            case("heartbeat.keepalive.unanswered", true),
        ];
        let inc: Vec<IdPattern> = include
            .iter()
            .map(|p| IdPattern::parse(p).unwrap())
            .collect();
        select(cases, &inc, &[]).into_iter().map(|c| c.id).collect()
    }

    #[test]
    fn opt_in_cases_run_only_when_a_pattern_names_their_family() {
        let default = [
            "deflate.echo.text",
            "deflate.client.echo",
            "heartbeat.idle.ping",
        ];
        assert_eq!(selected(&[]), default);
        // A parent area, or a glob whose literal part stops above the family, leaves the
        // opt-in cases out.
        assert_eq!(
            selected(&["deflate"]),
            ["deflate.echo.text", "deflate.client.echo"]
        );
        assert_eq!(
            selected(&["deflate.*"]),
            ["deflate.echo.text", "deflate.client.echo"]
        );
        assert_eq!(selected(&["deflate.client"]), ["deflate.client.echo"]);
        assert_eq!(selected(&["*"]), default);
        assert_eq!(selected(&["heartbeat"]), ["heartbeat.idle.ping"]);
        // The family, a member, or a glob below the family's name selects them.
        assert_eq!(
            selected(&["deflate.volume"]),
            ["deflate.volume.json.16", "deflate.volume.params.a.16"]
        );
        assert_eq!(
            selected(&["deflate.volume*"]),
            selected(&["deflate.volume"])
        );
        assert_eq!(
            selected(&["deflate.volume.*.16"]),
            selected(&["deflate.volume"])
        );
        assert_eq!(
            selected(&["deflate.volume.params"]),
            ["deflate.volume.params.a.16"]
        );
        assert_eq!(
            selected(&["deflate.client.volume"]),
            ["deflate.client.volume.json.16"]
        );
        assert_eq!(
            selected(&["heartbeat.keepalive"]),
            ["heartbeat.keepalive.unanswered"]
        );
        // Naming the family does not drop what another pattern selects.
        assert_eq!(
            selected(&["heartbeat", "heartbeat.keepalive.unanswered"]),
            ["heartbeat.idle.ping", "heartbeat.keepalive.unanswered"]
        );
    }

    #[test]
    fn bad_glob_is_an_error() {
        assert!(IdPattern::parse("a[").is_err());
        assert!(IdPattern::parse("").is_err());
    }
}
