//! The reference server's front door: it reads the request head and decides who serves
//! the connection.
//!
//! tungstenite has no permessage-deflate, so a connection whose request offers it goes to
//! wsspec's own echo server ([`super::echo`], correct, default preferences), which
//! negotiates and compresses. Every other connection goes to tungstenite with the bytes
//! read so far put back in front ([`Prefixed`]), so it behaves exactly as if it had read
//! them itself: same bytes, same chunks, the same deviations.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use super::echo::{self, EchoConfig};
use super::permessage_deflate;
use super::prefixed::Prefixed;
use crate::handshake::parse_request;

/// Largest request head read before deciding; a longer head goes to tungstenite as it is.
const MAX_HEAD: usize = 16 * 1024;
/// How long the front waits for a complete head before handing over what it has. A client
/// that is this slow is left to tungstenite, whose own waiting is what it would have met.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a compressed connection may last as a whole. Not the echo server's
/// [`CONN_TIMEOUT`](echo::CONN_TIMEOUT) of 60 s, sized for tests: a `deflate.volume` case
/// (Autobahn 12.x/13.x) echoes 1000 messages of up to 128 KiB, and the incompressible ones
/// in 256-byte frames took 80 s on a loaded 2-core machine, so the reference cut them off
/// after about 680 echoes and wsspec rightly reported "TCP closed by peer". Each read and
/// write stays bounded by the echo server's 20 s `IO_TIMEOUT`, so a stalled client still
/// frees its connection within that.
const COMPRESSED_CONN_TIMEOUT: Duration = Duration::from_secs(600);

/// Serves one accepted connection (plain TCP, or TLS once its handshake is done; the
/// caller sets TCP_NODELAY).
pub async fn dispatch<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let (head, compressed) = read_head(&mut stream).await;
    if compressed {
        echo::serve_connection_within(COMPRESSED_CONN_TIMEOUT, stream, head, EchoConfig::default())
            .await;
    } else {
        super::serve(Prefixed::new(head, stream)).await;
    }
}

/// Reads until a complete request head (or an unparsable one, the end of the stream, the
/// size bound or the timeout) and says whether it offers permessage-deflate. Bytes past the
/// head, if they came in the same read, are kept: they belong to whoever serves it.
async fn read_head<S: AsyncRead + Unpin>(s: &mut S) -> (Vec<u8>, bool) {
    let deadline = tokio::time::Instant::now() + HEAD_TIMEOUT;
    let mut head = Vec::new();
    let mut buf = vec![0u8; 4096];
    while head.len() < MAX_HEAD {
        // Never read past the bound: what the client sends beyond it is tungstenite's.
        let room = (MAX_HEAD - head.len()).min(buf.len());
        match tokio::time::timeout_at(deadline, s.read(&mut buf[..room])).await {
            Ok(Ok(n)) if n > 0 => head.extend_from_slice(&buf[..n]),
            _ => break,
        }
        match parse_request(&head, MAX_HEAD) {
            Ok(None) => continue,
            Ok(Some(req)) => {
                let offered = permessage_deflate::offered(&req);
                return (head, offered);
            }
            Err(_) => break,
        }
    }
    (head, false)
}
