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
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use wsspec::case::{Case, ExpectKind, Grade, Step};
use wsspec::codec::{
    close_payload, Assembled, Assembler, DecodedFrame, Decoder, DecoderConfig, Expect, FatalError,
    Frame, LengthForm, OpCode, Rule,
};
use wsspec::handshake::{accept_key, parse_request, validate_request, HandshakeRule, ResponseSpec};
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
    /// Sec-WebSocket-Version is not checked.
    pub accept_any_version: bool,
    /// The method is not checked (POST, PUT, HEAD are accepted).
    pub accept_any_method: bool,
    /// HTTP/1.0 requests are accepted.
    pub accept_http_1_0: bool,
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
    // Closing handshake.
    /// A close frame is not answered: the server drops TCP instead.
    pub no_close_reply: bool,
    // Not a bug: a choice the RFC leaves open.
    /// Frames whose length is not minimally encoded fail the connection (1002). RFC 6455
    /// §5.2 binds the sender; a receiver may accept or reject such frames.
    pub reject_non_minimal: bool,
}

/// Largest request head, frame and message the test server accepts.
const MAX_HEAD: usize = 16 * 1024;
const MAX_FRAME: u64 = 1 << 20;
const MAX_MESSAGE: u64 = 1 << 20;
/// Bound on any single read or write, and on a whole connection.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
const CONN_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the server keeps reading after it closed, waiting for the client to go.
const LINGER: Duration = Duration::from_secs(2);

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
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + LINGER;
    let mut total = 0usize;
    while total < (1 << 22) {
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
        KeyMissing | KeyInvalid | KeyDuplicated => bugs.accept_bad_key,
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
    if !write_all(s, &resp.to_bytes()).await {
        return None;
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
    out: Vec<u8>,
}

impl Conn {
    fn ignored(&self, rule: Rule) -> bool {
        let b = self.bugs;
        match rule {
            Rule::MaskMissing => b.accept_unmasked,
            Rule::ReservedBitSet => b.ignore_rsv,
            Rule::ReservedOpcode => b.ignore_reserved_opcodes,
            Rule::ControlFrameTooLong => b.allow_big_control,
            Rule::ControlFrameFragmented => b.allow_fragmented_control,
            Rule::NonMinimalLength => !b.reject_non_minimal,
            _ => false,
        }
    }

    fn frame(&mut self, df: &DecodedFrame) -> Next {
        if let Some(v) = df.violations.iter().find(|v| !self.ignored(v.rule)) {
            return Next::Fail(code_for(v.rule));
        }
        let f = &df.frame;
        let op = OpCode(f.opcode);
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
        match self.assembler.push(df) {
            Ok(Assembled::Partial) => Next::Go,
            Ok(Assembled::Message {
                opcode, payload, ..
            }) => {
                let bytes = encode(self.bugs, opcode, payload);
                self.out.extend_from_slice(&bytes);
                Next::Go
            }
            Ok(Assembled::Control(f)) => self.control_frame(f.opcode, f.payload),
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

fn decoder() -> Decoder {
    Decoder::new(DecoderConfig {
        expect: Expect::Masked,
        max_frame_payload: MAX_FRAME,
        allowed_rsv: 0,
    })
}

async fn serve(mut s: TcpStream, bugs: Bugs) {
    let Some(early) = handshake(&mut s, bugs).await else {
        if !bugs.no_error_response {
            linger_close(s).await;
        }
        return;
    };
    let mut conn = Conn {
        bugs,
        assembler: Assembler::new(MAX_MESSAGE),
        control: None,
        out: Vec::new(),
    };
    let mut dec = decoder();
    // The undecoded bytes, kept only for `ignore_length_msb`, which re-reads a header.
    let mut raw: Vec<u8> = Vec::new();
    let mut input = early;
    let mut buf = vec![0u8; 64 * 1024];
    let end = 'conn: loop {
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
                    dec = decoder();
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
    match end {
        Next::Closed(_) if bugs.no_close_reply => {
            // Drop TCP without answering the close frame.
        }
        Next::Closed(payload) => {
            // Echo the status code (RFC 6455 §5.5.1); a valid close was checked by the
            // decoder, so the code, if any, may be sent back.
            let code = (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
            if write_all(&mut s, &close_frame(bugs, code)).await {
                linger_close(s).await;
            }
        }
        Next::Fail(code) => {
            if write_all(&mut s, &close_frame(bugs, Some(code))).await {
                linger_close(s).await;
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
    wsspec::Suite::builtin()
        .expect("built-in cases load")
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
    wsspec::Suite::builtin()
        .expect("built-in cases load")
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

/// Asserts that exactly `expected` failed and every other case passed, naming the
/// differences with their reasons.
pub fn assert_failed_exactly(r: &RunResults, expected: &BTreeSet<String>, what: &str) {
    assert_verdicts(r, expected, &BTreeSet::new(), what);
}

/// Asserts that exactly `fail` failed, exactly `informational` were informational, and
/// every other case passed.
pub fn assert_verdicts(
    r: &RunResults,
    fail: &BTreeSet<String>,
    informational: &BTreeSet<String>,
    what: &str,
) {
    let got = failed(r);
    let unexpected: BTreeSet<String> = got.difference(fail).cloned().collect();
    let missing: BTreeSet<String> = fail.difference(&got).cloned().collect();
    let other: BTreeSet<String> = r
        .cases
        .iter()
        .filter(|c| c.verdict != Grade::Pass && c.verdict != Grade::Fail)
        .map(|c| c.id.clone())
        .collect();
    let odd: BTreeSet<String> = other.symmetric_difference(informational).cloned().collect();
    assert!(
        unexpected.is_empty() && missing.is_empty() && odd.is_empty(),
        "{what}: {} cases failed that should not:{}\n{} cases did not fail that should:{}\n\
         {} cases neither passed nor failed, or should have been informational:{}",
        unexpected.len(),
        explain(r, &unexpected),
        missing.len(),
        explain(r, &missing),
        odd.len(),
        explain(r, &odd),
    );
    for id in informational {
        assert_eq!(case(r, id).verdict, Grade::Informational, "{what}: {id}");
    }
}
