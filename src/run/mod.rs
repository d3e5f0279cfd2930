//! Running cases: sessions, the scheduler, and the run as a whole.
//!
//! `target` parses URLs, `reader` turns the peer's bytes into events, `session` interprets
//! one case, and this file schedules many cases at once and keeps their order.

pub mod reader;
pub mod server_session;
pub mod session;
pub mod target;
pub mod tls;
pub mod transport;
pub mod writer;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

pub use reader::ReadLimits;
pub use session::{run_case, SessionConfig};
pub use target::{Target, TargetError};
pub use transport::ConnectError;

use crate::case::Case;
use crate::results::{CaseResult, RunOptions, RunResults, Totals, SCHEMA};

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
    #[error("no cases selected{0}")]
    NoCases(String),
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
        }
    }
}

/// Called once per finished case, in completion order (for progress displays).
pub type Progress = Arc<dyn Fn(&CaseResult) + Send + Sync>;

/// Checks that something accepts connections at the target before running hundreds of
/// cases against nothing; for `wss://` that includes the TLS handshake, so a certificate
/// wsspec does not trust is one error, not a failure in every case.
pub async fn probe(
    target: &Target,
    tls: Option<&Arc<rustls::ClientConfig>>,
    timeout: Duration,
) -> Result<(), RunError> {
    let url = target.url().to_owned();
    match transport::connect(target, tls, timeout).await {
        Ok(_) => Ok(()),
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

/// Runs `cases` against a server at `target`, `cfg.jobs` at a time. Results come back in
/// the order of `cases`, whatever the parallelism.
pub async fn run_server(
    target: &Target,
    cases: Vec<Case>,
    cfg: &RunConfig,
    progress: Option<Progress>,
) -> Result<RunResults, RunError> {
    if cases.is_empty() {
        return Err(RunError::NoCases(String::new()));
    }
    probe(
        target,
        cfg.session.tls.as_ref(),
        cfg.session.connect_timeout,
    )
    .await?;
    let started_at = crate::time::now_rfc3339();
    let t0 = Instant::now();
    let sem = Arc::new(Semaphore::new(cfg.jobs.max(1)));
    let target = Arc::new(target.clone());
    let session = Arc::new(cfg.session.clone());
    let mut set = tokio::task::JoinSet::new();
    let n = cases.len();
    for (i, case) in cases.into_iter().enumerate() {
        let sem = sem.clone();
        let target = target.clone();
        let session = session.clone();
        let progress = progress.clone();
        let known = cfg.known_deviations.clone();
        set.spawn(async move {
            let _permit = sem
                .acquire_owned()
                .await
                .expect("semaphore is never closed");
            let mut r = run_case(&case, &target, &session).await;
            if r.verdict != crate::case::Grade::Pass {
                if let Some(agent) = known.as_deref() {
                    r.deviation = case
                        .deviations
                        .iter()
                        .find(|(a, _)| a == agent)
                        .map(|(_, why)| why.clone());
                }
            }
            if let Some(p) = &progress {
                p(&r);
            }
            (i, r)
        });
    }
    let mut results: Vec<Option<CaseResult>> = (0..n).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        let (i, r) = joined.expect("a case task panicked");
        results[i] = Some(r);
    }
    let cases: Vec<CaseResult> = results
        .into_iter()
        .map(|r| r.expect("every case reports"))
        .collect();
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
    })
}
