//! Every report format parsed back, hostile peer strings kept inert, sizes bounded, and the
//! baseline logic.

use wsspec::case::Grade;
use wsspec::report::baseline::{self, Baseline, BaselineError, Status};
use wsspec::report::{self, html, json, junit, markdown, sample, Format, Formats};
use wsspec::results::{RunResults, Totals};

fn set(r: &mut RunResults, id: &str, g: Grade) {
    r.cases.iter_mut().find(|c| c.id == id).unwrap().verdict = g;
    r.totals = Totals::of(&r.cases);
}

fn id_with(r: &RunResults, g: Grade, nth: usize) -> String {
    r.cases
        .iter()
        .filter(|c| c.verdict == g)
        .nth(nth)
        .unwrap()
        .id
        .clone()
}

const MB: usize = 1 << 20;

#[test]
fn html_names_every_case_and_is_self_contained() {
    let r = sample::synthetic(120, "agent-x", 1);
    let page = html::render(&r, None);
    for c in &r.cases {
        assert!(page.contains(&format!("id=\"case-{}\"", c.id)), "{}", c.id);
    }
    assert!(page.starts_with("<!DOCTYPE html>"));
    for area in ["framing", "control", "handshake"] {
        assert!(page.contains(&format!("id=\"area-{area}\"")));
    }
    // No fetches: no external scripts, stylesheets, images or fonts.
    for bad in [
        "<script src",
        "<link",
        "<img",
        "@import",
        "url(",
        "http://",
        "https://",
    ] {
        assert!(!page.contains(bad), "page contains {bad:?}");
    }
    assert!(page.contains("Content-Security-Policy"));
    // Transcripts start collapsed; failures start open, passes closed.
    assert!(!page.contains("class=\"wire\" open"));
    let fail = id_with(&r, Grade::Fail, 0);
    let pass = id_with(&r, Grade::Pass, 0);
    let tag = |id: &str| {
        let at = page.find(&format!("id=\"case-{id}\"")).unwrap();
        page[at..at + page[at..].find('>').unwrap()].to_owned()
    };
    assert!(tag(&fail).ends_with(" open"), "{}", tag(&fail));
    assert!(!tag(&pass).ends_with(" open"), "{}", tag(&pass));
    // Hex rows of 16 bytes, both directions, decoded frames, timestamps.
    assert!(
        page.contains("0000  47 45 54 20 2f 63 61 73  65 2f"),
        "hex dump"
    );
    assert!(page.contains("TEXT fin=1 rsv=000 masked len="));
    assert!(page.contains("CLOSE fin=1 rsv=000 unmasked len=2  code 1000"));
    assert!(page.contains("<td class=\"d\">→</td>") && page.contains("<td class=\"d\">←</td>"));
    assert!(page.contains("0.050 ms"));
    // Requirement, expected and observed.
    assert!(page.contains("RFC 6455 §5.6"));
    assert!(page.contains("a text message of 125 bytes equal to what was sent"));
    assert!(page.contains("close 1002 &quot;protocol error&quot;"));
    // The headline is the conformance summary, and one link shows only the problems.
    assert!(page.contains("<h2>Conformance</h2>"));
    let problems = r.cases.iter().filter(|c| c.verdict != Grade::Pass).count();
    assert!(
        page.contains(&format!("Show only the {problems} cases that did not pass")),
        "problems link"
    );
    assert!(page.contains("id=\"problems-toggle\""));
    assert!(page.contains("none (plain ws://)"));
}

#[test]
fn html_marks_truncated_transcripts() {
    let mut r = sample::synthetic(3, "a", 1);
    let t = &mut r.cases[0].transcript;
    t.entries.push(wsspec::transcript::Entry::Bytes {
        t_us: 1,
        dir: wsspec::transcript::Direction::In,
        len: 1 << 20,
        hex: "61".repeat(2048),
        truncated: true,
    });
    t.dropped_entries = 5;
    t.dropped_bytes = 12345;
    let page = html::render(&r, None);
    assert!(page.contains("the transcript kept 2048 of 1048576 bytes on the wire"));
    assert!(page.contains("5 entries and 12345 bytes were not recorded"));
}

fn assert_html_inert(page: &str) {
    assert_eq!(
        page.matches("<script").count(),
        1,
        "only wsspec's own script"
    );
    for bad in [
        "<script>alert",
        "</textarea>",
        "<img",
        "<b>bold</b>",
        "\"'&",
        "\0",
        "\x1b",
        "]]>",
        "--><!--",
        "\u{fffe}",
    ] {
        assert!(!page.contains(bad), "HTML contains raw {bad:?}");
    }
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("\\u{0}") && page.contains("\\u{1b}"));
}

#[test]
fn hostile_strings_are_inert_in_every_format() {
    let r = sample::hostile(40);
    let page = html::render(&r, None);
    assert_html_inert(&page);
    assert!(page.len() < 20 * MB, "html {} bytes", page.len());

    let cmp = html::render_comparison(&[r.clone(), sample::synthetic(40, "ok", 2)]);
    assert_html_inert(&cmp);

    let xml = junit::render(&r, None);
    assert!(xml.len() < 20 * MB, "junit {} bytes", xml.len());
    let doc = roxmltree::Document::parse(&xml).expect("junit.xml parses");
    for c in xml.chars() {
        let ok = matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..);
        assert!(ok, "invalid XML 1.0 char {c:?}");
    }
    assert!(!xml.contains('\x1b') && !xml.contains("<script"));
    let failures: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert!(!failures.is_empty());
    assert!(failures[0]
        .attribute("message")
        .unwrap()
        .contains("<script>alert(1)</script>"));

    let md = markdown::render(&r, None);
    assert!(md.len() < MB, "markdown {} bytes", md.len());
    assert!(!md.contains("<script") && !md.contains('\0') && !md.contains('\x1b'));
    // Only the cell separators are pipes: every row of a table has as many as its header.
    let mut header_pipes = 0;
    let mut rows = 0;
    for line in md.lines() {
        if !line.starts_with("| ") {
            header_pipes = 0;
            continue;
        }
        if header_pipes == 0 {
            header_pipes = line.matches('|').count();
            continue;
        }
        rows += 1;
        assert_eq!(line.matches('|').count(), header_pipes, "{line}");
        assert_eq!(
            line.matches('`').count(),
            line.matches("\\`").count(),
            "{line}"
        );
    }
    assert!(md.contains("### Findings ("), "{md}");
    assert!(rows > 0);

    let back = json::parse(&json::render(&r, None)).expect("results.json parses back");
    assert_eq!(back.cases.len(), r.cases.len());
    assert_eq!(back.cases[0].reasons, r.cases[0].reasons);
}

#[test]
fn junit_shape() {
    let mut r = sample::synthetic(80, "agent", 3);
    let unimpl = id_with(&r, Grade::Unimplemented, 0);
    let ns = id_with(&r, Grade::NonStrict, 0);
    r.cases.iter_mut().find(|c| c.id == ns).unwrap().reasons = vec!["a SHOULD was missed".into()];
    let xml = junit::render(&r, None);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suites: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 8, "one testsuite per area");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), r.cases.len());
    for (tc, c) in cases.iter().zip(
        wsspec::report::view::group(&r.cases)
            .into_iter()
            .flat_map(|(_, v)| v),
    ) {
        assert_eq!(tc.attribute("name"), Some(c.id.as_str()));
        assert_eq!(tc.attribute("classname"), Some(c.area.as_str()));
        let t: f64 = tc.attribute("time").unwrap().parse().unwrap();
        assert!(
            (t - c.duration_ms / 1000.0).abs() < 0.001,
            "time in seconds"
        );
        let failure = tc.children().find(|n| n.has_tag_name("failure"));
        assert_eq!(failure.is_some(), c.verdict == Grade::Fail, "{}", c.id);
        if let Some(f) = failure {
            // The finding first, so CI lists show the cause; then the case's own reason.
            let message = f.attribute("message").unwrap();
            assert!(message.starts_with("[finding 1: MUST RFC 6455 §5.6: expected a text message of N bytes equal to what was sent; observed close 1002 \"…\"] "), "{message}");
            assert!(message.ends_with(c.reasons[0].as_str()), "{message}");
            let text = f.text().unwrap();
            assert!(
                text.contains("expected a text message of 125 bytes"),
                "{text}"
            );
            assert!(text.contains("observed close 1002"), "{text}");
        }
    }
    let find = |id: &str| {
        *cases
            .iter()
            .find(|n| n.attribute("name") == Some(id))
            .unwrap()
    };
    assert!(find(&unimpl).children().any(|n| n.has_tag_name("skipped")));
    let ns_node = find(&ns);
    assert!(!ns_node
        .children()
        .any(|n| n.has_tag_name("failure") || n.has_tag_name("skipped")));
    let out = ns_node
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .unwrap();
    assert!(out
        .text()
        .unwrap()
        .contains("non-strict: a SHOULD was missed"));
    assert!(ns_node
        .descendants()
        .any(|p| p.attribute("name") == Some("verdict")
            && p.attribute("value") == Some("non-strict")));
}

#[test]
fn markdown_is_bounded_with_many_failures() {
    let mut r = sample::synthetic(1000, "many", 1);
    for c in &mut r.cases {
        c.verdict = Grade::Fail;
        c.reasons = vec![format!("{} {}", "x".repeat(5000), c.id)];
    }
    r.totals = Totals::of(&r.cases);
    let md = markdown::render(&r, None);
    assert!(md.len() < 200 * 1024, "{} bytes", md.len());
    // Findings are listed up to the list bound, the rest counted.
    let rows = md
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("MUST"))
        .count();
    assert!((1..=markdown::LIST_MAX).contains(&rows), "{rows}");
    assert!(md.contains("## ❌ wsspec: many — 1000 failed, 0 passed of 1000 cases"));
    assert!(
        md.contains("| framing | 125 | 0 | 0 | 0 | 0 | 125 | 0.0% |"),
        "{md}"
    );
}

#[test]
fn every_format_stays_small_for_1000_cases() {
    let r = sample::synthetic(1000, "big", 1);
    for f in Format::ALL {
        let n = f.render(&r, None).len();
        assert!(n < 20 * MB, "{f:?}: {n} bytes");
    }
}

// ---- baselines --------------------------------------------------------------------------

fn known(r: &RunResults) -> Vec<String> {
    r.cases.iter().map(|c| c.id.clone()).collect()
}

#[test]
fn baseline_regression_fix_known_failure_new_case() {
    let before = sample::synthetic(40, "a", 1);
    let b = Baseline::from_results(&before);
    assert_eq!(b.schema, baseline::SCHEMA);
    let mut now = before.clone();
    let pass = id_with(&before, Grade::Pass, 0);
    let ns = id_with(&before, Grade::NonStrict, 0);
    let fail = id_with(&before, Grade::Fail, 0);
    let still = id_with(&before, Grade::Fail, 1);
    let pass2 = id_with(&before, Grade::Pass, 1);
    set(&mut now, &pass, Grade::Fail);
    set(&mut now, &ns, Grade::Fail);
    set(&mut now, &fail, Grade::Pass);
    set(&mut now, &pass2, Grade::Informational);
    let mut extra = now.cases[0].clone();
    extra.id = "framing.brand.new".into();
    extra.verdict = Grade::Pass;
    now.cases.push(extra);

    let c = baseline::compare(&b, &now);
    let ids = |v: &[baseline::Change]| v.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    let mut want = vec![pass.clone(), ns.clone()];
    want.sort_by_key(|id| now.cases.iter().position(|c| &c.id == id));
    assert_eq!(ids(&c.regressions), want);
    assert_eq!(ids(&c.fixes), vec![fail.clone()]);
    assert!(ids(&c.known_failures).contains(&still));
    assert_eq!(ids(&c.new_cases), vec!["framing.brand.new".to_owned()]);
    assert_eq!(ids(&c.changed), vec![pass2.clone()]);
    assert_eq!(c.get(&pass).unwrap().status, Status::Regression);
    assert_eq!(c.get(&pass).unwrap().was, Some(Grade::Pass));
    assert!(c.failed());
    assert_eq!(c.exit_code(), 1);

    // Unchanged run: known failures alone keep CI green.
    let same = baseline::compare(&b, &before);
    assert!(same.regressions.is_empty() && same.fixes.is_empty() && same.new_cases.is_empty());
    assert_eq!(same.known_failures.len(), before.totals.fail);
    assert!(!same.failed());
    assert_eq!(same.exit_code(), 0);

    // A failing case the baseline does not know fails the run.
    let mut newfail = before.clone();
    let mut extra = newfail.cases[0].clone();
    extra.id = "framing.brand.new".into();
    extra.verdict = Grade::Fail;
    newfail.cases.push(extra);
    let nf = baseline::compare(&b, &newfail);
    assert!(nf.regressions.is_empty());
    assert_eq!(nf.new_failures().count(), 1);
    assert_eq!(nf.exit_code(), 1);

    // Cases of the baseline that did not run are listed, not failed.
    let mut fewer = before.clone();
    fewer.cases.retain(|c| c.id != pass);
    let f = baseline::compare(&b, &fewer);
    assert_eq!(f.not_run, vec![pass.clone()]);
    assert!(!f.failed());
}

#[test]
fn baseline_file_round_trip_and_errors() {
    let r = sample::synthetic(20, "a", 1);
    let dir = tempdir();
    let path = dir.join("baseline.json");
    Baseline::from_results(&r).write(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"schema\": \"wsspec.baseline/1\""));
    let loaded = baseline::load(&path, known(&r)).unwrap();
    assert_eq!(loaded, Baseline::from_results(&r));

    // Unknown ids are an error naming them.
    let mut fewer = known(&r);
    fewer.retain(|id| id != &r.cases[3].id && id != &r.cases[7].id);
    match baseline::load(&path, &fewer) {
        Err(e @ BaselineError::UnknownIds { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&r.cases[3].id) && msg.contains(&r.cases[7].id),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
    let p2 = dir.join("other.json");
    std::fs::write(&p2, r#"{"schema":"wsspec.baseline/9","cases":{}}"#).unwrap();
    assert!(matches!(
        baseline::load(&p2, known(&r)),
        Err(BaselineError::Schema { .. })
    ));
    std::fs::write(
        &p2,
        r#"{"schema":"wsspec.baseline/1","cases":{"x":"maybe"}}"#,
    )
    .unwrap();
    assert!(matches!(
        baseline::load(&p2, ["x"]),
        Err(BaselineError::Parse { .. })
    ));
    std::fs::write(&p2, "not json").unwrap();
    assert!(matches!(
        baseline::load(&p2, known(&r)),
        Err(BaselineError::Parse { .. })
    ));
    assert!(matches!(
        baseline::load(&dir.join("missing.json"), known(&r)),
        Err(BaselineError::Io { .. })
    ));
}

#[test]
fn every_format_shows_the_comparison() {
    let before = sample::synthetic(40, "a", 1);
    let b = Baseline::from_results(&before);
    let mut now = before.clone();
    let reg = id_with(&before, Grade::Pass, 0);
    let fixed = id_with(&before, Grade::Fail, 0);
    let known_fail = id_with(&before, Grade::Fail, 1);
    set(&mut now, &reg, Grade::Fail);
    now.cases.iter_mut().find(|c| c.id == reg).unwrap().reasons = vec!["it broke".into()];
    set(&mut now, &fixed, Grade::Pass);
    let cmp = baseline::compare(&b, &now);

    let page = html::render(&now, Some(&cmp));
    assert!(page.contains("id=\"baseline\""));
    assert!(
        page.contains("<h3>Regressions (1)</h3>")
            && page.contains("<h3>Fixed (1)</h3>")
            && page.contains("<h3>Known failures (")
    );
    assert!(page.contains(&format!("href=\"#case-{reg}\"")));
    assert!(page.contains("<span class=\"mark regression\">regression</span>"));
    assert!(page.contains("<span class=\"mark known-failure\">known failure</span>"));

    let xml = junit::render(&now, Some(&cmp));
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let tc = |id: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(id))
            .unwrap()
    };
    let f = tc(&reg)
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(f.attribute("type"), Some("regression"));
    // A verdict with no evidence but its reason is a finding of that reason.
    let message = f.attribute("message").unwrap();
    assert!(message.starts_with("[finding "), "{message}");
    assert!(message.ends_with(": it broke] it broke"), "{message}");
    let k = tc(&known_fail)
        .children()
        .find(|n| n.has_tag_name("skipped"))
        .unwrap();
    assert_eq!(k.attribute("type"), Some("known-failure"));
    assert!(!tc(&fixed)
        .children()
        .any(|n| n.has_tag_name("failure") || n.has_tag_name("skipped")));
    let failures = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!(failures, 1, "only the regression fails CI");

    let md = markdown::render(&now, Some(&cmp));
    assert!(md.starts_with("## ❌"));
    assert!(
        md.contains("#### Regressions (1)")
            && md.contains("#### Fixed (1)")
            && md.contains("#### Known failures (")
    );
    assert!(md.contains(&format!(
        "| {} | pass | fail | it broke |",
        markdown::escape(&reg, 200)
    )));
    let js: serde_json::Value = serde_json::from_slice(&json::render(&now, Some(&cmp))).unwrap();
    assert_eq!(js["baseline"]["regressions"][0]["id"], reg.as_str());
    assert_eq!(js["baseline"]["regressions"][0]["was"], "pass");
    assert_eq!(js["baseline"]["fixes"][0]["id"], fixed.as_str());
    assert!(js["baseline"]["known_failures"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == known_fail.as_str()));
    // Still readable as plain results.
    assert_eq!(
        json::parse(&json::render(&now, Some(&cmp)))
            .unwrap()
            .cases
            .len(),
        now.cases.len()
    );

    let unchanged = baseline::compare(&b, &before);
    assert!(markdown::render(&before, Some(&unchanged)).starts_with("## ✅"));
}

// ---- files and the comparison grid ------------------------------------------------------

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "wsspec-reports-{}-{:x}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
}

#[test]
fn write_reports_writes_each_format_and_parses_back() {
    let r = sample::synthetic(30, "files", 1);
    let dir = tempdir().join("out");
    let formats: Formats = "html,json,junit,md".parse().unwrap();
    let written = report::write_reports(&dir, &r, &formats.0, None).unwrap();
    assert_eq!(written.len(), 4);
    let bytes = std::fs::read(dir.join("results.json")).unwrap();
    let back = json::parse(&bytes).unwrap();
    assert_eq!(back.cases.len(), r.cases.len());
    assert_eq!(back.totals, r.totals);
    assert!(
        json::render(&back, None) == bytes,
        "results.json round-trips"
    );
    roxmltree::Document::parse(&std::fs::read_to_string(dir.join("junit.xml")).unwrap()).unwrap();
    assert!(std::fs::read_to_string(dir.join("index.html"))
        .unwrap()
        .contains(&r.cases[5].id));
    assert!(std::fs::read_to_string(dir.join("summary.md"))
        .unwrap()
        .contains("### Areas"));
    // Only what was asked for.
    let dir2 = tempdir().join("only");
    report::write_reports(&dir2, &r, &[Format::Junit], None).unwrap();
    let names: Vec<_> = std::fs::read_dir(&dir2)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("junit.xml")]);
}

#[test]
fn comparison_grid_links_each_cell_to_its_detail() {
    let mut runs: Vec<RunResults> = (0..3)
        .map(|i| sample::synthetic(60, &format!("agent-{i}"), i))
        .collect();
    runs[2].cases.truncate(50); // a run that lacks some cases
    let mut extra = runs[1].cases[0].clone();
    extra.id = "zzz.only.in.one".into();
    extra.area = "zzz".into();
    runs[1].cases.push(extra);
    let page = report::render_comparison(&runs);
    for r in &runs {
        for c in &r.cases {
            assert!(
                page.contains(&format!("<td class=\"caseid\">{}</td>", c.id)),
                "{}",
                c.id
            );
        }
    }
    // Every link has its target.
    let mut links = 0;
    for part in page.split("href=\"#").skip(1) {
        let target = &part[..part.find('"').unwrap()];
        assert!(
            page.contains(&format!("id=\"{target}\"")),
            "dangling link #{target}"
        );
        links += 1;
    }
    let non_pass: usize = runs
        .iter()
        .map(|r| r.cases.iter().filter(|c| c.verdict != Grade::Pass).count())
        .sum();
    assert!(
        links == non_pass + runs.len(),
        "{links} links, {non_pass} non-passing cells"
    );
    let missing = page.matches("class=\"cell v-missing\"").count();
    assert!(missing == 10 + 2, "{missing} missing cells shown");
    let dir = tempdir();
    report::write_comparison(&dir, &runs).unwrap();
    assert!(dir.join("index.html").exists());
}

#[test]
fn comparison_grid_marks_the_rows_that_differ() {
    let a = sample::synthetic(30, "a", 1);
    let mut b = a.clone();
    b.agent = "b".into();
    // Two cases change verdict in the second run; every other row is the same.
    let changed = [b.cases[3].id.clone(), b.cases[7].id.clone()];
    for id in &changed {
        let now = if a.cases.iter().find(|c| &c.id == id).unwrap().verdict == Grade::Pass {
            Grade::Fail
        } else {
            Grade::Pass
        };
        set(&mut b, id, now);
    }
    let page = report::render_comparison(&[a, b]);
    assert_eq!(page.matches("<tr class=\"differs\">").count(), 2);
    assert_eq!(page.matches("<tr class=\"same\">").count(), 28);
    for id in &changed {
        assert!(
            page.contains(&format!(
                "<tr class=\"differs\"><td class=\"caseid\">{id}</td>"
            )),
            "{id}"
        );
    }
    assert!(page.contains("id=\"differences-only\""));
    assert!(page.contains("(2 of 30 cases differ between the agents)"));
}

/// The synthetic run fails, softens, skips and informs one way each (expected a 125-byte
/// echo, observed close 1002), so its non-passing cases make one finding per class.
#[test]
fn findings_group_the_synthetic_run_in_every_format() {
    let r = sample::synthetic(80, "agent", 3);
    let with = |g: Grade| -> Vec<String> {
        r.cases
            .iter()
            .filter(|c| c.verdict == g)
            .map(|c| c.id.clone())
            .collect()
    };
    let (fail, ns, unimpl, info) = (
        with(Grade::Fail),
        with(Grade::NonStrict),
        with(Grade::Unimplemented),
        with(Grade::Informational),
    );
    assert!(!fail.is_empty() && !ns.is_empty() && !unimpl.is_empty() && !info.is_empty());
    let f = wsspec::report::findings::group(&r.cases);
    let got: Vec<(&str, &Vec<String>)> = f.iter().map(|f| (f.class.as_str(), &f.cases)).collect();
    assert_eq!(
        got,
        vec![
            ("must", &fail),
            ("should", &ns),
            ("unimplemented", &unimpl),
            ("informational", &info)
        ]
    );
    assert!(
        f.iter().all(|f| f.behaviour == "close 1002 \"…\""),
        "{f:#?}"
    );
    let headline = format!(
        "1 MUST finding ({} cases), 1 SHOULD finding ({} cases), 0 limits, 1 unimplemented feature, 1 informational",
        fail.len(),
        ns.len()
    );

    let text = wsspec::report::terminal::render(
        &r,
        &wsspec::report::terminal::Style {
            color: false,
            verbose: false,
        },
    );
    assert!(text.contains(&format!("Conformance: {headline}")), "{text}");
    assert!(text.contains("    1. MUST    RFC 6455 §5.6 · "), "{text}");

    let md = markdown::render(&r, None);
    assert!(md.contains(&format!("**Conformance:** {headline}")), "{md}");
    assert!(md.contains("| 1 | MUST | RFC 6455 §5.6: "), "{md}");

    let page = html::render(&r, None);
    assert!(page.contains(&headline), "html headline");
    // The headline's tiles: causes and cases per class.
    assert!(
        page.contains(&format!(
            "data-class=\"must\" href=\"#findings\"><b>1</b> MUST findings<span class=\"cases\">{} cases</span>",
            fail.len()
        )),
        "must tile"
    );
    assert!(page.contains("id=\"finding-1\""));
    assert!(page.contains(&format!("href=\"#case-{}\"", fail[0])));

    let v: serde_json::Value = serde_json::from_slice(&json::render(&r, None)).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 4);
    assert_eq!(v["findings"][0]["class"], "must");
    assert_eq!(v["findings"][0]["count"], fail.len());
    assert_eq!(v["conformance"]["should"]["cases"], ns.len());
    // Still the same schema, and still readable.
    assert_eq!(v["schema"], "wsspec.results/1");
    json::parse(&json::render(&r, None)).expect("parses back");
}
