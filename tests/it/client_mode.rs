//! Client mode end to end: wsspec plays the server behind the Autobahn client URL
//! protocol; harness clients written with tokio-tungstenite (correct) and with raw tokio
//! plus wsspec's codec (deliberately broken) drive it. Everything runs on 127.0.0.1.

use crate::client_harness;

use client_harness::{client_cases, tungstenite_harness};

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use wsspec::case::{Case, Grade};
use wsspec::client_mode::{ClientConfig, ClientServer};
use wsspec::results::RunResults;

async fn start(cases: Vec<Case>, step_ms: u64) -> ClientServer {
    let mut cfg = ClientConfig::default();
    cfg.session.step_timeout = Duration::from_millis(step_ms);
    cfg.known_deviations = Some(wsspec::reference::IMPLEMENTATION.into());
    ClientServer::bind("127.0.0.1:0", cases, cfg).await.unwrap()
}

/// Asserts every verdict of a client-mode run: exactly `fail` fail, `non_strict` are
/// non-strict and `informational` informational; the `deflate.client.*` cases are
/// unimplemented (none of these clients offers permessage-deflate); every other case passes.
/// A regression that graded everything informational, or passed what should fail, is caught.
fn assert_verdicts(
    r: &RunResults,
    fail: &BTreeSet<String>,
    non_strict: &[&str],
    informational: &[&str],
    what: &str,
) {
    let mut wrong = Vec::new();
    for c in &r.cases {
        let want = if fail.contains(&c.id) {
            Grade::Fail
        } else if non_strict.contains(&c.id.as_str()) {
            Grade::NonStrict
        } else if informational.contains(&c.id.as_str()) {
            Grade::Informational
        } else if c.id.starts_with("deflate.client.") {
            Grade::Unimplemented
        } else if c.id == "heartbeat.idle.ping" {
            // None of these clients sends keep-alive pings: informational, never a failure.
            Grade::Informational
        } else {
            Grade::Pass
        };
        if c.verdict != want {
            wrong.push(format!(
                "{} is {} where {} was expected: {:?}",
                c.id,
                c.verdict.as_str(),
                want.as_str(),
                c.reasons
            ));
        }
    }
    let ran: BTreeSet<&str> = r.cases.iter().map(|c| c.id.as_str()).collect();
    let named = fail
        .iter()
        .map(String::as_str)
        .chain(non_strict.iter().copied())
        .chain(informational.iter().copied());
    for id in named {
        if !ran.contains(id) {
            wrong.push(format!("{id} did not run"));
        }
    }
    assert!(wrong.is_empty(), "{what}:\n  {}", wrong.join("\n  "));
}

fn failing(server: &ClientServer, agent: &str) -> BTreeSet<String> {
    let r = server.results(agent).expect("results");
    r.cases
        .iter()
        .filter(|c| c.verdict == Grade::Fail)
        .map(|c| c.id.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tungstenite_client_passes() {
    let cases = client_cases();
    let n = cases.len();
    let server = start(cases, 1000).await;
    tokio::time::timeout(
        Duration::from_secs(120),
        tungstenite_harness(&server.url(), "tokio-tungstenite"),
    )
    .await
    .expect("the harness finished in time");
    let r = server.results("tokio-tungstenite").unwrap();
    assert_eq!(r.cases.len(), n);
    for c in &r.cases {
        if c.verdict != Grade::Pass {
            eprintln!("{} {:?}: {:?}", c.id, c.verdict, c.reasons);
        }
    }
    let fails = failing(&server, "tokio-tungstenite");
    // The documented deviations of tungstenite, and nothing else.
    let documented: BTreeSet<String> = server
        .cases()
        .iter()
        .filter(|c| {
            c.deviations
                .iter()
                .any(|(a, _)| a == wsspec::reference::IMPLEMENTATION)
        })
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(
        documented,
        ["handshake.client.response.extension.unrequested".to_owned()].into()
    );
    assert_eq!(fails, documented);
    assert_verdicts(&r, &documented, &[], &[], "tokio-tungstenite");
    assert_eq!(r.unexpected_failures(), 0);
    assert!(r
        .cases
        .iter()
        .filter(|c| c.verdict == Grade::Fail)
        .all(|c| c.deviation.is_some()));
}

// ---------------------------------------------------------------------------------------
// A raw client (tokio + wsspec's codec) that is correct by default and can be broken on
// purpose, one area at a time.

mod raw {
    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use wsspec::codec::{
        close_code_valid_on_wire, parse_close_payload, Assembled, Assembler, Decoder,
        DecoderConfig, Expect, Frame, OpCode, Rule,
    };
    use wsspec::handshake::{generate_key, parse_response, validate_response, Offer, RequestSpec};

    #[derive(Clone, Copy, Default, PartialEq, Eq)]
    pub enum Keys {
        #[default]
        Random,
        Constant,
    }

    /// Each flag breaks one thing the RFC requires of a client.
    #[derive(Clone, Copy, Default)]
    pub struct Flaws {
        pub drop_host: bool,
        pub version_8: bool,
        pub fixed_nonce: bool,
        pub accept_any_response: bool,
        pub mask_keys: Keys,
        pub accept_masked: bool,
        pub ignore_reserved: bool,
        pub lenient_control: bool,
        pub no_utf8_check: bool,
        pub no_pong: bool,
        pub lenient_close: bool,
        pub talk_after_close: bool,
    }

    impl Flaws {
        fn tolerates(&self, rule: Rule) -> bool {
            match rule {
                Rule::NonMinimalLength => true,
                Rule::MaskPresent => self.accept_masked,
                Rule::ReservedBitSet | Rule::ReservedOpcode => self.ignore_reserved,
                Rule::ControlFrameTooLong | Rule::ControlFrameFragmented => self.lenient_control,
                Rule::ClosePayloadOneByte | Rule::CloseCodeInvalid => self.lenient_close,
                Rule::CloseReasonInvalidUtf8 | Rule::InvalidUtf8 => self.no_utf8_check,
                _ => false,
            }
        }

        fn key(&self) -> [u8; 4] {
            match self.mask_keys {
                Keys::Random => rand::random(),
                Keys::Constant => [0x12, 0x34, 0x56, 0x78],
            }
        }
    }

    async fn send(s: &mut TcpStream, flaws: &Flaws, mut f: Frame) -> std::io::Result<()> {
        f.mask = Some(flaws.key());
        s.write_all(&f.encode().unwrap()).await
    }

    /// Fails the connection: a close frame with `code`, then TCP closes.
    async fn fail(s: &mut TcpStream, flaws: &Flaws, code: u16) {
        let _ = send(s, flaws, Frame::close(Some(code), b"")).await;
        let _ = s.shutdown().await;
    }

    /// One runCase connection.
    pub async fn run_case(addr: SocketAddr, path: &str, flaws: Flaws) {
        let Ok(mut s) = TcpStream::connect(addr).await else {
            return;
        };
        let key = if flaws.fixed_nonce {
            "dGhlIHNhbXBsZSBub25jZQ==".to_owned()
        } else {
            generate_key(rand::random())
        };
        let mut req = RequestSpec::standard("127.0.0.1", addr.port(), false, path, key.clone());
        if flaws.drop_host {
            req.remove("Host");
        }
        if flaws.version_8 {
            req.set("Sec-WebSocket-Version", "8");
        }
        if s.write_all(&req.to_bytes()).await.is_err() {
            return;
        }
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let resp = loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            match parse_response(&buf, 16384) {
                Ok(Some(r)) => break r,
                Ok(None) => {}
                Err(_) => return,
            }
        };
        if !flaws.accept_any_response {
            let offer = Offer {
                key: &key,
                protocols: &[],
                extensions: &[],
            };
            if resp.status != 101 || !validate_response(&resp, &offer).is_empty() {
                return;
            }
        }
        let mut dec = Decoder::new(DecoderConfig::new(Expect::Unmasked));
        dec.feed(&buf[resp.head_len..]);
        let mut asm = Assembler::new(64 << 20);
        let mut close_received = false;
        loop {
            loop {
                let df = match dec.next_frame() {
                    Ok(Some(df)) => df,
                    Ok(None) => break,
                    Err(_) => return fail(&mut s, &flaws, 1009).await,
                };
                if let Some(v) = df.violations.iter().find(|v| !flaws.tolerates(v.rule)) {
                    let code = if v.rule == Rule::CloseReasonInvalidUtf8 {
                        1007
                    } else {
                        1002
                    };
                    return fail(&mut s, &flaws, code).await;
                }
                if close_received && !flaws.talk_after_close {
                    continue;
                }
                // Without a UTF-8 check, text is assembled unchecked, as if an extension
                // had transformed it: tolerating the assembler's InvalidUtf8 would not do,
                // as it drops the message, so the next fragment became a continuation
                // with no message open and the client failed with 1002 after all.
                let reply = match asm.push_transformed(&df, flaws.no_utf8_check) {
                    Ok(Assembled::Partial) => None,
                    Ok(Assembled::Message {
                        opcode, payload, ..
                    }) => Some(Frame::new(opcode, payload)),
                    Ok(Assembled::Control(f)) => match OpCode(f.opcode) {
                        OpCode::PING if !flaws.no_pong => Some(Frame::pong(f.payload)),
                        OpCode::CLOSE if !close_received => {
                            close_received = true;
                            let info = parse_close_payload(&f.payload);
                            let code = match info.code {
                                Some(c) if close_code_valid_on_wire(c) => Some(c),
                                _ if flaws.lenient_close => Some(1000),
                                Some(_) => Some(1002),
                                None => None,
                            };
                            Some(Frame::close(code, b""))
                        }
                        _ => None,
                    },
                    Err(v) if flaws.tolerates(v.rule) => None,
                    Err(v) => {
                        let code = if v.rule == Rule::InvalidUtf8 {
                            1007
                        } else {
                            1002
                        };
                        return fail(&mut s, &flaws, code).await;
                    }
                };
                if let Some(f) = reply {
                    if send(&mut s, &flaws, f).await.is_err() {
                        return;
                    }
                }
            }
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => dec.feed(&chunk[..n]),
            }
        }
    }

    /// A plain-HTTP GET, as `curl` would send it; returns (status, body).
    pub async fn http_get(addr: SocketAddr, raw_request: &str) -> (u16, String) {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(raw_request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    pub fn get(path: &str) -> String {
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    }

    /// Cases the raw harness runs at once. Autobahn's own harnesses run one at a time, and
    /// the tokio-tungstenite harness here does too; wsspec's client mode keeps each case's
    /// connections apart, so this harness overlaps them: a flawed client makes a hundred
    /// cases wait out their step timeout, which one at a time took close to a minute.
    const CASES_AT_ONCE: usize = 8;

    /// The harness loop with the raw client: plain HTTP for the informational calls.
    pub async fn harness(addr: SocketAddr, agent: &str, flaws: Flaws) {
        use futures_util::StreamExt;
        let (status, body) = http_get(addr, &get("/getCaseCount")).await;
        assert_eq!(status, 200);
        let count: usize = body.trim().parse().unwrap();
        futures_util::stream::iter(1..=count)
            .for_each_concurrent(CASES_AT_ONCE, |case| async move {
                run_case(addr, &format!("/runCase?case={case}&agent={agent}"), flaws).await;
            })
            .await;
        let (status, _) = http_get(addr, &get(&format!("/updateReports?agent={agent}"))).await;
        assert_eq!(status, 200);
    }
}

use raw::{Flaws, Keys};

/// Runs the raw client with `flaws` over the whole client suite and asserts every verdict
/// ([`assert_verdicts`]).
async fn assert_raw_run(
    agent: &str,
    flaws: Flaws,
    fail: BTreeSet<String>,
    non_strict: &[&str],
    informational: &[&str],
) {
    let server = start(client_cases(), 500).await;
    tokio::time::timeout(
        Duration::from_secs(120),
        raw::harness(server.addr(), agent, flaws),
    )
    .await
    .expect("the harness finished in time");
    let r = server.results(agent).unwrap();
    assert_eq!(r.cases.len(), server.cases().len(), "every case ran");
    assert_verdicts(&r, &fail, non_strict, informational, agent);
}

fn ids(server_cases: &[Case], pred: impl Fn(&str) -> bool) -> BTreeSet<String> {
    server_cases
        .iter()
        .map(|c| c.id.clone())
        .filter(|id| pred(id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_client_without_flaws_passes_everything() {
    assert_raw_run("raw-correct", Flaws::default(), BTreeSet::new(), &[], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_handshake_request_fails_exactly_its_cases() {
    let flaws = Flaws {
        drop_host: true,
        version_8: true,
        fixed_nonce: true,
        ..Default::default()
    };
    let want: BTreeSet<String> = [
        "handshake.client.request.host",
        "handshake.client.request.version",
        "handshake.client.key.unique",
    ]
    .map(String::from)
    .into();
    assert_raw_run("raw-request", flaws, want, &[], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_accepting_any_response_fails_exactly_the_response_cases() {
    let flaws = Flaws {
        accept_any_response: true,
        ..Default::default()
    };
    let want = ids(&client_cases(), |id| {
        id.starts_with("handshake.client.response.")
            && id != "handshake.client.response.accepted"
            && id != "handshake.client.response.header-case"
    });
    assert_eq!(want.len(), 13);
    assert_raw_run("raw-response", flaws, want, &[], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_masking_key_fails_exactly_key_entropy() {
    let flaws = Flaws {
        mask_keys: Keys::Constant,
        ..Default::default()
    };
    let want = ["masking.client.key-entropy".to_owned()].into();
    assert_raw_run("raw-mask-key", flaws, want, &[], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_accepting_masked_frames_fails_exactly_those_cases() {
    let flaws = Flaws {
        accept_masked: true,
        ..Default::default()
    };
    let want = ids(&client_cases(), |id| {
        id.starts_with("masking.server.masked")
    });
    assert_eq!(want.len(), 5);
    assert_raw_run("raw-masked", flaws, want, &[], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lenient_framing_fails_exactly_the_framing_cases() {
    let flaws = Flaws {
        ignore_reserved: true,
        lenient_control: true,
        no_utf8_check: true,
        ..Default::default()
    };
    let mut want = ids(&client_cases(), |id| {
        id.starts_with("reserved.client.") || id.starts_with("framing.client.utf8.invalid.")
    });
    want.extend(
        [
            "control.client.ping.126",
            "control.client.ping.fragmented",
            "close.client.body.126",
            "close.client.reason.invalid-utf8",
            "utf8.surrogate-in-text.one-frame",
            "utf8.client.fail-fast.within-frame.second-part",
            "utf8.client.fail-fast.within-frame.one-byte-part",
            // Fragmented invalid text: the client echoes it at the end of the message.
            "utf8.surrogate-in-text.one-byte-fragments",
            "utf8.fail-fast.above-max.second-fragment",
            "utf8.fail-fast.above-max.one-byte-fragment",
        ]
        .map(String::from),
    );
    // Kuhn's stress-test sequences (Autobahn 6.x, for both roles): the ones that are not
    // UTF-8, by the standard library's decoder, must be failed; a client that never checks
    // fails exactly those.
    let kuhn_invalid: Vec<String> = client_cases()
        .iter()
        .filter(|c| c.id.starts_with("utf8.kuhn."))
        .filter(|c| {
            c.runs().any(|(_, s)| match s {
                wsspec::case::Step::Send(wsspec::case::Send::Message(m), _) => {
                    std::str::from_utf8(&m.payload.bytes()).is_err()
                }
                _ => false,
            })
        })
        .map(|c| c.id.clone())
        .collect();
    assert!(kuhn_invalid.len() > 50, "{}", kuhn_invalid.len());
    want.extend(kuhn_invalid);
    // Nothing is non-strict: a client that never checks UTF-8 echoes fragmented invalid
    // text as it does a single frame (the server-side tests cover a peer that checks only
    // at the end of the message, non-strict on the fail-fast cases).
    assert_raw_run("raw-framing", flaws, want, &[], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_without_pongs_fails_exactly_the_ping_cases() {
    let flaws = Flaws {
        no_pong: true,
        ..Default::default()
    };
    let want = ids(&client_cases(), |id| {
        (id.starts_with("control.client.ping.")
            && id != "control.client.ping.126"
            && id != "control.client.ping.fragmented")
            // Cases for both roles (Autobahn 2.10-2.11, 5.6-5.20) whose pings want a pong.
            || id.starts_with("control.ping.burst.")
            || id.starts_with("fragmentation.pings-inside.")
            || id == "control.client.pong.unsolicited-then-ping"
            // The heartbeat cases whose pings want a pong (both roles).
            || id == "heartbeat.unsolicited-pongs"
            || id == "heartbeat.pings.latest"
            || id == "heartbeat.ping-flood"
    });
    assert_eq!(want.len(), 17);
    assert_raw_run("raw-pong", flaws, want, &[], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lenient_close_fails_exactly_the_close_cases() {
    let flaws = Flaws {
        lenient_close: true,
        talk_after_close: true,
        ..Default::default()
    };
    // Codes 5000 and above are INFO cases (RFC 6455 defines no range there): a client
    // that answers them as a valid close is informational, not failed.
    let mut want = ids(&client_cases(), |id| {
        id.starts_with("close.client.code.invalid.")
            && !id.ends_with(".5000")
            && !id.ends_with(".65535")
    });
    want.extend(["close.client.body.one-byte", "close.client.then-text"].map(String::from));
    // This client also echoes the text wsspec sends after its close frame, after its own
    // close (§5.5.1 forbids it); wsspec reads on after its FIN for the TCP view, so the
    // echo is seen whenever it comes, not only when it beats the closing handshake.
    want.extend(
        [
            "close.client.after-close.text",
            "close.inside-fragmented-message",
        ]
        .map(String::from),
    );
    let informational = [
        "close.client.code.invalid.5000",
        "close.client.code.invalid.65535",
    ];
    assert_raw_run("raw-close", flaws, want, &[], &informational).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_harness_requests_get_4xx_and_the_listener_goes_on() {
    let server = start(client_cases(), 500).await;
    let addr = server.addr();
    let n = server.cases().len();
    for (req, status, word) in [
        (raw::get("/nope"), 404, "unknown path"),
        (raw::get("/runCase?case=1"), 400, "agent"),
        (
            raw::get("/runCase?case=abc&agent=x"),
            400,
            "not a case number",
        ),
        (
            raw::get(&format!("/runCase?case={}&agent=x", n + 1)),
            404,
            "does not exist",
        ),
        (
            raw::get("/getCaseStatus?case=1&agent=never"),
            404,
            "has not run",
        ),
        (raw::get("/getCaseInfo"), 400, "missing case"),
        (
            raw::get("/runCase?casetuple=99.99&agent=x"),
            404,
            "Autobahn id",
        ),
        ("GARBAGE\r\n\r\n".to_owned(), 400, "malformed"),
        ("GET /x HTTP/1.1\nHost: a\n\n".to_owned(), 400, "malformed"),
    ] {
        let (got, body) = raw::http_get(addr, &req).await;
        assert_eq!(got, status, "{req:?}: {body}");
        assert!(body.contains(word), "{req:?}: {body}");
    }
    // A WebSocket client gets the HTTP error as its handshake response.
    match connect_async(format!("{}/nope", server.url())).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 404),
        other => panic!("expected a 404, got {other:?}"),
    }
    // A connection that sends nothing and goes away does not disturb the listener.
    drop(tokio::net::TcpStream::connect(addr).await.unwrap());
    // Still serving.
    let (status, body) = raw::http_get(addr, &raw::get("/getCaseCount")).await;
    assert_eq!((status, body.trim().parse::<usize>().unwrap()), (200, n));
    raw::run_case(addr, "/runCase?case=1&agent=after", Flaws::default()).await;
    server.settle(Some("after")).await;
    assert!(server.has_result("after", 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_info_status_and_casetuple() {
    let server = start(client_cases(), 500).await;
    let addr = server.addr();
    // Autobahn id 2.1: the empty ping; run it by tuple as agent "t".
    let n = server
        .cases()
        .iter()
        .position(|c| c.autobahn.as_deref() == Some("2.1"))
        .unwrap()
        + 1;
    let (status, body) = raw::http_get(addr, &raw::get(&format!("/getCaseInfo?case={n}"))).await;
    assert_eq!(status, 200);
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["id"], "control.client.ping.empty");
    assert_eq!(info["autobahn"], "2.1");
    assert!(info["description"].as_str().unwrap().contains("pong"));

    let url = format!("{}/runCase?casetuple=2.1&agent=t", server.url());
    let (mut ws, _) = connect_async(url).await.unwrap();
    while let Some(Ok(_)) = ws.next().await {}
    // Over WebSocket, as Autobahn harnesses ask.
    let (mut ws, _) = connect_async(format!("{}/getCaseStatus?case={n}&agent=t", server.url()))
        .await
        .unwrap();
    let Some(Ok(Message::Text(t))) = ws.next().await else {
        panic!("no status message")
    };
    let status: serde_json::Value = serde_json::from_str(&t).unwrap();
    assert_eq!(status["behavior"], "OK", "{t}");
    assert_eq!(status["behaviorClose"], "OK", "{t}");

    // A failing case reads FAILED.
    let bad = server
        .cases()
        .iter()
        .position(|c| c.id == "masking.server.masked.text")
        .unwrap()
        + 1;
    let flaws = Flaws {
        accept_masked: true,
        ..Default::default()
    };
    raw::run_case(addr, &format!("/runCase?case={bad}&agent=t"), flaws).await;
    let (_, body) = raw::http_get(
        addr,
        &raw::get(&format!("/getCaseStatus?case={bad}&agent=t")),
    )
    .await;
    assert!(body.contains("\"behavior\": \"FAILED\""), "{body}");
}

/// One case file whose steps mean the same in both roles runs against a server and a
/// client alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_both_role_case_runs_in_either_role() {
    let src = r#"
[[case]]
id = "both.echo-and-ping"
title = "A message is echoed and a ping answered, then a clean close"
section = "RFC 6455 §5.5.2"
requirement = "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response."
level = "MUST"
role = "both"
steps = [
  { send = "message", payload = "Hello" },
  { expect = "message" },
  { send = "ping", payload = "p" },
  { expect = "pong" },
  { send = "close", code = 1000 },
  { expect = "close", codes = [1000] },
]
"#;
    let cases = wsspec::case::load_sources([("both.toml", src)]).unwrap();
    // wsspec as the client, against the reference server.
    let reference = wsspec::reference::ReferenceServer::start().await.unwrap();
    let r = wsspec::Suite::from_cases(cases.clone())
        .test_server(&reference.url(), &Default::default())
        .await
        .unwrap();
    assert_eq!(r.cases[0].verdict, Grade::Pass, "{:?}", r.cases[0].reasons);
    // wsspec as the server, against a tokio-tungstenite client.
    let server = start(cases, 500).await;
    tungstenite_harness(&server.url(), "both").await;
    let r = server.results("both").unwrap();
    assert_eq!(r.peer_role, "client");
    assert_eq!(r.cases[0].verdict, Grade::Pass, "{:?}", r.cases[0].reasons);
    // Frames went the right way masked: none from wsspec, all from the client.
    let frames: Vec<(bool, bool)> = r.cases[0]
        .transcript
        .entries
        .iter()
        .filter_map(|e| match e {
            wsspec::transcript::Entry::Frame { dir, masked, .. } => {
                Some((*dir == wsspec::transcript::Direction::Out, *masked))
            }
            _ => None,
        })
        .collect();
    assert!(frames.len() >= 6, "{frames:?}");
    assert!(
        frames.iter().all(|(out, masked)| out != masked),
        "{frames:?}"
    );
}

/// A client may follow a 3xx (RFC 6455 §4.1); one that sends its next request on the same
/// connection did not take it as a WebSocket connection, and passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_a_redirect_on_the_same_connection_passes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start(client_cases(), 500).await;
    let n = server
        .cases()
        .iter()
        .position(|c| c.id == "handshake.client.response.status.302")
        .unwrap()
        + 1;
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let key = wsspec::handshake::generate_key(rand::random());
    let path = format!("/runCase?case={n}&agent=redirect");
    let req = wsspec::handshake::RequestSpec::standard("127.0.0.1", 1, false, &path, key);
    s.write_all(&req.to_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let k = s.read(&mut buf).await.unwrap();
    assert!(buf[..k].starts_with(b"HTTP/1.1 302 Found\r\n"));
    s.write_all(b"GET /elsewhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let _ = s.read_to_end(&mut buf).await;
    server.settle(Some("redirect")).await;
    let r = server.results("redirect").unwrap();
    assert_eq!(r.cases[0].verdict, Grade::Pass, "{:?}", r.cases[0].reasons);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_before_the_response_is_a_violation_and_the_library_api_serves() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = wsspec::Suite::builtin()
        .unwrap()
        .select(&["handshake.client.request.host"], &[])
        .unwrap()
        .test_clients("127.0.0.1:0", {
            let mut cfg = ClientConfig::default();
            cfg.session.step_timeout = Duration::from_millis(500);
            cfg
        })
        .await
        .unwrap();
    assert_eq!(server.cases().len(), 1);
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let key = wsspec::handshake::generate_key(rand::random());
    let req = wsspec::handshake::RequestSpec::standard(
        "127.0.0.1",
        1,
        false,
        "/runCase?case=1&agent=eager",
        key,
    );
    let mut bytes = req.to_bytes();
    // A masked text frame right behind the request, before any response.
    let frame = wsspec::codec::Frame::text("too early").with_mask([1, 2, 3, 4]);
    bytes.extend_from_slice(&frame.encode().unwrap());
    s.write_all(&bytes).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    server.settle(Some("eager")).await;
    let r = server.results("eager").unwrap();
    let c = &r.cases[0];
    assert_eq!(c.verdict, Grade::Fail);
    assert!(
        c.violations.iter().any(|v| v.section == "RFC 6455 §4.1"),
        "{:?}",
        c.violations
    );
}
