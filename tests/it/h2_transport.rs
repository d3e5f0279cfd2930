//! WebSocket over HTTP/2 (RFC 8441): the extended CONNECT transport against an in-process
//! cleartext (h2c) server built on the `h2` crate, whose WebSocket side is tungstenite
//! running on the stream's bytes.
//!
//! Each bootstrapping case is shown both ways: a correct server passes it, a server with
//! that one bug does not, and a legal variant (a stream error instead of a 4xx) passes.
//! The RFC 6455 corpus runs over the stream unchanged; the HTTP/1.1-only handshake cases
//! are left out, never failed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use wsspec::case::Grade;
use wsspec::results::RunResults;
use wsspec::run::transport::Transport;

/// What the test server gets wrong (or does differently, within the RFC).
#[derive(Debug, Clone, Copy, Default)]
struct Bugs {
    /// Never sends SETTINGS_ENABLE_CONNECT_PROTOCOL.
    no_setting: bool,
    /// Accepts any :protocol with 200.
    any_protocol: bool,
    /// Answers with a Sec-WebSocket-Accept as over HTTP/1.1.
    sends_accept: bool,
    /// Refuses with RST_STREAM (a stream error) instead of a 4xx: legal.
    refuse_by_reset: bool,
    /// Selects a subprotocol nobody offered.
    wrong_subprotocol: bool,
    /// Accepts a request without Sec-WebSocket-Version.
    no_version_check: bool,
    /// Closes the whole HTTP/2 connection when one of its WebSockets fails.
    kills_connection: bool,
}

async fn server(bugs: Bugs) -> SocketAddr {
    server_counting(bugs).await.0
}

/// The server and the number of HTTP/2 connections it accepted.
async fn server_counting(bugs: Bugs) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(connection(tcp, bugs));
        }
    });
    (addr, count)
}

async fn connection<T>(tcp: T, bugs: Bugs)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut b = h2::server::Builder::new();
    if !bugs.no_setting {
        b.enable_connect_protocol();
    }
    let Ok(mut conn) = b.handshake::<_, Bytes>(tcp).await else {
        return;
    };
    let failed = Arc::new(tokio::sync::Notify::new());
    loop {
        tokio::select! {
            next = conn.accept() => match next {
                Some(Ok((req, respond))) => {
                    tokio::spawn(stream(req, respond, bugs, failed.clone()));
                }
                _ => return,
            },
            // Dropping the connection closes TCP under every stream.
            _ = failed.notified(), if bugs.kills_connection => return,
        }
    }
}

fn refuse(mut respond: h2::server::SendResponse<Bytes>, status: u16, bugs: Bugs) {
    if bugs.refuse_by_reset {
        respond.send_reset(h2::Reason::PROTOCOL_ERROR);
        return;
    }
    let resp = http::Response::builder()
        .status(status)
        .header("sec-websocket-version", "13")
        .body(())
        .expect("response");
    let _ = respond.send_response(resp, true);
}

async fn stream(
    req: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    bugs: Bugs,
    failed: Arc<tokio::sync::Notify>,
) {
    let protocol = req
        .extensions()
        .get::<h2::ext::Protocol>()
        .map(|p| p.as_str().to_owned());
    if req.method() != http::Method::CONNECT
        || (protocol.as_deref() != Some("websocket") && !bugs.any_protocol)
        || req.uri().scheme().is_none()
    {
        return refuse(respond, 400, bugs);
    }
    let version = req
        .headers()
        .get("sec-websocket-version")
        .map(|v| v.as_bytes().to_vec());
    if version.as_deref() != Some(b"13") && !bugs.no_version_check {
        return refuse(respond, 400, bugs);
    }
    let offered: Vec<String> = req
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .flat_map(|v| {
            v.to_str()
                .unwrap_or("")
                .split(',')
                .map(|s| s.trim().to_owned())
        })
        .filter(|s| !s.is_empty())
        .collect();
    let mut resp = http::Response::builder().status(200);
    if bugs.wrong_subprotocol {
        resp = resp.header("sec-websocket-protocol", "x-never-offered");
    } else if let Some(p) = offered.iter().find(|p| *p == "chat") {
        resp = resp.header("sec-websocket-protocol", p.as_str());
    }
    if bugs.sends_accept {
        resp = resp.header("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
    let Ok(send) = respond.send_response(resp.body(()).expect("response"), false) else {
        return;
    };
    // The stream's bytes through a pipe, so tungstenite sees an ordinary byte stream.
    let (ws_end, mut pump_end) = tokio::io::duplex(256 * 1024);
    let mut body = req.into_body();
    let mut send = send;
    let pump = async move {
        let mut buf = vec![0u8; 16 * 1024];
        // After the client's END_STREAM the server may still write (a half-closed stream).
        let mut client_ended = false;
        loop {
            tokio::select! {
                data = body.data(), if !client_ended => match data {
                    Some(Ok(d)) => {
                        let n = d.len();
                        if pump_end.write_all(&d).await.is_err() { return; }
                        let _ = body.flow_control().release_capacity(n);
                    }
                    _ => { let _ = pump_end.shutdown().await; client_ended = true; }
                },
                n = pump_end.read(&mut buf) => match n {
                    Ok(0) | Err(_) => { let _ = send.send_data(Bytes::new(), true); return; }
                    Ok(n) => {
                        let mut chunk = Bytes::copy_from_slice(&buf[..n]);
                        while !chunk.is_empty() {
                            send.reserve_capacity(chunk.len());
                            let cap = match std::future::poll_fn(|cx| send.poll_capacity(cx)).await {
                                Some(Ok(c)) => c,
                                _ => return,
                            };
                            let part = chunk.split_to(cap.min(chunk.len()));
                            if send.send_data(part, false).is_err() { return; }
                        }
                    }
                },
            }
        }
    };
    // Dropping the socket ends the pipe: END_STREAM after the closing handshake.
    let echo = async move {
        let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(ws_end, Role::Server, None);
        if !echo(ws.await).await {
            failed.notify_one();
        }
    };
    tokio::join!(pump, echo);
}

async fn run(bugs: Bugs, include: &[&str]) -> RunResults {
    run_on(server(bugs).await, None, include).await
}

/// Runs the cases `include` against `addr` over HTTP/2, sharing connections when `pool`.
async fn run_on(
    addr: SocketAddr,
    pool: Option<Arc<wsspec::run::h2::Pool>>,
    include: &[&str],
) -> RunResults {
    let cfg = wsspec::run::RunConfig {
        jobs: 8,
        session: wsspec::run::SessionConfig {
            step_timeout: Duration::from_millis(3000),
            transport: Transport::Http2,
            h2_pool: pool,
            ..Default::default()
        },
        ..Default::default()
    };
    let suite = wsspec::Suite::builtin()
        .expect("built-in cases")
        .select(include, &["limits", "deflate.volume"])
        .expect("patterns");
    tokio::time::timeout(
        Duration::from_secs(120),
        suite.test_server(&format!("ws://{addr}/chat"), &cfg),
    )
    .await
    .expect("the run finishes")
    .expect("the run takes place")
}

fn verdict(r: &RunResults, id: &str) -> Grade {
    crate::common::case(r, id).verdict
}

fn show(r: &RunResults, id: &str) -> String {
    let c = crate::common::case(r, id);
    format!("{id}: {:?} {:?}", c.verdict, c.reasons)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_server_passes_the_bootstrapping_cases() {
    let r = run(Bugs::default(), &["h2"]).await;
    assert_eq!(r.transport, "h2c");
    for id in [
        "h2.connect.accepted",
        "h2.connect.no-accept-header",
        "h2.connect.subprotocol",
        "h2.protocol.unknown",
        "h2.connect.version-missing",
        "h2.close.end-stream",
    ] {
        assert_eq!(verdict(&r, id), Grade::Pass, "{}", show(&r, id));
    }
    // tungstenite's server side has no permessage-deflate: the feature is missing, not broken.
    assert_eq!(
        verdict(&r, "h2.connect.deflate"),
        Grade::Unimplemented,
        "{}",
        show(&r, "h2.connect.deflate")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bootstrapping_bug_shows() {
    let r = run(
        Bugs {
            any_protocol: true,
            ..Default::default()
        },
        &["h2.protocol"],
    )
    .await;
    assert_eq!(
        verdict(&r, "h2.protocol.unknown"),
        Grade::NonStrict,
        "{}",
        show(&r, "h2.protocol.unknown")
    );
    let r = run(
        Bugs {
            sends_accept: true,
            ..Default::default()
        },
        &["h2.connect.no-accept-header", "h2.connect.accepted"],
    )
    .await;
    assert_eq!(
        verdict(&r, "h2.connect.no-accept-header"),
        Grade::Informational
    );
    // Harmless elsewhere: RFC 8441 only says it is not processed.
    assert_eq!(verdict(&r, "h2.connect.accepted"), Grade::Pass);
    let r = run(
        Bugs {
            wrong_subprotocol: true,
            ..Default::default()
        },
        &["h2.connect.subprotocol"],
    )
    .await;
    assert_eq!(verdict(&r, "h2.connect.subprotocol"), Grade::Fail);
    let r = run(
        Bugs {
            no_version_check: true,
            ..Default::default()
        },
        &["h2.connect.version-missing"],
    )
    .await;
    assert_eq!(verdict(&r, "h2.connect.version-missing"), Grade::Fail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_error_is_a_legal_refusal() {
    let r = run(
        Bugs {
            refuse_by_reset: true,
            ..Default::default()
        },
        &["h2.protocol", "h2.connect.version-missing"],
    )
    .await;
    for c in &r.cases {
        assert_eq!(c.verdict, Grade::Pass, "{:?}", c.reasons);
        assert!(
            c.checks.iter().any(|k| k.observed.contains("RST_STREAM")),
            "the refusal was a reset: {:?}",
            c.checks
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_the_setting_is_an_error_before_any_case() {
    let addr = server(Bugs {
        no_setting: true,
        ..Default::default()
    })
    .await;
    let cfg = wsspec::run::RunConfig {
        session: wsspec::run::SessionConfig {
            connect_timeout: Duration::from_millis(500),
            transport: Transport::Http2,
            ..Default::default()
        },
        ..Default::default()
    };
    let err = wsspec::Suite::builtin()
        .expect("cases")
        .select(&["h2"], &[])
        .expect("patterns")
        .test_server(&format!("ws://{addr}/"), &cfg)
        .await
        .expect_err("no extended CONNECT, no run");
    assert!(
        err.to_string().contains("SETTINGS_ENABLE_CONNECT_PROTOCOL"),
        "{err}"
    );
}

/// The same tungstenite echo over HTTP/1.1, to compare verdicts with.
async fn http1_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
                    let _ = echo(ws).await;
                }
            });
        }
    });
    addr
}

/// Echoes until the connection ends; false when it ended in an error (a protocol error
/// tungstenite failed the connection on).
async fn echo<S>(mut ws: tokio_tungstenite::WebSocketStream<S>) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(m) = ws.next().await {
        let Ok(m) = m else { return false };
        if matches!(m, Message::Text(_) | Message::Binary(_)) && ws.send(m).await.is_err() {
            break;
        }
    }
    true
}

const CORPUS: &[&str] = &[
    "framing",
    "control",
    "fragmentation",
    "close",
    "utf8",
    "reserved",
    "masking",
    "misc",
    "handshake",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rfc6455_corpus_runs_over_a_stream_as_over_tcp() {
    // The handshakes are each server's own code (tungstenite's HTTP/1.1 one, this file's
    // extended CONNECT one): the frames after them are what must be judged alike.
    let over_h2 = run(Bugs::default(), CORPUS).await;
    assert!(over_h2.cases.len() > 50, "{} cases", over_h2.cases.len());
    // The HTTP/1.1-only handshake cases did not run; those that still apply did.
    assert!(!over_h2
        .cases
        .iter()
        .any(|c| c.id.starts_with("handshake.upgrade.")));
    assert!(over_h2
        .cases
        .iter()
        .any(|c| c.id.starts_with("handshake.subprotocol.")));
    let addr = http1_server().await;
    let cfg = wsspec::run::RunConfig {
        jobs: 8,
        session: wsspec::run::SessionConfig {
            step_timeout: Duration::from_millis(3000),
            ..Default::default()
        },
        ..Default::default()
    };
    let over_tcp = wsspec::Suite::builtin()
        .expect("cases")
        .select(CORPUS, &[])
        .expect("patterns")
        .test_server(&format!("ws://{addr}/chat"), &cfg)
        .await
        .expect("the run takes place");
    assert_eq!(over_tcp.transport, "http/1.1");
    let mut differ = Vec::new();
    for c in &over_h2.cases {
        let Some(t) = over_tcp.cases.iter().find(|t| t.id == c.id) else {
            panic!("{} ran over h2 only", c.id);
        };
        if t.verdict != c.verdict && !c.id.starts_with("handshake.") {
            differ.push(format!(
                "{}: over TCP {:?}, over h2 {:?} {:?}",
                c.id, t.verdict, c.verdict, c.reasons
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "the same echo is judged differently over h2:\n{}",
        differ.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_the_server_is_reached_with_alpn_h2() {
    use wsspec::run::tls::{self, Trust};
    let c = tls::self_signed(&["127.0.0.1".to_owned()]).expect("certificate");
    let server_cfg = tls::server_config(vec![c.cert.clone()], c.key.clone_key()).expect("config");
    let mut server_cfg = (*server_cfg).clone();
    server_cfg.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server_cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    connection(tls, Bugs::default()).await;
                }
            });
        }
    });
    let cfg = wsspec::run::RunConfig {
        session: wsspec::run::SessionConfig {
            transport: Transport::Http2,
            tls: Some(tls::client_config(&Trust::Anchors(vec![c.cert.clone()]))),
            ..Default::default()
        },
        ..Default::default()
    };
    let r = wsspec::Suite::builtin()
        .expect("cases")
        .select(&["h2.connect.accepted", "framing"], &[])
        .expect("patterns")
        .test_server(&format!("wss://{addr}/"), &cfg)
        .await
        .expect("the run takes place");
    assert_eq!(r.transport, "h2");
    assert!(r.cases.len() > 5);
    for c in &r.cases {
        assert_eq!(c.verdict, Grade::Pass, "{}: {:?}", c.id, c.reasons);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failed_websocket_leaves_the_others_of_the_connection_open() {
    let id = "h2.multiplex.stream-error-isolated";
    let r = run(Bugs::default(), &[id]).await;
    assert_eq!(verdict(&r, id), Grade::Pass, "{}", show(&r, id));
    // The second stream really was failed: tungstenite gives up on the reserved opcode
    // and the test server ends that stream.
    let case = r.cases.iter().find(|c| c.id == id).expect("ran");
    let notes = serde_json::to_string(&case.transcript).expect("json");
    assert!(
        notes.contains("second WebSocket stream") && notes.contains("then END_STREAM"),
        "{notes}"
    );

    // A server that closes the whole connection when one WebSocket fails takes the
    // case's own stream down with it: HTTP/2 allows it (RFC 9113 §5.4.1), so non-strict.
    let r = run(
        Bugs {
            kills_connection: true,
            ..Default::default()
        },
        &[id],
    )
    .await;
    assert_eq!(verdict(&r, id), Grade::NonStrict, "{}", show(&r, id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_streams_share_connections_and_judge_alike() {
    const SOME: &[&str] = &["framing", "control", "close.code", "h2"];
    let alone = run(Bugs::default(), SOME).await;
    let (addr, connections) = server_counting(Bugs::default()).await;
    let pooled = run_on(addr, Some(Arc::new(wsspec::run::h2::Pool::new(8))), SOME).await;
    assert_eq!(alone.cases.len(), pooled.cases.len());
    // The probe's connection, then at most one per 8 concurrent cases (a connection is
    // reused as its streams end): far fewer than one per case.
    let opened = connections.load(Ordering::SeqCst);
    assert!(
        opened * 4 < pooled.cases.len(),
        "{opened} connections for {} cases",
        pooled.cases.len()
    );
    let differ: Vec<String> = alone
        .cases
        .iter()
        .zip(&pooled.cases)
        .filter(|(a, p)| a.verdict != p.verdict)
        .map(|(a, p)| {
            format!(
                "{}: alone {:?}, pooled {:?} {:?}",
                a.id, a.verdict, p.verdict, p.reasons
            )
        })
        .collect();
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
