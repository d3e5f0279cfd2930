//! `wsspec client`: the command-line front end of client mode (clap arguments and the
//! run itself; the listener and `--exec` live beside this file).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::{fail, load, next_signal, patterns, with_runtime, EXIT_ERROR};
use crate::case::{self, Case};
use crate::client_mode::exec::{run_all, ExecConfig};
use crate::client_mode::{order_cases, ClientConfig, ClientServer};
use crate::report::terminal;
use crate::run::{tls, SessionConfig};

#[derive(Args, Debug)]
pub struct ClientArgs {
    /// Address to listen on for the harness (Autobahn client URL protocol) [default:
    /// 127.0.0.1:9001, or an ephemeral port with --exec].
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Run this client command once per case instead of waiting for a harness; `{url}`
    /// becomes the case's runCase URL, e.g. --exec './client {url}'.
    #[arg(long, value_name = "'CMD {url}'")]
    exec: Option<String>,
    /// Serve wss:// (TLS) on the listener, harness calls and cases alike. Without --cert,
    /// a self-signed certificate is generated and written to OUT/wsspec-cert.pem for the
    /// client under test to trust.
    #[arg(long)]
    tls: bool,
    /// With --tls: the certificate chain to present (PEM, leaf first).
    #[arg(long, value_name = "FILE", requires_all = ["tls", "key"])]
    cert: Option<PathBuf>,
    /// With --tls: the private key of --cert (PEM).
    #[arg(long, value_name = "FILE", requires_all = ["tls", "cert"])]
    key: Option<PathBuf>,
    /// How long one run of the --exec command may take before its process group is killed,
    /// in milliseconds.
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    exec_timeout: u64,
    /// Write reports and exit after the harness's /updateReports (or soon after every case
    /// has run for an agent), with exit code 0, 1 or 2 as in server mode.
    #[arg(long)]
    exit_when_done: bool,
    /// With a harness (--listen): stop, write the reports and exit when nothing has
    /// connected for this many seconds (a harness that died); 0 waits forever.
    #[arg(long = "idle-timeout", value_name = "SECS", default_value_t = 120)]
    idle_timeout: u64,
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
    /// The client's declared message size limit in bytes: smaller messages must be echoed,
    /// larger ones refused with close code 1009, as in server mode. Without it, a 1009 is
    /// informational.
    #[arg(long = "max-message-size", value_name = "BYTES")]
    max_message_size: Option<u64>,
    /// How long the heartbeat cases watch an idle connection for the peer's pings, e.g.
    /// 25s: a peer that pings every 20 s needs more than the short default. Also the wait
    /// for the peer's keep-alive timeout in the opt-in heartbeat.keepalive cases.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = crate::fuzz::parse_duration)]
    idle: Duration,

    /// Output directory for results (one subdirectory per agent when several run).
    #[arg(long, default_value = "wsspec-report")]
    out: PathBuf,
    /// Agent name for --exec runs (harnesses name themselves with agent=...).
    #[arg(long)]
    agent: Option<String>,
    /// Treat the deviations the case files document for this implementation (e.g.
    /// tokio-tungstenite) as known: listed, but not failing the run.
    #[arg(long = "known-deviations", value_name = "IMPLEMENTATION")]
    known_deviations: Option<String>,
    /// List every case in the terminal, not only those that did not pass.
    #[arg(long, short)]
    verbose: bool,
    /// Serve only the cases mapped to Autobahn|Testsuite ids, one per id, numbered as
    /// Autobahn's fuzzing server numbers the same selection: `case=1` is 1.1.1 and, without
    /// --cases, `case=301` is 10.1.1 (add `--cases '*'` for 12.x and 13.x, 517 in all).
    #[arg(long)]
    autobahn: bool,
}

fn select(args: &ClientArgs) -> Result<Vec<Case>, i32> {
    let cases = load(&args.cases_dir)?;
    let inc = patterns(&args.cases)?;
    let exc = patterns(&args.exclude)?;
    let cases: Vec<Case> = case::select(cases, &inc, &exc)
        .into_iter()
        .filter(|c| c.role.applies_to(case::Role::Client))
        .collect();
    let cases = if args.autobahn {
        crate::client_mode::autobahn::in_autobahn_order(cases)
    } else {
        cases
    };
    if cases.is_empty() {
        return Err(fail(
            "no client cases selected: check --cases and --exclude (`wsspec list` shows the ids and roles)",
        ));
    }
    Ok(order_cases(cases))
}

/// Runs `wsspec client`; returns the exit code.
pub(super) fn main(args: ClientArgs) -> i32 {
    let cases = match select(&args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    with_runtime(|| async move { run(args, cases).await })
}

async fn run(args: ClientArgs, cases: Vec<Case>) -> i32 {
    let listen = args.listen.clone().unwrap_or_else(|| {
        if args.exec.is_some() {
            "127.0.0.1:0".into()
        } else {
            "127.0.0.1:9001".into()
        }
    });
    let tls = if args.tls {
        match server_tls(&args, &listen) {
            Ok(t) => Some(t),
            Err(e) => return fail(e),
        }
    } else {
        None
    };
    let cfg = ClientConfig {
        session: SessionConfig {
            step_timeout: Duration::from_millis(args.timeout),
            strict: args.strict,
            peer_max_message: args.max_message_size,
            idle: args.idle,
            ..Default::default()
        },
        include: args.cases.clone(),
        exclude: args.exclude.clone(),
        out: Some(args.out.clone()),
        exit_when_done: args.exit_when_done,
        known_deviations: args.known_deviations.clone(),
        tls,
        ..Default::default()
    };
    let count = cases.len();
    let mut server = match ClientServer::bind(&listen, cases, cfg).await {
        Ok(s) => s,
        Err(e) => return fail(format!("cannot listen on {listen}: {e}")),
    };
    let code = match &args.exec {
        Some(command) => {
            if !command.contains("{url}") {
                return fail("--exec needs {url} in the command, where the case URL goes");
            }
            let agent = args.agent.clone().unwrap_or_else(|| {
                command
                    .split_whitespace()
                    .next()
                    .unwrap_or("client")
                    .rsplit('/')
                    .next()
                    .unwrap_or("client")
                    .to_owned()
            });
            eprintln!(
                "wsspec: client mode on {}, running {count} cases with: {command}",
                server.url()
            );
            let exec = ExecConfig {
                command: command.clone(),
                agent,
                timeout: Duration::from_millis(args.exec_timeout),
            };
            let bar = indicatif::ProgressBar::new(count as u64);
            run_all(&server, &exec, &|_, _| bar.inc(1)).await;
            bar.finish_and_clear();
            server.stop()
        }
        None => {
            eprintln!(
                "wsspec: client mode: {count} cases; point the harness at {} \
                 (/getCaseCount, /runCase?case=N&agent=A, /updateReports?agent=A)",
                server.url()
            );
            let idle_for = server.idle_clock();
            let idle = async move {
                let limit = Duration::from_secs(args.idle_timeout);
                if limit.is_zero() {
                    return std::future::pending().await;
                }
                loop {
                    let idle = idle_for();
                    if idle >= limit {
                        return;
                    }
                    tokio::time::sleep(limit - idle).await;
                }
            };
            tokio::select! {
                code = server.stopped() => code,
                name = next_signal() => {
                    eprintln!("\nwsspec: {name}: writing the reports of what ran");
                    server.stop()
                }
                _ = idle => {
                    eprintln!(
                        "wsspec: nothing connected for {} s (--idle-timeout): writing the reports of what ran",
                        args.idle_timeout
                    );
                    server.stop()
                }
            }
        }
    };
    finish(&server, &args, code)
}

/// The listener's TLS configuration: --cert/--key, or a certificate generated for the
/// loopback names and the listen host, published where the client under test can find it.
fn server_tls(args: &ClientArgs, listen: &str) -> Result<Arc<rustls::ServerConfig>, String> {
    if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
        let chain = tls::load_certs("--cert", cert).map_err(|e| e.to_string())?;
        let key = tls::load_key("--key", key).map_err(|e| e.to_string())?;
        return tls::server_config(chain, key).map_err(|e| format!("--cert/--key: {e}"));
    }
    let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).into();
    let host = listen
        .rsplit_once(':')
        .map(|(h, _)| h.trim_start_matches('[').trim_end_matches(']'))
        .unwrap_or(listen);
    let unspecified = host
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified());
    if !host.is_empty() && !unspecified && !names.iter().any(|n| n == host) {
        names.push(host.to_owned());
    }
    let generated = tls::self_signed(&names).map_err(|e| e.to_string())?;
    let path = args.out.join("wsspec-cert.pem");
    std::fs::create_dir_all(&args.out)
        .and_then(|()| std::fs::write(&path, &generated.cert_pem))
        .map_err(|e| {
            format!(
                "cannot write the generated certificate to {}: {e}",
                path.display()
            )
        })?;
    eprintln!(
        "wsspec: --tls: generated a self-signed certificate for {}; the client under test must trust it \
         (written to {}):\n{}",
        names.join(", "),
        path.display(),
        generated.cert_pem.trim_end()
    );
    tls::server_config(vec![generated.cert], generated.key).map_err(|e| e.to_string())
}

fn finish(server: &ClientServer, args: &ClientArgs, code: i32) -> i32 {
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let agents = server.agents();
    for agent in &agents {
        if let Some(results) = server.results(agent) {
            println!("agent {agent}:");
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
        }
    }
    for e in server.write_errors() {
        eprintln!("wsspec: error: {e}");
    }
    if agents.is_empty() {
        eprintln!("wsspec: error: no client ran any case");
        return EXIT_ERROR;
    }
    let out = &args.out;
    if agents.len() == 1 {
        println!("wrote {}", out.join("results.json").display());
    } else {
        println!("wrote one results.json per agent under {}", out.display());
    }
    code
}
