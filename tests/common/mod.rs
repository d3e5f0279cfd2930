//! Test peers built on wsspec's own codec and handshake modules: a configurable echo server
//! whose defects are switched on one at a time ([`Bugs`]), raw TCP servers for hostile
//! behaviour, and helpers to look at run results.
//!
//! The echo server is a second correct implementation besides tokio-tungstenite (the
//! reference): with no bug switched on, the whole built-in suite must pass against it.
//! Every read and write is bounded in time and size, and every connection task dies with
//! the server, so a test can neither hang on it nor leak it.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use wsspec::case::{Case, ExpectKind, Grade, Step};
use wsspec::codec::{
    close_code_valid_on_wire, close_payload, Assembled, Assembler, DecodedFrame, Decoder,
    DecoderConfig, Expect, FatalError, Frame, LengthForm, OpCode, Rule,
};
use wsspec::handshake::{accept_key, parse_request, validate_request, HandshakeRule, ResponseSpec};
use wsspec::judge::verdict::soften;
use wsspec::results::{CaseResult, RunResults};

/// One deliberate defect per flag. `Bugs::default()` is a correct server.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bugs {
    // Opening handshake.
    /// Sec-WebSocket-Accept is computed from the wrong input (the key without its last
    /// character), as when a server trims or mangles the key.
    pub wrong_accept: bool,
    /// A handshake it refuses ends with the connection dropped, no HTTP response.
    pub no_error_response: bool,
    /// An unsupported Sec-WebSocket-Version gets 426 but no Sec-WebSocket-Version header.
    pub version_no_426_header: bool,
    /// The Upgrade value is compared case-sensitively with "websocket".
    pub upgrade_case_sensitive: bool,
    /// The Connection value must be exactly "Upgrade" (any case): no token list parsing.
    pub connection_exact_match: bool,
    /// The Upgrade header is not checked (missing, h2c, ... are accepted).
    pub accept_any_upgrade: bool,
    /// The Connection header is not checked.
    pub accept_any_connection: bool,
    /// Sec-WebSocket-Key is not checked (missing, not base64, wrong length are accepted).
    pub accept_bad_key: bool,
    /// A request with two Sec-WebSocket-Key headers is accepted (the first one is used).
    pub accept_duplicate_key: bool,
    /// A request without a Host header is accepted.
    pub accept_missing_host: bool,
    /// Sec-WebSocket-Version is not checked.
    pub accept_any_version: bool,
    /// The method is not checked (POST, PUT, HEAD are accepted).
    pub accept_any_method: bool,
    /// HTTP/1.0 requests are accepted.
    pub accept_http_1_0: bool,
    /// When the client offers subprotocols, the 101 selects one it did not offer.
    pub pick_unoffered_subprotocol: bool,
    /// The client's Sec-WebSocket-Extensions offer is copied into the 101, as if the
    /// server supported every extension it is offered.
    pub echo_unknown_extension: bool,
    /// Bytes that arrive in the same read as the request (frames the client sent with
    /// it) are thrown away.
    pub drop_early_frames: bool,
    // Framing.
    /// Off by one at both length boundaries: a 125-byte payload is written in the 16-bit
    /// form and a 65535-byte one in the 64-bit form (`len < 125`, `len < 65535`).
    pub non_minimal_length: bool,
    /// The most significant bit of a 64-bit length is dropped instead of failing the
    /// connection (the length is read as 63 bits).
    pub ignore_length_msb: bool,
    // Masking.
    /// Frames the server sends are masked.
    pub mask_server_frames: bool,
    /// The client's MASK bit is not checked: unmasked frames are processed.
    pub accept_unmasked: bool,
    // Reserved bits and opcodes.
    /// RSV1-3 are not checked.
    pub ignore_rsv: bool,
    /// Frames with reserved opcodes are skipped instead of failing the connection.
    pub ignore_reserved_opcodes: bool,
    // Control frames.
    /// Pings are not answered.
    pub no_pong: bool,
    /// Pongs carry a payload other than the ping's.
    pub wrong_pong_payload: bool,
    /// Control frames over 125 bytes are processed (a 126-byte ping is answered).
    pub allow_big_control: bool,
    /// Pongs are answered with a pong carrying the same payload, like pings.
    pub answer_pongs: bool,
    /// Control frames with FIN clear are reassembled with the continuation frames that
    /// follow, like a message, instead of failing the connection.
    pub allow_fragmented_control: bool,
    // Fragmentation.
    /// Fragmented messages are not supported: a data frame with FIN clear fails the
    /// connection with 1003.
    pub reject_fragmented: bool,
    /// A continuation frame with no message open is skipped instead of failing the
    /// connection.
    pub accept_continuation_without_start: bool,
    /// A text or binary frame while a fragmented message is open is taken as the next
    /// fragment of that message instead of failing the connection.
    pub accept_interleaved_messages: bool,
    // UTF-8.
    /// Text messages and close reasons are not checked for UTF-8: invalid text is echoed.
    pub no_utf8_check: bool,
    /// A text message is checked for UTF-8 only once it is complete, not fragment by
    /// fragment (RFC 6455 §8.1 fail-fast is missed).
    pub utf8_check_at_end_only: bool,
    // Closing handshake.
    /// A close frame is not answered: the server drops TCP instead.
    pub no_close_reply: bool,
    /// Close codes are not checked: a close frame with an invalid code is answered with
    /// 1000 instead of failing the connection.
    pub wrong_close_code: bool,
    /// Close payloads are not checked for shape: a 1-byte payload and a 126-byte close
    /// frame are answered like any close.
    pub accept_invalid_close_payload: bool,
    /// After the closing handshake the server keeps TCP open, waiting for the client to
    /// close it (RFC 6455 §5.5.1, §7.1.1: the server closes first).
    pub linger_after_close: bool,
    // Limits.
    /// Messages and frames over 1 MiB are refused with 1009 (a size limit, not a bug).
    pub message_limit_1mib: bool,
    // Not a bug: a choice the RFC leaves open.
    /// Frames whose length is not minimally encoded fail the connection (1002). RFC 6455
    /// §5.2 binds the sender; a receiver may accept or reject such frames.
    pub reject_non_minimal: bool,
}

/// Largest request head, frame and message the test server accepts.
const MAX_HEAD: usize = 16 * 1024;
/// Twice the largest message of the built-in suite (16 MiB, the `limits` area).
const MAX_FRAME: u64 = 32 << 20;
const MAX_MESSAGE: u64 = 32 << 20;
/// The limit with `message_limit_1mib`.
const LIMIT_1MIB: u64 = 1 << 20;
/// Bound on any single read or write, and on a whole connection. A client may be slow for
/// reasons of its own: under load, the wsspec session sharing this runtime can be held up
/// for seconds while other cases build megabyte payloads, so a single read waits as long
/// as wsspec's longest step timeout (20 s, the `limits` cases), and a connection as long
/// as a test's whole run.
const IO_TIMEOUT: Duration = Duration::from_secs(20);
const CONN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the server keeps reading after it closed, waiting for the client to go, and
/// how much it reads then at most.
const LINGER: Duration = Duration::from_secs(2);
const MAX_DRAIN: usize = 64 << 20;

/// A TCP server on 127.0.0.1 that runs `handler` for every connection; it stops, with all
/// its connections, when dropped. Each connection is cut off after `CONN_TIMEOUT`.
pub struct TestServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start<F, Fut>(handler: F) -> TestServer
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            // Dropping the set (when this task is aborted) aborts every connection task.
            let mut conns = JoinSet::new();
            loop {
                while conns.try_join_next().is_some() {}
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let fut = handler(stream);
                conns.spawn(async move {
                    let _ = tokio::time::timeout(CONN_TIMEOUT, fut).await;
                });
            }
        });
        TestServer { addr, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The configurable echo server.
pub async fn broken_server(bugs: Bugs) -> TestServer {
    TestServer::start(move |s| serve(s, bugs)).await
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

pub async fn write_all(s: &mut TcpStream, bytes: &[u8]) -> bool {
    matches!(
        tokio::time::timeout(IO_TIMEOUT, s.write_all(bytes)).await,
        Ok(Ok(()))
    )
}

pub async fn read_some(s: &mut TcpStream, buf: &mut [u8]) -> Option<usize> {
    match tokio::time::timeout(IO_TIMEOUT, s.read(buf)).await {
        Ok(Ok(n)) if n > 0 => Some(n),
        _ => None,
    }
}

/// Ends a connection politely: FIN, then read and discard what the client still sends
/// (bounded), so the kernel does not answer unread data with a reset that could destroy
/// the close frame in flight.
async fn linger_close(mut s: TcpStream) {
    let _ = s.shutdown().await;
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = tokio::time::Instant::now() + LINGER;
    let mut total = 0usize;
    // More than the largest message wsspec sends (16 MiB): closing with unread data
    // would send a reset, which can destroy the close frame before the client reads it.
    while total < MAX_DRAIN {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => total += n,
            _ => break,
        }
    }
}

/// Whether `bugs` make the server skip the check of `rule`.
fn unchecked(rule: HandshakeRule, bugs: Bugs) -> bool {
    use HandshakeRule::*;
    match rule {
        UpgradeMissing | UpgradeNotWebsocket => bugs.accept_any_upgrade,
        ConnectionMissingUpgrade => bugs.accept_any_connection,
        KeyMissing | KeyInvalid => bugs.accept_bad_key,
        KeyDuplicated => bugs.accept_duplicate_key,
        HostMissing => bugs.accept_missing_host,
        VersionMissing | VersionNot13 => bugs.accept_any_version,
        MethodNotGet => bugs.accept_any_method,
        HttpVersion => bugs.accept_http_1_0,
        _ => false,
    }
}

/// The reason a request is refused, as a complete HTTP response, or None to accept it.
fn refusal(req: &wsspec::handshake::Request, bugs: Bugs) -> Option<ResponseSpec> {
    let mut problems: Vec<HandshakeRule> = validate_request(req)
        .into_iter()
        .map(|p| p.rule)
        // Rejecting a key with non-zero pad bits is optional (erratum 3150).
        .filter(|r| *r != HandshakeRule::KeyNonCanonical)
        .filter(|r| !unchecked(*r, bugs))
        .collect();
    if bugs.upgrade_case_sensitive
        && !req
            .headers_named("Upgrade")
            .any(|v| v == b"websocket".as_slice())
    {
        problems.push(HandshakeRule::UpgradeNotWebsocket);
    }
    if bugs.connection_exact_match
        && !req
            .headers_named("Connection")
            .any(|v| v.eq_ignore_ascii_case(b"upgrade"))
    {
        problems.push(HandshakeRule::ConnectionMissingUpgrade);
    }
    if problems.is_empty() {
        return None;
    }
    let mut r = if problems.contains(&HandshakeRule::VersionNot13) {
        let mut r = ResponseSpec::new(426, "Upgrade Required");
        if !bugs.version_no_426_header {
            r.add("Sec-WebSocket-Version", "13");
        }
        r
    } else if problems.contains(&HandshakeRule::MethodNotGet) {
        let mut r = ResponseSpec::new(405, "Method Not Allowed");
        r.add("Allow", "GET");
        r
    } else {
        ResponseSpec::new(400, "Bad Request")
    };
    r.add("Connection", "close");
    r.add("Content-Length", "0");
    Some(r)
}

/// Reads and answers the opening handshake. Returns the bytes received after the request
/// head (frames the client sent along with it), or None when the connection is over.
async fn handshake(s: &mut TcpStream, bugs: Bugs) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = vec![0u8; 4096];
    let req = loop {
        let n = read_some(s, &mut buf).await?;
        head.extend_from_slice(&buf[..n]);
        match parse_request(&head, MAX_HEAD) {
            Ok(None) => continue,
            Ok(Some(r)) => break Ok(r),
            Err(e) => break Err(e),
        }
    };
    let refused = match &req {
        Ok(r) => refusal(r, bugs),
        Err(_) => Some({
            let mut r = ResponseSpec::new(400, "Bad Request");
            r.add("Connection", "close");
            r.add("Content-Length", "0");
            r
        }),
    };
    if let Some(resp) = refused {
        if !bugs.no_error_response {
            write_all(s, &resp.to_bytes()).await;
        }
        return None;
    }
    let req = req.expect("refused above otherwise");
    let key =
        String::from_utf8_lossy(req.header("Sec-WebSocket-Key").unwrap_or_default()).into_owned();
    let mut resp = ResponseSpec::switching_protocols(&key);
    if bugs.wrong_accept {
        resp.set(
            "Sec-WebSocket-Accept",
            &accept_key(&key[..key.len().saturating_sub(1)]),
        );
    }
    if bugs.pick_unoffered_subprotocol && req.header("Sec-WebSocket-Protocol").is_some() {
        resp.add("Sec-WebSocket-Protocol", "x-wsspec-not-offered");
    }
    if bugs.echo_unknown_extension {
        for v in req.headers_named("Sec-WebSocket-Extensions") {
            resp.add("Sec-WebSocket-Extensions", &String::from_utf8_lossy(v));
        }
    }
    if !write_all(s, &resp.to_bytes()).await {
        return None;
    }
    if bugs.drop_early_frames {
        return Some(Vec::new());
    }
    Some(head.split_off(req.head_len))
}

/// How the server writes frames, bugs included.
fn encode(bugs: Bugs, opcode: u8, payload: Vec<u8>) -> Vec<u8> {
    let len = payload.len();
    let mut f = Frame::new(opcode, payload);
    if bugs.non_minimal_length {
        f.length_form = if len < 125 {
            LengthForm::Bits7
        } else if len < 65535 {
            LengthForm::Bits16
        } else {
            LengthForm::Bits64
        };
    }
    if bugs.mask_server_frames {
        f.mask = Some([0x5a, 0xa5, 0x0f, 0xf0]);
    }
    f.encode().expect("server frames always encode")
}

fn close_frame(bugs: Bugs, code: Option<u16>) -> Vec<u8> {
    encode(bugs, OpCode::CLOSE.0, close_payload(code, b""))
}

/// What to do after one frame.
enum Next {
    Go,
    /// Send this close code and close (failing the connection, or ending after a close).
    Fail(u16),
    /// The client closed with this payload: answer and close.
    Closed(Vec<u8>),
}

/// The close code for a rule broken by the client (RFC 6455 §7.4.1).
fn code_for(rule: Rule) -> u16 {
    match rule {
        Rule::InvalidUtf8 | Rule::CloseReasonInvalidUtf8 => 1007,
        Rule::MessageTooLarge | Rule::FrameTooLarge => 1009,
        _ => 1002,
    }
}

struct Conn {
    bugs: Bugs,
    assembler: Assembler,
    /// A fragmented control frame being collected (only with `allow_fragmented_control`).
    control: Option<(u8, Vec<u8>)>,
    /// The open message started as text but is assembled as binary, so that the
    /// assembler's UTF-8 check is skipped (only with `no_utf8_check` and
    /// `utf8_check_at_end_only`).
    text_as_binary: bool,
    out: Vec<u8>,
}

impl Conn {
    fn new(bugs: Bugs) -> Conn {
        Conn {
            bugs,
            assembler: Assembler::new(max_message(bugs)),
            control: None,
            text_as_binary: false,
            out: Vec::new(),
        }
    }

    fn ignored(&self, rule: Rule, opcode: OpCode) -> bool {
        let b = self.bugs;
        match rule {
            Rule::MaskMissing => b.accept_unmasked,
            Rule::ReservedBitSet => b.ignore_rsv,
            Rule::ReservedOpcode => b.ignore_reserved_opcodes,
            Rule::ControlFrameTooLong => {
                b.allow_big_control || (b.accept_invalid_close_payload && opcode == OpCode::CLOSE)
            }
            Rule::ControlFrameFragmented => b.allow_fragmented_control,
            Rule::NonMinimalLength => !b.reject_non_minimal,
            Rule::ClosePayloadOneByte => b.accept_invalid_close_payload,
            Rule::CloseCodeInvalid => b.wrong_close_code,
            Rule::CloseReasonInvalidUtf8 => b.no_utf8_check,
            _ => false,
        }
    }

    fn frame(&mut self, df: &DecodedFrame) -> Next {
        let b = self.bugs;
        let op = OpCode(df.frame.opcode);
        if let Some(v) = df.violations.iter().find(|v| !self.ignored(v.rule, op)) {
            return Next::Fail(code_for(v.rule));
        }
        let f = &df.frame;
        if op.is_reserved() {
            // Only reached with `ignore_reserved_opcodes`: the frame is skipped.
            return Next::Go;
        }
        if op.is_control() && !f.fin {
            // Only reached with `allow_fragmented_control`.
            self.control = Some((f.opcode, f.payload.clone()));
            return Next::Go;
        }
        if op == OpCode::CONTINUATION {
            if let Some((_, buf)) = self.control.as_mut() {
                buf.extend_from_slice(&f.payload);
                if !f.fin {
                    return Next::Go;
                }
                let (opcode, payload) = self.control.take().expect("open");
                return self.control_frame(opcode, payload);
            }
        }
        let data = !op.is_control();
        if b.reject_fragmented && data && !f.fin {
            return Next::Fail(1003);
        }
        // Some bugs hand the assembler a frame with another opcode than the one received.
        let starts = op == OpCode::TEXT || op == OpCode::BINARY;
        let relabel = if b.accept_interleaved_messages && starts && self.assembler.in_message() {
            Some(OpCode::CONTINUATION)
        } else if (b.no_utf8_check || b.utf8_check_at_end_only) && starts {
            self.text_as_binary = op == OpCode::TEXT;
            Some(OpCode::BINARY)
        } else {
            None
        };
        let relabelled;
        let df = match relabel {
            Some(new) => {
                let mut d = df.clone();
                d.frame.opcode = new.0;
                relabelled = d;
                &relabelled
            }
            None => df,
        };
        match self.assembler.push(df) {
            Ok(Assembled::Partial) => Next::Go,
            Ok(Assembled::Message {
                mut opcode,
                payload,
                ..
            }) => {
                if std::mem::take(&mut self.text_as_binary) {
                    opcode = OpCode::TEXT.0;
                    if b.utf8_check_at_end_only && wsspec::utf8::validate(&payload).is_err() {
                        return Next::Fail(1007);
                    }
                }
                let bytes = encode(b, opcode, payload);
                self.out.extend_from_slice(&bytes);
                Next::Go
            }
            Ok(Assembled::Control(f)) => self.control_frame(f.opcode, f.payload),
            Err(v)
                if v.rule == Rule::ContinuationWithoutMessage
                    && b.accept_continuation_without_start =>
            {
                Next::Go
            }
            Err(v) => Next::Fail(code_for(v.rule)),
        }
    }

    fn control_frame(&mut self, opcode: u8, payload: Vec<u8>) -> Next {
        match OpCode(opcode) {
            OpCode::PING if self.bugs.no_pong => Next::Go,
            OpCode::PING => {
                let mut p = payload;
                if self.bugs.wrong_pong_payload {
                    match p.first_mut() {
                        Some(b) => *b ^= 0x01,
                        None => p.push(b'?'),
                    }
                }
                let bytes = encode(self.bugs, OpCode::PONG.0, p);
                self.out.extend_from_slice(&bytes);
                Next::Go
            }
            OpCode::PONG if self.bugs.answer_pongs => {
                let bytes = encode(self.bugs, OpCode::PONG.0, payload);
                self.out.extend_from_slice(&bytes);
                Next::Go
            }
            OpCode::CLOSE => Next::Closed(payload),
            _ => Next::Go,
        }
    }
}

/// Rewrites the 64-bit length at the start of `raw` (a frame header) to drop its top bit,
/// as a server reading the length as 63 bits would. True when it changed something.
fn drop_length_msb(raw: &mut [u8]) -> bool {
    if raw.len() >= 3 && raw[1] & 0x7f == 127 && raw[2] & 0x80 != 0 {
        raw[2] &= 0x7f;
        true
    } else {
        false
    }
}

fn max_message(bugs: Bugs) -> u64 {
    if bugs.message_limit_1mib {
        LIMIT_1MIB
    } else {
        MAX_MESSAGE
    }
}

fn decoder(bugs: Bugs) -> Decoder {
    Decoder::new(DecoderConfig {
        expect: Expect::Masked,
        max_frame_payload: if bugs.message_limit_1mib {
            LIMIT_1MIB
        } else {
            MAX_FRAME
        },
        allowed_rsv: 0,
    })
}

/// With `linger_after_close`: instead of closing TCP, wait (bounded) for the client to.
async fn wait_for_client_close(mut s: TcpStream) {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + CONN_TIMEOUT;
    let mut total = 0usize;
    while total < MAX_DRAIN {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => total += n,
            _ => break,
        }
    }
}

/// Ends a connection after the closing handshake, bugs included.
async fn end(s: TcpStream, bugs: Bugs) {
    if bugs.linger_after_close {
        wait_for_client_close(s).await;
    } else {
        linger_close(s).await;
    }
}

async fn serve(mut s: TcpStream, bugs: Bugs) {
    let Some(early) = handshake(&mut s, bugs).await else {
        if !bugs.no_error_response {
            linger_close(s).await;
        }
        return;
    };
    let mut conn = Conn::new(bugs);
    let mut dec = decoder(bugs);
    // The undecoded bytes, kept only for `ignore_length_msb`, which re-reads a header.
    let mut raw: Vec<u8> = Vec::new();
    let mut input = early;
    let mut buf = vec![0u8; 64 * 1024];
    let end_with = 'conn: loop {
        dec.feed(&input);
        if bugs.ignore_length_msb {
            raw.extend_from_slice(&input);
        }
        loop {
            let next = match dec.next_frame() {
                Ok(None) => break,
                Ok(Some(df)) => {
                    if bugs.ignore_length_msb {
                        raw.drain(..df.wire_len);
                    }
                    conn.frame(&df)
                }
                Err(FatalError::FrameTooLarge { .. })
                    if bugs.ignore_length_msb && drop_length_msb(&mut raw) =>
                {
                    dec = decoder(bugs);
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
                if !write_all(&mut s, &out).await {
                    return;
                }
            }
            match next {
                Next::Go => {}
                other => break 'conn other,
            }
        }
        match read_some(&mut s, &mut buf).await {
            Some(n) => input = buf[..n].to_vec(),
            None => return,
        }
    };
    match end_with {
        Next::Closed(_) if bugs.no_close_reply => {
            // Drop TCP without answering the close frame.
        }
        Next::Closed(payload) => {
            // Echo the status code (RFC 6455 §5.5.1); a valid close was checked by the
            // decoder, so the code, if any, may be sent back.
            let code = (payload.len() >= 2)
                .then(|| u16::from_be_bytes([payload[0], payload[1]]))
                .map(|c| {
                    if bugs.wrong_close_code && !close_code_valid_on_wire(c) {
                        1000
                    } else {
                        c
                    }
                });
            if write_all(&mut s, &close_frame(bugs, code)).await {
                end(s, bugs).await;
            }
        }
        Next::Fail(code) => {
            if write_all(&mut s, &close_frame(bugs, Some(code))).await {
                end(s, bugs).await;
            }
        }
        Next::Go => unreachable!(),
    }
}

// ---- pieces for hand-written hostile servers ----

/// Reads a request head (bounded) and returns its Sec-WebSocket-Key, or None.
pub async fn read_request_key(s: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = read_some(s, &mut buf).await?;
        head.extend_from_slice(&buf[..n]);
        if let Some(req) = parse_request(&head, MAX_HEAD).ok()? {
            return req
                .header("Sec-WebSocket-Key")
                .map(|k| String::from_utf8_lossy(k).into_owned());
        }
    }
}

/// Reads the request and writes a correct 101; false if the connection is gone.
pub async fn accept_handshake(s: &mut TcpStream) -> bool {
    let Some(key) = read_request_key(s).await else {
        return false;
    };
    write_all(s, &ResponseSpec::switching_protocols(&key).to_bytes()).await
}

/// Keeps a connection open, doing nothing, until the server is dropped (or the bound on a
/// connection's life runs out).
pub async fn hold(s: TcpStream) {
    tokio::time::sleep(CONN_TIMEOUT).await;
    drop(s);
}

// ---- looking at results ----

/// The built-in suite, loaded once per test binary: the helpers below consult it often.
pub fn builtin() -> wsspec::Suite {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    let cases = CASES.get_or_init(|| {
        wsspec::Suite::builtin()
            .expect("built-in cases load")
            .cases()
            .to_vec()
    });
    wsspec::Suite::from_cases(cases.clone())
}

/// Ids of the cases with this verdict.
pub fn ids_with(r: &RunResults, g: Grade) -> BTreeSet<String> {
    r.cases
        .iter()
        .filter(|c| c.verdict == g)
        .map(|c| c.id.clone())
        .collect()
}

pub fn failed(r: &RunResults) -> BTreeSet<String> {
    ids_with(r, Grade::Fail)
}

pub fn case<'a>(r: &'a RunResults, id: &str) -> &'a CaseResult {
    r.cases
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no case {id} in the results"))
}

/// Every case id of the built-in suite matching one of `patterns` (wsspec's own id
/// patterns: a dotted prefix or a glob).
pub fn ids(patterns: &[&str]) -> BTreeSet<String> {
    builtin()
        .select(patterns, &[])
        .expect("patterns parse")
        .cases()
        .iter()
        .filter(|c| c.role.applies_to(wsspec::case::Role::Server))
        .map(|c| c.id.clone())
        .collect()
}

/// Whether the case expects the opening handshake to succeed (status 101), i.e. it
/// establishes a WebSocket connection with a correct peer.
pub fn establishes(c: &Case) -> bool {
    c.steps.iter().any(|s| match s {
        Step::Expect(e) => match &e.kind {
            ExpectKind::Handshake(h) => {
                h.status.is_empty() || h.status.iter().any(|p| p.matches(101))
            }
            _ => false,
        },
        _ => false,
    })
}

/// Whether, against a correct peer, the case establishes a connection and then sees a
/// frame from the peer: it expects a frame or a close, or ends with the closing
/// handshake. (An INFO case that only looks at the 101 does not.)
pub fn exchanges_frames(c: &Case) -> bool {
    establishes(c)
        && (c.close
            || c.steps.iter().any(
                |s| matches!(s, Step::Expect(e) if !matches!(e.kind, ExpectKind::Handshake(_))),
            ))
}

/// Whether the case, against a correct peer, expects the peer to fail the connection.
pub fn expects_failure(c: &Case) -> bool {
    fn fails(k: &ExpectKind) -> bool {
        match k {
            ExpectKind::Fail { .. } => true,
            ExpectKind::Any(alts) => alts.iter().any(|a| fails(&a.kind)),
            _ => false,
        }
    }
    c.steps
        .iter()
        .any(|s| matches!(s, Step::Expect(e) if fails(&e.kind)))
}

/// Ids of the built-in cases for which `pred` holds.
pub fn ids_where(pred: impl Fn(&Case) -> bool) -> BTreeSet<String> {
    builtin()
        .cases()
        .iter()
        .filter(|c| c.role.applies_to(wsspec::case::Role::Server) && pred(c))
        .map(|c| c.id.clone())
        .collect()
}

/// A readable account of the cases whose verdict differs from what a test expected.
pub fn explain(r: &RunResults, ids: &BTreeSet<String>) -> String {
    let mut s = String::new();
    for id in ids {
        if let Some(c) = r.cases.iter().find(|c| &c.id == id) {
            s.push_str(&format!("\n  {} [{}]", c.id, c.verdict.as_str()));
            for reason in &c.reasons {
                s.push_str(&format!("\n      {reason}"));
            }
        } else {
            s.push_str(&format!("\n  {id} [not run]"));
        }
    }
    s
}

/// The verdicts a test expects: exactly these cases fail, are non-strict, are
/// informational; every other case passes.
#[derive(Debug, Default, Clone)]
pub struct Expected {
    pub fail: BTreeSet<String>,
    pub non_strict: BTreeSet<String>,
    pub informational: BTreeSet<String>,
}

impl Expected {
    pub fn fail(fail: BTreeSet<String>) -> Expected {
        Expected {
            fail,
            ..Default::default()
        }
    }

    /// Misses of these cases, softened by each case's level as the judge does: a MUST
    /// case fails, a SHOULD case is non-strict, a MAY or INFO case informational.
    pub fn misses(ids: &BTreeSet<String>) -> Expected {
        let mut e = Expected::default();
        for c in builtin().cases() {
            if ids.contains(&c.id) {
                let set = match soften(Grade::Fail, c.level) {
                    Grade::Fail => &mut e.fail,
                    Grade::NonStrict => &mut e.non_strict,
                    _ => &mut e.informational,
                };
                set.insert(c.id.clone());
            }
        }
        e
    }

    /// Keeps only the cases that ran.
    pub fn within(mut self, ran: &BTreeSet<String>) -> Expected {
        for set in [
            &mut self.fail,
            &mut self.non_strict,
            &mut self.informational,
        ] {
            set.retain(|id| ran.contains(id));
        }
        self
    }
}

/// Asserts that exactly `expected` failed and every other case passed, naming the
/// differences with their reasons.
pub fn assert_failed_exactly(r: &RunResults, expected: &BTreeSet<String>, what: &str) {
    assert_outcomes(r, &Expected::fail(expected.clone()), what);
}

/// Asserts every case's verdict: exactly the expected sets fail, are non-strict and are
/// informational, and every other case passes. The message names each difference with
/// the case's reasons.
pub fn assert_outcomes(r: &RunResults, e: &Expected, what: &str) {
    let mut msg = String::new();
    for (grade, want) in [
        (Grade::Fail, &e.fail),
        (Grade::NonStrict, &e.non_strict),
        (Grade::Informational, &e.informational),
    ] {
        let got = ids_with(r, grade);
        let unexpected: BTreeSet<String> = got.difference(want).cloned().collect();
        let missing: BTreeSet<String> = want.difference(&got).cloned().collect();
        let g = grade.as_str();
        if !unexpected.is_empty() {
            msg.push_str(&format!(
                "\n{} cases were {g} that should not be:{}",
                unexpected.len(),
                explain(r, &unexpected)
            ));
        }
        if !missing.is_empty() {
            msg.push_str(&format!(
                "\n{} cases were not {g} that should be:{}",
                missing.len(),
                explain(r, &missing)
            ));
        }
    }
    let odd: BTreeSet<String> = r
        .cases
        .iter()
        .filter(|c| {
            !matches!(
                c.verdict,
                Grade::Pass | Grade::Fail | Grade::NonStrict | Grade::Informational
            )
        })
        .map(|c| c.id.clone())
        .collect();
    if !odd.is_empty() {
        msg.push_str(&format!(
            "\n{} cases had another verdict:{}",
            odd.len(),
            explain(r, &odd)
        ));
    }
    assert!(msg.is_empty(), "{what}:{msg}");
}
