//! `wsspec client` as a CI job runs it: the binary, a harness, reports and exit codes;
//! and `--exec` with a real client command. Everything on 127.0.0.1, bounded in time.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_wsspec");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wsspec-client-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Starts `wsspec client --listen 127.0.0.1:0 ARGS` and reads the harness URL it prints.
fn listen(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["client", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    // Keep draining stderr so the child never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    (child, url)
}

fn wait(mut child: Child, limit: Duration) -> (i32, String) {
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            let _ = std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out);
            return (status.code().unwrap_or(-1), out);
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            panic!("wsspec did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The Autobahn harness loop with tokio-tungstenite (echo every message).
async fn harness(base: &str, agent: &str, update: &str) {
    let (mut ws, _) = connect_async(format!("{base}/getCaseCount")).await.unwrap();
    let Some(Ok(Message::Text(t))) = ws.next().await else {
        panic!("no case count")
    };
    let count: usize = t.parse().unwrap();
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        let Ok((mut ws, _)) = connect_async(url).await else {
            continue;
        };
        while let Some(Ok(m)) = ws.next().await {
            if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
                break;
            }
        }
    }
    if let Ok((mut ws, _)) =
        connect_async(format!("{base}/updateReports?agent={agent}{update}")).await
    {
        let _ = ws.close(None).await;
    }
}

fn results(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("results.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_exit_when_done_passes_with_0() {
    let out = tmp("pass");
    let (child, url) = listen(&[
        "--cases",
        "handshake.client.request,handshake.client.response.extension",
        "--known-deviations",
        "tokio-tungstenite",
        "--exit-when-done",
        "--timeout",
        "500",
        "--out",
        out.to_str().unwrap(),
    ]);
    harness(&url, "tungstenite", "").await;
    let (code, stdout) = wait(child, Duration::from_secs(20));
    assert_eq!(code, 0, "{stdout}");
    let r = results(&out);
    assert_eq!(r["peer_role"], "client");
    assert_eq!(r["agent"], "tungstenite");
    assert_eq!(r["totals"]["pass"], 8);
    // tungstenite's documented deviation is listed but does not fail the run.
    assert_eq!(r["totals"]["fail"], 1);
    let dev = r["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "handshake.client.response.extension.unrequested")
        .unwrap();
    assert!(dev["deviation"].as_str().unwrap().contains("tungstenite"));
    assert!(stdout.contains("agent tungstenite"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_on_complete_exits_1_on_failures() {
    let out = tmp("fail");
    let (child, url) = listen(&[
        "--cases",
        "handshake.client.response.extension,handshake.client.response.accepted",
        "--timeout",
        "500",
        "--out",
        out.to_str().unwrap(),
    ]);
    harness(&url, "tungstenite", "&shutdownOnComplete=true").await;
    let (code, _) = wait(child, Duration::from_secs(20));
    assert_eq!(code, 1);
    let r = results(&out);
    assert_eq!(r["totals"]["fail"], 1);
    assert_eq!(r["totals"]["pass"], 1);
}

#[test]
fn no_cases_selected_is_a_usage_error() {
    let out = Command::new(BIN)
        .args(["client", "--cases", "no.such.case"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no client cases selected"));
}

/// Not a test: the client under test of `exec_runs_the_client_once_per_case`, which runs
/// this test binary (`it`) through `--exec` with `--ignored --exact` and WSSPEC_URL set: a
/// tokio-tungstenite echo client for that one URL. Ignored, so that a plain `cargo test`
/// neither runs it nor counts it as a passing test.
#[test]
#[ignore = "the client run by exec_runs_the_client_once_per_case, not a test"]
fn exec_echo_client_helper() {
    let Ok(url) = std::env::var("WSSPEC_URL") else {
        return;
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            let Ok((mut ws, _)) = connect_async(url.as_str()).await else {
                eprintln!("echo helper: handshake refused");
                std::process::exit(1);
            };
            while let Some(Ok(m)) = ws.next().await {
                if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
                    break;
                }
            }
        });
}

#[test]
fn exec_runs_the_client_once_per_case() {
    let out = tmp("exec");
    let me = std::env::current_exe().unwrap();
    // libtest treats the trailing URL as one more name filter, which matches nothing.
    let cmd = format!(
        "'{}' client_cli::exec_echo_client_helper --exact --ignored --quiet --nocapture --test-threads=1 {{url}}",
        me.display()
    );
    let t0 = Instant::now();
    let o = Command::new(BIN)
        .args([
            "client",
            "--exec",
            &cmd,
            "--agent",
            "echo-helper",
            "--cases",
            "framing.client.text.length,handshake.client.response.status.200",
            "--timeout",
            "500",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(t0.elapsed() < Duration::from_secs(60));
    let r = results(&out);
    assert_eq!(r["agent"], "echo-helper");
    let cases = r["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    let notes = |c: &serde_json::Value| {
        c["transcript"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["text"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let echo = notes(&cases[0]);
    assert!(
        echo.contains("client process exited with status 0"),
        "{echo}"
    );
    // The rejected handshake makes the helper exit 1 with its message on stderr.
    let refused = cases
        .iter()
        .find(|c| c["id"] == "handshake.client.response.status.200")
        .unwrap();
    let n = notes(refused);
    assert!(n.contains("exited with status 1"), "{n}");
    assert!(n.contains("handshake refused"), "{n}");
}

#[test]
fn exec_timeout_kills_the_process_group() {
    let out = tmp("exec-timeout");
    let t0 = Instant::now();
    let o = Command::new(BIN)
        .args([
            "client",
            "--exec",
            "sleep 29.7531 & sleep 29.7531; echo {url}",
            "--exec-timeout",
            "300",
            "--cases",
            "handshake.client.request.host",
            "--timeout",
            "300",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
    assert_eq!(o.status.code(), Some(1));
    let r = results(&out);
    let case = &r["cases"][0];
    assert_eq!(case["verdict"], "fail");
    let reasons = case["reasons"].to_string();
    assert!(reasons.contains("never connected"), "{reasons}");
    assert!(reasons.contains("killed"), "{reasons}");
    // The background sleeper went with the group.
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(!ps.contains("sleep 29.7531"), "left behind:\n{ps}");
}

/// No `{url}` in the command: the URL is in `$WSSPEC_URL` (as documented), so the command
/// is run, not refused. The client then lingers (as a browser would): it is killed a
/// second after its case was judged, not at the 30 s exec timeout, and that is no failure.
#[test]
fn exec_without_url_reads_the_env_and_a_lingering_client_is_not_waited_out() {
    let out = tmp("exec-env");
    let me = std::env::current_exe().unwrap();
    let cmd = format!(
        "'{}' client_cli::exec_echo_client_helper --exact --ignored --quiet --nocapture --test-threads=1; sleep 29.8642",
        me.display()
    );
    let t0 = Instant::now();
    let o = Command::new(BIN)
        .args([
            "client",
            "--exec",
            &cmd,
            "--agent",
            "lingering",
            "--cases",
            "framing.client.text.length.0,framing.client.text.length.125",
            "--timeout",
            "500",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let took = t0.elapsed();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // Two cases at about a second of grace each, far from the 30 s exec timeout.
    assert!(took < Duration::from_secs(15), "{took:?}");
    let r = results(&out);
    let cases = r["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for c in cases {
        assert_eq!(c["verdict"], "pass", "{}", c["id"]);
        let notes = c["transcript"]["entries"].to_string();
        assert!(notes.contains("when its work was done"), "{notes}");
    }
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(!ps.contains("sleep 29.8642"), "left behind:\n{ps}");
}

/// The listener serves the browser harness page at `/` to a plain GET: self-contained
/// HTML that speaks the harness protocol.
#[test]
fn the_listener_serves_the_browser_page_at_root() {
    use std::io::{Read, Write};
    let out = tmp("page");
    let (mut child, url) = listen(&[
        "--cases",
        "framing.client.text.length.0",
        "--out",
        out.to_str().unwrap(),
    ]);
    let addr = url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_owned();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET /?agent=x HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut page = String::new();
    let _ = s.read_to_string(&mut page);
    let _ = child.kill();
    let _ = child.wait();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.to_ascii_lowercase()
            .contains("content-type: text/html"),
        "{page}"
    );
    assert!(page.contains("new WebSocket("), "{page}");
    assert!(page.contains("/updateReports?agent="), "{page}");
}

/// A `--browser --exec` command that never connects (here not a browser at all) ends the
/// run after --exec-timeout of silence, with exit code 2, its process group gone.
#[test]
fn a_browser_that_never_connects_ends_the_run() {
    let out = tmp("browser-silent");
    let t0 = Instant::now();
    let o = Command::new(BIN)
        .args([
            "client",
            "--browser",
            "--exec",
            "sleep 29.9753 & sleep 29.9753",
            "--exec-timeout",
            "1000",
            "--cases",
            "framing.client.text.length.0",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no connection for 1000 ms"), "{err}");
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(!ps.contains("sleep 29.9753"), "left behind:\n{ps}");
}

/// Headless Chromium, started once through `--browser --exec`, runs the selected cases on
/// the harness page with its own `WebSocket`; the run ends when the page is done (not at
/// a timeout) and takes the browser with it. Skipped without /usr/bin/chromium.
#[test]
fn headless_chromium_runs_the_cases_through_the_page() {
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        eprintln!("skipped: no /usr/bin/chromium (apt-get install chromium to run this test)");
        return;
    }
    let out = tmp("chromium");
    let profile = out.with_extension("profile");
    // Its own profile: a second Chromium on the default profile would hand the URL to a
    // running one and exit.
    let cmd = format!(
        "{} --headless --no-sandbox --user-data-dir='{}' {{url}}",
        chromium.display(),
        profile.display()
    );
    let t0 = Instant::now();
    let o = Command::new(BIN)
        .args([
            "client",
            "--browser",
            "--exec",
            &cmd,
            "--cases",
            "handshake.client,framing.client.text.length,control.client.ping",
            "--exec-timeout",
            "20000",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let took = t0.elapsed();
    let _ = std::fs::remove_dir_all(&profile);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(took < Duration::from_secs(90), "{took:?}");
    let r = results(&out);
    assert_eq!(r["agent"], "chromium");
    assert!(
        r.get("incomplete").is_none_or(|v| v.is_null()),
        "{}",
        r["incomplete"]
    );
    let cases = r["cases"].as_array().unwrap();
    assert!(cases.len() > 30, "{}", cases.len());
    // The opening handshake is Chromium's own: its User-Agent is in the transcript.
    let request = cases[0]["transcript"]["entries"][1]["hex"]
        .as_str()
        .unwrap_or("");
    assert!(
        request.contains(&hex("Chrome/")),
        "not Chromium's request: {request}"
    );
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(
        !ps.contains(profile.to_str().unwrap()),
        "Chromium left behind:\n{ps}"
    );
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}
