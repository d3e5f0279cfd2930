//! wsspec answers a peer's ping at once, whatever step it is in (RFC 6455 §5.5.2: "as
//! soon as practical"), so a server with a heartbeat never drops it and no verdict blames
//! the server for wsspec's own lateness.
//!
//! The test server pings right after the handshake and measures how long the pong takes,
//! while the case waits, or writes a message in paced fragments. A pong that waits for
//! the next expectation (how wsspec used to answer) arrives after the whole wait or write.

use crate::common;

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use common::{accept_handshake, read_some, write_all, TestServer};
use wsspec::codec::{Decoder, DecoderConfig, Expect, Frame, OpCode};
use wsspec::run::{RunConfig, SessionConfig};

/// Starts a server that pings 100 ms after the handshake and reports the delay to the
/// pong.
async fn heartbeat_server() -> (TestServer, mpsc::UnboundedReceiver<Duration>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let server = TestServer::start(move |mut s| {
        let tx = tx.clone();
        async move {
            if !accept_handshake(&mut s).await {
                return;
            }
            // Late enough that wsspec is inside the step after the handshake.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let ping = Frame::new(OpCode::PING.0, b"beat".to_vec())
                .encode()
                .unwrap();
            let sent = Instant::now();
            if !write_all(&mut s, &ping).await {
                return;
            }
            let mut dec = Decoder::new(DecoderConfig::new(Expect::Masked));
            let mut buf = vec![0u8; 64 * 1024];
            while let Some(n) = read_some(&mut s, &mut buf).await {
                dec.feed(&buf[..n]);
                while let Ok(Some(df)) = dec.next_frame() {
                    if df.frame.opcode == OpCode::PONG.0 && df.frame.payload == b"beat" {
                        let _ = tx.send(sent.elapsed());
                        return;
                    }
                }
            }
        }
    })
    .await;
    (server, rx)
}

async fn pong_delay(steps: &str) -> Duration {
    let src = format!(
        r#"
[[case]]
id = "test.heartbeat"
title = "t"
section = "RFC 6455 §5.5.2"
requirement = "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response"
level = "MUST"
role = "server"
close = false
steps = [
{steps}
]
"#
    );
    let cases = wsspec::case::load::parse_file("heartbeat.toml", &src).expect("the case loads");
    let (server, mut delays) = heartbeat_server().await;
    // The heartbeat server echoes nothing: no echo probe before the run.
    let cfg = RunConfig {
        session: SessionConfig {
            step_timeout: Duration::from_secs(5),
            ..Default::default()
        },
        probe_echo: false,
        ..Default::default()
    };
    let suite = wsspec::Suite::from_cases(cases);
    let url = server.url();
    tokio::time::timeout(Duration::from_secs(20), suite.test_server(&url, &cfg))
        .await
        .expect("the run ends")
        .expect("the run takes place");
    // The server may read the pong just after the run returns.
    tokio::time::timeout(Duration::from_secs(5), delays.recv())
        .await
        .expect("the server got its pong")
        .expect("the server reported")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_is_answered_during_a_wait() {
    let d = pong_delay(r#"{ wait = 1500 },"#).await;
    assert!(d < Duration::from_millis(500), "pong after {d:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_is_answered_between_the_fragments_of_a_paced_write() {
    // 16 fragments, one per write, 100 ms apart: the write takes 1.5 s.
    let d = pong_delay(
        r#"{ send = "message", opcode = "binary", payload = { random = 65536, seed = 1 }, fragment_size = 4096, chop = 4096, pause_ms = 100 },"#,
    )
    .await;
    assert!(d < Duration::from_millis(500), "pong after {d:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_is_never_answered_inside_a_frame() {
    // One frame written a byte at a time: the pong can only follow the whole frame, and
    // the server's decoder (which would report a frame cut by the pong as garbage) sees
    // it as a well-formed pong after the message.
    let d = pong_delay(
        r#"{ send = "binary", payload = { random = 20, seed = 2 }, chop = 1, pause_ms = 20 },"#,
    )
    .await;
    assert!(d >= Duration::from_millis(250), "pong after {d:?}");
}
