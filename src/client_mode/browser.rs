//! Testing a browser's `WebSocket`: the harness page the listener serves at `/`, and
//! `wsspec client --browser --exec 'BROWSER {url}'`, which starts the browser once on that
//! page and ends it when the page has run every case.
//!
//! The page (`browser.html`, embedded; no external assets) is an Autobahn harness written
//! in the browser's JavaScript: it asks `/getCaseCount`, opens `/runCase?case=N&agent=A`
//! with `new WebSocket`, echoes every message, asks `/getCaseStatus` (which waits until the
//! case is judged, so cases never overlap) and finally `/updateReports`. Everything the
//! browser does on the wire is its own WebSocket implementation's doing.

use std::time::Duration;

use super::autobahn::percent_encode;
use super::exec::{run_process_until, substitute, ExecConfig, ProcessOutcome};
use super::ClientServer;

/// The harness page, served as is.
pub const PAGE: &str = include_str!("browser.html");

/// The page's URL on a listener whose HTTP base is `base` (`http://ADDR` or
/// `https://ADDR`), reporting as `agent`.
pub fn page_url(base: &str, agent: &str) -> String {
    format!("{base}/?agent={}", percent_encode(agent))
}

/// How a `--browser --exec` run ended.
#[derive(Debug)]
pub enum BrowserEnd {
    /// Every case ran (and the page asked for its reports): the listener has stopped; the
    /// browser, if still running, was killed.
    Done,
    /// Nothing connected for this long: the browser or the page stalled.
    Idle(Duration),
    /// The browser exited (or could not start) before the run was over.
    Exited(std::io::Result<ProcessOutcome>),
}

/// Waits until nothing has connected for `limit`, by `idle` (the listener's idle clock).
async fn quiet_for(idle: &(impl Fn() -> Duration + Send + Sync), limit: Duration) {
    loop {
        let quiet = idle();
        if quiet >= limit {
            return;
        }
        tokio::time::sleep(limit - quiet).await;
    }
}

/// Starts the browser command once with the page URL (`{url}`, or `$WSSPEC_URL`) and waits
/// until the run is over, nothing connects for `exec.timeout`, or the browser exits. In
/// every case the browser's process group is gone when this returns.
pub async fn run(server: &mut ClientServer, exec: &ExecConfig) -> BrowserEnd {
    let url = page_url(&server.http_url(), &exec.agent);
    let command = substitute(&exec.command, &url);
    let env = [("WSSPEC_URL", url), ("WSSPEC_AGENT", exec.agent.clone())];
    // A bound on the whole run besides the idle one: every case at its longest, twice over.
    let total: Duration = (1..=server.cases().len())
        .map(|n| server.case_limit(n))
        .sum::<Duration>()
        * 2
        + exec.timeout;
    let idle = server.idle_clock();
    let quiet = exec.timeout;
    let mut end = None;
    let outcome = {
        let end = &mut end;
        let over = async move {
            *end = Some(tokio::select! {
                _ = server.stopped() => BrowserEnd::Done,
                _ = quiet_for(&idle, quiet) => BrowserEnd::Idle(quiet),
            });
        };
        run_process_until(&command, &env, total, over).await
    };
    end.unwrap_or(BrowserEnd::Exited(outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_speaks_the_harness_protocol() {
        // No external assets: nothing fetched from another origin.
        for word in ["http://", "https://", "src=", "href="] {
            assert!(!PAGE.contains(word), "the page refers to {word}");
        }
        for call in [
            "/getCaseCount",
            "/runCase?case=",
            "/getCaseStatus?case=",
            "/updateReports?agent=",
        ] {
            assert!(PAGE.contains(call), "the page never calls {call}");
        }
        assert!(PAGE.contains("new WebSocket("));
    }

    #[test]
    fn page_url_encodes_the_agent() {
        assert_eq!(
            page_url("http://127.0.0.1:9001", "Chromium 148/x"),
            "http://127.0.0.1:9001/?agent=Chromium%20148%2Fx"
        );
    }
}
