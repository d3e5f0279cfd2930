//! WebSocket over an HTTP/3 stream (RFC 9220): extended CONNECT over QUIC.
//!
//! The twin of `h2.rs`. The session writes and reads bytes as over TCP; a pump turns them
//! into one bidirectional QUIC stream of an HTTP/3 connection. The session's opening
//! handshake arrives as an HTTP/1.1-shaped request head (without Upgrade, Connection and
//! Sec-WebSocket-Key); it becomes the HEADERS frame of an extended CONNECT (`:method
//! CONNECT`, `:protocol websocket`, `:scheme https`, `:path`, `:authority` from Host), and
//! the response HEADERS come back to the reader as an HTTP/1.1-shaped head with the real
//! status. After that the stream's DATA frames are the byte stream: the stream's FIN reads
//! as the end of TCP, and RESET_STREAM, STOP_SENDING or a closed connection as a TCP reset
//! (RFC 9220 §3: the RFC 8441 §5 closure rules apply with "the stream's FIN bit" for
//! END_STREAM and "a RESET_STREAM frame" for RST_STREAM; RFC 9114 §4.4 for CONNECT).
//!
//! HTTP/3 and QPACK are wsspec's own here, on quinn's QUIC: the `h3` crate builds
//! pseudo-headers from an `http::Request` and validates them, so it cannot send the requests
//! the bootstrapping cases need (no `:path`, no `:authority`, `:scheme` without
//! `:authority`). QPACK is the static table and literals only (see `qpack.rs`). A case
//! overrides a pseudo-header with a header line (`:protocol: chat`); an empty value leaves
//! it out, each one independently of the others.

pub mod frame;
pub mod huffman;
pub mod qpack;

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};

use self::frame::{FrameReader, ReadEnd};
use super::target::Target;
use super::transport::{read_with_reset, set_reset, ConnectError, ResetSlot};

/// Bytes each pipe between the session and the pump holds: about what a TCP socket buffers.
const PIPE: usize = 256 * 1024;
/// The largest response HEADERS (and control frame) read: a field section, not a body.
const MAX_FIELDS: usize = 64 * 1024;
/// The largest request head the pump waits for.
const MAX_HEAD: usize = 64 * 1024;
/// The largest DATA frame the pump sends: one write of the session, or a piece of it.
const MAX_DATA: usize = 64 * 1024;
/// H3_NO_ERROR, for closing what wsspec opened.
const NO_ERROR: u32 = 0x100;
/// The QUIC connection gives up on a silent server after this long; the case's own
/// timeouts are shorter, so this only bounds what is left after a session.
const IDLE: Duration = Duration::from_secs(30);

/// Aborts the connection's tasks and closes it when the session lets go of the stream.
struct Held {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    conn: quinn::Connection,
    _endpoint: quinn::Endpoint,
    /// The control stream must stay open as long as the connection (RFC 9114 §6.2.1).
    _control: quinn::SendStream,
}

impl Drop for Held {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        self.conn.close(NO_ERROR.into(), b"");
    }
}

/// The session's end of one WebSocket-over-HTTP/3 stream.
pub struct H3Stream {
    /// From the pump: the response head, then the stream's DATA.
    download: DuplexStream,
    /// To the pump: the session's writes.
    upload: DuplexStream,
    reset: ResetSlot,
    held: Arc<Held>,
}

/// Reads the stream: an end of the pipe after a reset is a ConnectionReset error.
pub struct H3Read {
    inner: DuplexStream,
    reset: ResetSlot,
    _held: Arc<Held>,
}

pub struct H3Write {
    inner: DuplexStream,
    _held: Arc<Held>,
}

impl H3Stream {
    pub fn split(self) -> (H3Read, H3Write) {
        (
            H3Read {
                inner: self.download,
                reset: self.reset,
                _held: self.held.clone(),
            },
            H3Write {
                inner: self.upload,
                _held: self.held,
            },
        )
    }
}

impl AsyncRead for H3Read {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        read_with_reset(&mut me.inner, &me.reset, cx, buf)
    }
}

impl AsyncRead for H3Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        read_with_reset(&mut me.download, &me.reset, cx, buf)
    }
}

macro_rules! write_through {
    ($t:ty, $field:ident) => {
        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.get_mut().$field).poll_write(cx, buf)
            }
            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut self.get_mut().$field).poll_flush(cx)
            }
            /// Ends the stream with FIN, the HTTP/3 form of a TCP half-close.
            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut self.get_mut().$field).poll_shutdown(cx)
            }
        }
    };
}
write_through!(H3Write, inner);
write_through!(H3Stream, upload);

/// How a failed read of a QUIC stream reads in the transcript.
pub(crate) fn describe_read(e: &quinn::ReadError) -> String {
    match e {
        quinn::ReadError::Reset(code) => format!(
            "the server reset the stream: RESET_STREAM ({})",
            frame::error_name(code.into_inner())
        ),
        quinn::ReadError::ConnectionLost(c) => describe_connection(c),
        other => format!("HTTP/3 stream error: {other}"),
    }
}

fn describe_write(e: &quinn::WriteError) -> String {
    match e {
        quinn::WriteError::Stopped(code) => stopped(code.into_inner()),
        quinn::WriteError::ConnectionLost(c) => describe_connection(c),
        other => format!("HTTP/3 stream error: {other}"),
    }
}

fn stopped(code: u64) -> String {
    format!(
        "the server reset the stream: STOP_SENDING ({})",
        frame::error_name(code)
    )
}

fn describe_connection(c: &quinn::ConnectionError) -> String {
    match c {
        quinn::ConnectionError::ApplicationClosed(a) => format!(
            "the server closed the QUIC connection: CONNECTION_CLOSE ({}{})",
            frame::error_name(a.error_code.into_inner()),
            if a.reason.is_empty() {
                String::new()
            } else {
                format!(", {:?}", crate::text::bounded_lossy(&a.reason, 120))
            }
        ),
        quinn::ConnectionError::TimedOut => {
            "the QUIC connection timed out (the server stopped answering)".into()
        }
        other => format!("the QUIC connection closed ({other})"),
    }
}

/// The client's QUIC configuration: ALPN h3 over the run's TLS trust.
fn client_config(tls: Option<&Arc<rustls::ClientConfig>>) -> Result<quinn::ClientConfig, String> {
    let mut config = tls
        .cloned()
        .unwrap_or_else(super::tls::default_client_config)
        .as_ref()
        .clone();
    config.alpn_protocols = vec![b"h3".to_vec()];
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(Arc::new(config))
        .map_err(|e| format!("the TLS configuration cannot be used for QUIC: {e}"))?;
    let mut c = quinn::ClientConfig::new(Arc::new(quic));
    let mut t = quinn::TransportConfig::default();
    // A server opens no request streams toward a client (RFC 9114 §6.1).
    t.max_concurrent_bidi_streams(0u32.into());
    t.max_concurrent_uni_streams(16u32.into());
    if let Ok(idle) = IDLE.try_into() {
        t.max_idle_timeout(Some(idle));
    }
    t.keep_alive_interval(Some(Duration::from_secs(5)));
    c.transport_config(Arc::new(t));
    Ok(c)
}

/// What the server's control stream said first.
#[derive(Debug, Clone)]
enum Settings {
    Received(Vec<(u64, u64)>),
    Failed(String),
}

/// Opens a QUIC connection to `target` with ALPN `h3`, exchanges SETTINGS, checks that the
/// server allows extended CONNECT (RFC 9220 §3: "SETTINGS_ENABLE_CONNECT_PROTOCOL ... set
/// to 1"), and hands back the session's end of the stream to come. Each step within
/// `timeout`.
pub async fn connect(
    target: &Target,
    tls: Option<&Arc<rustls::ClientConfig>>,
    timeout: Duration,
) -> Result<H3Stream, ConnectError> {
    let addr_text = target.socket_addr();
    let err = |reason: String| ConnectError::Http3 {
        addr: addr_text.clone(),
        reason,
    };
    let addr: SocketAddr =
        match tokio::time::timeout(timeout, tokio::net::lookup_host(addr_text.as_str())).await {
            Ok(Ok(mut addrs)) => addrs
                .next()
                .ok_or_else(|| err("the host name has no address".into()))?,
            Ok(Err(e)) => return Err(err(format!("cannot resolve the host: {e}"))),
            Err(_) => return Err(err("resolving the host timed out".into())),
        };
    let bind: SocketAddr = if addr.is_ipv6() {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    };
    let endpoint =
        quinn::Endpoint::client(bind).map_err(|e| err(format!("cannot open a UDP socket: {e}")))?;
    let config = client_config(tls).map_err(&err)?;
    let connecting = endpoint
        .connect_with(config, addr, &target.host)
        .map_err(|e| err(format!("cannot start QUIC: {e}")))?;
    let conn = match tokio::time::timeout(timeout, connecting).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            let text = e.to_string();
            if let quinn::ConnectionError::TransportError(t) = &e {
                if t.to_string().contains("certificate") {
                    return Err(ConnectError::Tls {
                        addr: addr_text,
                        reason: text,
                        certificate: true,
                    });
                }
            }
            return Err(err(format!("the QUIC handshake failed: {text}")));
        }
        Err(_) => {
            return Err(err(format!(
                "no QUIC handshake within {} ms (is an HTTP/3 server listening on UDP {addr}?)",
                timeout.as_millis()
            )))
        }
    };
    let alpn = conn
        .handshake_data()
        .and_then(|d| d.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|d| d.protocol);
    if alpn.as_deref() != Some(b"h3") {
        return Err(err("the server did not select h3 in ALPN".into()));
    }
    // Our control stream: its type, then SETTINGS (RFC 9114 §6.2.1: "MUST be the first
    // frame"). Empty: every setting at its default, the QPACK table capacity 0 included.
    // A server that grants no unidirectional stream would make this wait for ever.
    let mut control = tokio::time::timeout(timeout, conn.open_uni())
        .await
        .map_err(|_| {
            err("the server allowed no unidirectional stream for wsspec's control stream in time (RFC 9114 §6.2: it MUST allow at least three)".into())
        })?
        .map_err(|e| err(describe_connection(&e)))?;
    let mut first = Vec::new();
    frame::varint(&mut first, frame::CONTROL_STREAM);
    first.extend_from_slice(&frame::frame(frame::SETTINGS, &[]));
    tokio::time::timeout(timeout, control.write_all(&first))
        .await
        .map_err(|_| err("sending SETTINGS timed out".into()))?
        .map_err(|e| err(describe_write(&e)))?;
    let (settings_tx, mut settings_rx) = tokio::sync::watch::channel(None::<Settings>);
    let uni = tokio::spawn(accept_uni(conn.clone(), settings_tx));
    let settings = tokio::time::timeout(timeout, settings_rx.wait_for(|s| s.is_some())).await;
    let settings = match settings {
        Ok(Ok(s)) => s.clone(),
        _ => None,
    };
    let held = Held {
        tasks: vec![uni],
        conn: conn.clone(),
        _endpoint: endpoint,
        _control: control,
    };
    match settings {
        None => {
            return Err(err(format!(
                "the server sent no SETTINGS within {} ms (RFC 9114 §6.2.1: each side MUST send SETTINGS first on its control stream)",
                timeout.as_millis()
            )))
        }
        Some(Settings::Failed(why)) => return Err(err(why)),
        Some(Settings::Received(s)) => {
            if !s
                .iter()
                .any(|&(id, v)| id == frame::ENABLE_CONNECT_PROTOCOL && v == 1)
            {
                return Err(err(
                    "the server did not send SETTINGS_ENABLE_CONNECT_PROTOCOL = 1, so it does not accept WebSockets over HTTP/3 (RFC 9220 §3: the extended CONNECT of RFC 8441 is allowed once the server sends it)".into(),
                ));
            }
        }
    }
    Ok(stream_on(conn, held))
}

/// Reads the server's unidirectional streams: the control stream's SETTINGS go to
/// `settings`; QPACK streams (empty with a zero table) and unknown types are drained.
async fn accept_uni(
    conn: quinn::Connection,
    settings: tokio::sync::watch::Sender<Option<Settings>>,
) {
    let settings = Arc::new(settings);
    let fail = |s: &tokio::sync::watch::Sender<Option<Settings>>, why: String| {
        s.send_if_modified(|v| {
            if v.is_none() {
                *v = Some(Settings::Failed(why));
                true
            } else {
                false
            }
        });
    };
    loop {
        let recv = match conn.accept_uni().await {
            Ok(r) => r,
            Err(e) => {
                fail(&settings, describe_connection(&e));
                return;
            }
        };
        let settings = settings.clone();
        tokio::spawn(async move {
            let mut r = FrameReader::new(recv);
            let Ok(kind) = r.stream_type().await else {
                return;
            };
            if kind != frame::CONTROL_STREAM {
                // Drained a frame-sized piece at a time; what they carry is not needed.
                while r.some(MAX_FIELDS as u64).await.is_ok() {}
                return;
            }
            let why = match r.header().await {
                Ok((frame::SETTINGS, len)) => match r.payload(frame::SETTINGS, len, MAX_FIELDS).await {
                    Ok(p) => match frame::parse_settings(&p) {
                        Some(s) => {
                            settings.send_replace(Some(Settings::Received(s)));
                            // Later control frames (GOAWAY, ...) need no answer here.
                            while r.some(MAX_FIELDS as u64).await.is_ok() {}
                            return;
                        }
                        None => "the server's SETTINGS frame is malformed (RFC 9114 §7.2.4: H3_FRAME_ERROR)".to_owned(),
                    },
                    Err(e) => format!("reading the server's SETTINGS: {e:?}"),
                },
                Ok((kind, _)) => format!(
                    "the server's control stream began with frame type 0x{kind:x}, not SETTINGS (RFC 9114 §6.2.1: H3_MISSING_SETTINGS)"
                ),
                Err(e) => format!("the server's control stream ended before SETTINGS: {e:?}"),
            };
            fail(&settings, why);
        });
    }
}

/// The session's end of a stream to come on `conn`.
fn stream_on(conn: quinn::Connection, mut held: Held) -> H3Stream {
    let (session_down, pump_down) = tokio::io::duplex(PIPE);
    let (session_up, pump_up) = tokio::io::duplex(PIPE);
    let reset: ResetSlot = Arc::default();
    held.tasks
        .push(tokio::spawn(pump(conn, pump_up, pump_down, reset.clone())));
    H3Stream {
        download: session_down,
        upload: session_up,
        reset,
        held: Arc::new(held),
    }
}

/// The HEADERS of the extended CONNECT a session's request head stands for: pseudo-headers
/// first (RFC 9114 §4.3: "MUST appear in the header section before regular header fields"),
/// each left out when the case emptied it.
pub fn request_fields(c: &super::h2::Connect) -> Vec<(String, String)> {
    let mut f = vec![(":method".to_owned(), c.method.clone())];
    let pseudo = [
        (":protocol", c.protocol.as_ref()),
        (":scheme", c.scheme.as_ref()),
        (":authority", c.authority.as_ref()),
        (":path", Some(&c.path).filter(|p| !p.is_empty())),
    ];
    for (name, value) in pseudo {
        if let Some(v) = value {
            f.push((name.to_owned(), v.clone()));
        }
    }
    f.extend(c.headers.iter().cloned());
    f
}

/// The response HEADERS as an HTTP/1.1-shaped head for the session's reader; None when
/// there is no valid `:status`. Peer bytes are kept as they are (the reader bounds and
/// escapes them like any HTTP/1.1 response).
fn render(fields: &[qpack::Field]) -> Option<(u16, Vec<u8>)> {
    let status = fields
        .iter()
        .find(|(n, _)| n == b":status")
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse::<u16>().ok())
        .filter(|s| (100..1000).contains(s))?;
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
    for (n, v) in fields.iter().filter(|(n, _)| !n.starts_with(b":")) {
        // A field line cannot carry CR or LF into the head it is rendered as.
        let clean = |b: &[u8]| -> Vec<u8> {
            b.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
                .collect()
        };
        out.extend_from_slice(&clean(n));
        out.extend_from_slice(b": ");
        out.extend_from_slice(&clean(v));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Some((status, out))
}

/// Moves bytes between the session's pipes and one extended CONNECT stream.
async fn pump(
    conn: quinn::Connection,
    mut from_session: DuplexStream,
    mut to_session: DuplexStream,
    reset: ResetSlot,
) {
    // The request head, up to its blank line.
    let mut head = Vec::new();
    let mut buf = vec![0u8; MAX_DATA];
    let end = loop {
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if head.len() > MAX_HEAD {
            set_reset(&reset, "wsspec: the request head is too long".into());
            return;
        }
        match from_session.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    };
    let rest = head.split_off(end);
    let fields = match super::h2::translate(&head, "https") {
        Ok(c) => request_fields(&c),
        Err(e) => {
            set_reset(
                &reset,
                format!("wsspec cannot send this request over HTTP/3: {e}"),
            );
            return;
        }
    };
    let (mut send, recv) = match conn.open_bi().await {
        Ok(s) => s,
        Err(e) => {
            set_reset(&reset, describe_connection(&e));
            return;
        }
    };
    let mut first = frame::frame(frame::HEADERS, &qpack::encode(&fields));
    if !rest.is_empty() {
        first.extend_from_slice(&frame::frame(frame::DATA, &rest));
    }
    if let Err(e) = send.write_all(&first).await {
        set_reset(&reset, describe_write(&e));
        return;
    }
    let upload_reset = reset.clone();
    let upload_conn = conn.clone();
    // Returns only when the server stopped the stream or the connection failed; after the
    // session's FIN it waits (the stream stays open for reading).
    let upload = async move {
        let stop = send.stopped();
        tokio::pin!(stop);
        let mut ended = false;
        loop {
            tokio::select! {
                s = &mut stop => {
                    match s {
                        Ok(Some(code)) => set_reset(&upload_reset, stopped(code.into_inner())),
                        Ok(None) => {
                            // Everything sent was received: only the FIN's end, keep reading.
                            std::future::pending::<()>().await;
                        }
                        // Say why the connection closed (the server's CONNECTION_CLOSE).
                        Err(e) => set_reset(
                            &upload_reset,
                            upload_conn
                                .close_reason()
                                .map(|c| describe_connection(&c))
                                .unwrap_or_else(|| format!("the QUIC connection closed ({e})")),
                        ),
                    }
                    return;
                }
                n = from_session.read(&mut buf), if !ended => match n {
                    Ok(0) | Err(_) => {
                        // The session half-closed (or let go): FIN.
                        let _ = send.finish();
                        ended = true;
                    }
                    Ok(n) => {
                        let mut data = Vec::with_capacity(n + 9);
                        frame::header(&mut data, frame::DATA, n);
                        data.extend_from_slice(&buf[..n]);
                        if let Err(e) = send.write_all(&data).await {
                            set_reset(&upload_reset, describe_write(&e));
                            return;
                        }
                    }
                },
            }
        }
    };
    let download = async move {
        download(FrameReader::new(recv), &mut to_session, &reset).await;
        let _ = to_session.shutdown().await;
        // Keep the pipe (and the stream) until the session lets go.
        std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = upload => {}
        _ = download => {}
    }
}

/// The response HEADERS, then the DATA of the stream, to the session. Returns at the end of
/// the stream, having set `reset` when it was not a clean FIN.
async fn download(mut r: FrameReader, to_session: &mut DuplexStream, reset: &ResetSlot) {
    let unexpected =
        |what: &str| format!("the server sent {what} (RFC 9114 §4.1: H3_FRAME_UNEXPECTED)");
    let mut answered = false;
    let mut interim = None;
    loop {
        let (kind, len) = match r.header().await {
            Ok(h) => h,
            Err(end) => return ended(end, reset, answered),
        };
        match kind {
            frame::HEADERS => {
                let section = match r.payload(kind, len, MAX_FIELDS).await {
                    Ok(p) => p,
                    Err(end) => return ended(end, reset, answered),
                };
                if answered {
                    // Trailers: nothing a WebSocket reads.
                    continue;
                }
                let fields = match qpack::decode(&section) {
                    Ok(f) => f,
                    Err(e) => {
                        set_reset(
                            reset,
                            format!("the server's response HEADERS cannot be decoded: {e}"),
                        );
                        return;
                    }
                };
                let Some((status, head)) = render(&fields) else {
                    set_reset(reset, "the server's response HEADERS has no valid :status (RFC 9114 §4.3.2: malformed)".into());
                    return;
                };
                if status == 101 {
                    // Not an interim response wsspec can wait past: a server that answers
                    // 101 treats the extended CONNECT as an HTTP/1.1 Upgrade.
                    set_reset(reset, "the server answered 101 Switching Protocols, which HTTP/3 does not have (RFC 9114 §4.5: HTTP/3 does not support \"the 101 (Switching Protocols) informational status code\"; RFC 9220 §3 / RFC 8441 §5: a 2xx accepts)".into());
                    return;
                }
                if (100..200).contains(&status) {
                    // An interim response: the final one follows.
                    interim = Some(status);
                    continue;
                }
                if to_session.write_all(&head).await.is_err() {
                    return;
                }
                answered = true;
            }
            frame::DATA if !answered => {
                let what = match interim {
                    // RFC 9114 §4.5: "HTTP/3 does not support ... the 101 (Switching
                    // Protocols) informational status code".
                    Some(s) => format!("DATA after an interim {s} and before any final response"),
                    None => "DATA before the response HEADERS".to_owned(),
                };
                set_reset(reset, unexpected(&what));
                return;
            }
            frame::DATA => {
                let mut left = len;
                while left > 0 {
                    match r.some(left).await {
                        Ok(b) => {
                            left -= b.len() as u64;
                            if to_session.write_all(&b).await.is_err() {
                                return;
                            }
                        }
                        Err(end) => return ended(end, reset, answered),
                    }
                }
            }
            _ => {
                // Reserved and unknown frame types are skipped (RFC 9114 §9); known
                // connection-level ones here would be an error, which the server's own
                // problem, not the WebSocket's: skipped too.
                let mut left = len;
                while left > 0 {
                    match r.some(left).await {
                        Ok(b) => left -= b.len() as u64,
                        Err(end) => return ended(end, reset, answered),
                    }
                }
            }
        }
    }
}

fn ended(end: ReadEnd, reset: &ResetSlot, _answered: bool) {
    match end {
        // Before a response too: the end of the stream, as a TCP close before a response.
        ReadEnd::Fin => {}
        ReadEnd::Truncated => set_reset(
            reset,
            "the server ended the stream in the middle of an HTTP/3 frame (RFC 9114 §7.1: H3_FRAME_ERROR)".into(),
        ),
        ReadEnd::TooLong { kind, len } => set_reset(
            reset,
            format!("the server sent a {len}-byte frame of type 0x{kind:x}, above wsspec's bound of {MAX_FIELDS}"),
        ),
        ReadEnd::Error(why) => set_reset(reset, why),
    }
}
