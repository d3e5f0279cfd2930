//! Judging a client's opening handshake request against a case's expectation (wsspec
//! plays the server): the RFC 6455 §4.1 rules the case names, then its header checks.

use super::matcher::Outcome;
use crate::case::{Expect, HandshakeExpect, RequestCheck};
use crate::handshake::{validate_request, HandshakeRule, Request};
use crate::report::bounded_lossy;

/// The group a request rule belongs to; None for response-only rules.
pub fn group_of(rule: HandshakeRule) -> Option<RequestCheck> {
    use HandshakeRule::*;
    Some(match rule {
        MethodNotGet => RequestCheck::Method,
        HttpVersion => RequestCheck::HttpVersion,
        TargetInvalid => RequestCheck::Target,
        HostMissing | HostDuplicated => RequestCheck::Host,
        UpgradeMissing | UpgradeNotWebsocket => RequestCheck::Upgrade,
        ConnectionMissingUpgrade => RequestCheck::Connection,
        KeyMissing | KeyDuplicated | KeyInvalid | KeyNonCanonical => RequestCheck::Key,
        VersionMissing | VersionNot13 => RequestCheck::Version,
        ProtocolInvalid => RequestCheck::Protocol,
        ExtensionMalformed => RequestCheck::Extensions,
        _ => return None,
    })
}

fn describe(h: &HandshakeExpect) -> String {
    let groups: Vec<&str> = match &h.rules {
        None => RequestCheck::ALL.iter().map(|g| g.as_str()).collect(),
        Some(g) => g.iter().map(|g| g.as_str()).collect(),
    };
    let mut parts = Vec::new();
    if groups.is_empty() {
        parts.push("the client's opening handshake request".to_owned());
    } else {
        parts.push(format!(
            "an opening handshake request meeting RFC 6455 §4.1 on: {}",
            groups.join(", ")
        ));
    }
    for (n, v) in &h.headers {
        if v.is_empty() {
            parts.push(format!("header {n}"));
        } else {
            parts.push(format!("header {n} containing {v:?}"));
        }
    }
    for n in &h.absent {
        parts.push(format!("no header {n}"));
    }
    parts.join(", ")
}

/// Decides a handshake expectation on the client's request.
pub fn judge_request(expect: &Expect, h: &HandshakeExpect, req: &Request) -> Outcome {
    let mut problems = Vec::new();
    for p in validate_request(req) {
        let wanted = match (&h.rules, group_of(p.rule)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(list), Some(g)) => list.contains(&g),
        };
        if wanted {
            problems.push(format!(
                "{} ({}: {})",
                p.detail,
                p.rule.section(),
                p.rule.text()
            ));
        }
    }
    for (name, want) in &h.headers {
        let values: Vec<String> = req
            .headers_named(name)
            .map(|v| String::from_utf8_lossy(v).to_ascii_lowercase())
            .collect();
        if values.is_empty() {
            problems.push(format!("header {name} missing"));
        } else if !want.is_empty()
            && !values
                .iter()
                .any(|v| v.contains(&want.to_ascii_lowercase()))
        {
            problems.push(format!(
                "header {name} is {:?}, expected it to contain {want:?}",
                bounded_lossy(values.join(", ").as_bytes(), 120)
            ));
        }
    }
    for name in &h.absent {
        if req.headers_named(name).next().is_some() {
            problems.push(format!("header {name} present"));
        }
    }
    let mut expected = describe(h);
    if let Some(n) = &expect.note {
        expected = format!("{expected} [{n}]");
    }
    let matched = problems.is_empty();
    let observed = if matched {
        format!(
            "{} {} HTTP/1.{}",
            bounded_lossy(req.method.as_bytes(), 20),
            bounded_lossy(req.target.as_bytes(), 120),
            req.version
        )
    } else {
        problems.join("; ")
    };
    Outcome {
        matched,
        grade: if matched {
            expect.grade
        } else {
            expect.otherwise
        },
        expected,
        observed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{ExpectKind, Grade};
    use crate::handshake::{parse_request, HandshakeRule, RequestSpec};

    fn expect(h: HandshakeExpect) -> (Expect, HandshakeExpect) {
        (
            Expect {
                kind: ExpectKind::Handshake(h.clone()),
                grade: Grade::Pass,
                otherwise: Grade::Fail,
                timeout_ms: None,
                note: None,
                implicit: false,
            },
            h,
        )
    }

    fn req(f: impl FnOnce(&mut RequestSpec)) -> Request {
        let mut s = RequestSpec::standard(
            "127.0.0.1",
            9001,
            false,
            "/runCase?case=1",
            "dGhlIHNhbXBsZSBub25jZQ==".into(),
        );
        f(&mut s);
        parse_request(&s.to_bytes(), 16384).unwrap().unwrap()
    }

    #[test]
    fn every_request_rule_has_a_group() {
        let response_only = [
            HandshakeRule::StatusNot101,
            HandshakeRule::AcceptMissing,
            HandshakeRule::AcceptWrong,
            HandshakeRule::AcceptDuplicated,
            HandshakeRule::ProtocolNotOffered,
            HandshakeRule::ProtocolMultiple,
            HandshakeRule::ExtensionNotOffered,
        ];
        for r in HandshakeRule::ALL {
            assert_eq!(group_of(*r).is_none(), response_only.contains(r), "{r:?}");
        }
    }

    #[test]
    fn only_the_named_groups_are_checked() {
        let bad = req(|s| {
            s.remove("Host");
            s.set("Sec-WebSocket-Version", "8");
        });
        let (e, h) = expect(HandshakeExpect {
            rules: Some(vec![RequestCheck::Key]),
            ..Default::default()
        });
        assert!(judge_request(&e, &h, &bad).matched);
        let (e, h) = expect(HandshakeExpect {
            rules: Some(vec![RequestCheck::Host]),
            ..Default::default()
        });
        let o = judge_request(&e, &h, &bad);
        assert!(!o.matched && o.observed.contains("Host"), "{}", o.observed);
        assert!(!o.observed.contains("Version"));
        let (e, h) = expect(HandshakeExpect::default());
        let o = judge_request(&e, &h, &bad);
        assert!(o.observed.contains("Host") && o.observed.contains("Version"));
        assert_eq!(o.grade, Grade::Fail);
        let good = req(|_| {});
        let o = judge_request(&e, &h, &good);
        assert!(o.matched, "{}", o.observed);
        assert_eq!(o.observed, "GET /runCase?case=1 HTTP/1.1");
    }

    #[test]
    fn header_presence_and_absence() {
        let r = req(|s| s.add("Origin", "http://example.com"));
        let (e, h) = expect(HandshakeExpect {
            rules: Some(vec![]),
            headers: vec![("origin".into(), "EXAMPLE".into())],
            absent: vec!["Cookie".into()],
            ..Default::default()
        });
        assert!(judge_request(&e, &h, &r).matched);
        let (e, h) = expect(HandshakeExpect {
            rules: Some(vec![]),
            absent: vec!["Origin".into()],
            ..Default::default()
        });
        assert!(!judge_request(&e, &h, &r).matched);
    }
}
