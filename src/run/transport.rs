//! The byte stream under a session: plain TCP for `ws://`, TLS over TCP for `wss://` (and
//! for client mode with `--tls`), one HTTP/2 stream (`--http2`, see `h2.rs`) or one HTTP/3
//! stream (`--http3`, see `h3/`).
//!
//! Sessions read and write through separate halves (the reader is its own task), so a
//! connection is handed out as two boxed halves. Plain TCP keeps tokio's lock-free
//! `into_split`; TLS, one state machine for both directions, goes through `tokio::io::split`.
//! Writers flush after every chop, which over TLS makes each chop its own record: a chopped
//! write still reaches the peer's WebSocket parser in pieces.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::target::Target;

pub(crate) type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
pub(crate) type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// One connection to or from a peer.
pub enum Stream {
    Tcp(TcpStream),
    /// wsspec is the TLS client (testing a server).
    TlsClient(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// wsspec is the TLS server (testing a client).
    TlsServer(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// One extended CONNECT stream of an HTTP/2 connection (RFC 8441), wsspec the client.
    H2(Box<super::h2::H2Stream>),
    /// One extended CONNECT stream of an HTTP/3 connection (RFC 9220), wsspec the client.
    H3(Box<super::h3::H3Stream>),
}

/// What carries the WebSocket bytes of a session with a server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Transport {
    /// One TCP connection (TLS for `wss://`) per session, opened by an HTTP/1.1 Upgrade.
    #[default]
    Http1,
    /// One HTTP/2 connection per session (TLS with ALPN h2 for `wss://`, prior-knowledge
    /// cleartext h2c for `ws://`), opened by an extended CONNECT (RFC 8441).
    Http2,
    /// One HTTP/3 connection per session (QUIC, always TLS with ALPN h3), opened by an
    /// extended CONNECT (RFC 9220).
    Http3,
}

impl Transport {
    /// The name reports give the transport: the ALPN token where one exists.
    pub fn name(self, secure: bool) -> &'static str {
        match (self, secure) {
            (Transport::Http1, _) => "http/1.1",
            (Transport::Http2, true) => "h2",
            (Transport::Http2, false) => "h2c",
            (Transport::Http3, _) => "h3",
        }
    }

    /// Whether the opening handshake is an extended CONNECT (RFC 8441 §4, RFC 9220 §3)
    /// rather than an HTTP/1.1 Upgrade.
    pub fn extended_connect(self) -> bool {
        matches!(self, Transport::Http2 | Transport::Http3)
    }
}

/// Why a connection could not be set up. The texts of the TCP variants are what fuzz
/// judging and existing reports know as "the peer could not be reached".
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to {addr}: {source}")]
    Tcp { addr: String, source: io::Error },
    #[error("connecting to {addr} timed out after {ms} ms")]
    TcpTimeout { addr: String, ms: u128 },
    #[error("TLS handshake with {addr} failed: {reason}")]
    Tls {
        addr: String,
        reason: String,
        /// The peer's certificate was refused (as opposed to the peer not speaking TLS).
        certificate: bool,
    },
    #[error("TLS handshake with {addr} timed out after {ms} ms (does it speak TLS?)")]
    TlsTimeout { addr: String, ms: u128 },
    #[error("{host:?} cannot be a TLS server name: {reason}")]
    ServerName { host: String, reason: String },
    #[error("HTTP/2 with {addr}: {reason}")]
    Http2 { addr: String, reason: String },
    #[error("HTTP/3 with {addr}: {reason}")]
    Http3 { addr: String, reason: String },
}

/// Connects to `target` over `transport`.
pub async fn connect_over(
    transport: Transport,
    target: &Target,
    tls: Option<&Arc<rustls::ClientConfig>>,
    timeout: Duration,
) -> Result<Stream, ConnectError> {
    match transport {
        Transport::Http1 => connect(target, tls, timeout).await,
        Transport::Http2 => super::h2::connect(target, tls, timeout)
            .await
            .map(|s| Stream::H2(Box::new(s))),
        Transport::Http3 => super::h3::connect(target, tls, timeout)
            .await
            .map(|s| Stream::H3(Box::new(s))),
    }
}

/// The TCP connection to `target`, within `timeout`, with Nagle off.
pub(super) async fn tcp(target: &Target, timeout: Duration) -> Result<TcpStream, ConnectError> {
    let addr = target.socket_addr();
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(&addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(source)) => return Err(ConnectError::Tcp { addr, source }),
        Err(_) => {
            return Err(ConnectError::TcpTimeout {
                addr,
                ms: timeout.as_millis(),
            })
        }
    };
    // Chopped writes are the point of some cases: each chop must leave as its own segment.
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// The client side of a TLS handshake on `tcp`, within `timeout`.
pub(super) async fn tls_handshake(
    target: &Target,
    tcp: TcpStream,
    config: &Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ConnectError> {
    let addr = target.socket_addr();
    // An IP literal becomes ServerName::IpAddress: rustls then sends no SNI (RFC 6066 §3
    // allows only host names) and checks the certificate's IP address names.
    let name = ServerName::try_from(target.host.clone()).map_err(|e| ConnectError::ServerName {
        host: target.host.clone(),
        reason: e.to_string(),
    })?;
    let connector = tokio_rustls::TlsConnector::from(config.clone());
    match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(tls_error(addr, &e)),
        Err(_) => Err(ConnectError::TlsTimeout {
            addr,
            ms: timeout.as_millis(),
        }),
    }
}

/// Connects to `target`, with TLS when it is `wss://` (`tls`, or the public roots when
/// None). TCP connect and TLS handshake each get `timeout`.
pub async fn connect(
    target: &Target,
    tls: Option<&Arc<rustls::ClientConfig>>,
    timeout: Duration,
) -> Result<Stream, ConnectError> {
    let tcp = tcp(target, timeout).await?;
    if !target.secure {
        return Ok(Stream::Tcp(tcp));
    }
    let config = tls
        .cloned()
        .unwrap_or_else(super::tls::default_client_config);
    tls_handshake(target, tcp, &config, timeout)
        .await
        .map(|s| Stream::TlsClient(Box::new(s)))
}

/// Completes the server side of a TLS handshake on an accepted connection.
pub async fn accept_tls(
    tcp: TcpStream,
    config: &Arc<rustls::ServerConfig>,
    timeout: Duration,
) -> Result<Stream, ConnectError> {
    let addr = tcp
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "the client".into());
    let _ = tcp.set_nodelay(true);
    let acceptor = tokio_rustls::TlsAcceptor::from(config.clone());
    match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => Ok(Stream::TlsServer(Box::new(s))),
        Ok(Err(e)) => Err(tls_error(addr, &e)),
        Err(_) => Err(ConnectError::TlsTimeout {
            addr,
            ms: timeout.as_millis(),
        }),
    }
}

/// tokio-rustls reports rustls' alert or verification failure inside an io::Error; its text
/// is the reason (e.g. "invalid peer certificate: UnknownIssuer").
fn tls_error(addr: String, e: &io::Error) -> ConnectError {
    let rustls_error = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    let certificate = matches!(
        rustls_error,
        Some(rustls::Error::InvalidCertificate(_))
            | Some(rustls::Error::AlertReceived(
                rustls::AlertDescription::BadCertificate
                    | rustls::AlertDescription::UnknownCA
                    | rustls::AlertDescription::CertificateUnknown
            ))
    );
    let mut reason = e.to_string();
    if matches!(rustls_error, Some(rustls::Error::InvalidMessage(_)))
        || e.kind() == io::ErrorKind::UnexpectedEof
    {
        reason.push_str(" (the peer does not seem to speak TLS)");
    }
    ConnectError::Tls {
        addr,
        reason,
        certificate,
    }
}

impl Stream {
    /// Read and write halves that can be used from different tasks.
    pub fn split(self) -> (ReadHalf, WriteHalf) {
        match self {
            Stream::Tcp(s) => {
                let (r, w) = s.into_split();
                (Box::new(r), Box::new(w))
            }
            Stream::H2(s) => {
                let (r, w) = s.split();
                (Box::new(r), Box::new(w))
            }
            Stream::H3(s) => {
                let (r, w) = s.split();
                (Box::new(r), Box::new(w))
            }
            tls => {
                let (r, w) = tokio::io::split(tls);
                (Box::new(r), Box::new(w))
            }
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::TlsClient(s) => end_without_close_notify(Pin::new(s).poll_read(cx, buf)),
            Stream::TlsServer(s) => end_without_close_notify(Pin::new(s).poll_read(cx, buf)),
            Stream::H2(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::H3(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

/// rustls reports a TCP close without TLS close_notify as an UnexpectedEof error. Most
/// WebSocket peers close that way (tungstenite does), and it is harmless here: the
/// WebSocket closing handshake already says where the stream ends, and a truncated frame
/// is judged by the codec. Reported as an error it would read as a reset and change close
/// verdicts between ws:// and wss:// for the same server; so it is an ordinary end of
/// stream. A real reset still comes through as ConnectionReset.
fn end_without_close_notify(p: Poll<io::Result<()>>) -> Poll<io::Result<()>> {
    match p {
        Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => Poll::Ready(Ok(())),
        other => other,
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::TlsClient(s) => Pin::new(s).poll_write(cx, buf),
            Stream::TlsServer(s) => Pin::new(s).poll_write(cx, buf),
            Stream::H2(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::H3(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::TlsClient(s) => Pin::new(s).poll_flush(cx),
            Stream::TlsServer(s) => Pin::new(s).poll_flush(cx),
            Stream::H2(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::H3(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    /// Over TLS this sends close_notify before half-closing TCP, so a `shutdown` step is a
    /// clean end of the TLS stream, as the peer's TLS layer expects.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::TlsClient(s) => Pin::new(s).poll_shutdown(cx),
            Stream::TlsServer(s) => Pin::new(s).poll_shutdown(cx),
            Stream::H2(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::H3(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Why a stream (HTTP/2 or HTTP/3) ended abnormally, as the session's reader will see it:
/// the first reason set wins.
pub(crate) type ResetSlot = std::sync::Arc<std::sync::Mutex<Option<String>>>;

/// Notes why a stream ended abnormally, unless a reason is already noted.
pub(crate) fn set_reset(slot: &ResetSlot, why: String) {
    let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
    if s.is_none() {
        *s = Some(why);
    }
}

/// Reads from a stream's pipe; where the pipe ends and a reset was noted, the read fails
/// with `ConnectionReset` and that reason, as a TCP reset would, instead of a clean end.
pub(crate) fn read_with_reset<R: AsyncRead + Unpin>(
    r: &mut R,
    reset: &ResetSlot,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    let before = buf.filled().len();
    match Pin::new(r).poll_read(cx, buf) {
        Poll::Ready(Ok(())) if buf.filled().len() == before => {
            let why = reset.lock().unwrap_or_else(|e| e.into_inner()).clone();
            match why {
                Some(why) => Poll::Ready(Err(io::Error::new(io::ErrorKind::ConnectionReset, why))),
                None => Poll::Ready(Ok(())),
            }
        }
        other => other,
    }
}
