//! `wsspec server --wait 30s`: wait for the peer to accept TCP connections before the run,
//! so a CI step can start a server in the background and run wsspec at once
//! (`my-server & wsspec server --wait 30s URL`) without a sleep loop of its own.
//!
//! Only TCP is awaited: a server that accepts connections but does not speak WebSocket is
//! for the reachability check of the run to report, in its own words.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use super::target::Target;

/// Time between two connection attempts.
pub(crate) const POLL: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("{url}: nothing accepted a TCP connection at {addr} within {waited} (--wait); last attempt: {last}")]
    Expired {
        url: String,
        addr: String,
        waited: String,
        last: String,
    },
}

/// Connects to `target`'s host and port until one connection succeeds (and is closed at
/// once) or `within` has passed. Returns whether it had to wait at all.
pub async fn wait_for_tcp(target: &Target, within: Duration) -> Result<bool, WaitError> {
    let addr = target.socket_addr();
    let deadline = Instant::now() + within;
    let mut waited = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let last = match tokio::time::timeout(left.max(POLL), TcpStream::connect(&addr)).await {
            Ok(Ok(_)) => return Ok(waited),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "connecting timed out".to_owned(),
        };
        if Instant::now() + POLL >= deadline {
            return Err(WaitError::Expired {
                url: target.url().to_owned(),
                addr,
                waited: format!("{}s", within.as_secs_f64()),
                last,
            });
        }
        waited = true;
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_a_listener_that_comes_late() {
        // Reserve a port, free it, and listen on it again after a while.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let target = Target::parse(&format!("ws://127.0.0.1:{port}/")).unwrap();
        let late = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(600)).await;
            let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            let _ = l.accept().await;
        });
        let t0 = std::time::Instant::now();
        assert!(wait_for_tcp(&target, Duration::from_secs(10))
            .await
            .unwrap());
        assert!(t0.elapsed() >= Duration::from_millis(500));
        late.await.unwrap();
    }

    #[tokio::test]
    async fn gives_up_after_the_wait() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let target = Target::parse(&format!("ws://127.0.0.1:{port}/")).unwrap();
        let t0 = std::time::Instant::now();
        let e = wait_for_tcp(&target, Duration::from_millis(700))
            .await
            .unwrap_err()
            .to_string();
        assert!(t0.elapsed() < Duration::from_secs(5));
        assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
        assert!(e.contains("within 0.7s (--wait)"), "{e}");
    }
}
