//! The command line: parsing arguments and turning outcomes into exit codes. No protocol
//! knowledge lives here.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::case::{self, Case, IdPattern};
use crate::report::{self, terminal};
use crate::results::RunResults;
use crate::run::{self, RunConfig, SessionConfig, Target};

/// Exit codes: 0 nothing failed, 1 something failed, 2 wsspec could not do its job: a bad
/// argument, a peer that is not a WebSocket server or stopped answering, an interrupted or
/// timed-out run (reports are still written, marked incomplete), a case wsspec could not
/// judge (`error`).
pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

#[derive(Parser)]
#[command(
    name = "wsspec",
    version,
    about = "WebSocket (RFC 6455) conformance suite and fuzzer"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Test a WebSocket server at a ws:// or wss:// URL.
    Server {
        /// e.g. ws://127.0.0.1:9001/ or wss://example.org/chat
        url: String,
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        tls: TlsArgs,
    },
    /// Run the suite against the embedded reference server (tokio-tungstenite) and write
    /// the results: a self-check and a demonstration in one command.
    Demo {
        #[command(flatten)]
        run: RunArgs,
        /// Serve the reference over TLS (wss://, with a certificate generated for the run).
        #[arg(long)]
        tls: bool,
    },
    /// List cases: ids, levels, RFC sections, titles, and counts per area.
    List {
        /// Id pattern (glob, or a dotted prefix such as `close`).
        pattern: Option<String>,
        /// Extra case directories, loaded beside the built-in cases.
        #[arg(long = "cases-dir")]
        cases_dir: Vec<PathBuf>,
        /// Print the Autobahn|Testsuite mapping instead: every Autobahn case id with the
        /// server-mode and client-mode cases that check it, and how many ids each role maps.
        #[arg(long)]
        autobahn: bool,
    },
    /// Re-render reports from results.json files: one file re-renders its reports; several
    /// render a page comparing the agents side by side.
    Report {
        /// results.json files written by earlier runs.
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// Output directory.
        #[arg(long, default_value = "wsspec-report")]
        out: PathBuf,
        /// Formats to write for a single run (html, json, junit, md, autobahn, all).
        #[arg(long, default_value = "html,json,junit,md")]
        format: report::Formats,
    },
    /// Write a baseline (the known verdict of every case) from a results.json, for
    /// `--baseline` in later runs.
    Baseline {
        /// A results.json written by `wsspec server` or `wsspec demo`.
        results: PathBuf,
        /// Where to write the baseline.
        #[arg(long, short, default_value = "wsspec-baseline.json")]
        out: PathBuf,
    },
    /// Validate case files without running them.
    Check {
        /// A case directory or file (default: the built-in cases).
        dir: Option<PathBuf>,
    },
    /// Test a WebSocket client: wsspec plays the server, driven by an Autobahn-style
    /// harness (--listen) or by running a client command per case (--exec).
    Client {
        #[command(flatten)]
        args: crate::serve::args::ClientArgs,
    },
    /// Fuzz a WebSocket server: generated frame sequences judged against RFC 6455, with
    /// findings shrunk and saved as case files.
    Fuzz(FuzzArgs),
}

#[derive(Args)]
struct FuzzArgs {
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

/// How wsspec trusts a wss:// server's certificate (default: the public web roots built
/// into wsspec, not the system store, so runs agree across machines).
#[derive(Args)]
struct TlsArgs {
    /// For wss://: trust only the certificates in this PEM file (a self-signed server
    /// certificate or a private CA) instead of the public roots.
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    ca: Option<PathBuf>,
    /// For wss://: accept any server certificate, unverified (prints a warning).
    #[arg(long)]
    insecure: bool,
}

impl TlsArgs {
    /// The run's TLS client configuration: None for the default (public roots).
    fn client_config(&self) -> Result<Option<Arc<rustls::ClientConfig>>, i32> {
        let trust = if self.insecure {
            eprintln!("wsspec: warning: --insecure: the server's certificate is not verified");
            run::tls::Trust::AnyCertificate
        } else if let Some(path) = &self.ca {
            run::tls::ca_trust(path).map_err(fail)?
        } else {
            return Ok(None);
        };
        Ok(Some(run::tls::client_config(&trust)))
    }
}

#[derive(Args)]
struct RunArgs {
    /// Run only cases whose id matches (glob, or a dotted prefix); repeatable, or comma-separated.
    #[arg(long, value_delimiter = ',')]
    cases: Vec<String>,
    /// Skip cases whose id matches; repeatable, or comma-separated.
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
    /// Extra case directories, loaded beside the built-in cases.
    #[arg(long = "cases-dir")]
    cases_dir: Vec<PathBuf>,
    /// Timeout for each step, in milliseconds.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    timeout: u64,
    /// Cases run at once (default: 8 per core, 8 to 64).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    /// Count non-strict results (SHOULD-level misses) as failures.
    #[arg(long)]
    strict: bool,
    /// Add a header to every handshake, e.g. 'Authorization: Bearer x'; repeatable.
    #[arg(long = "header", value_name = "'K: V'")]
    headers: Vec<String>,
    /// The server's declared message size limit in bytes: smaller messages must be echoed,
    /// larger ones refused with close code 1009. Without it, a 1009 is informational.
    #[arg(long = "max-message-size", value_name = "BYTES")]
    max_message_size: Option<u64>,
    /// Output directory for results.
    #[arg(long, default_value = "wsspec-report")]
    out: PathBuf,
    /// Reports to write, comma-separated: html, json, junit, md, autobahn (Autobahn's
    /// index.json), or all.
    #[arg(long, default_value = "html,json,junit,md")]
    format: report::Formats,
    /// Known results (from `wsspec baseline`): only regressions and failures of cases the
    /// baseline does not know fail the run; fixes and known failures are listed apart.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Name of the implementation under test, used in reports.
    #[arg(long)]
    agent: Option<String>,
    /// Treat the deviations the case files document for this implementation (e.g.
    /// `tokio-tungstenite`) as known: reported, but not failing the run. `demo` sets it.
    #[arg(long = "known-deviations", value_name = "IMPLEMENTATION")]
    known_deviations: Option<String>,
    /// List every case in the terminal, not only those that did not pass.
    #[arg(long, short)]
    verbose: bool,
    /// Stop the whole run after this long, e.g. 90s or 10m: the cases not run are listed,
    /// reports are written marked incomplete, and the exit code is 2.
    #[arg(long = "max-time", value_parser = crate::fuzz::parse_duration)]
    max_time: Option<Duration>,
}

/// Prints the one-line reason for exit code 2. Whatever produced the message, it stays one
/// line, so scripts can show it as is.
pub(crate) fn fail(msg: impl std::fmt::Display) -> i32 {
    let one_line = msg
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("wsspec: error: {one_line}");
    EXIT_ERROR
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::List {
            pattern,
            cases_dir,
            autobahn,
        } => list(pattern, &cases_dir, autobahn),
        Command::Check { dir } => check(dir),
        Command::Report {
            results,
            out,
            format,
        } => rerender(&results, &out, &format),
        Command::Baseline { results, out } => write_baseline(&results, &out),
        Command::Client { args } => crate::serve::args::main(args),
        Command::Fuzz(args) => with_runtime(|| async move { fuzz(args).await }),
        Command::Server { url, run, tls } => {
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
        Command::Demo { mut run, tls } => with_runtime(|| async move {
            run.known_deviations
                .get_or_insert_with(|| crate::reference::IMPLEMENTATION.to_owned());
            let (server, trust) = match demo_server(tls).await {
                Ok(s) => s,
                Err(e) => return fail(format!("cannot start the reference server: {e}")),
            };
            let target = Target::parse(&server.url()).expect("reference URL parses");
            eprintln!(
                "wsspec: reference server (tokio-tungstenite) listening on {}",
                server.url()
            );
            let agent = run
                .agent
                .clone()
                .unwrap_or_else(|| "tokio-tungstenite (reference)".into());
            execute(&target, run, agent, trust).await
        }),
    }
}

/// The reference server for `demo`, and with `--tls` the trust for its fresh certificate.
async fn demo_server(
    tls: bool,
) -> Result<
    (
        crate::reference::ReferenceServer,
        Option<Arc<rustls::ClientConfig>>,
    ),
    String,
> {
    use crate::reference::ReferenceServer;
    if !tls {
        let server = ReferenceServer::start().await.map_err(|e| e.to_string())?;
        return Ok((server, None));
    }
    let cert = run::tls::self_signed(&["127.0.0.1".into()]).map_err(|e| e.to_string())?;
    let trust = run::tls::client_config(&run::tls::Trust::Anchors(vec![cert.cert.clone()]));
    let config = run::tls::server_config(vec![cert.cert], cert.key).map_err(|e| e.to_string())?;
    let server = ReferenceServer::start_tls(config)
        .await
        .map_err(|e| e.to_string())?;
    Ok((server, Some(trust)))
}

pub(crate) fn with_runtime<F, Fut>(f: F) -> i32
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = i32>,
{
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f()),
        Err(e) => fail(format!("cannot start the async runtime: {e}")),
    }
}

pub(crate) fn load(extra: &[PathBuf]) -> Result<Vec<Case>, i32> {
    crate::Suite::builtin_and(extra)
        .map(|s| s.cases().to_vec())
        .map_err(fail)
}

pub(crate) fn patterns(list: &[String]) -> Result<Vec<IdPattern>, i32> {
    list.iter()
        .map(|p| IdPattern::parse(p).map_err(fail))
        .collect()
}

fn parse_header(h: &str) -> Result<(String, String), String> {
    let (k, v) = h
        .split_once(':')
        .ok_or_else(|| format!("--header {h:?}: expected 'Name: value'"))?;
    let k = k.trim();
    if k.is_empty() || !k.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        return Err(format!(
            "--header {h:?}: the name must be a non-empty HTTP token"
        ));
    }
    if v.contains(['\r', '\n']) {
        return Err(format!(
            "--header {h:?}: the value must not contain CR or LF"
        ));
    }
    Ok((k.to_owned(), v.trim().to_owned()))
}

async fn execute(
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

/// Turns SIGINT and SIGTERM into a stop of the run (cases in flight get a grace period,
/// reports are written marked incomplete); a second signal exits at once with code 2.
/// The task ends with the returned guard.
pub(crate) fn watch_signals(stop: run::Stop) -> SignalGuard {
    let task = tokio::spawn(async move {
        let mut signals = 0;
        loop {
            let name = next_signal().await;
            signals += 1;
            if signals > 1 {
                eprintln!("\nwsspec: {name} again: quitting without reports");
                std::process::exit(EXIT_ERROR);
            }
            eprintln!(
                "\nwsspec: {name}: stopping; cases in flight get a moment, then reports are written (again to quit at once)"
            );
            stop.trigger(format!("interrupted by {name}"));
        }
    });
    SignalGuard(task)
}

/// Stops listening for signals when dropped.
pub(crate) struct SignalGuard(tokio::task::JoinHandle<()>);

impl Drop for SignalGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(unix)]
pub(crate) async fn next_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

#[cfg(not(unix))]
pub(crate) async fn next_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "Ctrl-C"
}

fn list(pattern: Option<String>, extra: &[PathBuf], autobahn: bool) -> i32 {
    let cases = match load(extra) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let inc = match patterns(pattern.as_slice()) {
        Ok(p) => p,
        Err(c) => return c,
    };
    let cases = case::select_listing(cases, &inc, &[]);
    if cases.is_empty() {
        if let Some(p) = &pattern {
            return fail(format!(
                "no case matches {p:?} (`wsspec list` shows the ids)"
            ));
        }
    }
    // A reader that stops early (`wsspec list | head`) is not an error: stop writing.
    let written = if autobahn {
        let table =
            crate::report::autobahn::mapping_table(&crate::report::autobahn::mapping(&cases));
        use std::io::Write;
        std::io::stdout().lock().write_all(table.as_bytes())
    } else {
        write_list(&cases)
    };
    match written {
        Ok(()) => EXIT_OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => fail(format!("cannot write the list: {e}")),
    }
}

fn write_list(cases: &[Case]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut areas: Vec<(String, usize)> = Vec::new();
    for c in cases {
        writeln!(
            out,
            "{:<48} {:<6} {:<6} {:<16} {}",
            c.id,
            c.level.as_str(),
            format!("{:?}", c.role).to_lowercase(),
            c.section,
            c.title
        )?;
        match areas.iter_mut().find(|(a, _)| a == c.area()) {
            Some((_, n)) => *n += 1,
            None => areas.push((c.area().to_owned(), 1)),
        }
    }
    writeln!(out)?;
    for (a, n) in &areas {
        writeln!(out, "{a:<16} {n:>5}")?;
    }
    writeln!(out, "{:<16} {:>5}", "total", cases.len())?;
    out.flush()
}

fn check(dir: Option<PathBuf>) -> i32 {
    let loaded = match &dir {
        Some(d) => case::load_dir(d),
        None => case::builtin(),
    };
    match loaded {
        Ok(cases) => {
            let what = dir
                .map(|d| d.display().to_string())
                .unwrap_or_else(|| "built-in cases".into());
            println!("{what}: {} cases, all valid", cases.len());
            EXIT_OK
        }
        Err(case::CaseError::Many(errors)) => {
            for e in &errors {
                eprintln!("wsspec: error: {e}");
            }
            fail(format!("{} case-file errors", errors.len()))
        }
        Err(e) => fail(e),
    }
}

fn read_results(path: &PathBuf) -> Result<RunResults, i32> {
    let bytes =
        std::fs::read(path).map_err(|e| fail(format!("{}: cannot read: {e}", path.display())))?;
    report::json::parse(&bytes).map_err(|e| {
        fail(format!(
            "{}: not a wsspec results file: {e}",
            path.display()
        ))
    })
}

fn rerender(files: &[PathBuf], out: &std::path::Path, formats: &report::Formats) -> i32 {
    let mut runs = Vec::with_capacity(files.len());
    for f in files {
        match read_results(f) {
            Ok(r) => runs.push(r),
            Err(code) => return code,
        }
    }
    let written = if runs.len() == 1 {
        report::write_reports(out, &runs[0], &formats.0, None)
    } else {
        report::write_comparison(out, &runs)
    };
    match written {
        Ok(files) => {
            for f in files {
                println!("wrote {f}");
            }
            EXIT_OK
        }
        Err(e) => fail(e),
    }
}

fn write_baseline(results: &PathBuf, out: &std::path::Path) -> i32 {
    let r = match read_results(results) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match report::baseline::Baseline::from_results(&r).write(out) {
        Ok(()) => {
            println!("wrote {} ({} cases)", out.display(), r.cases.len());
            EXIT_OK
        }
        Err(e) => fail(e),
    }
}

async fn fuzz(args: FuzzArgs) -> i32 {
    use crate::fuzz::{FuzzConfig, Limit, Phase};
    let tls = match args.tls.client_config() {
        Ok(t) => t,
        Err(code) => return code,
    };
    let mut headers = Vec::new();
    for h in &args.headers {
        match parse_header(h) {
            Ok(kv) => headers.push(kv),
            Err(e) => return fail(e),
        }
    }
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
                    "{spinner} [{bar:30}] {pos}/{len} sequences {per_sec} {msg}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            b
        }
        Limit::Duration(_) => {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {pos} sequences {per_sec} {elapsed} {msg}")
                    .expect("static template"),
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
        jobs: args
            .jobs
            .map(|j| j as usize)
            .unwrap_or_else(run::default_jobs),
        session: SessionConfig {
            step_timeout: Duration::from_millis(args.timeout),
            tls,
            headers,
            ..Default::default()
        },
        save_dir: args.save_cases.clone(),
        max_findings: args.max_findings.map(|m| m as usize),
        progress: Some(progress),
        ..Default::default()
    };
    eprintln!("wsspec fuzz: seed {seed} (the same --seed sends the same sequences)");
    let report = crate::fuzz::fuzz(&args.url, &cfg).await;
    bar.finish_and_clear();
    match report {
        Ok(r) => {
            print!("{}", r.summary());
            if r.findings.is_empty() {
                EXIT_OK
            } else {
                EXIT_FAILED
            }
        }
        Err(e) => fail(e),
    }
}
