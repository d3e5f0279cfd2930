//! Is there a WebSocket server at the target at all? One handshake and one echo before the
//! run, so that a wrong endpoint (a plain HTTP server, a 404 path, a missing credential, a
//! TLS port spoken to in plain text, a silent or stalling peer) is one line and exit 2
//! instead of hundreds of failed cases that blame the server for the tester's mistake.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::target::Target;
use super::transport::{self, ReadHalf};
use crate::handshake::RequestSpec;

/// The most of a handshake response the probe reads: a real server's is well under 1 KiB,
/// so anything longer is a server that is not answering a WebSocket handshake.
pub(crate) const PROBE_HEAD_MAX: usize = 16 * 1024;
/// The largest frame the probe accepts in answer to its 12-byte message.
const PROBE_FRAME_MAX: u64 = 64 * 1024;
/// Control frames the probe skips before it calls the peer a flood.
const PROBE_CONTROL_MAX: usize = 64;
/// How much of a refusal's body the one-line error shows.
const BODY_SHOWN: usize = 80;
const PROBE_MESSAGE: &[u8] = b"wsspec probe";

/// What the peer did instead of completing a handshake and an echo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeFailure {
    #[error("no answer to the WebSocket handshake within {ms} ms")]
    Silent { ms: u128 },
    #[error("the handshake response was incomplete after {ms} ms ({got} bytes: {first})")]
    SlowHandshake { ms: u128, got: usize, first: String },
    #[error("closed the connection without answering the handshake")]
    ClosedBeforeResponse,
    #[error("answered with TLS: this is a TLS port, use wss://")]
    TlsAtPlain,
    #[error(
        "answered the handshake with HTTP {status} {reason} instead of 101{hint}; body: {body}"
    )]
    Http {
        status: u16,
        reason: String,
        body: String,
        hint: &'static str,
    },
    #[error("the handshake response is not HTTP: {first}")]
    Garbage { first: String },
    #[error("the handshake response headers exceed {PROBE_HEAD_MAX} bytes")]
    HugeHead,
    #[error("the handshake response headers are malformed or too many: {reason}")]
    BadHeaders { reason: String },
    #[error("accepted the handshake but did not echo a 12-byte message within {ms} ms")]
    NoEcho { ms: u128 },
    #[error("accepted the handshake but stalled in the middle of a frame ({got} bytes of it within {ms} ms)")]
    StalledFrame { ms: u128, got: usize },
    #[error("accepted the handshake, then closed the connection instead of echoing")]
    ClosedInsteadOfEcho,
    #[error("accepted the handshake, then sent a close frame instead of echoing")]
    CloseFrameInsteadOfEcho,
    #[error(
        "accepted the handshake, then announced a {len}-byte frame in answer to a 12-byte message"
    )]
    HugeFrame { len: u64 },
    #[error("accepted the handshake, then sent {PROBE_CONTROL_MAX} control frames and no echo")]
    ControlFlood,
    #[error("accepted the handshake, then the connection failed: {0}")]
    Io(String),
}

/// Printable, bounded view of bytes: text where it is text, `\xNN` otherwise.
fn shown(bytes: &[u8], max: usize) -> String {
    let mut s = String::new();
    for &b in bytes.iter().take(max) {
        match b {
            b' '..=b'~' => s.push(b as char),
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > max {
        s.push('…');
    }
    if s.is_empty() {
        s.push_str("(empty)");
    }
    s
}

/// Reads more bytes into `buf` before `deadline`: Ok(0) at end of stream, Err(()) at the
/// deadline.
async fn read_more(
    rd: &mut ReadHalf,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> Result<usize, ProbeFailure> {
    let mut chunk = [0u8; 4096];
    match tokio::time::timeout_at(deadline, rd.read(&mut chunk)).await {
        Err(_) => Err(ProbeFailure::Silent { ms: 0 }),
        Ok(Err(e)) => Err(ProbeFailure::Io(e.to_string())),
        Ok(Ok(n)) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(n)
        }
    }
}

/// Handshake and one echo against `target` within `step` (each phase), with `headers` added
/// to the request as in every case. The connection is set up with `connect_timeout`, and
/// connection errors come back as the transport's own.
pub async fn probe_echo(
    target: &Target,
    tls: Option<&Arc<rustls::ClientConfig>>,
    headers: &[(String, String)],
    connect_timeout: Duration,
    step: Duration,
) -> Result<Result<(), ProbeFailure>, transport::ConnectError> {
    let stream = transport::connect(target, tls, connect_timeout).await?;
    let (mut rd, mut wr) = stream.split();
    let ms = step.as_millis();
    let mut req = RequestSpec::standard(
        &target.host,
        target.port,
        target.default_port(),
        &target.resource,
        "d3NzcGVjIHByb2JlIGtleQ==".into(),
    );
    for (k, v) in headers {
        req.add(k, v);
    }
    if let Err(e) = wr.write_all(&req.to_bytes()).await {
        return Ok(Err(ProbeFailure::Io(e.to_string())));
    }
    let _ = wr.flush().await;
    let outcome = async {
        let head = read_head(&mut rd, Instant::now() + step, ms).await?;
        echo(&mut rd, &mut wr, head, Instant::now() + step, ms).await
    }
    .await;
    if outcome.is_ok() {
        // Best effort: a polite close, not waited for.
        let close = crate::codec::Frame::close(Some(1000), b"")
            .with_mask([1, 2, 3, 4])
            .encode()
            .unwrap_or_default();
        let _ = tokio::time::timeout(Duration::from_millis(200), wr.write_all(&close)).await;
    }
    Ok(outcome)
}

/// Reads the handshake response; returns the bytes after its head.
async fn read_head(
    rd: &mut ReadHalf,
    deadline: Instant,
    ms: u128,
) -> Result<Vec<u8>, ProbeFailure> {
    let mut buf = Vec::new();
    loop {
        if buf.len() >= 2 && (buf[0] == 0x15 || buf[0] == 0x16) && buf[1] == 0x03 {
            return Err(ProbeFailure::TlsAtPlain);
        }
        match crate::handshake::parse_response(&buf, PROBE_HEAD_MAX) {
            Ok(Some(resp)) => {
                let rest = buf[resp.head_len..].to_vec();
                if resp.status == 101 {
                    return Ok(rest);
                }
                let mut body = rest;
                // A little of the body, for the one line; what already came is enough when
                // the rest is slow.
                let short = Instant::now() + Duration::from_millis(300);
                while body.len() < BODY_SHOWN {
                    match read_more(rd, &mut body, short.min(deadline)).await {
                        Ok(n) if n > 0 => {}
                        _ => break,
                    }
                }
                let hint = match resp.status {
                    401 | 403 => " (does it need credentials? add them with --header)",
                    404 => " (is the path right?)",
                    200 => " (a plain HTTP server, not a WebSocket endpoint?)",
                    _ => "",
                };
                return Err(ProbeFailure::Http {
                    status: resp.status,
                    reason: resp.reason.clone(),
                    body: shown(&body, BODY_SHOWN),
                    hint,
                });
            }
            Ok(None) if buf.len() >= PROBE_HEAD_MAX => return Err(ProbeFailure::HugeHead),
            Ok(None) => {}
            Err(_) if buf.len() >= PROBE_HEAD_MAX => return Err(ProbeFailure::HugeHead),
            Err(e) if buf.starts_with(b"HTTP/") => {
                return Err(ProbeFailure::BadHeaders {
                    reason: e.to_string(),
                })
            }
            Err(_) => {
                return Err(ProbeFailure::Garbage {
                    first: shown(&buf, 32),
                })
            }
        }
        match read_more(rd, &mut buf, deadline).await {
            Ok(0) if buf.is_empty() => return Err(ProbeFailure::ClosedBeforeResponse),
            Ok(0) => {
                return Err(ProbeFailure::Garbage {
                    first: shown(&buf, 32),
                })
            }
            Ok(_) => {}
            Err(ProbeFailure::Silent { .. }) if buf.is_empty() => {
                return Err(ProbeFailure::Silent { ms })
            }
            Err(ProbeFailure::Silent { .. }) => {
                return Err(ProbeFailure::SlowHandshake {
                    ms,
                    got: buf.len(),
                    first: shown(&buf, 32),
                })
            }
            Err(e) => return Err(e),
        }
    }
}

/// Sends one masked text message and waits for any data frame back, skipping a bounded
/// number of control frames.
async fn echo(
    rd: &mut ReadHalf,
    wr: &mut transport::WriteHalf,
    mut buf: Vec<u8>,
    deadline: Instant,
    ms: u128,
) -> Result<(), ProbeFailure> {
    let frame = crate::codec::Frame::text(PROBE_MESSAGE.to_vec())
        .with_mask([0x5a, 0x17, 0xc3, 0x09])
        .encode()
        .map_err(|e| ProbeFailure::Io(e.to_string()))?;
    wr.write_all(&frame)
        .await
        .map_err(|e| ProbeFailure::Io(e.to_string()))?;
    let _ = wr.flush().await;
    let mut controls = 0;
    loop {
        if let Some((opcode, total)) = frame_extent(&buf)? {
            if buf.len() >= total {
                buf.drain(..total);
                match opcode {
                    0x8 => return Err(ProbeFailure::CloseFrameInsteadOfEcho),
                    0x9 | 0xA => {
                        controls += 1;
                        if controls >= PROBE_CONTROL_MAX {
                            return Err(ProbeFailure::ControlFlood);
                        }
                        continue;
                    }
                    _ => return Ok(()),
                }
            }
        }
        match read_more(rd, &mut buf, deadline).await {
            Ok(0) => return Err(ProbeFailure::ClosedInsteadOfEcho),
            Ok(_) => {}
            Err(ProbeFailure::Silent { .. }) if buf.is_empty() => {
                return Err(ProbeFailure::NoEcho { ms })
            }
            Err(ProbeFailure::Silent { .. }) => {
                return Err(ProbeFailure::StalledFrame { ms, got: buf.len() })
            }
            Err(e) => return Err(e),
        }
    }
}

/// The opcode and whole length of the frame at the start of `buf`, once its header is in.
fn frame_extent(buf: &[u8]) -> Result<Option<(u8, usize)>, ProbeFailure> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let opcode = buf[0] & 0x0f;
    let masked = buf[1] & 0x80 != 0;
    let (len, mut head) = match buf[1] & 0x7f {
        126 if buf.len() < 4 => return Ok(None),
        126 => (u16::from_be_bytes([buf[2], buf[3]]) as u64, 4),
        127 if buf.len() < 10 => return Ok(None),
        127 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            (u64::from_be_bytes(b), 10)
        }
        n => (n as u64, 2),
    };
    if masked {
        head += 4;
    }
    if len > PROBE_FRAME_MAX {
        return Err(ProbeFailure::HugeFrame { len });
    }
    Ok(Some((opcode, head + len as usize)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_escapes_and_bounds() {
        assert_eq!(shown(b"HTTP/1.1\r\n\x00", 80), "HTTP/1.1\\r\\n\\x00");
        assert_eq!(shown(b"abcdef", 3), "abc…");
        assert_eq!(shown(b"", 3), "(empty)");
    }

    #[test]
    fn frame_extent_reads_every_length_form() {
        assert_eq!(frame_extent(&[0x81]).unwrap(), None);
        assert_eq!(frame_extent(&[0x81, 0x05]).unwrap(), Some((1, 7)));
        assert_eq!(
            frame_extent(&[0x82, 0x7e, 0x01, 0x00]).unwrap(),
            Some((2, 260))
        );
        assert_eq!(frame_extent(&[0x89, 0x80]).unwrap(), Some((9, 6)));
        let huge = [0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            frame_extent(&huge),
            Err(ProbeFailure::HugeFrame { len }) if len == 1 << 63
        ));
    }
}
