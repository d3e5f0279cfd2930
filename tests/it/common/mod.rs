//! Test peers and helpers: the library's echo server with its defects switched on one at a
//! time ([`broken_server`], [`Flaws`]; see `wsspec::reference::echo` for why it exists),
//! raw TCP servers for hostile behaviour, and helpers to look at run results.
//!
//! Every read and write of the hostile helpers is bounded in time and size, and every
//! connection task dies with its server, so a test can neither hang on it nor leak it.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use wsspec::case::{Case, ExpectKind, Grade, Step};
use wsspec::handshake::{parse_request, ResponseSpec};
use wsspec::judge::verdict::soften;
pub use wsspec::reference::echo::{EchoServer, Flaws};
use wsspec::results::{CaseResult, RunResults};

/// The name the tests used before the echo server moved into the library; kept so that
/// branches written against it still merge.
pub type Bugs = Flaws;

/// Bound on any single read or write of the hostile helpers, and on a whole connection;
/// the echo server's own bounds.
const IO_TIMEOUT: Duration = wsspec::reference::echo::IO_TIMEOUT;
const CONN_TIMEOUT: Duration = wsspec::reference::echo::CONN_TIMEOUT;
/// Largest request head read by the hostile helpers.
const MAX_HEAD: usize = wsspec::reference::echo::MAX_HEAD;

/// A TCP server on 127.0.0.1 that runs `handler` for every connection; it stops, with all
/// its connections, when dropped. Each connection is cut off after `CONN_TIMEOUT`.
pub struct TestServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start<F, Fut>(handler: F) -> TestServer
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            // Dropping the set (when this task is aborted) aborts every connection task.
            let mut conns = JoinSet::new();
            loop {
                while conns.try_join_next().is_some() {}
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let fut = handler(stream);
                conns.spawn(async move {
                    let _ = tokio::time::timeout(CONN_TIMEOUT, fut).await;
                });
            }
        });
        TestServer { addr, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The echo server with these flaws (and default compression preferences).
pub async fn broken_server(flaws: Flaws) -> EchoServer {
    EchoServer::start(flaws)
        .await
        .expect("the echo server starts")
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

pub async fn write_all(s: &mut TcpStream, bytes: &[u8]) -> bool {
    matches!(
        tokio::time::timeout(IO_TIMEOUT, s.write_all(bytes)).await,
        Ok(Ok(()))
    )
}

pub async fn read_some(s: &mut TcpStream, buf: &mut [u8]) -> Option<usize> {
    match tokio::time::timeout(IO_TIMEOUT, s.read(buf)).await {
        Ok(Ok(n)) if n > 0 => Some(n),
        _ => None,
    }
}

// ---- pieces for hand-written hostile servers ----

/// Reads a request head (bounded) and returns its Sec-WebSocket-Key, or None.
pub async fn read_request_key(s: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = read_some(s, &mut buf).await?;
        head.extend_from_slice(&buf[..n]);
        if let Some(req) = parse_request(&head, MAX_HEAD).ok()? {
            return req
                .header("Sec-WebSocket-Key")
                .map(|k| String::from_utf8_lossy(k).into_owned());
        }
    }
}

/// Reads the request and writes a correct 101; false if the connection is gone.
pub async fn accept_handshake(s: &mut TcpStream) -> bool {
    let Some(key) = read_request_key(s).await else {
        return false;
    };
    write_all(s, &ResponseSpec::switching_protocols(&key).to_bytes()).await
}

/// Keeps a connection open, doing nothing, until the server is dropped (or the bound on a
/// connection's life runs out).
pub async fn hold(s: TcpStream) {
    tokio::time::sleep(CONN_TIMEOUT).await;
    drop(s);
}

// ---- looking at results ----

/// The built-in suite, loaded once per test binary: the helpers below consult it often.
pub fn builtin() -> wsspec::Suite {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    let cases = CASES.get_or_init(|| {
        wsspec::Suite::builtin()
            .expect("built-in cases load")
            .cases()
            .to_vec()
    });
    wsspec::Suite::from_cases(cases.clone())
}

/// Ids of the cases with this verdict.
pub fn ids_with(r: &RunResults, g: Grade) -> BTreeSet<String> {
    r.cases
        .iter()
        .filter(|c| c.verdict == g)
        .map(|c| c.id.clone())
        .collect()
}

pub fn failed(r: &RunResults) -> BTreeSet<String> {
    ids_with(r, Grade::Fail)
}

pub fn case<'a>(r: &'a RunResults, id: &str) -> &'a CaseResult {
    r.cases
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no case {id} in the results"))
}

/// Every case id of the built-in suite matching one of `patterns` (wsspec's own id
/// patterns: a dotted prefix or a glob).
pub fn ids(patterns: &[&str]) -> BTreeSet<String> {
    builtin()
        .select(patterns, &[])
        .expect("patterns parse")
        .cases()
        .iter()
        // Opt-in cases (deflate.volume) run only when named; no test here runs them. The
        // h2.* cases run only over HTTP/2 (tests/it/h2_transport.rs).
        .filter(|c| c.role.applies_to(wsspec::case::Role::Server) && !c.opt_in && http1(c))
        .map(|c| c.id.clone())
        .collect()
}

/// Whether the case expects the opening handshake to succeed (status 101), i.e. it
/// establishes a WebSocket connection with a correct peer.
pub fn establishes(c: &Case) -> bool {
    c.steps.iter().any(|s| match s {
        Step::Expect(e) => match &e.kind {
            ExpectKind::Handshake(h) => {
                h.status.is_empty() || h.status.iter().any(|p| p.matches(101))
            }
            _ => false,
        },
        _ => false,
    })
}

/// Whether, against a correct peer, the case establishes a connection and then sees a
/// frame from the peer: it expects a frame or a close, or ends with the closing
/// handshake. (An INFO case that only looks at the 101 does not.)
pub fn exchanges_frames(c: &Case) -> bool {
    establishes(c)
        && (c.close
            || c.runs().any(|(_, s)| {
                matches!(s, Step::Expect(e) if !matches!(e.kind, ExpectKind::Handshake(_)))
            }))
}

/// Whether the case, against a correct peer, expects the peer to fail the connection.
pub fn expects_failure(c: &Case) -> bool {
    fn fails(k: &ExpectKind) -> bool {
        match k {
            ExpectKind::Fail { .. } => true,
            ExpectKind::Any(alts) => alts.iter().any(|a| fails(&a.kind)),
            _ => false,
        }
    }
    c.runs()
        .any(|(_, s)| matches!(s, Step::Expect(e) if fails(&e.kind)))
}

/// Whether the case runs over HTTP/1.1, as every run here does.
fn http1(c: &Case) -> bool {
    wsspec::run::applies_over(&c.id, wsspec::run::transport::Transport::Http1)
}

/// Ids of the built-in cases for which `pred` holds.
pub fn ids_where(pred: impl Fn(&Case) -> bool) -> BTreeSet<String> {
    builtin()
        .cases()
        .iter()
        .filter(|c| {
            c.role.applies_to(wsspec::case::Role::Server) && !c.opt_in && http1(c) && pred(c)
        })
        .map(|c| c.id.clone())
        .collect()
}

/// A readable account of the cases whose verdict differs from what a test expected.
pub fn explain(r: &RunResults, ids: &BTreeSet<String>) -> String {
    let mut s = String::new();
    for id in ids {
        if let Some(c) = r.cases.iter().find(|c| &c.id == id) {
            s.push_str(&format!("\n  {} [{}]", c.id, c.verdict.as_str()));
            for reason in &c.reasons {
                s.push_str(&format!("\n      {reason}"));
            }
        } else {
            s.push_str(&format!("\n  {id} [not run]"));
        }
    }
    s
}

/// The verdicts a test expects: exactly these cases fail, are non-strict, are
/// informational; every other case passes.
#[derive(Debug, Default, Clone)]
pub struct Expected {
    pub fail: BTreeSet<String>,
    pub non_strict: BTreeSet<String>,
    pub informational: BTreeSet<String>,
}

impl Expected {
    pub fn fail(fail: BTreeSet<String>) -> Expected {
        Expected {
            fail,
            ..Default::default()
        }
    }

    /// Misses of these cases, softened by each case's level as the judge does: a MUST
    /// case fails, a SHOULD case is non-strict, a MAY or INFO case informational.
    pub fn misses(ids: &BTreeSet<String>) -> Expected {
        let mut e = Expected::default();
        for c in builtin().cases() {
            if ids.contains(&c.id) {
                let set = match soften(Grade::Fail, c.level) {
                    Grade::Fail => &mut e.fail,
                    Grade::NonStrict => &mut e.non_strict,
                    _ => &mut e.informational,
                };
                set.insert(c.id.clone());
            }
        }
        e
    }

    /// Keeps only the cases that ran.
    pub fn within(mut self, ran: &BTreeSet<String>) -> Expected {
        for set in [
            &mut self.fail,
            &mut self.non_strict,
            &mut self.informational,
        ] {
            set.retain(|id| ran.contains(id));
        }
        self
    }
}

/// Asserts that exactly `expected` failed and every other case passed, naming the
/// differences with their reasons.
pub fn assert_failed_exactly(r: &RunResults, expected: &BTreeSet<String>, what: &str) {
    assert_outcomes(r, &Expected::fail(expected.clone()), what);
}

/// Asserts every case's verdict: exactly the expected sets fail, are non-strict and are
/// informational, and every other case passes. The message names each difference with
/// the case's reasons.
pub fn assert_outcomes(r: &RunResults, e: &Expected, what: &str) {
    let mut msg = String::new();
    for (grade, want) in [
        (Grade::Fail, &e.fail),
        (Grade::NonStrict, &e.non_strict),
        (Grade::Informational, &e.informational),
    ] {
        let got = ids_with(r, grade);
        let unexpected: BTreeSet<String> = got.difference(want).cloned().collect();
        let missing: BTreeSet<String> = want.difference(&got).cloned().collect();
        let g = grade.as_str();
        if !unexpected.is_empty() {
            msg.push_str(&format!(
                "\n{} cases were {g} that should not be:{}",
                unexpected.len(),
                explain(r, &unexpected)
            ));
        }
        if !missing.is_empty() {
            msg.push_str(&format!(
                "\n{} cases were not {g} that should be:{}",
                missing.len(),
                explain(r, &missing)
            ));
        }
    }
    let odd: BTreeSet<String> = r
        .cases
        .iter()
        .filter(|c| {
            !matches!(
                c.verdict,
                Grade::Pass | Grade::Fail | Grade::NonStrict | Grade::Informational
            )
        })
        .map(|c| c.id.clone())
        .collect();
    if !odd.is_empty() {
        msg.push_str(&format!(
            "\n{} cases had another verdict:{}",
            odd.len(),
            explain(r, &odd)
        ));
    }
    assert!(msg.is_empty(), "{what}:{msg}");
}

/// The whole built-in suite but `limits` (about 100 MiB of traffic, which none of the
/// flaws these runs study changes) against the echo server with `flaws`, `jobs` cases at
/// once with this step timeout, bounded at 120 s.
pub async fn run_without_limits(flaws: Flaws, jobs: usize, step: Duration) -> RunResults {
    let server = broken_server(flaws).await;
    let cfg = wsspec::run::RunConfig {
        jobs,
        session: wsspec::run::SessionConfig {
            step_timeout: step,
            ..Default::default()
        },
        ..Default::default()
    };
    let suite = builtin().select(&[], &["limits"]).expect("patterns parse");
    tokio::time::timeout(
        Duration::from_secs(120),
        suite.test_server(&server.url(), &cfg),
    )
    .await
    .expect("the run finishes")
    .expect("the run takes place")
}
