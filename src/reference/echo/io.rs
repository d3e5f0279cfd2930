//! The echo server's bounds and its bounded reads, writes and endings.
//!
//! Every read and write is bounded in time, every buffer in size, so that neither a test
//! nor the demo can hang on, or be flooded through, a connection.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest request head.
pub const MAX_HEAD: usize = 16 * 1024;
/// Twice the largest message of the built-in suite (16 MiB, the `limits` area): largest
/// frame, and largest message before and after inflation.
pub const MAX_FRAME: u64 = 32 << 20;
pub const MAX_MESSAGE: u64 = 32 << 20;
/// The limit with `message_limit_1mib`.
pub const LIMIT_1MIB: u64 = 1 << 20;
/// Bound on any single read or write, and on a whole connection. A client may be slow for
/// reasons of its own: under load, the wsspec session sharing this runtime can be held up
/// for seconds while other cases build megabyte payloads, so a single read waits as long
/// as wsspec's longest step timeout (20 s, the `limits` cases), and a connection as long
/// as a test's whole run.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);
pub const CONN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the server keeps reading after it closed, waiting for the client to go, and
/// how much it reads then at most: more than the largest message wsspec sends (16 MiB).
const LINGER: Duration = Duration::from_secs(2);
const MAX_DRAIN: usize = 64 << 20;

/// Writes everything within [`IO_TIMEOUT`]; false if the connection is gone or stuck.
pub async fn write_all<S: AsyncWrite + Unpin>(s: &mut S, bytes: &[u8]) -> bool {
    let write = async {
        s.write_all(bytes).await?;
        s.flush().await
    };
    matches!(tokio::time::timeout(IO_TIMEOUT, write).await, Ok(Ok(())))
}

/// One read within [`IO_TIMEOUT`]; None at the end of the stream, on error or timeout.
pub async fn read_some<S: AsyncRead + Unpin>(s: &mut S, buf: &mut [u8]) -> Option<usize> {
    match tokio::time::timeout(IO_TIMEOUT, s.read(buf)).await {
        Ok(Ok(n)) if n > 0 => Some(n),
        _ => None,
    }
}

/// Reads and discards until the end of the stream, `deadline` or `MAX_DRAIN` bytes.
async fn drain<S: AsyncRead + Unpin>(s: &mut S, deadline: tokio::time::Instant) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0usize;
    while total < MAX_DRAIN {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => total += n,
            _ => break,
        }
    }
}

/// Ends a connection politely: FIN, then read and discard what the client still sends
/// (bounded), so the kernel does not answer unread data with a reset that could destroy
/// the close frame in flight.
pub async fn linger_close<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
    let _ = tokio::time::timeout(IO_TIMEOUT, s.shutdown()).await;
    drain(&mut s, tokio::time::Instant::now() + LINGER).await;
}

/// With `linger_after_close`: instead of closing TCP, wait (bounded) for the client to.
pub async fn wait_for_client_close<S: AsyncRead + Unpin>(mut s: S) {
    drain(&mut s, tokio::time::Instant::now() + CONN_TIMEOUT).await;
}
