//! Running cases: sessions, the scheduler, and the run as a whole.
//!
//! `target` parses URLs, `reader` turns the peer's bytes into events, `test_server` interprets
//! one case, and this file schedules many cases at once and keeps their order.

pub mod h2;
pub mod h3;
pub(crate) mod health;
pub mod reader;
pub mod target;
pub mod test_client;
pub mod test_server;
pub mod tls;
pub(crate) mod tls_info;
pub mod transport;
pub mod wait;
pub mod writer;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};

pub use reader::ReadLimits;
pub use target::{Target, TargetError};
pub use test_server::{run_case, SessionConfig};
pub use transport::ConnectError;

use crate::case::payload::STREAM_ABOVE;
use crate::case::Case;
use crate::case::{Grade, Send as SendStep, Step};
use crate::results::{CaseResult, Incomplete, RunOptions, RunResults, Totals, SCHEMA};
pub use health::ProbeFailure;

/// Why a run could not take place at all (exit code 2), as opposed to cases failing.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("{url}: peer unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    /// TCP worked, TLS did not: a refused certificate, or a peer that does not speak TLS.
    #[error("{url}: {reason}{hint}")]
    Tls {
        url: String,
        reason: String,
        hint: &'static str,
    },
    /// Something answers, but not as a WebSocket server: one line saying what it did.
    #[error("{url}: {what}")]
    NotWebSocket { url: String, what: ProbeFailure },
    #[error("no cases selected{0}")]
    NoCases(String),
}

/// Handshake cases about what exists only in the HTTP/1.1 Upgrade request and its 101
/// (Upgrade, Connection, the key and Sec-WebSocket-Accept, the request line, Host, header
/// spelling, order and segmentation, bytes before the response). RFC 8441 §5 replaces that
/// exchange with an extended CONNECT ("This request replaces the GET-based request in
/// [RFC6455]"), so over HTTP/2 these are not applicable, never failed. The rest of
/// `handshake.*` (Sec-WebSocket-Version, -Protocol, -Extensions, Origin, unknown headers)
/// is "used in the CONNECT request and response-header fields as defined in [RFC6455]"
/// and runs over both.
pub const HTTP1_ONLY: &[&str] = &[
    "handshake.accept.",
    "handshake.response.headers",
    "handshake.upgrade.",
    "handshake.header-name-case",
    "handshake.connection.",
    "handshake.key.",
    "handshake.method.",
    "handshake.http-1.0",
    "handshake.header-order",
    "handshake.host.missing",
    "handshake.frames-in-same-write",
    "handshake.request.chopped",
];

/// The `h2.*` cases that need HTTP/2 itself: the `second_stream_error` step opens its second
/// WebSocket with the `h2` crate.
pub const H2_ONLY: &[&str] = &["h2.multiplex."];

/// The `h2.*` cases only HTTP/3 can send: the `h2` crate always sends `:path`, and refuses
/// to send an extended CONNECT without `:scheme` and `:authority` ("request URI missing
/// scheme and authority"), so over HTTP/2 no pseudo-header can be left out.
pub const H3_ONLY: &[&str] = &["h2.pseudo."];

/// Whether the case `id` means anything over `transport`: the extended CONNECT cases
/// (`h2.*`) need HTTP/2, and [`HTTP1_ONLY`] needs HTTP/1.1. Every other area runs unchanged
/// over both (RFC 8441 §5: the stream is used "as if it were the TCP connection referred
/// to in [RFC6455]").
pub fn applies_over(id: &str, transport: transport::Transport) -> bool {
    match transport {
        transport::Transport::Http1 => !id.starts_with("h2."),
        transport::Transport::Http2 => {
            !HTTP1_ONLY.iter().any(|p| id.starts_with(p))
                && !H3_ONLY.iter().any(|p| id.starts_with(p))
        }
        // The bootstrapping cases run over both (RFC 9220 §3 reuses RFC 8441's extended
        // CONNECT), except the step that opens a second stream, which only HTTP/2 has.
        transport::Transport::Http3 => {
            !HTTP1_ONLY.iter().any(|p| id.starts_with(p))
                && !H2_ONLY.iter().any(|p| id.starts_with(p))
        }
    }
}

/// How many cases run at once by default. The work is waiting on sockets, not computing, so
/// it is a multiple of the cores, bounded so a small server is not swamped with connections.
pub fn default_jobs() -> usize {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    (cores * 8).clamp(8, 64)
}

#[derive(Debug, Clone)]
pub struct RunConfig {
    pub jobs: usize,
    pub session: SessionConfig,
    pub agent: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// The implementation whose documented deviations (case field `deviations`) apply.
    pub known_deviations: Option<String>,
    /// Complete a handshake and an echo before the run (on by default); off only for tests
    /// that study how single cases meet a broken peer.
    pub probe_echo: bool,
    /// Bytes the cases in flight may claim together (see [`case_cost`]): what keeps the
    /// 16 MiB cases from running 16 at a time.
    pub memory_budget: usize,
    /// The whole run stops (incomplete, exit 2) after this long.
    pub max_time: Option<Duration>,
    /// How long cases in flight get to finish once the run is stopped.
    pub grace: Duration,
    /// Stops the run from outside (signals); the run also triggers it itself.
    pub stop: Stop,
    /// Whom `session.tls` trusts, for the reports of a `wss://` run.
    pub tls_trust: crate::results::TlsTrust,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            jobs: default_jobs(),
            session: SessionConfig::default(),
            agent: "peer".into(),
            include: Vec::new(),
            exclude: Vec::new(),
            known_deviations: None,
            probe_echo: true,
            memory_budget: MEMORY_BUDGET,
            max_time: None,
            grace: Duration::from_secs(2),
            stop: Stop::default(),
            tls_trust: Default::default(),
        }
    }
}

/// Called once per finished case, in completion order (for progress displays).
pub type Progress = Arc<dyn Fn(&CaseResult) + Send + Sync>;

/// What the cases in flight may claim together by default. With wsspec's own baseline of a
/// few MiB this keeps a whole run under 64 MiB of resident memory (README, "Exit codes and
/// bounds"), whatever the peer sends.
pub(crate) const MEMORY_BUDGET: usize = 40 * 1024 * 1024;
/// What any case claims at least: its buffers, transcript and the peer's small messages.
/// It is also the floor of a case's read limits ([`case_limits`]), so a peer cannot make a
/// case hold more than it claimed. 256 KiB is twice the largest payload outside `limits`
/// (a 128 KiB deflate echo) and lets 160 cases wait at once within [`MEMORY_BUDGET`]; at
/// 1 MiB the budget, not `--jobs`, held a run to 40 cases at once, so a peer that makes
/// hundreds of cases wait out a timeout (a lingering close, a missing pong) took four
/// times longer than `--jobs` promised.
pub(crate) const CASE_BASE_COST: usize = 256 * 1024;
/// Cases in a row (in completion order) that got not one byte from the peer before the run
/// calls the peer unresponsive and stops.
pub(crate) const UNRESPONSIVE_AFTER: usize = 8;

/// A run-wide stop: once triggered (by a signal, `--max-time`, or an unresponsive peer), no
/// case is launched and the run ends incomplete. The first reason given wins.
#[derive(Debug, Clone)]
pub struct Stop(Arc<watch::Sender<Option<String>>>);

impl Default for Stop {
    fn default() -> Self {
        Stop(Arc::new(watch::channel(None).0))
    }
}

impl Stop {
    pub fn trigger(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.0.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason);
                true
            } else {
                false
            }
        });
    }

    pub fn reason(&self) -> Option<String> {
        self.0.borrow().clone()
    }

    /// Returns once the stop is triggered.
    pub async fn wait(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives in self, so the channel cannot close while this waits.
        let _ = rx.wait_for(|r| r.is_some()).await;
    }
}

/// The bytes a case may hold at its peak, estimated from its steps, plus the base every
/// case has. A message up to [`STREAM_ABOVE`] bytes exists as generated bytes, as an
/// encoded frame, and again as the peer's echo: three times the largest. A larger one is
/// streamed: generated, framed and checked a window at a time ([`STREAM_COST`]), plus its
/// list of frame sizes. Echoes of sends not yet expected queue up in the reader's
/// channel, so a burst of sends (the 1000-message cases) claims what it sent.
pub(crate) fn case_cost(case: &Case) -> usize {
    let mut held = 0usize;
    let mut burst = 0usize;
    let mut burst_max = 0usize;
    for (_, step) in case.runs() {
        let (len, frames) = match step {
            Step::Send(SendStep::Frame(f), _) => (f.payload.len(), 1),
            Step::Send(SendStep::Message(m), _) => (
                m.payload.len(),
                match &m.fragments {
                    crate::case::Fragmenting::Whole => 1,
                    crate::case::Fragmenting::Size(n) => m.payload.len() / (*n).max(1) + 1,
                    crate::case::Fragmenting::Sizes(s) => s.len() + 1,
                },
            ),
            Step::Send(SendStep::Raw(p), _) => (p.len(), 1),
            Step::Expect(_) => {
                burst = 0;
                continue;
            }
            _ => continue,
        };
        let streamed = matches!(step, Step::Send(SendStep::Message(_), _)) && len > STREAM_ABOVE;
        let cost = if streamed {
            STREAM_COST.saturating_add(frames.saturating_mul(8))
        } else {
            burst = burst.saturating_add(len);
            burst_max = burst_max.max(burst);
            len.saturating_mul(3)
        };
        held = held.max(cost);
    }
    CASE_BASE_COST
        .saturating_add(held)
        .saturating_add(burst_max)
}

/// Reference servers running inside this process (`wsspec demo`, tests): while one runs,
/// the messages it echoes live in the same process, so each case also claims what the
/// reference holds of its largest message ([`PEER_IN_PROCESS_FACTOR`]).
pub static PEERS_IN_PROCESS: AtomicUsize = AtomicUsize::new(0);

/// What tokio-tungstenite holds of a message it echoes, in eighths of the message: its
/// read buffer, the message and the outgoing frame. One 16 MiB echo alone raised the peak
/// RSS of `wsspec demo` by 17 MiB, but echoes in parallel cost more: with a 2x claim a
/// whole demo peaked at 66 MiB. 3x runs an 8 or 16 MiB case beside small ones only.
pub(crate) const PEER_IN_PROCESS_FACTOR_EIGHTHS: usize = 24;

/// What a case claims of the memory budget: [`case_cost`], plus the in-process peer's
/// share when the reference server runs in this process.
pub fn case_claim(case: &Case) -> usize {
    let peer = if PEERS_IN_PROCESS.load(Ordering::Relaxed) > 0 {
        largest_payload(case).saturating_mul(PEER_IN_PROCESS_FACTOR_EIGHTHS) / 8
    } else {
        0
    };
    case_cost(case).saturating_add(peer)
}

/// What a streamed message holds while it goes out and its echo comes back: the writer's
/// window, the reader's buffer and piece, and the decoder's buffer.
pub(crate) const STREAM_COST: usize = 512 * 1024;

fn largest_payload(case: &Case) -> usize {
    case.steps
        .iter()
        .map(|s| match s.runs().0 {
            Step::Send(SendStep::Frame(f), _) => f.payload.len(),
            Step::Send(SendStep::Message(m), _) => m.payload.len(),
            Step::Send(SendStep::Raw(p), _) => p.len(),
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

/// The reader bounds for one case: at least what the case itself sends (the echo of its
/// largest message must fit), at least 1 MiB, and never above the configured bounds.
pub(crate) fn case_limits(case: &Case, configured: ReadLimits) -> ReadLimits {
    let need = (largest_payload(case) as u64)
        .saturating_mul(2)
        .max(CASE_BASE_COST as u64);
    ReadLimits {
        max_frame: configured.max_frame.min(need),
        max_message: configured.max_message.min(need),
        ..configured
    }
}

/// Checks that a WebSocket server answers at the target before running hundreds of cases
/// against something else: the connection (for `wss://` with its TLS handshake, so a
/// certificate wsspec does not trust is one error), then with `echo` a handshake and one
/// echoed message, each within `step`.
pub async fn probe(target: &Target, session: &SessionConfig, echo: bool) -> Result<(), RunError> {
    let url = target.url().to_owned();
    let tls = session.tls.as_ref();
    // The echo probe speaks HTTP/1.1; over HTTP/2 the connection (with the server's
    // SETTINGS_ENABLE_CONNECT_PROTOCOL, RFC 8441 §3) is what is checked once.
    let outcome = if echo && session.transport == transport::Transport::Http1 {
        health::probe_echo(
            target,
            tls,
            &session.headers,
            session.connect_timeout,
            session.step_timeout,
        )
        .await
    } else {
        transport::connect_over(session.transport, target, tls, session.connect_timeout)
            .await
            .map(|_| Ok(()))
    };
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(what)) => Err(RunError::NotWebSocket { url, what }),
        Err(ConnectError::Tcp { source, .. }) => Err(RunError::Unreachable {
            url,
            reason: source.to_string(),
        }),
        Err(ConnectError::TcpTimeout { ms, .. }) => Err(RunError::Unreachable {
            url,
            reason: format!("no TCP connection within {ms} ms"),
        }),
        Err(e) => {
            let hint = match &e {
                ConnectError::Tls {
                    certificate: true, ..
                } => " (to test a server with this certificate, trust its CA with --ca FILE, or skip verification with --insecure)",
                _ => "",
            };
            Err(RunError::Tls {
                url,
                reason: e.to_string(),
                hint,
            })
        }
    }
}

/// A case that got nothing at all from the peer for as long as a step may wait, or could
/// not connect: the sign of a peer that stopped answering, as opposed to one that refused
/// or closed (which sends bytes, or closes at once).
fn peer_silent(r: &CaseResult, step_timeout: Duration) -> bool {
    r.bytes_received == 0
        && (r.duration_ms >= step_timeout.as_secs_f64() * 900.0
            || r.reasons.iter().any(|s| s.contains("cannot connect")))
}

/// Milliseconds a case spends waiting however quickly the peer answers: its pauses, and
/// the expectations whose outcome is a timeout of their own (silence, or a fail-fast check
/// that a peer which judges whole frames lets expire).
fn planned_wait_ms(case: &Case) -> u64 {
    fn expect_wait(e: &crate::case::Expect) -> u64 {
        match &e.kind {
            crate::case::ExpectKind::Silence { ms } => *ms,
            crate::case::ExpectKind::Any(alts) => alts.iter().map(expect_wait).max().unwrap_or(0),
            _ => e.timeout_ms.unwrap_or(0),
        }
    }
    case.runs()
        .map(|(_, s)| match s {
            Step::Wait { ms } => *ms,
            Step::Expect(e) => expect_wait(e),
            Step::Send(_, w) => w.pause_ms,
            Step::Repeat { .. } => 0, // runs() has unwrapped every repeat
        })
        .fold(0u64, u64::saturating_add)
}

/// Aborts a task when dropped, so a case abandoned at the end of the grace period does not
/// run on unseen.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The environment variable naming a case that panics on purpose (feature `testing` only).
#[cfg(feature = "testing")]
pub const PANIC_CASE_ENV: &str = "WSSPEC_TEST_PANIC_CASE";

/// Test hook, compiled only with the `testing` feature (never in the shipped binary): the
/// case whose id [`PANIC_CASE_ENV`] names panics where a bug in a case would, inside its
/// task, so a test of the whole binary can prove that one panic costs one case.
#[cfg(feature = "testing")]
fn panic_if_asked(case: &Case) {
    if std::env::var(PANIC_CASE_ENV).is_ok_and(|id| id == case.id) {
        panic!("test hook: case {} panics on purpose", case.id);
    }
}

/// A case whose task panicked: an `error` verdict carrying the panic message, so one bug in
/// wsspec costs one case, not the run.
fn panicked(case: &Case, payload: Box<dyn std::any::Any + Send>) -> CaseResult {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    let mut r = CaseResult::unjudged(case);
    r.verdict = Grade::Error;
    r.reasons = vec![format!("wsspec panicked while running this case: {msg}")];
    r
}

/// Runs `cases` against a server at `target`, `cfg.jobs` at a time within
/// `cfg.memory_budget`. Results come back in the order of `cases`, whatever the parallelism.
/// A run stopped early (see [`Stop`]) returns what ran, with `incomplete` set.
pub async fn test_server(
    target: &Target,
    cases: Vec<Case>,
    cfg: &RunConfig,
    progress: Option<Progress>,
) -> Result<RunResults, RunError> {
    // A library caller may pass the whole suite: what does not apply is left out here too.
    let cases: Vec<Case> = cases
        .into_iter()
        .filter(|c| applies_over(&c.id, cfg.session.transport))
        .collect();
    if cases.is_empty() {
        return Err(RunError::NoCases(String::new()));
    }
    let stop = cfg.stop.clone();
    let t0 = Instant::now();
    let _timer = cfg.max_time.map(|limit| {
        let stop = stop.clone();
        AbortOnDrop(tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            stop.trigger(format!("--max-time {}s reached", limit.as_secs_f64()));
        }))
    });
    tokio::select! {
        r = probe(target, &cfg.session, cfg.probe_echo) => r?,
        _ = stop.wait() => {}
    }
    let tls = tls_info::probe(
        target,
        cfg.session.tls.as_ref(),
        cfg.tls_trust,
        cfg.session.connect_timeout,
    )
    .await;
    let started_at = crate::time::now_rfc3339();
    // Two sets of `jobs` slots: cases bound to wait out a timeout of their own (a
    // fail-fast check the peer lets expire, a silence, a heartbeat wait, paced writes)
    // keep a connection open but the peer idle, so they run beside the busy cases instead
    // of taking their slots: against Python websockets, 230 fail-fast checks of 250 ms
    // each held all 16 slots for the first 3.6 s of the run while the server idled.
    // `--jobs 1` stays one connection at a time (one set), for servers that serve one
    // connection at a time: a second connection would wait unserved and fail its case.
    let jobs = Arc::new(Semaphore::new(cfg.jobs.max(1)));
    let waiting_jobs = if cfg.jobs > 1 {
        Arc::new(Semaphore::new(cfg.jobs))
    } else {
        jobs.clone()
    };
    let budget_kib = (cfg.memory_budget / 1024).clamp(1, Semaphore::MAX_PERMITS) as u32;
    let budget = Arc::new(Semaphore::new(budget_kib as usize));
    let target = Arc::new(target.clone());
    let session = Arc::new(cfg.session.clone());
    let silent_run = Arc::new(AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    let n = cases.len();
    let ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    let mut results: Vec<Option<CaseResult>> = (0..n).map(|_| None).collect();
    // Cases bound to wait (a fail-fast check or a silence that must time out) start first,
    // longest first, so their waiting overlaps the others instead of ending the run: two
    // 1 s fail-fast checks among the last cases made the run a second longer.
    let mut order: Vec<(usize, Case)> = cases.into_iter().enumerate().collect();
    order.sort_by_key(|(_, c)| std::cmp::Reverse(planned_wait_ms(c)));
    let (waiting, busy): (VecDeque<_>, VecDeque<_>) =
        order.into_iter().partition(|(_, c)| planned_wait_ms(c) > 0);
    let mut queues = [busy, waiting];
    let pools = [jobs, waiting_jobs];
    loop {
        if stop.reason().is_some() || queues.iter().all(VecDeque::is_empty) {
            break;
        }
        // The next case of each queue, as soon as its set has a slot and the budget its
        // claim; whichever is ready first starts (acquiring is cancel-safe).
        let claim = |q: usize| {
            let cost = queues[q].front().map_or(1, |(_, c)| {
                ((case_claim(c) / 1024) as u32).clamp(1, budget_kib)
            });
            let (pool, budget) = (pools[q].clone(), budget.clone());
            async move {
                let job = pool.acquire_owned().await;
                let mem = budget.acquire_many_owned(cost).await;
                (job, mem)
            }
        };
        let (q, permits) = tokio::select! {
            biased;
            _ = stop.wait() => break,
            p = claim(0), if !queues[0].is_empty() => (0, p),
            p = claim(1), if !queues[1].is_empty() => (1, p),
        };
        let Some((i, case)) = queues[q].pop_front() else {
            break;
        };
        while let Some(Ok((i, r))) = set.try_join_next() {
            results[i] = Some(r);
        }
        let target = target.clone();
        let mut session = (*session).clone();
        session.limits = case_limits(&case, session.limits);
        let progress = progress.clone();
        let known = cfg.known_deviations.clone();
        let stop = stop.clone();
        let silent_run = silent_run.clone();
        let step_timeout = cfg.session.step_timeout;
        set.spawn(async move {
            let _permits = permits;
            let case = Arc::new(case);
            // The case runs in a task of its own, so that its panic is caught here.
            let mut inner = {
                let case = case.clone();
                AbortOnDrop(tokio::spawn(async move {
                    #[cfg(feature = "testing")]
                    panic_if_asked(&case);
                    run_case(&case, &target, &session).await
                }))
            };
            let mut r = match (&mut inner.0).await {
                Ok(r) => r,
                Err(e) if e.is_panic() => panicked(&case, e.into_panic()),
                Err(e) => panicked(&case, Box::new(e.to_string())),
            };
            if r.verdict != Grade::Pass {
                if let Some(agent) = known.as_deref() {
                    r.deviation = case
                        .deviations
                        .iter()
                        .find(|(a, _)| a == agent)
                        .map(|(_, why)| why.clone());
                }
            }
            if peer_silent(&r, step_timeout) {
                if silent_run.fetch_add(1, Ordering::SeqCst) + 1 >= UNRESPONSIVE_AFTER {
                    stop.trigger(format!(
                        "peer unresponsive: {UNRESPONSIVE_AFTER} cases in a row got no byte from it"
                    ));
                }
            } else {
                silent_run.store(0, Ordering::SeqCst);
            }
            if let Some(p) = &progress {
                p(&r);
            }
            (i, r)
        });
    }
    // Wait for the cases in flight; once stopped, for at most the grace period.
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        if deadline.is_none() && stop.reason().is_some() {
            deadline = Some(tokio::time::Instant::now() + cfg.grace);
        }
        tokio::select! {
            joined = set.join_next() => match joined {
                None => break,
                Some(Ok((i, r))) => results[i] = Some(r),
                Some(Err(_)) => {} // aborted after the grace period: listed as missing
            },
            _ = stop.wait(), if deadline.is_none() => {}
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {
                set.abort_all();
            }
        }
    }
    let missing: Vec<String> = results
        .iter()
        .zip(&ids)
        .filter(|(r, _)| r.is_none())
        .map(|(_, id)| id.clone())
        .collect();
    let incomplete = if missing.is_empty() {
        None
    } else {
        Some(Incomplete {
            reason: stop.reason().unwrap_or_else(|| "stopped".into()),
            run: n - missing.len(),
            of: n,
            missing,
        })
    };
    let cases: Vec<CaseResult> = results.into_iter().flatten().collect();
    Ok(RunResults {
        schema: SCHEMA.into(),
        wsspec_version: env!("CARGO_PKG_VERSION").into(),
        agent: cfg.agent.clone(),
        target: target.url().to_owned(),
        peer_role: "server".into(),
        started_at,
        duration_ms: t0.elapsed().as_secs_f64() * 1000.0,
        options: RunOptions {
            jobs: cfg.jobs,
            timeout_ms: cfg.session.step_timeout.as_millis() as u64,
            strict: cfg.session.strict,
            cases: cfg.include.clone(),
            exclude: cfg.exclude.clone(),
            header_names: cfg.session.headers.iter().map(|(k, _)| k.clone()).collect(),
        },
        totals: Totals::of(&cases),
        cases,
        incomplete,
        tls,
        transport: cfg.session.transport.name(target.secure).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: &str) -> Case {
        crate::case::builtin()
            .expect("built-in cases load")
            .into_iter()
            .find(|c| c.id == id)
            .expect("case exists")
    }

    #[test]
    fn a_panic_becomes_an_error_verdict_with_its_message() {
        let c = case("handshake.valid");
        let r = panicked(&c, Box::new("index out of bounds"));
        assert_eq!(r.verdict, Grade::Error);
        assert_eq!(r.id, "handshake.valid");
        assert!(
            r.reasons[0].contains("index out of bounds"),
            "{:?}",
            r.reasons
        );
        let r = panicked(&c, Box::new(String::from("owned message")));
        assert!(r.reasons[0].contains("owned message"));
    }

    #[test]
    fn fail_fast_checks_and_silences_count_as_planned_waiting() {
        // Written in cases/utf8.toml: a 1000 ms fail-fast check the peer may let expire.
        assert_eq!(
            planned_wait_ms(&case("utf8.fail-fast.within-frame.second-part")),
            1000
        );
        assert_eq!(planned_wait_ms(&case("handshake.valid")), 0);
    }

    #[test]
    fn big_cases_claim_more_of_the_budget_and_read_more() {
        let small = case("handshake.valid");
        let big = case("framing.binary.length.65536");
        // handshake.valid echoes one short message: the base, and a little.
        assert!(
            case_cost(&small) < CASE_BASE_COST + 3 * 1024,
            "{}",
            case_cost(&small)
        );
        // 64 KiB is the largest message held whole: thrice (sent, framed, echoed), and
        // its echo may queue.
        assert_eq!(case_cost(&big), CASE_BASE_COST + 3 * 65536 + 65536);
        // A 16 MiB message is streamed: a window's worth, whatever its size.
        let huge = case("limits.binary.size.16m");
        assert_eq!(case_cost(&huge), CASE_BASE_COST + STREAM_COST + 8);
        // 1000 messages of 4 KiB sent before their echoes are read: all may queue.
        let burst = case("limits.binary.many.4096");
        assert_eq!(case_cost(&burst), CASE_BASE_COST + 3 * 4096 + 1000 * 4096);
        let limits = case_limits(&small, ReadLimits::default());
        assert_eq!(limits.max_message, CASE_BASE_COST as u64);
        assert_eq!(limits.max_frame, CASE_BASE_COST as u64);
    }

    #[test]
    fn the_first_stop_reason_wins() {
        let s = Stop::default();
        assert_eq!(s.reason(), None);
        s.trigger("interrupted by SIGINT");
        s.trigger("--max-time 1s reached");
        assert_eq!(s.reason().as_deref(), Some("interrupted by SIGINT"));
    }
}
