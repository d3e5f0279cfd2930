//! The command line: parsing arguments and turning outcomes into exit codes. No protocol
//! knowledge lives here.

//!
//! One file per subcommand; `mod.rs` holds what several share (the run and TLS arguments,
//! the exit codes, loading and selecting cases). Nothing in the library imports this
//! module: it is the one place that reaches everything.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

mod baseline;
mod check;
mod client;
mod demo;
mod error;
mod fuzz;
mod list;
mod report;
mod server;
mod signals;

use crate::case::{Case, IdPattern};
use crate::report::Formats;
use crate::run::{self, SessionConfig};

use crate::results::{EXIT_ERROR, EXIT_OK};
use error::{CliError, CliResult};
use signals::next_signal;

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
        /// Wait up to this long (e.g. 30s) for the server to accept TCP connections before
        /// the run, so `my-server & wsspec server --wait 30s URL` needs no sleep; on
        /// expiry, one line and exit code 2.
        #[arg(long, value_name = "DURATION", value_parser = crate::fuzz::parse_duration)]
        wait: Option<Duration>,
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        tls: TlsArgs,
        /// Reach the server over HTTP/2 (RFC 8441 extended CONNECT): TLS with ALPN h2 for
        /// wss://, prior-knowledge cleartext h2c for ws://. One HTTP/2 connection per case;
        /// the HTTP/1.1 handshake cases do not apply and the h2.* cases run instead.
        #[arg(long)]
        http2: bool,
        /// With --http2: run cases as concurrent streams of shared HTTP/2 connections, up
        /// to N streams per connection (as a browser multiplexes WebSockets), instead of
        /// one connection per case. A server that tears the whole connection down for one
        /// stream's error then fails the cases sharing it.
        #[arg(long, value_name = "N", requires = "http2", value_parser = clap::value_parser!(u16).range(1..))]
        http2_streams: Option<u16>,
        /// Reach the server over HTTP/3 (RFC 9220 extended CONNECT over QUIC, ALPN h3): the
        /// URL is wss:// (QUIC is always encrypted; --ca and --insecure apply), the port a
        /// UDP port. One QUIC connection per case; as with --http2 the HTTP/1.1 handshake
        /// cases do not apply and the h2.* bootstrapping cases run instead.
        #[arg(long, conflicts_with = "http2")]
        http3: bool,
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
        format: Formats,
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
        args: client::ClientArgs,
    },
    /// Fuzz a WebSocket server: generated frame sequences judged against RFC 6455, with
    /// findings shrunk and saved as case files.
    Fuzz(fuzz::FuzzArgs),
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
    fn client_config(&self) -> Result<Option<Arc<rustls::ClientConfig>>, CliError> {
        let trust = if self.insecure {
            eprintln!("wsspec: warning: --insecure: the server's certificate is not verified");
            run::tls::Trust::AnyCertificate
        } else if let Some(path) = &self.ca {
            run::tls::ca_trust(path)?
        } else {
            return Ok(None);
        };
        Ok(Some(run::tls::client_config(&trust)))
    }

    /// Whom the run trusts, as reports say it.
    fn trust(&self) -> crate::results::TlsTrust {
        if self.insecure {
            crate::results::TlsTrust::Insecure
        } else if self.ca.is_some() {
            crate::results::TlsTrust::CaFile
        } else {
            crate::results::TlsTrust::PublicRoots
        }
    }
}

/// What `server`, `demo` and `client` share: which cases run, how long a step may take and
/// how verdicts count.
#[derive(Args, Debug)]
struct CaseArgs {
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
    /// Count non-strict results (SHOULD-level misses) as failures.
    #[arg(long)]
    strict: bool,
    /// The peer's declared message size limit in bytes: smaller messages must be echoed,
    /// larger ones refused with close code 1009. Without it, a 1009 is informational.
    #[arg(long = "max-message-size", value_name = "BYTES")]
    max_message_size: Option<u64>,
    /// Treat the deviations the case files document for this implementation (e.g.
    /// `tokio-tungstenite`) as known: reported, but not failing the run. `demo` sets it.
    #[arg(long = "known-deviations", value_name = "IMPLEMENTATION")]
    known_deviations: Option<String>,
    /// List every case in the terminal, not only those that did not pass.
    #[arg(long, short)]
    verbose: bool,
    /// How long the heartbeat cases watch an idle connection for the peer's pings, e.g.
    /// 25s: a peer that pings every 20 s needs more than the short default. Also the wait
    /// for the peer's keep-alive timeout in the opt-in heartbeat.keepalive cases.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = crate::fuzz::parse_duration)]
    idle: Duration,
}

impl CaseArgs {
    /// The loaded cases (built-in and `--cases-dir`) that `--cases` and `--exclude` select
    /// for a peer in `role`, with what checks beyond the selection need to know.
    fn select(&self, role: crate::case::Role) -> Result<Selection, CliError> {
        let all = load(&self.cases_dir)?;
        let inc = patterns(&self.cases)?;
        let exc = patterns(&self.exclude)?;
        let ids = all.iter().map(|c| c.id.clone()).collect();
        let mut deviations: Vec<String> = all
            .iter()
            .flat_map(|c| c.deviations.iter().map(|(a, _)| a.clone()))
            .collect();
        deviations.sort_unstable();
        deviations.dedup();
        let cases = crate::case::select(all, &inc, &exc)
            .into_iter()
            .filter(|c| c.role.applies_to(role))
            .collect();
        Ok(Selection {
            cases,
            ids,
            deviations,
        })
    }

    /// `--known-deviations` names an implementation some loaded case documents a
    /// deviation of: found before the run, not after it, so an hour of cases is not lost
    /// to a typo.
    fn check_known_deviations(&self, selection: &Selection) -> Result<(), CliError> {
        let Some(agent) = &self.known_deviations else {
            return Ok(());
        };
        if selection.deviations.contains(agent) {
            return Ok(());
        }
        let known = if selection.deviations.is_empty() {
            "none".to_owned()
        } else {
            selection.deviations.join(", ")
        };
        Err(CliError::Usage(format!(
            "--known-deviations {agent:?}: no case documents a deviation of that implementation (known: {known})"
        )))
    }

    /// A session with these arguments' step timeout and grading, and the connection's
    /// TLS trust and extra headers.
    fn session(
        &self,
        tls: Option<Arc<rustls::ClientConfig>>,
        headers: Vec<(String, String)>,
    ) -> SessionConfig {
        SessionConfig {
            strict: self.strict,
            peer_max_message: self.max_message_size,
            idle: self.idle,
            ..session(self.timeout, tls, headers)
        }
    }
}

/// The selected cases, and of every case loaded what checks beyond the selection need.
struct Selection {
    cases: Vec<Case>,
    /// Every loaded case id, selected or not: a baseline may name any of them.
    ids: Vec<String>,
    /// Every implementation some loaded case documents a deviation of, sorted.
    deviations: Vec<String>,
}

/// The session settings `server`, `demo` and `fuzz` share; the rest keep their defaults.
fn session(
    timeout_ms: u64,
    tls: Option<Arc<rustls::ClientConfig>>,
    headers: Vec<(String, String)>,
) -> SessionConfig {
    SessionConfig {
        step_timeout: Duration::from_millis(timeout_ms),
        tls,
        headers,
        ..Default::default()
    }
}

/// Colour only on a terminal and without `NO_COLOR`; every case with `--verbose`.
fn terminal_style(verbose: bool) -> crate::report::terminal::Style {
    use std::io::IsTerminal;
    crate::report::terminal::Style {
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        verbose,
    }
}

/// `--jobs`, or the default for this machine.
fn jobs(arg: Option<u64>) -> usize {
    arg.map(|j| j as usize).unwrap_or_else(run::default_jobs)
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    select: CaseArgs,
    /// Cases run at once (default: 8 per core, 8 to 64).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    /// Add a header to every handshake, e.g. 'Authorization: Bearer x'; repeatable.
    #[arg(long = "header", value_name = "'K: V'")]
    headers: Vec<String>,
    /// Output directory for results.
    #[arg(long, default_value = "wsspec-report")]
    out: PathBuf,
    /// Reports to write, comma-separated: html, json, junit, md, autobahn (Autobahn's
    /// index.json), or all.
    #[arg(long, default_value = "html,json,junit,md")]
    format: Formats,
    /// Known results (from `wsspec baseline`): only regressions and failures of cases the
    /// baseline does not know fail the run; fixes and known failures are listed apart.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Name of the implementation under test, used in reports.
    #[arg(long)]
    agent: Option<String>,
    /// Stop the whole run after this long, e.g. 90s or 10m: the cases not run are listed,
    /// reports are written marked incomplete, and the exit code is 2.
    #[arg(long = "max-time", value_parser = crate::fuzz::parse_duration)]
    max_time: Option<Duration>,
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
    error::report(match cli.command {
        Command::List {
            pattern,
            cases_dir,
            autobahn,
        } => list::list(pattern, &cases_dir, autobahn),
        Command::Check { dir } => check::check(dir),
        Command::Report {
            results,
            out,
            format,
        } => report::rerender(&results, &out, &format),
        Command::Baseline { results, out } => baseline::write_baseline(&results, &out),
        Command::Client { args } => client::main(args),
        Command::Fuzz(args) => with_runtime(|| async move { fuzz::fuzz(args).await }),
        Command::Server {
            url,
            wait,
            run,
            tls,
            http2,
            http2_streams,
            http3,
        } => server::main(
            url,
            wait,
            run,
            tls,
            if http2 {
                run::transport::Transport::Http2
            } else if http3 {
                run::transport::Transport::Http3
            } else {
                run::transport::Transport::Http1
            },
            http2_streams,
        ),
        Command::Demo { run, tls } => demo::main(run, tls),
    })
}

fn with_runtime<F, Fut>(f: F) -> CliResult
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = CliResult>,
{
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?
        .block_on(f())
}

fn load(extra: &[PathBuf]) -> Result<Vec<Case>, CliError> {
    Ok(crate::Suite::builtin_and(extra)?.cases().to_vec())
}

fn patterns(list: &[String]) -> Result<Vec<IdPattern>, CliError> {
    Ok(list
        .iter()
        .map(|p| IdPattern::parse(p))
        .collect::<Result<_, _>>()?)
}

/// `--header` values as name and value.
fn headers(list: &[String]) -> Result<Vec<(String, String)>, CliError> {
    list.iter()
        .map(|h| parse_header(h).map_err(CliError::Usage))
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
