//! `wsspec server`: the suite against a server at a URL.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::signals::watch_signals;
use super::{
    fail, load, parse_header, patterns, with_runtime, RunArgs, TlsArgs, EXIT_FAILED, EXIT_OK,
};
use crate::case::{self, Case};
use crate::report::{self, terminal};
use crate::results::RunResults;
use crate::run::{self, RunConfig, SessionConfig, Target};

pub(super) fn main(url: String, run: RunArgs, tls: TlsArgs) -> i32 {
    let target = match Target::parse(&url) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    if !target.secure && (tls.ca.is_some() || tls.insecure) {
        return fail(format!(
            "--ca and --insecure apply to wss:// only, and {url} is ws://"
        ));
    }
    let tls = match tls.client_config() {
        Ok(t) => t,
        Err(code) => return code,
    };
    let agent = run.agent.clone().unwrap_or_else(|| url.clone());
    with_runtime(|| async move { execute(&target, run, agent, tls).await })
}

pub(super) async fn execute(
    target: &Target,
    args: RunArgs,
    agent: String,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> i32 {
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
            ..Default::default()
        },
        agent,
        include: args.cases.clone(),
        exclude: args.exclude.clone(),
        known_deviations: args.known_deviations.clone(),
        max_time: args.max_time,
        stop,
        ..Default::default()
    };
    let bar = ProgressBar::new(cases.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} cases {per_sec} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let failed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let progress: run::Progress = {
        let bar = bar.clone();
        let failed = failed.clone();
        Arc::new(move |r| {
            if r.verdict == case::Grade::Fail {
                let n = failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                bar.set_message(format!("{n} failed"));
            }
            bar.inc(1);
        })
    };
    let results = run::run_server(target, cases, &cfg, Some(progress)).await;
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
