//! Runs wsspec against real WebSocket implementations on loopback and compares the
//! verdicts with the committed expectations in `peers/expected/`. `peers/run` builds
//! and calls it; `peers/README.md` explains the files.
//!
//! ```text
//! peers_check [--update] [--root DIR] [--out DIR] [--timeout SECS] TARGET...
//! TARGET: python-server python-client node-server node-client tungstenite-server
//!         tungstenite-client hypercorn-server hypercorn-h2-server node-h2-server, or
//!         PEER-ROLE@MODE (MODE: coalesce, bytewise, delay) to run through the
//!         resegmenting proxy, or `all`;
//!         chromium-client (headless Chromium through `wsspec client --browser`) and
//!         aioquic-h3-server (HTTP/3) only when named
//! ```
//!
//! A Rust program rather than shell: it must parse results.json and TOML, bound every
//! process by a time limit, read the port a peer bound, and host the proxy; and it reads
//! results.json with wsspec's own schema types, so a schema change breaks it loudly.
//!
//! Exit status: 0 when every target's verdicts match, 1 when any differ (or a reason is
//! missing or TODO), 2 when a target could not be run at all.

mod proxy;

use proxy::Mode;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use wsspec::case::Grade;
use wsspec::results::RunResults;

/// Which side of the connection the implementation under test plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Server,
    Client,
    /// A browser: started once by `wsspec client --browser --exec`, on the harness page.
    Browser,
}

/// One implementation in one role, and how to start it.
struct Peer {
    /// `python-server`: also the expectation file's name and the agent name.
    name: &'static str,
    role: Role,
    /// Said in the expectation file's header.
    describe: &'static str,
    /// Program and arguments before the port (servers) or `BASE AGENT` (clients); for a
    /// browser, before the page URL, with `{profile}` a fresh profile directory.
    /// `{root}` is the repository, `{cache}` the peers cache.
    command: &'static [&'static str],
    /// Environment variable pointing the interpreter at the installed library.
    env: Option<(&'static str, &'static str)>,
    /// Extra arguments for `wsspec server` (`--http2`: the same server over HTTP/2).
    wsspec_args: &'static [&'static str],
}

const PEERS: &[Peer] = &[
    Peer {
        name: "python-server",
        role: Role::Server,
        describe: "Python websockets (peers/install pins the version) as a server: peers/python/echo_server.py",
        command: &["python3", "{root}/peers/python/echo_server.py"],
        env: Some(("PYTHONPATH", "{cache}/python")),
        wsspec_args: &[],
    },
    Peer {
        name: "python-client",
        role: Role::Client,
        describe: "Python websockets (peers/install pins the version) as a client: peers/python/autobahn_client.py",
        command: &["python3", "{root}/peers/python/autobahn_client.py"],
        env: Some(("PYTHONPATH", "{cache}/python")),
        wsspec_args: &[],
    },
    Peer {
        name: "node-server",
        role: Role::Server,
        describe: "Node ws (peers/install pins the version) as a server: peers/node/echo_server.js",
        command: &["node", "{root}/peers/node/echo_server.js"],
        env: Some(("NODE_PATH", "{cache}/node/node_modules")),
        wsspec_args: &[],
    },
    Peer {
        name: "node-client",
        role: Role::Client,
        describe: "Node ws (peers/install pins the version) as a client: peers/node/autobahn_client.js",
        command: &["node", "{root}/peers/node/autobahn_client.js"],
        env: Some(("NODE_PATH", "{cache}/node/node_modules")),
        wsspec_args: &[],
    },
    Peer {
        name: "tungstenite-server",
        role: Role::Server,
        describe: "tokio-tungstenite (Cargo.lock's version) as a server, no front: examples/tungstenite_echo_server.rs",
        command: &["{root}/target/release/examples/tungstenite_echo_server"],
        env: None,
        wsspec_args: &[],
    },
    Peer {
        name: "tungstenite-client",
        role: Role::Client,
        describe: "tokio-tungstenite (Cargo.lock's version) as a client: examples/tungstenite_autobahn_client.rs",
        command: &["{root}/target/release/examples/tungstenite_autobahn_client"],
        env: None,
        wsspec_args: &[],
    },
    Peer {
        name: "hypercorn-server",
        role: Role::Server,
        describe: "hypercorn (peers/install pins the version) serving an ASGI echo over HTTP/1.1: peers/python/hypercorn_echo.py",
        command: &["python3", "{root}/peers/python/hypercorn_echo.py"],
        env: Some(("PYTHONPATH", "{cache}/hypercorn")),
        wsspec_args: &[],
    },
    Peer {
        name: "hypercorn-h2-server",
        role: Role::Server,
        describe: "hypercorn (peers/install pins the version) serving the same ASGI echo over cleartext HTTP/2 (RFC 8441, h2c prior knowledge): peers/python/hypercorn_echo.py, wsspec server --http2",
        command: &["python3", "{root}/peers/python/hypercorn_echo.py"],
        env: Some(("PYTHONPATH", "{cache}/hypercorn")),
        wsspec_args: &["--http2"],
    },
    Peer {
        name: "node-h2-server",
        role: Role::Server,
        describe: "Node's built-in http2 (the machine's node) with enableConnectProtocol, over cleartext HTTP/2 (RFC 8441, h2c prior knowledge), carrying a minimal RFC 6455 frame echo written for this harness (not a shipped implementation): peers/node/h2_echo_server.js, wsspec server --http2",
        command: &["node", "{root}/peers/node/h2_echo_server.js"],
        env: None,
        wsspec_args: &["--http2"],
    },
    Peer {
        name: "aioquic-h3-server",
        role: Role::Server,
        describe: "aioquic's HTTP/3 (peers/install pins the version) with a WebSocket echo app over RFC 9220 written for this harness the way aioquic's example server does it, wsproto framing the stream: peers/python/aioquic_echo.py, wsspec server --http3 (QUIC on loopback, self-signed certificate made at start, --insecure)",
        command: &["python3", "{root}/peers/python/aioquic_echo.py"],
        env: Some(("PYTHONPATH", "{cache}/aioquic")),
        // Two cases at a time: aioquic is pure Python (about 3 MB/s echoed here), and the
        // default 16 parallel 4-16 MiB echoes would outlast the limits cases' 20 s timeouts.
        wsspec_args: &["--http3", "--insecure", "--jobs", "2"],
    },
    Peer {
        name: "chromium-client",
        role: Role::Browser,
        describe: "headless Chromium (Debian's chromium package; 148 when written) as a client, through wsspec's browser harness page: wsspec client --browser",
        command: &[
            "chromium",
            "--headless",
            "--no-sandbox",
            "--user-data-dir={profile}",
        ],
        env: None,
        wsspec_args: &[],
    },
];

/// Why a target could not be run (as opposed to: it ran and its verdicts differ).
#[derive(Debug)]
enum RunError {
    Spawn(String, std::io::Error),
    /// The peer exited or said nothing usable before it was ready.
    NotReady(String),
    Timeout(String),
    Results(PathBuf, String),
    Expectations(PathBuf, String),
    Usage(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Spawn(what, e) => write!(f, "cannot start {what}: {e}"),
            RunError::NotReady(why) => write!(f, "{why}"),
            RunError::Timeout(what) => write!(f, "{what} did not finish in time"),
            RunError::Results(p, e) => write!(f, "{}: {e}", p.display()),
            RunError::Expectations(p, e) => write!(f, "{}: {e}", p.display()),
            RunError::Usage(e) => write!(f, "{e}"),
        }
    }
}

struct Config {
    root: PathBuf,
    cache: PathBuf,
    out: PathBuf,
    wsspec: PathBuf,
    timeout: Duration,
    update: bool,
    /// `--cases` for wsspec: to look into a few cases (a partial run is never written
    /// over the expectations).
    cases: Option<String>,
}

/// A child process that is killed (with its process group) when dropped, so a failing
/// target never leaves a peer listening behind it.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        #[cfg(unix)]
        unsafe {
            libc::kill(-(self.0.id() as i32), libc::SIGKILL);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(mut cmd: Command, what: &str) -> Result<Guard, RunError> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    cmd.spawn()
        .map(Guard)
        .map_err(|e| RunError::Spawn(what.to_owned(), e))
}

fn wait_for(child: &mut Guard, limit: Duration, what: &str) -> Result<ExitStatus, RunError> {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.0.try_wait() {
            return Ok(status);
        }
        if start.elapsed() > limit {
            return Err(RunError::Timeout(format!("{what} ({} s)", limit.as_secs())));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads lines from `reader` on a thread, copying them to `log`, until one contains
/// `marker`; returns the rest of that line after the marker.
fn await_marker(
    reader: impl Read + Send + 'static,
    log: PathBuf,
    marker: &'static str,
    limit: Duration,
) -> Option<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut log = std::fs::File::create(log).ok();
        let mut tx = Some(tx);
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            if let Some(log) = log.as_mut() {
                use std::io::Write;
                let _ = writeln!(log, "{line}");
            }
            if let Some(at) = line.find(marker) {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(line[at + marker.len()..].to_owned());
                }
            }
        }
    });
    rx.recv_timeout(limit).ok()
}

fn expand(s: &str, cfg: &Config) -> String {
    s.replace("{root}", &cfg.root.to_string_lossy())
        .replace("{cache}", &cfg.cache.to_string_lossy())
}

fn peer_command(peer: &Peer, cfg: &Config) -> Command {
    let mut cmd = Command::new(expand(peer.command[0], cfg));
    cmd.args(peer.command[1..].iter().map(|a| expand(a, cfg)));
    if let Some((k, v)) = peer.env {
        cmd.env(k, expand(v, cfg));
    }
    cmd.stdin(Stdio::null());
    cmd
}

fn wait_accepting(addr: SocketAddr, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Whether wsspec reaches the peer over HTTP/3 (QUIC, always TLS): such targets run only
/// when named, as `aioquic` is an extra install few runs need.
fn over_quic(peer: &Peer) -> bool {
    peer.wsspec_args.contains(&"--http3")
}

/// Runs one target; returns the results wsspec wrote.
fn run(peer: &Peer, mode: Option<Mode>, dir: &Path, cfg: &Config) -> Result<RunResults, RunError> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| RunError::Spawn(dir.display().to_string(), e))?;
    let report = dir.join("report");
    let ready = Duration::from_secs(20);
    let log = |name: &str| -> Result<std::fs::File, RunError> {
        std::fs::File::create(dir.join(name)).map_err(|e| RunError::Spawn(name.to_owned(), e))
    };
    match peer.role {
        Role::Server => {
            let mut cmd = peer_command(peer, cfg);
            cmd.arg("0")
                .stdout(Stdio::piped())
                .stderr(log("peer.stderr")?);
            let mut server = spawn(cmd, peer.name)?;
            let stdout = server.0.stdout.take().expect("piped");
            let port = await_marker(stdout, dir.join("peer.stdout"), "LISTENING ", ready)
                .and_then(|p| p.trim().parse::<u16>().ok())
                .ok_or_else(|| {
                    RunError::NotReady(format!(
                        "{} did not print LISTENING <port> within {} s (see {})",
                        peer.name,
                        ready.as_secs(),
                        dir.join("peer.stderr").display()
                    ))
                })?;
            let mut addr = SocketAddr::from(([127, 0, 0, 1], port));
            // Over HTTP/3 the server listens on UDP: its LISTENING line is the readiness.
            let quic = over_quic(peer);
            if !quic && !wait_accepting(addr, ready) {
                return Err(RunError::NotReady(format!(
                    "{} does not accept on {addr}",
                    peer.name
                )));
            }
            if let Some(mode) = mode {
                addr = proxy::start(mode, addr).map_err(|e| RunError::Spawn("proxy".into(), e))?;
            }
            let mut cmd = Command::new(&cfg.wsspec);
            cmd.arg("server")
                .arg(format!("{}://{addr}/", if quic { "wss" } else { "ws" }))
                .arg("--out")
                .arg(&report)
                .args(["--format", "json", "--agent", peer.name])
                .args(peer.wsspec_args)
                .args(cfg.cases.iter().flat_map(|c| ["--cases", c.as_str()]))
                .args(
                    mode.iter()
                        .flat_map(|_| SEGMENTATION_CASES.iter().flat_map(|c| ["--exclude", c])),
                )
                .args(
                    mode.iter()
                        .filter(|m| matches!(m, proxy::Mode::Delay))
                        .flat_map(|_| DELAY_PACED_CASES.iter().flat_map(|c| ["--exclude", c])),
                )
                .stdin(Stdio::null())
                .stdout(log("wsspec.stdout")?)
                .stderr(log("wsspec.stderr")?);
            let mut wsspec = spawn(cmd, "wsspec server")?;
            wait_for(&mut wsspec, cfg.timeout, "wsspec server")?;
        }
        Role::Client => {
            let mut cmd = Command::new(&cfg.wsspec);
            cmd.args(["client", "--listen", "127.0.0.1:0", "--exit-when-done"])
                .arg("--out")
                .arg(&report)
                .args(cfg.cases.iter().flat_map(|c| ["--cases", c.as_str()]))
                .stdin(Stdio::null())
                .stdout(log("wsspec.stdout")?)
                .stderr(Stdio::piped());
            let mut wsspec = spawn(cmd, "wsspec client")?;
            let stderr = wsspec.0.stderr.take().expect("piped");
            let base = await_marker(
                stderr,
                dir.join("wsspec.stderr"),
                "point the harness at ",
                ready,
            )
            .and_then(|rest| rest.split_whitespace().next().map(str::to_owned))
            .ok_or_else(|| {
                RunError::NotReady("wsspec client did not say where it listens".into())
            })?;
            let mut base = base.trim_end_matches('/').to_owned();
            if let Some(mode) = mode {
                let addr: SocketAddr = base.trim_start_matches("ws://").parse().map_err(|_| {
                    RunError::NotReady(format!("cannot read the address in {base}"))
                })?;
                let via =
                    proxy::start(mode, addr).map_err(|e| RunError::Spawn("proxy".into(), e))?;
                base = format!("ws://{via}");
            }
            let mut cmd = peer_command(peer, cfg);
            cmd.arg(&base)
                .arg(peer.name)
                .stdout(log("peer.stdout")?)
                .stderr(log("peer.stderr")?);
            let mut harness = spawn(cmd, peer.name)?;
            let started = Instant::now();
            wait_for(&mut harness, cfg.timeout, peer.name)?;
            let left = cfg.timeout.saturating_sub(started.elapsed()) + Duration::from_secs(10);
            wait_for(&mut wsspec, left, "wsspec client")?;
        }
        Role::Browser => {
            // Its own profile: a Chromium on a profile in use hands the URL to the running
            // one and exits.
            let profile = dir.join("profile");
            let browser: Vec<String> = peer
                .command
                .iter()
                .map(|a| {
                    let a = expand(a, cfg).replace("{profile}", &profile.to_string_lossy());
                    format!("'{}'", a.replace('\'', r"'\''"))
                })
                .collect();
            let mut cmd = Command::new(&cfg.wsspec);
            cmd.args(["client", "--browser", "--agent", peer.name, "--exec"])
                .arg(format!("{} {{url}}", browser.join(" ")))
                .arg("--out")
                .arg(&report)
                .args(cfg.cases.iter().flat_map(|c| ["--cases", c.as_str()]))
                .stdin(Stdio::null())
                .stdout(log("wsspec.stdout")?)
                .stderr(log("wsspec.stderr")?);
            let mut wsspec = spawn(cmd, "wsspec client --browser")?;
            wait_for(&mut wsspec, cfg.timeout, "wsspec client --browser")?;
        }
    }
    let path = report.join("results.json");
    let bytes = std::fs::read(&path).map_err(|e| RunError::Results(path.clone(), e.to_string()))?;
    wsspec::report::json::parse(&bytes).map_err(|e| RunError::Results(path, e))
}

/// One case that does not pass, as committed.
#[derive(Debug, Clone, Deserialize)]
struct Expected {
    id: String,
    verdict: Grade,
    reason: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedFile {
    #[serde(default)]
    case: Vec<Expected>,
}

fn read_expected(path: &Path) -> Result<Vec<Expected>, RunError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RunError::Expectations(path.into(), e.to_string())),
    };
    let file: ExpectedFile =
        toml::from_str(&text).map_err(|e| RunError::Expectations(path.into(), e.to_string()))?;
    Ok(file.case)
}

/// Why a reason cannot stand: empty, TODO, more than one line, or citing no RFC.
fn reason_problem(reason: &str) -> Option<&'static str> {
    let r = reason.trim();
    if r.is_empty() || r.starts_with("TODO") {
        Some("reason is TODO: say why, citing the RFC sentence")
    } else if r.contains('\n') {
        Some("reason is more than one line")
    } else if !r.contains("RFC") {
        Some("reason cites no RFC sentence")
    } else {
        None
    }
}

/// The differences between the committed expectations and a run, one line each.
/// `partial`: only some cases ran (`--cases`), so listed cases that did not run are fine.
fn compare(expected: &[Expected], outcomes: &[Outcome], partial: bool) -> Vec<String> {
    let got: BTreeMap<&str, (Grade, &str)> = outcomes
        .iter()
        .map(|c| (c.id, (c.verdict, c.why)))
        .collect();
    let listed: BTreeMap<&str, &Expected> = expected.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut diff = Vec::new();
    for e in expected {
        match got.get(e.id.as_str()) {
            None if partial => {}
            None => diff.push(format!(
                "  gone      {}: listed as {}, not run",
                e.id,
                e.verdict.as_str()
            )),
            Some((Grade::Pass, _)) => diff.push(format!(
                "  passing   {}: listed as {}, now passes",
                e.id,
                e.verdict.as_str()
            )),
            Some((v, why)) if *v != e.verdict => diff.push(format!(
                "  changed   {}: listed as {}, now {}: {}",
                e.id,
                e.verdict.as_str(),
                v.as_str(),
                why
            )),
            Some(_) => {}
        }
        if let Some(problem) = reason_problem(&e.reason) {
            diff.push(format!("  reason    {}: {problem}", e.id));
        }
    }
    for c in outcomes {
        if c.verdict != Grade::Pass && !listed.contains_key(c.id) {
            diff.push(format!(
                "  new       {}: {} (not listed, so expected to pass): {}",
                c.id,
                c.verdict.as_str(),
                c.why
            ));
        }
    }
    diff
}

/// What the comparison needs of one case result.
struct Outcome<'a> {
    id: &'a str,
    verdict: Grade,
    /// The first of wsspec's reasons (empty on pass).
    why: &'a str,
}

fn outcomes(results: &RunResults) -> Vec<Outcome<'_>> {
    results
        .cases
        .iter()
        .map(|c| Outcome {
            id: &c.id,
            verdict: c.verdict,
            why: c.reasons.first().map(String::as_str).unwrap_or(""),
        })
        .collect()
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The expectations a run gives: every case that does not pass, in run order, keeping
/// the committed reason when the verdict is unchanged; a new or changed entry gets a
/// reason starting with TODO, which fails the check until someone writes one. Returns
/// the file's text and the number of TODO reasons.
fn render_expected(header: &str, old: &[Expected], outcomes: &[Outcome]) -> (String, usize) {
    let old: BTreeMap<&str, &Expected> = old.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut out = header.to_owned();
    let mut todo = 0;
    for c in outcomes.iter().filter(|c| c.verdict != Grade::Pass) {
        let reason = match old.get(c.id) {
            Some(e) if e.verdict == c.verdict => e.reason.clone(),
            Some(e) => {
                todo += 1;
                format!("TODO (was {}: {})", e.verdict.as_str(), e.reason)
            }
            None => {
                todo += 1;
                format!("TODO ({})", c.why)
            }
        };
        out.push_str(&format!(
            "\n[[case]]\nid = {}\nverdict = {}\nreason = {}\n",
            toml_string(c.id),
            toml_string(c.verdict.as_str()),
            toml_string(&reason)
        ));
    }
    (out, todo)
}

/// The comment at the top of an expectation file: what it describes, how to check and
/// rewrite it, and the run's totals (the figure to quote, kept beside the verdicts).
fn header(peer: &Peer, results: &RunResults) -> String {
    format!(
        "# Expected verdicts of {}.\n\
         # Every case not listed here must pass. Each entry's reason is one line citing the RFC\n\
         # sentence; \"FALSE ALARM: ...\" marks a verdict believed to be wsspec's error.\n\
         # Check: peers/run {name}   Rewrite from a run: peers/run --update {name}\n\
         # Last written by wsspec {}: {}.\n",
        peer.describe,
        results.wsspec_version,
        totals_line(results),
        name = peer.name,
    )
}

fn totals_line(r: &RunResults) -> String {
    let t = &r.totals;
    format!(
        "{} cases: {} pass, {} non-strict, {} informational, {} unimplemented, {} fail",
        r.cases.len(),
        t.pass,
        t.non_strict,
        t.informational,
        t.unimplemented,
        t.fail
    )
}

/// Checks (or with --update rewrites) one target; Ok(true) when it matches.
fn target(name: &str, cfg: &Config) -> Result<bool, RunError> {
    let (peer_name, mode) = match name.split_once('@') {
        Some((p, m)) => (
            p,
            Some(
                Mode::parse(m)
                    .ok_or_else(|| RunError::Usage(format!("unknown proxy mode {m:?}")))?,
            ),
        ),
        None => (name, None),
    };
    let peer = PEERS
        .iter()
        .find(|p| p.name == peer_name)
        .ok_or_else(|| RunError::Usage(format!("unknown peer {peer_name:?}")))?;
    if mode.is_some() && peer.role == Role::Browser {
        return Err(RunError::Usage(format!(
            "{peer_name} runs through wsspec's --browser page; it has no proxy modes"
        )));
    }
    let dir = cfg.out.join(name.replace('@', "-via-"));
    let started = Instant::now();
    let results = run(peer, mode, &dir, cfg)?;
    let secs = started.elapsed().as_secs_f64();
    println!("{name}: {} in {secs:.1} s", totals_line(&results));
    let path = cfg
        .root
        .join("peers/expected")
        .join(format!("{}.toml", peer.name));
    let expected = read_expected(&path)?;
    if cfg.update && cfg.cases.is_some() {
        return Err(RunError::Usage(
            "--update needs the whole suite, not --cases".into(),
        ));
    }
    if cfg.update && mode.is_none() {
        let (text, todo) = render_expected(&header(peer, &results), &expected, &outcomes(&results));
        std::fs::write(&path, text)
            .map_err(|e| RunError::Expectations(path.clone(), e.to_string()))?;
        println!("{name}: wrote {} ({todo} reasons TODO)", path.display());
        return Ok(todo == 0);
    }
    // Through the proxy the same expectations hold: resegmenting must change nothing (but
    // for the cases about segmentation itself, which the proxy runs leave out).
    let diff = compare(
        &expected,
        &outcomes(&results),
        cfg.cases.is_some() || mode.is_some(),
    );
    if diff.is_empty() {
        println!("{name}: verdicts match {}", path.display());
        return Ok(true);
    }
    println!(
        "{name}: {} difference(s) from {} (reports in {}):",
        diff.len(),
        path.display(),
        dir.display()
    );
    for line in diff {
        println!("{line}");
    }
    Ok(false)
}

/// Cases whose subject is how bytes share a TCP write (a frame written together with the
/// request): a resegmenting proxy changes what they test, so proxy runs leave them out.
/// close.after-large-message (Autobahn 7.1.6) sends a ping after its close frame: a server
/// that closes its socket with that ping unread resets TCP, and a reset discards what the
/// proxy had not yet read of the server's answer (the echo and the close reply), so
/// through the `delay` proxy the verdict would measure the proxy's pace, not the server.
const SEGMENTATION_CASES: &[&str] = &[
    "handshake.frames-in-same-write",
    "close.after-large-message",
];

/// Cases whose verdict through the `delay` proxy measures the proxy's pace: it forwards
/// each read in random pieces with a 1-4 ms sleep before each, about 1 MiB/s, so a 16 MiB
/// message and its echo take about 30 s on the wire, past the case's 20 s wait for the
/// echo when other cases share the machine (measured: 28.6 s alone, a timeout in a full
/// run). The same cases run unpaced in the target's own run and through `coalesce` and
/// `bytewise`.
const DELAY_PACED_CASES: &[&str] = &["limits.*.size.16m"];

fn usage() -> ! {
    eprintln!(
        "usage: peers_check [--update] [--root DIR] [--out DIR] [--timeout SECS] [--cases PATTERN] TARGET...\n\
         TARGET: {} | PEER-ROLE@coalesce|bytewise|delay | all",
        PEERS.iter().map(|p| p.name).collect::<Vec<_>>().join(" | ")
    );
    std::process::exit(2);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut cfg = Config {
        root: PathBuf::from("."),
        cache: std::env::var_os("WSSPEC_PEERS_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                    .join(".cache/wsspec-peers")
            }),
        out: PathBuf::new(),
        wsspec: PathBuf::new(),
        timeout: Duration::from_secs(180),
        update: false,
        cases: None,
    };
    let mut out = None;
    let mut targets = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--update" => cfg.update = true,
            "--root" => cfg.root = args.next().map(PathBuf::from).unwrap_or_else(|| usage()),
            "--out" => out = Some(args.next().map(PathBuf::from).unwrap_or_else(|| usage())),
            "--cases" => cfg.cases = Some(args.next().unwrap_or_else(|| usage())),
            "--timeout" => {
                let secs = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| usage());
                cfg.timeout = Duration::from_secs(secs);
            }
            "all" => targets.extend(
                PEERS
                    .iter()
                    .filter(|p| p.role != Role::Browser && !over_quic(p))
                    .map(|p| p.name.to_owned()),
            ),
            t if !t.starts_with('-') => targets.push(t.to_owned()),
            _ => usage(),
        }
    }
    if targets.is_empty() {
        usage();
    }
    cfg.root = std::fs::canonicalize(&cfg.root).unwrap_or(cfg.root);
    cfg.out = out.unwrap_or_else(|| cfg.root.join("target/peers"));
    cfg.wsspec = cfg.root.join("target/release/wsspec");
    let mut failed = Vec::new();
    let mut broken = false;
    for t in &targets {
        match target(t, &cfg) {
            Ok(true) => {}
            Ok(false) => failed.push(t.clone()),
            Err(e) => {
                println!("{t}: could not run: {e}");
                failed.push(t.clone());
                broken = true;
            }
        }
    }
    if failed.is_empty() {
        println!("peers: {} target(s), verdicts as expected", targets.len());
    } else {
        println!(
            "peers: {} of {} target(s) differ: {}",
            failed.len(),
            targets.len(),
            failed.join(" ")
        );
        std::process::exit(if broken { 2 } else { 1 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected(id: &str, verdict: Grade, reason: &str) -> Expected {
        Expected {
            id: id.into(),
            verdict,
            reason: reason.into(),
        }
    }

    fn outcome(id: &'static str, verdict: Grade) -> Outcome<'static> {
        Outcome {
            id,
            verdict,
            why: "[x] observed something",
        }
    }

    const OK: &str = "RFC 6455 §5.2: a reason";

    #[test]
    fn compare_names_every_kind_of_difference() {
        let listed = [
            expected("same", Grade::Fail, OK),
            expected("changed", Grade::NonStrict, OK),
            expected("fixed", Grade::Fail, OK),
            expected("gone", Grade::Fail, OK),
            expected("todo", Grade::Fail, "TODO"),
        ];
        let got = [
            outcome("same", Grade::Fail),
            outcome("changed", Grade::Fail),
            outcome("fixed", Grade::Pass),
            outcome("todo", Grade::Fail),
            outcome("new", Grade::Informational),
            outcome("passes", Grade::Pass),
        ];
        let diff = compare(&listed, &got, false);
        let kinds: Vec<(&str, &str)> = diff
            .iter()
            .map(|l| {
                let mut w = l.split_whitespace();
                (w.next().unwrap(), w.next().unwrap().trim_end_matches(':'))
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("changed", "changed"),
                ("passing", "fixed"),
                ("gone", "gone"),
                ("reason", "todo"),
                ("new", "new"),
            ]
        );
        // A partial run (--cases) does not report the cases it did not select.
        let partial = compare(&listed, &got, true);
        assert!(partial.iter().all(|l| !l.contains("gone")), "{partial:?}");
        assert_eq!(partial.len(), 4);
    }

    #[test]
    fn a_matching_run_has_no_differences() {
        let listed = [expected("a", Grade::Fail, OK)];
        let got = [outcome("a", Grade::Fail), outcome("b", Grade::Pass)];
        assert!(compare(&listed, &got, false).is_empty());
    }

    #[test]
    fn reasons_must_be_one_line_citing_an_rfc() {
        assert!(reason_problem(OK).is_none());
        assert!(reason_problem("FALSE ALARM: RFC 6455 §8.1 ...").is_none());
        for bad in [
            "",
            "  ",
            "TODO",
            "TODO (was fail: RFC 6455)",
            "no citation",
            "RFC 6455\nsecond line",
        ] {
            assert!(reason_problem(bad).is_some(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn update_keeps_reasons_of_unchanged_verdicts_and_marks_the_rest_todo() {
        let old = [
            expected("kept", Grade::Fail, "RFC 6455 §4.2.1: \"quoted\" and §"),
            expected("changed", Grade::Fail, OK),
            expected("fixed", Grade::Fail, OK),
        ];
        let got = [
            outcome("kept", Grade::Fail),
            outcome("changed", Grade::NonStrict),
            outcome("fixed", Grade::Pass),
            outcome("new", Grade::Unimplemented),
        ];
        let (text, todo) = render_expected("# header\n", &old, &got);
        assert_eq!(todo, 2);
        assert!(text.starts_with("# header\n"));
        let file: ExpectedFile = toml::from_str(&text).unwrap();
        let entries: Vec<(&str, Grade, &str)> = file
            .case
            .iter()
            .map(|e| (e.id.as_str(), e.verdict, e.reason.as_str()))
            .collect();
        assert_eq!(
            entries,
            [
                ("kept", Grade::Fail, "RFC 6455 §4.2.1: \"quoted\" and §"),
                (
                    "changed",
                    Grade::NonStrict,
                    "TODO (was fail: RFC 6455 §5.2: a reason)"
                ),
                ("new", Grade::Unimplemented, "TODO ([x] observed something)"),
            ]
        );
        // Rewritten, the file checks clean against the same run except for its TODOs.
        let diff = compare(&file.case, &got, false);
        assert_eq!(diff.len(), 2, "{diff:?}");
        assert!(diff.iter().all(|l| l.trim_start().starts_with("reason")));
    }
}
