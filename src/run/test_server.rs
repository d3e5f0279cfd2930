//! One case against one connection: the step interpreter.
//!
//! wsspec is the client here (testing a server); `test_client.rs` runs the same steps
//! with wsspec as the server and reuses the pieces marked `pub(super)`, which take the
//! role from `State::masking`. Every step has a deadline and the case has one as a
//! whole; a peer that stalls, floods or resets can only produce a verdict.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::reader::{read_loop, ReadLimits, ServerPeer, Shared};
use super::target::Target;
use super::writer::{Built, Keys, Part, StreamedMessage, WriteOutcome, Writer};
use crate::case::{
    Case, ExpectKind, Fragmenting, Grade, HandshakeSpec, LengthSpec, MaskSpec, Send, Step,
    WriteOpts,
};
use crate::codec::{Frame, LengthForm, OpCode};
use crate::deflate::{Compressor, Endpoint};
use crate::handshake::{generate_key, RequestSpec};
use crate::judge::{
    case_verdict, judge_close, CloseFacts, Context, Event, Matcher, PeerViolation, Progress,
};
use crate::results::{CaseResult, Check, Party, Timings};
use crate::transcript::{Direction, Transcript};

/// Settings that apply to every case of a run.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub step_timeout: Duration,
    pub connect_timeout: Duration,
    /// Trust for `wss://` targets, built once per run; None trusts the public roots.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Headers added to every handshake (`--header`), before the case's own changes.
    pub headers: Vec<(String, String)>,
    pub limits: ReadLimits,
    pub strict: bool,
    /// The peer's declared message size limit: messages up to it must be echoed, larger
    /// ones must be refused with 1009 (DESIGN.md §5).
    pub peer_max_message: Option<u64>,
    /// HTTP/1.1 (one TCP connection per case) or HTTP/2 (one extended CONNECT stream).
    pub transport: super::transport::Transport,
    /// Over HTTP/2: the connections the cases share as concurrent streams
    /// (`--http2-streams`); None opens one connection per case.
    pub h2_pool: Option<Arc<super::h2::Pool>>,
    /// How long an idle connection is watched for the peer's heartbeat pings (`--idle`):
    /// the wait of `ping` expectations and of those marked `idle`. Short by default so
    /// the heartbeat cases cost a whole run little; a peer pinging every 20 s needs more.
    pub idle: Duration,
    /// Whether each case keeps its wire transcript (the default). The network fuzzer
    /// reports findings by their reasons and reproducers, never a transcript, so its
    /// sequences run without one ([`Transcript::counting`]).
    pub transcript: bool,
}

/// The default `--idle`.
pub const DEFAULT_IDLE: Duration = Duration::from_millis(1000);

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            step_timeout: Duration::from_millis(2000),
            connect_timeout: Duration::from_millis(3000),
            tls: None,
            headers: Vec::new(),
            limits: ReadLimits::default(),
            strict: false,
            peer_max_message: None,
            transport: super::transport::Transport::Http1,
            h2_pool: None,
            idle: DEFAULT_IDLE,
            transcript: true,
        }
    }
}

/// Peer violations kept per case. A peer that breaks a rule in every frame of a flood would
/// otherwise grow the results (and the reasons, one line each) without bound; the rest are
/// counted.
pub const VIOLATIONS_KEEP: usize = 100;

pub(super) struct State {
    pub(super) shared: Arc<Shared>,
    pub(super) checks: Vec<Check>,
    pub(super) violations: Vec<PeerViolation>,
    pub(super) violations_dropped: u64,
    pub(super) ctx: Context,
    pub(super) close: CloseFacts,
    pub(super) established: bool,
    pub(super) aborted: bool,
    pub(super) write_broken: bool,
    pub(super) error: Option<String>,
    /// What the next flush writes (a pong may go between its frames).
    pub(super) pending: Built,
    /// wsspec plays the client, so its frames are masked (RFC 6455 §5.1); false when it
    /// plays the server.
    pub(super) masking: bool,
    /// wsspec's compressor once permessage-deflate is agreed (RFC 7692 §7.2.1).
    pub(super) compressor: Option<Compressor>,
    /// An expectation graded `unimplemented` missed: the peer lacks the feature the rest
    /// of the case is about, so its remaining steps are skipped (the close still runs).
    pub(super) skip_rest: bool,
    /// Where the case's time went, filled in as it runs.
    pub(super) timings: Timings,
    /// The wait of `ping` and `idle` expectations (`SessionConfig::idle`).
    pub(super) idle: Duration,
    /// Over HTTP/2: opens more streams on the session's connection.
    pub(super) second_stream: Option<super::h2::SecondStream>,
}

impl State {
    pub(super) fn new(started: Instant, masking: bool) -> State {
        State {
            shared: Arc::new(Shared::new(Transcript::new(started))),
            checks: Vec::new(),
            violations: Vec::new(),
            violations_dropped: 0,
            ctx: Context::default(),
            close: CloseFacts {
                peer_is_client: !masking,
                ..Default::default()
            },
            established: false,
            aborted: false,
            write_broken: false,
            error: None,
            pending: Built::default(),
            masking,
            compressor: None,
            skip_rest: false,
            timings: Timings::default(),
            idle: DEFAULT_IDLE,
            second_stream: None,
        }
    }

    /// Time spent waiting for something that did not come.
    pub(super) fn waited(&mut self, d: Duration) {
        self.timings.waiting_ms += ms(d);
    }

    /// The endpoint wsspec plays: the client masks its frames, the server does not.
    pub(super) fn own_endpoint(&self) -> Endpoint {
        if self.masking {
            Endpoint::Client
        } else {
            Endpoint::Server
        }
    }

    pub(super) fn note(&self, text: impl Into<String>) {
        self.shared
            .transcript
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .note(text);
    }

    /// The key for a frame wsspec sends: `Auto` follows the role.
    pub(super) fn mask_key(&self, m: MaskSpec) -> Option<[u8; 4]> {
        match m {
            MaskSpec::Auto if self.masking => Some(rand::random()),
            MaskSpec::Auto | MaskSpec::None => None,
            MaskSpec::Random => Some(rand::random()),
            MaskSpec::Key(k) => Some(k),
        }
    }

    /// Stamps wsspec's first close frame for the TCP view (well formed or not: it is the
    /// close frame the peer sees on the wire).
    pub(super) fn close_frame_out(&self) {
        self.shared.stamp(None, |t, at| {
            t.wsspec_close_frame_us.get_or_insert(at);
        });
    }

    pub(super) fn violation(&mut self, v: PeerViolation) {
        if self.violations.len() < VIOLATIONS_KEEP {
            self.violations.push(v);
        } else {
            self.violations_dropped += 1;
        }
    }
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// How long a case may take as a whole: a step timeout per step plus its waits (an
/// expectation's own timeout, or `idle` for heartbeat waits).
pub fn case_timeout(case: &Case, step_timeout: Duration, idle: Duration) -> Duration {
    let idle_ms = idle.as_millis() as u64;
    let waits: u64 = case
        .runs()
        .map(|(_, s)| match s {
            Step::Wait { ms } => *ms,
            Step::Expect(e) => e
                .timeout_ms
                .unwrap_or(if waits_idle(e) { idle_ms } else { 0 }),
            Step::Send(_, w) => w.pause_ms.saturating_mul(64),
            Step::Repeat { .. } => 0,
        })
        .sum();
    let runs = case.runs().count() as u32;
    step_timeout * (runs + 3) + Duration::from_millis(waits)
}

/// Whether an expectation waits `--idle` rather than the step timeout.
pub(super) fn waits_idle(e: &crate::case::Expect) -> bool {
    e.waits_idle()
}

/// Runs one case against `target` and judges it.
pub async fn run_case(case: &Case, target: &Target, cfg: &SessionConfig) -> CaseResult {
    let started = Instant::now();
    let step_timeout = case
        .timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(cfg.step_timeout);
    let case_timeout = case_timeout(case, step_timeout, cfg.idle);
    let mut st = State::new(started, true);
    if !cfg.transcript {
        st.shared = Arc::new(Shared::new(Transcript::counting(started)));
    }
    st.idle = cfg.idle;
    st.ctx.peer_limit = cfg.peer_max_message;
    let outcome = tokio::time::timeout(
        case_timeout,
        drive(case, target, cfg, step_timeout, &mut st),
    )
    .await;
    if outcome.is_err() {
        st.error = Some(format!(
            "the case did not finish within {} ms",
            case_timeout.as_millis()
        ));
        st.note("case timeout: wsspec gave up on the connection");
        st.aborted = true;
    }
    result(case, st, started, cfg.strict)
}

/// Judges a finished case.
pub(super) fn result(case: &Case, mut st: State, started: Instant, strict: bool) -> CaseResult {
    st.close.times = *st
        .shared
        .tcp
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let close = if st.established && case.close && !st.aborted {
        Some(judge_close(&st.close))
    } else {
        None
    };
    let (verdict, mut reasons) = case_verdict(
        case.level,
        &st.checks,
        &st.violations,
        close.as_ref(),
        st.error.as_deref(),
        strict,
    );
    if st.violations_dropped > 0 {
        reasons.push(format!(
            "[fail] and {} more violations by the peer, not listed (only the first {VIOLATIONS_KEEP} are kept)",
            st.violations_dropped
        ));
    }
    let mut transcript = std::mem::take(
        &mut *st
            .shared
            .transcript
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    if verdict == Grade::Pass {
        transcript.shrink(
            crate::transcript::PASS_KEEP,
            crate::transcript::PASS_ENTRIES_KEEP,
        );
    }
    let elapsed = started.elapsed();
    let bytes_sent = st.shared.bytes_sent.load(Ordering::Relaxed);
    let bytes_received = st.shared.bytes_received.load(Ordering::Relaxed);
    CaseResult {
        verdict,
        reasons,
        checks: st.checks,
        violations: st.violations,
        close,
        duration_ms: elapsed.as_secs_f64() * 1000.0,
        bytes_sent,
        bytes_received,
        bytes_per_sec: (bytes_sent + bytes_received) as f64 / elapsed.as_secs_f64().max(1e-6),
        timings: st.timings,
        transcript,
        // The case's own fields (id, title, section, ...), as every result carries them.
        ..CaseResult::unjudged(case)
    }
}

async fn drive(
    case: &Case,
    target: &Target,
    cfg: &SessionConfig,
    step_timeout: Duration,
    st: &mut State,
) {
    let t0 = Instant::now();
    let connected = match &cfg.h2_pool {
        Some(pool) if cfg.transport == super::transport::Transport::Http2 => pool
            .connect(target, cfg.tls.as_ref(), cfg.connect_timeout)
            .await
            .map(|s| super::transport::Stream::H2(Box::new(s))),
        _ => {
            super::transport::connect_over(
                cfg.transport,
                target,
                cfg.tls.as_ref(),
                cfg.connect_timeout,
            )
            .await
        }
    };
    if let Ok(super::transport::Stream::H2(s)) = &connected {
        st.second_stream = Some(s.second_stream());
    }
    st.timings.connect_ms = ms(t0.elapsed());
    if cfg.transport == super::transport::Transport::Http2 {
        st.note("over HTTP/2: the opening handshake is an extended CONNECT (RFC 8441 §5); the transcript shows its request and response HEADERS as HTTP/1.1-shaped text, and END_STREAM / RST_STREAM as the end / reset of the connection");
    }
    if cfg.transport == super::transport::Transport::Http3 {
        st.note("over HTTP/3: the opening handshake is an extended CONNECT (RFC 9220 §3); the transcript shows its request and response HEADERS as HTTP/1.1-shaped text, and the stream's FIN / RESET_STREAM or STOP_SENDING as the end / reset of the connection");
    }
    if cfg.transport.extended_connect() {
        st.ctx.extended_connect = true;
        st.shared.extended_connect.store(true, Ordering::Relaxed);
    }
    let (rd, wr) = match connected {
        Ok(s) => s.split(),
        Err(e) => {
            st.error = Some(e.to_string());
            return;
        }
    };
    answer_pings(case, st);
    let wr = Writer::spawn(wr, st.shared.clone(), st.masking, step_timeout);
    let (tx, mut rx) = super::reader::events(&cfg.limits);
    let reader = tokio::spawn(read_loop(
        rd,
        tx,
        st.shared.clone(),
        cfg.limits,
        ServerPeer::default(),
    ));
    let _guard = AbortOnDrop(reader);

    for (i, step) in case.runs() {
        if st.aborted || st.skip_rest {
            break;
        }
        let started = Instant::now();
        match step {
            Step::Send(send, opts) => {
                let bytes = build(send, target, cfg, st);
                write_step(send, bytes, opts, &wr, st, step_timeout).await;
            }
            Step::Wait { ms } => {
                st.note(format!("wait {ms} ms"));
                tokio::time::sleep(Duration::from_millis(*ms)).await;
                st.waited(started.elapsed());
            }
            Step::Expect(expect) => expect_step(i, expect, &wr, &mut rx, st, step_timeout).await,
            // Never met: `runs` unwraps repeats, and they do not nest.
            Step::Repeat { .. } => {}
        }
        st.timings.add_step(step, started.elapsed());
    }
    if st.established && case.close && !st.aborted {
        let started = Instant::now();
        // A case's own timeout buys time for its exchange (compression, megabyte echoes);
        // closing TCP after the closing handshake costs a peer nothing, so that wait is the
        // session's step timeout at most.
        let tcp_wait = step_timeout.min(cfg.step_timeout);
        closing_handshake(&wr, &mut rx, st, step_timeout, tcp_wait).await;
        st.timings.close_ms += ms(started.elapsed());
    }
    drain(&mut rx, st);
}

/// Sets whether wsspec answers the peer's pings in this case (`pongs = false` turns it off
/// to watch the peer's keep-alive), before the reader sees the first one.
pub(super) fn answer_pings(case: &Case, st: &State) {
    if !case.pongs {
        st.shared.pongs.set_answering(false);
        st.note("wsspec leaves the peer's pings unanswered in this case (pongs = false), to see what its keep-alive does");
    }
}

/// Queues the bytes of a send step and writes them unless the step holds them back.
pub(super) async fn write_step(
    send: &Send,
    built: Built,
    opts: &WriteOpts,
    wr: &Writer,
    st: &mut State,
    t: Duration,
) {
    hold(st, built);
    if st.close.wsspec_sent.is_some() {
        // wsspec's close frame is among these bytes: no pong may follow it.
        wr.no_more_pongs.store(true, Ordering::SeqCst);
    }
    if matches!(send, Send::SecondStreamError) {
        flush(wr, st, opts, t).await;
        let said = match &st.second_stream {
            Some(second) => second.fail_one(t).await,
            // Only h2.* cases use it, and they never run over HTTP/1.1.
            None => Ok("second_stream_error: over HTTP/1.1 a connection carries one WebSocket, so there is no second stream; the step does nothing".into()),
        };
        match said {
            Ok(said) => st.note(said),
            Err(e) => {
                st.note(format!("second stream: {e}"));
                st.error = Some(format!("the second_stream_error step could not run: {e}"));
                st.aborted = true;
            }
        }
    } else if matches!(send, Send::Shutdown) {
        flush(
            wr,
            st,
            &WriteOpts {
                flush: true,
                ..Default::default()
            },
            t,
        )
        .await;
        wr.shutdown().await;
        st.note("wsspec half-closed TCP (shutdown of its write side)");
        st.write_broken = true;
    } else if opts.flush {
        flush(wr, st, opts, t).await;
    }
}

/// Adds bytes to what the next flush writes, keeping their frame boundaries.
fn hold(st: &mut State, built: Built) {
    st.pending.append(built);
}

/// Takes what already arrived so late violations (e.g. a bad close frame) are judged.
pub(super) fn drain(rx: &mut mpsc::Receiver<Event>, st: &mut State) {
    while let Ok(ev) = rx.try_recv() {
        if let Event::Violation(v) = ev {
            st.violation(v);
        }
    }
}

/// One expectation: feeds events to its matcher until it decides or times out, and
/// records the check.
pub(super) async fn expect_step(
    i: usize,
    expect: &crate::case::Expect,
    wr: &Writer,
    rx: &mut mpsc::Receiver<Event>,
    st: &mut State,
    step_timeout: Duration,
) {
    // A connection the peer has already failed, as an earlier expectation saw, stays
    // failed however it failed (close frame, FIN or reset): a later `fail` step (e.g.
    // after a fragment sent anyway) is met at once.
    let mut matcher = Matcher::new(expect, &st.ctx);
    let peer_ended = st.close.peer_sent.is_some() || st.close.tcp_closed_by == Some(Party::Peer);
    // The grade of a `fail` expectation, or of the first `fail` alternative of an `any`.
    let fail_grade = match &expect.kind {
        ExpectKind::Fail { .. } => Some(expect.grade),
        ExpectKind::Any(alts) => alts
            .iter()
            .find(|a| matches!(a.kind, ExpectKind::Fail { .. }))
            .map(|a| a.grade),
        _ => None,
    };
    if let (Some(grade), true, true) = (fail_grade, st.close.failure_expected, peer_ended) {
        let outcome = crate::judge::Outcome {
            limit: false,
            matched: true,
            grade,
            expected: matcher.expected().to_owned(),
            observed: "the peer had already failed the connection".into(),
        };
        record(st, i, expect.implicit, outcome);
        return;
    }
    let limit = match matcher.timeout_ms() {
        Some(ms) => Duration::from_millis(ms),
        None if waits_idle(expect) => st.idle,
        None => step_timeout,
    };
    let t0 = Instant::now();
    let deadline = tokio::time::Instant::now() + limit;
    let outcome = loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => {
                observe(&ev, wr, st, step_timeout).await;
                if let Progress::Done(o) = matcher.feed(&ev, &st.ctx) {
                    break o;
                }
            }
            // Nothing more can arrive: the reader has ended.
            Ok(None) => break matcher.timeout(t0.elapsed().as_millis() as u64),
            Err(_) => {
                st.waited(t0.elapsed());
                break matcher.timeout(t0.elapsed().as_millis() as u64);
            }
        }
    };
    let mut outcome = outcome;
    if outcome.matched && waits_idle(expect) {
        // What a heartbeat case is about: how long the peer took.
        outcome.observed = format!(
            "{} after {:.0} ms",
            outcome.observed,
            t0.elapsed().as_secs_f64() * 1000.0
        );
    }
    if let ExpectKind::Handshake(_) = expect.kind {
        if outcome.matched && st.close.tcp_closed_by.is_none() {
            st.established = outcome.observed.starts_with("status 101")
                || (st.ctx.extended_connect && outcome.observed.starts_with("status 2"));
        }
    }
    let peer_ended = st.close.peer_sent.is_some() || st.close.tcp_closed_by == Some(Party::Peer);
    if outcome.matched && expects_failure(&expect.kind) && peer_ended {
        st.close.failure_expected = true;
    }
    record(st, i, expect.implicit, outcome);
}

/// Adds a decided expectation to the case (a repeat of the previous check counts on it);
/// a missed one graded `fail` ends the case.
pub(super) fn record(st: &mut State, i: usize, implicit: bool, outcome: crate::judge::Outcome) {
    st.note(format!(
        "{}: expected {}; observed {}",
        if outcome.matched { "matched" } else { "missed" },
        outcome.expected,
        outcome.observed
    ));
    let stop = !outcome.matched && outcome.grade == Grade::Fail;
    if !outcome.matched && outcome.grade == Grade::Unimplemented {
        st.note("the peer does not implement what the rest of this case needs: its remaining steps are skipped");
        st.skip_rest = true;
    }
    match st.checks.last_mut() {
        Some(last)
            if last.expected == outcome.expected
                && last.observed == outcome.observed
                && last.grade == outcome.grade
                && last.matched == outcome.matched
                && last.limit == outcome.limit =>
        {
            last.count += 1;
        }
        _ => st.checks.push(Check {
            step: i,
            expected: outcome.expected,
            observed: outcome.observed,
            matched: outcome.matched,
            grade: outcome.grade,
            implicit,
            count: 1,
            limit: outcome.limit,
        }),
    }
    if stop {
        st.aborted = true;
    }
}

pub(super) fn expects_failure(k: &ExpectKind) -> bool {
    match k {
        ExpectKind::Fail { .. } => true,
        ExpectKind::Any(alts) => alts.iter().any(|a| expects_failure(&a.kind)),
        _ => false,
    }
}

pub(super) struct AbortOnDrop(pub(super) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Bookkeeping every event gets before a matcher sees it: answering close frames as a
/// correct peer in wsspec's role would, and remembering how the connection is ending.
/// (Pings are answered by the writer task the moment the reader sees them.)
pub(super) async fn observe(ev: &Event, wr: &Writer, st: &mut State, t: Duration) {
    match ev {
        Event::Violation(v) => st.violation(v.clone()),
        Event::Handshake(_) => {
            let agreed = st
                .shared
                .agreed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            if let Some(a) = &agreed {
                st.compressor = Some(compressor(a, st.own_endpoint()));
            }
            st.ctx.deflate = agreed;
        }
        Event::Close { code, .. } => {
            if st.close.peer_sent.is_none() {
                st.close.peer_sent = Some(*code);
            }
            if st.close.wsspec_sent.is_none() && !st.write_broken {
                // Echo the code, as RFC 6455 §5.5.1 suggests; an invalid one is answered 1002.
                let reply = match code {
                    Some(c) if crate::codec::close_code_valid_on_wire(*c) => Some(*c),
                    Some(_) => Some(1002),
                    None => None,
                };
                let mut f = Frame::close(reply, b"");
                f.mask = st.mask_key(MaskSpec::Auto);
                st.close.wsspec_sent = Some(reply.unwrap_or(1005));
                st.close_frame_out();
                st.close.wsspec_first = false;
                wr.no_more_pongs.store(true, Ordering::SeqCst);
                send_frame(wr, st, &f, t).await;
            }
        }
        Event::Eof | Event::Reset(_) if st.close.tcp_closed_by.is_none() => {
            st.close.tcp_closed_by = Some(Party::Peer);
        }
        _ => {}
    }
}

pub(super) async fn send_frame(wr: &Writer, st: &mut State, f: &Frame, t: Duration) {
    st.shared
        .transcript
        .lock()
        .unwrap()
        .frame(Direction::Out, f);
    match f.encode() {
        Ok(bytes) => {
            hold(st, Built::whole(bytes));
            flush(
                wr,
                st,
                &WriteOpts {
                    flush: true,
                    ..Default::default()
                },
                t,
            )
            .await;
        }
        Err(e) => st.note(format!("cannot encode frame: {e}")),
    }
}

/// Writes the held bytes, in chops with pauses when asked.
pub(super) async fn flush(wr: &Writer, st: &mut State, opts: &WriteOpts, t: Duration) {
    let built = std::mem::take(&mut st.pending);
    if built.is_empty() {
        return;
    }
    let len = built.len();
    if st.write_broken {
        st.note(format!(
            "{len} bytes not sent: the connection is closed for writing"
        ));
        return;
    }
    let pause = Duration::from_millis(opts.pause_ms);
    match wr.write(built, opts.chop, pause, t).await {
        WriteOutcome::Written => {}
        WriteOutcome::Failed(e) => {
            st.note(format!("write failed: {e}"));
            st.write_broken = true;
        }
        WriteOutcome::Stalled(t) => {
            st.note(format!(
                "write stalled for {} ms: the peer stopped reading",
                t.as_millis()
            ));
            st.waited(t);
            st.write_broken = true;
        }
        WriteOutcome::PeerGone(t) => {
            st.note(format!(
                "write given up: the peer had closed its side of TCP and took nothing more for {} ms",
                t.as_millis()
            ));
            st.waited(t);
            st.write_broken = true;
        }
        WriteOutcome::Closed => {
            st.note(format!(
                "{len} bytes not sent: the connection is closed for writing"
            ));
            st.write_broken = true;
        }
    }
}

/// Turns a send step into bytes, updating what later expectations refer to.
fn build(send: &Send, target: &Target, cfg: &SessionConfig, st: &mut State) -> Built {
    let Send::Handshake(h) = send else {
        return build_frames(send, st);
    };
    let req = request(h, target, cfg);
    st.ctx.key = req
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-key"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    st.ctx.protocols = h.protocols.clone();
    st.ctx.upgrade_offered = req
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("upgrade"))
        .flat_map(|(_, v)| crate::handshake::tokens(v.as_bytes()))
        .map(|t| t.to_ascii_lowercase())
        .collect();
    st.ctx.extensions = h
        .extensions
        .iter()
        .map(|e| e.split(';').next().unwrap_or("").trim().to_owned())
        .collect();
    *st.shared
        .offered
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) =
        crate::handshake::parse_extension_lines(
            req.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-extensions"))
                .map(|(_, v)| v.as_bytes()),
        )
        .unwrap_or_default();
    st.note("opening handshake request");
    Built::whole(req.to_bytes())
}

/// The bytes of a send step other than the handshake, in either role.
pub(super) fn build_frames(send: &Send, st: &mut State) -> Built {
    let mut out = Vec::new();
    let mut bounds = Vec::new();
    let mut push = |st: &mut State, f: Frame, out: &mut Vec<u8>| {
        st.shared
            .transcript
            .lock()
            .unwrap()
            .frame(Direction::Out, &f);
        if let Err(e) = f.encode_into(out) {
            st.note(format!("cannot encode frame: {e}"));
        }
        bounds.push(out.len());
    };
    match send {
        // The handshake depends on the role; each interpreter builds its own.
        Send::Handshake(_) => {}
        Send::Frame(fs) => {
            let payload = fs.payload.bytes();
            if fs.opcode == OpCode::PING.0 {
                st.ctx.last_ping = Some(payload.clone());
            }
            // Only a well-formed close frame starts the closing handshake; a malformed one is
            // a protocol error the peer must fail on, not a close it must answer.
            let key = st.mask_key(fs.mask);
            let proper = fs.fin
                && !(fs.rsv1 || fs.rsv2 || fs.rsv3)
                && key.is_some() == st.masking
                && payload.len() <= 125
                && matches!(fs.length_form, LengthSpec::Minimal | LengthSpec::Bits7)
                && fs.declared_len.is_none_or(|d| d == payload.len() as u64)
                && (fs.opcode != OpCode::CLOSE.0
                    || crate::codec::close::close_problems(&payload).is_empty());
            if fs.opcode == OpCode::PING.0 && proper {
                if st.ctx.probe_pings.len() == crate::judge::matcher::PROBES_KEEP {
                    st.ctx.probe_pings.remove(0);
                }
                st.ctx.probe_pings.push(payload.clone());
            }
            if fs.opcode == OpCode::CLOSE.0 {
                st.close_frame_out();
                st.ctx.closes_sent.push(if payload.len() >= 2 {
                    u16::from_be_bytes([payload[0], payload[1]])
                } else {
                    1005
                });
            }
            if fs.opcode == OpCode::CLOSE.0 && proper && st.close.wsspec_sent.is_none() {
                st.close.wsspec_sent = Some(if payload.len() >= 2 {
                    u16::from_be_bytes([payload[0], payload[1]])
                } else {
                    1005
                });
                st.close.wsspec_first = st.close.peer_sent.is_none();
            }
            track_frame_message(&mut st.ctx, fs, &payload);
            if fs.rsv1 && fs.opcode & 0x8 == 0 && fs.opcode != 0 {
                resync_compressor(st);
            }
            let f = Frame {
                fin: fs.fin,
                rsv1: fs.rsv1,
                rsv2: fs.rsv2,
                rsv3: fs.rsv3,
                opcode: fs.opcode,
                mask: key,
                length_form: match fs.length_form {
                    LengthSpec::Minimal => LengthForm::Minimal,
                    LengthSpec::Bits7 => LengthForm::Bits7,
                    LengthSpec::Bits16 => LengthForm::Bits16,
                    LengthSpec::Bits64 => LengthForm::Bits64,
                },
                declared_len: fs.declared_len,
                payload,
            };
            push(st, f, &mut out);
        }
        Send::Message(m) if m.payload.is_large() && !(m.compress && st.compressor.is_some()) => {
            return streamed_message(m, st);
        }
        Send::Message(m) => {
            let original = m.payload.bytes();
            let compressed = match (&mut st.compressor, m.compress) {
                (Some(c), true) => Some(c.compress(&original)),
                (None, true) => {
                    st.note("permessage-deflate is not agreed: the message goes out uncompressed");
                    None
                }
                _ => None,
            };
            if let Some(c) = &compressed {
                st.note(format!(
                    "compressed a {}-byte message to {} bytes",
                    original.len(),
                    c.len()
                ));
            }
            let compress = compressed.is_some();
            let payload = compressed.unwrap_or_else(|| original.clone());
            let sizes = fragment_sizes(&m.fragments, payload.len());
            let mut at = 0;
            let last = sizes.len() - 1;
            out.reserve(payload.len() + sizes.len() * 14);
            for (i, n) in sizes.iter().enumerate() {
                let mut f = Frame::new(
                    if i == 0 {
                        m.opcode
                    } else {
                        OpCode::CONTINUATION.0
                    },
                    payload[at..at + n].to_vec(),
                );
                f.fin = i == last;
                f.rsv1 = compress && i == 0;
                f.mask = st.mask_key(m.mask);
                at += n;
                push(st, f, &mut out);
            }
            st.ctx.last_message = Some((m.opcode, m.payload.clone()));
        }
        // Raw bytes are taken to end on a frame boundary: a pong may follow them.
        Send::Raw(p) => return Built::whole(p.bytes()),
        Send::Shutdown | Send::SecondStreamError => {}
    }
    Built::frames(out, bounds)
}

/// A large message, framed as the case says, whose bytes are generated and masked only as
/// the writer writes them (see [`StreamedMessage`]).
fn streamed_message(m: &crate::case::MessageSpec, st: &mut State) -> Built {
    if m.compress {
        st.note("permessage-deflate is not agreed: the message goes out uncompressed");
    }
    let keys = match m.mask {
        MaskSpec::Key(k) => Keys::Fixed(k),
        MaskSpec::Random => Keys::Seeded(rand::random()),
        MaskSpec::Auto if st.masking => Keys::Seeded(rand::random()),
        MaskSpec::Auto | MaskSpec::None => Keys::Unmasked,
    };
    let sizes = fragment_sizes(&m.fragments, m.payload.len());
    let msg = StreamedMessage::new(m.opcode, m.payload.clone(), sizes, keys);
    {
        let mut t = st
            .shared
            .transcript
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut at = 0;
        for i in 0..msg.frames() {
            if t.is_full() {
                // The rest would be dropped: count them without building their previews
                // (4 MiB in 64-byte fragments is 65,536 frames, a fifth of the case's work).
                t.dropped_entries += (msg.frames() - i) as u64;
                break;
            }
            let n = msg.size(i);
            t.frame_of_len(Direction::Out, &msg.frame_preview(i, at), n as u64);
            at += n;
        }
    }
    st.ctx.last_message = Some((m.opcode, m.payload.clone()));
    Built {
        parts: vec![Part::Stream(Box::new(msg))],
    }
}

/// The payload sizes of a message's frames. Explicit sizes may not cover a compressed
/// payload, whose length the case cannot know: they split its start and the rest goes in
/// one more frame; sizes past its end give empty frames.
fn fragment_sizes(f: &Fragmenting, len: usize) -> Vec<usize> {
    match f {
        Fragmenting::Whole => vec![len],
        Fragmenting::Size(_) if len == 0 => vec![0],
        Fragmenting::Size(n) => {
            let n = (*n).max(1);
            let mut v = vec![n; len / n];
            if !len.is_multiple_of(n) {
                v.push(len % n);
            }
            v
        }
        Fragmenting::Sizes(s) => {
            let mut v = Vec::with_capacity(s.len() + 1);
            let mut left = len;
            for &n in s {
                let n = n.min(left);
                v.push(n);
                left -= n;
            }
            if left > 0 {
                v.push(left);
            }
            v
        }
    }
}

/// A frame the case wrote with RSV1 carries DEFLATE data wsspec did not produce, so the
/// peer's window now holds bytes wsspec's compressor never saw. A fresh compressor only
/// refers back into what it compressed itself, which is the newest part of any window, so
/// its output stays valid for the peer.
fn resync_compressor(st: &mut State) {
    if let (Some(a), Some(_)) = (&st.ctx.deflate, &st.compressor) {
        st.compressor = Some(compressor(a, st.own_endpoint()));
    }
}

/// A fresh compressor for what wsspec sends as `own` under agreement `a`.
pub(super) fn compressor(a: &crate::deflate::Agreement, own: Endpoint) -> Compressor {
    let d = a.sent_by(own);
    Compressor::new(d.window_bits, d.no_context_takeover)
}

/// Data frames sent one by one still make a message that a later `expect = "message"` can
/// refer to as "the last message sent"; frames with reserved bits or opcodes never do.
fn track_frame_message(ctx: &mut Context, fs: &crate::case::FrameSpec, payload: &[u8]) {
    if fs.rsv1 || fs.rsv2 || fs.rsv3 {
        return;
    }
    match fs.opcode {
        1 | 2 => ctx.open_message = Some((fs.opcode, payload.to_vec())),
        0 => match ctx.open_message.as_mut() {
            Some((_, buf)) => buf.extend_from_slice(payload),
            None => return,
        },
        _ => return,
    }
    if fs.fin {
        ctx.last_message = ctx
            .open_message
            .take()
            .map(|(op, bytes)| (op, crate::case::Payload::Bytes(bytes)));
    }
}

/// The request for a handshake step: the standard one, then `--header`s, then the case's
/// changes, so a case always has the last word.
fn request(h: &HandshakeSpec, target: &Target, cfg: &SessionConfig) -> RequestSpec {
    let key = generate_key(rand::random());
    let mut req = RequestSpec::standard(
        &target.host_bracketed(),
        target.port,
        target.default_port(),
        &target.resource,
        key,
    );
    if cfg.transport.extended_connect() {
        // RFC 8441 §5: Connection and Upgrade "MUST NOT be included in the CONNECT request",
        // and the key is superseded by :protocol. A case may still add them back.
        for name in ["Upgrade", "Connection", "Sec-WebSocket-Key"] {
            req.remove(name);
        }
    }
    for (k, v) in &cfg.headers {
        req.set(k, v);
    }
    h.apply_to(&mut req);
    req
}

/// wsspec's side of the closing handshake (RFC 6455 §7.1.2): send a close frame if none was
/// sent, wait for the peer's (up to `t`), then wait for the peer to close TCP as a server
/// should (up to `tcp_wait` more, within `t`); as the server, wsspec closes TCP itself once
/// both close frames are exchanged (§7.1.1).
pub(super) async fn closing_handshake(
    wr: &Writer,
    rx: &mut mpsc::Receiver<Event>,
    st: &mut State,
    t: Duration,
    tcp_wait: Duration,
) {
    if st.close.wsspec_sent.is_none() && st.close.tcp_closed_by.is_none() && !st.write_broken {
        let mut f = Frame::close(Some(1000), b"");
        f.mask = st.mask_key(MaskSpec::Auto);
        st.close.wsspec_sent = Some(1000);
        st.close_frame_out();
        st.close.wsspec_first = st.close.peer_sent.is_none();
        wr.no_more_pongs.store(true, Ordering::SeqCst);
        send_frame(wr, st, &f, t).await;
    }
    let waiting_since = std::time::Instant::now();
    let mut deadline = tokio::time::Instant::now() + t;
    let mut waiting_for_tcp = false;
    while st.close.tcp_closed_by.is_none() {
        let exchanged = st.close.wsspec_sent.is_some() && st.close.peer_sent.is_some();
        if !st.masking && exchanged {
            st.note("closing handshake complete: wsspec, the server, closes TCP");
            break;
        }
        if exchanged && !waiting_for_tcp {
            waiting_for_tcp = true;
            deadline = deadline.min(tokio::time::Instant::now() + tcp_wait);
        }
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => {
                observe(&ev, wr, st, t).await;
                if matches!(ev, Event::Fatal(_)) {
                    break;
                }
            }
            Ok(None) => break,
            Err(_) => {
                st.waited(waiting_since.elapsed());
                st.note(if waiting_for_tcp {
                    format!(
                        "the peer did not close TCP within {} ms of the closing handshake",
                        tcp_wait.min(t).as_millis()
                    )
                } else {
                    format!(
                        "the closing handshake did not complete within {} ms",
                        t.as_millis()
                    )
                });
                break;
            }
        }
    }
    if st.close.tcp_closed_by.is_none() {
        st.close.tcp_closed_by = Some(Party::Wsspec);
        wr.shutdown().await;
        watch_peer_end(rx, st, TCP_END_WATCH.min(t)).await;
    }
}

/// How long wsspec keeps reading after its own FIN, only to see the peer's FIN or RST for
/// the TCP view: a peer that answers a FIN does so at once, and no verdict waits on it.
pub const TCP_END_WATCH: Duration = Duration::from_millis(100);

/// Reads until the peer's side of TCP ends or `limit` passes (the reader stamps the end).
async fn watch_peer_end(rx: &mut mpsc::Receiver<Event>, st: &mut State, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        match ev {
            Event::Violation(v) => st.violation(v),
            e if e.is_end() => break,
            _ => {}
        }
    }
}
