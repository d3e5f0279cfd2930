//! Heartbeats (RFC 6455 §5.5.2-§5.5.3) and the TCP view of closing (§7.1.1, §5.5.1), each
//! proved both ways against small loopback servers: a correct peer passes, a peer with the
//! bug fails, and a legal variant (no heartbeat at all, pongs to the latest ping only, a
//! flood refused with a close, a keep-alive timeout) is not failed.

use crate::common;

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use common::{accept_handshake, case, TestServer};
use wsspec::case::Grade;
use wsspec::codec::{Decoder, DecoderConfig, Expect, Frame, OpCode};
use wsspec::results::{Party, RunResults, TcpEnd};
use wsspec::run::{RunConfig, SessionConfig};

/// How the test server answers wsspec's pings.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Pongs {
    /// Each at once, as most implementations do.
    Each,
    /// Only the latest, this long after the first unanswered one (RFC 6455 §5.5.3 allows it).
    LatestAfter(Duration),
    /// None: the bug.
    Never,
}

/// How the test server ends TCP after the closing handshake.
#[derive(Clone, Copy, Debug, PartialEq)]
enum TcpAfterClose {
    Fin,
    Rst,
    /// Never: the server leaves TCP open for wsspec to close.
    Open,
}

#[derive(Clone, Copy, Debug)]
struct Peer {
    /// Pings this long after the handshake, once (a heartbeat), and reports the delay to
    /// wsspec's pong.
    ping_after: Option<Duration>,
    /// With no pong this long after its ping, closes with 1011 (a keep-alive timeout).
    keepalive_timeout: Option<Duration>,
    pongs: Pongs,
    /// Refuses a flood: past this many pings, closes with 1008 and ends TCP.
    flood_limit: Option<usize>,
    tcp: TcpAfterClose,
}

impl Default for Peer {
    fn default() -> Self {
        Peer {
            ping_after: None,
            keepalive_timeout: None,
            pongs: Pongs::Each,
            flood_limit: None,
            tcp: TcpAfterClose::Fin,
        }
    }
}

async fn send(s: &mut TcpStream, f: Frame) -> bool {
    let bytes = f.encode().expect("the frame encodes");
    matches!(
        tokio::time::timeout(Duration::from_secs(5), s.write_all(&bytes)).await,
        Ok(Ok(()))
    )
}

/// One connection of the test server: echoes messages, answers pings as `p.pongs` says,
/// and pings and times out as configured; `delays` gets the time from its ping to the pong.
async fn serve(mut s: TcpStream, p: Peer, delays: mpsc::UnboundedSender<Duration>) {
    if !accept_handshake(&mut s).await {
        return;
    }
    let start = Instant::now();
    let mut dec = Decoder::new(DecoderConfig::new(Expect::Masked));
    let mut buf = vec![0u8; 64 * 1024];
    let mut pinged = false;
    let mut ping_sent: Option<Instant> = None;
    let mut latest: Option<(Vec<u8>, Instant)> = None;
    let mut pings = 0usize;
    loop {
        let mut deadline = start + Duration::from_secs(20);
        if let (Some(a), false) = (p.ping_after, pinged) {
            deadline = deadline.min(start + a);
        }
        if let (Some(t), Some(at)) = (p.keepalive_timeout, ping_sent) {
            deadline = deadline.min(at + t);
        }
        if let Some((_, at)) = &latest {
            deadline = deadline.min(*at);
        }
        let read = tokio::time::timeout_at(deadline.into(), s.read(&mut buf)).await;
        let n = match read {
            Err(_) => {
                let now = Instant::now();
                if !pinged && p.ping_after.is_some_and(|a| now >= start + a) {
                    pinged = true;
                    ping_sent = Some(now);
                    if !send(&mut s, Frame::new(OpCode::PING.0, b"beat".to_vec())).await {
                        return;
                    }
                }
                if let (Some(t), Some(at)) = (p.keepalive_timeout, ping_sent) {
                    if now >= at + t {
                        let _ = send(&mut s, Frame::close(Some(1011), b"keepalive timeout")).await;
                        // Waits for wsspec's close, then closes TCP as a server does.
                        let _ =
                            tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await;
                        return;
                    }
                }
                if let Some((payload, at)) = latest.take() {
                    if now >= at {
                        if !send(&mut s, Frame::new(OpCode::PONG.0, payload)).await {
                            return;
                        }
                    } else {
                        latest = Some((payload, at));
                    }
                }
                continue;
            }
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(n)) => n,
        };
        dec.feed(&buf[..n]);
        while let Ok(Some(df)) = dec.next_frame() {
            let f = df.frame;
            match OpCode(f.opcode) {
                OpCode::PING => {
                    pings += 1;
                    if p.flood_limit.is_some_and(|l| pings > l) {
                        let _ = send(&mut s, Frame::close(Some(1008), b"ping flood")).await;
                        return;
                    }
                    match p.pongs {
                        Pongs::Each => {
                            if !send(&mut s, Frame::new(OpCode::PONG.0, f.payload)).await {
                                return;
                            }
                        }
                        Pongs::LatestAfter(d) => {
                            let at = latest.as_ref().map_or(Instant::now() + d, |(_, at)| *at);
                            latest = Some((f.payload, at));
                        }
                        Pongs::Never => {}
                    }
                }
                OpCode::PONG => {
                    if let (Some(at), true) = (ping_sent, f.payload == b"beat") {
                        let _ = delays.send(at.elapsed());
                        ping_sent = None;
                    }
                }
                OpCode::TEXT | OpCode::BINARY
                    if !send(&mut s, Frame::new(f.opcode, f.payload.clone())).await =>
                {
                    return;
                }
                OpCode::CLOSE => {
                    let code = (f.payload.len() >= 2)
                        .then(|| u16::from_be_bytes([f.payload[0], f.payload[1]]));
                    let _ = send(&mut s, Frame::close(code, b"")).await;
                    match p.tcp {
                        TcpAfterClose::Fin => {
                            let _ = s.shutdown().await;
                            // Reads wsspec's FIN before dropping, so no RST follows.
                            let _ = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
                                .await;
                        }
                        TcpAfterClose::Rst => {
                            #[allow(deprecated)]
                            let _ = s.set_linger(Some(Duration::ZERO));
                        }
                        TcpAfterClose::Open => {
                            let _ = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
                                .await;
                        }
                    }
                    return;
                }
                _ => {}
            }
        }
    }
}

/// Runs the built-in cases matching `ids` against a test server behaving as `p`, with
/// `--idle` `idle`; returns the results and the delays of wsspec's pongs the server saw.
async fn run(p: Peer, ids: &[&str], idle: Duration) -> (RunResults, Vec<Duration>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let server = TestServer::start(move |s| serve(s, p, tx.clone())).await;
    let cfg = RunConfig {
        session: SessionConfig {
            step_timeout: Duration::from_millis(1500),
            idle,
            ..Default::default()
        },
        probe_echo: false,
        ..Default::default()
    };
    let suite = common::builtin().select(ids, &[]).unwrap();
    let r = tokio::time::timeout(
        Duration::from_secs(60),
        suite.test_server(&server.url(), &cfg),
    )
    .await
    .expect("the run ends")
    .expect("the run takes place");
    drop(server);
    let mut delays = Vec::new();
    while let Ok(d) = rx.try_recv() {
        delays.push(d);
    }
    (r, delays)
}

fn verdict(r: &RunResults, id: &str) -> Grade {
    case(r, id).verdict
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_is_seen_and_answered_at_once_and_no_heartbeat_is_informational() {
    let pinger = Peer {
        ping_after: Some(Duration::from_millis(200)),
        ..Default::default()
    };
    let (r, delays) = run(pinger, &["heartbeat.idle.ping"], Duration::from_secs(1)).await;
    let c = case(&r, "heartbeat.idle.ping");
    assert_eq!(c.verdict, Grade::Pass, "{:?}", c.reasons);
    let ping = &c
        .checks
        .iter()
        .find(|k| k.expected.contains("a ping"))
        .unwrap();
    assert!(
        ping.observed.starts_with("ping with 4 bytes after "),
        "{}",
        ping.observed
    );
    assert_eq!(delays.len(), 1, "the server got wsspec's pong");
    assert!(
        delays[0] < Duration::from_millis(300),
        "pong after {:?}",
        delays[0]
    );

    // The RFC asks for no keep-alive: a silent peer is informational, never a failure.
    let (r, _) = run(
        Peer::default(),
        &["heartbeat.idle.ping"],
        Duration::from_millis(300),
    )
    .await;
    let c = case(&r, "heartbeat.idle.ping");
    assert_eq!(c.verdict, Grade::Informational, "{:?}", c.reasons);
    assert!(c.reasons[0].contains("nothing within"), "{:?}", c.reasons);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pongs_to_the_latest_ping_only_pass_and_no_pongs_fail() {
    let ids = [
        "heartbeat.pings.latest",
        "heartbeat.ping-flood",
        "heartbeat.unsolicited-pongs",
    ];
    let (r, _) = run(Peer::default(), &ids, Duration::from_secs(1)).await;
    for id in ids {
        assert_eq!(
            verdict(&r, id),
            Grade::Pass,
            "{id}: {:?}",
            case(&r, id).reasons
        );
    }
    let latest = Peer {
        pongs: Pongs::LatestAfter(Duration::from_millis(100)),
        ..Default::default()
    };
    let (r, _) = run(latest, &ids, Duration::from_secs(1)).await;
    for id in ids {
        assert_eq!(
            verdict(&r, id),
            Grade::Pass,
            "{id}: {:?}",
            case(&r, id).reasons
        );
    }
    let deaf = Peer {
        pongs: Pongs::Never,
        ..Default::default()
    };
    let (r, _) = run(deaf, &ids, Duration::from_secs(1)).await;
    for id in ids {
        assert_eq!(
            verdict(&r, id),
            Grade::Fail,
            "{id}: {:?}",
            case(&r, id).reasons
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_refused_with_a_close_is_a_limit_not_a_failure() {
    let refuser = Peer {
        flood_limit: Some(100),
        ..Default::default()
    };
    let (r, _) = run(refuser, &["heartbeat.ping-flood"], Duration::from_secs(1)).await;
    let c = case(&r, "heartbeat.ping-flood");
    assert_eq!(c.verdict, Grade::Informational, "{:?}", c.reasons);
    assert!(
        c.reasons.iter().any(|s| s.contains("close 1008")),
        "{:?}",
        c.reasons
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_timeout_is_informational_with_its_time() {
    let keeper = Peer {
        ping_after: Some(Duration::from_millis(100)),
        keepalive_timeout: Some(Duration::from_millis(300)),
        ..Default::default()
    };
    let (r, delays) = run(
        keeper,
        &["heartbeat.keepalive.unanswered"],
        Duration::from_secs(1),
    )
    .await;
    assert!(
        delays.is_empty(),
        "wsspec answered a ping with pongs = false"
    );
    let c = case(&r, "heartbeat.keepalive.unanswered");
    assert_eq!(c.verdict, Grade::Informational, "{:?}", c.reasons);
    let closed = c.checks.last().unwrap();
    assert!(closed.matched, "{closed:?}");
    assert!(
        closed.observed.starts_with("close 1011"),
        "{}",
        closed.observed
    );
    // The time from the unanswered ping to the close, about the server's 300 ms.
    let ms: f64 = closed
        .observed
        .rsplit("after ")
        .next()
        .and_then(|t| t.trim_end_matches(" ms").parse().ok())
        .expect("the observed line ends with the time");
    assert!((250.0..1000.0).contains(&ms), "{}", closed.observed);
    // The case is opt-in: a run without --cases leaves it out.
    let selected = common::builtin().select(&[], &[]).unwrap();
    assert!(selected
        .cases()
        .iter()
        .all(|c| c.id != "heartbeat.keepalive.unanswered"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_close_verdict_records_fin_rst_and_a_server_that_never_closes() {
    let ids = ["close.server-closes-tcp", "control.ping.empty"];
    let (r, _) = run(Peer::default(), &ids, Duration::from_secs(1)).await;
    for id in ids {
        let close = case(&r, id).close.clone().expect("a close verdict");
        assert_eq!(close.verdict, Grade::Pass, "{id}: {close:?}");
        let tcp = close.tcp.expect("the TCP view");
        assert_eq!(tcp.first, Party::Peer);
        assert_eq!(tcp.peer_end, Some(TcpEnd::Fin));
        assert!(
            tcp.summary.starts_with("server sent FIN "),
            "{}",
            tcp.summary
        );
        assert!(
            tcp.summary.contains("after its close frame"),
            "{}",
            tcp.summary
        );
    }

    let reset = Peer {
        tcp: TcpAfterClose::Rst,
        ..Default::default()
    };
    let (r, _) = run(reset, &ids, Duration::from_secs(1)).await;
    let tcp = case(&r, "control.ping.empty")
        .close
        .clone()
        .unwrap()
        .tcp
        .unwrap();
    assert_eq!(tcp.peer_end, Some(TcpEnd::Rst), "{}", tcp.summary);
    assert!(
        tcp.summary.starts_with("server reset TCP (RST) "),
        "{}",
        tcp.summary
    );

    // §7.1.1: the server SHOULD close TCP first; one that leaves it open is non-strict.
    let lingerer = Peer {
        tcp: TcpAfterClose::Open,
        ..Default::default()
    };
    let (r, _) = run(lingerer, &ids, Duration::from_secs(1)).await;
    // The SHOULD case misses its tcp_closed expectation (and stops there).
    let c = case(&r, "close.server-closes-tcp");
    assert_eq!(c.verdict, Grade::NonStrict, "{:?}", c.reasons);
    // Any other case: its close verdict says it, softened as a SHOULD.
    let c = case(&r, "control.ping.empty");
    let close = c.close.clone().expect("a close verdict");
    assert_eq!(close.verdict, Grade::NonStrict, "{close:?}");
    assert_eq!(c.verdict, Grade::NonStrict, "{:?}", c.reasons);
    let tcp = close.tcp.unwrap();
    assert_eq!(tcp.first, Party::Wsspec);
    // The server closes only when wsspec's FIN comes, after the step timeout.
    assert!(
        tcp.summary
            .starts_with("wsspec sent FIN 1.5 s after its close frame; then server sent FIN"),
        "{}",
        tcp.summary
    );
}

// ---- client mode: wsspec is the server ----

/// How the test client ends TCP once the closing handshake is under way.
#[derive(Clone, Copy, Debug, PartialEq)]
enum ClientEnd {
    /// Waits for wsspec's FIN, then closes: what RFC 6455 §7.1.1 asks.
    Waits,
    /// Closes right after answering wsspec's close frame (§5.5.1's MAY).
    AfterClose,
}

/// One runCase connection of a raw client: echoes, answers pings, pings `ping_after`
/// after the handshake; returns the delay of wsspec's pong to its ping.
async fn client_case(
    addr: std::net::SocketAddr,
    path: &str,
    ping_after: Option<Duration>,
    end: ClientEnd,
) -> Option<Duration> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    s.set_nodelay(true).ok()?;
    let key = wsspec::handshake::generate_key(rand::random());
    let req = wsspec::handshake::RequestSpec::standard("127.0.0.1", addr.port(), false, path, key);
    s.write_all(&req.to_bytes()).await.ok()?;
    let mut head = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let resp = loop {
        let n = s.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        head.extend_from_slice(&chunk[..n]);
        if let Some(r) = wsspec::handshake::parse_response(&head, 16384).ok()? {
            break r;
        }
    };
    if resp.status != 101 {
        return None;
    }
    let masked = |mut f: Frame| {
        f.mask = Some(rand::random());
        f.encode().unwrap()
    };
    let mut dec = Decoder::new(DecoderConfig::new(Expect::Unmasked));
    dec.feed(&head[resp.head_len..]);
    let start = Instant::now();
    let mut ping_sent: Option<Instant> = None;
    let mut delay = None;
    loop {
        while let Ok(Some(df)) = dec.next_frame() {
            let f = df.frame;
            match OpCode(f.opcode) {
                OpCode::PING => s.write_all(&masked(Frame::pong(f.payload))).await.ok()?,
                OpCode::PONG if f.payload == b"beat" => {
                    delay = ping_sent.map(|t| t.elapsed());
                }
                OpCode::TEXT | OpCode::BINARY => {
                    s.write_all(&masked(Frame::new(f.opcode, f.payload)))
                        .await
                        .ok()?;
                }
                OpCode::CLOSE => {
                    let code = (f.payload.len() >= 2)
                        .then(|| u16::from_be_bytes([f.payload[0], f.payload[1]]));
                    s.write_all(&masked(Frame::close(code, b""))).await.ok()?;
                    if end == ClientEnd::AfterClose {
                        let _ = s.shutdown().await;
                        return delay;
                    }
                }
                _ => {}
            }
        }
        let wait = match (ping_after, ping_sent) {
            (Some(a), None) => (start + a).saturating_duration_since(Instant::now()),
            _ => Duration::from_secs(10),
        };
        match tokio::time::timeout(wait, s.read(&mut chunk)).await {
            Err(_) => {
                ping_sent = Some(Instant::now());
                s.write_all(&masked(Frame::new(OpCode::PING.0, b"beat".to_vec())))
                    .await
                    .ok()?;
            }
            Ok(Ok(0)) | Ok(Err(_)) => return delay,
            Ok(Ok(n)) => dec.feed(&chunk[..n]),
        }
    }
}

/// Runs the built-in client-role cases `ids` with one raw client connection each;
/// returns the results and the delays of wsspec's pongs to the client's pings.
async fn client_run(
    ids: &[&str],
    ping_after: Option<Duration>,
    end: ClientEnd,
) -> (RunResults, Vec<Duration>) {
    let suite = common::builtin().select(ids, &[]).unwrap();
    let cases: Vec<_> = suite
        .cases()
        .iter()
        .filter(|c| c.role.applies_to(wsspec::case::Role::Client))
        .cloned()
        .collect();
    let mut cfg = wsspec::client_mode::ClientConfig::default();
    cfg.session.step_timeout = Duration::from_millis(1500);
    cfg.session.idle = Duration::from_secs(1);
    let server = wsspec::client_mode::ClientServer::bind("127.0.0.1:0", cases, cfg)
        .await
        .unwrap();
    let mut delays = Vec::new();
    for n in 1..=server.cases().len() {
        let path = format!("/runCase?case={n}&agent=raw");
        let d = tokio::time::timeout(
            Duration::from_secs(20),
            client_case(server.addr(), &path, ping_after, end),
        )
        .await
        .expect("the case ends");
        delays.extend(d);
        server.settle(Some("raw")).await;
    }
    (server.results("raw").expect("results"), delays)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_heartbeat_is_answered_at_once() {
    let ids = ["heartbeat.idle.ping"];
    let (r, delays) = client_run(&ids, Some(Duration::from_millis(200)), ClientEnd::Waits).await;
    let c = case(&r, "heartbeat.idle.ping");
    assert_eq!(c.verdict, Grade::Pass, "{:?}", c.reasons);
    assert_eq!(delays.len(), 1);
    assert!(
        delays[0] < Duration::from_millis(300),
        "pong after {:?}",
        delays[0]
    );
    let (r, _) = client_run(&ids, None, ClientEnd::Waits).await;
    assert_eq!(verdict(&r, "heartbeat.idle.ping"), Grade::Informational);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_waits_for_the_server_s_fin_or_uses_the_may_passes() {
    let ids = ["heartbeat.unsolicited-pongs", "control.client.ping.empty"];
    // Waiting for wsspec's FIN: the server closed first, everything passes.
    let (r, _) = client_run(&ids, None, ClientEnd::Waits).await;
    for id in ids {
        let c = case(&r, id);
        assert_eq!(c.verdict, Grade::Pass, "{id}: {:?}", c.reasons);
        let close = c.close.clone().unwrap();
        assert_eq!(close.verdict, Grade::Pass, "{id}: {close:?}");
        let tcp = close.tcp.unwrap();
        assert_eq!(tcp.first, Party::Wsspec, "{}", tcp.summary);
        assert!(
            tcp.summary.starts_with("wsspec sent FIN "),
            "{}",
            tcp.summary
        );
        assert!(
            tcp.summary.contains("then client sent FIN"),
            "{}",
            tcp.summary
        );
    }
    // Closing right after the close frames: allowed by §5.5.1's MAY; whether its FIN
    // overtakes wsspec's is a race, so it is never graded.
    let (r, _) = client_run(&ids, None, ClientEnd::AfterClose).await;
    for id in ids {
        let c = case(&r, id);
        assert_eq!(c.verdict, Grade::Pass, "{id}: {:?}", c.reasons);
        let close = c.close.clone().unwrap();
        assert_eq!(close.verdict, Grade::Pass, "{id}: {close:?}");
        assert_eq!(close.tcp.unwrap().peer_end, Some(TcpEnd::Fin));
    }
    // A client that closes TCP before wsspec's close frame was even written (non-strict,
    // outside §5.5.1's MAY) is judged in judge::close's unit tests: here wsspec's close
    // follows the last echo too closely for a client to overtake it on purpose.
}
