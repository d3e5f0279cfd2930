//! permessage-deflate in client mode, end to end: wsspec plays the server behind the
//! Autobahn client URL protocol, and a compressing client drives it. tokio-tungstenite has
//! no compression, so the client here is raw tokio on wsspec's frame codec and its DEFLATE
//! transforms (`wsspec::deflate::codec`). Its negotiation is its own: it checks the
//! server's answer with the rules written out below (window values via the reference
//! server's `window_bits`), not with `wsspec::deflate::negotiate`, whose judgement of the
//! answers is what these tests exercise from the other side. Everything runs on 127.0.0.1.

use crate::client_harness;

use client_harness::{client_cases, tungstenite_harness};

use std::collections::BTreeSet;
use std::time::Duration;

use wsspec::case::{Case, Grade};
use wsspec::client_mode::{ClientConfig, ClientServer};

fn deflate_cases() -> Vec<Case> {
    client_cases()
        .into_iter()
        .filter(|c| c.id.starts_with("deflate.client."))
        .collect()
}

async fn start(cases: Vec<Case>, step_ms: u64) -> ClientServer {
    let mut cfg = ClientConfig::default();
    cfg.session.step_timeout = Duration::from_millis(step_ms);
    ClientServer::bind("127.0.0.1:0", cases, cfg).await.unwrap()
}

mod pmd {
    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use wsspec::codec::{
        close_code_valid_on_wire, parse_close_payload, Assembled, Assembler, Decoder,
        DecoderConfig, Expect, Frame, OpCode, Rule,
    };
    use wsspec::deflate::{Compressor, Decompressor};
    use wsspec::handshake::{
        generate_key, parse_extension_lines, parse_response, validate_response, Offer, RequestSpec,
        Response,
    };
    use wsspec::reference::permessage_deflate::window_bits;

    /// Messages at least this long are echoed in two frames, so continuation frames occur.
    pub const SPLIT_AT: usize = 1024;

    /// Each flag breaks one thing RFC 7692 requires of a client.
    #[derive(Clone, Copy, Default)]
    pub struct Flaws {
        /// Takes any permessage-deflate answer, using what it can read of it.
        pub accept_invalid_answers: bool,
        /// Keeps its compression context although the server said client_no_context_takeover.
        pub keep_context: bool,
        /// Sets RSV1 on the continuation frames of its compressed echoes.
        pub rsv1_on_continuation: bool,
        /// Does not fail on RSV1 in continuation or control frames it receives (ignores it).
        pub lenient_rsv1: bool,
        /// Puts an invalid offer (client_max_window_bits=16) before its valid one.
        pub invalid_offer: bool,
        /// Compresses with a 15-bit window whatever client_max_window_bits the server set.
        pub ignore_client_max_window_bits: bool,
        /// Offers plain `permessage-deflate`, without client_max_window_bits (not a flaw:
        /// a different, valid client).
        pub plain_offer: bool,
    }

    /// The agreed parameters, as this client reads the answer.
    #[derive(Debug, Clone, Copy)]
    struct Agreed {
        server_bits: u8,
        server_nct: bool,
        client_bits: u8,
        client_nct: bool,
    }

    /// The client's own check of the answer (RFC 7692 §5, §7, §7.1): at most one element,
    /// known parameters once each, valid values, client_max_window_bits only if offered.
    /// Err: the connection must be failed. Ok(None): compression declined.
    fn read_answer(resp: &Response, flaws: &Flaws) -> Result<Option<Agreed>, String> {
        let list = parse_extension_lines(resp.headers_named("Sec-WebSocket-Extensions"))
            .map_err(|e| e.to_string())?;
        let mut elems = list.iter().filter(|e| e.name == "permessage-deflate");
        let Some(e) = elems.next() else {
            return Ok(None);
        };
        let strict = !flaws.accept_invalid_answers;
        if elems.next().is_some() && strict {
            return Err("two permessage-deflate elements".into());
        }
        let mut a = Agreed {
            server_bits: 15,
            server_nct: false,
            client_bits: 15,
            client_nct: false,
        };
        let mut seen: Vec<String> = Vec::new();
        for (name, value) in &e.params {
            let name = name.to_ascii_lowercase();
            if seen.contains(&name) && strict {
                return Err(format!("{name} twice"));
            }
            seen.push(name.clone());
            let bits = || value.as_deref().and_then(window_bits);
            match name.as_str() {
                "server_no_context_takeover" | "client_no_context_takeover" => {
                    if value.is_some() && strict {
                        return Err(format!("{name} has a value"));
                    }
                    if name.starts_with("server") {
                        a.server_nct = true;
                    } else {
                        a.client_nct = true;
                    }
                }
                "server_max_window_bits" => match bits() {
                    Some(b) => a.server_bits = b,
                    None if strict => return Err("bad server_max_window_bits".into()),
                    None => {}
                },
                "client_max_window_bits" => {
                    if flaws.plain_offer && strict {
                        return Err("client_max_window_bits was not offered".into());
                    }
                    match bits() {
                        Some(b) => a.client_bits = b,
                        None if strict => return Err("bad client_max_window_bits".into()),
                        None => {}
                    }
                }
                other if strict => return Err(format!("unknown parameter {other}")),
                _ => {}
            }
        }
        Ok(Some(a))
    }

    async fn send(s: &mut TcpStream, mut f: Frame) -> std::io::Result<()> {
        f.mask = Some(rand::random());
        s.write_all(&f.encode().unwrap()).await
    }

    async fn fail(s: &mut TcpStream, code: u16) {
        let _ = send(s, Frame::close(Some(code), b"")).await;
        let _ = s.shutdown().await;
    }

    /// The state of compression on one connection.
    struct Deflate {
        inflate: Decompressor,
        compress: Compressor,
    }

    /// One runCase connection: echo every message, compressed when agreed.
    pub async fn run_case(addr: SocketAddr, path: &str, flaws: Flaws) {
        let Ok(mut s) = TcpStream::connect(addr).await else {
            return;
        };
        let key = generate_key(rand::random());
        let mut req = RequestSpec::standard("127.0.0.1", addr.port(), false, path, key.clone());
        let offer = match (flaws.plain_offer, flaws.invalid_offer) {
            (true, _) => "permessage-deflate",
            (false, false) => "permessage-deflate; client_max_window_bits",
            (false, true) => "permessage-deflate; client_max_window_bits=16, permessage-deflate; client_max_window_bits",
        };
        req.add("Sec-WebSocket-Extensions", offer);
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
        let names = ["permessage-deflate".to_owned()];
        let check = Offer {
            key: &key,
            protocols: &[],
            extensions: &names,
        };
        if resp.status != 101 || !validate_response(&resp, &check).is_empty() {
            return;
        }
        let mut deflate = match read_answer(&resp, &flaws) {
            Ok(a) => a.map(|agreed| Deflate {
                inflate: Decompressor::new(agreed.server_bits, agreed.server_nct, 64 << 20),
                compress: Compressor::new(
                    if flaws.ignore_client_max_window_bits {
                        15
                    } else {
                        agreed.client_bits
                    },
                    agreed.client_nct && !flaws.keep_context,
                ),
            }),
            Err(_) => return fail(&mut s, 1002).await,
        };
        let mut cfg = DecoderConfig::new(Expect::Unmasked);
        if deflate.is_some() {
            cfg.allowed_rsv = 0b100;
        }
        let mut dec = Decoder::new(cfg);
        dec.feed(&buf[resp.head_len..]);
        let mut asm = Assembler::new(64 << 20);
        let mut compressed = false;
        let mut close_received = false;
        loop {
            loop {
                let mut df = match dec.next_frame() {
                    Ok(Some(df)) => df,
                    Ok(None) => break,
                    Err(_) => return fail(&mut s, 1009).await,
                };
                if let Some(v) = df
                    .violations
                    .iter()
                    .find(|v| v.rule != Rule::NonMinimalLength)
                {
                    let code = if v.rule == Rule::CloseReasonInvalidUtf8 {
                        1007
                    } else {
                        1002
                    };
                    return fail(&mut s, code).await;
                }
                if close_received {
                    continue;
                }
                let op = OpCode(df.frame.opcode);
                if deflate.is_some() && df.frame.rsv1 {
                    if op.is_control() || op == OpCode::CONTINUATION {
                        if !flaws.lenient_rsv1 {
                            return fail(&mut s, 1002).await;
                        }
                        df.frame.rsv1 = false;
                    } else if !asm.in_message() {
                        compressed = true;
                    }
                }
                let reply = match asm.push_transformed(&df, compressed && !op.is_control()) {
                    Ok(Assembled::Partial) => continue,
                    Ok(Assembled::Message {
                        opcode, payload, ..
                    }) => {
                        let plain = if std::mem::take(&mut compressed) {
                            let d = deflate.as_mut().expect("compressed only when agreed");
                            match d.inflate.decompress(&payload) {
                                Ok(p) => p,
                                Err(_) => return fail(&mut s, 1007).await,
                            }
                        } else {
                            payload
                        };
                        if opcode == OpCode::TEXT.0 && std::str::from_utf8(&plain).is_err() {
                            return fail(&mut s, 1007).await;
                        }
                        if echo(&mut s, opcode, &plain, deflate.as_mut(), &flaws)
                            .await
                            .is_err()
                        {
                            return;
                        }
                        None
                    }
                    Ok(Assembled::Control(f)) => match OpCode(f.opcode) {
                        OpCode::PING => Some(Frame::pong(f.payload)),
                        OpCode::CLOSE => {
                            close_received = true;
                            let info = parse_close_payload(&f.payload);
                            let code = match info.code {
                                Some(c) if close_code_valid_on_wire(c) => Some(c),
                                Some(_) => Some(1002),
                                None => None,
                            };
                            Some(Frame::close(code, b""))
                        }
                        _ => None,
                    },
                    Err(v) => {
                        let code = if v.rule == Rule::InvalidUtf8 {
                            1007
                        } else {
                            1002
                        };
                        return fail(&mut s, code).await;
                    }
                };
                if let Some(f) = reply {
                    if send(&mut s, f).await.is_err() {
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

    /// Sends a message back: compressed when agreed, in two frames when long.
    async fn echo(
        s: &mut TcpStream,
        opcode: u8,
        plain: &[u8],
        deflate: Option<&mut Deflate>,
        flaws: &Flaws,
    ) -> std::io::Result<()> {
        let Some(d) = deflate else {
            return send(s, Frame::new(opcode, plain.to_vec())).await;
        };
        let payload = d.compress.compress(plain);
        let parts: Vec<&[u8]> = if plain.len() >= SPLIT_AT {
            let (a, b) = payload.split_at(payload.len() / 2);
            vec![a, b]
        } else {
            vec![&payload[..]]
        };
        let last = parts.len() - 1;
        for (i, p) in parts.into_iter().enumerate() {
            let mut f = Frame::new(if i == 0 { opcode } else { 0 }, p.to_vec());
            f.fin = i == last;
            f.rsv1 = i == 0 || flaws.rsv1_on_continuation;
            send(s, f).await?;
        }
        Ok(())
    }

    /// A plain-HTTP GET; returns (status, body).
    pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
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

    /// The Autobahn harness loop with this client.
    pub async fn harness(addr: SocketAddr, agent: &str, flaws: Flaws) {
        let (status, body) = http_get(addr, "/getCaseCount").await;
        assert_eq!(status, 200);
        let count: usize = body.trim().parse().unwrap();
        for case in 1..=count {
            run_case(addr, &format!("/runCase?case={case}&agent={agent}"), flaws).await;
        }
        let (status, _) = http_get(addr, &format!("/updateReports?agent={agent}")).await;
        assert_eq!(status, 200);
    }
}

use pmd::Flaws;

/// Runs the compressing client with `flaws` over the client deflate cases; returns each
/// case's id and verdict.
async fn verdicts(agent: &str, flaws: Flaws) -> Vec<(String, Grade, Vec<String>)> {
    let server = start(deflate_cases(), 1000).await;
    tokio::time::timeout(
        Duration::from_secs(120),
        pmd::harness(server.addr(), agent, flaws),
    )
    .await
    .expect("the harness finished in time");
    let r = server.results(agent).unwrap();
    assert_eq!(r.cases.len(), server.cases().len(), "every case ran");
    r.cases
        .iter()
        .map(|c| (c.id.clone(), c.verdict, c.reasons.clone()))
        .collect()
}

fn with(v: &[(String, Grade, Vec<String>)], g: Grade) -> BTreeSet<String> {
    v.iter()
        .filter(|(_, grade, _)| *grade == g)
        .map(|(id, _, _)| id.clone())
        .collect()
}

/// The one answer case a client that offers `client_max_window_bits` cannot be given.
const UNOFFERED: &str = "deflate.client.answer.invalid.client-max-window-bits-unoffered";

/// Asserts every verdict: exactly `fail` fail, exactly `unimplemented` are unimplemented,
/// every other case passes (so a regression that softened misses to informational or
/// non-strict is caught, not only one that changed which cases fail).
fn assert_verdicts(
    v: &[(String, Grade, Vec<String>)],
    fail: &BTreeSet<String>,
    unimplemented: &BTreeSet<String>,
) {
    assert_eq!(&with(v, Grade::Fail), fail, "failed");
    assert_eq!(
        &with(v, Grade::Unimplemented),
        unimplemented,
        "unimplemented"
    );
    let other: Vec<_> = v
        .iter()
        .filter(|(_, g, _)| !matches!(g, Grade::Pass | Grade::Fail | Grade::Unimplemented))
        .collect();
    assert!(
        other.is_empty(),
        "neither pass, fail nor unimplemented: {other:?}"
    );
}

fn unoffered() -> BTreeSet<String> {
    [UNOFFERED.to_owned()].into()
}

fn show(v: &[(String, Grade, Vec<String>)]) {
    for (id, g, reasons) in v {
        if *g != Grade::Pass {
            eprintln!("{id} {g:?}: {reasons:?}");
        }
    }
}

fn ids(pred: impl Fn(&str) -> bool) -> BTreeSet<String> {
    deflate_cases()
        .into_iter()
        .map(|c| c.id)
        .filter(|id| pred(id))
        .collect()
}

/// The cases whose answer only fits a client that offered client_max_window_bits.
fn needs_client_window(id: &str) -> bool {
    id.starts_with("deflate.client.answer.client-max-window-bits.")
        || id == "deflate.client.answer.everything"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_compressing_client_passes_every_case_it_can_run() {
    let v = verdicts("pmd-correct", Flaws::default()).await;
    show(&v);
    // It offers client_max_window_bits, so only the unoffered-window answer is not for it.
    assert_verdicts(&v, &BTreeSet::new(), &unoffered());
    assert!(v.len() >= 40, "{}", v.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_offering_plainly_gets_unimplemented_for_client_window_answers() {
    let flaws = Flaws {
        plain_offer: true,
        ..Default::default()
    };
    let v = verdicts("pmd-plain", flaws).await;
    show(&v);
    assert_verdicts(&v, &BTreeSet::new(), &ids(needs_client_window));
    assert!(with(&v, Grade::Pass)
        .contains("deflate.client.answer.invalid.client-max-window-bits-unoffered"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_invalid_answers_fails_exactly_the_invalid_answer_cases() {
    let flaws = Flaws {
        accept_invalid_answers: true,
        ..Default::default()
    };
    let v = verdicts("pmd-invalid", flaws).await;
    show(&v);
    // client-max-window-bits-unoffered stays unimplemented: this client offered it.
    let want = ids(|id| {
        id.starts_with("deflate.client.answer.invalid.")
            && id != "deflate.client.answer.invalid.client-max-window-bits-unoffered"
    });
    assert_eq!(want.len(), 8);
    assert_verdicts(&v, &want, &unoffered());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeping_context_fails_exactly_the_client_no_context_takeover_cases() {
    let flaws = Flaws {
        keep_context: true,
        ..Default::default()
    };
    let v = verdicts("pmd-context", flaws).await;
    show(&v);
    // ("everything" also says client_no_context_takeover, but its random message has
    // nothing a 10-bit window could refer back to, so keeping the context changes nothing.)
    let want: BTreeSet<String> =
        ["deflate.client.answer.client-no-context-takeover".to_owned()].into();
    assert_verdicts(&v, &want, &unoffered());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_larger_window_than_agreed_fails_where_the_data_reaches_past_it() {
    let flaws = Flaws {
        ignore_client_max_window_bits: true,
        ..Default::default()
    };
    let v = verdicts("pmd-window", flaws).await;
    show(&v);
    // The answer cases send 3000 random bytes three times: the copies refer 3000 bytes
    // back, past a 9-bit window (wsspec reads the distance codes), within a 12-bit one;
    // "everything" also has client_no_context_takeover, so nothing refers back at all.
    let want: BTreeSet<String> =
        ["deflate.client.answer.client-max-window-bits.9".to_owned()].into();
    assert_verdicts(&v, &want, &unoffered());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsv1_on_its_continuation_frames_fails_exactly_the_cases_with_long_messages() {
    let flaws = Flaws {
        rsv1_on_continuation: true,
        ..Default::default()
    };
    let v = verdicts("pmd-rsv1-sent", flaws).await;
    show(&v);
    // Every case with a message of SPLIT_AT bytes or more: the client echoes it in two
    // frames, the second with RSV1.
    // (1000 bytes is under SPLIT_AT: those echoes stay one frame.)
    let want = ids(|id| {
        (id.starts_with("deflate.client.echo.") && id.ends_with(".65536"))
            || id.starts_with("deflate.client.fragmented.")
            || (id.starts_with("deflate.client.answer.")
                && !id.starts_with("deflate.client.answer.invalid.")
                && id != "deflate.client.answer.client-no-context-takeover")
    });
    assert_verdicts(&v, &want, &unoffered());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignoring_rsv1_on_received_frames_fails_exactly_the_rsv1_cases() {
    let flaws = Flaws {
        lenient_rsv1: true,
        ..Default::default()
    };
    let v = verdicts("pmd-rsv1-received", flaws).await;
    show(&v);
    let want = ids(|id| id.starts_with("deflate.client.rsv1."));
    assert_eq!(want.len(), 2);
    assert_verdicts(&v, &want, &unoffered());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_offer_fails_exactly_the_offer_case() {
    let flaws = Flaws {
        invalid_offer: true,
        ..Default::default()
    };
    let v = verdicts("pmd-offer", flaws).await;
    show(&v);
    let want: BTreeSet<String> = ["deflate.client.offer.valid".to_owned()].into();
    assert_verdicts(&v, &want, &unoffered());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_compression_gets_unimplemented_never_fail() {
    let server = start(deflate_cases(), 1000).await;
    tokio::time::timeout(
        Duration::from_secs(120),
        tungstenite_harness(&server.url(), "tokio-tungstenite"),
    )
    .await
    .expect("the harness finished in time");
    let r = server.results("tokio-tungstenite").unwrap();
    assert_eq!(r.cases.len(), deflate_cases().len());
    for c in &r.cases {
        assert_eq!(c.verdict, Grade::Unimplemented, "{}: {:?}", c.id, c.reasons);
    }
}
