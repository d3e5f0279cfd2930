//! A hostile or broken peer never panics, hangs or exhausts wsspec: whatever the server
//! does, the run returns within a bound, each case fails with a reason that names what
//! happened, and what wsspec keeps of the exchange stays bounded.

use crate::common;

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use common::{
    accept_handshake, closed_port, hold, read_request_key, read_some, write_all, TestServer,
};
use wsspec::case::Grade;
use wsspec::results::{CaseResult, RunResults};
use wsspec::run::test_server::VIOLATIONS_KEEP;
use wsspec::run::{ReadLimits, RunConfig, RunError, SessionConfig};
use wsspec::transcript::{Entry, ENTRIES_KEEP, TOTAL_KEEP};

/// Step timeout where a timeout is what the test is about (stalls, silence, floods): short.
const STEP: Duration = Duration::from_millis(300);
/// Step timeout where the verdict comes from what the peer sends (garbage, a huge length,
/// a reset): long, and each such run must return well before it, which proves that no
/// timeout was involved, even on a loaded machine.
const PATIENT: Duration = Duration::from_secs(5);
/// Bound on a run under PATIENT.
const PROMPT: Duration = Duration::from_secs(3);

/// A few cases of different shapes: an accepted handshake with an echo, a refused
/// handshake, a ping, and a message of 64 KiB.
const CASES: &[&str] = &[
    "handshake.valid",
    "handshake.key.missing",
    "control.ping.text",
    "framing.binary.length.65536",
];

fn config(step: Duration) -> RunConfig {
    RunConfig {
        session: SessionConfig {
            step_timeout: step,
            connect_timeout: Duration::from_millis(1000),
            ..Default::default()
        },
        // These tests study how single cases meet a hostile peer, which the echo probe
        // would stop before the first case (tests/it/robust_cli.rs covers the probe).
        probe_echo: false,
        ..Default::default()
    }
}

/// Runs `cases` against `url`, asserting that the whole run returns within `bound`.
async fn run_within(
    url: &str,
    cases: &[&str],
    cfg: &RunConfig,
    bound: Duration,
) -> Result<RunResults, RunError> {
    let suite = wsspec::Suite::builtin()
        .expect("built-in cases load")
        .select(cases, &[])
        .expect("patterns parse");
    let t0 = Instant::now();
    let r = tokio::time::timeout(bound * 4, suite.test_server(url, cfg))
        .await
        .unwrap_or_else(|_| panic!("the run did not return within {:?}", bound * 4));
    let took = t0.elapsed();
    assert!(took < bound, "the run took {took:?}, over {bound:?}");
    r
}

/// Runs with the short step timeout, within `bound`.
async fn run(url: &str, cases: &[&str], bound: Duration) -> RunResults {
    run_within(url, cases, &config(STEP), bound)
        .await
        .expect("the run takes place")
}

/// Runs with the long step timeout, within PROMPT (well under it).
async fn run_prompt(url: &str, cases: &[&str]) -> RunResults {
    run_within(url, cases, &config(PATIENT), PROMPT)
        .await
        .expect("the run takes place")
}

/// What wsspec keeps of one case is bounded whatever the peer sent.
fn assert_bounded(c: &CaseResult) {
    let t = &c.transcript;
    assert!(
        t.entries.len() <= ENTRIES_KEEP,
        "{}: {} entries",
        c.id,
        t.entries.len()
    );
    let kept: usize = t
        .entries
        .iter()
        .map(|e| match e {
            Entry::Bytes { hex, .. } => hex.len() / 2,
            _ => 0,
        })
        .sum();
    assert!(kept <= TOTAL_KEEP, "{}: {kept} transcript bytes kept", c.id);
    let text: usize = c.reasons.iter().map(String::len).sum::<usize>()
        + c.checks
            .iter()
            .map(|k| k.expected.len() + k.observed.len())
            .sum::<usize>()
        + c.violations
            .iter()
            .map(|v| v.detail.len() + v.rule.len())
            .sum::<usize>();
    // At most VIOLATIONS_KEEP violations, a few hundred bytes each, whatever the peer sent.
    assert!(
        c.violations.len() <= VIOLATIONS_KEEP,
        "{}: {} violations",
        c.id,
        c.violations.len()
    );
    assert!(
        text <= 64 * 1024,
        "{}: {text} bytes of reasons and checks",
        c.id
    );
    let json = serde_json::to_vec(c).expect("a case result serialises");
    assert!(
        json.len() <= 2 * TOTAL_KEEP + 512 * 1024,
        "{}: {} bytes of JSON",
        c.id,
        json.len()
    );
}

/// Every case failed, each with a reason containing one of `needles`, within bounds.
fn assert_all_fail(r: &RunResults, needles: &[&str]) {
    assert!(!r.cases.is_empty());
    for c in &r.cases {
        assert_eq!(c.verdict, Grade::Fail, "{}: {:#?}", c.id, c.reasons);
        assert!(
            c.reasons
                .iter()
                .any(|x| needles.iter().any(|n| x.contains(n))),
            "{}: expected a reason mentioning one of {needles:?}, got {:#?}",
            c.id,
            c.reasons
        );
        assert_bounded(c);
    }
}

// ---- (a) garbage instead of a handshake response ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_response_fails_with_invalid_response() {
    let server = TestServer::start(|mut s: TcpStream| async move {
        let _ = read_request_key(&mut s).await;
        // A TLS ClientHello-like record, then bytes that are no HTTP at all.
        write_all(
            &mut s,
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\xff\xfe\r\n\r\n",
        )
        .await;
        hold(s).await;
    })
    .await;
    let r = run_prompt(&server.url(), CASES).await;
    assert_all_fail(&r, &["invalid response"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_http_banner_fails_with_invalid_response() {
    let server = TestServer::start(|mut s: TcpStream| async move {
        write_all(&mut s, b"SSH-2.0-OpenSSH_9.6\r\n").await;
        hold(s).await;
    })
    .await;
    let r = run_prompt(&server.url(), CASES).await;
    assert_all_fail(
        &r,
        &["invalid response: response line: invalid HTTP version"],
    );
}

// ---- (b) a header section that never ends ----

/// Header bytes an endless server writes before it stalls, still without the blank line:
/// 64 times wsspec's limit. (Writing on at full speed would only burn the CPU that the
/// other tests' timers need; wsspec stops at 16 KiB either way.)
const ENDLESS: usize = 1 << 20;

/// Writes `line` over and over (at most `max` bytes), never the blank line.
async fn endless(mut s: TcpStream, line: Vec<u8>, max: usize) {
    let _ = read_request_key(&mut s).await;
    if !write_all(&mut s, b"HTTP/1.1 101 Switching Protocols\r\n").await {
        return;
    }
    let mut sent = 0;
    while sent < max {
        let chunk: Vec<u8> = line.iter().copied().cycle().take(line.len() * 16).collect();
        // Bounded: once wsspec stops reading, the write stalls and times out.
        if !write_all(&mut s, &chunk).await {
            return;
        }
        sent += chunk.len();
    }
    hold(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_header_section_is_cut_off_at_the_head_limit() {
    let mut line = b"X-Filler: ".to_vec();
    line.extend(std::iter::repeat_n(b'a', 1000));
    line.extend_from_slice(b"\r\n");
    let server = TestServer::start(move |s: TcpStream| endless(s, line.clone(), ENDLESS)).await;
    let r = run_prompt(&server.url(), CASES).await;
    assert_all_fail(
        &r,
        &["invalid response: header section exceeds 16384 bytes"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_short_headers_are_cut_off_at_the_header_count_limit() {
    let server = TestServer::start(|s: TcpStream| endless(s, b"X: y\r\n".to_vec(), ENDLESS)).await;
    let r = run_prompt(&server.url(), CASES).await;
    assert_all_fail(
        &r,
        &["invalid response: header section has more than 64 headers"],
    );
}

// ---- (c) a frame announcing an absurd length ----

async fn announce(mut s: TcpStream, len: u64) {
    if !accept_handshake(&mut s).await {
        return;
    }
    let mut header = vec![0x82, 127];
    header.extend_from_slice(&len.to_be_bytes());
    header.extend_from_slice(b"a few payload bytes, then nothing");
    write_all(&mut s, &header).await;
    hold(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_of_2_pow_63_minus_1_bytes_stops_reading_at_once() {
    let server = TestServer::start(|s| announce(s, (1 << 63) - 1)).await;
    // Well under one step timeout per case: wsspec gives up on the length alone, without
    // waiting for (or allocating) the payload.
    let r = run_prompt(&server.url(), &["handshake.valid", "framing.text.length.0"]).await;
    assert_all_fail(
        &r,
        &["announces 9223372036854775807 payload bytes, over the"],
    );
    for c in &r.cases {
        assert!(
            c.duration_ms < PROMPT.as_millis() as f64,
            "{}: {} ms",
            c.id,
            c.duration_ms
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_of_2_pow_64_minus_1_bytes_stops_reading_and_names_the_msb() {
    let server = TestServer::start(|s| announce(s, u64::MAX)).await;
    let r = run_prompt(&server.url(), &["handshake.valid", "framing.text.length.0"]).await;
    assert_all_fail(
        &r,
        &["announces 18446744073709551615 payload bytes, over the"],
    );
    for c in &r.cases {
        assert!(
            c.reasons
                .iter()
                .any(|x| x.contains("most significant bit MUST be 0")),
            "{}: {:#?}",
            c.id,
            c.reasons
        );
        assert!(
            c.duration_ms < PROMPT.as_millis() as f64,
            "{}: {} ms",
            c.id,
            c.duration_ms
        );
    }
}

// ---- (d) stalls ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_in_the_middle_of_a_frame_times_out() {
    let server = TestServer::start(|mut s: TcpStream| async move {
        if accept_handshake(&mut s).await {
            // A text frame of 5 bytes, of which 2 arrive.
            write_all(&mut s, b"\x81\x05He").await;
        }
        hold(s).await;
    })
    .await;
    let cases = [
        "handshake.valid",
        "control.ping.text",
        "framing.binary.length.65536",
    ];
    let r = run(&server.url(), &cases, Duration::from_secs(3)).await;
    assert_all_fail(&r, &["timed out"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_in_the_middle_of_the_response_times_out() {
    let server = TestServer::start(|mut s: TcpStream| async move {
        if read_request_key(&mut s).await.is_some() {
            write_all(&mut s, b"HTTP/1.1 101 Swi").await;
        }
        hold(s).await;
    })
    .await;
    let r = run(&server.url(), CASES, Duration::from_secs(3)).await;
    assert_all_fail(&r, &["timed out"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server_times_out() {
    let server = TestServer::start(hold).await;
    let r = run(&server.url(), CASES, Duration::from_secs(3)).await;
    assert_all_fail(&r, &["observed nothing within"]);
}

/// A server that refuses a large message (close 1009), shuts its side of TCP and then
/// reads nothing more, as Python websockets does until its close timeout: wsspec gives up
/// the rest of its write at once instead of waiting out the case's 20 s timeout, and the
/// verdict is the one the timeout gave, the refusal as a size limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_into_a_peer_that_closed_and_stopped_reading_is_given_up() {
    let server = TestServer::start(|mut s: TcpStream| async move {
        if accept_handshake(&mut s).await {
            let mut buf = [0u8; 1024];
            let _ = read_some(&mut s, &mut buf).await;
            write_all(&mut s, b"\x88\x02\x03\xf1").await;
            let _ = s.shutdown().await;
        }
        hold(s).await;
    })
    .await;
    let r = run_within(
        &server.url(),
        &["limits.binary.size.16m"],
        &config(PATIENT),
        PROMPT,
    )
    .await
    .expect("the run takes place");
    let c = &r.cases[0];
    assert_eq!(c.verdict, Grade::Informational, "{:?}", c.reasons);
    assert!(c.checks.iter().any(|k| k.limit), "{:?}", c.checks);
    assert!(
        c.bytes_sent < 16 * 1024 * 1024,
        "{} bytes sent: the write went on",
        c.bytes_sent
    );
    assert!(
        c.transcript
            .entries
            .iter()
            .any(|e| matches!(e, Entry::Note { text, .. } if text.starts_with("write given up"))),
        "no note of the write given up"
    );
    assert!(c.timings.waiting_ms > 0.0, "{:?}", c.timings);
}

// ---- (e) reset right after the handshake ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_after_the_handshake_fails_with_a_connection_error() {
    let server = TestServer::start(|mut s: TcpStream| async move {
        if accept_handshake(&mut s).await {
            // Wait for wsspec's first frame, so the 101 has surely been read, then reset.
            let mut buf = [0u8; 1024];
            let _ = read_some(&mut s, &mut buf).await;
            let _ = s.set_zero_linger();
        }
        drop(s);
    })
    .await;
    let cases = [
        "handshake.valid",
        "control.ping.text",
        "framing.binary.length.65536",
    ];
    let r = run_prompt(&server.url(), &cases).await;
    // The reset shows as a read error ("connection error: Connection reset by peer"), or,
    // when a write of wsspec's met the reset first and consumed the socket error, as the
    // end of the stream (Linux reports a socket error once).
    assert_all_fail(&r, &["connection error", "reset", "TCP closed by peer"]);
    for c in &r.cases {
        assert_eq!(
            c.checks[0].observed, "status 101",
            "{}: the handshake itself passed",
            c.id
        );
    }
}

// ---- (f) floods ----

/// After the handshake, writes `count` copies of `frame`, then holds the connection
/// without reading (wsspec's answers pile up in the socket buffers).
async fn flood(mut s: TcpStream, frame: &'static [u8], count: usize) {
    if !accept_handshake(&mut s).await {
        return;
    }
    let batch: Vec<u8> = frame
        .iter()
        .copied()
        .cycle()
        .take(frame.len() * 1000)
        .collect();
    for _ in 0..count / 1000 {
        if !write_all(&mut s, &batch).await {
            return;
        }
    }
    let _ = s.flush().await;
    hold(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pong_flood_fails_within_bounds() {
    let server = TestServer::start(|s| flood(s, b"\x8a\x04pong", 20_000)).await;
    let cases = [
        "handshake.valid",
        "control.ping.text",
        // A MUST case (the unsolicited-pong cases that only listen for silence are INFO).
        "control.pong.unsolicited-then-ping",
    ];
    let r = run(&server.url(), &cases, Duration::from_secs(5)).await;
    assert_all_fail(&r, &["timed out", "pong with 4 bytes"]);
    // The transcript kept what it could and counted the rest.
    let c = common::case(&r, "handshake.valid");
    assert!(c.transcript.dropped_entries > 0 || c.transcript.dropped_bytes > 0);
    assert!(c.bytes_received >= 20_000 * 6, "{} bytes", c.bytes_received);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_flood_fails_within_bounds() {
    // wsspec answers each ping; the server never reads, so wsspec's writes stall and are
    // given up after one step timeout.
    let server = TestServer::start(|s| flood(s, b"\x89\x04ping", 20_000)).await;
    let cases = ["handshake.valid", "control.ping.text"];
    let r = run(&server.url(), &cases, Duration::from_secs(5)).await;
    assert_all_fail(&r, &["timed out", "pong with 4 bytes"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_of_broken_frames_fails_within_bounds() {
    // Masked pongs: each one breaks RFC 6455 §5.1, so each is a violation to report.
    let server = TestServer::start(|s| flood(s, b"\x8a\x84\x01\x02\x03\x04qmlc", 20_000)).await;
    let cases = ["handshake.valid", "control.pong.unsolicited.empty"];
    let r = run(&server.url(), &cases, Duration::from_secs(5)).await;
    assert_all_fail(&r, &["MUST NOT mask"]);
    let c = common::case(&r, "control.pong.unsolicited.empty");
    assert!(
        c.reasons
            .iter()
            .any(|x| x.contains("more violations by the peer, not listed")),
        "{:#?}",
        c.reasons.last()
    );
}

/// Events wsspec has not yet looked at are bounded: past `max_queued`, it stops reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_events_are_bounded() {
    let server = TestServer::start(|s| flood(s, b"\x8a\x00", 20_000)).await;
    let cases = wsspec::case::load::parse_file(
        "flood.toml",
        r#"
[[case]]
id = "hostile.flood-while-waiting"
title = "The peer floods while wsspec waits"
section = "RFC 6455 §10.4"
requirement = "Implementations MUST protect themselves against exceeding their limits."
level = "MUST"
role = "server"
steps = [
  { wait = 300 },
  { send = "message", payload = "Hello" },
  { expect = "message" },
]
"#,
    )
    .expect("the case parses");
    let mut cfg = config(STEP);
    cfg.session.limits = ReadLimits {
        max_queued: 1000,
        ..Default::default()
    };
    let suite = wsspec::Suite::from_cases(cases);
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        suite.test_server(&server.url(), &cfg),
    )
    .await
    .expect("the run returns")
    .expect("the run takes place");
    assert_all_fail(
        &r,
        &["the peer sent more than 1000 frames that wsspec did not ask for"],
    );
}

// ---- nobody there ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_url_is_a_run_error() {
    let url = format!("ws://127.0.0.1:{}/", closed_port());
    let e = run_within(&url, CASES, &config(STEP), Duration::from_secs(3))
        .await
        .expect_err("nothing listens there");
    match &e {
        RunError::Unreachable { url: u, reason } => {
            assert_eq!(u, &url);
            assert!(!reason.is_empty());
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(e.to_string().contains("peer unreachable"), "{e}");
}

/// A server that agrees to permessage-deflate and answers with a compressed message of a
/// few kilobytes that inflates to 64 MiB: wsspec stops inflating at its message bound and
/// says so, within the bound on the run, without holding the inflated data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deflate_bomb_is_stopped_at_the_message_bound() {
    use wsspec::deflate::Compressor;
    // Built once: 64 MiB of zeros compress to about 64 KiB.
    let bomb = {
        let mut c = Compressor::new(15, true);
        let payload = c.compress(&vec![0u8; 64 << 20]);
        let mut f = wsspec::codec::Frame::new(2, payload);
        f.rsv1 = true;
        std::sync::Arc::new(f.encode().expect("encodes"))
    };
    assert!(bomb.len() < 128 * 1024, "{}", bomb.len());
    let server = TestServer::start(move |mut s| {
        let bomb = bomb.clone();
        async move {
            let Some(key) = read_request_key(&mut s).await else {
                return;
            };
            let mut resp = wsspec::handshake::ResponseSpec::switching_protocols(&key);
            resp.set("Sec-WebSocket-Extensions", "permessage-deflate");
            if write_all(&mut s, &resp.to_bytes()).await {
                write_all(&mut s, &bomb).await;
            }
            hold(s).await;
        }
    })
    .await;
    let mut cfg = config(PATIENT);
    cfg.session.limits = ReadLimits {
        // Below the 256 KiB any case may read (CASE_BASE_COST), so this bound, not the
        // case's own, is the one that stops the inflation.
        max_message: 128 << 10,
        ..ReadLimits::default()
    };
    let r = run_within(&server.url(), &["deflate.negotiate.plain"], &cfg, PROMPT)
        .await
        .expect("the run takes place");
    let c = &r.cases[0];
    assert_eq!(c.verdict, Grade::Fail, "{:?}", c.reasons);
    let all = c.reasons.join("\n");
    assert!(all.contains("inflates to more than 131072 bytes"), "{all}");
}

/// `--jobs 1` is one connection at a time, also for the cases bound to wait out a timeout
/// (which run beside the busy ones at higher `--jobs`): a server that serves one connection
/// at a time would leave a second one unserved and fail its case. The peer here is the
/// correct echo server behind a proxy that notes when each connection opens and when
/// wsspec's side of it ends; a case may open its connection while the proxy has not yet
/// seen the end of the last one, so overlaps up to 100 ms are the proxy's, not wsspec's
/// (a waiting case beside a busy one overlaps it by its wait, 250 ms or more).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_job_is_one_connection_at_a_time_waiting_cases_included() {
    use std::sync::{Arc, Mutex};
    use tokio::io::AsyncReadExt;
    let echo = common::broken_server(common::Flaws::default()).await;
    let upstream = echo.addr();
    let spans: Arc<Mutex<Vec<(Instant, Instant)>>> = Arc::default();
    let noted = spans.clone();
    let proxy = TestServer::start(move |down| {
        let spans = noted.clone();
        async move {
            let opened = Instant::now();
            let Ok(up) = TcpStream::connect(upstream).await else {
                return;
            };
            let (mut down_rx, mut down_tx) = down.into_split();
            let (mut up_rx, mut up_tx) = up.into_split();
            let back = tokio::spawn(async move {
                let _ = tokio::io::copy(&mut up_rx, &mut down_tx).await;
            });
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n @ 1..) = down_rx.read(&mut buf).await {
                if up_tx.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            spans.lock().unwrap().push((opened, Instant::now()));
            back.abort();
        }
    })
    .await;
    // Busy cases and cases that wait out a planned timeout (fail-fast checks, an idle
    // watch), so both sets of slots would be used if --jobs 1 had two.
    let cases = [
        "handshake.valid",
        "control.ping.text",
        "utf8.fail-fast.within-frame.*",
        "heartbeat.idle.ping",
        "framing.text.length.125",
        "framing.text.length.65536",
    ];
    let mut cfg = config(STEP);
    cfg.jobs = 1;
    let r = run_within(&proxy.url(), &cases, &cfg, Duration::from_secs(20))
        .await
        .expect("the run takes place");
    assert!(r.cases.len() >= 6, "{} cases ran", r.cases.len());
    assert_eq!(
        common::failed(&r),
        Default::default(),
        "a correct peer fails nothing"
    );
    let spans = spans.lock().unwrap().clone();
    // One connection per case, and the connection check before the first case.
    assert!(spans.len() >= r.cases.len(), "{} connections", spans.len());
    let mut most = Duration::ZERO;
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            most = most.max(a.1.min(b.1).saturating_duration_since(a.0.max(b.0)));
        }
    }
    assert!(
        most < Duration::from_millis(100),
        "two connections open together for {most:?}"
    );
}
