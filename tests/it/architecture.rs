//! The walls between wsspec's modules, held by a test: it reads `src/`, finds every
//! `crate::` path outside comments and string literals, and fails on one that crosses a wall.
//!
//! The walls are what lets a reader trust the tree: the protocol pieces can be reused (the
//! fuzz crate builds on them) and tested without sockets; the case model is data a tool can
//! load without running anything; reports are drawn from results alone, so they can be
//! re-rendered from a results.json; and only the command line reaches everything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The protocol pieces: RFC 6455 framing, the opening handshake, UTF-8, RFC 7692. They import
/// nothing above them, only each other, `text` and the catalogue of RFC rules (`rules`).
const PROTOCOL: &[&str] = &["codec", "handshake", "utf8", "deflate"];

/// What a module may import, for the modules held to a closed list.
fn allowed(module: &str) -> Option<Vec<&'static str>> {
    let protocol_and_text = || {
        let mut v = PROTOCOL.to_vec();
        v.push("text");
        v.push("rules");
        v
    };
    match module {
        // Leaves: everything may use them, they use nothing. `rules` is the catalogue of
        // RFC rules that every verdict cites, at the bottom so the protocol pieces can
        // name the rules their checks enforce.
        "text" | "time" | "rules" => Some(vec![]),
        m if PROTOCOL.contains(&m) => Some(protocol_and_text()),
        // The case model: a case file becomes a plan with protocol knowledge only, so tools
        // can load and list cases without the runner, the judge or the reports.
        "case" => {
            let mut v = protocol_and_text();
            v.push("time");
            Some(v)
        }
        _ => None,
    }
}

/// What a module must not import, for the modules held to a wall rather than a closed list.
fn forbidden(module: &str) -> &'static [&'static str] {
    match module {
        // Verdicts are decided from observations, whoever made them: no sockets, no reports.
        "judge" | "results" | "transcript" => &["run", "client_mode", "fuzz", "report", "cli"],
        // Reports are drawn from results alone (re-rendering a results.json needs no peer).
        "report" => &["run", "client_mode", "fuzz", "reference", "cli"],
        // Only the binary calls the command line; the library never depends on it.
        "cli" | "(main)" => &[],
        _ => &["cli"],
    }
}

/// Names in the socket APIs; `report` must use none of them.
const SOCKETS: &[&str] = &[
    "tokio::net",
    "std::net",
    "TcpStream",
    "TcpListener",
    "UdpSocket",
];

/// The source with comments and the contents of string and char literals blanked, so that
/// "crate::x" in a doc comment or a message is not taken for an import.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &src[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').map_or(b.len(), |n| i + n);
            i = end;
        } else if rest.starts_with("/*") {
            // Block comments nest in Rust.
            let mut depth = 0;
            while i < b.len() {
                if src[i..].starts_with("/*") {
                    depth += 1;
                    i += 2;
                } else if src[i..].starts_with("*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if let Some(hashes) = raw_string_start(rest) {
            let close = format!("\"{}", "#".repeat(hashes));
            let open_len = 2 + hashes + usize::from(rest.starts_with("br"));
            let body = &src[i + open_len..];
            i += open_len + body.find(&close).map_or(body.len(), |n| n + close.len());
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '"'), or else a lifetime, which stays.
            if b.get(i + 1) == Some(&b'\\') {
                let end = src[i + 2..].find('\'').map_or(b.len(), |n| i + 2 + n + 1);
                i = end;
                out.push_str("' '");
            } else if let Some(c) = src[i + 1..].chars().next() {
                if src[i + 1 + c.len_utf8()..].starts_with('\'') {
                    i += 2 + c.len_utf8();
                    out.push_str("' '");
                } else {
                    out.push('\'');
                    i += 1;
                }
            } else {
                i += 1;
            }
        } else {
            let c = rest.chars().next().expect("not at the end");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The number of `#` of a raw string literal starting here (r"..", r#".."#, br".."), if any.
fn raw_string_start(s: &str) -> Option<usize> {
    let s = s.strip_prefix('b').unwrap_or(s);
    let s = s.strip_prefix('r')?;
    let hashes = s.bytes().take_while(|&c| c == b'#').count();
    (s.as_bytes().get(hashes) == Some(&b'"')).then_some(hashes)
}

/// The top-level modules that `code` names through `crate::`, including every name of a
/// `crate::{a, b::c}` group.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut at = 0;
    while let Some(n) = code[at..].find("crate::") {
        let start = at + n;
        at = start + "crate::".len();
        // `wsspec_crate::` or `$crate::` are other things; `crate` must stand alone.
        let before = code[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[at..];
        if let Some(group) = rest.strip_prefix('{') {
            // Split the group at its own commas (not those of nested groups).
            let mut depth = 1;
            let mut items = vec![String::new()];
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => items.push(String::new()),
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                items.last_mut().expect("one item at least").push(c);
            }
            for item in items {
                let name =
                    leading_ident(item.trim_start_matches(|c: char| c == ',' || c.is_whitespace()));
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name = leading_ident(rest);
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    // Items of lib.rs itself (`crate::Suite`) are not modules.
    found.retain(|n| n.starts_with(|c: char| c.is_lowercase()));
    found
}

fn leading_ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Every file under `src/` with its top-level module: `src/run/reader.rs` is `run`,
/// `src/text.rs` is `text`, `src/lib.rs` is `(lib)`.
fn sources() -> Vec<(String, String, String)> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("src/ is readable") {
            let p = e.expect("a directory entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).expect("under src/");
            let first = rel.components().next().expect("a file name");
            let first = first.as_os_str().to_string_lossy();
            let module = match first.strip_suffix(".rs") {
                Some("lib") => "(lib)".to_owned(),
                Some("main") => "(main)".to_owned(),
                Some(m) => m.to_owned(),
                None => first.into_owned(),
            };
            let text = std::fs::read_to_string(&p).expect("a UTF-8 source file");
            (rel.display().to_string(), module, text)
        })
        .collect()
}

/// Who imports whom, as `(module, imported module) -> the files that do it`.
fn import_map() -> BTreeMap<(String, String), Vec<String>> {
    let mut map: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (file, module, text) in sources() {
        for target in crate_refs(&code_only(&text)) {
            if target != module {
                map.entry((module.clone(), target))
                    .or_default()
                    .push(file.clone());
            }
        }
    }
    map
}

#[test]
fn no_module_crosses_a_wall() {
    let mut breaches = Vec::new();
    for ((module, target), files) in import_map() {
        let bad = match allowed(&module) {
            Some(ok) => !ok.contains(&target.as_str()),
            None => forbidden(&module).contains(&target.as_str()),
        };
        if bad {
            breaches.push(format!("{module} imports {target} in {}", files.join(", ")));
        }
    }
    assert!(
        breaches.is_empty(),
        "imports across a wall (see the comments in tests/it/architecture.rs):\n  {}",
        breaches.join("\n  ")
    );
}

#[test]
fn report_uses_no_socket() {
    let mut found = Vec::new();
    for (file, module, text) in sources() {
        if module != "report" {
            continue;
        }
        let code = code_only(&text);
        for s in SOCKETS {
            if code.contains(s) {
                found.push(format!("{file}: {s}"));
            }
        }
    }
    assert!(found.is_empty(), "report touches sockets: {found:?}");
}

/// The walls test is only worth something if the scan sees the imports that do exist: a
/// scanner that found nothing would pass every wall.
#[test]
fn the_scan_sees_known_imports() {
    let map = import_map();
    for (from, to) in [
        ("run", "case"),
        ("run", "judge"),
        ("report", "results"),
        ("cli", "run"),
        ("cli", "client_mode"),
        ("client_mode", "run"),
        ("codec", "utf8"),
        ("codec", "rules"),
        ("deflate", "rules"),
        ("handshake", "rules"),
    ] {
        assert!(
            map.contains_key(&(from.to_owned(), to.to_owned())),
            "the scan did not see {from} importing {to}"
        );
    }
}

#[test]
fn comments_and_literals_are_not_code() {
    let src = r####"
        // use crate::report;
        /// See [`crate::run`].
        /* crate::fuzz /* nested crate::cli */ crate::client_mode */
        let s = "crate::reference";
        let r = r#"crate::judge "quoted" "#;
        let c = '"'; let l: &'static str = "x";
        use crate::codec::Frame;
    "####;
    let code = code_only(src);
    assert_eq!(
        crate_refs(&code),
        BTreeSet::from(["codec".to_owned()]),
        "{code}"
    );
}

#[test]
fn groups_and_paths_are_read() {
    let code = "use crate::{case::{self, Case}, judge, results::RunResults};\n\
                let x = crate::time::now(); let y = crate::Suite::builtin();\n\
                let z = wsspec_crate::ignored; macro_rules! m { () => { $crate::ignored } }";
    let want: BTreeSet<String> = ["case", "judge", "results", "time"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(crate_refs(code), want);
}
