//! The README's CI recipe works as written: its shell lines run in order, with the server
//! starting only after wsspec (so `--wait` is what makes it work), a first run without a
//! baseline, `wsspec baseline`, and a run against that baseline that exits 0. Loopback
//! only; the runs are limited to two areas to stay short, and the whole script is bounded.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The lines of the README block tagged `sh ci-recipe`.
fn recipe() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("```sh ci-recipe\n")
        .expect("README.md has a ```sh ci-recipe block")
        + "```sh ci-recipe\n".len();
    let end = readme[start..].find("```").unwrap() + start;
    readme[start..end].lines().map(str::to_owned).collect()
}

#[test]
fn readme_ci_recipe_runs_as_written() {
    let lines = recipe();
    assert!(lines[0].starts_with("./start-my-server &"), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("wsspec baseline ")));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("wsspec-ci-recipe-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The user's server: here the test starts the reference server itself, late.
    let starter = dir.join("start-my-server");
    std::fs::write(&starter, "#!/bin/sh\nexit 0\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&starter, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let script: String = std::iter::once("set -e".to_owned())
        .chain(lines.iter().map(|l| {
            l.replace("127.0.0.1:9001", &format!("127.0.0.1:{port}"))
                // The fail-fast pair waits out 1 s, so each run outlasts a progress
                // interval: handshake and close alone finish in about 50 ms now.
                .replace(
                    "wsspec server ",
                    "wsspec server --cases handshake,close,utf8.fail-fast.within-frame ",
                )
        }))
        .collect::<Vec<_>>()
        .join("\n");
    let bin = Path::new(env!("CARGO_BIN_EXE_wsspec"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&dir)
        .env("PATH", path)
        .env("WSSPEC_PROGRESS_SECS", "0.05")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // wsspec is already waiting when the server starts.
    std::thread::sleep(Duration::from_millis(1500));
    let _server = rt
        .block_on(wsspec::reference::ReferenceServer::start_on(&format!(
            "127.0.0.1:{port}"
        )))
        .unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            panic!("the recipe did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{status}\nstdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("accepted a connection after"), "{err}");
    // The baseline records the reference server's failures: the first run exited 1 on
    // them, the run against the baseline did not.
    let baseline = std::fs::read_to_string(dir.join("wsspec-baseline.json")).unwrap();
    assert!(
        baseline.contains("\"handshake.host.missing\": \"fail\""),
        "{baseline}"
    );
    assert!(dir.join("wsspec-report/junit.xml").exists());
    // No terminal: progress lines on stderr, then the usual summary on stdout.
    assert!(
        err.lines().any(|l| l.starts_with("wsspec: ")
            && l.contains(" cases, ")
            && l.contains(" failed, ")),
        "{err}"
    );
    assert!(out.contains(" cases in "), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn wait_gives_up_with_one_line_and_exit_2() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .args(["server", "--wait", "1s", &format!("ws://127.0.0.1:{port}/")])
        .output()
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("wsspec: error: "), "{err}");
    assert!(err.contains("within 1s (--wait)"), "{err}");
}
