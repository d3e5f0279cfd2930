//! Handshake steps by role: what a case may say about the opening handshake depends on
//! which side wsspec plays.
//!
//! In `role = "server"` cases wsspec is the client: `send = "handshake"` is its request
//! and `expect = "handshake"` judges the server's response. In `role = "client"` cases
//! wsspec is the server, and the same two steps swap meaning and order: the expectation
//! judges the client's request (read first), the send is wsspec's response, which a case
//! may mangle (status, headers) to see whether the client fails the connection.
//! `role = "both"` cases run either way, so they leave the handshake implicit.

use super::load::{
    default_handshake_expect, err_at, implicit_handshake, is_hs_expect, is_hs_send, steps_flushed,
    At, CheckError,
};
use super::model::*;

/// Rejects handshake fields that do not apply to the side wsspec plays.
pub(super) fn check_role_fields(
    steps: &[(Step, Option<At>)],
    role: Role,
) -> Result<(), CheckError> {
    for (step, at) in steps {
        if role == Role::Both && (is_hs_send(step) || is_hs_expect(step)) {
            return Err(err_at(*at, "", "role = \"both\" cases leave the handshake implicit: its steps mean a request in one role and a response in the other"));
        }
        match step {
            Step::Send(Send::Handshake(h), _)
                if role == Role::Server
                    && (h.status.is_some() || h.reason.is_some() || h.status_line.is_some()) =>
            {
                return Err(err_at(*at, ".status", "status, reason and status_line shape the response wsspec sends as a server: they need role = \"client\""));
            }
            Step::Send(Send::Handshake(h), _)
                if role == Role::Client
                    && (h.method.is_some() || h.target.is_some() || h.request_line.is_some()) =>
            {
                return Err(err_at(*at, ".method", "method, target and request_line shape a request; in role = \"client\" cases wsspec sends the response (use status, reason, status_line, set, add, remove, rename)"));
            }
            Step::Expect(Expect {
                kind: ExpectKind::Handshake(h),
                ..
            }) => {
                if role == Role::Server && h.rules.is_some() {
                    return Err(err_at(
                        *at,
                        ".rules",
                        "rules name checks of the client's request: they need role = \"client\"",
                    ));
                }
                if role == Role::Client && !h.status.is_empty() {
                    return Err(err_at(*at, ".status", "in role = \"client\" cases the handshake expectation judges the client's request, which has no status (use rules, headers, absent)"));
                }
                match h.deflate {
                    Some(d) if role == Role::Client && !d.judges_request() => {
                        return Err(err_at(*at, ".deflate", "in role = \"client\" cases the expectation judges the client's request: deflate = \"offered\" or \"offered-answer-invalid\""));
                    }
                    Some(d) if role == Role::Server && d.judges_request() => {
                        return Err(err_at(*at, ".deflate", "\"offered\" and \"offered-answer-invalid\" judge a client's request: they need role = \"client\" (a server's answer is \"accepted\" or \"declined\")"));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Completes a client-role case: the request expectation first, then wsspec's response,
/// each added when the case leaves it implicit.
pub(super) fn complete(steps: Vec<(Step, Option<At>)>) -> Result<Vec<Step>, CheckError> {
    let mut out = steps;
    let send = out.iter().position(|(s, _)| is_hs_send(s));
    let expect = out.iter().position(|(s, _)| is_hs_expect(s));
    match (send, expect) {
        (None, None) => {
            out.insert(0, (default_handshake_expect(), None));
            out.insert(1, (implicit_handshake(), None));
        }
        (None, Some(e)) => out.insert(e + 1, (implicit_handshake(), None)),
        (Some(_), None) => out.insert(0, (default_handshake_expect(), None)),
        (Some(s), Some(e)) if s < e => {
            return Err(err_at(
                out[e].1,
                "",
                "wsspec reads the client's request before it answers: put expect = \"handshake\" before send = \"handshake\"",
            ));
        }
        _ => {}
    }
    let send = out.iter().position(|(s, _)| is_hs_send(s)).unwrap();
    for (i, (step, at)) in out.iter().enumerate() {
        match step {
            Step::Send(Send::Frame(_) | Send::Message(_), _) if i < send => {
                return Err(err_at(*at, "", "frames are sent after the handshake response (use send = \"raw\" for bytes before it)"));
            }
            Step::Expect(e) if i < send && !matches!(e.kind, ExpectKind::Handshake(_)) => {
                return Err(err_at(*at, "", "a client sends frames only after the handshake response, so they are expected after send = \"handshake\""));
            }
            _ => {}
        }
    }
    check_deflate(&out, send)?;
    steps_flushed(out)
}

/// Compression in a client case needs an agreement: a `deflate` expectation is about the
/// answer wsspec sends, so that answer must name permessage-deflate, and a compressed
/// message needs `deflate = "offered"`, or the case would send RSV1 frames to a client
/// that never offered compression and blame it for failing.
fn check_deflate(out: &[(Step, Option<At>)], send: usize) -> Result<(), CheckError> {
    let answers = match &out[send].0 {
        Step::Send(Send::Handshake(h), _) => h
            .extensions
            .iter()
            .map(String::as_str)
            .chain(
                h.set
                    .iter()
                    .chain(&h.add)
                    .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-extensions"))
                    .map(|(_, v)| v.as_str()),
            )
            .any(|v| {
                v.to_ascii_lowercase()
                    .contains(crate::deflate::negotiate::NAME)
            }),
        _ => false,
    };
    let (deflate, at) = out
        .iter()
        .find_map(|(s, at)| match s {
            Step::Expect(Expect {
                kind: ExpectKind::Handshake(h),
                ..
            }) => Some((h.deflate, *at)),
            _ => None,
        })
        .unwrap_or((None, None));
    if deflate.is_some() && !answers {
        return Err(err_at(
            at,
            ".deflate",
            "the handshake response does not answer with permessage-deflate (extensions = [\"permessage-deflate\"])",
        ));
    }
    super::load::compress_needs(out, deflate, DeflateExpect::Offered)
}

#[cfg(test)]
mod tests {
    use crate::case::load::parse_file;
    use crate::case::*;

    const HEAD: &str = "[[case]]\nid = \"x.y\"\ntitle = \"t\"\nsection = \"RFC 6455 §4.1\"\nrequirement = \"r\"\nlevel = \"MUST\"\n";

    fn parse(role: &str, extra: &str, steps: &str) -> Result<Vec<Case>, CaseError> {
        parse_file(
            "t.toml",
            &format!("{HEAD}role = \"{role}\"\n{extra}\nsteps = [\n{steps}\n]\n"),
        )
    }

    fn err(role: &str, extra: &str, steps: &str) -> String {
        parse(role, extra, steps).unwrap_err().to_string()
    }

    #[test]
    fn implicit_client_handshake_reads_then_answers() {
        let c = &parse(
            "client",
            "",
            "{ send = \"message\", payload = \"x\" }, { expect = \"message\" }",
        )
        .unwrap()[0];
        assert!(
            matches!(&c.steps[0], Step::Expect(Expect { kind: ExpectKind::Handshake(h), .. }) if h.rules == Some(vec![]))
        );
        assert!(matches!(&c.steps[1], Step::Send(Send::Handshake(h), _) if h.status.is_none()));
        assert_eq!(c.steps.len(), 4);
    }

    #[test]
    fn explicit_client_steps_in_order() {
        let c = &parse(
            "client",
            "close = false",
            "{ expect = \"handshake\", rules = [\"host\", \"key\"] },\n{ send = \"handshake\", status = 200, remove = [\"Upgrade\"] },\n{ send = \"message\", payload = \"x\" },\n{ expect = \"fail\" }",
        )
        .unwrap()[0];
        assert!(
            matches!(&c.steps[0], Step::Expect(Expect { kind: ExpectKind::Handshake(h), .. }) if h.rules == Some(vec![RequestCheck::Host, RequestCheck::Key]))
        );
        assert!(matches!(&c.steps[1], Step::Send(Send::Handshake(h), _) if h.status == Some(200)));
        // Only the response given: the lenient request expectation goes first.
        let c = &parse("client", "", "{ send = \"handshake\", set = { \"Sec-WebSocket-Accept\" = \"x\" } }, { expect = \"fail\" }").unwrap()[0];
        assert!(matches!(&c.steps[0], Step::Expect(_)));
        // Only the expectation given: the standard response follows it.
        let c = &parse(
            "client",
            "",
            "{ expect = \"handshake\" }, { send = \"ping\" }, { expect = \"pong\" }",
        )
        .unwrap()[0];
        assert!(matches!(&c.steps[1], Step::Send(Send::Handshake(_), _)));
    }

    #[test]
    fn role_mismatched_fields_are_errors() {
        let e = err("client", "", "{ send = \"handshake\", method = \"POST\" }");
        assert!(
            e.contains("t.toml:") && e.contains("steps[0].method"),
            "{e}"
        );
        let e = err("client", "", "{ expect = \"handshake\", status = 101 }");
        assert!(e.contains("steps[0].status"), "{e}");
        let e = err("server", "", "{ send = \"handshake\", status = 200 }");
        assert!(
            e.contains("need role = \\\"client\\\"") || e.contains("role = \"client\""),
            "{e}"
        );
        let e = err(
            "server",
            "",
            "{ expect = \"handshake\", rules = [\"host\"] }",
        );
        assert!(e.contains("steps[0].rules"), "{e}");
        let e = err("both", "", "{ send = \"handshake\" }");
        assert!(e.contains("implicit"), "{e}");
        let e = err(
            "client",
            "",
            "{ send = \"handshake\" }, { expect = \"handshake\" }",
        );
        assert!(e.contains("before send"), "{e}");
        let e = err(
            "client",
            "",
            "{ expect = \"handshake\", rules = [\"hosts\"] }",
        );
        assert!(e.contains("rules"), "{e}");
        let e = err("server", "run_check = \"mask-keys\"", "{ send = \"ping\" }");
        assert!(e.contains("run_check"), "{e}");
        let e = err(
            "client",
            "",
            "{ send = \"message\" }, { send = \"handshake\" }",
        );
        assert!(e.contains("after the handshake response"), "{e}");
    }

    #[test]
    fn client_compression_needs_an_offer_expectation_and_an_answer() {
        let ok = "{ expect = \"handshake\", rules = [], deflate = \"offered\", otherwise = \"unimplemented\" },\n{ send = \"handshake\", extensions = [\"permessage-deflate\"] },\n{ send = \"message\", payload = \"x\", compress = true }";
        let c = &parse("client", "", ok).unwrap()[0];
        assert!(
            matches!(&c.steps[0], Step::Expect(Expect { kind: ExpectKind::Handshake(h), .. }) if h.deflate == Some(DeflateExpect::Offered))
        );
        // A compressed message without the expectation.
        let e = err(
            "client",
            "",
            "{ send = \"handshake\", extensions = [\"permessage-deflate\"] },\n{ send = \"message\", payload = \"x\", compress = true }",
        );
        assert!(
            e.contains("steps[1].compress") && e.contains("offered"),
            "{e}"
        );
        // The expectation without permessage-deflate in the answer.
        let e = err(
            "client",
            "",
            "{ expect = \"handshake\", deflate = \"offered\" },\n{ send = \"handshake\" }",
        );
        assert!(
            e.contains("steps[0].deflate") && e.contains("answer"),
            "{e}"
        );
        // An invalid answer is not an agreement to compress under.
        let e = err(
            "client",
            "",
            "{ expect = \"handshake\", deflate = \"offered-answer-invalid\" },\n{ send = \"handshake\", extensions = [\"permessage-deflate; x\"] },\n{ send = \"message\", payload = \"x\", compress = true }",
        );
        assert!(e.contains("steps[2].compress"), "{e}");
        // Each role has its own words for the negotiation.
        let e = err(
            "client",
            "",
            "{ expect = \"handshake\", deflate = \"accepted\" }",
        );
        assert!(
            e.contains("steps[0].deflate") && e.contains("offered"),
            "{e}"
        );
        let e = err(
            "server",
            "",
            "{ send = \"handshake\", extensions = [\"permessage-deflate\"] },\n{ expect = \"handshake\", deflate = \"offered\" }",
        );
        assert!(
            e.contains("steps[1].deflate") && e.contains("accepted"),
            "{e}"
        );
    }

    #[test]
    fn run_check_and_forced_mask_parse() {
        let c = &parse(
            "client",
            "run_check = \"handshake-keys\"",
            "{ send = \"text\", payload = \"a\", mask = true }",
        )
        .unwrap()[0];
        assert_eq!(c.run_check, Some(RunCheck::HandshakeKeys));
        assert!(matches!(&c.steps[2], Step::Send(Send::Frame(f), _) if f.mask == MaskSpec::Random));
    }
}
