//! Strict, incremental frame decoder (RFC 6455 §5.2).
//!
//! The decoder is the judge of what a peer sends, so unlike a library's
//! decoder it does not stop at the first problem: every frame comes back
//! with the list of rules it breaks, each located at the absolute stream
//! offset of the byte where the breach first becomes visible. That lets a
//! test say not only *that* a peer sent a bad frame but exactly where, and
//! compare it with when the peer reacted.
//!
//! Only one condition is fatal: a frame announcing more payload than the
//! configured limit. Decoding stops there, before any allocation sized by
//! the announced length (RFC 6455 §10.4 warns of frames "of size 2**60").

use super::close::close_problems;
use super::frame::{Frame, LengthForm};
use super::mask::apply_mask;
use super::opcode::OpCode;
use super::rule::{Rule, Violation};

/// What the RFC requires of the peer's frames (RFC 6455 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expect {
    /// We are the server: every frame from the client must be masked.
    Masked,
    /// We are the client: no frame from the server may be masked.
    Unmasked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderConfig {
    pub expect: Expect,
    /// Largest payload the decoder will buffer for one frame. A frame
    /// announcing more is reported as [`FatalError::FrameTooLarge`] and
    /// decoding stops.
    pub max_frame_payload: u64,
    /// RSV bits a negotiated extension allows (bit mask: 0b100 = RSV1,
    /// 0b010 = RSV2, 0b001 = RSV3). Default 0.
    pub allowed_rsv: u8,
}

impl DecoderConfig {
    /// Default frame limit: generous for conformance cases, small enough
    /// that a hostile peer cannot make the suite itself run out of memory.
    pub const DEFAULT_MAX_FRAME_PAYLOAD: u64 = 16 << 20;

    pub fn new(expect: Expect) -> Self {
        Self {
            expect,
            max_frame_payload: Self::DEFAULT_MAX_FRAME_PAYLOAD,
            allowed_rsv: 0,
        }
    }
}

/// A frame as received, with everything the RFC would object to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedFrame {
    /// Payload already unmasked; `mask` = key seen; `length_form` = form
    /// seen on the wire (Bits7/16/64, never Minimal); `declared_len` None.
    pub frame: Frame,
    /// Absolute stream offset of the frame's first byte.
    pub offset: u64,
    /// Bytes the frame took on the wire.
    pub wire_len: usize,
    /// Every rule this frame breaks, in order of offset. None of these stop
    /// decoding.
    pub violations: Vec<Violation>,
}

impl DecodedFrame {
    /// Absolute offset of the first payload byte.
    pub fn payload_offset(&self) -> u64 {
        self.offset + (self.wire_len - self.frame.payload.len()) as u64
    }

    pub fn has_violation(&self, rule: Rule) -> bool {
        self.violations.iter().any(|v| v.rule == rule)
    }
}

/// Conditions after which the decoder will not continue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FatalError {
    /// The frame at `frame_offset` announces `announced` payload bytes,
    /// over `limit`. `offset` is the byte of the length field at which the
    /// excess became certain. A length with its most significant bit set
    /// (RFC 6455 §5.2) is over any sane limit, so instead of a separate
    /// error, the violations already visible in the header (Length64MsbSet,
    /// ReservedBitSet, MaskMissing, ...) are carried in
    /// `header_violations`, so nothing the peer did wrong goes unreported.
    #[error(
        "frame at offset {frame_offset} announces {announced} payload bytes, over the \
         {limit}-byte limit (visible at offset {offset})"
    )]
    FrameTooLarge {
        announced: u64,
        limit: u64,
        offset: u64,
        frame_offset: u64,
        header_violations: Vec<Violation>,
    },
}

impl FatalError {
    pub fn rule(&self) -> Rule {
        match self {
            FatalError::FrameTooLarge { .. } => Rule::FrameTooLarge,
        }
    }
}

/// The detail of a [`Rule::ReservedBitSet`] violation, indexed by the RSV bits
/// set (0b100 = RSV1): written out, since every frame of a peer that sets a bit
/// gets one and building it from the names cost a few allocations each time.
const RSV_SET: [&str; 8] = [
    "",
    "RSV3 set without a negotiated extension",
    "RSV2 set without a negotiated extension",
    "RSV2, RSV3 set without a negotiated extension",
    "RSV1 set without a negotiated extension",
    "RSV1, RSV3 set without a negotiated extension",
    "RSV1, RSV2 set without a negotiated extension",
    "RSV1, RSV2, RSV3 set without a negotiated extension",
];

/// The fixed part of a header once the length field is complete.
struct Header {
    fin: bool,
    rsv: u8,
    opcode: u8,
    masked: bool,
    form: LengthForm,
    /// The length field's bytes after the first 7 bits (0, 2 or 8 bytes).
    ext: [u8; 8],
    ext_len: usize,
    len: u64,
}

impl Header {
    /// Parses up to the end of the length field; None if incomplete.
    fn parse(data: &[u8]) -> Option<Header> {
        let (&b0, &b1) = (data.first()?, data.get(1)?);
        let len7 = b1 & 0x7F;
        let (form, ext_len) = match len7 {
            126 => (LengthForm::Bits16, 2),
            127 => (LengthForm::Bits64, 8),
            _ => (LengthForm::Bits7, 0),
        };
        let field = data.get(2..2 + ext_len)?;
        let mut ext = [0u8; 8];
        ext[..ext_len].copy_from_slice(field);
        let len = match form {
            LengthForm::Bits7 => u64::from(len7),
            _ => field.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
        };
        Some(Header {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 0b111,
            opcode: b0 & 0x0F,
            masked: b1 & 0x80 != 0,
            form,
            ext,
            ext_len,
            len,
        })
    }

    /// Bytes up to and including the length field.
    fn base_len(&self) -> usize {
        2 + self.ext_len
    }

    fn header_len(&self) -> usize {
        self.base_len() + if self.masked { 4 } else { 0 }
    }

    /// Frame-relative index of the first length byte at which `holds`
    /// becomes true whatever the remaining length bytes are. `holds` gets
    /// the smallest and largest values still possible. Must only be called
    /// when `holds` is true of the complete value.
    fn certain_at(&self, holds: impl Fn(u64, u64) -> bool) -> usize {
        if self.ext_len == 0 {
            return 1;
        }
        let mut prefix = 0u64;
        for k in 1..=self.ext_len {
            prefix = (prefix << 8) | u64::from(self.ext[k - 1]);
            let rest_bits = 8 * (self.ext_len - k) as u32;
            let min = prefix.checked_shl(rest_bits).unwrap_or(0);
            let max = min | (1u64.checked_shl(rest_bits).unwrap_or(0).wrapping_sub(1));
            if rest_bits == 0 || holds(min, max) {
                return 1 + k;
            }
        }
        self.base_len() - 1
    }

    /// Violations visible in the header alone. `at` is the frame offset.
    fn violations(&self, at: u64, cfg: &DecoderConfig) -> Vec<Violation> {
        let mut v = Vec::new();
        let op = OpCode(self.opcode);
        let bad_rsv = self.rsv & !cfg.allowed_rsv;
        if bad_rsv != 0 {
            v.push(Violation::new(
                Rule::ReservedBitSet,
                at,
                RSV_SET[usize::from(bad_rsv)],
            ));
        }
        if op.is_reserved() {
            v.push(Violation::new(
                Rule::ReservedOpcode,
                at,
                format!("opcode {:#x}", self.opcode),
            ));
        }
        if op.is_control() && !self.fin {
            v.push(Violation::new(
                Rule::ControlFrameFragmented,
                at,
                format!("{} frame with FIN clear", op.name()),
            ));
        }
        match (cfg.expect, self.masked) {
            (Expect::Masked, false) => v.push(Violation::new(
                Rule::MaskMissing,
                at + 1,
                "server received a frame with the MASK bit clear",
            )),
            (Expect::Unmasked, true) => v.push(Violation::new(
                Rule::MaskPresent,
                at + 1,
                "client received a frame with the MASK bit set",
            )),
            _ => {}
        }
        if self.form == LengthForm::Bits64 && self.ext[0] & 0x80 != 0 {
            v.push(Violation::new(
                Rule::Length64MsbSet,
                at + 2,
                format!("64-bit length {:#018x} has its top bit set", self.len),
            ));
        }
        if LengthForm::minimal_for(self.len) != self.form {
            let limit = if self.form == LengthForm::Bits16 {
                126
            } else {
                0x1_0000
            };
            v.push(Violation::new(
                Rule::NonMinimalLength,
                at + self.certain_at(|_, max| max < limit) as u64,
                format!("length {} written in the {:?} form", self.len, self.form),
            ));
        }
        if op.is_control() && self.len > 125 {
            v.push(Violation::new(
                Rule::ControlFrameTooLong,
                at + self.certain_at(|min, _| min > 125) as u64,
                format!("{} frame with a {}-byte payload", op.name(), self.len),
            ));
        }
        v
    }
}

/// Incremental decoder: bytes go in with [`feed`](Self::feed) as they
/// arrive; frames come out of [`next_frame`](Self::next_frame) as soon as
/// they are complete.
#[derive(Debug, Clone)]
pub struct Decoder {
    cfg: DecoderConfig,
    /// Received bytes; `buf[start..]` is not yet consumed. Memory grows
    /// only with bytes actually received, never with announced lengths.
    buf: Vec<u8>,
    start: usize,
    /// Absolute stream offset of `buf[start]`.
    offset: u64,
    /// Set once a fatal error is found; repeated by every later call.
    fatal: Option<FatalError>,
    /// A large data frame whose payload is being handed out in pieces (see
    /// [`begin_stream`](Self::begin_stream)).
    streaming: Option<Streaming>,
}

/// The payload still to come of a frame taken with [`Decoder::begin_stream`].
#[derive(Debug, Clone, Copy)]
struct Streaming {
    left: u64,
    key: Option<[u8; 4]>,
    /// Payload bytes already handed out (the masking key's phase).
    done: u64,
}

/// A large data frame's header, taken before its payload arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamedHead {
    /// The frame with an empty payload; `wire_len` of `decoded` is the header's length.
    pub decoded: DecodedFrame,
    /// The payload length the header announces.
    pub len: u64,
}

impl Decoder {
    pub fn new(cfg: DecoderConfig) -> Self {
        Self {
            cfg,
            buf: Vec::new(),
            start: 0,
            offset: 0,
            fatal: None,
            streaming: None,
        }
    }

    /// Takes the header of a data frame announcing more than `above` payload bytes (and
    /// no more than the limit) as soon as the header is complete, so its payload can be
    /// judged piece by piece with [`stream_piece`](Self::stream_piece) instead of being
    /// buffered whole: a 16 MiB frame costs no 16 MiB buffer. None when the next frame is
    /// not such a frame, is incomplete, or a payload is already being streamed.
    pub fn begin_stream(&mut self, above: u64) -> Option<StreamedHead> {
        if self.fatal.is_some() || self.streaming.is_some() {
            return None;
        }
        let data = &self.buf[self.start..];
        let h = Header::parse(data)?;
        if h.opcode & 0x8 != 0
            || h.len <= above
            || h.len > self.cfg.max_frame_payload
            || data.len() < h.header_len()
        {
            return None;
        }
        let at = self.offset;
        let key = h
            .masked
            .then(|| <[u8; 4]>::try_from(&data[h.base_len()..h.header_len()]).expect("4 bytes"));
        let frame = Frame {
            fin: h.fin,
            rsv1: h.rsv & 0b100 != 0,
            rsv2: h.rsv & 0b010 != 0,
            rsv3: h.rsv & 0b001 != 0,
            opcode: h.opcode,
            mask: key,
            length_form: h.form,
            declared_len: None,
            payload: Vec::new(),
        };
        let header_len = h.header_len();
        let violations = h.violations(at, &self.cfg);
        self.start += header_len;
        self.offset += header_len as u64;
        self.streaming = Some(Streaming {
            left: h.len,
            key,
            done: 0,
        });
        Some(StreamedHead {
            decoded: DecodedFrame {
                frame,
                offset: at,
                wire_len: header_len,
                violations,
            },
            len: h.len,
        })
    }

    /// The next buffered piece of a streamed payload, unmasked, with the stream offset of
    /// its first byte and whether it ends the frame. None when nothing is buffered or no
    /// payload is being streamed; after the last piece, frames decode as before.
    pub fn stream_piece(&mut self, out: &mut Vec<u8>) -> Option<(u64, bool)> {
        let st = self.streaming.as_mut()?;
        let avail = self.buf.len() - self.start;
        if avail == 0 && st.left > 0 {
            return None;
        }
        let n = usize::try_from(st.left).map_or(avail, |l| l.min(avail));
        out.clear();
        out.extend_from_slice(&self.buf[self.start..self.start + n]);
        if let Some(key) = st.key {
            apply_mask(out, key, (st.done % 4) as usize);
        }
        let at = self.offset;
        st.left -= n as u64;
        st.done += n as u64;
        let last = st.left == 0;
        if last {
            self.streaming = None;
        }
        self.start += n;
        self.offset += n as u64;
        Some((at, last))
    }

    /// [`stream_piece`](Self::stream_piece) for bytes that were not fed: the streamed
    /// payload's next bytes taken straight from `data` (the bytes that follow everything
    /// fed, with nothing left buffered), so a 16 MiB frame is not copied into the
    /// decoder's buffer on its way. The piece is borrowed from `data`, or unmasked into
    /// `scratch` when the frame is masked. Returns the piece (its length is what was
    /// consumed of `data`), the stream offset of its first byte and whether it ends the
    /// frame; None when no payload is being streamed, bytes are buffered, or `data` is
    /// empty (then [`feed`](Self::feed) as usual).
    pub fn stream_from<'a>(
        &mut self,
        data: &'a [u8],
        scratch: &'a mut Vec<u8>,
    ) -> Option<(&'a [u8], u64, bool)> {
        if data.is_empty() || self.buffered() > 0 || self.fatal.is_some() {
            return None;
        }
        let st = self.streaming.as_mut()?;
        let n = usize::try_from(st.left).map_or(data.len(), |l| l.min(data.len()));
        let piece: &'a [u8] = match st.key {
            Some(key) => {
                scratch.clear();
                scratch.extend_from_slice(&data[..n]);
                apply_mask(scratch, key, (st.done % 4) as usize);
                scratch
            }
            None => &data[..n],
        };
        let at = self.offset;
        st.left -= n as u64;
        st.done += n as u64;
        let last = st.left == 0;
        if last {
            self.streaming = None;
        }
        self.offset += n as u64;
        Some((piece, at, last))
    }

    /// True while a streamed payload has bytes still to come.
    pub fn streaming(&self) -> bool {
        self.streaming.is_some()
    }

    pub fn config(&self) -> &DecoderConfig {
        &self.cfg
    }

    /// Append bytes received from the peer. After a fatal error, bytes are
    /// dropped: decoding will not resume, so holding them would only let
    /// the peer grow our memory.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.fatal.is_some() {
            return;
        }
        // Compact once the consumed prefix outweighs the live bytes, which
        // keeps the copying amortised O(1) per byte.
        if self.start > 0 && self.start >= self.buf.len() - self.start {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held but not yet consumed.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Absolute stream offset of the next unconsumed byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Next complete frame, if any. `Ok(None)` = need more bytes.
    pub fn next_frame(&mut self) -> Result<Option<DecodedFrame>, FatalError> {
        if let Some(e) = &self.fatal {
            return Err(e.clone());
        }
        if self.streaming.is_some() {
            return Ok(None);
        }
        let data = &self.buf[self.start..];
        let Some(h) = Header::parse(data) else {
            return Ok(None);
        };
        let at = self.offset;
        let limit = self.cfg.max_frame_payload;
        // Checked before waiting for the masking key or payload: the
        // length alone decides, and the peer may never send the rest.
        let total = usize::try_from(h.len)
            .ok()
            .and_then(|len| len.checked_add(h.header_len()))
            .filter(|_| h.len <= limit);
        let Some(total) = total else {
            let cut = if h.len > limit {
                limit
            } else {
                usize::MAX as u64
            };
            let e = FatalError::FrameTooLarge {
                announced: h.len,
                limit,
                offset: at + h.certain_at(|min, _| min > cut) as u64,
                frame_offset: at,
                header_violations: h.violations(at, &self.cfg),
            };
            self.fatal = Some(e.clone());
            self.buf = Vec::new();
            self.start = 0;
            return Err(e);
        };
        if data.len() < total {
            return Ok(None);
        }
        let key = h
            .masked
            .then(|| <[u8; 4]>::try_from(&data[h.base_len()..h.header_len()]).expect("4 bytes"));
        let mut payload = data[h.header_len()..total].to_vec();
        if let Some(key) = key {
            apply_mask(&mut payload, key, 0);
        }
        let mut violations = h.violations(at, &self.cfg);
        if h.opcode == OpCode::CLOSE.0 {
            let payload_at = at + h.header_len() as u64;
            for p in close_problems(&payload) {
                let offset = if p.rule == Rule::ClosePayloadOneByte {
                    // The length field already says "1".
                    at + h.base_len() as u64 - 1
                } else {
                    payload_at + p.at as u64
                };
                violations.push(Violation::new(p.rule, offset, p.detail));
            }
        }
        violations.sort_by_key(|v| v.offset);
        let frame = Frame {
            fin: h.fin,
            rsv1: h.rsv & 0b100 != 0,
            rsv2: h.rsv & 0b010 != 0,
            rsv3: h.rsv & 0b001 != 0,
            opcode: h.opcode,
            mask: key,
            length_form: h.form,
            declared_len: None,
            payload,
        };
        self.start += total;
        self.offset += total as u64;
        Ok(Some(DecodedFrame {
            frame,
            offset: at,
            wire_len: total,
            violations,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::{Arbitrary, Gen};

    impl Arbitrary for Frame {
        /// Any header bits and opcode, any mask, payloads up to ~400 bytes
        /// (so the 16-bit form is reached), with only length forms that
        /// fit: the encoder rejects the others by design.
        fn arbitrary(g: &mut Gen) -> Self {
            let len = if bool::arbitrary(g) {
                usize::from(u8::arbitrary(g) % 130)
            } else {
                usize::from(u16::arbitrary(g) % 400)
            };
            let payload: Vec<u8> = (0..len).map(|_| u8::arbitrary(g)).collect();
            let mut forms = vec![LengthForm::Minimal, LengthForm::Bits16, LengthForm::Bits64];
            if len <= 125 {
                forms.push(LengthForm::Bits7);
            }
            Frame {
                fin: bool::arbitrary(g),
                rsv1: bool::arbitrary(g),
                rsv2: bool::arbitrary(g),
                rsv3: bool::arbitrary(g),
                opcode: u8::arbitrary(g) % 16,
                mask: Option::<[u8; 4]>::arbitrary(g),
                length_form: *g.choose(&forms).expect("non-empty"),
                declared_len: None,
                payload,
            }
        }
    }

    fn server() -> Decoder {
        Decoder::new(DecoderConfig::new(Expect::Masked))
    }

    fn client() -> Decoder {
        Decoder::new(DecoderConfig::new(Expect::Unmasked))
    }

    /// Decodes all complete frames from `bytes` fed in one go.
    fn decode_all(mut d: Decoder, bytes: &[u8]) -> Vec<DecodedFrame> {
        d.feed(bytes);
        let mut out = Vec::new();
        while let Some(f) = d.next_frame().expect("no fatal error") {
            out.push(f);
        }
        assert_eq!(d.buffered(), 0);
        out
    }

    fn decode_one(d: Decoder, bytes: &[u8]) -> DecodedFrame {
        let mut frames = decode_all(d, bytes);
        assert_eq!(frames.len(), 1);
        frames.pop().unwrap()
    }

    fn rules_at(f: &DecodedFrame) -> Vec<(Rule, u64)> {
        f.violations.iter().map(|v| (v.rule, v.offset)).collect()
    }

    #[quickcheck_macros::quickcheck]
    fn round_trip(frame: Frame) -> bool {
        let bytes = frame.encode().expect("arbitrary frames encode");
        let d = decode_one(client(), &bytes);
        let mut expected = frame.clone();
        expected.length_form = frame.resolved_length_form();
        d.frame == expected && d.offset == 0 && d.wire_len == bytes.len()
    }

    #[quickcheck_macros::quickcheck]
    fn chunked_feeding_matches_one_feed(frames: Vec<Frame>, sizes: Vec<u16>) -> bool {
        let mut bytes = Vec::new();
        for f in &frames {
            f.encode_into(&mut bytes).expect("arbitrary frames encode");
        }
        let whole = decode_all(server(), &bytes);
        let mut d = server();
        let mut got = Vec::new();
        let mut rest = &bytes[..];
        let mut k = 0;
        loop {
            while let Some(f) = d.next_frame().expect("no fatal error") {
                got.push(f);
            }
            if rest.is_empty() {
                break;
            }
            let n = sizes
                .get(k)
                .map_or(rest.len(), |&s| usize::from(s % 40))
                .min(rest.len());
            d.feed(&rest[..n]);
            rest = &rest[n..];
            k += 1;
        }
        let offsets_ok = got
            .iter()
            .zip(&frames)
            .all(|(g, f)| g.wire_len == f.encode().unwrap().len());
        got == whole && got.len() == frames.len() && offsets_ok && d.offset() == bytes.len() as u64
    }

    #[test]
    fn rfc_examples_single_frames() {
        // RFC 6455 §5.7: single-frame unmasked text message.
        let hello = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        assert_eq!(Frame::text("Hello").encode().unwrap(), hello);
        let d = decode_one(client(), &hello);
        assert_eq!(
            d.frame,
            Frame::text("Hello").with_length_form(LengthForm::Bits7)
        );
        assert!(d.violations.is_empty());

        // Single-frame masked text message.
        let masked = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let key = [0x37, 0xfa, 0x21, 0x3d];
        assert_eq!(
            Frame::text("Hello").with_mask(key).encode().unwrap(),
            masked
        );
        let d = decode_one(server(), &masked);
        assert_eq!(d.frame.payload, b"Hello");
        assert_eq!(d.frame.mask, Some(key));
        assert!(d.violations.is_empty());

        // Unmasked ping, and the masked pong answering it.
        let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        assert_eq!(Frame::ping("Hello").encode().unwrap(), ping);
        assert!(decode_one(client(), &ping).violations.is_empty());
        let pong = [
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        assert_eq!(Frame::pong("Hello").with_mask(key).encode().unwrap(), pong);
        assert_eq!(decode_one(server(), &pong).frame.opcode, OpCode::PONG.0);
    }

    #[test]
    fn rfc_example_fragmented() {
        let first = [0x01, 0x03, 0x48, 0x65, 0x6c];
        let second = [0x80, 0x02, 0x6c, 0x6f];
        assert_eq!(Frame::text("Hel").with_fin(false).encode().unwrap(), first);
        assert_eq!(Frame::continuation("lo").encode().unwrap(), second);
        let frames = decode_all(client(), &[&first[..], &second[..]].concat());
        assert_eq!(frames.len(), 2);
        assert!(!frames[0].frame.fin && frames[1].frame.fin);
        assert_eq!(frames[1].offset, 5);
        assert!(frames.iter().all(|f| f.violations.is_empty()));
    }

    #[test]
    fn rfc_examples_extended_lengths() {
        let big = vec![0xAB; 256];
        let bytes = Frame::binary(big.clone()).encode().unwrap();
        assert_eq!(bytes[..4], [0x82, 0x7E, 0x01, 0x00]);
        let d = decode_one(client(), &bytes);
        assert_eq!(
            (d.frame.length_form, d.frame.payload.len()),
            (LengthForm::Bits16, 256)
        );
        assert!(d.violations.is_empty());

        let huge = vec![0xCD; 65536];
        let bytes = Frame::binary(huge).encode().unwrap();
        assert_eq!(bytes[..10], [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
        let d = decode_one(client(), &bytes);
        assert_eq!(
            (d.frame.length_form, d.wire_len),
            (LengthForm::Bits64, 65546)
        );
        assert!(d.violations.is_empty());
    }

    #[test]
    fn non_minimal_lengths_are_reported_where_certain() {
        // 16-bit form for 3 bytes: certain at the low length byte.
        let bytes = Frame::text("abc")
            .with_length_form(LengthForm::Bits16)
            .encode()
            .unwrap();
        let mut input = vec![0u8; 5]; // a 5-byte offset to check absoluteness
        input[..2].copy_from_slice(&[0x82, 0x03]);
        input[2..5].copy_from_slice(b"xyz");
        input.extend_from_slice(&bytes);
        let frames = decode_all(client(), &input);
        assert_eq!(rules_at(&frames[1]), [(Rule::NonMinimalLength, 5 + 3)]);

        // 64-bit form for 200 bytes: fits 16 bits once bytes 2..=7 are 0.
        let f = Frame::binary(vec![0; 200]).with_length_form(LengthForm::Bits64);
        let d = decode_one(client(), &f.encode().unwrap());
        assert_eq!(rules_at(&d), [(Rule::NonMinimalLength, 7)]);
        assert_eq!(d.frame.length_form, LengthForm::Bits64);

        // 64-bit for a length that needs it: fine.
        let f = Frame::binary(vec![0; 0x1_0000]).with_length_form(LengthForm::Bits64);
        assert!(decode_one(client(), &f.encode().unwrap())
            .violations
            .is_empty());
    }

    #[test]
    fn lying_declared_length() {
        let bytes = Frame::binary(b"abc".to_vec())
            .with_declared_len(10)
            .encode()
            .unwrap();
        let mut d = client();
        d.feed(&bytes);
        assert_eq!(d.next_frame(), Ok(None));
        assert_eq!(d.buffered(), 5);
        // Seven more bytes: the "frame" swallows the next frame's start.
        let next = Frame::text("Hello").encode().unwrap();
        d.feed(&next);
        let f = d.next_frame().unwrap().unwrap();
        assert_eq!(f.frame.payload, [&b"abc"[..], &next[..]].concat());
        assert_eq!(f.wire_len, 12);
        assert_eq!(d.next_frame(), Ok(None));
        assert_eq!((d.offset(), d.buffered()), (12, 0));
    }

    fn fatal_for(len_field: [u8; 8]) -> FatalError {
        let mut d = Decoder::new(DecoderConfig {
            max_frame_payload: 1 << 20,
            ..DecoderConfig::new(Expect::Unmasked)
        });
        d.feed(&[0x82, 0x7F]);
        d.feed(&len_field);
        let e = d.next_frame().unwrap_err();
        // Sticky: later calls and bytes change nothing.
        d.feed(&[0; 100]);
        assert_eq!(d.next_frame(), Err(e.clone()));
        assert_eq!(d.buffered(), 0);
        e
    }

    #[test]
    fn huge_announced_lengths_are_fatal_without_allocating() {
        let e = fatal_for(u64::MAX.to_be_bytes());
        let FatalError::FrameTooLarge {
            announced,
            limit,
            offset,
            frame_offset,
            header_violations,
        } = e;
        assert_eq!(
            (announced, limit, offset, frame_offset),
            (u64::MAX, 1 << 20, 2, 0)
        );
        let rules: Vec<_> = header_violations
            .iter()
            .map(|v| (v.rule, v.offset))
            .collect();
        assert_eq!(rules, [(Rule::Length64MsbSet, 2)]);

        let e = fatal_for((1u64 << 63).to_be_bytes());
        assert!(matches!(e, FatalError::FrameTooLarge { announced, .. } if announced == 1 << 63));
        assert_eq!(e.rule(), Rule::FrameTooLarge);

        // Just over 1 MiB, legal MSB: only the last length byte settles it
        // (0x10_0001 vs limit 0x10_0000; the prefix 00 00 00 00 00 10 00
        // could still end in 0x10_0000).
        let e = fatal_for((1u64 << 20 | 1).to_be_bytes());
        let FatalError::FrameTooLarge {
            offset,
            header_violations,
            ..
        } = e;
        assert_eq!(offset, 9);
        assert!(header_violations.is_empty());
    }

    #[test]
    fn too_large_detected_before_mask_key_and_payload_arrive() {
        let mut d = Decoder::new(DecoderConfig {
            max_frame_payload: 100,
            ..DecoderConfig::new(Expect::Masked)
        });
        d.feed(&[0x81, 0xFE, 0x00]);
        assert_eq!(d.next_frame(), Ok(None));
        d.feed(&[0x65]); // 101 bytes announced
        assert!(matches!(
            d.next_frame(),
            Err(FatalError::FrameTooLarge {
                announced: 101,
                offset: 3,
                ..
            })
        ));
        // A 7-bit length is certain at byte 1.
        let mut d = Decoder::new(DecoderConfig {
            max_frame_payload: 10,
            ..DecoderConfig::new(Expect::Masked)
        });
        d.feed(&[0x81, 0x8B]);
        assert!(matches!(
            d.next_frame(),
            Err(FatalError::FrameTooLarge { offset: 1, .. })
        ));
    }

    #[test]
    fn reserved_bits() {
        let bytes = Frame::text("x").with_rsv(0b101).encode().unwrap();
        let d = decode_one(client(), &bytes);
        assert_eq!(rules_at(&d), [(Rule::ReservedBitSet, 0)]);
        assert!(d.violations[0].detail.contains("RSV1, RSV3"));
        // RSV1 allowed (e.g. permessage-deflate): only RSV3 is reported.
        let mut cfg = DecoderConfig::new(Expect::Unmasked);
        cfg.allowed_rsv = 0b100;
        let d = decode_one(Decoder::new(cfg.clone()), &bytes);
        assert_eq!(
            d.violations[0].detail,
            "RSV3 set without a negotiated extension"
        );
        let ok = Frame::text("x").with_rsv(0b100).encode().unwrap();
        assert!(decode_one(Decoder::new(cfg), &ok).violations.is_empty());
    }

    #[test]
    fn reserved_opcodes() {
        for op in [3, 7, 0xB, 0xF] {
            let bytes = [&b"\x81\x00"[..], &Frame::new(op, vec![]).encode().unwrap()].concat();
            let frames = decode_all(client(), &bytes);
            assert_eq!(rules_at(&frames[1]), [(Rule::ReservedOpcode, 2)], "{op:#x}");
        }
    }

    #[test]
    fn fragmented_control_frame() {
        let d = decode_one(
            client(),
            &Frame::ping("p").with_fin(false).encode().unwrap(),
        );
        assert_eq!(rules_at(&d), [(Rule::ControlFrameFragmented, 0)]);
        // FIN clear on a data frame is just fragmentation.
        let d = decode_one(
            client(),
            &Frame::binary("p").with_fin(false).encode().unwrap(),
        );
        assert!(d.violations.is_empty());
    }

    #[test]
    fn control_frame_too_long() {
        let d = decode_one(client(), &Frame::ping(vec![0; 126]).encode().unwrap());
        assert_eq!(rules_at(&d), [(Rule::ControlFrameTooLong, 3)]);
        // Length 0x0100 is over 125 as soon as the high byte 01 is read.
        let d = decode_one(client(), &Frame::pong(vec![0; 256]).encode().unwrap());
        assert_eq!(rules_at(&d), [(Rule::ControlFrameTooLong, 2)]);
        let d = decode_one(client(), &Frame::ping(vec![0; 125]).encode().unwrap());
        assert!(d.violations.is_empty());
    }

    #[test]
    fn masking_expectations() {
        let unmasked = Frame::text("hi").encode().unwrap();
        assert_eq!(
            rules_at(&decode_one(server(), &unmasked)),
            [(Rule::MaskMissing, 1)]
        );
        let masked = Frame::text("hi").with_mask([9, 8, 7, 6]).encode().unwrap();
        let d = decode_one(client(), &masked);
        assert_eq!(rules_at(&d), [(Rule::MaskPresent, 1)]);
        assert_eq!(d.frame.payload, b"hi");
    }

    #[test]
    fn length64_msb_set_with_a_permissive_limit() {
        // With a limit above 2^63 the frame is not fatal; it just waits.
        let mut d = Decoder::new(DecoderConfig {
            max_frame_payload: u64::MAX,
            ..DecoderConfig::new(Expect::Unmasked)
        });
        d.feed(
            &Frame::binary(vec![])
                .with_declared_len(1 << 63)
                .encode()
                .unwrap(),
        );
        assert_eq!(d.next_frame(), Ok(None));
        // Any length with the top bit set is over a normal limit, so the
        // rule is reported inside the fatal error, at the first length byte.
        let e = fatal_for([0x80, 0, 0, 0, 0, 0, 0, 5]);
        let FatalError::FrameTooLarge {
            header_violations, ..
        } = e;
        assert_eq!(
            (header_violations[0].rule, header_violations[0].offset),
            (Rule::Length64MsbSet, 2)
        );
    }

    #[test]
    fn close_payload_problems() {
        // 1-byte body: visible at the length byte.
        let d = decode_one(client(), &Frame::new(8, vec![0x03]).encode().unwrap());
        assert_eq!(rules_at(&d), [(Rule::ClosePayloadOneByte, 1)]);
        // 1005 may not be sent: visible at the code's second byte (offset 3).
        let d = decode_one(client(), &Frame::close(Some(1005), b"").encode().unwrap());
        assert_eq!(rules_at(&d), [(Rule::CloseCodeInvalid, 3)]);
        // Bad reason and bad code together, masked, at a server.
        let f = Frame::close(Some(999), &[b'o', b'k', 0xC0]).with_mask([1, 2, 3, 4]);
        let d = decode_one(server(), &f.encode().unwrap());
        // header 2 + key 4; code bytes at 6,7 (0x03 0xE7: 0x03xx has valid
        // codes, so visible at 7); reason at 8.. with 0xC0 at 10.
        assert_eq!(
            rules_at(&d),
            [
                (Rule::CloseCodeInvalid, 7),
                (Rule::CloseReasonInvalidUtf8, 10)
            ]
        );
        // A valid close body.
        let d = decode_one(
            client(),
            &Frame::close(Some(1000), "bye".as_bytes()).encode().unwrap(),
        );
        assert!(d.violations.is_empty());
    }

    #[test]
    fn several_violations_in_one_frame_are_ordered() {
        let f = Frame::new(0xB, vec![0; 130])
            .with_fin(false)
            .with_rsv(0b010);
        let d = decode_one(server(), &f.encode().unwrap());
        assert_eq!(
            rules_at(&d),
            [
                (Rule::ReservedBitSet, 0),
                (Rule::ReservedOpcode, 0),
                (Rule::ControlFrameFragmented, 0),
                (Rule::MaskMissing, 1),
                (Rule::ControlFrameTooLong, 3),
            ]
        );
    }

    /// A large frame taken in pieces gives the same payload and offsets as decoded whole,
    /// and the frame after it decodes as usual.
    #[test]
    fn a_streamed_payload_matches_the_whole_frame() {
        let payload: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let mut bytes = Frame::binary(payload.clone())
            .with_mask([1, 2, 3, 4])
            .encode()
            .unwrap();
        Frame::text("after")
            .with_mask([9, 9, 9, 9])
            .encode_into(&mut bytes)
            .unwrap();
        let mut d = server();
        // Too short a frame for the threshold: not streamed.
        d.feed(&bytes[..3]);
        assert!(d.begin_stream(100).is_none(), "header incomplete");
        d.feed(&bytes[3..8]);
        assert!(d.begin_stream(1000).is_none(), "not above the threshold");
        let head = d.begin_stream(100).expect("a large data frame");
        assert_eq!(
            (head.len, head.decoded.offset, head.decoded.wire_len),
            (1000, 0, 8)
        );
        assert_eq!(head.decoded.frame.mask, Some([1, 2, 3, 4]));
        assert_eq!(d.next_frame(), Ok(None), "no frame while streaming");
        let mut got = Vec::new();
        let mut piece = Vec::new();
        let mut fed = 8;
        for step in [1, 2, 333, 7, 660] {
            d.feed(&bytes[fed..fed + step]);
            fed += step;
            let (at, last) = d.stream_piece(&mut piece).unwrap();
            assert_eq!(at, 8 + got.len() as u64);
            got.extend_from_slice(&piece);
            assert_eq!(last, got.len() == 1000);
        }
        assert_eq!(got, payload);
        assert!(!d.streaming());
        d.feed(&bytes[fed..]);
        let f = d.next_frame().unwrap().unwrap();
        assert_eq!(
            (f.offset, f.frame.payload.as_slice()),
            (1008, &b"after"[..])
        );
    }

    /// Pieces taken straight from the bytes read (never fed) are the payload unmasked,
    /// in order, with their stream offsets; the bytes after the frame are fed as usual.
    #[test]
    fn a_payload_streamed_from_unfed_bytes_matches_the_whole_frame() {
        let payload: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        for mask in [Some([1, 2, 3, 4]), None] {
            let mut f = Frame::binary(payload.clone());
            f.mask = mask;
            let mut bytes = f.encode().unwrap();
            let header = bytes.len() - 1000;
            Frame::text("after")
                .with_mask([9, 9, 9, 9])
                .encode_into(&mut bytes)
                .unwrap();
            let mut d = if mask.is_some() { server() } else { client() };
            d.feed(&bytes[..header + 5]);
            d.begin_stream(100).expect("a large data frame");
            let mut scratch = Vec::new();
            assert!(
                d.stream_from(&bytes[header + 5..], &mut scratch).is_none(),
                "bytes buffered"
            );
            let mut piece = Vec::new();
            let (at, last) = d.stream_piece(&mut piece).unwrap();
            assert_eq!((at, last), (header as u64, false));
            let mut got = piece.clone();
            let mut fed = header + 5;
            for step in [1, 2, 333, 7, 652 + 11] {
                let data = &bytes[fed..fed + step];
                let (piece, at, last) = d.stream_from(data, &mut scratch).unwrap();
                assert_eq!(at, (header + got.len()) as u64);
                got.extend_from_slice(piece);
                fed += piece.len();
                assert_eq!(last, got.len() == 1000);
            }
            assert_eq!(got, payload);
            assert_eq!(fed, header + 1000, "the piece stops where the frame ends");
            assert!(!d.streaming());
            assert!(d.stream_from(&bytes[fed..], &mut scratch).is_none());
            d.feed(&bytes[fed..]);
            let f = d.next_frame().unwrap().unwrap();
            assert_eq!(f.frame.payload.as_slice(), &b"after"[..]);
        }
    }

    #[test]
    fn waits_for_every_part_of_the_frame() {
        let bytes = Frame::binary(vec![7; 300])
            .with_mask([1, 2, 3, 4])
            .encode()
            .unwrap();
        let mut d = server();
        for (i, b) in bytes.iter().enumerate() {
            assert_eq!(d.next_frame(), Ok(None), "byte {i}");
            d.feed(&[*b]);
        }
        let f = d.next_frame().unwrap().unwrap();
        assert_eq!(f.frame.payload, vec![7; 300]);
        assert_eq!(f.payload_offset(), 8);
    }
}
