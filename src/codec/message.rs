//! Message assembly and the fragmentation rules (RFC 6455 §5.4).
//!
//! Fragmentation rules constrain the *sequence* of frames, so they cannot
//! be judged by the frame decoder alone; the assembler keeps the one piece
//! of state they need, the currently open fragmented message. Text is
//! validated frame by frame as it arrives (RFC 6455 §8.1 fail-fast), so an
//! invalid message is reported at the first frame where it is detectable,
//! not when the final fragment arrives.

use super::decoder::DecodedFrame;
use super::digest::Digest;
use super::frame::Frame;
use super::opcode::OpCode;
use super::rule::{Rule, Violation};
use crate::utf8::{Utf8Error, Utf8Validator};

/// What one pushed frame produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assembled {
    /// A complete message. `opcode` is 1 (text) or 2 (binary); `frames` is
    /// how many frames carried it.
    Message {
        opcode: u8,
        payload: Vec<u8>,
        frames: usize,
    },
    /// A control frame (opcode 0x8-0xF), which may arrive between the
    /// fragments of a message (RFC 6455 §5.4) and is passed through.
    Control(Frame),
    /// A data frame was consumed; the message is still open.
    Partial,
}

/// What a summarised message kept of itself (see [`Assembler::summarize_above`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// The message's length in bytes.
    pub len: u64,
    /// [`Digest`] of the whole payload.
    pub digest: u64,
}

/// Bytes of a summarised message kept as its sample (the start of it).
pub const HEAD_KEEP: usize = 1024;

#[derive(Debug, Clone)]
struct Open {
    opcode: u8,
    /// The payload, or its first [`HEAD_KEEP`] bytes once summarised.
    payload: Vec<u8>,
    /// Bytes of the message so far.
    len: u64,
    frames: usize,
    /// Present for text messages only.
    utf8: Option<Utf8Validator>,
    /// Set once the message outgrew the summary threshold.
    digest: Option<Digest>,
    /// Data transformed by an extension: held whole for it to undo, never summarised.
    transformed: bool,
}

/// Tracks an open fragmented message and reassembles it.
///
/// After any `Err` the open message (if any) is discarded and the
/// offending frame is dropped: the RFC requires the connection to fail at
/// that point, so there is no correct way to continue the message, and
/// starting clean keeps later findings independent of earlier ones.
#[derive(Debug, Clone)]
pub struct Assembler {
    max_message: u64,
    open: Option<Open>,
    /// Messages longer than this are not held: see [`summarize_above`](Self::summarize_above).
    summarize_above: Option<u64>,
    /// The summary of the message returned last, if it was summarised.
    summary: Option<Summary>,
    /// The frame being pushed piece by piece, if any: its FIN bit.
    frame_fin: Option<bool>,
    /// The rest of the current streamed frame is dropped (it broke a rule).
    dropping: bool,
}

impl Assembler {
    /// `max_message`: largest reassembled payload accepted (RFC 6455 §10.4).
    pub fn new(max_message: u64) -> Self {
        Self {
            max_message,
            open: None,
            summarize_above: None,
            summary: None,
            frame_fin: None,
            dropping: false,
        }
    }

    /// Messages longer than `n` bytes (untransformed ones) are not held whole: they are
    /// validated as they pass, and the [`Assembled::Message`] carries only their first
    /// [`HEAD_KEEP`] bytes, with [`take_summary`](Self::take_summary) giving the length
    /// and digest. What keeps the peer's 16 MiB echo from costing 16 MiB.
    pub fn summarize_above(mut self, n: u64) -> Self {
        self.summarize_above = Some(n);
        self
    }

    /// The length and digest of the message just returned, when it was summarised (its
    /// payload then being only its head); None for a message returned whole.
    pub fn take_summary(&mut self) -> Option<Summary> {
        self.summary.take()
    }

    /// True while a fragmented message has started and not finished.
    pub fn in_message(&self) -> bool {
        self.open.is_some()
    }

    /// Takes the next decoded frame in stream order.
    pub fn push(&mut self, f: &DecodedFrame) -> Result<Assembled, Violation> {
        self.push_transformed(f, false)
    }

    /// Like [`push`](Self::push), but a message that `f` starts carries data transformed by
    /// a negotiated extension (permessage-deflate, RFC 7692 §6.1): its payload is not
    /// UTF-8 until the extension has undone the transform, so the caller validates it then.
    /// `transformed` only matters on the first frame of a message.
    pub fn push_transformed(
        &mut self,
        f: &DecodedFrame,
        transformed: bool,
    ) -> Result<Assembled, Violation> {
        let op = OpCode(f.frame.opcode);
        if op.is_control() {
            return Ok(Assembled::Control(f.frame.clone()));
        }
        self.push_head(f, transformed)?;
        self.push_piece(&f.frame.payload, f.payload_offset())?;
        self.end_frame(f.offset + f.wire_len as u64)
    }

    /// The header of a data frame whose payload follows in pieces
    /// ([`push_piece`](Self::push_piece), then [`end_frame`](Self::end_frame)); `f` has an
    /// empty payload. [`push_transformed`](Self::push_transformed) is these three calls.
    pub fn push_head(&mut self, f: &DecodedFrame, transformed: bool) -> Result<(), Violation> {
        self.frame_fin = Some(f.frame.fin);
        self.dropping = false;
        let r = self.begin(f, OpCode(f.frame.opcode), transformed);
        self.fail_on_err(r)
    }

    /// The next piece of the current frame's payload; `at` is the stream offset of its
    /// first byte. Pieces of a frame that broke a rule are dropped.
    pub fn push_piece(&mut self, data: &[u8], at: u64) -> Result<(), Violation> {
        if self.dropping {
            return Ok(());
        }
        let r = self.data(data, at);
        self.fail_on_err(r)
    }

    /// The current frame is complete; `end` is the stream offset just past it. Gives the
    /// message if the frame was its last.
    pub fn end_frame(&mut self, end: u64) -> Result<Assembled, Violation> {
        let fin = self.frame_fin.take().unwrap_or(false);
        if std::mem::take(&mut self.dropping) {
            return Ok(Assembled::Partial);
        }
        let r = self.finish(fin, end);
        if r.is_err() {
            self.open = None;
        }
        r
    }

    fn fail_on_err(&mut self, r: Result<(), Violation>) -> Result<(), Violation> {
        if r.is_err() {
            self.open = None;
            self.dropping = true;
        }
        r
    }

    fn begin(&mut self, f: &DecodedFrame, op: OpCode, transformed: bool) -> Result<(), Violation> {
        match op {
            OpCode::CONTINUATION if self.open.is_none() => {
                return Err(Violation::new(
                    Rule::ContinuationWithoutMessage,
                    f.offset,
                    "continuation frame with no message open",
                ));
            }
            OpCode::CONTINUATION => {}
            OpCode::TEXT | OpCode::BINARY => {
                if let Some(open) = &self.open {
                    return Err(Violation::new(
                        Rule::MessageInterleaved,
                        f.offset,
                        format!(
                            "{} frame while a {} message of {} frame(s) is still open",
                            op.name(),
                            OpCode(open.opcode).name(),
                            open.frames
                        ),
                    ));
                }
                self.open = Some(Open {
                    opcode: op.0,
                    payload: Vec::new(),
                    len: 0,
                    frames: 0,
                    utf8: (op == OpCode::TEXT && !transformed).then(Utf8Validator::new),
                    digest: None,
                    transformed,
                });
            }
            _ => {
                // Reserved non-control opcode: no defined meaning, so it can
                // neither start nor continue a message.
                return Err(Violation::new(
                    Rule::ReservedOpcode,
                    f.offset,
                    format!("cannot assemble a frame with opcode {:#x}", op.0),
                ));
            }
        }
        self.open.as_mut().expect("opened above").frames += 1;
        Ok(())
    }

    fn data(&mut self, data: &[u8], payload_at: u64) -> Result<(), Violation> {
        let open = self.open.as_mut().expect("a frame head was pushed");
        let before = open.len;
        // Only the part within the limit is examined and kept, so an
        // earlier UTF-8 error is still reported before the size overrun.
        let room = self.max_message.saturating_sub(before);
        let fits = usize::try_from(room).map_or(data.len(), |r| r.min(data.len()));
        if let Some(v) = &mut open.utf8 {
            if let Err(Utf8Error::Invalid { offset }) = v.feed(&data[..fits]) {
                return Err(Violation::new(
                    Rule::InvalidUtf8,
                    payload_at + (offset - before),
                    format!("text message byte {offset} is not valid UTF-8"),
                ));
            }
        }
        if fits < data.len() {
            return Err(Violation::new(
                Rule::MessageTooLarge,
                payload_at + fits as u64,
                format!(
                    "message exceeds the {}-byte limit ({} + {} bytes)",
                    self.max_message,
                    before,
                    data.len()
                ),
            ));
        }
        open.len += data.len() as u64;
        let over = self.summarize_above.is_some_and(|t| open.len > t) && !open.transformed;
        if over && open.digest.is_none() {
            let mut d = Digest::new();
            d.update(&open.payload);
            open.digest = Some(d);
            open.payload.truncate(HEAD_KEEP);
            open.payload.shrink_to_fit();
        }
        match &mut open.digest {
            Some(d) => {
                d.update(data);
                let room = HEAD_KEEP.saturating_sub(open.payload.len()).min(data.len());
                open.payload.extend_from_slice(&data[..room]);
            }
            None => open.payload.extend_from_slice(data),
        }
        Ok(())
    }

    fn finish(&mut self, fin: bool, end: u64) -> Result<Assembled, Violation> {
        if !fin {
            return Ok(Assembled::Partial);
        }
        let open = self.open.take().expect("a frame head was pushed");
        if let Some(Err(Utf8Error::Incomplete { offset })) = open.utf8.map(|v| v.finish()) {
            // The final frame's length tells a reader where the message
            // ends, so truncation is visible at the frame's last byte.
            return Err(Violation::new(
                Rule::InvalidUtf8,
                end - 1,
                format!("text message ends inside a UTF-8 sequence (byte {offset})"),
            ));
        }
        self.summary = open.digest.map(|d| Summary {
            len: open.len,
            digest: d.finish(),
        });
        Ok(Assembled::Message {
            opcode: open.opcode,
            payload: open.payload,
            frames: open.frames,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Decoder, DecoderConfig, Expect};

    /// Encodes `frames` back to back and decodes them, so offsets are real.
    fn decoded(frames: &[Frame]) -> Vec<DecodedFrame> {
        let mut bytes = Vec::new();
        for f in frames {
            f.encode_into(&mut bytes).unwrap();
        }
        let mut d = Decoder::new(DecoderConfig::new(Expect::Unmasked));
        d.feed(&bytes);
        std::iter::from_fn(|| d.next_frame().unwrap()).collect()
    }

    fn push_all(a: &mut Assembler, frames: &[Frame]) -> Vec<Result<Assembled, Violation>> {
        decoded(frames).iter().map(|f| a.push(f)).collect()
    }

    fn err_at(r: &Result<Assembled, Violation>) -> (Rule, u64) {
        let v = r.as_ref().unwrap_err();
        (v.rule, v.offset)
    }

    fn message(opcode: u8, payload: &[u8], frames: usize) -> Assembled {
        Assembled::Message {
            opcode,
            payload: payload.to_vec(),
            frames,
        }
    }

    #[test]
    fn rfc_fragmented_hello() {
        let mut a = Assembler::new(1024);
        let out = push_all(
            &mut a,
            &[
                Frame::text("Hel").with_fin(false),
                Frame::continuation("lo"),
            ],
        );
        assert_eq!(out, [Ok(Assembled::Partial), Ok(message(1, b"Hello", 2))]);
        assert!(!a.in_message());
    }

    #[test]
    fn control_frames_may_interleave() {
        let mut a = Assembler::new(1024);
        let frames = [
            Frame::binary("ab").with_fin(false),
            Frame::ping("p"),
            Frame::continuation("cd").with_fin(false),
            Frame::pong(""),
            Frame::continuation("ef"),
        ];
        let out = push_all(&mut a, &frames);
        assert_eq!(
            out[1],
            Ok(Assembled::Control(
                Frame::ping("p").with_length_form(crate::codec::LengthForm::Bits7)
            ))
        );
        assert!(matches!(out[3], Ok(Assembled::Control(_))));
        assert_eq!(out[4], Ok(message(2, b"abcdef", 3)));
    }

    #[test]
    fn continuation_without_message() {
        let mut a = Assembler::new(1024);
        let out = push_all(&mut a, &[Frame::text("ok"), Frame::continuation("x")]);
        assert_eq!(out[0], Ok(message(1, b"ok", 1)));
        assert_eq!(err_at(&out[1]), (Rule::ContinuationWithoutMessage, 4));
    }

    #[test]
    fn new_message_while_one_is_open() {
        let mut a = Assembler::new(1024);
        let out = push_all(
            &mut a,
            &[Frame::text("a").with_fin(false), Frame::binary("b")],
        );
        assert_eq!(err_at(&out[1]), (Rule::MessageInterleaved, 3));
        assert!(!a.in_message());
    }

    #[test]
    fn reserved_data_opcode_cannot_be_assembled() {
        let mut a = Assembler::new(1024);
        let out = push_all(&mut a, &[Frame::new(3, b"x".to_vec())]);
        assert_eq!(err_at(&out[0]), (Rule::ReservedOpcode, 0));
    }

    #[test]
    fn invalid_utf8_fails_at_the_first_frame_that_shows_it() {
        let mut a = Assembler::new(1024);
        // "κ" then ED A0 (a surrogate) in the first, non-final fragment.
        let frames = [
            Frame::text(vec![0xCE, 0xBA, 0xED, 0xA0]).with_fin(false),
            Frame::continuation("ok"),
        ];
        let out = push_all(&mut a, &frames);
        assert_eq!(err_at(&out[0]), (Rule::InvalidUtf8, 2 + 3));
        assert!(!a.in_message());
        // The orphaned continuation is then reported in its own right.
        assert_eq!(err_at(&out[1]), (Rule::ContinuationWithoutMessage, 6));
    }

    #[test]
    fn code_points_may_straddle_fragments() {
        let mut a = Assembler::new(1024);
        let frames = [
            Frame::text(vec![0xE2, 0x82]).with_fin(false),
            Frame::continuation(vec![0xAC]),
        ];
        let out = push_all(&mut a, &frames);
        assert_eq!(out[1], Ok(message(1, "€".as_bytes(), 2)));
        // Bad continuation in the second fragment: 2 + 2 header/payload,
        // then the second frame's header (2), so its first byte is at 6.
        let frames = [
            Frame::text(vec![0xE2, 0x82]).with_fin(false),
            Frame::continuation(vec![0x41]),
        ];
        assert_eq!(
            err_at(&push_all(&mut a, &frames)[1]),
            (Rule::InvalidUtf8, 6)
        );
    }

    #[test]
    fn truncated_text_is_invalid_at_the_final_frame_end() {
        let mut a = Assembler::new(1024);
        let frames = [
            Frame::text(vec![b'a', 0xF0, 0x9F]).with_fin(false),
            Frame::continuation(vec![0x98]),
        ];
        let out = push_all(&mut a, &frames);
        assert_eq!(out[0], Ok(Assembled::Partial));
        assert_eq!(err_at(&out[1]), (Rule::InvalidUtf8, 7));
        // Binary messages are not UTF-8 checked.
        assert_eq!(
            push_all(&mut a, &[Frame::binary(vec![0xFF])])[0],
            Ok(message(2, &[0xFF], 1))
        );
    }

    #[test]
    fn message_too_large() {
        let mut a = Assembler::new(5);
        let frames = [
            Frame::binary("abc").with_fin(false),
            Frame::continuation("def"),
        ];
        let out = push_all(&mut a, &frames);
        // Second frame's payload starts at 5 + 2 = 7; its 3rd byte (index 2)
        // is the 6th message byte.
        assert_eq!(err_at(&out[1]), (Rule::MessageTooLarge, 9));
        assert_eq!(
            push_all(&mut a, &[Frame::text("12345")])[0],
            Ok(message(1, b"12345", 1))
        );
        let out = push_all(&mut a, &[Frame::text("123456")]);
        assert_eq!(err_at(&out[0]), (Rule::MessageTooLarge, 7));
    }

    #[test]
    fn utf8_error_before_the_limit_wins() {
        let mut a = Assembler::new(3);
        let out = push_all(&mut a, &[Frame::text(vec![b'a', 0xFF, b'c', b'd'])]);
        assert_eq!(err_at(&out[0]), (Rule::InvalidUtf8, 3));
    }

    /// A message over the threshold comes out as its head with length and digest, the same
    /// whether its frames came whole or in pieces; a small one comes out whole.
    #[test]
    fn large_messages_are_summarised() {
        let body: Vec<u8> = (0..5000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut a = Assembler::new(1 << 20).summarize_above(4096);
        let out = push_all(
            &mut a,
            &[
                Frame::text(body[..3000].to_vec()).with_fin(false),
                Frame::continuation(body[3000..].to_vec()),
            ],
        );
        assert_eq!(out[1], Ok(message(1, &body[..HEAD_KEEP], 2)));
        let want = Summary {
            len: 5000,
            digest: Digest::of(&body),
        };
        assert_eq!(a.take_summary(), Some(want));
        assert_eq!(a.take_summary(), None);
        // The same message in one frame, pushed in pieces.
        let f = &decoded(&[Frame::text(body.clone())])[0];
        let mut head = f.clone();
        head.frame.payload.clear();
        head.wire_len -= body.len();
        a.push_head(&head, false).unwrap();
        let at = f.payload_offset();
        for (i, piece) in body.chunks(777).enumerate() {
            a.push_piece(piece, at + (i * 777) as u64).unwrap();
        }
        let end = f.offset + f.wire_len as u64;
        assert_eq!(a.end_frame(end), Ok(message(1, &body[..HEAD_KEEP], 1)));
        assert_eq!(a.take_summary(), Some(want));
        // Small messages stay whole and have no summary.
        assert_eq!(
            push_all(&mut a, &[Frame::binary("abc")])[0],
            Ok(message(2, b"abc", 1))
        );
        assert_eq!(a.take_summary(), None);
    }

    /// Invalid UTF-8 in a piece of a streamed frame fails at its byte; the frame's later
    /// pieces are dropped, and the next message is judged on its own.
    #[test]
    fn a_streamed_frame_fails_fast_on_invalid_utf8() {
        let mut a = Assembler::new(1 << 20).summarize_above(10);
        let mut body = vec![b'x'; 100];
        body[50] = 0xff;
        let f = &decoded(&[Frame::text(body.clone())])[0];
        let mut head = f.clone();
        head.frame.payload.clear();
        head.wire_len -= body.len();
        let at = f.payload_offset();
        a.push_head(&head, false).unwrap();
        a.push_piece(&body[..40], at).unwrap();
        let err = a.push_piece(&body[40..80], at + 40).unwrap_err();
        assert_eq!((err.rule, err.offset), (Rule::InvalidUtf8, at + 50));
        assert_eq!(a.push_piece(&body[80..], at + 80), Ok(()));
        assert_eq!(a.end_frame(at + 100), Ok(Assembled::Partial));
        assert!(!a.in_message());
        assert_eq!(
            push_all(&mut a, &[Frame::text("ok")])[0],
            Ok(message(1, b"ok", 1))
        );
    }

    /// Splitting any byte string into fragments gives the same verdict as
    /// validating it whole, with the error located in the right fragment.
    #[quickcheck_macros::quickcheck]
    fn fragmented_text_matches_whole_validation(bytes: Vec<u8>, sizes: Vec<u8>) -> bool {
        let mut frames = Vec::new();
        let mut rest = &bytes[..];
        let mut k = 0;
        while !rest.is_empty() || frames.is_empty() {
            let n = sizes
                .get(k)
                .map_or(rest.len(), |&s| usize::from(s % 9))
                .min(rest.len());
            let op = if frames.is_empty() { 1 } else { 0 };
            frames.push(Frame::new(op, rest[..n].to_vec()).with_fin(false));
            rest = &rest[n..];
            k += 1;
        }
        frames.last_mut().unwrap().fin = true;
        let dec = decoded(&frames);
        let mut a = Assembler::new(u64::MAX);
        let last = dec
            .iter()
            .map(|f| a.push(f))
            .find(|r| r != &Ok(Assembled::Partial))
            .unwrap();
        // Absolute offset of message byte `k`.
        let locate = |k: u64| {
            let mut before = 0u64;
            for f in &dec {
                let n = f.frame.payload.len() as u64;
                if k < before + n {
                    return f.payload_offset() + (k - before);
                }
                before += n;
            }
            unreachable!("offset inside the message")
        };
        let end = dec
            .last()
            .map(|f| f.offset + f.wire_len as u64 - 1)
            .unwrap();
        match crate::utf8::validate(&bytes) {
            Ok(()) => last == Ok(message(1, &bytes, frames.len())),
            Err(Utf8Error::Invalid { offset }) => {
                err_at(&last) == (Rule::InvalidUtf8, locate(offset))
            }
            Err(Utf8Error::Incomplete { .. }) => err_at(&last) == (Rule::InvalidUtf8, end),
        }
    }
}
