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

struct Out<'a> {
    tx: &'a UnboundedSender<Event>,
    shared: &'a Shared,
    limits: ReadLimits,
}

impl Out<'_> {
    /// False when the interpreter is gone or the peer floods: stop reading.
    fn send(&self, ev: Event) -> bool {
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
    let mut decoder: Option<Decoder> = None;
    let mut assembler = Assembler::new(limits.max_message);
    let mut rejected = false;
    let mut peer_closed = false;
    loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) => {
                if decoder.is_none() && !rejected {
                    let _ = out.send(Event::HandshakeInvalid(if head.is_empty() {
                        "the peer closed the connection without a response".into()
                    } else {
                        format!(
                            "the connection closed after {} bytes of an incomplete response",
                            head.len()
                        )
                    }));
                } else if let Some(d) = &decoder {
                    if d.buffered() > 0 {
                        let _ = out.send(Event::Violation(PeerViolation {
                            section: "RFC 6455 §5.2".into(),
                            rule: "a frame is sent whole".into(),
                            detail: format!(
                                "TCP closed in the middle of a frame, {} bytes into it",
                                d.buffered()
                            ),
                        }));
                    }
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
        let frames_start: &[u8] = if decoder.is_none() {
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
                    let mut d = Decoder::new(DecoderConfig {
                        expect: MaskRule::Unmasked,
                        max_frame_payload: limits.max_frame,
                        allowed_rsv: 0,
                    });
                    d.feed(&rest);
                    decoder = Some(d);
                    &[]
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
        let d = decoder.as_mut().unwrap();
        d.feed(frames_start);
        loop {
            match d.next_frame() {
                Ok(None) => break,
                Ok(Some(df)) => {
                    shared
                        .transcript
                        .lock()
                        .unwrap()
                        .frame(Direction::In, &df.frame);
                    for v in &df.violations {
                        if !out.send(Event::Violation(to_peer_violation(v))) {
                            return;
                        }
                    }
                    // Data after the peer's close is forbidden; a pong is not data, and
                    // answering a ping that crossed the close is harmless, so it is ignored.
                    if peer_closed && df.frame.opcode & 0x8 == 0 {
                        let _ = out.send(Event::Violation(PeerViolation {
                            section: "RFC 6455 §5.5.1".into(),
                            rule: "after sending a Close frame, the endpoint MUST NOT send any more data frames".into(),
                            detail: format!("a frame with opcode 0x{:x} at byte {} followed the peer's close frame", df.frame.opcode, df.offset),
                        }));
                        continue;
                    }
                    if peer_closed {
                        continue;
                    }
                    let ev = match assembler.push(&df) {
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
                                peer_closed = true;
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
                        return;
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
                    return;
                }
            }
        }
    }
}
