//! One established connection of the echo server: frames in, messages reassembled (and
//! inflated on a compressed connection), echoes and control answers out, flaws included.

use super::io::{LIMIT_1MIB, MAX_FRAME, MAX_MESSAGE};
use super::Flaws;
use crate::codec::{
    close_payload, Assembled, Assembler, DecodedFrame, Decoder, DecoderConfig, Expect, Frame,
    LengthForm, OpCode, Rule,
};
use crate::deflate::{Compressor, Decompressor, InflateError};
use crate::reference::permessage_deflate::Agreement;

/// What to do after one frame.
pub(super) enum Next {
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

/// RSV1 where RFC 7692 §6.1 forbids it (a control frame, a continuation frame): "MUST
/// _Fail the WebSocket Connection_"; a frame-level protocol error, hence 1002.
const RSV1_MISPLACED: u16 = 1002;

/// A compressed message whose payload is not DEFLATE data. RFC 7692 says only that the
/// message cannot be received, i.e. the connection fails, and names no code. 1007 ("data
/// within a message that was not consistent with the type of the message", RFC 6455
/// §7.4.1) fits best: the frames were well formed and correctly flagged, what is wrong is
/// the content, as with invalid UTF-8 in a text message. A client should accept 1002 too.
const CORRUPT_DEFLATE: u16 = 1007;

/// A message that inflates beyond the server's limit: "too big to process", RFC 6455
/// §7.4.1.
const TOO_BIG: u16 = 1009;

/// The state of permessage-deflate on a connection where it was agreed.
struct Deflate {
    compressor: Compressor,
    decompressor: Decompressor,
    agreement: Agreement,
}

impl Deflate {
    fn new(agreement: Agreement, max_message: u64) -> Deflate {
        Deflate {
            compressor: Compressor::new(
                agreement.compress_window_bits,
                agreement.compress_no_context_takeover,
            ),
            decompressor: decompressor(&agreement, max_message),
            agreement,
        }
    }
}

fn decompressor(a: &Agreement, max_message: u64) -> Decompressor {
    Decompressor::new(
        a.inflate_window_bits,
        a.inflate_no_context_takeover,
        usize::try_from(max_message).unwrap_or(usize::MAX),
    )
}

pub(super) struct Conn {
    flaws: Flaws,
    assembler: Assembler,
    /// A fragmented control frame being collected (only with `allow_fragmented_control`).
    control: Option<(u8, Vec<u8>)>,
    /// The open message started as text but is assembled as binary, so that the
    /// assembler's UTF-8 check is skipped (only with `no_utf8_check` and
    /// `utf8_check_at_end_only`).
    text_as_binary: bool,
    /// Present when permessage-deflate was agreed.
    deflate: Option<Deflate>,
    /// The open message is compressed (RSV1 on its first frame); its real opcode, as it is
    /// assembled as binary: compressed bytes are not UTF-8, the inflated ones must be.
    compressed: Option<OpCode>,
    /// Bytes to send.
    pub out: Vec<u8>,
}

impl Conn {
    pub fn new(flaws: Flaws, deflate: Option<Agreement>) -> Conn {
        let max = max_message(&flaws);
        Conn {
            flaws,
            assembler: Assembler::new(max),
            control: None,
            text_as_binary: false,
            deflate: deflate.map(|a| Deflate::new(a, max)),
            compressed: None,
            out: Vec::new(),
        }
    }

    /// The decoder for this connection: RSV1 is allowed once permessage-deflate is agreed
    /// (where it may appear is checked per frame, below).
    pub fn decoder(&self) -> Decoder {
        Decoder::new(DecoderConfig {
            expect: Expect::Masked,
            max_frame_payload: if self.flaws.message_limit_1mib {
                LIMIT_1MIB
            } else {
                MAX_FRAME
            },
            allowed_rsv: if self.deflate.is_some() { 0b100 } else { 0 },
        })
    }

    fn ignored(&self, rule: Rule, opcode: OpCode) -> bool {
        let b = self.flaws;
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

    /// Whether RSV1 on this frame breaks RFC 7692 §6.1 (only asked where it was agreed).
    fn rsv1_misplaced(&self, op: OpCode) -> bool {
        if op.is_control() {
            !self.flaws.accept_rsv1_on_control
        } else if op == OpCode::CONTINUATION {
            !self.flaws.accept_rsv1_on_continuation
        } else {
            false
        }
    }

    pub fn frame(&mut self, df: &DecodedFrame) -> Next {
        let b = self.flaws;
        let op = OpCode(df.frame.opcode);
        if let Some(v) = df.violations.iter().find(|v| !self.ignored(v.rule, op)) {
            return Next::Fail(code_for(v.rule));
        }
        let f = &df.frame;
        if op.is_reserved() {
            // Only reached with `ignore_reserved_opcodes`: the frame is skipped.
            return Next::Go;
        }
        if self.deflate.is_some() && f.rsv1 && self.rsv1_misplaced(op) {
            return Next::Fail(RSV1_MISPLACED);
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
        // Some flaws, and compression, hand the assembler a frame with another opcode than
        // the one received.
        let starts = op == OpCode::TEXT || op == OpCode::BINARY;
        let opens = starts && !self.assembler.in_message();
        if opens {
            self.compressed = (self.deflate.is_some() && f.rsv1).then_some(op);
        }
        let relabel = if b.accept_interleaved_messages && starts && self.assembler.in_message() {
            Some(OpCode::CONTINUATION)
        } else if opens && self.compressed.is_some() {
            Some(OpCode::BINARY)
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
                mut payload,
                ..
            }) => {
                if let Some(original) = self.compressed.take() {
                    payload = match self.inflate(&payload) {
                        Ok(Some(p)) => p,
                        Ok(None) => return Next::Go,
                        Err(code) => return Next::Fail(code),
                    };
                    opcode = original.0;
                    let check = !(b.no_utf8_check_after_inflate || b.no_utf8_check);
                    if original == OpCode::TEXT && check && crate::utf8::validate(&payload).is_err()
                    {
                        return Next::Fail(1007);
                    }
                }
                if std::mem::take(&mut self.text_as_binary) {
                    opcode = OpCode::TEXT.0;
                    if b.utf8_check_at_end_only && crate::utf8::validate(&payload).is_err() {
                        return Next::Fail(1007);
                    }
                }
                self.send_message(opcode, payload);
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

    /// Inflates a compressed message (RFC 7692 §6.2, §7.2.2): the message, None to drop it
    /// (only with `accept_corrupt_deflate`), or the close code that fails the connection.
    fn inflate(&mut self, payload: &[u8]) -> Result<Option<Vec<u8>>, u16> {
        let max = max_message(&self.flaws);
        let d = self.deflate.as_mut().expect("compressed only where agreed");
        match d.decompressor.decompress(payload) {
            Ok(m) => Ok(Some(m)),
            Err(InflateError::TooLarge { .. }) => Err(TOO_BIG),
            Err(InflateError::Corrupt(_)) if self.flaws.accept_corrupt_deflate => {
                // The window is in an unknown state after bad data: start afresh.
                d.decompressor = decompressor(&d.agreement, max);
                Ok(None)
            }
            Err(InflateError::Corrupt(_)) => Err(CORRUPT_DEFLATE),
        }
    }

    /// Echoes a data message: as it came, or compressed where permessage-deflate was
    /// agreed (RFC 7692 §6.1: RSV1 on the first frame only).
    fn send_message(&mut self, opcode: u8, payload: Vec<u8>) {
        let Some(d) = self.deflate.as_mut() else {
            let bytes = encode(&self.flaws, Frame::new(opcode, payload));
            self.out.extend_from_slice(&bytes);
            return;
        };
        let mut compressed = d.compressor.compress(&payload);
        if self.flaws.rsv1_on_continuation && compressed.len() >= 2 {
            let second = compressed.split_off(compressed.len() / 2);
            let first = Frame::new(opcode, compressed)
                .with_fin(false)
                .with_rsv(0b100);
            let rest = Frame::continuation(second).with_rsv(0b100);
            for f in [first, rest] {
                let bytes = encode(&self.flaws, f);
                self.out.extend_from_slice(&bytes);
            }
        } else {
            let bytes = encode(&self.flaws, Frame::new(opcode, compressed).with_rsv(0b100));
            self.out.extend_from_slice(&bytes);
        }
    }

    /// A control frame the server sends, with RSV1 under `rsv1_on_control` on a
    /// compressed connection.
    pub fn control(&self, opcode: OpCode, payload: Vec<u8>) -> Vec<u8> {
        let mut f = Frame::new(opcode.0, payload);
        if self.deflate.is_some() && self.flaws.rsv1_on_control {
            f = f.with_rsv(0b100);
        }
        encode(&self.flaws, f)
    }

    pub fn close_frame(&self, code: Option<u16>) -> Vec<u8> {
        self.control(OpCode::CLOSE, close_payload(code, b""))
    }

    fn control_frame(&mut self, opcode: u8, payload: Vec<u8>) -> Next {
        match OpCode(opcode) {
            OpCode::PING if self.flaws.no_pong => Next::Go,
            OpCode::PING => {
                let mut p = payload;
                if self.flaws.wrong_pong_payload {
                    match p.first_mut() {
                        Some(b) => *b ^= 0x01,
                        None => p.push(b'?'),
                    }
                }
                let bytes = self.control(OpCode::PONG, p);
                self.out.extend_from_slice(&bytes);
                Next::Go
            }
            OpCode::PONG if self.flaws.answer_pongs => {
                let bytes = self.control(OpCode::PONG, payload);
                self.out.extend_from_slice(&bytes);
                Next::Go
            }
            OpCode::CLOSE => Next::Closed(payload),
            _ => Next::Go,
        }
    }
}

/// How the server writes a frame, flaws included.
fn encode(flaws: &Flaws, mut f: Frame) -> Vec<u8> {
    let len = f.payload.len();
    if flaws.non_minimal_length {
        f.length_form = if len < 125 {
            LengthForm::Bits7
        } else if len < 65535 {
            LengthForm::Bits16
        } else {
            LengthForm::Bits64
        };
    }
    if flaws.mask_server_frames {
        f.mask = Some([0x5a, 0xa5, 0x0f, 0xf0]);
    }
    f.encode().expect("server frames always encode")
}

/// Rewrites the 64-bit length at the start of `raw` (a frame header) to drop its top bit,
/// as a server reading the length as 63 bits would. True when it changed something.
pub(super) fn drop_length_msb(raw: &mut [u8]) -> bool {
    if raw.len() >= 3 && raw[1] & 0x7f == 127 && raw[2] & 0x80 != 0 {
        raw[2] &= 0x7f;
        true
    } else {
        false
    }
}

fn max_message(flaws: &Flaws) -> u64 {
    if flaws.message_limit_1mib {
        LIMIT_1MIB
    } else {
        MAX_MESSAGE
    }
}
