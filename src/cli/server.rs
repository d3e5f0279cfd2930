//! `wsspec server`: the suite against a server at a URL.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::error::{CliError, CliResult, Outcome};
use super::signals::watch_signals;
use super::{headers, jobs, terminal_style, with_runtime, RunArgs, TlsArgs};
use crate::case;
use crate::report::{self, terminal};
use crate::results::{RunResults, TlsTrust};
use crate::run::transport::Transport;
use crate::run::{self, RunConfig, SessionConfig, Target};

/// Cases finished and failed so far, for the progress bar and the log lines.
#[derive(Default)]
struct Counts {
    done: AtomicUsize,
    failed: AtomicUsize,
}

/// Seconds between two progress lines in a log (no terminal); `WSSPEC_PROGRESS_SECS`
/// overrides the default of 5.
fn log_every() -> Duration {
    std::env::var("WSSPEC_PROGRESS_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.05 && *s <= 3600.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(5))
}

/// One line per `every` on stderr while the run lasts: "wsspec: 412/973 cases, 2 failed,
/// 10s". The run's summary follows on stdout as with a terminal.
async fn log_progress(counts: Arc<Counts>, total: usize, every: Duration) {
    let t0 = std::time::Instant::now();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tick.tick().await;
        let done = counts.done.load(Ordering::Relaxed);
        // Nothing before the first case: a run that stops at the reachability check says so
        // in one line, and only that.
        if done == 0 {
            continue;
        }
        let failed = counts.failed.load(Ordering::Relaxed);
        eprintln!(
            "wsspec: {done}/{total} cases, {failed} failed, {:.0}s",
            t0.elapsed().as_secs_f64()
        );
    }
}

/// Aborts the progress task when the run is over.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The bar's rate as a whole number of cases per second (indicatif's own `{per_sec}` shows
/// four decimals: "136.0316/s").
pub(super) fn rate(state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write) {
    let _ = write!(w, "{:.0}/s", state.per_sec());
}

pub(super) fn main(
    url: String,
    wait: Option<Duration>,
    run: RunArgs,
    tls: TlsArgs,
    transport: Transport,
    http2_streams: Option<u16>,
) -> CliResult {
    let target = Target::parse(&url)?;
    if transport == Transport::Http3 && !target.secure {
        return Err(CliError::Usage(format!(
            "--http3 needs a wss:// URL (QUIC is always encrypted, RFC 9001), and {url} is ws://"
        )));
    }
    if transport == Transport::Http3 && wait.is_some() {
        return Err(CliError::Usage(
            "--wait waits for a TCP listener, and --http3 reaches a UDP one: start the server first".into(),
        ));
    }
    if !target.secure && (tls.ca.is_some() || tls.insecure) {
        return Err(CliError::Usage(format!(
            "--ca and --insecure apply to wss:// only, and {url} is ws://"
        )));
    }
    let trust = tls.trust();
    let tls = tls.client_config()?;
    let agent = run.agent.clone().unwrap_or_else(|| url.clone());
    with_runtime(|| async move {
        if let Some(within) = wait {
            wait_for_peer(&target, within).await?;
        }
        let pool = http2_streams.map(|n| Arc::new(run::h2::Pool::new(n.into())));
        execute(&target, run, agent, (tls, trust), transport, pool).await
    })
}

/// `--wait`: says once that it waits, and how long it took when it had to.
async fn wait_for_peer(target: &Target, within: Duration) -> Result<(), run::wait::WaitError> {
    let t0 = std::time::Instant::now();
    if run::wait::wait_for_tcp(target, within).await? {
        eprintln!(
            "wsspec: {} accepted a connection after {:.1}s",
            target.socket_addr(),
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The run's TLS client configuration (None: the public roots) and whom it trusts.
pub(super) type Tls = (Option<Arc<rustls::ClientConfig>>, TlsTrust);

/// The selected server cases against `target`: everything the arguments can get wrong is
/// found before the first case, then the run, the terminal summary, the reports and the
/// exit code.
pub(super) async fn execute(
    target: &Target,
    args: RunArgs,
    agent: String,
    tls: Tls,
    transport: Transport,
    h2_pool: Option<Arc<run::h2::Pool>>,
) -> CliResult {
    let (tls, tls_trust) = tls;
    let mut selection = args.select.select(case::Role::Server)?;
    let selected = selection.cases.len();
    selection
        .cases
        .retain(|c| run::applies_over(&c.id, transport));
    // Said over HTTP/2 only: an HTTP/1.1 run leaving out h2.* is the normal run.
    if selection.cases.len() < selected && transport.extended_connect() {
        eprintln!(
            "wsspec: {} selected cases do not apply over {} and are left out (the HTTP/1.1-only handshake cases: RFC 8441 §5 and RFC 9220 §3 replace the Upgrade exchange; and the h2.multiplex.* cases over h3, the h2.pseudo.* cases over h2, which only the other transport can send)",
            selected - selection.cases.len(),
            transport.name(target.secure),
        );
    }
    if selection.cases.is_empty() && selected > 0 {
        return Err(CliError::Usage(format!(
            "no selected case applies over {} (the h2.* cases need --http2 or --http3)",
            transport.name(target.secure)
        )));
    }
    if selection.cases.is_empty() {
        return Err(CliError::NoServerCases);
    }
    let baseline = match &args.baseline {
        Some(path) => Some(report::baseline::load(path, selection.ids.iter().cloned())?),
        None => None,
    };
    let headers = headers(&args.headers)?;
    args.select.check_known_deviations(&selection)?;
    // Found before the run, not after it: an hour of cases is not lost to a typo.
    report::check_writable(&args.out)?;
    let stop = run::Stop::default();
    let _signals = watch_signals(stop.clone());
    let cfg = RunConfig {
        jobs: jobs(args.jobs),
        session: SessionConfig {
            transport,
            h2_pool,
            ..args.select.session(tls, headers)
        },
        agent,
        include: args.select.cases.clone(),
        exclude: args.select.exclude.clone(),
        known_deviations: args.select.known_deviations.clone(),
        max_time: args.max_time,
        stop,
        tls_trust,
        ..Default::default()
    };
    let display = ProgressDisplay::start(selection.cases.len());
    let results = run::test_server(target, selection.cases, &cfg, Some(display.hook())).await;
    display.finish();
    let results = results?;
    let style = terminal_style(args.select.verbose);
    print!("{}", terminal::render(&results, &style));
    let comparison = baseline
        .as_ref()
        .map(|b| report::baseline::compare(b, &results));
    if let Some(cmp) = &comparison {
        print!("{}", terminal::baseline_section(cmp, &style));
    }
    for f in report::write_reports(&args.out, &results, &args.format.0, comparison.as_ref())? {
        println!("wrote {f}");
    }
    outcome(&results, comparison.as_ref())
}

/// Exit 2 for a run that proves less than it seems (cases not run or not judged), else
/// whether a case failed (with a baseline: a regression or a case it does not know).
fn outcome(results: &RunResults, comparison: Option<&report::Comparison>) -> CliResult {
    if let Some(inc) = &results.incomplete {
        return Err(CliError::Incomplete {
            headline: inc.headline(),
            missing: inc.missing.len(),
        });
    }
    if results.totals.error > 0 {
        return Err(CliError::Unjudged(results.totals.error));
    }
    Ok(Outcome::failed_if(match comparison {
        Some(cmp) => cmp.failed(),
        None => results.unexpected_failures() > 0,
    }))
}

/// The run's progress: a bar on a terminal, a line every few seconds in a log.
struct ProgressDisplay {
    bar: ProgressBar,
    counts: Arc<Counts>,
    log_lines: Option<AbortOnDrop>,
}

impl ProgressDisplay {
    fn start(total: usize) -> Self {
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} cases {rate} {msg}")
                .expect("static template")
                .with_key("rate", rate)
                .progress_chars("=> "),
        );
        let counts = Arc::new(Counts::default());
        // Without a terminal (a CI log) the bar draws nothing: a line every few seconds instead.
        let log_lines = (!std::io::stderr().is_terminal()).then(|| {
            let counts = counts.clone();
            AbortOnDrop(tokio::spawn(log_progress(counts, total, log_every())))
        });
        ProgressDisplay {
            bar,
            counts,
            log_lines,
        }
    }

    /// Called by the run once per finished case.
    fn hook(&self) -> run::Progress {
        let bar = self.bar.clone();
        let counts = self.counts.clone();
        Arc::new(move |r| {
            if r.verdict == case::Grade::Fail {
                let n = counts.failed.fetch_add(1, Ordering::Relaxed) + 1;
                bar.set_message(format!("{n} failed"));
            }
            counts.done.fetch_add(1, Ordering::Relaxed);
            bar.inc(1);
        })
    }

    /// Stops the log lines and clears the bar before the summary is printed.
    fn finish(self) {
        drop(self.log_lines);
        self.bar.finish_and_clear();
    }
}
