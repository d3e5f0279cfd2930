//! `wsspec client --exec 'CMD {url}'`: run a client command once per case.
//!
//! For case N the command runs with `{url}` replaced by that case's `runCase` URL (and the
//! URL in `$WSSPEC_URL` either way), in its own process group, under `sh -c`. A command
//! still running after the per-case timeout is killed with its whole process tree (the
//! group); so is one still running a second after its case was judged (a browser, say,
//! never exits by itself: the run must not wait out the timeout for it). Its exit status
//! and the tail of its stderr go into the case's transcript; a command that never
//! connected fails the case.

use std::future::Future;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use super::{autobahn, ClientServer};

/// Bytes of stderr kept per case.
pub const STDERR_TAIL: usize = 2048;

/// How long a command may go on after its case was judged before its process group is
/// killed: long enough for a client to finish its closing handshake and exit, short
/// enough that a client that never exits costs a second per case, not the timeout.
pub const AFTER_CASE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct ExecConfig {
    /// The command, with `{url}` where the case URL goes (or reading `$WSSPEC_URL`).
    pub command: String,
    pub agent: String,
    /// How long one run of the command may take (with `--browser`: how long the browser
    /// may go without connecting).
    pub timeout: Duration,
}

/// How one run of the command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessOutcome {
    /// Exit code, if it exited normally.
    pub code: Option<i32>,
    /// Signal that ended it (unix), if any.
    pub signal: Option<i32>,
    /// It ran past the timeout and its process group was killed.
    pub timed_out: bool,
    /// It was still running when wsspec no longer needed it (its case was judged, or the
    /// run was over) and its process group was killed: not a failure.
    pub stopped: bool,
    pub stderr_tail: String,
    pub elapsed_ms: u64,
}

impl ProcessOutcome {
    pub fn describe(&self) -> String {
        let how = if self.timed_out {
            format!(
                "still running after {} ms: its process group was killed",
                self.elapsed_ms
            )
        } else if self.stopped {
            format!(
                "was still running when its work was done: its process group was killed after {} ms",
                self.elapsed_ms
            )
        } else if let Some(c) = self.code {
            format!("exited with status {c} after {} ms", self.elapsed_ms)
        } else if let Some(s) = self.signal {
            format!("was killed by signal {s} after {} ms", self.elapsed_ms)
        } else {
            format!("ended after {} ms", self.elapsed_ms)
        };
        format!("client process {how}")
    }
}

/// Replaces every `{url}` in `command` with `url`, as one shell word: quoted with single
/// quotes unless the placeholder already sits inside quotes (`'{url}'` or `"{url}"`).
/// The URL itself holds no quote, `$` or backslash (the agent is percent-encoded).
pub fn substitute(command: &str, url: &str) -> String {
    let mut out = String::with_capacity(command.len() + url.len());
    let mut rest = command;
    while let Some(i) = rest.find("{url}") {
        let (before, after) = (&rest[..i], &rest[i + 5..]);
        let quoted = match before.chars().last() {
            Some(q @ ('\'' | '"')) => after.starts_with(q),
            _ => false,
        };
        out.push_str(before);
        if quoted {
            out.push_str(url);
        } else {
            out.push('\'');
            out.push_str(url);
            out.push('\'');
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(unix)]
fn kill_group(pid: u32) {
    // SAFETY: kill(2) with a negative pid signals the process group; no memory involved.
    unsafe {
        libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
    }
}

#[cfg(not(unix))]
fn kill_group(_pid: u32) {}

/// Runs `command` under `sh -c` in its own process group with `env` added, killing the
/// group when `timeout` passes or, early, once `done` completes (wsspec has what it
/// needed from the command).
pub async fn run_process_until(
    command: &str,
    env: &[(&str, String)],
    timeout: Duration,
    done: impl Future<Output = ()>,
) -> std::io::Result<ProcessOutcome> {
    let t0 = Instant::now();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd.spawn()?;
    let pid = child.id();
    let mut stderr = child.stderr.take();
    let reader = tokio::spawn(async move {
        let mut tail: Vec<u8> = Vec::new();
        let mut buf = [0u8; 4096];
        if let Some(s) = stderr.as_mut() {
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > 2 * STDERR_TAIL {
                    tail.drain(..tail.len() - STDERR_TAIL);
                }
            }
        }
        let start = tail.len().saturating_sub(STDERR_TAIL);
        String::from_utf8_lossy(&tail[start..]).into_owned()
    });
    let (status, timed_out, stopped) = tokio::select! {
        s = child.wait() => (s.ok(), false, false),
        _ = tokio::time::sleep(timeout) => (None, true, false),
        _ = done => (None, false, true),
    };
    let status = if timed_out || stopped {
        if let Some(p) = pid {
            kill_group(p);
        }
        let _ = child.kill().await;
        child.wait().await.ok()
    } else {
        status
    };
    // Whatever the command left behind in its group goes too, so nothing outlives the case
    // (and stderr reaches its end).
    if let Some(p) = pid {
        kill_group(p);
    }
    let stderr_tail = tokio::time::timeout(Duration::from_secs(2), reader)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    #[cfg(unix)]
    let signal = status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s));
    #[cfg(not(unix))]
    let signal = None;
    Ok(ProcessOutcome {
        code: status.and_then(|s| s.code()),
        signal: if timed_out || stopped { None } else { signal },
        timed_out,
        stopped,
        stderr_tail,
        elapsed_ms: t0.elapsed().as_millis() as u64,
    })
}

/// Runs the command for every case of `server`, one at a time, waiting for each case to
/// be judged. `progress` is called after each case with (n, total).
pub async fn run_all(server: &ClientServer, exec: &ExecConfig, progress: &dyn Fn(usize, usize)) {
    let total = server.cases().len();
    for n in 1..=total {
        let url = autobahn::run_case_url(&server.url(), n, &exec.agent);
        let command = substitute(&exec.command, &url);
        let env = [
            ("WSSPEC_URL", url.clone()),
            ("WSSPEC_CASE", n.to_string()),
            ("WSSPEC_AGENT", exec.agent.clone()),
        ];
        // Judged, and a moment for the client to exit by itself: a client that never
        // exits (a browser) is not waited for until the timeout.
        let judged = async {
            while !server.has_result(&exec.agent, n) || server.is_running(&exec.agent, n) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::sleep(AFTER_CASE).await;
        };
        let outcome = run_process_until(&command, &env, exec.timeout, judged).await;
        // The case may still be finishing (its closing handshake), or the connection may
        // not even be registered yet when a fast client exits.
        let limit = server.case_limit(n) + Duration::from_secs(2);
        let t0 = Instant::now();
        let grace = Duration::from_millis(500);
        loop {
            let running = server.is_running(&exec.agent, n);
            let done = server.has_result(&exec.agent, n);
            // Done, or given up on, or never started after a short grace.
            let waited = t0.elapsed();
            if !running && (done || waited > grace) || waited > limit {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut notes = vec![format!("client command: {command}")];
        match &outcome {
            Ok(o) => {
                notes.push(o.describe());
                if !o.stderr_tail.trim().is_empty() {
                    notes.push(format!(
                        "client stderr (tail): {}",
                        o.stderr_tail.trim_end()
                    ));
                }
            }
            Err(e) => notes.push(format!("client command could not start: {e}")),
        }
        if !server.has_result(&exec.agent, n) {
            let why = match &outcome {
                Ok(o) => format!(
                    "the client never connected for this case ({})",
                    o.describe()
                ),
                Err(e) => format!("the client command could not start: {e}"),
            };
            server.record_not_run(&exec.agent, n, &why);
        }
        server.annotate(&exec.agent, n, notes);
        progress(n, total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run_process(
        command: &str,
        env: &[(&str, String)],
        timeout: Duration,
    ) -> std::io::Result<ProcessOutcome> {
        run_process_until(command, env, timeout, std::future::pending()).await
    }

    /// A command that would run for 30 s is killed, group and all, once wsspec is done
    /// with it, and that is not reported as a timeout.
    #[tokio::test]
    async fn killed_when_no_longer_needed() {
        let t0 = Instant::now();
        let o = run_process_until(
            "sleep 30 & sleep 30",
            &[],
            Duration::from_secs(60),
            tokio::time::sleep(Duration::from_millis(200)),
        )
        .await
        .unwrap();
        assert!(o.stopped);
        assert!(!o.timed_out);
        assert!(t0.elapsed() < Duration::from_secs(5));
        assert!(o.describe().contains("work was done"), "{}", o.describe());
    }

    #[test]
    fn substitution_quotes_once() {
        let u = "ws://127.0.0.1:1/runCase?case=1&agent=a";
        assert_eq!(substitute("c {url}", u), format!("c '{u}'"));
        assert_eq!(substitute("c '{url}'", u), format!("c '{u}'"));
        assert_eq!(substitute("c \"{url}\" x", u), format!("c \"{u}\" x"));
        assert_eq!(substitute("c {url} {url}", u), format!("c '{u}' '{u}'"));
        assert_eq!(substitute("no placeholder", u), "no placeholder");
    }

    #[tokio::test]
    async fn exit_status_stderr_and_timeout() {
        let o = run_process("echo to-stderr >&2; exit 3", &[], Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(o.code, Some(3));
        assert!(!o.timed_out);
        assert_eq!(o.stderr_tail.trim(), "to-stderr");

        let o = run_process(
            "echo \"$WSSPEC_CASE\" >&2",
            &[("WSSPEC_CASE", "7".into())],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(o.stderr_tail.trim(), "7");

        // A shell that started a background sleeper: the whole group dies on timeout.
        let t0 = Instant::now();
        let o = run_process("sleep 30 & sleep 30", &[], Duration::from_millis(300))
            .await
            .unwrap();
        assert!(o.timed_out);
        assert!(t0.elapsed() < Duration::from_secs(5));
        assert!(o.describe().contains("killed"));
    }
}
