//! `wsspec client`: the command-line front end of client mode (clap arguments and the
//! run itself; the listener and `--exec` live beside this file).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::error::{CliError, CliResult, Outcome};
use super::{next_signal, terminal_style, with_runtime, CaseArgs};
use crate::case::{self, Case};
use crate::client_mode::browser;
use crate::client_mode::exec::{run_all, ExecConfig};
use crate::client_mode::{order_cases, ClientConfig, ClientServer};
use crate::report::terminal;
use crate::results::{EXIT_FAILED, EXIT_OK};
use crate::run::tls;

#[derive(Args, Debug)]
pub(super) struct ClientArgs {
    /// Address to listen on for the harness (Autobahn client URL protocol) [default:
    /// 127.0.0.1:9001, or an ephemeral port with --exec].
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Run this client command once per case instead of waiting for a harness; `{url}`
    /// becomes the case's runCase URL (also in $WSSPEC_URL), e.g. --exec './client {url}'.
    /// With --browser, the command runs once, given the harness page's URL.
    #[arg(long, value_name = "'CMD {url}'")]
    exec: Option<String>,
    /// Test a browser's WebSocket: serve the harness page at / and exit once it has run
    /// every case. Open the printed URL in the browser, or start it with --exec, e.g.
    /// --exec 'chromium --headless --no-sandbox --user-data-dir="$(mktemp -d)" {url}'
    /// (the browser is killed when the run is over).
    #[arg(long)]
    browser: bool,
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
    #[command(flatten)]
    select: CaseArgs,
    /// Output directory for results (one subdirectory per agent when several run).
    #[arg(long, default_value = "wsspec-report")]
    out: PathBuf,
    /// Agent name for --exec runs (harnesses name themselves with agent=...).
    #[arg(long)]
    agent: Option<String>,
    /// Serve only the cases mapped to Autobahn|Testsuite ids, one per id, numbered as
    /// Autobahn's fuzzing server numbers the same selection: `case=1` is 1.1.1 and, without
    /// --cases, `case=301` is 10.1.1 (add `--cases '*'` for 12.x and 13.x, 517 in all).
    #[arg(long)]
    autobahn: bool,
}

fn select(args: &ClientArgs) -> Result<Vec<Case>, CliError> {
    let cases = args.select.select(case::Role::Client)?.cases;
    let cases = if args.autobahn {
        crate::client_mode::autobahn::in_autobahn_order(cases)
    } else {
        cases
    };
    if cases.is_empty() {
        return Err(CliError::NoClientCases);
    }
    Ok(order_cases(cases))
}

/// Runs `wsspec client`.
pub(super) fn main(args: ClientArgs) -> CliResult {
    let cases = select(&args)?;
    with_runtime(|| async move { run(args, cases).await })
}

async fn run(args: ClientArgs, cases: Vec<Case>) -> CliResult {
    let listen = args.listen.clone().unwrap_or_else(|| {
        if args.exec.is_some() {
            "127.0.0.1:0".into()
        } else {
            "127.0.0.1:9001".into()
        }
    });
    let tls = if args.tls {
        Some(server_tls(&args, &listen)?)
    } else {
        None
    };
    let cfg = ClientConfig {
        session: args.select.session(None, Vec::new()),
        include: args.select.cases.clone(),
        exclude: args.select.exclude.clone(),
        out: Some(args.out.clone()),
        // A browser's page runs one agent through every case then asks for its reports.
        exit_when_done: args.exit_when_done || args.browser,
        known_deviations: args.select.known_deviations.clone(),
        tls_leaf: tls.as_ref().and_then(|t| t.leaf.clone()),
        tls_generated: tls.as_ref().is_some_and(|t| t.generated),
        tls: tls.map(|t| t.config),
        ..Default::default()
    };
    let count = cases.len();
    let mut server = ClientServer::bind(&listen, cases, cfg)
        .await
        .map_err(|source| CliError::Listen {
            addr: listen.clone(),
            source,
        })?;
    let code = match &args.exec {
        Some(command) => {
            // Without {url} the command reads $WSSPEC_URL.
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
            if args.browser {
                eprintln!(
                    "wsspec: client mode on {}, {count} cases: starting the browser on {} with: {command}",
                    server.url(),
                    browser::page_url(&server.http_url(), &agent)
                );
            } else {
                eprintln!(
                    "wsspec: client mode on {}, running {count} cases with: {command}",
                    server.url()
                );
            }
            let exec = ExecConfig {
                command: command.clone(),
                agent,
                timeout: Duration::from_millis(args.exec_timeout),
            };
            if args.browser {
                run_browser(&mut server, &exec).await
            } else {
                let bar = indicatif::ProgressBar::new(count as u64);
                run_all(&server, &exec, &|_, _| bar.inc(1)).await;
                bar.finish_and_clear();
                server.stop()
            }
        }
        None => {
            if args.browser {
                eprintln!(
                    "wsspec: client mode on {}, {count} cases: open {}/ in the browser under test",
                    server.url(),
                    server.http_url()
                );
            } else {
                eprintln!(
                    "wsspec: client mode: {count} cases; point the harness at {} \
                     (/getCaseCount, /runCase?case=N&agent=A, /updateReports?agent=A; \
                     a browser: open {}/)",
                    server.url(),
                    server.http_url()
                );
            }
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

/// One browser started on the harness page; the run ends when the page has run every
/// case, and the browser with it.
async fn run_browser(server: &mut ClientServer, exec: &ExecConfig) -> i32 {
    match browser::run(server, exec).await {
        browser::BrowserEnd::Done => {}
        browser::BrowserEnd::Idle(quiet) => eprintln!(
            "wsspec: the browser made no connection for {} ms (--exec-timeout): \
             writing the reports of what ran",
            quiet.as_millis()
        ),
        // A browser that exits by itself right after the page's last call: the run is
        // over within the listener's grace period.
        browser::BrowserEnd::Exited(_)
            if tokio::time::timeout(Duration::from_secs(3), server.stopped())
                .await
                .is_ok() => {}
        browser::BrowserEnd::Exited(outcome) => match outcome {
            Ok(o) => {
                eprintln!(
                    "wsspec: the browser ended before the run was over: {}",
                    o.describe()
                );
                if !o.stderr_tail.trim().is_empty() {
                    eprintln!(
                        "wsspec: browser stderr (tail):\n{}",
                        o.stderr_tail.trim_end()
                    );
                }
            }
            Err(e) => eprintln!("wsspec: the browser command could not start: {e}"),
        },
    }
    server.stop()
}

/// What the listener serves over TLS, and what the reports say of it.
struct ServedTls {
    config: Arc<rustls::ServerConfig>,
    /// The leaf certificate (DER).
    leaf: Option<Vec<u8>>,
    generated: bool,
}

/// The listener's TLS configuration: --cert/--key, or a certificate generated for the
/// loopback names and the listen host, published where the client under test can find it.
fn server_tls(args: &ClientArgs, listen: &str) -> Result<ServedTls, CliError> {
    if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
        let chain = tls::load_certs("--cert", cert)?;
        let key = tls::load_key("--key", key)?;
        let leaf = chain.first().map(|c| c.to_vec());
        let config = tls::server_config(chain, key)
            .map_err(|e| CliError::Usage(format!("--cert/--key: {e}")))?;
        return Ok(ServedTls {
            config,
            leaf,
            generated: false,
        });
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
    let generated = tls::self_signed(&names)?;
    let path = args.out.join("wsspec-cert.pem");
    std::fs::create_dir_all(&args.out)
        .and_then(|()| std::fs::write(&path, &generated.cert_pem))
        .map_err(|e| {
            CliError::Usage(format!(
                "cannot write the generated certificate to {}: {e}",
                path.display()
            ))
        })?;
    eprintln!(
        "wsspec: --tls: generated a self-signed certificate for {}; the client under test must trust it \
         (written to {}):\n{}",
        names.join(", "),
        path.display(),
        generated.cert_pem.trim_end()
    );
    let leaf = Some(generated.cert.to_vec());
    let config = tls::server_config(vec![generated.cert], generated.key)?;
    Ok(ServedTls {
        config,
        leaf,
        generated: true,
    })
}

/// Prints each agent's summary and the write errors; the listener's exit code becomes the
/// command's end.
fn finish(server: &ClientServer, args: &ClientArgs, code: i32) -> CliResult {
    let style = terminal_style(args.select.verbose);
    let agents = server.agents();
    for agent in &agents {
        if let Some(results) = server.results(agent) {
            println!("agent {agent}:");
            print!("{}", terminal::render(&results, &style));
        }
    }
    for e in server.write_errors() {
        eprintln!("wsspec: error: {e}");
    }
    if agents.is_empty() {
        return Err(CliError::NoClientRan);
    }
    let out = &args.out;
    if agents.len() == 1 {
        println!("wrote {}", out.join("results.json").display());
    } else {
        println!("wrote one results.json per agent under {}", out.display());
    }
    match code {
        EXIT_OK => Ok(Outcome::Passed),
        EXIT_FAILED => Ok(Outcome::Failed),
        _ => Err(CliError::ClientRunIncomplete),
    }
}
