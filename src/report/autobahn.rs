//! `index.json` in the Autobahn testsuite's shape, so scripts written for Autobahn's
//! reports read wsspec's unchanged:
//! `{agent: {case_id: {behavior, behaviorClose, duration, remoteCloseCode}}}`, keyed by the
//! Autobahn case id of every wsspec case that maps to one.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::case::Grade;
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
