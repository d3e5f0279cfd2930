//! Verdicts that were in doubt, settled against tiny raw peers: a server that answers a
//! request for `Upgrade: h2c` by switching to h2c (as hypercorn does), and a client that
//! sends its close frame and drops TCP at once.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wsspec::case::{Case, Grade};
use wsspec::client_mode::{ClientConfig, ClientServer};
use wsspec::codec::Frame;
use wsspec::handshake::{generate_key, parse_response, RequestSpec};
use wsspec::results::Party;

use crate::common;

/// Answers every request with a 101 that switches to h2c, the answer of an HTTP server
/// that honours `Upgrade: h2c` (RFC 7540 §3.2) whatever else the request says.
async fn switch_to_h2c(mut s: TcpStream) {
    if common::read_request_key(&mut s).await.is_none() {
        return;
    }
    // The 101, then at once the server's HTTP/2 connection preface (an empty SETTINGS
    // frame), in the same write as hypercorn's arrive: bytes of HTTP/2, not WebSocket.
    let head = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    if common::write_all(&mut s, head).await {
        common::hold(s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_to_h2c_refuses_only_the_request_that_offered_h2c() {
    let server = common::TestServer::start(switch_to_h2c).await;
    let suite = common::builtin()
        .select(&["handshake.upgrade"], &[])
        .unwrap();
    let cfg = wsspec::run::RunConfig {
        session: wsspec::run::SessionConfig {
            step_timeout: Duration::from_millis(500),
            ..Default::default()
        },
        // The run's echo probe would stop at this server, which speaks no WebSocket.
        probe_echo: false,
        ..Default::default()
    };
    let r = tokio::time::timeout(
        Duration::from_secs(60),
        suite.test_server(&server.url(), &cfg),
    )
    .await
    .expect("the run finishes")
    .expect("the run takes place");
    // The request offered h2c and got it: no WebSocket was accepted, but the refusal is
    // not the HTTP error status RFC 6455 §4.2.1 describes: non-strict.
    let h2c = common::case(&r, "handshake.upgrade.h2c");
    assert_eq!(h2c.verdict, Grade::NonStrict, "{:?}", h2c.reasons);
    assert!(
        h2c.reasons.iter().any(|s| s.contains("switched to h2c")),
        "{:?}",
        h2c.reasons
    );
    assert!(h2c.close.is_none(), "no WebSocket, so no close verdict");
    assert_eq!(
        h2c.reasons.len(),
        1,
        "no frame violations: {:?}",
        h2c.reasons
    );
    // The same answer to a request that did not offer h2c switches to a protocol the
    // client never asked for (RFC 9110 §7.8 forbids it): a failed refusal, and a broken
    // acceptance where a 101 was due.
    for id in [
        "handshake.upgrade.missing",
        "handshake.upgrade.empty",
        "handshake.upgrade.websocket2",
        "handshake.upgrade.case.capitalised",
        "handshake.upgrade.case.upper",
    ] {
        let c = common::case(&r, id);
        assert_eq!(c.verdict, Grade::Fail, "{id}: {:?}", c.reasons);
    }
    assert_eq!(r.cases.len(), 6);
}

/// Client cases whose client closes first: after wsspec's 300 ms pause, the close frame
/// the client sent on its own is expected; the third has wsspec close first.
const EARLY_CLOSE_CASES: &str = r#"
[[case]]
id = "early.close.1000"
title = "The client closes with 1000 and drops TCP at once"
section = "RFC 6455 §7.1.1"
requirement = "The underlying TCP connection, in most normal cases, SHOULD be closed first by the server, so that it holds the TIME_WAIT state and not the client."
level = "MUST"
role = "client"
steps = [{ wait = 300 }, { expect = "close" }]

[[case]]
id = "early.close.1002"
title = "The client fails the connection with 1002 and drops TCP at once"
section = "RFC 6455 §7.1.7"
requirement = "If _The WebSocket Connection is Established_ prior to the point where the endpoint is required to _Fail the WebSocket Connection_, the endpoint SHOULD send a Close frame with an appropriate status code before proceeding to _Close the WebSocket Connection_."
level = "MUST"
role = "client"
steps = [{ wait = 300 }, { expect = "close" }]

[[case]]
id = "early.answer"
title = "The client answers wsspec's close and drops TCP at once"
section = "RFC 6455 §5.5.1"
requirement = "It SHOULD do so by waiting for the server to close the connection but MAY close the connection at any time after sending and receiving a Close message."
level = "MUST"
role = "client"
steps = [{ send = "close", code = 1000 }, { expect = "close" }]
"#;

/// One client connection: the opening handshake, then a masked close frame with `code`
/// (at once, or once wsspec's close frame arrived when `answer`), then the socket is
/// dropped without waiting for anything.
async fn close_early(addr: std::net::SocketAddr, path: &str, code: u16, answer: bool) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let key = generate_key(rand::random());
    let req = RequestSpec::standard("127.0.0.1", addr.port(), false, path, key);
    s.write_all(&req.to_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_len = loop {
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0, "wsspec answered the handshake");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(r) = parse_response(&buf, 16384).unwrap() {
            assert_eq!(r.status, 101);
            break r.head_len;
        }
    };
    if answer {
        // wsspec's close frame: FIN + opcode 0x8, unmasked.
        while buf.len() <= head_len {
            let n = s.read(&mut chunk).await.unwrap();
            assert!(n > 0, "wsspec sent its close frame");
            buf.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(buf[head_len], 0x88, "a close frame came");
    }
    let mut close = Frame::close(Some(code), b"");
    close.mask = Some(rand::random());
    s.write_all(&close.encode().unwrap()).await.unwrap();
    drop(s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_drops_tcp_right_after_its_close_frame() {
    let cases: Vec<Case> = wsspec::case::load_sources([("early.toml", EARLY_CLOSE_CASES)]).unwrap();
    let mut cfg = ClientConfig::default();
    cfg.session.step_timeout = Duration::from_millis(500);
    let server = ClientServer::bind("127.0.0.1:0", cases, cfg).await.unwrap();
    let agent = "early-close";
    let ids: Vec<String> = server.cases().iter().map(|c| c.id.clone()).collect();
    for (i, id) in ids.iter().enumerate() {
        let path = format!("/runCase?case={}&agent={agent}", i + 1);
        let (code, answer) = match id.as_str() {
            "early.close.1000" => (1000, false),
            "early.close.1002" => (1002, false),
            _ => (1000, true),
        };
        tokio::time::timeout(
            Duration::from_secs(10),
            close_early(server.addr(), &path, code, answer),
        )
        .await
        .expect("the client finished in time");
    }
    server.settle(Some(agent)).await;
    let r = server.results(agent).expect("results");
    assert_eq!(r.cases.len(), 3);
    let close = |id: &str| {
        let c = common::case(&r, id);
        let close = c
            .close
            .clone()
            .unwrap_or_else(|| panic!("{id}: a close verdict"));
        (c.verdict, close)
    };
    // Close 1000, then TCP dropped before wsspec's close frame was written: the client did
    // not wait for the server's TCP Close (RFC 6455 §7.1.1 SHOULD) and closed before
    // receiving a Close (outside §5.5.1's MAY): non-strict.
    let (verdict, c) = close("early.close.1000");
    assert_eq!(c.verdict, Grade::NonStrict, "{c:?}");
    assert_eq!(verdict, Grade::NonStrict);
    assert!(c.clean && c.tcp_closed_by == Party::Peer, "{c:?}");
    assert!(
        c.detail.contains("before wsspec's close frame was written"),
        "{}",
        c.detail
    );
    // Close 1002: the client was failing the connection, which §7.1.7 lets it end with
    // TCP: informational, and the case passes.
    let (verdict, c) = close("early.close.1002");
    assert_eq!(c.verdict, Grade::Informational, "{c:?}");
    assert_eq!(verdict, Grade::Pass);
    assert_eq!(c.peer_code, Some(1002));
    // After wsspec's close frame: the MAY of §5.5.1 (or wsspec's FIN first): a pass.
    let (verdict, c) = close("early.answer");
    assert_eq!(c.verdict, Grade::Pass, "{c:?}");
    assert_eq!(verdict, Grade::Pass);
    assert!(c.clean, "{c:?}");
}
