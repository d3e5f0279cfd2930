//! The read side of a session: bytes from the peer to [`Event`]s.
//!
//! It runs as its own task so the peer is always read, even while wsspec is writing a large
//! message: an echo server that cannot write stops reading, and both sides would stall.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc::UnboundedSender;

use crate::codec::{
    Assembled, Assembler, Decoder, DecoderConfig, Expect as MaskRule, FatalError, Violation,
};
use crate::handshake::parse_response;
use crate::judge::{Event, PeerViolation};
use crate::transcript::{Direction, Transcript};

/// Bounds on what wsspec keeps of the peer's output.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// Largest handshake response head.
    pub max_head: usize,
    pub max_frame: u64,
    pub max_message: u64,
    /// Events not yet consumed by the interpreter; past this the peer is flooding.
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
    /// Events sent and not yet taken by the interpreter.
    pub queued: AtomicUsize,
}

pub fn to_peer_violation(v: &Violation) -> PeerViolation {
    PeerViolation {
        section: v.rule.section().to_owned(),
        rule: v.rule.text().to_owned(),
        detail: format!("{} (byte {} of the peer's stream)", v.detail, v.offset),
    }
}

pub(crate) struct Out<'a> {
    pub(crate) tx: &'a UnboundedSender<Event>,
    pub(crate) shared: &'a Shared,
    pub(crate) limits: ReadLimits,
}

impl Out<'_> {
    /// False when the interpreter is gone or the peer floods: stop reading.
    pub(crate) fn send(&self, ev: Event) -> bool {
        if self.shared.queued.fetch_add(1, Ordering::Relaxed) >= self.limits.max_queued {
            let _ = self.tx.send(Event::Fatal(format!(
                "the peer sent more than {} frames that wsspec did not ask for",
                self.limits.max_queued
            )));
            return false;
        }
        self.tx.send(ev).is_ok()
    }
}

pub async fn read_loop<R: AsyncRead + Unpin>(
    mut rd: R,
    tx: UnboundedSender<Event>,
    shared: Arc<Shared>,
    limits: ReadLimits,
) {
    let out = Out {
        tx: &tx,
        shared: &shared,
        limits,
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut head: Vec<u8> = Vec::new();
    let mut frames: Option<FrameStage> = None;
    let mut rejected = false;
    loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) => {
                if frames.is_none() && !rejected {
                    let _ = out.send(Event::HandshakeInvalid(if head.is_empty() {
                        "the peer closed the connection without a response".into()
                    } else {
                        format!(
                            "the connection closed after {} bytes of an incomplete response",
                            head.len()
                        )
                    }));
                } else if let Some(f) = &frames {
                    f.eof(&out);
                }
                let _ = out.send(Event::Eof);
                return;
            }
            Ok(n) => n,
            Err(e) => {
                let _ = out.send(Event::Reset(e.to_string()));
                return;
            }
        };
        let data = &buf[..n];
        shared.bytes_received.fetch_add(n as u64, Ordering::Relaxed);
        shared.transcript.lock().unwrap().bytes(Direction::In, data);
        if rejected {
            continue;
        }
        let frames_start: &[u8] = if frames.is_none() {
            head.extend_from_slice(data);
            match parse_response(&head, limits.max_head) {
                Ok(None) => continue,
                Ok(Some(resp)) => {
                    let rest = head.split_off(resp.head_len.min(head.len()));
                    let upgraded = resp.status == 101;
                    if !out.send(Event::Handshake(Box::new(resp))) {
                        return;
                    }
                    if !upgraded {
                        rejected = true;
                        continue;
                    }
                    let mut f = FrameStage::new(MaskRule::Unmasked, limits);
                    if !f.feed(&rest, &out, &mut |_| {}) {
                        return;
                    }
                    frames = Some(f);
                    continue;
                }
                Err(e) => {
                    let _ = out.send(Event::HandshakeInvalid(e.to_string()));
                    rejected = true;
                    continue;
                }
            }
        } else {
            data
        };
        if !frames
            .as_mut()
            .unwrap()
            .feed(frames_start, &out, &mut |_| {})
        {
            return;
        }
    }
}

/// The frames after the opening handshake, in either role: decoding with the masking
/// rule of the peer's role, reassembly, and the rule that nothing follows a close frame.
pub(crate) struct FrameStage {
    decoder: Decoder,
    assembler: Assembler,
    peer_closed: bool,
}

impl FrameStage {
    pub(crate) fn new(expect: MaskRule, limits: ReadLimits) -> FrameStage {
        FrameStage {
            decoder: Decoder::new(DecoderConfig {
                expect,
                max_frame_payload: limits.max_frame,
                allowed_rsv: 0,
            }),
            assembler: Assembler::new(limits.max_message),
            peer_closed: false,
        }
    }

    /// The peer closed TCP: a frame cut short is a violation.
    pub(crate) fn eof(&self, out: &Out) {
        if self.decoder.buffered() > 0 {
            let _ = out.send(Event::Violation(PeerViolation {
                section: "RFC 6455 §5.2".into(),
                rule: "a frame is sent whole".into(),
                detail: format!(
                    "TCP closed in the middle of a frame, {} bytes into it",
                    self.decoder.buffered()
                ),
            }));
        }
    }

    /// Decodes what `data` completes and sends the events; `seen` gets every frame as
    /// decoded. False when reading must stop.
    pub(crate) fn feed(
        &mut self,
        data: &[u8],
        out: &Out,
        seen: &mut dyn FnMut(&crate::codec::DecodedFrame),
    ) -> bool {
        let shared = out.shared;
        let d = &mut self.decoder;
        d.feed(data);
        loop {
            match d.next_frame() {
                Ok(None) => return true,
                Ok(Some(df)) => {
                    seen(&df);
                    shared
                        .transcript
                        .lock()
                        .unwrap()
                        .frame(Direction::In, &df.frame);
                    for v in &df.violations {
                        if !out.send(Event::Violation(to_peer_violation(v))) {
                            return false;
                        }
                    }
                    // Data after the peer's close is forbidden; a pong is not data, and
                    // answering a ping that crossed the close is harmless, so it is ignored.
                    if self.peer_closed && df.frame.opcode & 0x8 == 0 {
                        let _ = out.send(Event::Violation(PeerViolation {
                            section: "RFC 6455 §5.5.1".into(),
                            rule: "after sending a Close frame, the endpoint MUST NOT send any more data frames".into(),
                            detail: format!("a frame with opcode 0x{:x} at byte {} followed the peer's close frame", df.frame.opcode, df.offset),
                        }));
                        continue;
                    }
                    if self.peer_closed {
                        continue;
                    }
                    let ev = match self.assembler.push(&df) {
                        Ok(Assembled::Partial) => continue,
                        Ok(Assembled::Message {
                            opcode,
                            payload,
                            frames,
                        }) => Event::Message {
                            opcode,
                            payload,
                            frames,
                        },
                        Ok(Assembled::Control(f)) => match f.opcode {
                            0x9 => Event::Ping(f.payload),
                            0xA => Event::Pong(f.payload),
                            0x8 => {
                                self.peer_closed = true;
                                let info = crate::codec::parse_close_payload(&f.payload);
                                Event::Close {
                                    code: info.code,
                                    reason: info.reason,
                                }
                            }
                            _ => continue,
                        },
                        Err(v) => Event::Violation(to_peer_violation(&v)),
                    };
                    if !out.send(ev) {
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
}
