//! `wsspec fuzz`: generated frame sequences against a server, findings shrunk and saved.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::error::{CliResult, Outcome};
use super::{headers, jobs, session, TlsArgs};

#[derive(Args)]
pub(super) struct FuzzArgs {
    /// e.g. ws://127.0.0.1:9001/ or wss://example.org/chat
    url: String,
    #[command(flatten)]
    tls: TlsArgs,
    /// Seed of the run; the same seed sends the same sequences (default: random, printed).
    #[arg(long)]
    seed: Option<u64>,
    /// How long to fuzz, e.g. 30s, 5m (default 30s).
    #[arg(long, value_parser = crate::fuzz::parse_duration, conflicts_with = "iterations")]
    duration: Option<Duration>,
    /// Run exactly this many sequences instead of fuzzing for a time.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    iterations: Option<u64>,
    /// Sequences run at once (default: 8 per core, 8 to 64).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    /// Timeout for each step, in milliseconds: a server silent for this long hangs.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    timeout: u64,
    /// Write each minimal reproducer here as a case file.
    #[arg(long = "save-cases", value_name = "DIR")]
    save_cases: Option<PathBuf>,
    /// Stop once this many distinct causes (a rule broken, and how) are found.
    #[arg(long = "max-findings", value_parser = clap::value_parser!(u64).range(1..))]
    max_findings: Option<u64>,
    /// Add a header to every handshake, e.g. 'Authorization: Bearer x'; repeatable.
    #[arg(long = "header", value_name = "'K: V'")]
    headers: Vec<String>,
}

pub(super) async fn fuzz(args: FuzzArgs) -> CliResult {
    use crate::fuzz::{FuzzConfig, Limit, Phase};
    let tls = args.tls.client_config()?;
    let headers = headers(&args.headers)?;
    let seed = args.seed.unwrap_or_else(rand::random);
    let limit = match (args.iterations, args.duration) {
        (Some(n), _) => Limit::Iterations(n),
        (None, Some(d)) => Limit::Duration(d),
        (None, None) => Limit::Duration(Duration::from_secs(30)),
    };
    let bar = match limit {
        Limit::Iterations(n) => {
            let b = ProgressBar::new(n);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{bar:30}] {pos}/{len} sequences {rate} {msg}",
                )
                .expect("static template")
                .with_key("rate", super::server::rate)
                .progress_chars("=> "),
            );
            b
        }
        Limit::Duration(_) => {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {pos} sequences {rate} {elapsed} {msg}")
                    .expect("static template")
                    .with_key("rate", super::server::rate),
            );
            b
        }
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    let progress: crate::fuzz::ProgressHook = {
        let bar = bar.clone();
        Arc::new(move |s| {
            bar.set_position(s.iterations);
            let found = format!(
                "{} cause{}",
                s.findings,
                if s.findings == 1 { "" } else { "s" }
            );
            match s.phase {
                Phase::Shrinking { done, of } => {
                    bar.set_message(format!("{found}, shrinking ({done}/{of} done)"))
                }
                _ => bar.set_message(found),
            }
        })
    };
    let cfg = FuzzConfig {
        seed,
        limit,
        jobs: jobs(args.jobs),
        session: session(args.timeout, tls, headers),
        save_dir: args.save_cases.clone(),
        max_findings: args.max_findings.map(|m| m as usize),
        progress: Some(progress),
        ..Default::default()
    };
    eprintln!("wsspec fuzz: seed {seed} (the same --seed sends the same sequences)");
    let report = crate::fuzz::fuzz(&args.url, &cfg).await;
    bar.finish_and_clear();
    let report = report?;
    print!("{}", report.summary());
    Ok(Outcome::failed_if(!report.findings.is_empty()))
}
