//! One case against one client connection: the step interpreter with wsspec as the server.
//!
//! The connection arrives with the client's request already read (the listener routes on
//! it, see `crate::client_mode`). The steps then mean, for the handshake: `expect = "handshake"`
//! judges that request against RFC 6455 §4.1, `send = "handshake"` writes wsspec's
//! response (standard, or mangled by the case). Every other step means what it means in
//! the server role of `test_server.rs`, whose helpers this file shares: frames wsspec sends
//! are unmasked unless the case masks them, frames from the client must be masked.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::reader::{read_loop, FrameStage, Out, PeerRole};
use super::test_server::{
    answer_pings, build_frames, case_timeout, closing_handshake, compressor, drain, expect_step,
    record, result, write_step, AbortOnDrop, SessionConfig, State,
};
use super::writer::{Built, Writer};
use crate::case::{Case, ExpectKind, HandshakeSpec, Send, Step};
use crate::codec::Expect as MaskRule;
use crate::deflate::{negotiate, Endpoint};
use crate::handshake::{parse_extensions, tokens, ExtensionOffer, Request, ResponseSpec};
use crate::judge::request::judge_request;
use crate::judge::{Event, PeerViolation};
use crate::results::CaseResult;
use crate::rules::Rule;
use crate::transcript::Direction;

/// A client connection whose request head the listener has read.
pub struct ClientConnection {
    /// TCP or TLS, NODELAY already set by the listener.
    pub stream: super::transport::Stream,
    /// The request head exactly as received.
    pub head: Vec<u8>,
    pub request: Request,
    /// Bytes that arrived after the head, before wsspec answered.
    pub rest: Vec<u8>,
}

/// A judged case with what the run-level checks need from its connection.
#[derive(Debug, Clone)]
pub struct ServedCase {
    pub result: CaseResult,
    /// Why the case could not run properly, apart from what the peer did (kept apart so
    /// the verdict can be recomputed with a run-level check).
    pub error: Option<String>,
    /// Every masking key the client used on this connection, in order.
    pub mask_keys: Vec<[u8; 4]>,
    /// The request's `Sec-WebSocket-Key` as sent, if any.
    pub handshake_key: Option<String>,
}

/// The reason phrase RFC 9110 gives a status, for responses built from `status = N`.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        426 => "Upgrade Required",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// wsspec's response to `req`: the standard 101 (selecting the first subprotocol the
/// client offered, as a server supporting it would), then the case's changes, in the
/// order the request builder applies them, so a case always has the last word.
pub fn response(h: &HandshakeSpec, req: &Request) -> ResponseSpec {
    let key = req
        .header_str_lossy("sec-websocket-key")
        .map(|k| k.trim().to_owned())
        .unwrap_or_default();
    let mut resp = ResponseSpec::switching_protocols(&key);
    if h.protocols.is_empty() {
        let offered: Vec<String> = req
            .headers_named("sec-websocket-protocol")
            .flat_map(tokens)
            .collect();
        if let Some(first) = offered.first().filter(|p| !p.is_empty()) {
            resp.add("Sec-WebSocket-Protocol", first);
        }
    } else {
        resp.set("Sec-WebSocket-Protocol", &h.protocols.join(", "));
    }
    if !h.extensions.is_empty() {
        resp.set("Sec-WebSocket-Extensions", &h.extensions.join(", "));
    }
    if let Some(v) = &h.version {
        resp.version = v.clone();
    }
    if let Some(s) = h.status {
        resp.status = s;
        resp.reason = reason_phrase(s).to_owned();
    }
    if let Some(r) = &h.reason {
        resp.reason = r.clone();
    }
    if h.status_line.is_some() {
        resp.status_line = h.status_line.clone();
    }
    for (from, to) in &h.rename {
        resp.rename(from, to);
    }
    for name in &h.remove {
        resp.remove(name);
    }
    for (k, v) in &h.set {
        resp.set(k, v);
    }
    for (k, v) in &h.add {
        resp.add(k, v);
    }
    resp
}

/// Runs one case on a client connection and judges it.
pub async fn run_case_as_server(
    case: &Case,
    conn: ClientConnection,
    cfg: &SessionConfig,
) -> ServedCase {
    let started = Instant::now();
    let step_timeout = case
        .timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(cfg.step_timeout);
    let limit = case_timeout(case, step_timeout, cfg.idle);
    let mut st = State::new(started, false);
    st.idle = cfg.idle;
    // The client's declared limit (`--max-message-size`) grades a 1009 as in server mode.
    st.ctx.peer_limit = cfg.peer_max_message;
    let handshake_key = conn
        .request
        .header_str_lossy("sec-websocket-key")
        .map(|k| k.into_owned());
    let keys = Arc::new(Mutex::new(Vec::new()));
    {
        let mut t = st
            .shared
            .transcript
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        t.note(format!("client connected for case {}", case.id));
        t.bytes(Direction::In, &conn.head);
    }
    st.shared
        .bytes_received
        .fetch_add(conn.head.len() as u64, Ordering::Relaxed);
    let outcome = tokio::time::timeout(
        limit,
        drive(case, conn, cfg, step_timeout, &mut st, keys.clone()),
    )
    .await;
    if outcome.is_err() {
        st.error = Some(format!(
            "the case did not finish within {} ms",
            limit.as_millis()
        ));
        st.note("case timeout: wsspec gave up on the connection");
        st.aborted = true;
    }
    let error = st.error.clone();
    let mask_keys = std::mem::take(
        &mut *keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    ServedCase {
        result: result(case, st, started, cfg.strict),
        error,
        mask_keys,
        handshake_key,
    }
}

/// The result of a case the client never connected for.
pub fn not_run(case: &Case, reason: &str, strict: bool) -> ServedCase {
    let started = Instant::now();
    let mut st = State::new(started, false);
    st.note(reason);
    st.error = Some(reason.to_owned());
    ServedCase {
        error: st.error.clone(),
        result: result(case, st, started, strict),
        mask_keys: Vec::new(),
        handshake_key: None,
    }
}

async fn drive(
    case: &Case,
    conn: ClientConnection,
    cfg: &SessionConfig,
    step_timeout: Duration,
    st: &mut State,
    keys: Arc<Mutex<Vec<[u8; 4]>>>,
) {
    let ClientConnection {
        stream,
        request,
        rest,
        ..
    } = conn;
    let (rd, wr) = stream.split();
    answer_pings(case, st);
    let wr = Writer::spawn(wr, st.shared.clone(), st.masking, step_timeout);
    let (tx, mut rx) = super::reader::events(&cfg.limits);
    let responded = Arc::new(AtomicU8::new(NOT_YET));
    let client = ClientPeer {
        rest,
        responded: responded.clone(),
        keys,
        early_reported: false,
        first_after_refusal: true,
        deflate_on: false,
    };
    let reader = tokio::spawn(read_loop(rd, tx, st.shared.clone(), cfg.limits, client));
    let _guard = AbortOnDrop(reader);

    let planned = planned_answer(case, &request);
    let mut responded_yet = false;
    for (i, step) in case.runs() {
        if st.aborted {
            break;
        }
        if st.skip_rest {
            // The client lacks what the case is about: it still gets a plain 101, so the
            // connection ends with a closing handshake rather than a hanging request.
            if !responded_yet {
                let send = Send::Handshake(HandshakeSpec::default());
                respond(&send, &request, st, &responded, &wr, step_timeout).await;
            }
            break;
        }
        let started = std::time::Instant::now();
        match step {
            Step::Expect(e) => match &e.kind {
                ExpectKind::Handshake(h) => {
                    let outcome = judge_request(e, h, &request, &planned);
                    record(st, i, e.implicit, outcome);
                }
                _ => expect_step(i, e, &wr, &mut rx, st, step_timeout).await,
            },
            Step::Send(send @ Send::Handshake(_), opts) => {
                responded_yet = true;
                respond_with(send, opts, &request, st, &responded, &wr, step_timeout).await;
            }
            Step::Send(send, opts) => {
                let bytes = build_frames(send, st);
                write_step(send, bytes, opts, &wr, st, step_timeout).await;
            }
            Step::Wait { ms } => {
                st.note(format!("wait {ms} ms"));
                tokio::time::sleep(Duration::from_millis(*ms)).await;
                st.waited(started.elapsed());
            }
            // Never met: `runs` unwraps repeats, and they do not nest.
            Step::Repeat { .. } => {}
        }
        st.timings.add_step(step, started.elapsed());
    }
    if st.established && (case.close || st.skip_rest) && !st.aborted {
        let started = std::time::Instant::now();
        closing_handshake(&wr, &mut rx, st, step_timeout, step_timeout).await;
        st.timings.close_ms += super::test_server::ms(started.elapsed());
    }
    drain(&mut rx, st);
    if st.close.tcp_closed_by.is_none() {
        st.close.tcp_closed_by = Some(crate::results::Party::Wsspec);
    }
}

/// The extension list of the response the case will send (what a `deflate` expectation on
/// the request is judged against).
fn planned_answer(case: &Case, request: &Request) -> Vec<ExtensionOffer> {
    let h = case.steps.iter().find_map(|s| match s {
        Step::Send(Send::Handshake(h), _) => Some(h),
        _ => None,
    });
    let resp = response(h.unwrap_or(&HandshakeSpec::default()), request);
    extension_answer(&resp)
}

/// The `Sec-WebSocket-Extensions` elements of a response wsspec built; a list that does not
/// parse (a case may send one on purpose) answers nothing.
fn extension_answer(resp: &ResponseSpec) -> Vec<ExtensionOffer> {
    resp.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-extensions"))
        .flat_map(|(_, v)| parse_extensions(v).unwrap_or_default())
        .collect()
}

async fn respond(
    send: &Send,
    request: &Request,
    st: &mut State,
    responded: &AtomicU8,
    wr: &Writer,
    step_timeout: Duration,
) {
    let opts = crate::case::WriteOpts {
        flush: true,
        ..Default::default()
    };
    respond_with(send, &opts, request, st, responded, wr, step_timeout).await;
}

/// Writes wsspec's response. When it is a 101 whose answer accepts permessage-deflate, that
/// answer is the agreement (RFC 7692 §5): it is in place for the reader and the compressor
/// before a byte of the response leaves, so the client's first frame is already judged by it.
async fn respond_with(
    send: &Send,
    opts: &crate::case::WriteOpts,
    request: &Request,
    st: &mut State,
    responded: &AtomicU8,
    wr: &Writer,
    step_timeout: Duration,
) {
    let Send::Handshake(h) = send else { return };
    let resp = response(h, request);
    st.established = resp.status_line.is_none() && resp.status == 101;
    st.note(format!("opening handshake response: {}", resp.first_line()));
    if st.established {
        if let Some(a) = negotiate::own_answer(&extension_answer(&resp)) {
            st.note(format!(
                "permessage-deflate agreed by wsspec's answer ({}): client window {} bits{}, server window {} bits{}",
                a.answer,
                a.client_max_window_bits,
                if a.client_no_context_takeover { ", no client context takeover" } else { "" },
                a.server_max_window_bits,
                if a.server_no_context_takeover { ", no server context takeover" } else { "" },
            ));
            st.compressor = Some(compressor(&a, Endpoint::Server));
            *st.shared
                .agreed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(a.clone());
            st.ctx.deflate = Some(a);
        }
    }
    let answer = if st.established { OPENED } else { REFUSED };
    responded.store(answer, Ordering::SeqCst);
    write_step(
        send,
        Built::whole(resp.to_bytes()),
        opts,
        wr,
        st,
        step_timeout,
    )
    .await;
}

/// What wsspec has answered so far, for the reader.
const NOT_YET: u8 = 0;
const OPENED: u8 = 1;
const REFUSED: u8 = 2;

/// Whether bytes look like the start of an HTTP request line (`GET /x HTTP/1.1`).
fn looks_like_request(data: &[u8]) -> bool {
    let method = data.iter().take_while(|b| b.is_ascii_uppercase()).count();
    method >= 3 && data.get(method) == Some(&b' ')
}

/// The peer under test is a client: every frame from it must be masked, and nothing may
/// arrive before wsspec's response (RFC 6455 §4.1). After a refusing response, a new HTTP
/// request on the connection (a client following a redirect, say) means the client did
/// not take the connection as a WebSocket: it ends the reading.
struct ClientPeer {
    /// Bytes that arrived with the request head, before the read loop began.
    rest: Vec<u8>,
    responded: Arc<AtomicU8>,
    /// Every masking key the client used, for the run-level checks.
    keys: Arc<Mutex<Vec<[u8; 4]>>>,
    early_reported: bool,
    first_after_refusal: bool,
    deflate_on: bool,
}

impl ClientPeer {
    /// Reports data that arrived before wsspec's response, once; bytes read with the
    /// request head (`surely`) are early whenever the reader gets to them.
    fn early(&mut self, n: usize, out: &Out, surely: bool) {
        if !self.early_reported && (surely || self.responded.load(Ordering::SeqCst) == NOT_YET) {
            self.early_reported = true;
            let _ = out.send(Event::Violation(PeerViolation::new(
                Rule::DataBeforeResponse,
                format!("{n} bytes arrived before wsspec's response"),
            )));
        }
    }

    /// Feeds the frames, noting every masking key.
    fn feed(&self, data: &[u8], frames: &mut FrameStage, out: &Out) -> bool {
        let keys = &self.keys;
        frames.feed(data, out, &mut |df: &crate::codec::DecodedFrame| {
            if let Some(k) = df.frame.mask {
                keys.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(k);
            }
        })
    }
}

impl PeerRole for ClientPeer {
    fn peer_masks(&self) -> MaskRule {
        MaskRule::Masked
    }

    fn start(&mut self, frames: &mut FrameStage, out: &Out) -> bool {
        if self.rest.is_empty() {
            return true;
        }
        let rest = std::mem::take(&mut self.rest);
        out.shared
            .transcript
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .bytes(Direction::In, &rest);
        out.shared
            .bytes_received
            .fetch_add(rest.len() as u64, Ordering::Relaxed);
        self.early(rest.len(), out, true);
        self.feed(&rest, frames, out)
    }

    fn received(&mut self, data: &[u8], frames: &mut FrameStage, out: &Out) -> bool {
        if self.first_after_refusal && self.responded.load(Ordering::SeqCst) == REFUSED {
            self.first_after_refusal = false;
            if looks_like_request(data) {
                let _ = out.send(Event::Reset(
                    "the client sent a new HTTP request instead of WebSocket frames".into(),
                ));
                return false;
            }
        }
        self.early(data.len(), out, false);
        if !self.deflate_on && self.responded.load(Ordering::SeqCst) == OPENED {
            // Set before the response was written (see `respond_with`), so it is in place
            // for the client's first frame; bytes before the response were a violation.
            if let Some(a) = out
                .shared
                .agreed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
            {
                let plain =
                    std::mem::replace(frames, FrameStage::new(MaskRule::Masked, out.limits));
                *frames = plain.with_deflate(&a, Endpoint::Client);
            }
            self.deflate_on = true;
        }
        self.feed(data, frames, out)
    }

    fn ended(&self, frames: &FrameStage, out: &Out) {
        frames.eof(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::{parse_request, RequestSpec};

    fn req(protocols: Option<&str>) -> Request {
        let mut s = RequestSpec::standard("h", 80, true, "/", "dGhlIHNhbXBsZSBub25jZQ==".into());
        if let Some(p) = protocols {
            s.add("Sec-WebSocket-Protocol", p);
        }
        parse_request(&s.to_bytes(), 4096).unwrap().unwrap()
    }

    #[test]
    fn standard_response_selects_first_offered_protocol() {
        let r = response(&HandshakeSpec::default(), &req(Some("chat, superchat")));
        let text = String::from_utf8(r.to_bytes()).unwrap();
        assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(text.contains("Sec-WebSocket-Protocol: chat\r\n"));
        let r = response(&HandshakeSpec::default(), &req(None));
        assert!(r.headers.iter().all(|(n, _)| n != "Sec-WebSocket-Protocol"));
    }

    #[test]
    fn request_lines_are_recognised() {
        assert!(looks_like_request(b"GET /elsewhere HTTP/1.1\r\n"));
        assert!(!looks_like_request(&[0x81, 0x85, 1, 2, 3, 4]));
        assert!(!looks_like_request(b"GE"));
    }

    #[test]
    fn case_changes_apply_last() {
        let h = HandshakeSpec {
            status: Some(302),
            set: vec![("Location".into(), "/elsewhere".into())],
            remove: vec!["Sec-WebSocket-Accept".into()],
            protocols: vec!["unrequested".into()],
            ..Default::default()
        };
        let text = String::from_utf8(response(&h, &req(None)).to_bytes()).unwrap();
        assert!(text.starts_with("HTTP/1.1 302 Found\r\n"), "{text}");
        assert!(text.contains("Location: /elsewhere\r\n"));
        assert!(text.contains("Sec-WebSocket-Protocol: unrequested\r\n"));
        assert!(!text.contains("Accept"));
    }
}
