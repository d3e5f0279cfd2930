//! Every case's `requirement` is the RFC's own words, found in the section the case cites.
//!
//! Reports print the requirement next to the verdict, so a maintainer reads it as what the
//! RFC says. A paraphrase ("1004 MUST NOT be set", where the RFC says that only of 1005,
//! 1006 and 1015) makes a verdict look better founded than it is. The convention
//! (cases/README.md): the requirement quotes the RFC; wsspec's own context or
//! interpretation goes inside `[square brackets]`, and `...` marks words left out.
//!
//! The check: remove the bracketed parts, split what is left at the brackets and at `...`,
//! and find each piece verbatim in the cited section (or one of its subsections) of the
//! vendored text in docs/rfc/. Whitespace is collapsed on both sides and the page footers,
//! running headers and form feeds of the paginated RFCs are removed first, so a quote may
//! cross a line or page break. Nothing else is forgiven: quotes, `|name|` and `_name_`
//! must be as the RFC writes them.

use std::collections::BTreeMap;
use std::path::Path;

use wsspec::case::builtin;

/// One RFC's text as lines (pagination removed) and its numbered section headings.
struct Rfc {
    lines: Vec<String>,
    /// (section number such as "5.5.2", index of its heading line)
    headings: Vec<(String, usize)>,
}

/// A paginated RFC's page furniture: "Fette & Melnikov   Standards Track   [Page 12]",
/// "RFC 6455   The WebSocket Protocol   December 2011" and the form feed between them.
fn is_page_furniture(line: &str) -> bool {
    let t = line.trim_end();
    if t.trim() == "\u{c}" || t.is_empty() && line.contains('\u{c}') {
        return true;
    }
    if t.ends_with(']') && t.contains("[Page ") {
        return true;
    }
    let header = t.starts_with("RFC ")
        && t.len() > 60
        && t.rsplit(' ')
            .next()
            .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()));
    header
}

/// "5.5.2" from a heading line "5.5.2.  Ping" written at column 0 (the table of contents
/// is indented, so it is never taken for the section itself).
fn heading_number(line: &str) -> Option<String> {
    let first = line.split_whitespace().next()?;
    if line.starts_with(' ') || !first.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let number = first.trim_end_matches('.');
    let ok = number
        .split('.')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    // A heading has a title after the number.
    (ok && line.len() > first.len()).then(|| number.to_owned())
}

fn load_rfc(number: &str) -> Option<Rfc> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/rfc/rfc{number}.txt"));
    let text = std::fs::read_to_string(path).ok()?;
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !is_page_furniture(l))
        .map(|l| l.replace('\u{c}', ""))
        .collect();
    let headings = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| heading_number(l).map(|n| (n, i)))
        .collect();
    Some(Rfc { lines, headings })
}

/// Collapses whitespace, and joins a word broken after a hyphen at a line end
/// ("Sec-WebSocket-" / "Accept"); the same is done to the quote, so both compare alike.
fn normalise(s: &str) -> String {
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.replace("- ", "-")
}

impl Rfc {
    fn whole(&self) -> String {
        normalise(&self.lines.join("\n"))
    }

    /// The text of a section and its subsections, up to the next heading outside it.
    fn section(&self, number: &str) -> Option<String> {
        let (_, start) = self.headings.iter().rev().find(|(n, _)| n == number)?;
        let inside = format!("{number}.");
        let end = self
            .headings
            .iter()
            .find(|(n, i)| i > start && !n.starts_with(&inside))
            .map_or(self.lines.len(), |(_, i)| *i);
        Some(normalise(&self.lines[*start..end].join("\n")))
    }
}

/// "RFC 7692 §6.1, RFC 6455 §8.1" or "RFC 7692 §5, §7" as (rfc, section) pairs.
fn cited(section: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rfc: Option<String> = None;
    for part in section.split([',', ';']).map(str::trim) {
        let (head, number) = part
            .split_once('§')
            .ok_or_else(|| format!("cannot read the section {section:?}: no §"))?;
        let head = head.trim();
        if let Some(n) = head.strip_prefix("RFC ") {
            rfc = Some(n.trim().to_owned());
        } else if !head.is_empty() {
            return Err(format!("cannot read the section {section:?}"));
        }
        let rfc = rfc
            .clone()
            .ok_or_else(|| format!("{section:?} does not say which RFC"))?;
        out.push((rfc, number.trim().to_owned()));
    }
    Ok(out)
}

/// The RFC's words in a requirement: the text outside `[...]`, split at the brackets and at
/// ellipses, pieces without a letter or digit dropped.
fn quoted_pieces(requirement: &str) -> Result<Vec<String>, String> {
    let mut outside = String::new();
    let mut depth = 0;
    for c in requirement.chars() {
        match c {
            '[' => {
                depth += 1;
                outside.push('\u{0}');
            }
            ']' if depth == 0 => return Err("a ']' without its '['".into()),
            ']' => depth -= 1,
            _ if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    if depth != 0 {
        return Err("a '[' without its ']'".into());
    }
    let outside = outside.replace("...", "\u{0}").replace('…', "\u{0}");
    let pieces: Vec<String> = outside
        .split('\u{0}')
        .map(str::trim)
        .filter(|p| p.chars().any(char::is_alphanumeric))
        .map(str::to_owned)
        .collect();
    if pieces.is_empty() {
        return Err("nothing outside [brackets]: the requirement quotes no RFC text".into());
    }
    Ok(pieces)
}

struct Corpus {
    rfcs: BTreeMap<String, Option<Rfc>>,
}

impl Corpus {
    fn rfc(&mut self, number: &str) -> Option<&Rfc> {
        self.rfcs
            .entry(number.to_owned())
            .or_insert_with(|| load_rfc(number))
            .as_ref()
    }

    /// What is wrong with one (section, requirement), if anything.
    fn problems(&mut self, section: &str, requirement: &str) -> Vec<String> {
        let refs = match cited(section) {
            Ok(r) => r,
            Err(e) => return vec![e],
        };
        let pieces = match quoted_pieces(requirement) {
            Ok(p) => p,
            Err(e) => return vec![e],
        };
        let mut problems = Vec::new();
        let mut sections = Vec::new();
        let mut wholes = Vec::new();
        for (rfc, number) in &refs {
            let Some(text) = self.rfc(rfc) else {
                problems.push(format!("RFC {rfc} is not in docs/rfc/"));
                continue;
            };
            match text.section(number) {
                Some(s) => sections.push(s),
                None => problems.push(format!("RFC {rfc} has no section {number}")),
            }
            wholes.push(text.whole());
        }
        for piece in pieces {
            let p = normalise(&piece);
            if sections.iter().any(|s| s.contains(&p)) {
                continue;
            }
            if wholes.iter().any(|w| w.contains(&p)) {
                problems.push(format!("in the RFC, but not in {section}: {piece:?}"));
            } else {
                problems.push(format!("not the RFC's words: {piece:?}"));
            }
        }
        problems
    }
}

#[test]
fn every_requirement_quotes_the_cited_section() {
    let cases = builtin().expect("the built-in corpus loads");
    assert!(
        cases.len() > 500,
        "expected the whole corpus, got {}",
        cases.len()
    );
    let mut corpus = Corpus {
        rfcs: BTreeMap::new(),
    };
    // One check per distinct text; the ids that share it are listed together.
    let mut by_text: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for c in &cases {
        by_text
            .entry((c.section.clone(), c.requirement.clone()))
            .or_default()
            .push(c.id.clone());
    }
    let mut report = String::new();
    let mut bad_cases = 0;
    for ((section, requirement), ids) in &by_text {
        let problems = corpus.problems(section, requirement);
        if problems.is_empty() {
            continue;
        }
        bad_cases += ids.len();
        report.push_str(&format!(
            "\n{}\n  section: {section}\n  requirement: {requirement}\n",
            ids.join(", ")
        ));
        for p in problems {
            report.push_str(&format!("  - {p}\n"));
        }
    }
    assert!(
        report.is_empty(),
        "{bad_cases} cases quote text that is not in the section they cite \
         (wsspec's own words go in [brackets], left-out words are `...`):\n{report}"
    );
}

/// The checker itself: what it must accept and what it must refuse, on known RFC text.
#[test]
fn the_checker_accepts_quotes_and_refuses_paraphrases() {
    let mut corpus = Corpus {
        rfcs: BTreeMap::new(),
    };
    let ok = |c: &mut Corpus, section: &str, req: &str| {
        let p = c.problems(section, req);
        assert!(p.is_empty(), "{req:?} should pass: {p:?}");
    };
    let bad = |c: &mut Corpus, section: &str, req: &str, says: &str| {
        let p = c.problems(section, req);
        assert!(
            p.iter().any(|m| m.contains(says)),
            "{req:?} should be refused with {says:?}: {p:?}"
        );
    };
    // A sentence that crosses a line break, with context in brackets.
    ok(
        &mut corpus,
        "RFC 6455 §5.5.2",
        "[A server:] Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, unless it already received a Close frame.",
    );
    // A quote crossing a page break (RFC 6455 page 45 ends between 1003 and 1004), and
    // words left out with `...`.
    ok(
        &mut corpus,
        "RFC 6455 §7.4.1",
        "if it receives a binary message). 1004 Reserved. ... 1005 is a reserved value and MUST NOT be set",
    );
    // Two RFCs cited.
    ok(
        &mut corpus,
        "RFC 7692 §6.1, RFC 6455 §8.1",
        "that endpoint MUST _Fail the WebSocket Connection_",
    );
    // The 1004 paraphrase of issue 11 item 7.
    bad(
        &mut corpus,
        "RFC 6455 §7.4.1",
        "1004, 1005, 1006 and 1015 MUST NOT be set as a status code in a Close control frame by an endpoint.",
        "not the RFC's words",
    );
    // Right words, wrong section.
    bad(
        &mut corpus,
        "RFC 6455 §5.2",
        "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response",
        "not in RFC 6455 §5.2",
    );
    // A sentence cut short without `...` is not the RFC's sentence.
    bad(
        &mut corpus,
        "RFC 6455 §5.5.1",
        "Following the 2-byte integer, the body MAY contain UTF-8-encoded data with value /reason/.",
        "not the RFC's words",
    );
    bad(
        &mut corpus,
        "RFC 6455 §5.2",
        "[all ours]",
        "quotes no RFC text",
    );
    bad(
        &mut corpus,
        "RFC 6455 §5.2",
        "[unclosed MUST",
        "without its ']'",
    );
    bad(&mut corpus, "RFC 9999 §1", "text", "not in docs/rfc/");
    bad(&mut corpus, "RFC 6455 §99.1", "text", "no section 99.1");
    bad(&mut corpus, "§5.2", "text", "does not say which RFC");
}

/// The BCP 14 keywords that make a requirement absolute (RFC 2119 §1): only these, in
/// capitals, may fail a case. RFC 6455 §2 and RFC 7692 §2 both adopt RFC 2119, whose
/// keywords are the capitalised words: a lower-case "must" in RFC 7692's prose (§7.1, "the
/// server must not accept the offer ...") is not one.
fn has_absolute_keyword(quote: &str) -> bool {
    ["MUST", "REQUIRED", "SHALL"].iter().any(|k| {
        quote
            .split(|c: char| !c.is_ascii_alphabetic())
            .any(|w| w == *k)
    })
}

/// Why a `level = "MUST"` case may quote no capitalised MUST, REQUIRED or SHALL: it sends
/// input the RFC describes as valid and expects it processed (echoed, or the connection
/// opened). No keyword obliges an endpoint to accept valid input; what fails these cases is
/// the echo contract every case rests on (the peer under test echoes each message it
/// receives, cases/README.md), or a MUST the judge applies whatever the level (a broken
/// frame or response is a violation).
const VALID_INPUT: &str = "valid input, expected processed: the echo contract";

/// `level = "MUST"` cases (id prefixes; `a*b`: starts with `a`, then contains `b`) whose quote has no capitalised MUST, REQUIRED or
/// SHALL, each with the reason its level stands.
const MUST_WITHOUT_KEYWORD: &[(&str, &str)] = &[
    ("utf8.valid.", VALID_INPUT),
    ("utf8.text.", VALID_INPUT),
    ("utf8.kuhn.", VALID_INPUT),
    ("masking.client.key.", VALID_INPUT),
    ("deflate.echo.*.empty-", VALID_INPUT),
    ("deflate.rfc7692.", "the RFC's own examples of valid compressed frames: decoding them is §6.2's MUST, quoted by deflate.echo.*"),
    ("deflate.client.echo.", VALID_INPUT),
    ("deflate.mixed.", VALID_INPUT),
    ("deflate.text.compressed-bytes-are-not-utf8", VALID_INPUT),
    ("deflate.utf8.valid-after-inflation", VALID_INPUT),
    ("deflate.client.answer.", "a valid answer to the client's offer: the client must go on with the agreed parameters (§7.2.1's MUSTs apply to the frames that follow)"),
    ("handshake.client.", "a valid response (or a 200): the client must open the connection, or not; §4.1's MUST _Fail_ covers only invalid responses"),
    ("handshake.request.chopped", "a valid request in 7-byte pieces: TCP may cut it anywhere (RFC 6455 §5.4 lets intermediaries split); the server must answer it once complete"),
    ("control.client.pong.unsolicited", "the silence step is informational; what can fail is the echo of the message after the pong (the echo contract)"),
];

#[test]
fn every_must_case_quotes_an_absolute_requirement() {
    let cases = builtin().expect("the built-in corpus loads");
    let mut offenders = Vec::new();
    for c in &cases {
        if c.level != wsspec::case::Level::Must {
            continue;
        }
        let quoted = quoted_pieces(&c.requirement).unwrap_or_default().join(" ");
        if has_absolute_keyword(&quoted) {
            continue;
        }
        let listed = |pattern: &str| match pattern.split_once('*') {
            Some((head, tail)) => {
                c.id.strip_prefix(head)
                    .is_some_and(|rest| rest.contains(tail))
            }
            None => c.id.starts_with(pattern),
        };
        if MUST_WITHOUT_KEYWORD.iter().any(|(p, _)| listed(p)) {
            continue;
        }
        offenders.push(format!("{}: {}", c.id, c.requirement));
    }
    offenders.dedup();
    assert!(
        offenders.is_empty(),
        "{} MUST cases quote no MUST, REQUIRED or SHALL (outside [brackets]): quote the \
         sentence that makes the level, or lower the level (cases/README.md, the grading \
         rule):\n{}",
        offenders.len(),
        offenders.join("\n")
    );
}

#[test]
fn the_keyword_check_reads_capitals_and_whole_words() {
    assert!(has_absolute_keyword("the endpoint MUST NOT send"));
    assert!(has_absolute_keyword("is REQUIRED."));
    assert!(!has_absolute_keyword(
        "the server must not accept the offer"
    ));
    assert!(!has_absolute_keyword("MUSTARD"));
    assert!(!has_absolute_keyword(
        "A Pong frame MAY be sent unsolicited."
    ));
    // Brackets are wsspec's words, not the RFC's.
    let quoted = quoted_pieces("[A server MUST do this.] Unknown header fields are ignored")
        .unwrap()
        .join(" ");
    assert!(!has_absolute_keyword(&quoted));
}

/// The fuzzer's oracle cites, for a request a server accepted, the server's sentence
/// (RFC 6455 §4.2.1 or §4.2.2), and quotes it: `HandshakeRule::section` is the client's.
#[test]
fn the_fuzzers_refusal_requirements_quote_the_servers_sentence() {
    use wsspec::handshake::HandshakeRule;
    let mut corpus = Corpus {
        rfcs: BTreeMap::new(),
    };
    let mut quoted = 0;
    for &rule in HandshakeRule::ALL {
        let r = wsspec::fuzz::oracle::refusal_requirement(rule);
        if r.section != "RFC 6455 §4.2.1" && r.section != "RFC 6455 §4.2.2" {
            continue;
        }
        quoted += 1;
        let p = corpus.problems(&r.section, &r.text);
        assert!(p.is_empty(), "{rule:?}: {p:?}");
        assert!(has_absolute_keyword(&r.text), "{rule:?}");
    }
    let http = wsspec::fuzz::oracle::refusal_requirement(HandshakeRule::HttpVersion);
    assert_eq!(http.section, "RFC 6455 §4.2.1");
    assert_eq!(http.name, "http-version");
    assert!(http.text.contains("An HTTP/1.1 or higher GET request"));
    assert!(quoted >= 9, "{quoted}");
}

/// The catalogue of RFC rules (`wsspec::rules`) quotes each rule's sentence from the
/// section it cites, as the cases do: violations and handshake problems print that
/// sentence as the requirement.
#[test]
fn every_catalogue_rule_quotes_its_section() {
    use wsspec::rules::Rule;
    let mut corpus = Corpus {
        rfcs: BTreeMap::new(),
    };
    let mut bad = Vec::new();
    let mut checked = 0;
    for &rule in Rule::ALL {
        let spec = rule.spec();
        // RFC 9112 is not vendored in docs/rfc/ (one rule: duplicated Host fields).
        if spec.rfc == 9112 {
            continue;
        }
        // "RFC 6455 §4.1 (erratum 3150)": the erratum is a note, not a section.
        let section = spec.cite.split(" (").next().unwrap_or(spec.cite);
        for p in corpus.problems(section, spec.sentence) {
            bad.push(format!("{}: {p}", spec.id));
        }
        checked += 1;
    }
    assert!(checked > 50, "{checked}");
    assert!(bad.is_empty(), "catalogue sentences:\n{}", bad.join("\n"));
}
