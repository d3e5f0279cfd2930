//! `wsspec server`: the suite against a server at a URL.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::signals::watch_signals;
use super::{
    fail, load, parse_header, patterns, with_runtime, RunArgs, TlsArgs, EXIT_FAILED, EXIT_OK,
};
use crate::case::{self, Case};
use crate::report::{self, terminal};
use crate::results::{RunResults, TlsTrust};
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

pub(super) fn main(url: String, wait: Option<Duration>, run: RunArgs, tls: TlsArgs) -> i32 {
    let target = match Target::parse(&url) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    if !target.secure && (tls.ca.is_some() || tls.insecure) {
        return fail(format!(
            "--ca and --insecure apply to wss:// only, and {url} is ws://"
        ));
    }
    let trust = tls.trust();
    let tls = match tls.client_config() {
        Ok(t) => t,
        Err(code) => return code,
    };
    let agent = run.agent.clone().unwrap_or_else(|| url.clone());
    with_runtime(|| async move {
        if let Some(within) = wait {
            if let Err(e) = wait_for_peer(&target, within).await {
                return fail(e);
            }
        }
        execute(&target, run, agent, (tls, trust)).await
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

pub(super) async fn execute(target: &Target, args: RunArgs, agent: String, tls: Tls) -> i32 {
    let (tls, tls_trust) = tls;
    let cases = match load(&args.cases_dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (inc, exc) = match (patterns(&args.cases), patterns(&args.exclude)) {
        (Ok(i), Ok(e)) => (i, e),
        (Err(c), _) | (_, Err(c)) => return c,
    };
    // Every implementation some case documents a deviation of, whatever is selected.
    let mut documented: Vec<String> = cases
        .iter()
        .flat_map(|c| c.deviations.iter().map(|(a, _)| a.clone()))
        .collect();
    documented.sort_unstable();
    documented.dedup();
    let cases: Vec<Case> = case::select(cases, &inc, &exc)
        .into_iter()
        .filter(|c| c.role.applies_to(case::Role::Server))
        .collect();
    if cases.is_empty() {
        return fail(
            "no cases selected: check --cases and --exclude (`wsspec list` shows the ids)",
        );
    }
    let baseline = match &args.baseline {
        None => None,
        Some(path) => {
            let known = match load(&args.cases_dir) {
                Ok(all) => all.into_iter().map(|c| c.id),
                Err(code) => return code,
            };
            match report::baseline::load(path, known) {
                Ok(b) => Some(b),
                Err(e) => return fail(e),
            }
        }
    };
    let mut headers = Vec::new();
    for h in &args.headers {
        match parse_header(h) {
            Ok(kv) => headers.push(kv),
            Err(e) => return fail(e),
        }
    }
    if let Some(agent) = &args.known_deviations {
        if !documented.contains(agent) {
            return fail(format!(
                "--known-deviations {agent:?}: no case documents a deviation of that implementation (known: {})",
                if documented.is_empty() { "none".to_owned() } else { documented.join(", ") }
            ));
        }
    }
    // Found before the run, not after it: an hour of cases is not lost to a typo.
    if let Err(e) = report::check_writable(&args.out) {
        return fail(e);
    }
    let stop = run::Stop::default();
    let _signals = watch_signals(stop.clone());
    let cfg = RunConfig {
        jobs: args
            .jobs
            .map(|j| j as usize)
            .unwrap_or_else(run::default_jobs),
        session: SessionConfig {
            step_timeout: Duration::from_millis(args.timeout),
            tls,
            headers,
            strict: args.strict,
            peer_max_message: args.max_message_size,
            idle: args.idle,
            ..Default::default()
        },
        agent,
        include: args.cases.clone(),
        exclude: args.exclude.clone(),
        known_deviations: args.known_deviations.clone(),
        max_time: args.max_time,
        stop,
        tls_trust,
        ..Default::default()
    };
    let total = cases.len();
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} cases {rate} {msg}")
            .expect("static template")
            .with_key("rate", rate)
            .progress_chars("=> "),
    );
    let counts = Arc::new(Counts::default());
    let progress: run::Progress = {
        let bar = bar.clone();
        let counts = counts.clone();
        Arc::new(move |r| {
            if r.verdict == case::Grade::Fail {
                let n = counts.failed.fetch_add(1, Ordering::Relaxed) + 1;
                bar.set_message(format!("{n} failed"));
            }
            counts.done.fetch_add(1, Ordering::Relaxed);
            bar.inc(1);
        })
    };
    // Without a terminal (a CI log) the bar draws nothing: a line every few seconds instead.
    let log_lines = (!std::io::stderr().is_terminal()).then(|| {
        let counts = counts.clone();
        AbortOnDrop(tokio::spawn(log_progress(counts, total, log_every())))
    });
    let results = run::run_server(target, cases, &cfg, Some(progress)).await;
    drop(log_lines);
    bar.finish_and_clear();
    let results: RunResults = match results {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    print!(
        "{}",
        terminal::render(
            &results,
            &terminal::Style {
                color,
                verbose: args.verbose
            }
        )
    );
    let comparison = baseline
        .as_ref()
        .map(|b| report::baseline::compare(b, &results));
    if let Some(cmp) = &comparison {
        print!(
            "{}",
            terminal::baseline_section(
                cmp,
                &terminal::Style {
                    color,
                    verbose: args.verbose
                }
            )
        );
    }
    match report::write_reports(&args.out, &results, &args.format.0, comparison.as_ref()) {
        Ok(files) => {
            for f in files {
                println!("wrote {f}");
            }
        }
        Err(e) => return fail(e),
    }
    if let Some(inc) = &results.incomplete {
        return fail(format!(
            "{}; reports list the {} cases not run",
            inc.headline(),
            inc.missing.len()
        ));
    }
    let errors = results.totals.error;
    if errors > 0 {
        return fail(format!(
            "{errors} case(s) could not be judged (verdict error: a wsspec bug, please report it)"
        ));
    }
    let failed = match &comparison {
        Some(cmp) => cmp.failed(),
        None => results.unexpected_failures() > 0,
    };
    if failed {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}
