//! The read side of a session: bytes from the peer to [`Event`]s.
//!
//! It runs as its own task so the peer is always read, even while wsspec is writing a large
//! message: an echo server that cannot write stops reading, and both sides would stall.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc::{self, Receiver, Sender};

use super::writer::Pongs;
use crate::case::payload::STREAM_ABOVE;
use crate::codec::message::HEAD_KEEP;
use crate::codec::{
    Assembled, Assembler, DecodedFrame, Decoder, DecoderConfig, Digest, Expect as MaskRule,
    FatalError, StreamedHead, Summary, Violation,
};
use crate::deflate::negotiate::{self, Agreement};
use crate::deflate::{Decompressor, Endpoint, Flow, InflateError, TAIL};
use crate::handshake::{parse_extension_lines, parse_response, ExtensionOffer};
use crate::judge::close::TcpTimes;
use crate::judge::{Event, PeerViolation};
use crate::results::TcpEnd;
use crate::rules::Rule;
use crate::transcript::{Direction, Transcript};

/// Bounds on what wsspec keeps of the peer's output.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// Largest handshake response head.
    pub max_head: usize,
    pub max_frame: u64,
    pub max_message: u64,
    /// Events not yet consumed by the interpreter (the capacity of the channel to it);
    /// past this the peer is flooding.
    pub max_queued: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_head: 16 * 1024,
            max_frame: 64 * 1024 * 1024,
            max_message: 64 * 1024 * 1024,
            max_queued: 100_000,
        }
    }
}

pub struct Shared {
    pub transcript: Mutex<Transcript>,
    pub bytes_received: AtomicU64,
    pub bytes_sent: AtomicU64,
    /// The extensions wsspec offered in its handshake request, set before it is written, so
    /// the reader can judge the answer the moment it arrives (frames may follow it in the
    /// same segment).
    pub offered: Mutex<Vec<ExtensionOffer>>,
    /// What the server agreed to (RFC 7692), once its answer is read and found valid.
    pub agreed: Mutex<Option<Agreement>>,
    /// Pings the reader saw, for the writer to answer at once.
    pub pongs: Pongs,
    /// The session runs over an HTTP/2 extended CONNECT (RFC 8441): a 2xx response opens
    /// the WebSocket connection, as 101 does over HTTP/1.1.
    pub extended_connect: std::sync::atomic::AtomicBool,
    /// When the closing happened on the wire (the TCP view), stamped by the reader and
    /// the writer as it happens.
    pub tcp: Mutex<TcpTimes>,
    /// The peer's side of TCP has ended (FIN or reset): nothing more can be read, so a
    /// write the peer no longer takes is given up (see [`super::writer`]).
    pub peer_gone: PeerGone,
}

/// Set once by the reader when the peer's side of TCP ends; the writer waits on it.
#[derive(Default)]
pub struct PeerGone {
    gone: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

impl PeerGone {
    pub fn set(&self) {
        self.gone.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn is_set(&self) -> bool {
        self.gone.load(Ordering::SeqCst)
    }

    /// Returns once the peer's side has ended (at once if it already has).
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

impl Shared {
    pub fn new(transcript: Transcript) -> Shared {
        Shared {
            transcript: Mutex::new(transcript),
            bytes_received: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            offered: Mutex::new(Vec::new()),
            agreed: Mutex::new(None),
            pongs: Pongs::default(),
            extended_connect: std::sync::atomic::AtomicBool::new(false),
            tcp: Mutex::new(TcpTimes::default()),
            peer_gone: PeerGone::default(),
        }
    }

    /// Stamps a moment of the closing with the transcript's clock, and notes it in the
    /// transcript when `note` is given.
    pub fn stamp(&self, note: Option<String>, f: impl FnOnce(&mut TcpTimes, u64)) {
        let at = {
            let mut t = self
                .transcript
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(n) = note {
                t.note(n);
            }
            t.now_us()
        };
        f(
            &mut self
                .tcp
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            at,
        );
    }

    /// The peer's end of TCP as a read saw it: a zero read is FIN, an error a reset.
    pub fn peer_tcp_end(&self, error: Option<&std::io::Error>) {
        let (how, note) = match error {
            None => (
                TcpEnd::Fin,
                "TCP: the peer closed its side (FIN, a zero read)".to_owned(),
            ),
            Some(e) => (
                TcpEnd::Rst,
                format!("TCP: the connection was reset (RST) on a read: {e}"),
            ),
        };
        self.stamp(Some(note), |t, at| t.peer_ended(how, at));
        self.peer_gone.set();
    }
}

/// The channel from a reader to its interpreter: bounded by `limits.max_queued` events
/// (plus the slot for the reason reading stopped), so a peer that floods while wsspec is
/// busy writing costs a bounded queue, not memory without end.
pub fn events(limits: &ReadLimits) -> (Sender<Event>, Receiver<Event>) {
    mpsc::channel(limits.max_queued.max(1) + 1)
}

pub(crate) fn to_peer_violation(v: &Violation) -> PeerViolation {
    PeerViolation::new(
        v.rule,
        format!("{} (byte {} of the peer's stream)", v.detail, v.offset),
    )
}

pub(crate) struct Out<'a> {
    pub(crate) tx: &'a Sender<Event>,
    pub(crate) shared: &'a Shared,
    pub(crate) limits: ReadLimits,
}

impl Out<'_> {
    /// False when the interpreter is gone or the peer floods: stop reading. The channel
    /// is bounded; its last slot is kept for the event saying why reading stopped.
    pub(crate) fn send(&self, ev: Event) -> bool {
        if self.tx.capacity() <= 1 {
            let _ = self.tx.try_send(Event::Fatal(format!(
                "the peer sent more than {} frames that wsspec did not ask for",
                self.limits.max_queued
            )));
            return false;
        }
        self.tx.try_send(ev).is_ok()
    }
}

/// What reading means in the role of the peer under test: which masking rule its frames
/// are held to (RFC 6455 §5.1), and what comes before its frames (a server's handshake
/// response; nothing from a client, whose request the listener has read).
pub(crate) trait PeerRole {
    /// The masking rule for the peer's frames: a client masks, a server does not.
    fn peer_masks(&self) -> MaskRule;

    /// Handles what the peer sent before reading began. False when reading must stop.
    fn start(&mut self, _frames: &mut FrameStage, _out: &Out) -> bool {
        true
    }

    /// Handles bytes just read (already counted and in the transcript). False when
    /// reading must stop.
    fn received(&mut self, data: &[u8], frames: &mut FrameStage, out: &Out) -> bool;

    /// The peer closed TCP: says what was cut short.
    fn ended(&self, frames: &FrameStage, out: &Out);
}

/// The most one read takes from the socket.
const READ_WINDOW: usize = 64 * 1024;

/// The read side in either role: reads until the peer's end of TCP, counts and records
/// every byte, and hands them to `role`, which turns them into events.
pub(crate) async fn read_loop<R: AsyncRead + Unpin>(
    mut rd: R,
    tx: Sender<Event>,
    shared: Arc<Shared>,
    limits: ReadLimits,
    mut role: impl PeerRole,
) {
    let out = Out {
        tx: &tx,
        shared: &shared,
        limits,
    };
    let mut frames = FrameStage::new(role.peer_masks(), limits);
    if !role.start(&mut frames, &out) {
        return;
    }
    // Read into spare capacity (`read_buf`), not a zeroed buffer: most connections read a
    // few hundred bytes in all, and zeroing 64 KiB per connection was a fifth of the
    // network fuzzer's instructions.
    let mut buf = Vec::with_capacity(READ_WINDOW);
    loop {
        buf.clear();
        let n = match rd.read_buf(&mut buf).await {
            Ok(0) => {
                role.ended(&frames, &out);
                shared.peer_tcp_end(None);
                let _ = out.send(Event::Eof);
                return;
            }
            Ok(n) => n,
            Err(e) => {
                shared.peer_tcp_end(Some(&e));
                let _ = out.send(Event::Reset(e.to_string()));
                return;
            }
        };
        let data = &buf[..n];
        shared.bytes_received.fetch_add(n as u64, Ordering::Relaxed);
        shared
            .transcript
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .bytes(Direction::In, data);
        if !role.received(data, &mut frames, &out) {
            return;
        }
    }
}

/// The peer under test is a server: its handshake response comes first, then (if it
/// opened the connection) unmasked frames.
#[derive(Default)]
pub(crate) struct ServerPeer {
    /// The response head read so far.
    head: Vec<u8>,
    opening: Opening,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Opening {
    /// The response is not complete yet.
    #[default]
    Head,
    /// The connection is open: frames follow.
    Frames,
    /// The server refused, or its response is broken: nothing more is judged.
    Rejected,
}

impl PeerRole for ServerPeer {
    fn peer_masks(&self) -> MaskRule {
        MaskRule::Unmasked
    }

    fn received(&mut self, data: &[u8], frames: &mut FrameStage, out: &Out) -> bool {
        match self.opening {
            Opening::Rejected => return true,
            Opening::Frames => return frames.feed(data, out, &mut |_| {}),
            Opening::Head => {}
        }
        self.head.extend_from_slice(data);
        match parse_response(&self.head, out.limits.max_head) {
            Ok(None) => true,
            Ok(Some(resp)) => {
                let rest = self.head.split_off(resp.head_len.min(self.head.len()));
                let upgraded = (resp.status == 101 && !switched_elsewhere(&resp))
                    || (out.shared.extended_connect.load(Ordering::Relaxed)
                        && (200..300).contains(&resp.status));
                let agreement = if upgraded {
                    negotiate_deflate(&resp, out)
                } else {
                    None
                };
                if !out.send(Event::Handshake(Box::new(resp))) {
                    return false;
                }
                if !upgraded {
                    self.opening = Opening::Rejected;
                    return true;
                }
                if let Some(a) = agreement {
                    let plain =
                        std::mem::replace(frames, FrameStage::new(MaskRule::Unmasked, out.limits));
                    *frames = plain.with_deflate(&a, Endpoint::Server);
                }
                self.opening = Opening::Frames;
                frames.feed(&rest, out, &mut |_| {})
            }
            Err(e) => {
                let _ = out.send(Event::HandshakeInvalid(e.to_string()));
                self.opening = Opening::Rejected;
                true
            }
        }
    }

    fn ended(&self, frames: &FrameStage, out: &Out) {
        match self.opening {
            // No byte at all is a plain end of TCP (a refusal by dropping the
            // connection, RFC 6455 §10.7); part of a response is a broken one.
            Opening::Head if !self.head.is_empty() => {
                let _ = out.send(Event::HandshakeInvalid(format!(
                    "the connection closed after {} bytes of an incomplete response",
                    self.head.len()
                )));
            }
            Opening::Frames => frames.eof(out),
            Opening::Head | Opening::Rejected => {}
        }
    }
}

/// A 101 whose Upgrade names protocols, none of them websocket (hypercorn's `Upgrade: h2c`
/// answer): the server says it now speaks another protocol, so what follows (an HTTP/2
/// SETTINGS frame) is recorded but not read as WebSocket frames, which would charge the
/// peer with violations of a protocol it did not switch to. A 101 without an Upgrade
/// header is still read as WebSocket (the judge calls it a broken acceptance).
fn switched_elsewhere(resp: &crate::handshake::Response) -> bool {
    let named: Vec<String> = resp
        .headers_named("Upgrade")
        .flat_map(crate::handshake::tokens)
        .collect();
    !named.is_empty() && !named.iter().any(|t| t.eq_ignore_ascii_case("websocket"))
}

/// Judges the server's permessage-deflate answer against what wsspec offered (RFC 7692
/// §5, §7), and records a valid agreement for the session before the handshake event
/// reaches it. An invalid answer is the server's violation; nothing is inflated on its
/// strength.
fn negotiate_deflate(resp: &crate::handshake::Response, out: &Out) -> Option<Agreement> {
    let offered = out
        .shared
        .offered
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if negotiate::offers(&offered).is_empty() {
        return None;
    }
    // A malformed header is reported by the handshake checks; here it means "no answer".
    let answer =
        parse_extension_lines(resp.headers_named("Sec-WebSocket-Extensions")).unwrap_or_default();
    match negotiate::check_answer(&offered, &answer) {
        Ok(Some(a)) => {
            out.shared
                .transcript
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .note(format!(
                "permessage-deflate agreed ({}): server window {} bits{}, client window {} bits{}",
                a.answer,
                a.server_max_window_bits,
                if a.server_no_context_takeover {
                    ", no server context takeover"
                } else {
                    ""
                },
                a.client_max_window_bits,
                if a.client_no_context_takeover {
                    ", no client context takeover"
                } else {
                    ""
                },
            ));
            *out.shared
                .agreed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(a.clone());
            Some(a)
        }
        Ok(None) => {
            out.shared
                .transcript
                .lock()
                .unwrap()
                .note("permessage-deflate declined: the answer has no permessage-deflate element");
            None
        }
        Err(p) => {
            let _ = out.send(Event::Violation(PeerViolation::new(p.rule, p.detail)));
            None
        }
    }
}

/// The frames after the opening handshake, in either role: decoding with the masking
/// rule of the peer's role, reassembly, and the rule that nothing follows a close frame.
pub(crate) struct FrameStage {
    decoder: Decoder,
    assembler: Assembler,
    peer_closed: bool,
    inflate: Option<Inflate>,
    expect: MaskRule,
    limits: ReadLimits,
    /// The payload piece of a streamed frame being judged, reused.
    piece: Vec<u8>,
    /// The streamed frame under way is ignored (it followed the peer's close).
    ignore_stream: bool,
}

/// The receiving half of an agreed permessage-deflate (RFC 7692 §6.2, §7.2.2).
struct Inflate {
    decompressor: Decompressor,
    /// The peer's direction of the agreement: what it compresses with.
    direction: Flow,
    /// Which endpoint the peer is, for the parameter names in details.
    peer: Endpoint,
    max_message: usize,
    /// The message being assembled started with RSV1 set.
    open_compressed: bool,
}

impl Inflate {
    fn fresh_decompressor(d: Flow, max_message: usize) -> Decompressor {
        Decompressor::new(d.window_bits, d.no_context_takeover, max_message)
    }

    /// A back-reference longer than the window the peer agreed to (RFC 7692 §7.2.1), which
    /// the inflater (always 32 KiB) lets through.
    fn window_violation(&self, payload: &[u8], at: u64) -> Option<PeerViolation> {
        let bits = self.direction.window_bits;
        if bits >= 15 {
            return None;
        }
        let mut data = Vec::with_capacity(payload.len() + TAIL.len());
        data.extend_from_slice(payload);
        data.extend_from_slice(&TAIL);
        let longest = crate::deflate::window::longest_distance(&data);
        let window = 1u32 << bits;
        (longest > window).then(|| {
            let p = self.peer.prefix();
            let rule = match self.peer {
                Endpoint::Client => Rule::DeflateClientWindow,
                Endpoint::Server => Rule::DeflateServerWindow,
            };
            PeerViolation::new(
                rule,
                format!(
                    "with {p}_max_window_bits={bits} agreed, the {p} may use an LZ77 sliding window of {window} bytes at most; the compressed message ending at byte {at} refers {longest} bytes back"
                ),
            )
        })
    }

    /// The message a compressed payload stands for, or what is wrong with it.
    fn message(&mut self, opcode: u8, payload: &[u8], frames: usize, at: u64) -> Event {
        match self.decompressor.decompress(payload) {
            Ok(plain) => {
                if opcode == 1 {
                    if let Err(e) = crate::utf8::validate(&plain) {
                        return Event::Violation(PeerViolation::new(
                            Rule::DeflateInflatedUtf8,
                            format!(
                                "the compressed text message ending at byte {at} inflates to {} bytes that are not valid UTF-8 ({e}; text: RFC 6455 §8.1)",
                                plain.len()
                            ),
                        ));
                    }
                }
                Event::Message {
                    opcode,
                    payload: plain,
                    frames,
                    summary: None,
                }
            }
            Err(InflateError::Corrupt(why)) => {
                self.decompressor = Self::fresh_decompressor(self.direction, self.max_message);
                let hint = if self.direction.no_context_takeover {
                    let p = self.peer.prefix();
                    format!("; {p}_no_context_takeover was agreed, so each message must inflate with an empty window: a {p} that keeps its window refers back into earlier messages")
                } else {
                    String::new()
                };
                Event::Violation(PeerViolation::new(
                    Rule::DeflateCorrupt,
                    format!(
                        "the compressed message ending at byte {at} ({} bytes) is not DEFLATE data (RFC 1951) that inflates with the agreed window and context takeover: {why}{hint}",
                        payload.len()
                    ),
                ))
            }
            Err(e @ InflateError::TooLarge { .. }) => Event::Fatal(format!(
                "a compressed message ending at byte {at}: {e}; wsspec stopped reading"
            )),
        }
    }
}

impl FrameStage {
    pub(crate) fn new(expect: MaskRule, limits: ReadLimits) -> FrameStage {
        FrameStage::build(expect, limits, None)
    }

    fn build(
        expect: MaskRule,
        limits: ReadLimits,
        a: Option<(&Agreement, Endpoint)>,
    ) -> FrameStage {
        let max_message = usize::try_from(limits.max_message).unwrap_or(usize::MAX);
        FrameStage {
            decoder: Decoder::new(DecoderConfig {
                expect,
                max_frame_payload: limits.max_frame,
                // RSV1 is permessage-deflate's "Per-Message Compressed" bit (RFC 7692 §6).
                allowed_rsv: if a.is_some() { 0b100 } else { 0 },
            }),
            assembler: Assembler::new(limits.max_message).summarize_above(STREAM_ABOVE as u64),
            peer_closed: false,
            inflate: a.map(|(a, peer)| Inflate {
                decompressor: Inflate::fresh_decompressor(a.sent_by(peer), max_message),
                direction: a.sent_by(peer),
                peer,
                max_message,
                open_compressed: false,
            }),
            expect,
            limits,
            piece: Vec::new(),
            ignore_stream: false,
        }
    }

    /// The same stage with permessage-deflate agreed: RSV1 allowed on the first frame of a
    /// message, and compressed messages inflated with the parameters of `peer`'s direction
    /// before they are judged.
    pub(crate) fn with_deflate(self, a: &Agreement, peer: Endpoint) -> FrameStage {
        FrameStage::build(self.expect, self.limits, Some((a, peer)))
    }

    /// The peer closed TCP: a frame cut short is a violation.
    pub(crate) fn eof(&self, out: &Out) {
        if self.decoder.buffered() > 0 {
            let _ = out.send(Event::Violation(PeerViolation::new(
                Rule::FrameCutShort,
                format!(
                    "TCP closed in the middle of a frame, {} bytes into it: a frame is sent whole",
                    self.decoder.buffered()
                ),
            )));
        }
    }

    /// Decodes what `data` completes and sends the events; `seen` gets every frame as
    /// decoded. False when reading must stop.
    ///
    /// A data frame announcing more than [`STREAM_ABOVE`] bytes is judged piece by piece
    /// as its bytes arrive (unless permessage-deflate is agreed, whose messages are
    /// inflated whole), so wsspec's memory does not grow with the peer's frames.
    pub(crate) fn feed(
        &mut self,
        data: &[u8],
        out: &Out,
        seen: &mut dyn FnMut(&crate::codec::DecodedFrame),
    ) -> bool {
        let mut data = data;
        loop {
            // A streamed payload continuing in `data` is judged straight from it, not
            // copied into the decoder's buffer and out again.
            if self.decoder.streaming() && !data.is_empty() {
                let mut scratch = std::mem::take(&mut self.piece);
                let taken =
                    self.decoder
                        .stream_from(data, &mut scratch)
                        .map(|(piece, at, last)| {
                            (piece.len(), self.streamed_piece(piece, at, last, out))
                        });
                self.piece = scratch;
                if let Some((n, go)) = taken {
                    data = &data[n..];
                    if !go {
                        return false;
                    }
                    continue;
                }
            }
            if !data.is_empty() {
                self.decoder.feed(data);
                data = &[];
            }
            if self.decoder.streaming() {
                let mut piece = std::mem::take(&mut self.piece);
                let go = match self.decoder.stream_piece(&mut piece) {
                    None => {
                        self.piece = piece;
                        return true;
                    }
                    Some((at, last)) => self.streamed_piece(&piece, at, last, out),
                };
                self.piece = piece;
                if !go {
                    return false;
                }
                continue;
            }
            if self.inflate.is_none() {
                if let Some(head) = self.decoder.begin_stream(STREAM_ABOVE as u64) {
                    if !self.streamed_head(head, out, seen) {
                        return false;
                    }
                    continue;
                }
            }
            match self.decoder.next_frame() {
                Ok(None) => return true,
                Ok(Some(df)) => {
                    if !self.whole_frame(df, out, seen) {
                        return false;
                    }
                }
                Err(e) => {
                    let FatalError::FrameTooLarge {
                        header_violations, ..
                    } = &e;
                    for v in header_violations {
                        let _ = out.send(Event::Violation(to_peer_violation(v)));
                    }
                    let _ = out.send(Event::Fatal(e.to_string()));
                    return false;
                }
            }
        }
    }

    /// What every frame gets first: the transcript, its own violations, and the rule that
    /// no data follows the peer's close. False when the frame is to be ignored or reading
    /// must stop (`*go` then false).
    fn admit(&mut self, df: &DecodedFrame, len: u64, out: &Out, go: &mut bool) -> bool {
        out.shared
            .transcript
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .frame_of_len(Direction::In, &df.frame, len);
        for v in &df.violations {
            if !out.send(Event::Violation(to_peer_violation(v))) {
                *go = false;
                return false;
            }
        }
        // Data after the peer's close is forbidden; a pong is not data, and
        // answering a ping that crossed the close is harmless, so it is ignored.
        if self.peer_closed && df.frame.opcode & 0x8 == 0 {
            let _ = out.send(Event::Violation(PeerViolation::new(
                Rule::DataAfterClose,
                format!(
                    "a frame with opcode 0x{:x} at byte {} followed the peer's close frame",
                    df.frame.opcode, df.offset
                ),
            )));
            return false;
        }
        !self.peer_closed
    }

    fn streamed_head(
        &mut self,
        head: StreamedHead,
        out: &Out,
        seen: &mut dyn FnMut(&DecodedFrame),
    ) -> bool {
        seen(&head.decoded);
        let mut go = true;
        self.ignore_stream = !self.admit(&head.decoded, head.len, out, &mut go);
        if !go {
            return false;
        }
        if self.ignore_stream {
            return true;
        }
        match self.assembler.push_head(&head.decoded, false) {
            Ok(()) => true,
            Err(v) => out.send(Event::Violation(to_peer_violation(&v))),
        }
    }

    fn streamed_piece(&mut self, piece: &[u8], at: u64, last: bool, out: &Out) -> bool {
        if self.ignore_stream {
            self.ignore_stream = !last;
            return true;
        }
        if let Err(v) = self.assembler.push_piece(piece, at) {
            if !out.send(Event::Violation(to_peer_violation(&v))) {
                return false;
            }
        }
        if !last {
            return true;
        }
        let end = at + piece.len() as u64;
        let pushed = self.assembler.end_frame(end);
        self.deliver(pushed, end, out)
    }

    fn whole_frame(
        &mut self,
        df: DecodedFrame,
        out: &Out,
        seen: &mut dyn FnMut(&DecodedFrame),
    ) -> bool {
        seen(&df);
        let mut go = true;
        if !self.admit(&df, df.frame.payload.len() as u64, out, &mut go) {
            return go;
        }
        let mut compressed = false;
        if let (Some(inf), true) = (&mut self.inflate, df.frame.rsv1) {
            let op = df.frame.opcode;
            if op == 0 || op & 0x8 != 0 {
                let what = if op == 0 {
                    "a continuation frame"
                } else {
                    "a control frame"
                };
                if !out.send(Event::Violation(PeerViolation::new(
                    Rule::DeflateRsv1Misplaced,
                    format!("RSV1 set on {what} (opcode 0x{op:x}) at byte {}", df.offset),
                ))) {
                    return false;
                }
            } else if !self.assembler.in_message() {
                compressed = true;
                inf.open_compressed = true;
            }
        }
        let pushed = self.assembler.push_transformed(&df, compressed);
        if pushed.is_err() {
            if let Some(inf) = &mut self.inflate {
                inf.open_compressed = false;
            }
        }
        self.deliver(pushed, df.offset + df.wire_len as u64, out)
    }

    /// Sends the event an assembled frame makes, if any; `end` is the stream offset just
    /// past the frame. False when reading must stop.
    fn deliver(&mut self, pushed: Result<Assembled, Violation>, end: u64, out: &Out) -> bool {
        let ev = match pushed {
            Ok(Assembled::Partial) => return true,
            Ok(Assembled::Message {
                opcode,
                payload,
                frames,
            }) => match self.inflate.as_mut().filter(|inf| inf.open_compressed) {
                Some(inf) => {
                    inf.open_compressed = false;
                    if let Some(v) = inf.window_violation(&payload, end) {
                        if !out.send(Event::Violation(v)) {
                            return false;
                        }
                    }
                    let ev = inf.message(opcode, &payload, frames, end);
                    if let Event::Message { payload: p, .. } = &ev {
                        out.shared
                            .transcript
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .note(format!(
                                "inflated a compressed message: {} -> {} bytes",
                                payload.len(),
                                p.len()
                            ));
                    }
                    if matches!(ev, Event::Fatal(_)) {
                        let _ = out.send(ev);
                        return false;
                    }
                    if let Event::Violation(v) = &ev {
                        // The message came and is lost: say so after its violation, so an
                        // expectation waiting for it decides now.
                        let why = if v.id == Some(Rule::DeflateInflatedUtf8) {
                            "inflates to text that is not UTF-8"
                        } else {
                            "does not inflate"
                        };
                        if !out.send(ev) {
                            return false;
                        }
                        Event::Unreadable { opcode, why }
                    } else {
                        summarized(ev)
                    }
                }
                _ => Event::Message {
                    opcode,
                    payload,
                    frames,
                    summary: self.assembler.take_summary(),
                },
            },
            Ok(Assembled::Control(f)) => match f.opcode {
                0x9 => {
                    // Answered at once by the writer task, whatever the
                    // interpreter is doing.
                    out.shared.pongs.ping(f.payload.clone());
                    Event::Ping(f.payload)
                }
                0xA => Event::Pong(f.payload),
                0x8 => {
                    self.peer_closed = true;
                    out.shared.stamp(None, |t, at| {
                        t.peer_close_frame_us.get_or_insert(at);
                    });
                    let info = crate::codec::parse_close_payload(&f.payload);
                    Event::Close {
                        code: info.code,
                        reason: info.reason,
                    }
                }
                _ => return true,
            },
            Err(v) => Event::Violation(to_peer_violation(&v)),
        };
        out.send(ev)
    }
}

/// An inflated message over [`STREAM_ABOVE`] bytes travels as its head, length and digest,
/// like one that arrived uncompressed, so the session holds the same for both.
fn summarized(ev: Event) -> Event {
    match ev {
        Event::Message {
            opcode,
            mut payload,
            frames,
            summary: None,
        } if payload.len() > STREAM_ABOVE => {
            let summary = Some(Summary {
                len: payload.len() as u64,
                digest: Digest::of(&payload),
            });
            payload.truncate(HEAD_KEEP);
            payload.shrink_to_fit();
            Event::Message {
                opcode,
                payload,
                frames,
                summary,
            }
        }
        ev => ev,
    }
}
