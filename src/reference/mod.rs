//! The embedded reference server: a tokio-tungstenite echo server on loopback.
//!
//! `wsspec demo` and the tests run the suite against it. It is a correct peer written with
//! a well-known library, not with wsspec's own codec, so passing against it says something
//! about the cases rather than about wsspec agreeing with itself.
//!
//! tungstenite answers a handshake it rejects by closing the connection without a word,
//! while RFC 6455 §4.2.1 says the server MUST "return an HTTP response with an appropriate
//! error code (such as 400 Bad Request)", and §4.2.2 asks for 426 with
//! `Sec-WebSocket-Version` on a version mismatch. The server below writes that response
//! itself from tungstenite's error; everything after the handshake is tungstenite alone.
//!
//! tungstenite has no permessage-deflate (RFC 7692). A connection whose request offers it
//! is served instead by wsspec's own echo server (`echo/`, correct, default preferences),
//! which negotiates and compresses; the front door (`front.rs`) reads the request head to
//! decide, and hands every other connection to tungstenite with the bytes it read put back,
//! so tungstenite's behaviour, deviations included, is unchanged.

// The echo server and its negotiation are public only to wsspec's own tests, examples and
// fuzz crate (feature `testing`): the product uses them behind the front door alone.
#[cfg(feature = "testing")]
pub mod echo;
#[cfg(not(feature = "testing"))]
pub(crate) mod echo;
mod front;
#[cfg(feature = "testing")]
pub mod permessage_deflate;
#[cfg(not(feature = "testing"))]
pub(crate) mod permessage_deflate;
mod prefixed;

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;

/// The name case files use for this server's library in their `deviations` tables.
pub const IMPLEMENTATION: &str = "tokio-tungstenite";

/// A running reference server; stops when dropped.
pub struct ReferenceServer {
    addr: SocketAddr,
    /// Counts this server in [`crate::run::PEERS_IN_PROCESS`] while it lives.
    _in_process: InProcess,
    task: tokio::task::JoinHandle<()>,
    /// Serving wss:// (see `start_tls`).
    tls: bool,
}

impl ReferenceServer {
    /// Binds 127.0.0.1 on an ephemeral port and serves until dropped.
    pub async fn start() -> std::io::Result<ReferenceServer> {
        Self::start_on("127.0.0.1:0").await
    }

    /// Like [`ReferenceServer::start`], on a given address (a test of `--wait` starts the
    /// server on a known port after wsspec).
    pub async fn start_on(addr: &str) -> std::io::Result<ReferenceServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(front::dispatch(stream));
            }
        });
        Ok(ReferenceServer {
            addr,
            _in_process: InProcess::new(),
            task,
            tls: false,
        })
    }

    /// Like [`ReferenceServer::start`], serving `wss://` with `config` (e.g. from
    /// `run::tls::server_config`); the WebSocket side is the same server.
    pub async fn start_tls(config: Arc<rustls::ServerConfig>) -> std::io::Result<ReferenceServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let handshake = acceptor.accept(stream);
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(std::time::Duration::from_secs(10), handshake).await
                    {
                        front::dispatch(tls).await;
                    }
                });
            }
        });
        Ok(ReferenceServer {
            addr,
            _in_process: InProcess::new(),
            task,
            tls: true,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}/", self.addr)
    }
}

/// Registers a reference server as running in this process, so the run's memory budget
/// counts the messages it holds (see [`crate::run::case_claim`]).
struct InProcess;

impl InProcess {
    fn new() -> InProcess {
        crate::run::PEERS_IN_PROCESS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        InProcess
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        crate::run::PEERS_IN_PROCESS.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for ReferenceServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn config() -> WebSocketConfig {
    let mut c = WebSocketConfig::default();
    // Room for the limits cases (16 MiB messages) with margin.
    c.max_message_size = Some(64 << 20);
    c.max_frame_size = Some(64 << 20);
    c
}

/// Serves a connection with tungstenite (the accept loop has set TCP_NODELAY).
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let ws = tokio_tungstenite::accept_async_with_config(&mut stream, Some(config())).await;
    let mut ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            if let Some(resp) = rejection(&e) {
                let _ = stream.write_all(resp.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
            return;
        }
    };
    // tungstenite reports a protocol error to the application and leaves the close frame
    // to it; a careful application fails the connection with the matching code (RFC 6455
    // §7.1.7, §7.4.1), then reads on until the peer answers the close.
    let mut closing = false;
    while let Some(msg) = ws.next().await {
        let reply = match msg {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) if !closing => m,
            Ok(_) => continue,
            Err(e) => {
                let code = match e {
                    _ if closing => break,
                    WsError::Protocol(_) => CloseCode::Protocol,
                    WsError::Utf8(_) => CloseCode::Invalid,
                    WsError::Capacity(_) => CloseCode::Size,
                    _ => break,
                };
                closing = true;
                let frame = CloseFrame {
                    code,
                    reason: "".into(),
                };
                if ws.close(Some(frame)).await.is_err() {
                    break;
                }
                continue;
            }
        };
        if ws.send(reply).await.is_err() {
            break;
        }
    }
}

/// The HTTP response for a handshake tungstenite refused, or None where the connection
/// itself failed and nothing can be said.
fn rejection(e: &WsError) -> Option<String> {
    let body = |status: &str, extra: &str| {
        Some(format!(
            "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: 0\r\n{extra}\r\n"
        ))
    };
    match e {
        WsError::Protocol(ProtocolError::MissingSecWebSocketVersionHeader) => {
            body("426 Upgrade Required", "Sec-WebSocket-Version: 13\r\n")
        }
        WsError::Protocol(ProtocolError::WrongHttpMethod) => {
            body("405 Method Not Allowed", "Allow: GET\r\n")
        }
        WsError::Protocol(_) | WsError::Http(_) | WsError::HttpFormat(_) | WsError::Utf8(_) => {
            body("400 Bad Request", "")
        }
        _ => None,
    }
}
