//! The network fuzzer (`wsspec fuzz`) against servers with one planted defect each: it must
//! find the defect from a fixed seed, shrink it to a few steps, and save a case that fails
//! against that server and passes against the reference server. Against the reference
//! server itself it must find nothing, and a seed must name the same sequences whatever
//! the parallelism.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use wsspec::case::{Case, Grade, Send, Step};
use wsspec::codec::{
    close_payload, Assembled, Assembler, Decoder, DecoderConfig, Expect, FatalError, Frame, OpCode,
    Rule,
};
use wsspec::fuzz::{self, FindingKind, FuzzConfig, FuzzReport, Limit};
use wsspec::handshake::{parse_request, validate_request, HandshakeRule, ResponseSpec};
use wsspec::reference::ReferenceServer;
use wsspec::run::{run_case, SessionConfig, Target};

const IO_TIMEOUT: Duration = Duration::from_secs(5);
const CONN_TIMEOUT: Duration = Duration::from_secs(30);
/// The step timeout against the planted servers: a hang costs this much per run.
const PLANTED_TIMEOUT_MS: u64 = 750;

/// The one thing wrong with a test server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    /// A ping of 100 bytes or more between the fragments of a message makes the
    /// connection handler stop: it holds the connection and answers nothing more.
    HangOnBigPingInMessage,
    /// Text frames with RSV1 set (and no other reserved bit) are processed and echoed as
    /// if the bit were not there.
    EchoRsv1Text,
    /// A binary message of 300 bytes or more brings the whole server down: it stops
    /// accepting connections.
    CrashOnBigBinary,
    /// A request that takes more than one read (written in pieces; the fuzzer writes a
    /// whole request at once otherwise) is answered with a 101 whose
    /// Sec-WebSocket-Accept is computed from another key: the answer to a trickled request
    /// is broken, not refused, so the trickle allowance must not hide it.
    WrongAcceptWhenTrickled,
}

/// A correct echo server (RFC 6455, built on wsspec's codec and handshake modules) with one
/// planted defect. Stops, with its connections, when dropped.
struct Planted {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Planted {
    async fn start(defect: Defect) -> Planted {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let crash = Arc::new(Notify::new());
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                while conns.try_join_next().is_some() {}
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = crash.notified() => break,
                };
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let crash = crash.clone();
                conns.spawn(async move {
                    let _ = tokio::time::timeout(CONN_TIMEOUT, serve(stream, defect, crash)).await;
                });
            }
            // Crashed: the listener and every connection go away at once.
        });
        Planted { addr, task }
    }

    fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_some(s: &mut TcpStream, buf: &mut [u8]) -> Option<usize> {
    match tokio::time::timeout(IO_TIMEOUT, s.read(buf)).await {
        Ok(Ok(n)) if n > 0 => Some(n),
        _ => None,
    }
}

async fn write_all(s: &mut TcpStream, bytes: &[u8]) -> bool {
    matches!(
        tokio::time::timeout(IO_TIMEOUT, s.write_all(bytes)).await,
        Ok(Ok(()))
    )
}

/// FIN, then read what the client still sends, so the close frame in flight is not reset.
async fn linger_close(mut s: TcpStream) {
    let _ = s.shutdown().await;
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
        if n == 0 {
            break;
        }
    }
}

fn frame(opcode: u8, payload: Vec<u8>) -> Vec<u8> {
    Frame::new(opcode, payload).encode().unwrap()
}

async fn serve(mut s: TcpStream, defect: Defect, crash: Arc<Notify>) {
    // The opening handshake: refuse with an HTTP error what §4.2.1 forbids.
    let mut head = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut reads = 0;
    let req = loop {
        let Some(n) = read_some(&mut s, &mut buf).await else {
            return;
        };
        reads += 1;
        head.extend_from_slice(&buf[..n]);
        match parse_request(&head, 16 * 1024) {
            Ok(None) => continue,
            Ok(Some(r)) => break Some(r),
            Err(_) => break None,
        }
    };
    let problems: Vec<HandshakeRule> = match &req {
        Some(r) => validate_request(r)
            .into_iter()
            .map(|p| p.rule)
            .filter(|r| *r != HandshakeRule::KeyNonCanonical)
            .collect(),
        None => vec![HandshakeRule::HttpVersion],
    };
    if !problems.is_empty() {
        let mut r = if problems.contains(&HandshakeRule::VersionNot13)
            || problems.contains(&HandshakeRule::VersionMissing)
        {
            let mut r = ResponseSpec::new(426, "Upgrade Required");
            r.add("Sec-WebSocket-Version", "13");
            r
        } else {
            ResponseSpec::new(400, "Bad Request")
        };
        r.add("Connection", "close");
        r.add("Content-Length", "0");
        if write_all(&mut s, &r.to_bytes()).await {
            linger_close(s).await;
        }
        return;
    }
    let req = req.unwrap();
    let mut key = String::from_utf8_lossy(req.header("Sec-WebSocket-Key").unwrap()).into_owned();
    if defect == Defect::WrongAcceptWhenTrickled && reads > 1 {
        key = "dGhlIHNhbXBsZSBub25jZQ==".into();
    }
    if !write_all(&mut s, &ResponseSpec::switching_protocols(&key).to_bytes()).await {
        return;
    }
    let mut input = head.split_off(req.head_len);
    let mut dec = Decoder::new(DecoderConfig {
        expect: Expect::Masked,
        max_frame_payload: 1 << 20,
        allowed_rsv: 0,
    });
    let mut asm = Assembler::new(1 << 20);
    let fail_code = loop {
        dec.feed(&input);
        let mut out = Vec::new();
        let mut end = None;
        loop {
            let df = match dec.next_frame() {
                Ok(None) => break,
                Ok(Some(df)) => df,
                Err(FatalError::FrameTooLarge { .. }) => {
                    end = Some(Some(1009));
                    break;
                }
            };
            let f = &df.frame;
            let planted_rsv = defect == Defect::EchoRsv1Text
                && f.opcode == OpCode::TEXT.0
                && f.rsv1
                && !f.rsv2
                && !f.rsv3;
            let bad = df.violations.iter().find(|v| {
                v.rule != Rule::NonMinimalLength && !(planted_rsv && v.rule == Rule::ReservedBitSet)
            });
            if let Some(v) = bad {
                end = Some(Some(if v.rule == Rule::CloseReasonInvalidUtf8 {
                    1007
                } else {
                    1002
                }));
                break;
            }
            if defect == Defect::HangOnBigPingInMessage
                && f.opcode == OpCode::PING.0
                && f.payload.len() >= 100
                && asm.in_message()
            {
                // The planted hang: hold the connection, answer nothing.
                let _ = write_all(&mut s, &out).await;
                tokio::time::sleep(CONN_TIMEOUT).await;
                return;
            }
            match asm.push(&df) {
                Err(v) => {
                    end = Some(Some(if v.rule == Rule::InvalidUtf8 {
                        1007
                    } else {
                        1002
                    }));
                    break;
                }
                Ok(Assembled::Partial) => {}
                Ok(Assembled::Message {
                    opcode, payload, ..
                }) => {
                    if defect == Defect::CrashOnBigBinary
                        && opcode == OpCode::BINARY.0
                        && payload.len() >= 300
                    {
                        crash.notify_one();
                        return;
                    }
                    out.extend(frame(opcode, payload));
                }
                Ok(Assembled::Control(c)) => match OpCode(c.opcode) {
                    OpCode::PING => out.extend(frame(OpCode::PONG.0, c.payload)),
                    OpCode::CLOSE => {
                        let code = (c.payload.len() >= 2)
                            .then(|| u16::from_be_bytes([c.payload[0], c.payload[1]]));
                        end = Some(code.or(Some(0)));
                        break;
                    }
                    _ => {}
                },
            }
        }
        if !out.is_empty() && !write_all(&mut s, &out).await {
            return;
        }
        if let Some(code) = end {
            break code;
        }
        match read_some(&mut s, &mut buf).await {
            Some(n) => input = buf[..n].to_vec(),
            None => return,
        }
    };
    // Fail the connection, or answer the client's close (echoing its code).
    let body = match fail_code {
        Some(0) | None => Vec::new(),
        Some(c) => close_payload(Some(c), b""),
    };
    if write_all(&mut s, &frame(OpCode::CLOSE.0, body)).await {
        linger_close(s).await;
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("netfuzz-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn session(timeout_ms: u64) -> SessionConfig {
    SessionConfig {
        step_timeout: Duration::from_millis(timeout_ms),
        ..Default::default()
    }
}

fn config(seed: u64, iterations: u64, save: Option<PathBuf>) -> FuzzConfig {
    FuzzConfig {
        seed,
        limit: Limit::Iterations(iterations),
        jobs: 8,
        // Short enough that shrinking a hang stays quick, long enough for a loaded machine.
        session: session(PLANTED_TIMEOUT_MS),
        save_dir: save,
        max_findings: Some(1),
        shrink: fuzz::shrink::Budget {
            attempts: 300,
            time: Duration::from_secs(90),
        },
        ..Default::default()
    }
}

/// Send steps as written in a case (not the implicit handshake the loader adds).
fn written_sends(case: &Case) -> usize {
    fuzz::save::written_steps(case)
        .lines()
        .filter(|l| l.trim_start().starts_with("{ send"))
        .count()
}

fn load_saved(dir: &Path, id: &str) -> Case {
    let cases = wsspec::case::load_dir(dir).expect("saved cases load");
    cases
        .into_iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("{id} not saved in {}", dir.display()))
}

fn describe(r: &FuzzReport) -> String {
    r.summary()
}

/// The shared half of the planted-defect tests: found, shrunk, saved, and the saved case
/// tells that server from the reference server.
async fn finds(defect: Defect, kind: FindingKind, name: &str) -> Case {
    let server = Planted::start(defect).await;
    let dir = scratch(name);
    let report = fuzz::fuzz(&server.url(), &config(1, 2000, Some(dir.clone())))
        .await
        .unwrap();
    let f = report
        .findings
        .first()
        .unwrap_or_else(|| panic!("{defect:?} not found:\n{}", describe(&report)));
    assert_eq!(f.kind, kind, "{}", describe(&report));
    assert!(f.iteration < 2000);
    assert_eq!(f.id, format!("fuzz.{}.1-{}", kind.name(), f.iteration));
    let case = load_saved(&dir, &f.id);
    assert!(
        written_sends(&case) <= 4,
        "not shrunk enough:\n{}",
        f.case_toml
    );
    assert!(f.minimal.size() <= f.original.size());
    assert_eq!(case.level, wsspec::case::Level::Must);
    assert!(case.section.starts_with("RFC 6455 §"), "{}", case.section);
    assert!(case.title.starts_with(kind.name()), "{}", case.title);

    let broken = run_case(
        &case,
        &Target::parse(&server.url()).unwrap(),
        &session(PLANTED_TIMEOUT_MS),
    )
    .await;
    assert_eq!(broken.verdict, Grade::Fail, "{:?}", broken.reasons);
    let reference = ReferenceServer::start().await.unwrap();
    let good = run_case(
        &case,
        &Target::parse(&reference.url()).unwrap(),
        &session(2000),
    )
    .await;
    assert_eq!(
        good.verdict,
        Grade::Pass,
        "{:?}\n{}",
        good.reasons,
        f.case_toml
    );
    case
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_shrinks_and_saves_a_hang() {
    let case = finds(Defect::HangOnBigPingInMessage, FindingKind::Hang, "hang").await;
    // What is left is the defect: a message left open and a big ping.
    let big_ping = case.steps.iter().any(|s| {
        matches!(s, Step::Send(Send::Frame(f), _) if f.opcode == OpCode::PING.0 && f.payload.len() >= 100)
    });
    assert!(big_ping, "{case:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_shrinks_and_saves_an_rsv1_echo() {
    let case = finds(Defect::EchoRsv1Text, FindingKind::WrongAcceptance, "rsv1").await;
    let rsv1_text = case.steps.iter().any(
        |s| matches!(s, Step::Send(Send::Frame(f), _) if f.opcode == OpCode::TEXT.0 && f.rsv1),
    );
    assert!(rsv1_text, "{case:#?}");
}

/// A request written in tiny pieces may be refused (a slowloris guard), but a 101 with a
/// wrong Sec-WebSocket-Accept to it is a finding all the same (RFC 6455 §4.2.2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_101_to_a_trickled_request_is_found() {
    let server = Planted::start(Defect::WrongAcceptWhenTrickled).await;
    let mut cfg = config(1, 2000, None);
    cfg.max_findings = None;
    let report = fuzz::fuzz(&server.url(), &cfg).await.unwrap();
    let trickled = |f: &fuzz::Finding| {
        f.original
            .handshake
            .as_ref()
            .is_some_and(|h| h.opts.chop.is_some_and(|c| c < 16))
    };
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::ProtocolBreak && trickled(f)),
        "{}",
        describe(&report)
    );
    let f = &report.findings[0];
    assert!(f.reason.contains("Sec-WebSocket-Accept"), "{}", f.reason);
    assert!(
        report.findings.iter().all(trickled),
        "only trickled requests get the wrong accept:\n{}",
        describe(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_ends_the_run_and_is_saved_unshrunk() {
    let server = Planted::start(Defect::CrashOnBigBinary).await;
    let dir = scratch("crash");
    let mut cfg = config(5, 2000, Some(dir.clone()));
    cfg.max_findings = None;
    let report = fuzz::fuzz(&server.url(), &cfg).await.unwrap();
    assert!(report.crashed, "{}", describe(&report));
    assert!(report.iterations < 2000, "the run stops at the crash");
    let f = &report.findings[0];
    assert_eq!(f.kind, FindingKind::Crash, "{}", describe(&report));
    assert_eq!(f.shrink_attempts, 0);
    let case = load_saved(&dir, &f.id);
    let big_binary = f.original.actions.iter().any(|a| match &a.send {
        Send::Message(m) => m.opcode == OpCode::BINARY.0 && m.payload.len() >= 300,
        Send::Frame(fr) => fr.opcode == OpCode::BINARY.0 || fr.opcode == 0,
        _ => false,
    });
    assert!(big_binary, "{case:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_server_has_no_finding() {
    let server = ReferenceServer::start().await.unwrap();
    let mut cfg = config(2024, 300, None);
    cfg.max_findings = None;
    cfg.session = session(2000);
    let report = fuzz::fuzz(&server.url(), &cfg).await.unwrap();
    assert_eq!(report.iterations, 300);
    assert!(report.findings.is_empty(), "{}", describe(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_names_the_same_sequences_whatever_the_parallelism() {
    let server = ReferenceServer::start().await.unwrap();
    let mut runs = Vec::new();
    for jobs in [1, 8] {
        let seen: Arc<Mutex<BTreeMap<u64, String>>> = Arc::default();
        let mut cfg = config(77, 120, None);
        cfg.jobs = jobs;
        cfg.session = session(2000);
        let hook = seen.clone();
        cfg.on_case = Some(Arc::new(move |i, toml| {
            hook.lock().unwrap().insert(i, toml.to_owned());
        }));
        let report = fuzz::fuzz(&server.url(), &cfg).await.unwrap();
        assert_eq!(report.iterations, 120);
        let seen = std::mem::take(&mut *seen.lock().unwrap());
        assert_eq!(seen.len(), 120);
        runs.push(seen);
    }
    assert_eq!(runs[0], runs[1]);
    // And another seed sends other sequences.
    let other: Vec<String> = (0..120)
        .map(|i| {
            let p = fuzz::oracle::plan(&fuzz::generate::generate(78, i)).unwrap();
            fuzz::save::steps_toml(&p)
        })
        .collect();
    let same = runs[0]
        .values()
        .zip(&other)
        .filter(|(a, b)| a.contains(b.as_str()))
        .count();
    assert!(same < 10, "{same} of 120 sequences equal across seeds");
}

// ---- the binary ----

fn wsspec(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("wsspec {args:?} did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn the_cli_saves_cases_that_wsspec_server_replays() {
    let rt = runtime();
    let broken = rt.block_on(Planted::start(Defect::EchoRsv1Text));
    let reference = rt.block_on(ReferenceServer::start()).unwrap();
    let dir = scratch("cli");
    let d = dir.to_str().unwrap();
    let url = broken.url();
    let out = wsspec(&[
        "fuzz",
        &url,
        "--seed",
        "1",
        "--iterations",
        "2000",
        "--timeout",
        "500",
        "--max-findings",
        "1",
        "--save-cases",
        d,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("wrong-acceptance"), "{stdout}");
    assert!(stdout.contains("sequences/s"), "{stdout}");
    let replay = |url: &str| {
        wsspec(&[
            "server",
            url,
            "--cases-dir",
            d,
            "--cases",
            "fuzz",
            "--out",
            dir.join("report").to_str().unwrap(),
        ])
    };
    assert_eq!(replay(&url).status.code(), Some(1));
    let good = replay(&reference.url());
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
    // Nothing to find, and nothing listening.
    let ok = wsspec(&[
        "fuzz",
        &reference.url(),
        "--iterations",
        "50",
        "--seed",
        "3",
    ]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = wsspec(&[
        "fuzz",
        &format!("ws://127.0.0.1:{port}/"),
        "--iterations",
        "5",
    ]);
    assert_eq!(gone.status.code(), Some(2));
    let usage = wsspec(&[
        "fuzz",
        &reference.url(),
        "--iterations",
        "5",
        "--duration",
        "5s",
    ]);
    assert_eq!(usage.status.code(), Some(2));
    drop(broken);
}

/// `cargo test --release --test it netfuzz::soak -- --ignored --nocapture`: many more sequences
/// against the reference server, and the rate.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a long soak against the reference server; NETFUZZ_ITERATIONS, NETFUZZ_SEED, NETFUZZ_JOBS"]
async fn soak_against_the_reference_server() {
    let n = std::env::var("NETFUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let seed = std::env::var("NETFUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    // The fuzzer's own cost per sequence, without the network: generate, judge, write the
    // case file and load it back.
    let t0 = Instant::now();
    for i in 0..5000 {
        let seq = fuzz::generate::generate(seed, i);
        let plan = fuzz::oracle::plan(&seq).unwrap();
        let meta = fuzz::save::CaseMeta {
            id: format!("fuzz.seq.{seed}-{i}"),
            title: "t".into(),
            section: "s".into(),
            requirement: "r".into(),
            comment: Vec::new(),
        };
        fuzz::save::load("x.toml", &fuzz::save::case_toml(&meta, &plan)).unwrap();
    }
    println!(
        "generate + oracle + case file + load: {:.0} µs per sequence",
        t0.elapsed().as_secs_f64() * 1e6 / 5000.0
    );
    let server = ReferenceServer::start().await.unwrap();
    let mut cfg = config(seed, n, None);
    cfg.max_findings = None;
    cfg.jobs = std::env::var("NETFUZZ_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(wsspec::run::default_jobs);
    cfg.session = session(2000);
    let report = fuzz::fuzz(&server.url(), &cfg).await.unwrap();
    println!("{}", describe(&report));
    assert!(report.findings.is_empty());
}

/// Runs `iterations` sequences of a fixed seed against the echo server with `flaws`,
/// without stopping at a first finding.
async fn fuzz_echo(flaws: wsspec::reference::echo::Flaws, iterations: u64) -> FuzzReport {
    let server = wsspec::reference::echo::EchoServer::start(flaws)
        .await
        .unwrap();
    let mut cfg = config(1, iterations, None);
    cfg.max_findings = None;
    cfg.session = session(2000);
    let report = fuzz::fuzz(&server.url(), &cfg).await.unwrap();
    assert_eq!(report.iterations, iterations);
    report
}

/// The fuzzer's oracle grades by the suite's rule (DESIGN.md §5): a server that fails by
/// dropping TCP or with another close code, refuses HTTP/1.0 with 505, accepts version 8,
/// answers a buffered ping before failing, or refuses a handshake by dropping the
/// connection breaks no MUST, so a fixed-seed run finds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legal_variants_of_the_echo_server_have_no_finding() {
    use wsspec::reference::echo::Flaws;
    let d = Flaws::default();
    let variants = [
        (
            "fails by dropping TCP",
            Flaws {
                fail_by_dropping_tcp: true,
                ..d
            },
        ),
        (
            "fails with 1011",
            Flaws {
                fail_with_1011: true,
                ..d
            },
        ),
        (
            "refuses HTTP/1.0 with 505",
            Flaws {
                refuse_http_1_0_with_505: true,
                ..d
            },
        ),
        (
            "accepts version 8",
            Flaws {
                accept_version_8: true,
                ..d
            },
        ),
        (
            "answers a buffered ping first",
            Flaws {
                pong_before_failing: true,
                ..d
            },
        ),
        (
            "refuses by dropping TCP",
            Flaws {
                no_error_response: true,
                ..d
            },
        ),
    ];
    for (what, flaws) in variants {
        let report = fuzz_echo(flaws, 1000).await;
        assert!(report.findings.is_empty(), "{what}: {}", describe(&report));
    }
}

/// One cause, one finding: unmasked text, binary, control and continuation frames
/// accepted are the same broken rule, shown by one minimal, readable reproducer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_unmasked_frames_is_one_cause() {
    use wsspec::reference::echo::Flaws;
    let report = fuzz_echo(
        Flaws {
            accept_unmasked: true,
            ..Flaws::default()
        },
        600,
    )
    .await;
    let causes: Vec<(FindingKind, &str)> = report
        .findings
        .iter()
        .map(|f| (f.kind, f.requirement.name.as_str()))
        .collect();
    assert_eq!(
        causes,
        [(FindingKind::WrongAcceptance, "mask-missing")],
        "{}",
        describe(&report)
    );
    let f = &report.findings[0];
    assert!(f.count > 1, "several sequences show it: {}", f.count);
    assert!(f.minimal_sends <= 2, "{}", f.case_toml);
    // The probe is written as the text it is, not as hex.
    assert!(f.case_toml.contains("\"wsspec-probe\""), "{}", f.case_toml);
    assert!(f.case_toml.contains("mask-missing"), "{}", f.case_toml);
}
