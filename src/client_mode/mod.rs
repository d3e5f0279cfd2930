//! Client mode: wsspec plays the server and tests WebSocket clients.
//!
//! A listener speaks the Autobahn|Testsuite client URL protocol (`autobahn.rs`), so a
//! harness written for Autobahn's fuzzing server drives wsspec unchanged: it asks for the
//! case count, connects once per case to `/runCase`, where wsspec runs that case's steps
//! in the server role (`run::test_client`), and finally asks for reports. Results are
//! kept per agent; cases with a run-level check (`run_check`) are judged over every
//! connection of their agent's run when results are read. `exec.rs` drives a client
//! command once per case instead of waiting for a harness.

pub(crate) mod autobahn;
pub(crate) mod browser;
pub(crate) mod exec;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::run::transport::{self, Stream};
use tokio::sync::watch;

use crate::case::{Case, RunCheck};
use crate::codec::{Decoder, DecoderConfig, Expect as MaskRule, Frame};
use crate::handshake::{parse_request, Request, ResponseSpec};
use crate::judge::case_verdict;
use crate::judge::keys::judge_keys;
use crate::results::{
    CaseResult, Check, RunOptions, RunResults, Totals, EXIT_ERROR, EXIT_FAILED, EXIT_OK, SCHEMA,
};
use crate::run::test_client::{run_case_as_server, ClientConnection, ServedCase};
use crate::run::SessionConfig;
use autobahn::{CaseRef, HarnessError, HarnessRequest};

/// Settings for a client-mode run.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub session: SessionConfig,
    /// The --cases and --exclude patterns, recorded in results.
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// Where reports go; None writes nothing.
    pub out: Option<PathBuf>,
    /// Stop after the first `/updateReports`, or shortly after every case has run for an
    /// agent (time for the harness's `/updateReports` to arrive).
    pub exit_when_done: bool,
    /// How long to wait for a harness's request head.
    pub head_timeout: Duration,
    /// The implementation whose documented deviations (case field `deviations`) apply:
    /// such failures are marked and do not make the exit code 1.
    pub known_deviations: Option<String>,
    /// Serve TLS (`wss://`) with this configuration: harness calls and cases alike.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The certificate `tls` presents (DER, leaf), for the reports' subject and issuer.
    pub tls_leaf: Option<Vec<u8>>,
    /// Whether that certificate was generated for the run (else given with `--cert`):
    /// the reports say what the client had to trust.
    pub tls_generated: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            session: SessionConfig::default(),
            include: Vec::new(),
            exclude: Vec::new(),
            out: None,
            exit_when_done: false,
            head_timeout: Duration::from_secs(10),
            known_deviations: None,
            tls: None,
            tls_leaf: None,
            tls_generated: false,
        }
    }
}

/// Grace period after the last case of an agent for `/updateReports` before
/// `exit_when_done` stops the listener anyway.
const DONE_GRACE: Duration = Duration::from_secs(2);

struct AgentRun {
    started_at: String,
    t0: Instant,
    served: Vec<Option<ServedCase>>,
    /// Connections running each case (a harness may run one case twice at once).
    running: BTreeMap<usize, usize>,
    /// Notes to add to a case's transcript when it is reported (from `--exec`).
    notes: BTreeMap<usize, Vec<String>>,
    /// The TLS session of the agent's first case connection over `wss://`.
    tls: Option<crate::results::TlsDetails>,
}

struct Inner {
    cases: Vec<Case>,
    cfg: ClientConfig,
    addr: SocketAddr,
    agents: Mutex<BTreeMap<String, AgentRun>>,
    stop: watch::Sender<Option<i32>>,
    /// Report writing problems, shown at exit (and making the exit code 2).
    write_errors: Mutex<Vec<String>>,
    /// One writer at a time: the automatic write after the last case and a harness's
    /// /updateReports can coincide, and both go through the same temporary file.
    writing: Mutex<()>,
    /// When the harness (or a client) last connected: the idle timeout counts from here.
    last_activity: Mutex<Instant>,
}

/// A running client-mode listener.
pub struct ClientServer {
    inner: Arc<Inner>,
    stop: watch::Receiver<Option<i32>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ClientServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Client-mode case order: the selected client cases, with run-level cases last so they
/// are judged after the others.
pub fn order_cases(cases: Vec<Case>) -> Vec<Case> {
    let (run, mut plain): (Vec<Case>, Vec<Case>) =
        cases.into_iter().partition(|c| c.run_check.is_some());
    plain.extend(run);
    plain
}

impl ClientServer {
    /// Binds `addr` and serves `cases` (numbered 1.. in the given order; see
    /// [`order_cases`]) until [`ClientServer::stop`] or a harness asks to shut down.
    pub async fn bind(
        addr: &str,
        cases: Vec<Case>,
        cfg: ClientConfig,
    ) -> std::io::Result<ClientServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = watch::channel(None);
        let inner = Arc::new(Inner {
            cases,
            cfg,
            addr,
            agents: Mutex::new(BTreeMap::new()),
            stop: tx,
            write_errors: Mutex::new(Vec::new()),
            writing: Mutex::new(()),
            last_activity: Mutex::new(Instant::now()),
        });
        let task = tokio::spawn(accept_loop(listener, inner.clone()));
        Ok(ClientServer {
            inner,
            stop: rx,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// `ws://ADDR` (`wss://ADDR` with TLS), the base URL harnesses are given.
    pub fn url(&self) -> String {
        let scheme = if self.inner.cfg.tls.is_some() {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://{}", self.inner.addr)
    }

    /// `http://ADDR` (`https://ADDR` with TLS): where a browser loads the harness page.
    pub fn http_url(&self) -> String {
        let scheme = if self.inner.cfg.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.inner.addr)
    }

    pub fn cases(&self) -> &[Case] {
        &self.inner.cases
    }

    /// The agents that have run cases, in name order.
    pub fn agents(&self) -> Vec<String> {
        self.inner
            .agents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }

    /// An agent's results so far, run-level checks applied; None if it ran nothing.
    pub fn results(&self, agent: &str) -> Option<RunResults> {
        self.inner.results(agent)
    }

    /// The longest case `n` (1-based) can take.
    pub fn case_limit(&self, n: usize) -> Duration {
        self.inner.case_limit(n - 1)
    }

    /// Whether case `n` (1-based) has a result for `agent`.
    pub fn has_result(&self, agent: &str, n: usize) -> bool {
        self.inner.has_result(agent, n)
    }

    /// Whether case `n` is running for `agent`.
    pub fn is_running(&self, agent: &str, n: usize) -> bool {
        let agents = self
            .inner
            .agents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        agents
            .get(agent)
            .is_some_and(|a| a.running.contains_key(&(n - 1)))
    }

    /// Records a result for a case the client never ran (e.g. the `--exec` command did not
    /// connect), so reports show it as failed.
    pub fn record_not_run(&self, agent: &str, n: usize, reason: &str) {
        let case = &self.inner.cases[n - 1];
        let served = crate::run::test_client::not_run(case, reason, self.inner.cfg.session.strict);
        self.inner.store(agent, n - 1, served);
    }

    /// Adds notes to a case's transcript (from `--exec`: exit status, stderr tail).
    pub fn annotate(&self, agent: &str, n: usize, notes: Vec<String>) {
        let mut agents = self
            .inner
            .agents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let run = self.inner.agent_entry(&mut agents, agent);
        run.notes.entry(n - 1).or_default().extend(notes);
    }

    /// Writes reports for every agent and stops the listener with the run's exit code.
    pub fn stop(&self) -> i32 {
        self.inner.shutdown()
    }

    /// Waits until the listener is asked to stop; returns the exit code.
    pub async fn stopped(&mut self) -> i32 {
        loop {
            if let Some(code) = *self.stop.borrow() {
                return code;
            }
            if self.stop.changed().await.is_err() {
                return EXIT_ERROR;
            }
        }
    }

    /// Waits (bounded by the longest case) until no case of `agent` (or of any agent) is
    /// still running: harnesses ask for reports as soon as their last connection ends,
    /// while wsspec may still be finishing that case.
    pub async fn settle(&self, agent: Option<&str>) {
        self.inner.settle(agent).await
    }

    /// A clock of how long nothing has connected to the listener, usable while the
    /// listener itself is borrowed (waiting in `stopped`).
    pub fn idle_clock(&self) -> impl Fn() -> Duration + Send + Sync + 'static {
        let inner = self.inner.clone();
        move || {
            inner
                .last_activity
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .elapsed()
        }
    }

    /// Report-writing errors so far.
    pub fn write_errors(&self) -> Vec<String> {
        self.inner
            .write_errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

async fn accept_loop(listener: TcpListener, inner: Arc<Inner>) {
    let mut stop = inner.stop.subscribe();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(handle(stream, inner.clone()));
                }
                // Out of descriptors, say: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            _ = stop.changed() => return,
        }
    }
}

impl Inner {
    fn agent_entry<'a>(
        &self,
        agents: &'a mut BTreeMap<String, AgentRun>,
        agent: &str,
    ) -> &'a mut AgentRun {
        agents.entry(agent.to_owned()).or_insert_with(|| AgentRun {
            started_at: crate::time::now_rfc3339(),
            t0: Instant::now(),
            served: (0..self.cases.len()).map(|_| None).collect(),
            running: BTreeMap::new(),
            notes: BTreeMap::new(),
            tls: None,
        })
    }

    fn case_limit(&self, idx: usize) -> Duration {
        let case = &self.cases[idx];
        let step = case
            .timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(self.cfg.session.step_timeout);
        crate::run::test_server::case_timeout(case, step, self.cfg.session.idle)
    }

    async fn settle(&self, agent: Option<&str>) {
        let limit = (0..self.cases.len())
            .map(|i| self.case_limit(i))
            .max()
            .unwrap_or_default()
            + Duration::from_secs(1);
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let busy = {
                let agents = self
                    .agents
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                agents
                    .iter()
                    .filter(|(name, _)| agent.is_none_or(|a| a == name.as_str()))
                    .any(|(_, run)| !run.running.is_empty())
            };
            if !busy {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn has_result(&self, agent: &str, n: usize) -> bool {
        let agents = self
            .agents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        agents
            .get(agent)
            .and_then(|a| a.served.get(n.wrapping_sub(1)))
            .is_some_and(Option::is_some)
    }

    fn store(&self, agent: &str, idx: usize, served: ServedCase) {
        let all_done = {
            let mut agents = self
                .agents
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let run = self.agent_entry(&mut agents, agent);
            run.served[idx] = Some(served);
            if let Some(k) = run.running.get_mut(&idx) {
                *k -= 1;
                if *k == 0 {
                    run.running.remove(&idx);
                }
            }
            run.running.is_empty() && run.served.iter().all(Option::is_some)
        };
        if all_done {
            self.write_reports(Some(agent));
            if self.cfg.exit_when_done {
                let inner = self.stop.clone();
                // Give the harness time to call /updateReports, then stop regardless.
                let code = self.exit_code();
                tokio::spawn(async move {
                    tokio::time::sleep(DONE_GRACE).await;
                    inner.send_if_modified(|v| {
                        if v.is_none() {
                            *v = Some(code);
                            true
                        } else {
                            false
                        }
                    });
                });
            }
        }
    }

    /// Resolves a case reference to an index.
    fn resolve(&self, r: &CaseRef) -> Result<usize, HarnessError> {
        let n = self.cases.len();
        match r {
            CaseRef::Number(k) if *k >= 1 && *k <= n => Ok(k - 1),
            CaseRef::Number(k) => Err(HarnessError::new(
                404,
                format!("case {k} does not exist: there are {n} cases, numbered 1 to {n}"),
            )),
            CaseRef::Tuple(t) => self
                .cases
                .iter()
                .position(|c| c.autobahn.as_deref() == Some(t.as_str()))
                .ok_or_else(|| {
                    HarnessError::new(404, format!("no selected case has the Autobahn id {t}"))
                }),
        }
    }

    /// A case's result as reported: its run-level check applied over every connection of
    /// `run`, and the notes from `--exec` added.
    fn final_result(&self, idx: usize, run: &AgentRun) -> Option<CaseResult> {
        let served = run.served[idx].as_ref()?;
        let case = &self.cases[idx];
        let mut result = served.result.clone();
        if let Some(check) = case.run_check {
            let all: Vec<&ServedCase> = run.served.iter().flatten().collect();
            let keys: Vec<Vec<u8>> = match check {
                RunCheck::MaskKeys => all
                    .iter()
                    .flat_map(|s| s.mask_keys.iter().map(|k| k.to_vec()))
                    .collect(),
                RunCheck::HandshakeKeys => all
                    .iter()
                    .filter_map(|s| s.handshake_key.as_deref())
                    .map(|k| {
                        crate::handshake::decode_key(k.trim().as_bytes())
                            .map(|d| d.to_vec())
                            .unwrap_or_else(|_| k.as_bytes().to_vec())
                    })
                    .collect(),
            };
            let o = judge_keys(check, &keys, all.len());
            result.checks.push(Check {
                step: case.steps.len(),
                expected: o.expected,
                observed: o.observed,
                matched: o.matched,
                grade: o.grade,
                implicit: false,
                count: 1,
                limit: o.limit,
            });
            let (verdict, reasons) = case_verdict(
                case.level,
                &result.checks,
                &result.violations,
                result.close.as_ref(),
                served.error.as_deref(),
                self.cfg.session.strict,
            );
            result.verdict = verdict;
            result.reasons = reasons;
        }
        if result.verdict != crate::case::Grade::Pass {
            if let Some(agent) = self.cfg.known_deviations.as_deref() {
                result.deviation = case
                    .deviations
                    .iter()
                    .find(|(a, _)| a == agent)
                    .map(|(_, why)| why.clone());
            }
        }
        if let Some(notes) = run.notes.get(&idx) {
            for n in notes {
                result.transcript.note(n.clone());
            }
        }
        Some(result)
    }

    fn results(&self, agent: &str) -> Option<RunResults> {
        let agents = self
            .agents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let run = agents.get(agent)?;
        let cases: Vec<CaseResult> = (0..self.cases.len())
            .filter_map(|i| self.final_result(i, run))
            .collect();
        if cases.is_empty() {
            return None;
        }
        Some(RunResults {
            schema: SCHEMA.into(),
            wsspec_version: env!("CARGO_PKG_VERSION").into(),
            agent: agent.to_owned(),
            target: format!(
                "{}://{}/runCase",
                if self.cfg.tls.is_some() { "wss" } else { "ws" },
                self.addr
            ),
            peer_role: "client".into(),
            transport: "http/1.1".into(),
            started_at: run.started_at.clone(),
            duration_ms: run.t0.elapsed().as_secs_f64() * 1000.0,
            options: RunOptions {
                jobs: 1,
                timeout_ms: self.cfg.session.step_timeout.as_millis() as u64,
                strict: self.cfg.session.strict,
                cases: self.cfg.include.clone(),
                exclude: self.cfg.exclude.clone(),
                header_names: Vec::new(),
            },
            totals: Totals::of(&cases),
            tls: run.tls.clone(),
            incomplete: (cases.len() < self.cases.len()).then(|| {
                let ran: std::collections::BTreeSet<&str> =
                    cases.iter().map(|c| c.id.as_str()).collect();
                crate::results::Incomplete {
                    reason: "the client did not run every selected case".into(),
                    run: cases.len(),
                    of: self.cases.len(),
                    missing: self
                        .cases
                        .iter()
                        .filter(|c| !ran.contains(c.id.as_str()))
                        .map(|c| c.id.clone())
                        .collect(),
                }
            }),
            cases,
        })
    }

    /// 0 when no agent failed a case (documented deviations aside), 1 when one did, 2 when
    /// nothing ran or reports could not be written.
    fn exit_code(&self) -> i32 {
        let names: Vec<String> = self
            .agents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        let results: Vec<RunResults> = names.iter().filter_map(|a| self.results(a)).collect();
        if results.is_empty()
            || !self
                .write_errors
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_empty()
        {
            EXIT_ERROR
        } else if results.iter().any(|r| r.untrustworthy()) {
            // Not every selected case ran (or one could not be judged): the run proves
            // less than it seems to.
            EXIT_ERROR
        } else if results.iter().any(|r| r.unexpected_failures() > 0) {
            EXIT_FAILED
        } else {
            EXIT_OK
        }
    }

    /// Where an agent's reports go: the output directory itself while there is one agent,
    /// a directory per agent once there are several.
    fn report_dir(&self, agent: &str, agents: usize) -> Option<PathBuf> {
        let out = self.cfg.out.as_ref()?;
        if agents <= 1 {
            return Some(out.clone());
        }
        let slug: String = agent
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Some(out.join(slug.trim_start_matches('.')))
    }

    /// Writes reports for `agent`, or every agent; returns the files written.
    fn write_reports(&self, agent: Option<&str>) -> Vec<String> {
        let _one_at_a_time = self
            .writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let names: Vec<String> = self
            .agents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        let mut written = Vec::new();
        for name in names
            .iter()
            .filter(|n| agent.is_none_or(|a| a == n.as_str()))
        {
            let Some(results) = self.results(name) else {
                continue;
            };
            let Some(dir) = self.report_dir(name, names.len()) else {
                continue;
            };
            match crate::report::write_all(&dir, &results) {
                Ok(files) => written.extend(files),
                Err(e) => self
                    .write_errors
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(e.to_string()),
            }
        }
        written
    }

    fn shutdown(&self) -> i32 {
        self.write_reports(None);
        let code = self.exit_code();
        self.stop.send_if_modified(|v| {
            if v.is_none() {
                *v = Some(code);
                true
            } else {
                false
            }
        });
        (*self.stop.borrow()).unwrap_or(code)
    }
}

/// Reads a request head: None when the peer sends nothing parseable in time (it gets a
/// 400 if it sent anything at all).
async fn read_head(
    stream: &mut Stream,
    limit: Duration,
) -> Result<(Vec<u8>, Request, Vec<u8>), Option<String>> {
    const MAX_HEAD: usize = 16 * 1024;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match parse_request(&buf, MAX_HEAD) {
            Ok(Some(req)) => {
                let rest = buf.split_off(req.head_len);
                return Ok((buf, req, rest));
            }
            Ok(None) => {}
            Err(e) => return Err(Some(format!("malformed HTTP request: {e}"))),
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Err((!buf.is_empty()).then(|| "incomplete HTTP request".to_owned()))
            }
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => {
                return Err((!buf.is_empty())
                    .then(|| format!("no complete HTTP request within {} ms", limit.as_millis())))
            }
        }
    }
}

fn is_upgrade(req: &Request) -> bool {
    req.headers_named("upgrade").any(|v| {
        String::from_utf8_lossy(v)
            .to_ascii_lowercase()
            .contains("websocket")
    }) && req.header("sec-websocket-key").is_some()
}

async fn http_reply(stream: &mut Stream, status: u16, content_type: &str, body: &str) {
    let mut r = ResponseSpec::new(status, crate::run::test_client::reason_phrase(status));
    r.add("Content-Type", content_type);
    r.add("Content-Length", &body.len().to_string());
    r.add("Connection", "close");
    if status == 426 {
        r.add("Sec-WebSocket-Version", "13");
    }
    let mut bytes = r.to_bytes();
    bytes.extend_from_slice(body.as_bytes());
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        stream.write_all(&bytes).await?;
        stream.shutdown().await
    })
    .await;
}

async fn error_reply(stream: &mut Stream, e: &HarnessError) {
    http_reply(
        stream,
        e.status,
        "text/plain; charset=utf-8",
        &format!("wsspec: {}\n", e.message),
    )
    .await;
}

/// Answers an informational call: a WebSocket text message then a close (what Autobahn
/// harnesses expect), or a plain HTTP body for a plain GET.
async fn info_reply(stream: &mut Stream, req: &Request, content_type: &str, body: &str) {
    if !is_upgrade(req) {
        http_reply(stream, 200, content_type, body).await;
        return;
    }
    let key = req
        .header_str_lossy("sec-websocket-key")
        .map(|k| k.trim().to_owned())
        .unwrap_or_default();
    let mut bytes = ResponseSpec::switching_protocols(&key).to_bytes();
    if !body.is_empty() {
        let _ = Frame::text(body.as_bytes().to_vec()).encode_into(&mut bytes);
    }
    let _ = Frame::close(Some(1000), b"").encode_into(&mut bytes);
    if tokio::time::timeout(Duration::from_secs(5), stream.write_all(&bytes))
        .await
        .is_err()
    {
        return;
    }
    // Read until the client's close frame (or it goes away), then close TCP as the server.
    let mut d = Decoder::new(DecoderConfig::new(MaskRule::Masked));
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => d.feed(&buf[..n]),
            }
            while let Ok(Some(f)) = d.next_frame() {
                if f.frame.opcode == 0x8 {
                    return;
                }
            }
        }
    })
    .await;
    let _ = stream.shutdown().await;
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// Sets up the connection (TLS when configured; a client that fails the TLS handshake is
/// dropped: it has not asked for anything yet) and answers its request.
async fn handle(tcp: TcpStream, inner: Arc<Inner>) {
    *inner
        .last_activity
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
    let _ = tcp.set_nodelay(true);
    let stream = match &inner.cfg.tls {
        None => Stream::Tcp(tcp),
        Some(tls) => match transport::accept_tls(tcp, tls, inner.cfg.head_timeout).await {
            Ok(s) => s,
            Err(e) => {
                // Most likely the client does not trust wsspec's certificate: say so, as
                // the client may not.
                eprintln!("wsspec: {e}");
                return;
            }
        },
    };
    handle_request(stream, inner).await;
}

async fn handle_request(mut stream: Stream, inner: Arc<Inner>) {
    let (head, req, rest) = match read_head(&mut stream, inner.cfg.head_timeout).await {
        Ok(x) => x,
        Err(Some(msg)) => {
            error_reply(&mut stream, &HarnessError::new(400, msg)).await;
            return;
        }
        Err(None) => return,
    };
    let call = match autobahn::parse(&req.target) {
        Ok(c) => c,
        Err(e) => {
            error_reply(&mut stream, &e).await;
            return;
        }
    };
    match call {
        HarnessRequest::Page if !is_upgrade(&req) => {
            http_reply(&mut stream, 200, "text/html; charset=utf-8", browser::PAGE).await;
        }
        HarnessRequest::Page => {
            let e = HarnessError::new(
                404,
                "/ is the browser harness page, for a plain GET; cases run on /runCase?case=N&agent=A",
            );
            error_reply(&mut stream, &e).await;
        }
        HarnessRequest::CaseCount => {
            let n = inner.cases.len().to_string();
            info_reply(&mut stream, &req, "text/plain; charset=utf-8", &n).await;
        }
        HarnessRequest::CaseInfo { case } => match inner.resolve(&case) {
            Ok(i) => {
                let c = &inner.cases[i];
                let body = serde_json::json!({
                    "id": c.id,
                    "description": c.title,
                    "number": i + 1,
                    "section": c.section,
                    "requirement": c.requirement,
                    "level": c.level.as_str(),
                    "autobahn": c.autobahn,
                })
                .to_string();
                info_reply(&mut stream, &req, "application/json", &body).await;
            }
            Err(e) => error_reply(&mut stream, &e).await,
        },
        HarnessRequest::CaseStatus { case, agent } => {
            let idx = match inner.resolve(&case) {
                Ok(i) => i,
                Err(e) => return error_reply(&mut stream, &e).await,
            };
            // A case still finishing (its closing handshake) is waited for: harnesses ask
            // right after their connection ends.
            let wait = inner.case_limit(idx) + Duration::from_secs(1);
            let deadline = Instant::now() + wait;
            let result = loop {
                let (result, running) = {
                    let agents = inner
                        .agents
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    match agents.get(&agent) {
                        Some(run) => (inner.final_result(idx, run), run.running.contains_key(&idx)),
                        None => (None, false),
                    }
                };
                if !running || Instant::now() >= deadline {
                    break result;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            match result {
                Some(r) => {
                    let mut body = format!(
                        "{{\"behavior\": {}",
                        json_string(crate::report::autobahn::behavior(r.verdict))
                    );
                    if let Some(c) = &r.close {
                        body.push_str(&format!(
                            ", \"behaviorClose\": {}",
                            json_string(crate::report::autobahn::behavior(c.verdict))
                        ));
                    }
                    body.push_str(&format!(
                        ", \"id\": {}, \"verdict\": {}}}",
                        json_string(&r.id),
                        json_string(r.verdict.as_str())
                    ));
                    info_reply(&mut stream, &req, "application/json", &body).await;
                }
                None => {
                    let e = HarnessError::new(
                        404,
                        format!("case {} has not run for agent {agent:?}", idx + 1),
                    );
                    error_reply(&mut stream, &e).await;
                }
            }
        }
        HarnessRequest::RunCase { case, agent } => {
            let idx = match inner.resolve(&case) {
                Ok(i) => i,
                Err(e) => return error_reply(&mut stream, &e).await,
            };
            {
                let mut agents = inner
                    .agents
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let run = inner.agent_entry(&mut agents, &agent);
                *run.running.entry(idx).or_default() += 1;
                if let (None, Stream::TlsServer(s)) = (&run.tls, &stream) {
                    let trust = if inner.cfg.tls_generated {
                        crate::results::TlsTrust::ServedGenerated
                    } else {
                        crate::results::TlsTrust::ServedGiven
                    };
                    run.tls = Some(crate::run::tls_info::describe_served(
                        s.get_ref().1,
                        inner.cfg.tls_leaf.as_deref(),
                        trust,
                    ));
                }
            }
            let conn = ClientConnection {
                stream,
                head,
                request: req,
                rest,
            };
            let served = run_case_as_server(&inner.cases[idx], conn, &inner.cfg.session).await;
            inner.store(&agent, idx, served);
        }
        HarnessRequest::UpdateReports { agent, shutdown } => {
            inner.settle(agent.as_deref()).await;
            let known = agent.as_deref().is_none_or(|a| {
                inner
                    .agents
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .contains_key(a)
            });
            let files = inner.write_reports(agent.as_deref());
            if known {
                let body = if files.is_empty() {
                    "no reports written (no results yet, or no output directory)".to_owned()
                } else {
                    format!("wrote {}", files.join(", "))
                };
                info_reply(&mut stream, &req, "text/plain; charset=utf-8", &body).await;
            } else {
                let e = HarnessError::new(
                    404,
                    format!("no results for agent {:?}", agent.unwrap_or_default()),
                );
                error_reply(&mut stream, &e).await;
            }
            if shutdown || inner.cfg.exit_when_done {
                inner.shutdown();
            }
        }
    }
}
