//! The Autobahn|Testsuite client URL protocol, so existing harnesses work unchanged.
//!
//! A harness connects to the fuzzing server once per call, by WebSocket:
//!
//! | request | answer |
//! | --- | --- |
//! | `/getCaseCount` | the number of cases, as a text message |
//! | `/getCaseInfo?case=N` | `{"id": …, "description": …}` |
//! | `/runCase?case=N&agent=A` (or `casetuple=1.2.3`) | the case itself, on this connection |
//! | `/getCaseStatus?case=N&agent=A` | `{"behavior": "OK"}` (or NON-STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED) |
//! | `/updateReports?agent=A[&shutdownOnComplete=true]` | reports written, then the connection closes |
//! | `/` (plain GET) | the browser harness page (`browser.rs`), which makes the calls above |
//!
//! Case numbers are 1-based. The informational calls also answer plain HTTP GETs (for
//! `curl`), with the same text as the body. This file only parses and phrases; the
//! listener in `mod.rs` does the work.

use crate::case::{autobahn_ids, Case};

/// A harness request, parsed from its request-target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HarnessRequest {
    CaseCount,
    CaseInfo {
        case: CaseRef,
    },
    RunCase {
        case: CaseRef,
        agent: String,
    },
    CaseStatus {
        case: CaseRef,
        agent: String,
    },
    UpdateReports {
        agent: Option<String>,
        shutdown: bool,
    },
    /// `/`: the browser harness page, for a plain GET.
    Page,
}

/// How a request names a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseRef {
    /// 1-based position in the selected list.
    Number(usize),
    /// An Autobahn case id such as `1.2.3` (`casetuple`), matched against `case.autobahn`.
    Tuple(String),
}

/// A request the harness got wrong: answered with an HTTP 4xx and this text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarnessError {
    pub status: u16,
    pub message: String,
}

impl HarnessError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        HarnessError {
            status,
            message: message.into(),
        }
    }
}

/// Decodes `%XX` and `+` (as a space), as form-encoded query strings are written.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes a query value so it survives in a URL (and in a shell word).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Splits a request-target into its path and decoded query parameters.
pub fn split_target(target: &str) -> (String, Vec<(String, String)>) {
    // An absolute-form target (`http://host/path`) is legal; keep only the path.
    let t = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
        .map(|rest| &rest[rest.find('/').unwrap_or(rest.len())..])
        .unwrap_or(target);
    let (path, query) = t.split_once('?').unwrap_or((t, ""));
    let params = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    (path.to_owned(), params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn case_ref(params: &[(String, String)], path: &str) -> Result<CaseRef, HarnessError> {
    if let Some(c) = param(params, "case") {
        return match c.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(CaseRef::Number(n)),
            _ => Err(HarnessError::new(
                400,
                format!("{path}: case={c:?} is not a case number (they start at 1)"),
            )),
        };
    }
    if let Some(t) = param(params, "casetuple") {
        let ok = !t.is_empty()
            && t.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        return if ok {
            Ok(CaseRef::Tuple(t.to_owned()))
        } else {
            Err(HarnessError::new(
                400,
                format!("{path}: casetuple={t:?} is not an Autobahn case id such as 1.2.3"),
            ))
        };
    }
    Err(HarnessError::new(
        400,
        format!("{path}: missing case=N (or casetuple=1.2.3)"),
    ))
}

fn agent(params: &[(String, String)], path: &str) -> Result<String, HarnessError> {
    match param(params, "agent") {
        Some(a) if !a.trim().is_empty() => Ok(a.to_owned()),
        _ => Err(HarnessError::new(
            400,
            format!("{path}: missing agent=NAME (the name reports use for the client)"),
        )),
    }
}

fn flag(params: &[(String, String)], name: &str) -> bool {
    param(params, name).is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "" | "1" | "true" | "yes" | "on"
        )
    })
}

/// Parses a harness request-target.
pub fn parse(target: &str) -> Result<HarnessRequest, HarnessError> {
    let (path, params) = split_target(target);
    let p = path.as_str();
    match p.trim_end_matches('/') {
        "" | "/index.html" => Ok(HarnessRequest::Page),
        "/getCaseCount" => Ok(HarnessRequest::CaseCount),
        "/getCaseInfo" => Ok(HarnessRequest::CaseInfo {
            case: case_ref(&params, p)?,
        }),
        "/runCase" => Ok(HarnessRequest::RunCase {
            case: case_ref(&params, p)?,
            agent: agent(&params, p)?,
        }),
        "/getCaseStatus" => Ok(HarnessRequest::CaseStatus {
            case: case_ref(&params, p)?,
            agent: agent(&params, p)?,
        }),
        "/updateReports" => Ok(HarnessRequest::UpdateReports {
            agent: param(&params, "agent")
                .filter(|a| !a.trim().is_empty())
                .map(str::to_owned),
            shutdown: flag(&params, "shutdownOnComplete"),
        }),
        _ => Err(HarnessError::new(
            404,
            format!(
                "{p}: unknown path; wsspec's client mode answers / (the browser harness page), /getCaseCount, /getCaseInfo?case=N, /runCase?case=N&agent=A, /getCaseStatus?case=N&agent=A and /updateReports?agent=A"
            ),
        )),
    }
}

/// The cases mapped to Autobahn ids, one per id, in Autobahn's order, so that `case=N` means
/// what it means to Autobahn's fuzzing server with the same selection (`wsspec client
/// --autobahn`): a harness written for Autobahn that runs, say, case 47 gets 2.11. Cases
/// without an Autobahn id are left out; of several with one id, the first is kept.
pub fn in_autobahn_order(cases: Vec<Case>) -> Vec<Case> {
    let order: std::collections::HashMap<String, usize> = autobahn_ids::all()
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, i))
        .collect();
    let mut mapped: Vec<(usize, Case)> = cases
        .into_iter()
        .filter_map(|c| {
            let at = *order.get(c.autobahn.as_deref()?)?;
            Some((at, c))
        })
        .collect();
    // Stable: of several cases with one id, the first in suite order stays first.
    mapped.sort_by_key(|(at, _)| *at);
    mapped.dedup_by_key(|(at, _)| *at);
    mapped.into_iter().map(|(_, c)| c).collect()
}

/// The `runCase` URL for case `n` on a listener whose base URL is `base` (`ws://ADDR` or
/// `wss://ADDR`).
pub fn run_case_url(base: &str, n: usize, agent: &str) -> String {
    format!("{base}/runCase?case={n}&agent={}", percent_encode(agent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_harness_calls() {
        assert_eq!(parse("/getCaseCount"), Ok(HarnessRequest::CaseCount));
        assert_eq!(
            parse("/runCase?case=12&agent=tokio-tungstenite%2F0.30"),
            Ok(HarnessRequest::RunCase {
                case: CaseRef::Number(12),
                agent: "tokio-tungstenite/0.30".into()
            })
        );
        assert_eq!(
            parse("/runCase?casetuple=1.2.3&agent=a+b"),
            Ok(HarnessRequest::RunCase {
                case: CaseRef::Tuple("1.2.3".into()),
                agent: "a b".into()
            })
        );
        assert_eq!(
            parse("/getCaseStatus?agent=x&case=3"),
            Ok(HarnessRequest::CaseStatus {
                case: CaseRef::Number(3),
                agent: "x".into()
            })
        );
        assert_eq!(
            parse("/updateReports?agent=x&shutdownOnComplete=true"),
            Ok(HarnessRequest::UpdateReports {
                agent: Some("x".into()),
                shutdown: true
            })
        );
        assert_eq!(
            parse("http://127.0.0.1:9001/updateReports"),
            Ok(HarnessRequest::UpdateReports {
                agent: None,
                shutdown: false
            })
        );
        assert_eq!(parse("/"), Ok(HarnessRequest::Page));
        assert_eq!(parse("/?agent=firefox"), Ok(HarnessRequest::Page));
        assert_eq!(
            parse("/getCaseInfo?case=1"),
            Ok(HarnessRequest::CaseInfo {
                case: CaseRef::Number(1)
            })
        );
    }

    #[test]
    fn malformed_requests_are_4xx_with_a_reason() {
        for (t, status, word) in [
            ("/nope", 404, "unknown path"),
            ("/runCase?case=1", 400, "agent"),
            ("/runCase?case=x&agent=a", 400, "not a case number"),
            ("/runCase?case=0&agent=a", 400, "not a case number"),
            ("/runCase?agent=a", 400, "missing case"),
            ("/getCaseStatus?case=1", 400, "agent"),
            ("/runCase?casetuple=1..2&agent=a", 400, "casetuple"),
        ] {
            let e = parse(t).unwrap_err();
            assert_eq!(e.status, status, "{t}");
            assert!(e.message.contains(word), "{t}: {}", e.message);
        }
    }

    /// With every built-in client case selected, the N-th served case is Autobahn's N-th
    /// case id, counted from Autobahn's own list (1.1.1 first, 2.11 the 27th, 10.1.1 the
    /// 301st, 13.7.18 the 517th).
    #[test]
    fn autobahn_numbering_matches_autobahns() {
        let cases: Vec<Case> = crate::case::builtin()
            .unwrap()
            .into_iter()
            .filter(|c| c.role.applies_to(crate::case::Role::Client))
            .collect();
        let served = in_autobahn_order(cases);
        assert_eq!(served.len(), 517);
        let ab = |n: usize| served[n - 1].autobahn.clone().unwrap();
        assert_eq!(ab(1), "1.1.1");
        assert_eq!(ab(17), "2.1");
        assert_eq!(ab(27), "2.11");
        assert_eq!(ab(301), "10.1.1");
        assert_eq!(ab(302), "12.1.1");
        assert_eq!(ab(517), "13.7.18");
        for (i, c) in served.iter().enumerate() {
            assert_eq!(c.autobahn.as_deref(), Some(autobahn_ids::all()[i].as_str()));
        }
    }

    #[test]
    fn percent_coding_round_trips() {
        for s in ["plain", "a b/c&d=e", "ünï", "100%"] {
            assert_eq!(percent_decode(&percent_encode(s)), s);
        }
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
