//! An echo server written on wsspec's own codec and handshake modules, with
//! permessage-deflate, and with deliberate defects that can be switched on one at a time.
//!
//! Why it exists:
//! - It is a second correct implementation beside tokio-tungstenite (the reference): with
//!   no flaw switched on, the whole built-in suite passes against it.
//! - It speaks permessage-deflate (RFC 7692), which tungstenite does not: `wsspec demo`
//!   hands it every connection that offers compression, so the compression cases meet a
//!   server that really negotiates and compresses.
//! - Its [`Flaws`] let tests prove that cases fail: a peer with exactly one defect must
//!   fail exactly the cases that check for it.
//!
//! Every read and write is bounded in time and size, and every connection task dies with
//! the server, so neither a test nor the demo can hang on it or leak it.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use wsspec::reference::echo::{EchoConfig, EchoServer, Flaws};
//! use wsspec::reference::permessage_deflate::DeflateConfig;
//! let correct = EchoServer::start(Flaws::default()).await?;
//! let flawed = EchoServer::start_with(EchoConfig {
//!     flaws: Flaws { rsv1_on_control: true, ..Flaws::default() },
//!     deflate: DeflateConfig { max_window_bits: 10, ..DeflateConfig::default() },
//! })
//! .await?;
//! println!("{} {}", correct.url(), flawed.url());
//! # Ok(()) }
//! ```

mod conn;
mod flaws;
mod handshake;
mod io;
#[cfg(any(test, feature = "testing"))]
mod server;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::codec::{close_code_valid_on_wire, FatalError, Rule};
use crate::reference::permessage_deflate::DeflateConfig;
use conn::{drop_length_msb, Conn, Next};
pub use flaws::Flaws;
#[cfg(any(test, feature = "testing"))]
pub use io::{CONN_TIMEOUT, IO_TIMEOUT, MAX_HEAD, MAX_MESSAGE};
#[cfg(any(test, feature = "testing"))]
pub use server::EchoServer;

/// How an echo server behaves: its defects and its compression preferences.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EchoConfig {
    pub flaws: Flaws,
    pub deflate: DeflateConfig,
}

/// Serves one connection, from the opening handshake to the end, within [`CONN_TIMEOUT`].
/// `prefix` holds bytes already read from `stream` (the reference server reads the request
/// head to decide who serves it); they are taken as the first bytes received. Only the
/// test server ([`EchoServer`]) serves whole connections; the demo's front uses
/// [`serve_connection_within`].
#[cfg(any(test, feature = "testing"))]
pub async fn serve_connection<S>(stream: S, prefix: Vec<u8>, cfg: EchoConfig)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    serve_connection_within(CONN_TIMEOUT, stream, prefix, cfg).await;
}

/// Like [`serve_connection`], cut off after `limit` instead.
pub async fn serve_connection_within<S>(
    limit: std::time::Duration,
    stream: S,
    prefix: Vec<u8>,
    cfg: EchoConfig,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = tokio::time::timeout(limit, serve(stream, prefix, cfg)).await;
}

/// Ends a connection after the closing handshake, flaws included.
async fn end<S: AsyncRead + AsyncWrite + Unpin>(s: S, flaws: &Flaws) {
    if flaws.linger_after_close {
        io::wait_for_client_close(s).await;
    } else {
        io::linger_close(s).await;
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, prefix: Vec<u8>, cfg: EchoConfig) {
    let flaws = cfg.flaws;
    let Some(opened) = handshake::handshake(&mut s, prefix, &cfg).await else {
        if !flaws.no_error_response {
            io::linger_close(s).await;
        }
        return;
    };
    let mut conn = Conn::new(flaws, opened.deflate);
    let mut dec = conn.decoder();
    // The undecoded bytes, kept only for `ignore_length_msb`, which re-reads a header.
    let mut raw: Vec<u8> = Vec::new();
    let mut input = opened.early;
    let mut buf = vec![0u8; 64 * 1024];
    let end_with = 'conn: loop {
        dec.feed(&input);
        if flaws.ignore_length_msb {
            raw.extend_from_slice(&input);
        }
        loop {
            let next = match dec.next_frame() {
                Ok(None) => break,
                Ok(Some(df)) => {
                    if flaws.ignore_length_msb {
                        raw.drain(..df.wire_len);
                    }
                    conn.frame(&df)
                }
                Err(FatalError::FrameTooLarge { .. })
                    if flaws.ignore_length_msb && drop_length_msb(&mut raw) =>
                {
                    dec = conn.decoder();
                    dec.feed(&raw);
                    continue;
                }
                Err(FatalError::FrameTooLarge {
                    header_violations, ..
                }) => Next::Fail(
                    if header_violations
                        .iter()
                        .any(|v| v.rule == Rule::Length64MsbSet)
                    {
                        1002
                    } else {
                        1009
                    },
                ),
            };
            if !conn.out.is_empty() {
                let out = std::mem::take(&mut conn.out);
                if !io::write_all(&mut s, &out).await {
                    return;
                }
            }
            match next {
                Next::Go => {}
                Next::Fail(code) if flaws.pong_before_failing => {
                    // Answer the pings already buffered behind the offending frame.
                    while let Ok(Some(df)) = dec.next_frame() {
                        // Only well-formed pings: a peer answers what it can parse.
                        if df.frame.opcode == crate::codec::OpCode::PING.0
                            && df.frame.fin
                            && df.violations.is_empty()
                        {
                            let pong = conn.control(crate::codec::OpCode::PONG, df.frame.payload);
                            if !io::write_all(&mut s, &pong).await {
                                return;
                            }
                        }
                    }
                    break 'conn Next::Fail(code);
                }
                other => break 'conn other,
            }
        }
        match io::read_some(&mut s, &mut buf).await {
            Some(n) => input = buf[..n].to_vec(),
            None => return,
        }
    };
    match end_with {
        Next::Closed(_) if flaws.no_close_reply => {
            // Drop TCP without answering the close frame.
        }
        Next::Closed(payload) => {
            // Echo the status code (RFC 6455 §5.5.1); a valid close was checked by the
            // decoder, so the code, if any, may be sent back.
            let code = (payload.len() >= 2)
                .then(|| u16::from_be_bytes([payload[0], payload[1]]))
                .map(|c| {
                    if flaws.wrong_close_code && !close_code_valid_on_wire(c) {
                        1000
                    } else {
                        c
                    }
                });
            if io::write_all(&mut s, &conn.close_frame(code)).await {
                end(s, &flaws).await;
            }
        }
        Next::Fail(_) if flaws.fail_by_dropping_tcp => {
            // Drop TCP without a close frame.
        }
        Next::Fail(code) => {
            let code = if flaws.fail_with_1011 { 1011 } else { code };
            if io::write_all(&mut s, &conn.close_frame(Some(code))).await {
                end(s, &flaws).await;
            }
        }
        Next::Go => unreachable!(),
    }
}
