//! The `wsspec` binary's contract with CI: exit 0 when nothing failed, 1 when a case
//! failed, 2 when wsspec could not do its job, with a one-line `wsspec: error:` reason on
//! stderr; `results.json` written whenever cases ran.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{broken_server, closed_port, EchoServer, Flaws};

/// Runs the binary with `args`, killing it if it has not finished within 60 s.
fn wsspec(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("wsspec {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

/// A broken echo server served by its own runtime while the test thread runs the binary.
fn server(bugs: Flaws) -> (EchoServer, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let s = rt.block_on(broken_server(bugs));
    (s, rt)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn results(dir: &Path) -> serde_json::Value {
    let path = dir.join("results.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).expect("results.json is JSON");
    assert_eq!(v["schema"], "wsspec.results/1");
    v
}

/// Exit 2 with exactly one stderr line, `wsspec: error: ...` containing `needle`.
fn assert_usage_error(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got: {err}");
    assert!(lines[0].starts_with("wsspec: error: "), "{err}");
    assert!(lines[0].contains(needle), "expected {needle:?} in: {err}");
}

#[test]
fn demo_passes_and_writes_results() {
    let out = scratch("demo");
    let o = wsspec(&[
        "demo",
        "--cases",
        "handshake",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let v = results(&out);
    let n = common::ids(&["handshake"]).len();
    assert_eq!(v["cases"].as_array().expect("cases").len(), n);
    // demo knows the reference library's documented deviations: every case that does not
    // pass must carry one, and those are what keep `pass` below `n` while the exit stays 0.
    let cases = v["cases"].as_array().unwrap();
    let off: Vec<_> = cases.iter().filter(|c| c["verdict"] != "pass").collect();
    assert!(off.iter().all(|c| c["deviation"].is_string()), "{off:#?}");
    assert_eq!(v["totals"]["pass"], n - off.len());
    assert_eq!(v["peer_role"], "server");
}

#[test]
fn failing_server_exits_1_and_writes_results() {
    let (srv, _rt) = server(Flaws {
        wrong_pong_payload: true,
        ..Default::default()
    });
    let out = scratch("fail");
    let o = wsspec(&[
        "server",
        &srv.url(),
        "--cases",
        "control",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(&o));
    let v = results(&out);
    assert_eq!(v["target"], srv.url());
    let failed: Vec<&str> = v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|c| c["verdict"] == "fail")
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert!(failed.contains(&"control.ping.text"), "{failed:?}");
    assert_eq!(v["totals"]["fail"], failed.len());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("control.ping.text"), "{stdout}");
}

#[test]
fn unreachable_url_exits_2() {
    let out = scratch("unreachable");
    let url = format!("ws://127.0.0.1:{}/", closed_port());
    let o = wsspec(&["server", &url, "--out", out.to_str().unwrap()]);
    assert_usage_error(&o, "peer unreachable");
    assert!(!out.join("results.json").exists());
}

#[test]
fn bad_url_exits_2() {
    let o = wsspec(&["server", "http://x"]);
    assert_usage_error(&o, "the scheme must be ws:// or wss://");
}

#[test]
fn bad_header_exits_2() {
    let (srv, _rt) = server(Flaws::default());
    let o = wsspec(&["server", &srv.url(), "--header", "NoColonHere"]);
    assert_usage_error(&o, "--header \"NoColonHere\"");
    let o = wsspec(&["server", &srv.url(), "--header", ": value"]);
    assert_usage_error(&o, "--header");
}

#[test]
fn case_pattern_matching_nothing_exits_2() {
    let (srv, _rt) = server(Flaws::default());
    let o = wsspec(&["server", &srv.url(), "--cases", "no.such.case"]);
    assert_usage_error(&o, "no cases selected");
    let o = wsspec(&[
        "server",
        &srv.url(),
        "--cases",
        "handshake",
        "--exclude",
        "handshake",
    ]);
    assert_usage_error(&o, "no cases selected");
}

#[test]
fn broken_case_file_exits_2() {
    let (srv, _rt) = server(Flaws::default());
    let dir = scratch("broken-cases");
    std::fs::write(
        dir.join("broken.toml"),
        "[[case]]\nid = \"mine.broken\"\ntitle = \"t\"\nsection = \"s\"\nrequirement = \"r\"\n\
         level = \"MUST\"\nrole = \"server\"\nsteps = [ { send = \"message\", colour = \"red\" } ]\n",
    )
    .expect("write case file");
    let o = wsspec(&["server", &srv.url(), "--cases-dir", dir.to_str().unwrap()]);
    assert_usage_error(&o, "broken.toml:8: steps[0].colour: unknown field `colour`");

    let dir = scratch("bad-toml");
    std::fs::write(dir.join("bad.toml"), "# a comment\n[[case]\nid = 1\n").expect("write");
    let o = wsspec(&["server", &srv.url(), "--cases-dir", dir.to_str().unwrap()]);
    assert_usage_error(&o, "bad.toml:2");

    let missing = scratch("no-such-dir").join("missing");
    let o = wsspec(&[
        "server",
        &srv.url(),
        "--cases-dir",
        missing.to_str().unwrap(),
    ]);
    assert_usage_error(&o, "cannot read");
}
