//! Judging a client's opening handshake request against a case's expectation (wsspec
//! plays the server): the RFC 6455 §4.1 rules the case names, then its header checks.

use super::matcher::Outcome;
use crate::case::{DeflateExpect, Expect, Grade, HandshakeExpect, RequestCheck};
use crate::deflate::negotiate;
use crate::handshake::{
    parse_extension_lines, validate_request, ExtensionOffer, HandshakeRule, Request,
};
use crate::text::bounded_lossy;

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
    match h.deflate {
        Some(DeflateExpect::Offered) => parts.push(
            "a valid permessage-deflate offer that wsspec's answer accepts (RFC 7692 §7)".into(),
        ),
        Some(DeflateExpect::OfferedAnswerInvalid) => parts.push(
            "a valid permessage-deflate offer, which wsspec's answer does not validly accept (RFC 7692 §5)"
                .into(),
        ),
        _ => {}
    }
    parts.join(", ")
}

/// Why each of the request's invalid permessage-deflate offers is invalid (RFC 7692 §7).
fn invalid_deflate_offers(offers: &[ExtensionOffer]) -> Vec<String> {
    negotiate::offers(offers)
        .into_iter()
        .filter_map(|o| o.err())
        .map(|why| {
            format!(
                "invalid permessage-deflate offer: {} (RFC 7692 §7: an offer has only the defined parameters, each once, with valid values)",
                bounded_lossy(why.as_bytes(), 160)
            )
        })
        .collect()
}

/// What is missing for a `deflate` expectation on the request, if anything. `answer` is
/// the extension list of the response the case will send.
fn deflate_unmet(
    want: DeflateExpect,
    offers: &[ExtensionOffer],
    answer: &[ExtensionOffer],
) -> Option<String> {
    if !negotiate::offers(offers).iter().any(|o| o.is_ok()) {
        return Some("no valid permessage-deflate offer".into());
    }
    let fits = negotiate::check_answer(offers, answer);
    match (want, fits) {
        (DeflateExpect::Offered, Ok(Some(_))) => None,
        (DeflateExpect::Offered, Ok(None)) => {
            Some("wsspec's answer names no permessage-deflate (a case error)".into())
        }
        (DeflateExpect::Offered, Err(p)) => Some(format!(
            "the offers do not allow the answer this case sends: {}",
            bounded_lossy(p.detail.as_bytes(), 200)
        )),
        (DeflateExpect::OfferedAnswerInvalid, Err(_)) => None,
        (DeflateExpect::OfferedAnswerInvalid, _) => {
            Some("the client's offers allow the answer this case sends, so it need not fail".into())
        }
        _ => None,
    }
}

/// Decides a handshake expectation on the client's request. `answer` is the extension
/// list of the response wsspec will send (judged against the client's offers when the
/// expectation says `deflate`).
pub fn judge_request(
    expect: &Expect,
    h: &HandshakeExpect,
    req: &Request,
    answer: &[ExtensionOffer],
) -> Outcome {
    let offers =
        parse_extension_lines(req.headers_named("Sec-WebSocket-Extensions")).unwrap_or_default();
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
    super::matcher::header_problems(&req.headers, h, &mut problems);
    // Like every request rule, only where the case names it: a client whose offer is
    // invalid fails the case about offers, and lacks a valid offer in the others.
    if h.rules
        .as_ref()
        .is_none_or(|l| l.contains(&RequestCheck::Deflate))
    {
        problems.extend(invalid_deflate_offers(&offers));
    }
    // The case's `otherwise` speaks for the optional feature only: a request that is wrong
    // in itself fails whatever the case says of compression.
    let broken = !problems.is_empty() && h.deflate.is_some();
    if let Some(want) = h.deflate.filter(|d| d.judges_request()) {
        if let Some(why) = deflate_unmet(want, &offers, answer) {
            problems.push(why);
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
        limit: false,
        matched,
        grade: if matched {
            expect.grade
        } else if broken {
            Grade::Fail
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
    use crate::case::ExpectKind;
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
                idle: false,
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
        assert!(judge_request(&e, &h, &bad, &[]).matched);
        let (e, h) = expect(HandshakeExpect {
            rules: Some(vec![RequestCheck::Host]),
            ..Default::default()
        });
        let o = judge_request(&e, &h, &bad, &[]);
        assert!(!o.matched && o.observed.contains("Host"), "{}", o.observed);
        assert!(!o.observed.contains("Version"));
        let (e, h) = expect(HandshakeExpect::default());
        let o = judge_request(&e, &h, &bad, &[]);
        assert!(o.observed.contains("Host") && o.observed.contains("Version"));
        assert_eq!(o.grade, Grade::Fail);
        let good = req(|_| {});
        let o = judge_request(&e, &h, &good, &[]);
        assert!(o.matched, "{}", o.observed);
        assert_eq!(o.observed, "GET /runCase?case=1 HTTP/1.1");
    }

    #[test]
    fn deflate_offers_are_judged_against_the_answer_wsspec_sends() {
        use crate::handshake::parse_extensions;
        let with = |offer: &str| req(|s| s.add("Sec-WebSocket-Extensions", offer));
        let judge = |d: DeflateExpect, r: &Request, answer: &str| {
            let (mut e, h) = expect(HandshakeExpect {
                rules: Some(vec![RequestCheck::Deflate]),
                deflate: Some(d),
                ..Default::default()
            });
            e.otherwise = Grade::Unimplemented;
            judge_request(&e, &h, r, &parse_extensions(answer).unwrap())
        };
        let good = with("permessage-deflate; client_max_window_bits");
        let o = judge(DeflateExpect::Offered, &good, "permessage-deflate");
        assert!(o.matched, "{}", o.observed);
        let o = judge(
            DeflateExpect::Offered,
            &with("permessage-deflate"),
            "permessage-deflate; client_max_window_bits=10",
        );
        assert_eq!((o.matched, o.grade), (false, Grade::Unimplemented));
        let o = judge(DeflateExpect::Offered, &req(|_| {}), "permessage-deflate");
        assert_eq!((o.matched, o.grade), (false, Grade::Unimplemented));
        // An invalid offer is the client's own fault, whatever the case's otherwise says.
        let o = judge(
            DeflateExpect::Offered,
            &with("permessage-deflate; server_max_window_bits=16, permessage-deflate"),
            "permessage-deflate",
        );
        assert_eq!((o.matched, o.grade), (false, Grade::Fail));
        let o = judge(
            DeflateExpect::OfferedAnswerInvalid,
            &good,
            "permessage-deflate; server_max_window_bits=7",
        );
        assert!(o.matched, "{}", o.observed);
        let o = judge(
            DeflateExpect::OfferedAnswerInvalid,
            &good,
            "permessage-deflate",
        );
        assert_eq!((o.matched, o.grade), (false, Grade::Unimplemented));
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
        assert!(judge_request(&e, &h, &r, &[]).matched);
        let (e, h) = expect(HandshakeExpect {
            rules: Some(vec![]),
            absent: vec!["Origin".into()],
            ..Default::default()
        });
        assert!(!judge_request(&e, &h, &r, &[]).matched);
    }
}
