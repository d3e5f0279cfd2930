//! The Autobahn|Testsuite mapping: every protocol case id of Autobahn (1.x to 10.x) has
//! exactly one wsspec case in each role, so a comparison with a project's Autobahn results
//! covers all of them; the `--format autobahn` export names only real Autobahn ids; the
//! slow compression volume family (12.x, 13.x) stays out of a default run.

use std::collections::BTreeMap;
use std::process::Command;

use wsspec::case::autobahn_ids::{all, is_case_id, is_core};
use wsspec::case::{builtin, select, Case, IdPattern, Role};
use wsspec::report::autobahn::{mapping, render};
use wsspec::results::CaseResult;

/// Case ids per Autobahn id for one role, counted straight from the case list.
fn by_id(cases: &[Case], role: Role) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in cases.iter().filter(|c| c.role.applies_to(role)) {
        if let Some(a) = &c.autobahn {
            m.entry(a.clone()).or_default().push(c.id.clone());
        }
    }
    m
}

#[test]
fn every_protocol_id_is_mapped_exactly_once_per_role() {
    let cases = builtin().expect("built-in cases load");
    let core: Vec<String> = all().into_iter().filter(|i| is_core(i)).collect();
    // Autobahn's categories 1-10 hold 16 + 11 + 7 + 10 + 20 + 145 + 37 + 54 + 1 ids.
    assert_eq!(core.len(), 301);
    for role in [Role::Server, Role::Client] {
        let m = by_id(&cases, role);
        let missing: Vec<&String> = core.iter().filter(|i| !m.contains_key(*i)).collect();
        assert!(missing.is_empty(), "{role:?}: unmapped {missing:?}");
        let twice: Vec<(&String, &Vec<String>)> = m.iter().filter(|(_, v)| v.len() > 1).collect();
        assert!(
            twice.is_empty(),
            "{role:?}: mapped more than once {twice:?}"
        );
        for id in m.keys() {
            assert!(is_case_id(id) && !id.contains('{'), "{role:?}: {id:?}");
        }
    }
    // The table `wsspec list --autobahn` prints agrees with the count above.
    for row in mapping(&cases) {
        if is_core(&row.autobahn) {
            assert_eq!(row.server.len(), 1, "server {}", row.autobahn);
            assert_eq!(row.client.len(), 1, "client {}", row.autobahn);
        }
    }
}

/// A case that says how it differs from Autobahn's names the Autobahn case it differs from
/// (the loader refuses a note without an id, so a note always lands in the table).
#[test]
fn notes_belong_to_mapped_cases() {
    let cases = builtin().expect("built-in cases load");
    let noted: Vec<&Case> = cases.iter().filter(|c| c.autobahn_note.is_some()).collect();
    assert!(noted.len() >= 10, "{} noted cases", noted.len());
    for c in noted {
        assert!(c.autobahn.is_some(), "{}", c.id);
    }
    let bad = "[[case]]\nid = \"x.y\"\ntitle = \"t\"\nsection = \"RFC 6455 §5.5.2\"\nrequirement = \"r\"\nlevel = \"MUST\"\nrole = \"server\"\nautobahn_note = \"differs\"\nsteps = [{ send = \"ping\" }, { expect = \"pong\" }]\n";
    let e = wsspec::case::load_sources([("bad.toml", bad)]).unwrap_err();
    assert!(e.to_string().contains("autobahn_note"), "{e}");
}

fn export_keys(cases: Vec<CaseResult>) -> Vec<String> {
    let mut r = wsspec::report::sample::synthetic(1, "agent", 1);
    r.cases = cases;
    let json: serde_json::Value = serde_json::from_slice(&render(&r)).expect("export is JSON");
    json["agent"]
        .as_object()
        .expect("one agent")
        .keys()
        .cloned()
        .collect()
}

#[test]
fn the_export_names_only_mapped_autobahn_ids() {
    let cases = builtin().expect("built-in cases load");
    for role in [Role::Server, Role::Client] {
        let results: Vec<CaseResult> = cases
            .iter()
            .filter(|c| c.role.applies_to(role))
            .map(CaseResult::unjudged)
            .collect();
        let keys = export_keys(results);
        let mapped = by_id(&cases, role);
        assert_eq!(keys.len(), 517, "{role:?}");
        for k in &keys {
            assert!(is_case_id(k) && mapped.contains_key(k), "{role:?}: {k:?}");
        }
    }
    // A results.json from elsewhere may carry anything in `autobahn`: never exported.
    let mut stray = CaseResult::unjudged(&cases[0]);
    let mut results = Vec::new();
    for a in ["{ab}", "1.1.99", "8.1", "", "1.1.1"] {
        stray.autobahn = Some(a.to_owned());
        results.push(stray.clone());
    }
    assert_eq!(export_keys(results), vec!["1.1.1".to_owned()]);
}

#[test]
fn the_volume_family_runs_only_when_named() {
    let cases = builtin().expect("built-in cases load");
    // The server family is `deflate.volume.*`, the client family `deflate.client.volume.*`
    // (the role segment names the peer under test).
    let volume = |sel: &[Case]| {
        sel.iter()
            .filter(|c| {
                c.id.starts_with("deflate.volume.") || c.id.starts_with("deflate.client.volume.")
            })
            .count()
    };
    let all_volume = volume(&cases);
    // 12.x and 13.x: (5 kinds of data + 7 parameter sets) x 18 sizes, in each role.
    assert_eq!(all_volume, 2 * 12 * 18);
    let default = select(cases.clone(), &[], &[]);
    assert_eq!(volume(&default), 0);
    // The only other opt-in case: the keep-alive timeout (its waits are --idle long).
    let keepalive = cases
        .iter()
        .filter(|c| c.id == "heartbeat.keepalive.unanswered");
    assert!(default.len() + all_volume + keepalive.count() == cases.len());
    let named = select(
        cases.clone(),
        &[
            IdPattern::parse("deflate.volume").unwrap(),
            IdPattern::parse("deflate.client.volume").unwrap(),
        ],
        &[],
    );
    assert_eq!(volume(&named), all_volume);
    assert_eq!(named.len(), all_volume);
    let server_only = select(
        cases.clone(),
        &[IdPattern::parse("deflate.volume").unwrap()],
        &[],
    );
    assert_eq!(server_only.len(), 12 * 18);
    let one_kind = select(
        cases,
        &[IdPattern::parse("deflate.volume.json").unwrap()],
        &[],
    );
    assert_eq!(one_kind.len(), 18);
}

#[test]
fn list_autobahn_prints_the_table_and_counts() {
    let out = Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .args(["list", "--autobahn"])
        .output()
        .expect("wsspec runs");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("1.x-10.x       301/301   301/301"), "{text}");
    assert!(text.contains("all            517/517   517/517"), "{text}");
    assert!(!text.contains("not mapped") && !text.contains("more than once"));
    let line = text
        .lines()
        .find(|l| l.starts_with("6.20.1 "))
        .expect("a row for 6.20.1");
    assert!(line.contains("utf8.kuhn.surrogate.1"), "{line}");
}
