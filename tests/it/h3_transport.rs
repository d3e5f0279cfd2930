//! WebSocket over HTTP/3 (RFC 9220): the extended CONNECT transport against an in-process
//! HTTP/3 server on quinn, whose WebSocket side is tungstenite running on the stream's bytes.
//!
//! The server's HTTP/3 is written out here byte by byte (varints, frames, the few QPACK
//! field lines it needs), not taken from wsspec's own HTTP/3 code, so the two check each
//! other. Each bootstrapping case is shown both ways: a correct server passes it, a server
//! with that one bug does not, and a legal variant (a stream error instead of a 4xx) passes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use wsspec::case::Grade;
use wsspec::results::RunResults;
use wsspec::run::tls::{self, Trust};
use wsspec::run::transport::Transport;

/// What the test server gets wrong (or does differently, within the RFC).
#[derive(Debug, Clone, Copy, Default)]
struct Bugs {
    /// SETTINGS without SETTINGS_ENABLE_CONNECT_PROTOCOL.
    no_setting: bool,
    /// Answers an extended CONNECT with 101 as over HTTP/1.1, then sends frames.
    answers_101: bool,
    /// Accepts any :protocol with 200.
    any_protocol: bool,
    /// Accepts a request without :scheme.
    no_scheme_check: bool,
    /// Refuses with RESET_STREAM + STOP_SENDING (H3_MESSAGE_ERROR) instead of a 4xx: legal.
    refuse_by_reset: bool,
}

const H3_MESSAGE_ERROR: u32 = 0x10e;

/// A QUIC varint (RFC 9000 §16).
fn varint(out: &mut Vec<u8>, v: u64) {
    match v {
        0..=63 => out.push(v as u8),
        64..=16383 => out.extend_from_slice(&(v as u16 | 0x4000).to_be_bytes()),
        _ => out.extend_from_slice(&(v as u32 | 0x8000_0000).to_be_bytes()),
    }
}

async fn read_varint(recv: &mut quinn::RecvStream) -> Option<u64> {
    let mut first = [0u8; 1];
    recv.read_exact(&mut first).await.ok()?;
    let len = 1usize << (first[0] >> 6);
    let mut rest = [0u8; 7];
    recv.read_exact(&mut rest[..len - 1]).await.ok()?;
    Some(
        rest[..len - 1]
            .iter()
            .fold(u64::from(first[0] & 0x3f), |v, b| (v << 8) | u64::from(*b)),
    )
}

/// A QPACK prefix integer (RFC 9204 §4.1.1) at `*at`.
fn prefix_int(b: &[u8], at: &mut usize, prefix: u32) -> usize {
    let max = (1usize << prefix) - 1;
    let mut v = usize::from(b[*at]) & max;
    *at += 1;
    if v == max {
        let mut shift = 0;
        loop {
            let x = b[*at];
            *at += 1;
            v += usize::from(x & 0x7f) << shift;
            shift += 7;
            if x & 0x80 == 0 {
                break;
            }
        }
    }
    v
}

/// The field lines of a request: wsspec sends literals with literal names, plain text.
fn fields(section: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut at = 2;
    while at < section.len() {
        assert_eq!(
            section[at] & 0xe8,
            0x20,
            "a plain literal with a literal name"
        );
        let n = prefix_int(section, &mut at, 3);
        let name = String::from_utf8_lossy(&section[at..at + n]).into_owned();
        at += n;
        assert_eq!(section[at] & 0x80, 0, "not Huffman-coded");
        let n = prefix_int(section, &mut at, 7);
        let value = String::from_utf8_lossy(&section[at..at + n]).into_owned();
        at += n;
        out.push((name, value));
    }
    out
}

fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    varint(&mut out, payload.len() as u64);
    out.extend_from_slice(payload);
    out
}

/// A HEADERS frame with `:status` as a static reference (RFC 9204 Appendix A: 200 is 25,
/// 101 has none: literal) and the given extra field lines as literals.
fn response(status: u16, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut s = vec![0x00, 0x00];
    match status {
        200 => s.push(0xc0 | 25),
        // 0x5f: literal with a static name reference, index 15 + ..., here :status = 24.
        other => {
            s.extend_from_slice(&[0x5f, 24 - 15]);
            let v = other.to_string();
            s.push(v.len() as u8);
            s.extend_from_slice(v.as_bytes());
        }
    }
    for (n, v) in extra {
        s.push(0x20 | 7);
        s.push((n.len() - 7) as u8);
        s.extend_from_slice(n.as_bytes());
        s.push(v.len() as u8);
        s.extend_from_slice(v.as_bytes());
    }
    frame(0x01, &s)
}

struct Server {
    addr: SocketAddr,
    cert: rustls::pki_types::CertificateDer<'static>,
    _endpoint: quinn::Endpoint,
}

async fn server(bugs: Bugs) -> Server {
    let c = tls::self_signed(&["127.0.0.1".to_owned()]).expect("certificate");
    let mut cfg =
        (*tls::server_config(vec![c.cert.clone()], c.key.clone_key()).expect("config")).clone();
    cfg.alpn_protocols = vec![b"h3".to_vec()];
    let quic = quinn::crypto::rustls::QuicServerConfig::try_from(cfg).expect("QUIC config");
    let endpoint = quinn::Endpoint::server(
        quinn::ServerConfig::with_crypto(Arc::new(quic)),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .expect("endpoint");
    let addr = endpoint.local_addr().expect("addr");
    let accepting = endpoint.clone();
    tokio::spawn(async move {
        while let Some(incoming) = accepting.accept().await {
            tokio::spawn(async move {
                if let Ok(conn) = incoming.await {
                    connection(conn, bugs).await;
                }
            });
        }
    });
    Server {
        addr,
        cert: c.cert,
        _endpoint: endpoint,
    }
}

async fn connection(conn: quinn::Connection, bugs: Bugs) {
    let Ok(mut control) = conn.open_uni().await else {
        return;
    };
    let settings: &[u8] = if bugs.no_setting { &[] } else { &[0x08, 0x01] };
    let mut first = vec![0x00];
    first.extend_from_slice(&frame(0x04, settings));
    if control.write_all(&first).await.is_err() {
        return;
    }
    // The client's control stream is read and ignored; it must only stay open.
    let uni = conn.clone();
    tokio::spawn(async move {
        while let Ok(mut r) = uni.accept_uni().await {
            tokio::spawn(async move {
                let mut sink = vec![0u8; 1024];
                while let Ok(Some(_)) = r.read(&mut sink).await {}
            });
        }
    });
    while let Ok((send, recv)) = conn.accept_bi().await {
        tokio::spawn(stream(send, recv, bugs));
    }
    drop(control);
}

async fn stream(mut send: quinn::SendStream, mut recv: quinn::RecvStream, bugs: Bugs) {
    let (Some(0x01), Some(len)) = (read_varint(&mut recv).await, read_varint(&mut recv).await)
    else {
        return;
    };
    let mut section = vec![0u8; len as usize];
    if recv.read_exact(&mut section).await.is_err() {
        return;
    }
    let f = fields(&section);
    let get = |n: &str| f.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let well_formed = get(":method") == Some("CONNECT")
        && (get(":protocol") == Some("websocket") || bugs.any_protocol)
        && (get(":scheme") == Some("https") || bugs.no_scheme_check)
        && get(":path").is_some()
        && get(":authority").is_some()
        && get("sec-websocket-version") == Some("13");
    if !well_formed {
        if bugs.refuse_by_reset {
            let _ = send.reset(H3_MESSAGE_ERROR.into());
            let _ = recv.stop(H3_MESSAGE_ERROR.into());
        } else {
            let _ = send.write_all(&response(400, &[])).await;
            let _ = send.finish();
        }
        return;
    }
    let offered_chat = get("sec-websocket-protocol").is_some_and(|p| p.contains("chat"));
    let head = match (bugs.answers_101, offered_chat) {
        (true, _) => response(101, &[]),
        (false, true) => response(200, &[("sec-websocket-protocol", "chat")]),
        (false, false) => response(200, &[]),
    };
    if send.write_all(&head).await.is_err() {
        return;
    }
    // The stream's DATA through a pipe, so tungstenite sees an ordinary byte stream.
    let (ws_end, pump_end) = tokio::io::duplex(256 * 1024);
    let (mut pump_read, mut pump_write) = tokio::io::split(pump_end);
    let inbound = async move {
        loop {
            let (Some(kind), Some(len)) =
                (read_varint(&mut recv).await, read_varint(&mut recv).await)
            else {
                break;
            };
            let mut payload = vec![0u8; len as usize];
            if recv.read_exact(&mut payload).await.is_err() {
                break;
            }
            if kind == 0x00 && pump_write.write_all(&payload).await.is_err() {
                break;
            }
        }
        // The client's FIN: the end of its side of the byte stream.
        let _ = pump_write.shutdown().await;
    };
    let outbound = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match pump_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if send.write_all(&frame(0x00, &buf[..n])).await.is_err() {
                        return;
                    }
                }
            }
        }
        let _ = send.finish();
        let _ = send.stopped().await;
    };
    let echo = async move {
        let mut ws =
            tokio_tungstenite::WebSocketStream::from_raw_socket(ws_end, Role::Server, None).await;
        while let Some(Ok(m)) = ws.next().await {
            if matches!(m, Message::Text(_) | Message::Binary(_)) && ws.send(m).await.is_err() {
                break;
            }
        }
    };
    tokio::join!(inbound, outbound, echo);
}

fn config(server: &Server) -> wsspec::run::RunConfig {
    wsspec::run::RunConfig {
        jobs: 8,
        session: wsspec::run::SessionConfig {
            step_timeout: Duration::from_millis(3000),
            connect_timeout: Duration::from_millis(2000),
            transport: Transport::Http3,
            tls: Some(tls::client_config(&Trust::Anchors(vec![server
                .cert
                .clone()]))),
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn run(bugs: Bugs, include: &[&str]) -> RunResults {
    let server = server(bugs).await;
    let cfg = config(&server);
    let suite = wsspec::Suite::builtin()
        .expect("built-in cases")
        .select(include, &["limits", "deflate.volume"])
        .expect("patterns");
    tokio::time::timeout(
        Duration::from_secs(120),
        suite.test_server(&format!("wss://{}/chat", server.addr), &cfg),
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
    assert_eq!(r.transport, "h3");
    for id in [
        "h2.connect.accepted",
        "h2.connect.no-accept-header",
        "h2.connect.subprotocol",
        "h2.protocol.unknown",
        "h2.connect.version-missing",
        "h2.pseudo.scheme-missing",
        "h2.pseudo.path-missing",
        "h2.pseudo.authority-missing",
        "h2.close.end-stream",
    ] {
        assert_eq!(verdict(&r, id), Grade::Pass, "{}", show(&r, id));
    }
    assert_eq!(
        verdict(&r, "h2.connect.deflate"),
        Grade::Unimplemented,
        "{}",
        show(&r, "h2.connect.deflate")
    );
    // Only HTTP/2 opens a second stream for this one.
    assert!(!r.cases.iter().any(|c| c.id.starts_with("h2.multiplex.")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_the_setting_is_an_error_before_any_case() {
    let server = server(Bugs {
        no_setting: true,
        ..Default::default()
    })
    .await;
    let err = wsspec::Suite::builtin()
        .expect("cases")
        .select(&["h2"], &[])
        .expect("patterns")
        .test_server(&format!("wss://{}/", server.addr), &config(&server))
        .await
        .expect_err("no extended CONNECT, no run");
    assert!(
        err.to_string().contains("SETTINGS_ENABLE_CONNECT_PROTOCOL"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bootstrapping_bug_shows() {
    let r = run(
        Bugs {
            answers_101: true,
            ..Default::default()
        },
        &["h2.connect.subprotocol"],
    )
    .await;
    let id = "h2.connect.subprotocol";
    assert_eq!(verdict(&r, id), Grade::Fail, "{}", show(&r, id));
    assert!(show(&r, id).contains("101 Switching"), "{}", show(&r, id));
    let r = run(
        Bugs {
            any_protocol: true,
            no_scheme_check: true,
            ..Default::default()
        },
        &["h2.protocol.unknown", "h2.pseudo.scheme-missing"],
    )
    .await;
    assert_eq!(verdict(&r, "h2.protocol.unknown"), Grade::NonStrict);
    assert_eq!(verdict(&r, "h2.pseudo.scheme-missing"), Grade::Fail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_error_is_a_legal_refusal() {
    let r = run(
        Bugs {
            refuse_by_reset: true,
            ..Default::default()
        },
        &["h2.protocol", "h2.connect.version-missing", "h2.pseudo"],
    )
    .await;
    assert!(r.cases.len() >= 5);
    for c in &r.cases {
        assert_eq!(c.verdict, Grade::Pass, "{}: {:?}", c.id, c.reasons);
        assert!(
            c.checks
                .iter()
                .any(|k| k.observed.contains("RESET_STREAM") || k.observed.contains("STOP_SENDING")),
            "the refusal was a stream error: {:?}",
            c.checks
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rfc6455_corpus_runs_over_an_h3_stream() {
    // tungstenite is a correct peer apart from permessage-deflate: every frame-level case
    // passes over the stream as it does over TCP (h2_transport compares the two).
    let r = run(
        Bugs::default(),
        &[
            "framing",
            "control",
            "fragmentation",
            "close",
            "utf8",
            "reserved",
        ],
    )
    .await;
    assert!(r.cases.len() > 100, "{} cases", r.cases.len());
    let bad: Vec<String> = r
        .cases
        .iter()
        .filter(|c| matches!(c.verdict, Grade::Fail))
        .map(|c| format!("{}: {:?}", c.id, c.reasons))
        .collect();
    assert!(bad.is_empty(), "failed over h3:\n{}", bad.join("\n"));
}
