//! RFC 6455 checks on a parsed handshake: what a client must verify in the
//! server's response (§4.1) and what a server must find in the client's
//! request (§4.1 client requirements, §4.2.1).
//!
//! wsspec reports every violation rather than stopping at the first, so one
//! run shows all that is wrong with a peer's handshake.

use std::fmt;

use crate::rules::Rule;

use super::accept::{accept_key, decode_key, KeyError};
use super::headers::{is_token, parse_extension_lines, tokens};
use super::request::Request;
use super::response::Response;

/// What wsspec offered in the request a response is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer<'a> {
    /// The `Sec-WebSocket-Key` sent (as a string; it is hashed undecoded).
    pub key: &'a str,
    /// Subprotocols offered in `Sec-WebSocket-Protocol`.
    pub protocols: &'a [String],
    /// Extension names offered in `Sec-WebSocket-Extensions`.
    pub extensions: &'a [String],
}

/// One requirement of the opening handshake.
///
/// Rules that apply to both directions (Upgrade, Connection, HTTP version,
/// extension syntax) are shared; the rest are specific to the request or the
/// response, as noted on each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeRule {
    /// Response: the status is not 101, so no WebSocket connection exists.
    StatusNot101,
    /// Request or response: not HTTP/1.1.
    HttpVersion,
    /// Request or response: no `Upgrade` header.
    UpgradeMissing,
    /// Request or response: `Upgrade` lacks the `websocket` token.
    UpgradeNotWebsocket,
    /// Request or response: no `Connection` header containing `Upgrade`.
    ConnectionMissingUpgrade,
    /// Response: no `Sec-WebSocket-Accept`.
    AcceptMissing,
    /// Response: `Sec-WebSocket-Accept` is not the value derived from the key.
    AcceptWrong,
    /// Response: more than one `Sec-WebSocket-Accept`.
    AcceptDuplicated,
    /// Response: a subprotocol the client did not offer (or an empty one).
    ProtocolNotOffered,
    /// Response: more than one subprotocol selected.
    ProtocolMultiple,
    /// Response: an extension the client did not offer.
    ExtensionNotOffered,
    /// Request or response: `Sec-WebSocket-Extensions` violates the §9.1
    /// grammar.
    ExtensionMalformed,
    /// Request: the method is not GET.
    MethodNotGet,
    /// Request: the request-target is neither an absolute path nor an
    /// absolute http/https URI.
    TargetInvalid,
    /// Request: no (or an empty) `Host` header.
    HostMissing,
    /// Request: more than one `Host` header.
    HostDuplicated,
    /// Request: no `Sec-WebSocket-Key`.
    KeyMissing,
    /// Request: more than one `Sec-WebSocket-Key`.
    KeyDuplicated,
    /// Request: the key is not base64 of exactly 16 bytes.
    KeyInvalid,
    /// Request: the key decodes to 16 bytes only with non-zero pad bits,
    /// like the RFC's misprinted example (erratum 3150). Separate from
    /// [`HandshakeRule::KeyInvalid`] because rejecting it is optional.
    KeyNonCanonical,
    /// Request: no `Sec-WebSocket-Version`.
    VersionMissing,
    /// Request: `Sec-WebSocket-Version` is not exactly one `13`.
    VersionNot13,
    /// Request: `Sec-WebSocket-Protocol` is not a list of unique tokens.
    ProtocolInvalid,
}

impl HandshakeRule {
    /// Every rule, e.g. for listing what a suite checks.
    pub const ALL: &'static [HandshakeRule] = &[
        HandshakeRule::StatusNot101,
        HandshakeRule::HttpVersion,
        HandshakeRule::UpgradeMissing,
        HandshakeRule::UpgradeNotWebsocket,
        HandshakeRule::ConnectionMissingUpgrade,
        HandshakeRule::AcceptMissing,
        HandshakeRule::AcceptWrong,
        HandshakeRule::AcceptDuplicated,
        HandshakeRule::ProtocolNotOffered,
        HandshakeRule::ProtocolMultiple,
        HandshakeRule::ExtensionNotOffered,
        HandshakeRule::ExtensionMalformed,
        HandshakeRule::MethodNotGet,
        HandshakeRule::TargetInvalid,
        HandshakeRule::HostMissing,
        HandshakeRule::HostDuplicated,
        HandshakeRule::KeyMissing,
        HandshakeRule::KeyDuplicated,
        HandshakeRule::KeyInvalid,
        HandshakeRule::KeyNonCanonical,
        HandshakeRule::VersionMissing,
        HandshakeRule::VersionNot13,
        HandshakeRule::ProtocolInvalid,
    ];

    /// The catalogue rule this check enforces: its section, level and sentence.
    pub fn rule(self) -> Rule {
        use HandshakeRule::*;
        match self {
            StatusNot101 => Rule::StatusNot101,
            HttpVersion => Rule::HttpVersion,
            UpgradeMissing => Rule::UpgradeMissing,
            UpgradeNotWebsocket => Rule::UpgradeNotWebsocket,
            ConnectionMissingUpgrade => Rule::ConnectionMissingUpgrade,
            AcceptMissing => Rule::AcceptMissing,
            AcceptWrong => Rule::AcceptWrong,
            AcceptDuplicated => Rule::AcceptDuplicated,
            ProtocolNotOffered => Rule::ProtocolNotOffered,
            ProtocolMultiple => Rule::ProtocolMultiple,
            ExtensionNotOffered => Rule::ExtensionNotOffered,
            ExtensionMalformed => Rule::ExtensionMalformed,
            MethodNotGet => Rule::MethodNotGet,
            TargetInvalid => Rule::TargetInvalid,
            HostMissing => Rule::HostMissing,
            HostDuplicated => Rule::HostDuplicated,
            KeyMissing => Rule::KeyMissing,
            KeyDuplicated => Rule::KeyDuplicated,
            KeyInvalid => Rule::KeyInvalid,
            KeyNonCanonical => Rule::KeyNonCanonical,
            VersionMissing => Rule::VersionMissing,
            VersionNot13 => Rule::VersionNot13,
            ProtocolInvalid => Rule::ProtocolInvalid,
        }
    }

    /// Where the requirement is stated.
    pub fn section(self) -> &'static str {
        self.rule().section()
    }

    /// The requirement, in the RFC's words.
    pub fn text(self) -> &'static str {
        self.rule().text()
    }
}

impl fmt::Display for HandshakeRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.section(), self.text())
    }
}

/// One violated rule and what exactly was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The requirement that was violated.
    pub rule: HandshakeRule,
    /// What the peer sent, for the report.
    pub detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({}): {}", self.rule, self.section(), self.detail)
    }
}

impl Problem {
    fn new(rule: HandshakeRule, detail: impl Into<String>) -> Self {
        Problem {
            rule,
            detail: detail.into(),
        }
    }

    /// Shorthand for `self.rule.section()`.
    pub fn section(&self) -> &'static str {
        self.rule.section()
    }
}

fn lossy(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

fn joined(values: &[&[u8]]) -> String {
    values
        .iter()
        .map(|v| lossy(v))
        .collect::<Vec<_>>()
        .join(", ")
}

fn all_tokens(values: &[&[u8]]) -> Vec<String> {
    values.iter().flat_map(|v| tokens(v)).collect()
}

fn check_version(version: u8, what: &str, out: &mut Vec<Problem>) {
    if version != 1 {
        out.push(Problem::new(
            HandshakeRule::HttpVersion,
            format!("{what} is HTTP/1.{version}"),
        ));
    }
}

/// Upgrade and Connection are checked the same way in both directions. Every
/// line of each header counts, since a list may be split across lines.
fn check_upgrade_connection<'a>(
    named: impl Fn(&'static str) -> Vec<&'a [u8]>,
    out: &mut Vec<Problem>,
) {
    let upgrade = named("Upgrade");
    if upgrade.is_empty() {
        out.push(Problem::new(
            HandshakeRule::UpgradeMissing,
            "no Upgrade header",
        ));
    } else if !all_tokens(&upgrade)
        .iter()
        .any(|t| t.eq_ignore_ascii_case("websocket"))
    {
        out.push(Problem::new(
            HandshakeRule::UpgradeNotWebsocket,
            format!("Upgrade: {}", joined(&upgrade)),
        ));
    }
    let connection = named("Connection");
    if connection.is_empty() {
        out.push(Problem::new(
            HandshakeRule::ConnectionMissingUpgrade,
            "no Connection header",
        ));
    } else if !all_tokens(&connection)
        .iter()
        .any(|t| t.eq_ignore_ascii_case("upgrade"))
    {
        out.push(Problem::new(
            HandshakeRule::ConnectionMissingUpgrade,
            format!("Connection: {}", joined(&connection)),
        ));
    }
}

/// Checks a server's response to the request described by `offer`, as
/// RFC 6455 §4.1 tells a client to. Empty means a valid 101.
///
/// A non-101 status is reported alone (with the HTTP version, if also
/// wrong): the remaining rules only apply to a 101, and listing "Upgrade
/// missing" under a 404 would be noise.
///
/// Matching is as strict as the RFC allows: the accept value must be exact
/// (after httparse's trimming of surrounding whitespace, which §4.1 says to
/// ignore), and subprotocols and extension names are compared
/// case-sensitively, since the server must echo one of the client's values.
pub fn validate_response(resp: &Response, offer: &Offer<'_>) -> Vec<Problem> {
    use HandshakeRule::*;
    let mut out = Vec::new();
    let named = |n: &'static str| resp.headers_named(n).collect::<Vec<_>>();

    check_version(resp.version, "response", &mut out);
    if resp.status != 101 {
        out.push(Problem::new(
            StatusNot101,
            format!("status {} {}", resp.status, resp.reason),
        ));
        return out;
    }
    check_upgrade_connection(named, &mut out);

    let accept = named("Sec-WebSocket-Accept");
    let expected = accept_key(offer.key);
    if accept.is_empty() {
        out.push(Problem::new(
            AcceptMissing,
            "no Sec-WebSocket-Accept header",
        ));
    }
    if accept.len() > 1 {
        out.push(Problem::new(
            AcceptDuplicated,
            format!("{} Sec-WebSocket-Accept headers", accept.len()),
        ));
    }
    for value in &accept {
        if *value != expected.as_bytes() {
            out.push(Problem::new(
                AcceptWrong,
                format!(
                    "Sec-WebSocket-Accept: {}, expected {expected}",
                    lossy(value)
                ),
            ));
        }
    }

    let protocol = named("Sec-WebSocket-Protocol");
    if !protocol.is_empty() {
        let chosen = all_tokens(&protocol);
        if protocol.len() > 1 || chosen.len() > 1 {
            out.push(Problem::new(
                ProtocolMultiple,
                format!("Sec-WebSocket-Protocol: {}", joined(&protocol)),
            ));
        }
        if chosen.is_empty() {
            out.push(Problem::new(
                ProtocolNotOffered,
                "empty Sec-WebSocket-Protocol (the empty string is not a legal value)",
            ));
        }
        for p in chosen.iter().filter(|p| !offer.protocols.contains(p)) {
            out.push(Problem::new(
                ProtocolNotOffered,
                format!("{p:?} not among offered {:?}", offer.protocols),
            ));
        }
    }

    let extensions = named("Sec-WebSocket-Extensions");
    if !extensions.is_empty() {
        match parse_extension_lines(extensions.iter().copied()) {
            Err(e) => out.push(Problem::new(
                ExtensionMalformed,
                format!("Sec-WebSocket-Extensions: {}: {e}", joined(&extensions)),
            )),
            Ok(list) => {
                for ext in list.iter().filter(|e| !offer.extensions.contains(&e.name)) {
                    out.push(Problem::new(
                        ExtensionNotOffered,
                        format!("{:?} not among offered {:?}", ext.name, offer.extensions),
                    ));
                }
            }
        }
    }
    out
}

/// Checks a client's request as a strict server would (RFC 6455 §4.1 client
/// requirements, §4.2.1). Empty means a valid opening handshake.
pub fn validate_request(req: &Request) -> Vec<Problem> {
    use HandshakeRule::*;
    let mut out = Vec::new();
    let named = |n: &'static str| req.headers_named(n).collect::<Vec<_>>();

    // Methods are case-sensitive (RFC 9110 §9.1): `get` is not GET.
    if req.method != "GET" {
        out.push(Problem::new(MethodNotGet, format!("method {}", req.method)));
    }
    check_version(req.version, "request", &mut out);
    let target = req.target.to_ascii_lowercase();
    if !(target.starts_with('/') || target.starts_with("http://") || target.starts_with("https://"))
    {
        out.push(Problem::new(
            TargetInvalid,
            format!("request-target {}", req.target),
        ));
    }

    let host = named("Host");
    match host.as_slice() {
        [] => out.push(Problem::new(HostMissing, "no Host header")),
        [[]] => out.push(Problem::new(HostMissing, "empty Host header")),
        [_] => {}
        _ => out.push(Problem::new(
            HostDuplicated,
            format!("{} Host headers: {}", host.len(), joined(&host)),
        )),
    }

    check_upgrade_connection(named, &mut out);

    let key = named("Sec-WebSocket-Key");
    match key.as_slice() {
        [] => out.push(Problem::new(KeyMissing, "no Sec-WebSocket-Key header")),
        [k] => match decode_key(k) {
            Ok(_) => {}
            Err(e @ KeyError::NonCanonical { .. }) => out.push(Problem::new(
                KeyNonCanonical,
                format!("Sec-WebSocket-Key: {}: {e}", lossy(k)),
            )),
            Err(e) => out.push(Problem::new(
                KeyInvalid,
                format!("Sec-WebSocket-Key: {}: {e}", lossy(k)),
            )),
        },
        _ => out.push(Problem::new(
            KeyDuplicated,
            format!("{} Sec-WebSocket-Key headers", key.len()),
        )),
    }

    let version = named("Sec-WebSocket-Version");
    match version.as_slice() {
        [] => out.push(Problem::new(
            VersionMissing,
            "no Sec-WebSocket-Version header",
        )),
        [b"13"] => {}
        _ => out.push(Problem::new(
            VersionNot13,
            format!("Sec-WebSocket-Version: {}", joined(&version)),
        )),
    }

    let protocol = named("Sec-WebSocket-Protocol");
    if !protocol.is_empty() {
        // `tokens` drops empty elements (RFC 7230 §7), but the grammar is
        // 1#token, so a value with no element at all is still invalid.
        let list = all_tokens(&protocol);
        let bad: Vec<&String> = list.iter().filter(|t| !is_token(t.as_bytes())).collect();
        let mut seen = std::collections::HashSet::new();
        let dup: Vec<&String> = list.iter().filter(|t| !seen.insert(*t)).collect();
        if list.is_empty() || !bad.is_empty() || !dup.is_empty() {
            out.push(Problem::new(
                ProtocolInvalid,
                format!(
                    "Sec-WebSocket-Protocol: {} (not tokens: {bad:?}, repeated: {dup:?})",
                    joined(&protocol)
                ),
            ));
        }
    }

    let extensions = named("Sec-WebSocket-Extensions");
    if !extensions.is_empty() {
        if let Err(e) = parse_extension_lines(extensions.iter().copied()) {
            out.push(Problem::new(
                ExtensionMalformed,
                format!("Sec-WebSocket-Extensions: {}: {e}", joined(&extensions)),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::{parse_request, parse_response, RequestSpec, ResponseSpec};
    use std::collections::HashSet;
    use HandshakeRule::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn protocols() -> Vec<String> {
        vec!["chat".into(), "superchat".into()]
    }

    fn extensions() -> Vec<String> {
        vec!["permessage-deflate".into(), "x-foo".into()]
    }

    fn response_rules(spec: &ResponseSpec) -> Vec<HandshakeRule> {
        let bytes = spec.to_bytes();
        let resp = parse_response(&bytes, 16384).unwrap().unwrap();
        let (p, e) = (protocols(), extensions());
        let offer = Offer {
            key: KEY,
            protocols: &p,
            extensions: &e,
        };
        validate_response(&resp, &offer)
            .into_iter()
            .map(|p| p.rule)
            .collect()
    }

    fn request_rules(spec: &RequestSpec) -> Vec<HandshakeRule> {
        let bytes = spec.to_bytes();
        let req = parse_request(&bytes, 16384).unwrap().unwrap();
        validate_request(&req).into_iter().map(|p| p.rule).collect()
    }

    fn good_response() -> ResponseSpec {
        let mut s = ResponseSpec::switching_protocols(KEY);
        s.add("Sec-WebSocket-Protocol", "chat");
        s.add(
            "Sec-WebSocket-Extensions",
            "permessage-deflate; server_no_context_takeover",
        );
        s
    }

    fn good_request() -> RequestSpec {
        let mut s = RequestSpec::standard("example.com", 9001, false, "/chat", KEY.into());
        s.add("Sec-WebSocket-Protocol", "chat, superchat");
        s.add(
            "Sec-WebSocket-Extensions",
            "permessage-deflate; client_max_window_bits",
        );
        s
    }

    /// Each case mutates a valid handshake and must trigger exactly `want`.
    type Case<T> = (&'static str, fn(&mut T), &'static [HandshakeRule]);

    const RESPONSE_CASES: &[Case<ResponseSpec>] = &[
        (
            "200",
            |s| s.status_line = Some("HTTP/1.1 200 OK".into()),
            &[StatusNot101],
        ),
        ("1.0", |s| s.version = "HTTP/1.0".into(), &[HttpVersion]),
        ("no upgrade", |s| s.remove("upgrade"), &[UpgradeMissing]),
        ("h2c", |s| s.set("Upgrade", "h2c"), &[UpgradeNotWebsocket]),
        (
            "no connection",
            |s| s.remove("Connection"),
            &[ConnectionMissingUpgrade],
        ),
        (
            "keep-alive only",
            |s| s.set("Connection", "keep-alive"),
            &[ConnectionMissingUpgrade],
        ),
        (
            "no accept",
            |s| s.remove("Sec-WebSocket-Accept"),
            &[AcceptMissing],
        ),
        (
            "wrong accept",
            |s| s.set("Sec-WebSocket-Accept", &crate::handshake::accept_key("x")),
            &[AcceptWrong],
        ),
        (
            "erratum key accept",
            |s| {
                s.set(
                    "Sec-WebSocket-Accept",
                    &crate::handshake::accept_key("AQIDBAUGBwgJCgsMDQ4PEA=="),
                )
            },
            &[AcceptWrong],
        ),
        (
            "duplicate accept",
            |s| s.add("Sec-WebSocket-Accept", &crate::handshake::accept_key(KEY)),
            &[AcceptDuplicated],
        ),
        (
            "protocol not offered",
            |s| s.set("Sec-WebSocket-Protocol", "Chat"),
            &[ProtocolNotOffered],
        ),
        (
            "empty protocol",
            |s| s.set("Sec-WebSocket-Protocol", ""),
            &[ProtocolNotOffered],
        ),
        (
            "two protocols",
            |s| s.set("Sec-WebSocket-Protocol", "chat, superchat"),
            &[ProtocolMultiple],
        ),
        (
            "two protocol lines",
            |s| s.add("Sec-WebSocket-Protocol", "chat"),
            &[ProtocolMultiple],
        ),
        (
            "extension not offered",
            |s| s.add("Sec-WebSocket-Extensions", "x-webkit-deflate-frame"),
            &[ExtensionNotOffered],
        ),
        (
            "malformed extensions",
            |s| s.set("Sec-WebSocket-Extensions", "permessage-deflate; =1"),
            &[ExtensionMalformed],
        ),
    ];

    const REQUEST_CASES: &[Case<RequestSpec>] = &[
        ("POST", |s| s.method = "POST".into(), &[MethodNotGet]),
        ("get", |s| s.method = "get".into(), &[MethodNotGet]),
        ("1.0", |s| s.version = "HTTP/1.0".into(), &[HttpVersion]),
        (
            "relative target",
            |s| s.target = "chat".into(),
            &[TargetInvalid],
        ),
        ("asterisk", |s| s.target = "*".into(), &[TargetInvalid]),
        ("no host", |s| s.remove("host"), &[HostMissing]),
        ("empty host", |s| s.set("Host", ""), &[HostMissing]),
        (
            "two hosts",
            |s| s.add("Host", "evil.example"),
            &[HostDuplicated],
        ),
        ("no upgrade", |s| s.remove("Upgrade"), &[UpgradeMissing]),
        (
            "upgrade h2c",
            |s| s.set("Upgrade", "h2c"),
            &[UpgradeNotWebsocket],
        ),
        (
            "no connection",
            |s| s.remove("Connection"),
            &[ConnectionMissingUpgrade],
        ),
        (
            "connection close",
            |s| s.set("Connection", "close"),
            &[ConnectionMissingUpgrade],
        ),
        ("no key", |s| s.remove("Sec-WebSocket-Key"), &[KeyMissing]),
        (
            "two keys",
            |s| s.add("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA=="),
            &[KeyDuplicated],
        ),
        (
            "short key",
            |s| s.set("Sec-WebSocket-Key", "AQIDBA=="),
            &[KeyInvalid],
        ),
        (
            "junk key",
            |s| s.set("Sec-WebSocket-Key", "not a key!"),
            &[KeyInvalid],
        ),
        (
            "erratum 3150 key",
            |s| s.set("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEC=="),
            &[KeyNonCanonical],
        ),
        (
            "no version",
            |s| s.remove("Sec-WebSocket-Version"),
            &[VersionMissing],
        ),
        (
            "version 8",
            |s| s.set("Sec-WebSocket-Version", "8"),
            &[VersionNot13],
        ),
        (
            "two versions",
            |s| s.add("Sec-WebSocket-Version", "13"),
            &[VersionNot13],
        ),
        (
            "repeated protocol",
            |s| s.set("Sec-WebSocket-Protocol", "chat, chat"),
            &[ProtocolInvalid],
        ),
        (
            "non-token protocol",
            |s| s.set("Sec-WebSocket-Protocol", "a b"),
            &[ProtocolInvalid],
        ),
        (
            "empty protocol",
            |s| s.set("Sec-WebSocket-Protocol", ""),
            &[ProtocolInvalid],
        ),
        (
            "malformed extensions",
            |s| s.set("Sec-WebSocket-Extensions", "permessage-deflate;"),
            &[ExtensionMalformed],
        ),
    ];

    #[test]
    fn good_handshakes_are_valid() {
        assert_eq!(response_rules(&good_response()), []);
        assert_eq!(response_rules(&ResponseSpec::switching_protocols(KEY)), []);
        assert_eq!(request_rules(&good_request()), []);
        let plain = RequestSpec::standard("example.com", 80, true, "/", KEY.into());
        assert_eq!(request_rules(&plain), []);
    }

    #[test]
    fn each_rule_triggers_alone() {
        let mut covered = HashSet::new();
        for (name, mutate, want) in RESPONSE_CASES {
            let mut s = good_response();
            mutate(&mut s);
            assert_eq!(response_rules(&s), *want, "response case {name}");
            covered.extend(want.iter().copied());
        }
        for (name, mutate, want) in REQUEST_CASES {
            let mut s = good_request();
            mutate(&mut s);
            assert_eq!(request_rules(&s), *want, "request case {name}");
            covered.extend(want.iter().copied());
        }
        for rule in HandshakeRule::ALL {
            assert!(covered.contains(rule), "no case triggers {rule:?}");
            assert!(rule.section().starts_with("RFC "));
            assert!(!rule.text().is_empty());
        }
    }

    #[test]
    fn lenient_where_the_rfc_is() {
        let mut s = good_response();
        s.set("Connection", "keep-alive, Upgrade");
        s.rename("Upgrade", "upgrade");
        s.set("upgrade", "WebSocket");
        s.set("Sec-WebSocket-Extensions", "permessage-deflate");
        // Erratum 3433: the list may be split over several lines.
        s.add("Sec-WebSocket-Extensions", "x-foo; a=\"1\"");
        assert_eq!(response_rules(&s), []);

        let mut r = good_request();
        r.rename("Upgrade", "UPGRADE");
        r.set("upgrade", "WebSocket");
        r.rename("upgrade", "UPGRADE");
        r.set("connection", "keep-alive, Upgrade");
        r.target = "https://example.com/chat?x=1".into();
        r.add("Sec-WebSocket-Extensions", "x-foo");
        assert_eq!(request_rules(&r), []);
    }

    #[test]
    fn several_problems_reported_together() {
        let mut s = good_response();
        s.remove("Upgrade");
        s.remove("Connection");
        s.set("Sec-WebSocket-Accept", "bogus");
        assert_eq!(
            response_rules(&s),
            [UpgradeMissing, ConnectionMissingUpgrade, AcceptWrong]
        );
        // A non-101 is reported alone, even without any WebSocket headers.
        let s = ResponseSpec::new(426, "Upgrade Required");
        assert_eq!(response_rules(&s), [StatusNot101]);
    }

    #[test]
    fn problem_display_names_rule_section_and_detail() {
        let mut s = good_response();
        s.set("Sec-WebSocket-Accept", "bogus");
        let bytes = s.to_bytes();
        let resp = parse_response(&bytes, 16384).unwrap().unwrap();
        let offer = Offer {
            key: KEY,
            protocols: &protocols(),
            extensions: &extensions(),
        };
        let problems = validate_response(&resp, &offer);
        assert_eq!(
            problems[0].to_string(),
            "AcceptWrong (RFC 6455 §4.1): Sec-WebSocket-Accept: bogus, \
             expected s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert!(AcceptWrong.to_string().starts_with("RFC 6455 §4.1: "));
    }
}
