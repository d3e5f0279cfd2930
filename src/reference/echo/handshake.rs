//! The echo server's opening handshake: RFC 6455 §4.2 checks (skipped one at a time by
//! flaws), the error responses §4.2.1 and §4.2.2 ask for, and the 101 with the
//! permessage-deflate agreement.

use tokio::io::{AsyncRead, AsyncWrite};

use super::io::{read_some, write_all, MAX_HEAD};
use super::{EchoConfig, Flaws};
use crate::handshake::{
    accept_key, parse_request, validate_request, HandshakeRule, Request, ResponseSpec,
};
use crate::reference::permessage_deflate::{negotiate, offers, Agreement};

/// Whether `flaws` make the server skip the check of `rule`.
fn unchecked(rule: HandshakeRule, flaws: &Flaws) -> bool {
    use HandshakeRule::*;
    match rule {
        UpgradeMissing | UpgradeNotWebsocket => flaws.accept_any_upgrade,
        ConnectionMissingUpgrade => flaws.accept_any_connection,
        KeyMissing | KeyInvalid => flaws.accept_bad_key,
        KeyDuplicated => flaws.accept_duplicate_key,
        HostMissing => flaws.accept_missing_host,
        VersionMissing | VersionNot13 => flaws.accept_any_version,
        MethodNotGet => flaws.accept_any_method,
        HttpVersion => flaws.accept_http_1_0,
        _ => false,
    }
}

/// The request asks for exactly version 8 (hybi-08).
fn version_8(req: &Request) -> bool {
    let mut v = req.headers_named("Sec-WebSocket-Version");
    matches!((v.next(), v.next()), (Some(b), None) if b.trim_ascii() == b"8")
}

/// The reason a request is refused, as a complete HTTP response, or None to accept it.
fn refusal(req: &Request, flaws: &Flaws) -> Option<ResponseSpec> {
    let mut problems: Vec<HandshakeRule> = validate_request(req)
        .into_iter()
        .map(|p| p.rule)
        // Rejecting a key with non-zero pad bits is optional (erratum 3150).
        .filter(|r| *r != HandshakeRule::KeyNonCanonical)
        .filter(|r| !unchecked(*r, flaws))
        .filter(|r| {
            !(*r == HandshakeRule::VersionNot13 && flaws.accept_version_8 && version_8(req))
        })
        .collect();
    if flaws.upgrade_case_sensitive
        && !req
            .headers_named("Upgrade")
            .any(|v| v == b"websocket".as_slice())
    {
        problems.push(HandshakeRule::UpgradeNotWebsocket);
    }
    if flaws.connection_exact_match
        && !req
            .headers_named("Connection")
            .any(|v| v.eq_ignore_ascii_case(b"upgrade"))
    {
        problems.push(HandshakeRule::ConnectionMissingUpgrade);
    }
    if problems.is_empty() {
        return None;
    }
    let mut r = if problems.contains(&HandshakeRule::VersionNot13) {
        let mut r = ResponseSpec::new(426, "Upgrade Required");
        if !flaws.version_no_426_header {
            r.add("Sec-WebSocket-Version", "13");
        }
        r
    } else if problems.contains(&HandshakeRule::HttpVersion) && flaws.refuse_http_1_0_with_505 {
        ResponseSpec::new(505, "HTTP Version Not Supported")
    } else if problems.contains(&HandshakeRule::MethodNotGet) {
        let mut r = ResponseSpec::new(405, "Method Not Allowed");
        r.add("Allow", "GET");
        r
    } else {
        ResponseSpec::new(400, "Bad Request")
    };
    r.add("Connection", "close");
    r.add("Content-Length", "0");
    Some(r)
}

/// What the opening handshake left: the bytes received after the request head (frames the
/// client sent along with it) and the permessage-deflate agreement, if any.
pub(super) struct Opened {
    pub early: Vec<u8>,
    pub deflate: Option<Agreement>,
}

/// Reads (after `prefix`, bytes already read from this connection) and answers the opening
/// handshake; None when the connection is over (refused, or gone).
pub(super) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    prefix: Vec<u8>,
    cfg: &EchoConfig,
) -> Option<Opened> {
    let flaws = &cfg.flaws;
    let mut head = prefix;
    let mut buf = vec![0u8; 4096];
    let req = loop {
        match parse_request(&head, MAX_HEAD) {
            Ok(None) => {}
            Ok(Some(r)) => break Ok(r),
            Err(e) => break Err(e),
        }
        let n = read_some(s, &mut buf).await?;
        head.extend_from_slice(&buf[..n]);
    };
    let refused = match &req {
        Ok(r) => refusal(r, flaws),
        Err(_) => Some({
            let mut r = ResponseSpec::new(400, "Bad Request");
            r.add("Connection", "close");
            r.add("Content-Length", "0");
            r
        }),
    };
    if let Some(resp) = refused {
        if !flaws.no_error_response {
            write_all(s, &resp.to_bytes()).await;
        }
        return None;
    }
    let req = req.expect("refused above otherwise");
    let key =
        String::from_utf8_lossy(req.header("Sec-WebSocket-Key").unwrap_or_default()).into_owned();
    let mut resp = ResponseSpec::switching_protocols(&key);
    if flaws.wrong_accept {
        resp.set(
            "Sec-WebSocket-Accept",
            &accept_key(&key[..key.len().saturating_sub(1)]),
        );
    }
    if flaws.pick_unoffered_subprotocol && req.header("Sec-WebSocket-Protocol").is_some() {
        resp.add("Sec-WebSocket-Protocol", "x-wsspec-not-offered");
    }
    let mut deflate = None;
    if flaws.echo_unknown_extension {
        // The offer goes back as it came; nothing is negotiated, so nothing is compressed.
        for v in req.headers_named("Sec-WebSocket-Extensions") {
            resp.add("Sec-WebSocket-Extensions", &String::from_utf8_lossy(v));
        }
    } else {
        deflate = negotiate(&offers(&req), &cfg.deflate, flaws);
        if let Some(a) = &deflate {
            resp.add("Sec-WebSocket-Extensions", &a.response);
        }
    }
    if !write_all(s, &resp.to_bytes()).await {
        return None;
    }
    let early = if flaws.drop_early_frames {
        Vec::new()
    } else {
        head.split_off(req.head_len)
    };
    Some(Opened { early, deflate })
}
