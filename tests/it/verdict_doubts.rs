//! Verdicts that were in doubt, settled against tiny raw peers: a server that answers a
//! request for `Upgrade: h2c` by switching to h2c (as hypercorn does).

use std::time::Duration;

use tokio::net::TcpStream;
use wsspec::case::Grade;

use crate::common;

/// Answers every request with a 101 that switches to h2c, the answer of an HTTP server
/// that honours `Upgrade: h2c` (RFC 7540 §3.2) whatever else the request says.
async fn switch_to_h2c(mut s: TcpStream) {
    if common::read_request_key(&mut s).await.is_none() {
        return;
    }
    let head = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
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
