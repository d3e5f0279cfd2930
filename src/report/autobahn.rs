//! `index.json` in the Autobahn testsuite's shape, so scripts written for Autobahn's
//! reports read wsspec's unchanged:
//! `{agent: {case_id: {behavior, behaviorClose, duration, remoteCloseCode}}}`, keyed by the
//! Autobahn case id of every wsspec case that maps to one.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::case::autobahn_ids;
use crate::case::{Case, Grade, Role};
use crate::results::{CaseResult, RunResults};

#[derive(Debug, Serialize, PartialEq)]
pub struct Entry {
    pub behavior: &'static str,
    #[serde(rename = "behaviorClose")]
    pub behavior_close: &'static str,
    /// Milliseconds, as Autobahn writes it.
    pub duration: u64,
    #[serde(rename = "remoteCloseCode")]
    pub remote_close_code: Option<u16>,
}

/// Autobahn's name for a verdict: the one table, for `index.json` and for client mode's
/// `/getCaseStatus` answers.
pub fn behavior(g: Grade) -> &'static str {
    match g {
        Grade::Pass => "OK",
        Grade::NonStrict => "NON-STRICT",
        Grade::Informational => "INFORMATIONAL",
        Grade::Unimplemented => "UNIMPLEMENTED",
        Grade::Fail => "FAILED",
        Grade::Error => "FAILED",
    }
}

fn entry(c: &CaseResult) -> Entry {
    Entry {
        behavior: behavior(c.verdict),
        behavior_close: c
            .close
            .as_ref()
            .map(|x| behavior(x.verdict))
            .unwrap_or("OK"),
        duration: c.duration_ms.round() as u64,
        remote_close_code: c.close.as_ref().and_then(|x| x.peer_code),
    }
}

/// Autobahn ids sort numerically ("1.1.10" after "1.1.9"); a BTreeMap of parsed parts keeps
/// the file in the order Autobahn's own reports list cases.
fn sort_key(id: &str) -> Vec<u64> {
    id.split('.')
        .map(|p| p.parse().unwrap_or(u64::MAX))
        .collect()
}

pub fn entries(r: &RunResults) -> Vec<(String, Entry)> {
    let mut by_id: BTreeMap<Vec<u64>, (String, Grade, &CaseResult)> = BTreeMap::new();
    for c in &r.cases {
        let Some(id) = &c.autobahn else { continue };
        // A results.json from elsewhere (or an older wsspec) may carry any text here; the
        // export names only cases Autobahn has, so a comparison never meets a stray key.
        if !autobahn_ids::is_case_id(id) {
            continue;
        }
        // Several wsspec cases may check what one Autobahn case checks: the worst decides.
        let slot = by_id
            .entry(sort_key(id))
            .or_insert((id.clone(), c.verdict, c));
        if c.verdict > slot.1 {
            *slot = (id.clone(), c.verdict, c);
        }
    }
    by_id
        .into_values()
        .map(|(id, _, c)| (id, entry(c)))
        .collect()
}

pub fn render(r: &RunResults) -> Vec<u8> {
    let cases: serde_json::Map<String, serde_json::Value> = entries(r)
        .into_iter()
        .map(|(id, e)| (id, serde_json::to_value(e).expect("entry serializes")))
        .collect();
    let mut root = serde_json::Map::new();
    root.insert(r.agent.clone(), serde_json::Value::Object(cases));
    let mut out = serde_json::to_vec_pretty(&serde_json::Value::Object(root)).expect("serializes");
    out.push(b'\n');
    out
}

/// One Autobahn case id and the wsspec cases that check what it checks, per role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub autobahn: String,
    /// Ids of the cases that run in server mode (`role = "server"` or `"both"`).
    pub server: Vec<String>,
    /// Ids of the cases that run in client mode (`role = "client"` or `"both"`).
    pub client: Vec<String>,
    /// How the cases differ on purpose from Autobahn's, when they say so.
    pub notes: Vec<String>,
}

/// Every Autobahn case id, in Autobahn's order, with the cases mapped to it.
pub fn mapping(cases: &[Case]) -> Vec<Mapping> {
    autobahn_ids::all()
        .into_iter()
        .map(|ab| {
            let mapped: Vec<&Case> = cases
                .iter()
                .filter(|c| c.autobahn.as_deref() == Some(ab.as_str()))
                .collect();
            let ids = |role: Role| {
                mapped
                    .iter()
                    .filter(|c| c.role.applies_to(role))
                    .map(|c| c.id.clone())
                    .collect()
            };
            let mut notes: Vec<String> = mapped
                .iter()
                .filter_map(|c| c.autobahn_note.clone())
                .collect();
            notes.dedup();
            Mapping {
                server: ids(Role::Server),
                client: ids(Role::Client),
                notes,
                autobahn: ab,
            }
        })
        .collect()
}

/// The mapping table `wsspec list --autobahn` prints: one line per Autobahn id, then how
/// many ids each role maps (of the 301 protocol ids 1.x-10.x and of all 517), and the ids
/// that are unmapped or mapped twice.
pub fn mapping_table(rows: &[Mapping]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let one = |v: &[String]| match v.len() {
        0 => "-".to_owned(),
        _ => v.join(" + "),
    };
    let _ = writeln!(out, "{:<9} {:<56} client case", "autobahn", "server case");
    for r in rows {
        let _ = writeln!(
            out,
            "{:<9} {:<56} {}",
            r.autobahn,
            one(&r.server),
            one(&r.client)
        );
        for n in &r.notes {
            let _ = writeln!(out, "{:<9} note: {n}", "");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{:<12} {:>9} {:>9}", "mapped ids", "server", "client");
    let count = |core: bool, f: fn(&Mapping) -> &Vec<String>| {
        rows.iter()
            .filter(|r| !core || autobahn_ids::is_core(&r.autobahn))
            .filter(|r| !f(r).is_empty())
            .count()
    };
    let core_total = rows
        .iter()
        .filter(|r| autobahn_ids::is_core(&r.autobahn))
        .count();
    for (label, core, total) in [("1.x-10.x", true, core_total), ("all", false, rows.len())] {
        let _ = writeln!(
            out,
            "{label:<12} {:>9} {:>9}",
            format!("{}/{total}", count(core, |r| &r.server)),
            format!("{}/{total}", count(core, |r| &r.client)),
        );
    }
    for (role, f) in [
        (
            "server",
            (|r: &Mapping| &r.server) as fn(&Mapping) -> &Vec<String>,
        ),
        ("client", |r: &Mapping| &r.client),
    ] {
        let missing: Vec<&str> = rows
            .iter()
            .filter(|r| autobahn_ids::is_core(&r.autobahn) && f(r).is_empty())
            .map(|r| r.autobahn.as_str())
            .collect();
        if !missing.is_empty() {
            let _ = writeln!(
                out,
                "{role}: 1.x-10.x ids not mapped: {}",
                missing.join(" ")
            );
        }
        let twice: Vec<&str> = rows
            .iter()
            .filter(|r| f(r).len() > 1)
            .map(|r| r.autobahn.as_str())
            .collect();
        if !twice.is_empty() {
            let _ = writeln!(
                out,
                "{role}: ids mapped more than once: {}",
                twice.join(" ")
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_order() {
        let mut ids = vec!["1.1.10", "1.1.9", "10.1.1", "2.1"];
        ids.sort_by_key(|i| sort_key(i));
        assert_eq!(ids, vec!["1.1.9", "1.1.10", "2.1", "10.1.1"]);
    }
}
