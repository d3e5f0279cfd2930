//! The documentation is checked against the code: every TOML example in it loads, every
//! command-line flag it names exists, and the results schema it describes names every
//! field that a real run writes.
//!
//! Fenced blocks are tagged in the Markdown source:
//! - ```` ```toml ```` is a whole case file;
//! - ```` ```toml steps ```` is a list of steps, wrapped into a minimal case here;
//! - ```` ```toml ignore ```` (or `toml,ignore`) is deliberately partial and not loaded.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use wsspec::case::{load_sources, Case, ExpectKind, Send, Step};

fn read(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

struct Block {
    /// Line of the opening fence (1-based).
    line: usize,
    lang: String,
    flags: Vec<String>,
    text: String,
}

/// Fenced code blocks of a Markdown file.
fn blocks(md: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in md.lines().enumerate() {
        let trimmed = line.trim_start();
        match open.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let mut words = info
                        .split([' ', ',', '\t'])
                        .filter(|w| !w.is_empty())
                        .map(str::to_owned);
                    open = Some(Block {
                        line: i + 1,
                        lang: words.next().unwrap_or_default(),
                        flags: words.collect(),
                        text: String::new(),
                    });
                }
            }
            Some(mut b) => {
                if trimmed == "```" {
                    out.push(b);
                } else {
                    b.text.push_str(line);
                    b.text.push('\n');
                    open = Some(b);
                }
            }
        }
    }
    assert!(open.is_none(), "unclosed code block");
    out
}

/// Loads every `toml` block of `rel`; returns the cases and how many blocks were loaded.
fn load_examples(rel: &str) -> (Vec<Case>, usize) {
    let md = read(rel);
    let mut all = Vec::new();
    let mut loaded = 0;
    for b in blocks(&md).into_iter().filter(|b| b.lang == "toml") {
        if b.flags.iter().any(|f| f == "ignore") {
            continue;
        }
        let text = if b.flags.iter().any(|f| f == "steps") {
            format!(
                "[[case]]\n\
                 id = \"docs.example.line-{}\"\n\
                 title = \"example\"\n\
                 section = \"RFC 6455\"\n\
                 requirement = \"example\"\n\
                 level = \"MUST\"\n\
                 role = \"server\"\n\
                 steps = [\n{}]\n",
                b.line, b.text
            )
        } else {
            b.text.clone()
        };
        let name = format!("{rel} (block at line {})", b.line);
        match load_sources([(name.as_str(), text.as_str())]) {
            Ok(cases) => {
                assert!(!cases.is_empty(), "{name}: no cases in the example");
                all.extend(cases);
            }
            Err(e) => panic!("{name} is not a valid example: {e}\n{}", b.text),
        }
        loaded += 1;
    }
    (all, loaded)
}

#[test]
fn case_format_examples_load() {
    let (cases, blocks) = load_examples("cases/README.md");
    assert!(
        blocks >= 20,
        "only {blocks} examples found: is the extractor broken?"
    );

    // Every step kind has at least one example that loads.
    let mut seen = BTreeSet::new();
    fn expect_kind(k: &ExpectKind) -> &'static str {
        match k {
            ExpectKind::Handshake(_) => "expect handshake",
            ExpectKind::Message { .. } => "expect message",
            ExpectKind::Pong { .. } => "expect pong",
            ExpectKind::Ping => "expect ping",
            ExpectKind::Close { .. } => "expect close",
            ExpectKind::Fail { .. } => "expect fail",
            ExpectKind::TcpClosed => "expect tcp_closed",
            ExpectKind::Silence { .. } => "expect silence",
            ExpectKind::Any(_) => "expect any",
        }
    }
    for c in &cases {
        for s in &c.steps {
            if matches!(s, Step::Repeat { .. }) {
                seen.insert("repeat");
            }
            match s.runs().0 {
                Step::Send(send, w) => {
                    seen.insert(match send {
                        Send::Handshake(_) => "send handshake",
                        Send::Frame(_) => "send frame",
                        Send::Message(_) => "send message",
                        Send::Raw(_) => "send raw",
                        Send::Shutdown => "send shutdown",
                        Send::SecondStreamError => "send second_stream_error",
                    });
                    if w.chop.is_some() {
                        seen.insert("chop");
                    }
                    if w.pause_ms > 0 {
                        seen.insert("pause_ms");
                    }
                    if !w.flush {
                        seen.insert("flush = false");
                    }
                }
                Step::Wait { .. } => {
                    seen.insert("wait");
                }
                Step::Expect(e) => {
                    seen.insert(expect_kind(&e.kind));
                    if let ExpectKind::Any(alts) = &e.kind {
                        for a in alts {
                            seen.insert(expect_kind(&a.kind));
                        }
                    }
                }
                Step::Repeat { .. } => unreachable!("the loader does not nest repeats"),
            }
        }
        if !c.close {
            seen.insert("close = false");
        }
        if !c.pongs {
            seen.insert("pongs = false");
        }
    }
    for want in [
        "send handshake",
        "send frame",
        "send message",
        "send raw",
        "send shutdown",
        "send second_stream_error",
        "chop",
        "pause_ms",
        "flush = false",
        "wait",
        "expect handshake",
        "expect message",
        "expect pong",
        "expect ping",
        "expect close",
        "expect fail",
        "expect tcp_closed",
        "expect silence",
        "expect any",
        "close = false",
        "repeat",
        "pongs = false",
    ] {
        assert!(
            seen.contains(want),
            "cases/README.md has no example of {want}"
        );
    }
}

#[test]
fn other_docs_examples_load() {
    for rel in ["README.md", "docs/results-schema.md"] {
        load_examples(rel);
    }
}

#[test]
fn example_ids_do_not_clash_with_built_in_cases() {
    // The examples are meant to be copied; they must not collide with the built-in ids.
    let (cases, _) = load_examples("cases/README.md");
    let builtin: BTreeSet<String> = wsspec::case::builtin()
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    for c in cases {
        assert!(
            !builtin.contains(&c.id),
            "example id {} is a built-in id",
            c.id
        );
    }
}

fn wsspec(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .args(args)
        .output()
        .unwrap()
}

/// Every `--flag` the README files mention exists in `wsspec … --help`, or is cargo's (or
/// Chromium's).
#[test]
fn documented_flags_exist() {
    let mut help = String::new();
    for sub in [
        &["--help"][..],
        &["server", "--help"],
        &["demo", "--help"],
        &["list", "--help"],
        &["check", "--help"],
        &["client", "--help"],
        &["fuzz", "--help"],
        &["report", "--help"],
        &["baseline", "--help"],
    ] {
        let out = wsspec(sub);
        assert_eq!(out.status.code(), Some(0));
        help.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    let cargo_flags = [
        "--release",
        "--path",
        "--test",
        "--all-targets",
        "--check",
        "--lib",
        "--git",
        "--locked",
        "--no-run",
        // Chromium's, in the headless browser example of `client --browser`.
        "--headless",
        "--no-sandbox",
        "--user-data-dir",
    ];
    for rel in ["README.md", "cases/README.md"] {
        let text = read(rel);
        let mut flags = BTreeSet::new();
        for (i, _) in text.match_indices("--") {
            let rest = &text[i + 2..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                .collect();
            let before = text[..i].chars().last();
            if name.len() > 1 && before.is_none_or(|c| c.is_whitespace() || "`([".contains(c)) {
                flags.insert(format!("--{}", name.trim_end_matches('-')));
            }
        }
        for f in flags {
            if cargo_flags.contains(&f.as_str()) {
                continue;
            }
            assert!(
                help.contains(&format!("{f} ")) || help.contains(&format!("{f}\n")),
                "{rel} mentions {f}, which wsspec does not have"
            );
        }
    }
}

#[test]
fn documented_exit_codes() {
    // 2: usage error, unreachable peer, bad URL; 0: help.
    assert_eq!(wsspec(&["no-such-command"]).status.code(), Some(2));
    assert_eq!(wsspec(&["server"]).status.code(), Some(2));
    assert_eq!(
        wsspec(&["server", "http://127.0.0.1:1/"]).status.code(),
        Some(2)
    );
    let out = wsspec(&["server", "ws://127.0.0.1:1/", "--timeout", "500"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unreachable"));
    assert_eq!(wsspec(&["--help"]).status.code(), Some(0));
    assert_eq!(wsspec(&["check"]).status.code(), Some(0));
}

/// Collects every object key in a JSON value, and the values of `kind` fields.
fn keys(v: &serde_json::Value, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                out.insert(k.clone());
                if k == "kind" {
                    if let Some(s) = v.as_str() {
                        out.insert(s.to_owned());
                    }
                }
                keys(v, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The examples do what the text around them says against a correct server: none fails.
/// (Some are graded on purpose: an optional feature the reference lacks is
/// `unimplemented`, a SHOULD it does not meet is `non-strict`.)
#[test]
fn case_format_examples_run_against_the_reference_server() {
    let (cases, _) = load_examples("cases/README.md");
    let n = cases.len();
    let results = runtime().block_on(async {
        let server = wsspec::reference::ReferenceServer::start().await.unwrap();
        let cfg = wsspec::run::RunConfig {
            known_deviations: Some(wsspec::reference::IMPLEMENTATION.into()),
            ..Default::default()
        };
        wsspec::Suite::from_cases(cases)
            .test_server(&server.url(), &cfg)
            .await
            .unwrap()
    });
    assert_eq!(results.cases.len(), n);
    let failed: Vec<String> = results
        .cases
        .iter()
        .filter(|c| c.verdict == wsspec::case::Grade::Fail && c.deviation.is_none())
        .map(|c| format!("{} ({}): {:?}", c.id, c.origin, c.reasons))
        .collect();
    assert!(failed.is_empty(), "examples that fail: {failed:#?}");
    assert!(results.totals.pass >= n - 5, "{:?}", results.totals);
}

#[test]
fn results_schema_doc_names_every_field() {
    let doc = read("docs/results-schema.md");
    assert!(doc.contains(wsspec::results::SCHEMA));
    // The README's library example, against the embedded reference server.
    let results = runtime().block_on(async {
        let server = wsspec::reference::ReferenceServer::start().await.unwrap();
        let suite = wsspec::Suite::builtin()
            .unwrap()
            .select(&["control.ping.empty", "handshake.version.8"], &[])
            .unwrap();
        suite
            .test_server(&server.url(), &Default::default())
            .await
            .unwrap()
    });
    assert_eq!(results.totals.fail, 0);
    assert_eq!(results.cases.len(), 2);
    let mut found = BTreeSet::new();
    keys(&serde_json::to_value(&results).unwrap(), &mut found);
    // Violations are empty against a correct peer: add their fields from a value.
    let v = wsspec::judge::PeerViolation::new(wsspec::rules::Rule::MaskPresent, "d");
    keys(&serde_json::to_value(v).unwrap(), &mut found);
    // The TLS details appear only in a wss:// run: add their fields from a value.
    let tls = wsspec::results::TlsDetails {
        version: "TLSv1.3".into(),
        cipher_suite: "TLS13_AES_128_GCM_SHA256".into(),
        alpn: Some("http/1.1".into()),
        subject: "CN=a".into(),
        issuer: "CN=a".into(),
        trust: wsspec::results::TlsTrust::CaFile,
    };
    keys(&serde_json::json!({ "tls": tls }), &mut found);
    // Findings are empty against a correct peer too: take them from the JSON report of a
    // run where one case is made to fail.
    let mut failing = results.clone();
    failing.cases[0].verdict = wsspec::case::Grade::Fail;
    failing.cases[0].deviation = Some("d".into());
    let report: serde_json::Value =
        serde_json::from_slice(&wsspec::report::json::render(&failing, None)).unwrap();
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(1));
    keys(&report, &mut found);
    for want in [
        "bytes",
        "frame",
        "note",
        "close",
        "transcript",
        "violations",
        "findings",
        "conformance",
        "known_deviations",
        "example_observed",
    ] {
        assert!(found.contains(want), "the run did not produce {want:?}");
    }
    for k in &found {
        assert!(
            doc.contains(&format!("`{k}`")),
            "docs/results-schema.md does not document `{k}`"
        );
    }
    // Enumerated values.
    for v in [
        "pass",
        "non-strict",
        "informational",
        "unimplemented",
        "fail",
        "MUST",
        "SHOULD",
        "MAY",
        "INFO",
        "peer",
        "wsspec",
        "nobody",
        "in",
        "out",
    ] {
        assert!(
            doc.contains(&format!("`{v}`")),
            "docs/results-schema.md lacks `{v}`"
        );
    }
    for (name, value) in [
        ("CHUNK_KEEP", wsspec::transcript::CHUNK_KEEP),
        ("TOTAL_KEEP", wsspec::transcript::TOTAL_KEEP),
        ("ENTRIES_KEEP", wsspec::transcript::ENTRIES_KEEP),
    ] {
        assert!(
            doc.contains(&value.to_string()),
            "docs/results-schema.md does not state {name} = {value}"
        );
    }
}

/// The body of the README sample `name` (see scripts/docs-samples.sh).
fn sample(readme: &str, name: &str) -> String {
    let marker = format!("<!-- sample: {name} ");
    let at = readme
        .find(&marker)
        .unwrap_or_else(|| panic!("README.md has no sample {name:?}"));
    let rest = &readme[at..];
    let open = rest
        .find("```text\n")
        .expect("a text block after the marker")
        + 8;
    let close = rest[open..].find("\n```").expect("the block closes") + open;
    rest[open..close].to_owned()
}

/// The README's `wsspec demo` output comes from a real run (scripts/docs-samples.sh). It
/// must still describe today's suite: the areas and their sizes, the total, and as findings
/// exactly the cases whose files document a deviation of the reference server.
#[test]
fn readme_demo_sample_matches_the_suite() {
    use std::collections::BTreeMap;
    let readme = read("README.md");
    let text = sample(&readme, "demo");
    // What `demo` runs: the server cases a run selects without `--cases` (no opt-in family).
    let suite = wsspec::Suite::builtin()
        .unwrap()
        .for_role(wsspec::case::Role::Server)
        // demo runs over HTTP/1.1: the h2.* cases do not apply.
        .select(&[], &["h2"])
        .unwrap();
    let mut want: BTreeMap<String, usize> = BTreeMap::new();
    for c in suite.cases() {
        // The area is the id's first segment (cases/README.md).
        let area = c.id.split('.').next().unwrap().to_owned();
        *want.entry(area).or_default() += 1;
    }
    let mut got: BTreeMap<String, usize> = BTreeMap::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if let (Some(area), Some(n), Some(unit)) = (words.next(), words.next(), words.next()) {
            if (unit == "cases:" || unit == "case:") && !line.starts_with(' ') {
                got.insert(area.to_owned(), n.parse().unwrap());
            }
        }
    }
    assert_eq!(
        got, want,
        "README sample areas; rerun scripts/docs-samples.sh"
    );
    let total = format!("\n{} cases in ", suite.cases().len());
    assert!(
        text.contains(&total),
        "README sample total is not {}; rerun scripts/docs-samples.sh",
        suite.cases().len()
    );
    let mut listed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("cases:"))
        .flat_map(|ids| ids.split(','))
        .map(str::trim)
        .collect();
    listed.sort();
    let mut documented: Vec<&str> = suite
        .cases()
        .iter()
        .filter(|c| c.deviations.iter().any(|(a, _)| a == "tokio-tungstenite"))
        .map(|c| c.id.as_str())
        .collect();
    // tokio-tungstenite sends no keep-alive ping: an informational finding of its own.
    documented.push("heartbeat.idle.ping");
    documented.sort();
    assert_eq!(
        listed, documented,
        "README sample findings; rerun scripts/docs-samples.sh"
    );
    assert!(text.contains("wrote wsspec-report/index.html"));
}
