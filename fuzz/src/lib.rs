//! Shared harness code for wsspec's cargo-fuzz targets.
//!
//! Each target in `fuzz_targets/` is a thin `fuzz_target!` wrapper around one
//! function here, so the checks can be read in one place, reused by the seed
//! generator (`src/bin/gen_seeds.rs`) and exercised by `cargo test --lib`
//! on the seeds without libFuzzer.
//!
//! The checks are oracles, not just "does not panic": where a property can be
//! computed independently of wsspec (from `std`, from the RFC's own rules, or
//! from tungstenite), it is, and any disagreement panics with a message
//! naming the rule.

use std::io::Read;

use arbitrary::Arbitrary;
use wsspec::codec::{
    Assembled, Assembler, DecodedFrame, Decoder, DecoderConfig, Expect, FatalError, Frame,
    LengthForm, Rule,
};
use wsspec::handshake::{self, Offer, ParseError};
use wsspec::utf8::{Utf8Error, Utf8Validator};

/// Frame payload limit used by the decoder targets (brief: "a small
/// max_frame_payload"): small enough that the fatal path is reached by
/// short inputs with 16-bit lengths, large enough that 16-bit payloads fit.
pub const FUZZ_MAX_FRAME: u64 = 64 * 1024;

/// Handshake head limit used by the handshake targets.
pub const FUZZ_MAX_HEAD: usize = 16 * 1024;

/// Longest frame header: 2 bytes, 8 bytes of 64-bit length, 4 of mask key.
pub const MAX_HEADER: usize = 14;

// ---------------------------------------------------------------------------
// Input framing shared by the byte-stream targets.
// ---------------------------------------------------------------------------

/// The byte-stream targets (decoder, assembler, differential) read a 2-byte
/// prefix, then the stream:
///
/// * `split`: bits 0-12 of the little-endian prefix, taken modulo
///   `stream.len() + 1`: where the stream is cut into two `feed` calls;
/// * `knob`: bits 13-15, a 3-bit choice each target interprets (allowed RSV
///   bits for the decoders, the message limit for the assembler).
///
/// An input shorter than the prefix is an empty stream split at 0.
#[derive(Debug, Clone, Copy)]
pub struct StreamInput<'a> {
    pub split: usize,
    pub knob: u8,
    pub stream: &'a [u8],
}

impl<'a> StreamInput<'a> {
    pub fn parse(data: &'a [u8]) -> Self {
        let (prefix, stream) = if data.len() >= 2 {
            (u16::from_le_bytes([data[0], data[1]]), &data[2..])
        } else {
            (0, &data[..0])
        };
        StreamInput {
            split: usize::from(prefix & 0x1FFF) % (stream.len() + 1),
            knob: (prefix >> 13) as u8,
            stream,
        }
    }

    /// The inverse of [`parse`](Self::parse), for seeds.
    pub fn encode(split: u16, knob: u8, stream: &[u8]) -> Vec<u8> {
        let prefix = (split & 0x1FFF) | (u16::from(knob & 7) << 13);
        let mut out = prefix.to_le_bytes().to_vec();
        out.extend_from_slice(stream);
        out
    }

    pub fn halves(&self) -> [&'a [u8]; 2] {
        let (a, b) = self.stream.split_at(self.split);
        [a, b]
    }
}

// ---------------------------------------------------------------------------
// A list on the stack for the per-frame oracle.
// ---------------------------------------------------------------------------

/// At most [`LIST_MAX`] items on the stack. The frame oracle builds several
/// rule lists for every frame, fuzz inputs hold dozens of frames, and as
/// `Vec`s their allocation (and the comparison tracing of its bookkeeping)
/// was a measurable share of each execution. A frame breaks at most 10
/// rules (7 in its header, 3 in a close body), so overflowing is a bug in
/// the oracle and panics.
#[derive(Clone, Copy)]
pub struct List<T: Copy> {
    items: [T; LIST_MAX],
    len: usize,
}

/// Capacity of a [`List`].
pub const LIST_MAX: usize = 12;

impl<T: Copy> List<T> {
    /// An empty list; `fill` only initialises the unused slots.
    pub fn new(fill: T) -> Self {
        List {
            items: [fill; LIST_MAX],
            len: 0,
        }
    }

    pub fn push(&mut self, item: T) {
        assert!(self.len < LIST_MAX, "oracle list over {LIST_MAX} items");
        self.items[self.len] = item;
        self.len += 1;
    }
}

impl<T: Copy> std::ops::Deref for List<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items[..self.len]
    }
}

impl<T: Copy> std::ops::DerefMut for List<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.items[..self.len]
    }
}

impl<T: Copy> Extend<T> for List<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        for item in items {
            self.push(item);
        }
    }
}

impl<T: Copy + std::fmt::Debug> std::fmt::Debug for List<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Copy + PartialEq> PartialEq for List<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

/// A placeholder for unused slots of rule lists.
const NO_RULE: Rule = Rule::ReservedBitSet;

// ---------------------------------------------------------------------------
// Independent oracles.
// ---------------------------------------------------------------------------

/// Close codes that may appear on the wire (RFC 6455 §7.4.1 and the IANA
/// registry of §11.7: 1012-1014 are registered since), written out from the
/// RFC rather than taken from wsspec.
pub fn close_code_ok(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The length form RFC 6455 §5.2 requires for `len` ("the minimal number of
/// bytes MUST be used to encode the length").
pub fn minimal_form(len: u64) -> LengthForm {
    if len <= 125 {
        LengthForm::Bits7
    } else if len <= 0xFFFF {
        LengthForm::Bits16
    } else {
        LengthForm::Bits64
    }
}

/// The rules (not their offsets) a received frame breaks, derived from the
/// RFC text and the frame's fields alone. `frame.length_form` must be the
/// concrete form seen on the wire.
pub fn expected_rules(frame: &Frame, cfg: &DecoderConfig) -> Vec<Rule> {
    expected_rule_list(frame, cfg).to_vec()
}

/// [`expected_rules`] on the stack, for the per-frame oracle.
pub fn expected_rule_list(frame: &Frame, cfg: &DecoderConfig) -> List<Rule> {
    let mut r = List::new(NO_RULE);
    let len = frame.payload.len() as u64;
    let control = frame.opcode & 0x8 != 0;
    if frame.rsv_bits() & !cfg.allowed_rsv != 0 {
        r.push(Rule::ReservedBitSet); // §5.2
    }
    if matches!(frame.opcode, 3..=7 | 0xB..=0xF) {
        r.push(Rule::ReservedOpcode); // §5.2
    }
    if control && !frame.fin {
        r.push(Rule::ControlFrameFragmented); // §5.5
    }
    if control && len > 125 {
        r.push(Rule::ControlFrameTooLong); // §5.5
    }
    if frame.length_form != minimal_form(len) {
        r.push(Rule::NonMinimalLength); // §5.2
    }
    if frame.length_form == LengthForm::Bits64 && len >> 63 != 0 {
        r.push(Rule::Length64MsbSet); // §5.2
    }
    match (cfg.expect, frame.mask.is_some()) {
        (Expect::Masked, false) => r.push(Rule::MaskMissing), // §5.1
        (Expect::Unmasked, true) => r.push(Rule::MaskPresent), // §5.1
        _ => {}
    }
    if frame.opcode == 0x8 {
        // §5.5.1: empty, or a 2-byte code then a UTF-8 reason.
        let p = &frame.payload;
        if p.len() == 1 {
            r.push(Rule::ClosePayloadOneByte);
        } else if p.len() >= 2 {
            if !close_code_ok(u16::from_be_bytes([p[0], p[1]])) {
                r.push(Rule::CloseCodeInvalid);
            }
            if std::str::from_utf8(&p[2..]).is_err() {
                r.push(Rule::CloseReasonInvalidUtf8);
            }
        }
    }
    r.sort_unstable();
    r
}

/// The fail-fast verdict wsspec's UTF-8 validator must give, derived from
/// `std::str::from_utf8`. This restates the rule documented on
/// `expected_from_std` in src/utf8.rs's unit tests: std reports where the
/// bad sequence starts (`valid_up_to`) and the length of its maximal valid
/// prefix (`error_len`, reported as 1 when the first byte cannot start a
/// sequence at all); the first byte no valid stream could contain is
///
/// * `valid_up_to` when that byte can never lead (`%x80-C1`, `%xF5-FF`,
///   RFC 3629 §4),
/// * `valid_up_to + error_len` otherwise,
///
/// and input ending inside a sequence is `Incomplete` at its length.
pub fn utf8_expected(bytes: &[u8]) -> Result<(), Utf8Error> {
    match std::str::from_utf8(bytes) {
        Ok(_) => Ok(()),
        Err(e) => match e.error_len() {
            None => Err(Utf8Error::Incomplete {
                offset: bytes.len() as u64,
            }),
            Some(n) => {
                let start = e.valid_up_to();
                let can_lead = matches!(bytes[start], 0xC2..=0xF4);
                let at = if can_lead { start + n } else { start };
                Err(Utf8Error::Invalid { offset: at as u64 })
            }
        },
    }
}

/// The first definitely-invalid byte of a stream prefix, if any (a prefix
/// that merely ends mid-sequence is not yet invalid).
fn utf8_first_invalid(bytes: &[u8]) -> Option<u64> {
    match utf8_expected(bytes) {
        Err(Utf8Error::Invalid { offset }) => Some(offset),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Frame decoder.
// ---------------------------------------------------------------------------

/// Everything a decoder run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub frames: Vec<DecodedFrame>,
    pub fatal: Option<FatalError>,
    /// `offset()` at the end: where the first unconsumed byte is.
    pub offset: u64,
}

/// Feeds `chunks` in order to a decoder, pulling every complete frame after
/// each feed, and checks the invariants of every answer against `stream`
/// (the concatenation of the chunks).
pub fn decode_checked(cfg: &DecoderConfig, stream: &[u8], chunks: &[&[u8]]) -> Decoded {
    decode(cfg, stream, chunks, true)
}

/// [`decode_checked`] without the per-frame oracle ([`check_frame`]): for a
/// second decoding of the same stream whose result the caller asserts equal
/// to a checked one. Equal frames (offsets and lengths included) over the same
/// stream pass the same per-frame checks, so repeating them only halves the
/// target's speed; the decoder-state invariants (offsets, buffering, the
/// fatal error) depend on how the bytes were fed and are still checked.
pub fn decode_unchecked_frames(cfg: &DecoderConfig, stream: &[u8], chunks: &[&[u8]]) -> Decoded {
    decode(cfg, stream, chunks, false)
}

fn decode(cfg: &DecoderConfig, stream: &[u8], chunks: &[&[u8]], check_frames: bool) -> Decoded {
    debug_assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), stream.len());
    let mut d = Decoder::new(cfg.clone());
    let mut fed = 0usize;
    let mut frames = Vec::new();
    let mut fatal = None;
    let mut scratch = Vec::new();
    'chunks: for chunk in chunks {
        d.feed(chunk);
        fed += chunk.len();
        loop {
            match d.next_frame() {
                Ok(Some(f)) => {
                    if check_frames {
                        check_frame(cfg, stream, &f, d.offset(), &mut scratch);
                    }
                    assert_eq!(
                        f.offset + f.wire_len as u64,
                        d.offset(),
                        "offset advances by wire_len"
                    );
                    frames.push(f);
                }
                Ok(None) => {
                    // Memory grows only with bytes received, and never beyond
                    // one frame at the limit.
                    assert_eq!(
                        d.buffered() as u64,
                        fed as u64 - d.offset(),
                        "buffered = fed - consumed"
                    );
                    assert!(
                        (d.buffered() as u64) < MAX_HEADER as u64 + cfg.max_frame_payload,
                        "buffered {} bytes while waiting, over one maximal frame",
                        d.buffered()
                    );
                    break;
                }
                Err(e) => {
                    check_fatal(cfg, stream, &e, d.offset(), fed);
                    // Sticky, and no longer buffering.
                    d.feed(b"\x81\x00\x81\x00");
                    assert_eq!(d.next_frame(), Err(e.clone()), "fatal error is sticky");
                    assert_eq!(d.buffered(), 0, "nothing buffered after a fatal error");
                    fatal = Some(e);
                    break 'chunks;
                }
            }
        }
    }
    let offset = d.offset();
    if fatal.is_none() {
        assert_eq!(
            offset + d.buffered() as u64,
            stream.len() as u64,
            "every byte is either consumed or buffered"
        );
    }
    Decoded {
        frames,
        fatal,
        offset,
    }
}

/// Checks one decoded frame; `scratch` is a buffer for its re-encoding, reused
/// across the frames of an input.
fn check_frame(
    cfg: &DecoderConfig,
    stream: &[u8],
    f: &DecodedFrame,
    end: u64,
    scratch: &mut Vec<u8>,
) {
    let fr = &f.frame;
    assert!(f.wire_len > 0, "wire_len > 0");
    assert!(
        f.wire_len >= 2 + fr.payload.len(),
        "wire_len covers header and payload"
    );
    assert!(
        fr.payload.len() as u64 <= cfg.max_frame_payload,
        "payload {} over the limit",
        fr.payload.len()
    );
    assert_ne!(
        fr.length_form,
        LengthForm::Minimal,
        "length_form is the wire form"
    );
    assert_eq!(fr.declared_len, None);
    assert!(fr.opcode <= 0xF);
    assert!(end as usize <= stream.len());
    // The decoded fields say everything about the wire bytes: encoding them
    // again reproduces the frame exactly (mask key, length form and all).
    let wire = &stream[f.offset as usize..end as usize];
    scratch.clear();
    fr.encode_into(scratch).expect("decoded frames encode");
    assert_eq!(scratch[..], *wire, "re-encoding gives the wire bytes");
    assert_eq!(
        f.payload_offset(),
        f.offset + fr.header_len() as u64,
        "payload_offset is after the header"
    );
    // Violations: in offset order, inside the frame, and exactly the rules
    // the RFC gives for these fields.
    assert!(
        f.violations.windows(2).all(|w| w[0].offset <= w[1].offset),
        "violations sorted"
    );
    for v in &f.violations {
        assert!(
            v.offset >= f.offset && v.offset < end,
            "{:?} at {} outside the frame",
            v.rule,
            v.offset
        );
        let base_end = f.offset + (fr.header_len() - if fr.mask.is_some() { 4 } else { 0 }) as u64;
        match v.rule {
            Rule::ReservedBitSet | Rule::ReservedOpcode | Rule::ControlFrameFragmented => {
                assert_eq!(v.offset, f.offset, "{:?} is visible in byte 0", v.rule)
            }
            Rule::MaskMissing | Rule::MaskPresent => assert_eq!(v.offset, f.offset + 1),
            Rule::NonMinimalLength | Rule::ControlFrameTooLong | Rule::Length64MsbSet => {
                assert!(
                    v.offset > f.offset && v.offset < base_end,
                    "{:?} in the length field",
                    v.rule
                )
            }
            _ => {}
        }
    }
    let mut got = List::new(NO_RULE);
    got.extend(f.violations.iter().map(|v| v.rule));
    got.sort_unstable();
    assert_eq!(got, expected_rule_list(fr, cfg), "violations of {fr:?}");
    // And each at the exact byte where it first becomes visible.
    let mut want = located_header_rule_list(wire, cfg);
    want.extend(located_close_rules(fr, wire.len()).iter().copied());
    let mut got = List::new((0, NO_RULE));
    got.extend(f.violations.iter().map(|v| (v.offset - f.offset, v.rule)));
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want, "violation offsets of {fr:?}");
}

/// Frame-relative index of the first byte of the length field (1 = the
/// 7-bit field, 2.. = the extended bytes) after which `holds(min, max)` is
/// true for the range of lengths still possible, i.e. where a rule about the
/// announced length becomes certain whatever the remaining bytes are.
/// `header` must hold the whole length field, and `holds` must be true of
/// the complete length.
pub fn length_visible_at(header: &[u8], holds: impl Fn(u64, u64) -> bool) -> u64 {
    let ext = match header[1] & 0x7F {
        126 => 2,
        127 => 8,
        _ => return 1,
    };
    for last in 1..=1 + ext {
        let known = &header[2..last + 1];
        let unknown_bits = 8 * (ext - known.len()) as u32;
        let prefix = known.iter().fold(0u128, |a, &b| (a << 8) | u128::from(b));
        let min = prefix << unknown_bits;
        let max = min | ((1u128 << unknown_bits) - 1);
        if holds(min as u64, max as u64) {
            return last as u64;
        }
    }
    panic!("`holds` is false of the complete length")
}

/// The header rules a frame starting with `header` breaks, each with the
/// frame-relative offset where it becomes visible, computed from the raw
/// bytes (`header` must hold at least the whole length field).
pub fn located_header_rules(header: &[u8], cfg: &DecoderConfig) -> Vec<(u64, Rule)> {
    located_header_rule_list(header, cfg).to_vec()
}

/// [`located_header_rules`] on the stack, for the per-frame oracle.
pub fn located_header_rule_list(header: &[u8], cfg: &DecoderConfig) -> List<(u64, Rule)> {
    let (b0, b1) = (header[0], header[1]);
    let (len, base) = announced_len(header, 0).expect("length field complete");
    let (fin, rsv, opcode, masked) = (b0 & 0x80 != 0, (b0 >> 4) & 7, b0 & 0xF, b1 & 0x80 != 0);
    let form = match base {
        2 => LengthForm::Bits7,
        4 => LengthForm::Bits16,
        _ => LengthForm::Bits64,
    };
    let control = opcode & 0x8 != 0;
    let mut r = List::new((0, NO_RULE));
    if rsv & !cfg.allowed_rsv != 0 {
        r.push((0, Rule::ReservedBitSet));
    }
    if matches!(opcode, 3..=7 | 0xB..=0xF) {
        r.push((0, Rule::ReservedOpcode));
    }
    if control && !fin {
        r.push((0, Rule::ControlFrameFragmented));
    }
    match (cfg.expect, masked) {
        (Expect::Masked, false) => r.push((1, Rule::MaskMissing)),
        (Expect::Unmasked, true) => r.push((1, Rule::MaskPresent)),
        _ => {}
    }
    if form == LengthForm::Bits64 && header[2] & 0x80 != 0 {
        r.push((2, Rule::Length64MsbSet));
    }
    if form != minimal_form(len) {
        // Non-minimal once the length is certain to fit the shorter form.
        let fits_shorter = if form == LengthForm::Bits16 {
            126
        } else {
            0x1_0000
        };
        r.push((
            length_visible_at(header, |_, max| max < fits_shorter),
            Rule::NonMinimalLength,
        ));
    }
    if control && len > 125 {
        r.push((
            length_visible_at(header, |min, _| min > 125),
            Rule::ControlFrameTooLong,
        ));
    }
    r
}

/// Close-body rules (RFC 6455 §5.5.1, §7.4) with frame-relative offsets:
/// a 1-byte body is visible at the last length byte; an invalid code at its
/// first byte when no valid code has that high byte, else at its second; a
/// bad reason at its first invalid byte, or at the frame's last byte when
/// the reason ends inside a sequence.
fn located_close_rules(fr: &Frame, wire_len: usize) -> List<(u64, Rule)> {
    let mut r = List::new((0, NO_RULE));
    if fr.opcode != 0x8 {
        return r;
    }
    let p = &fr.payload;
    let payload_at = (wire_len - p.len()) as u64;
    let base = fr.header_len() as u64 - if fr.mask.is_some() { 4 } else { 0 };
    if p.len() == 1 {
        r.push((base - 1, Rule::ClosePayloadOneByte));
    } else if p.len() >= 2 {
        if !close_code_ok(u16::from_be_bytes([p[0], p[1]])) {
            // Valid codes: 0x03E8-0x03EB, 0x03EF-0x03F6, 0x0BB8-0x1387.
            let high_byte_has_valid = matches!(p[0], 0x03 | 0x0B..=0x13);
            r.push((
                payload_at + u64::from(high_byte_has_valid),
                Rule::CloseCodeInvalid,
            ));
        }
        match utf8_expected(&p[2..]) {
            Ok(()) => {}
            Err(Utf8Error::Invalid { offset }) => {
                r.push((payload_at + 2 + offset, Rule::CloseReasonInvalidUtf8))
            }
            Err(Utf8Error::Incomplete { .. }) => {
                r.push((wire_len as u64 - 1, Rule::CloseReasonInvalidUtf8))
            }
        }
    }
    r
}

/// Payload length announced by the header at `at`, if the length field is
/// complete.
fn announced_len(stream: &[u8], at: usize) -> Option<(u64, usize)> {
    let b1 = *stream.get(at + 1)? & 0x7F;
    let ext = match b1 {
        126 => 2,
        127 => 8,
        _ => return Some((u64::from(b1), 2)),
    };
    let field = stream.get(at + 2..at + 2 + ext)?;
    Some((
        field.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b)),
        2 + ext,
    ))
}

fn check_fatal(cfg: &DecoderConfig, stream: &[u8], e: &FatalError, consumed: u64, fed: usize) {
    let FatalError::FrameTooLarge {
        announced,
        limit,
        offset,
        frame_offset,
        header_violations,
    } = e;
    assert_eq!(*limit, cfg.max_frame_payload);
    assert_eq!(
        *frame_offset, consumed,
        "fatal frame starts at the first unconsumed byte"
    );
    let (len, _) =
        announced_len(&stream[..fed], *frame_offset as usize).expect("length field was complete");
    assert_eq!(*announced, len, "announced length matches the wire");
    assert!(len > *limit, "fatal only over the limit");
    let header = &stream[*frame_offset as usize..fed];
    assert_eq!(
        *offset - *frame_offset,
        length_visible_at(header, |min, _| min > *limit),
        "excess visible at the first length byte that makes it certain"
    );
    // Everything visible in the header is still reported.
    let mut got: Vec<(u64, Rule)> = header_violations
        .iter()
        .map(|v| (v.offset - *frame_offset, v.rule))
        .collect();
    let mut want = located_header_rules(header, cfg);
    got.sort();
    want.sort();
    assert_eq!(got, want, "header violations of the oversized frame");
}

/// The `frame_decoder_*` targets: the same stream fed split at the chosen
/// point and whole must decode identically, with every invariant holding.
/// (Both roles decode the same frames: each frame is checked to re-encode to
/// its wire bytes, so only the role-dependent rules differ, and those are
/// checked against [`expected_rules`].)
pub fn fuzz_frame_decoder(data: &[u8], expect: Expect) {
    let input = StreamInput::parse(data);
    let cfg = DecoderConfig {
        expect,
        max_frame_payload: FUZZ_MAX_FRAME,
        allowed_rsv: input.knob,
    };
    let split = decode_checked(&cfg, input.stream, &input.halves());
    let whole = decode_unchecked_frames(&cfg, input.stream, &[input.stream]);
    assert_eq!(split, whole, "split feeding decodes like one feed");
}

// ---------------------------------------------------------------------------
// Message assembler.
// ---------------------------------------------------------------------------

/// Message limits the assembler target chooses among (by the input's knob).
pub const ASSEMBLER_LIMITS: [u64; 8] = [0, 1, 3, 125, 126, 1024, 65536, u64::MAX];

/// A reference model of RFC 6455 §5.4 assembly with §8.1 fail-fast UTF-8,
/// written from the RFC with std's UTF-8 check, to compare wsspec's
/// [`Assembler`] against.
struct ModelAssembler {
    max: u64,
    /// (opcode, payload so far, frames so far)
    open: Option<(u8, Vec<u8>, usize)>,
}

impl ModelAssembler {
    fn push(&mut self, f: &DecodedFrame) -> Result<Assembled, (Rule, u64)> {
        let op = f.frame.opcode;
        if op & 0x8 != 0 {
            return Ok(Assembled::Control(f.frame.clone()));
        }
        let r = self.push_data(f, op);
        if r.is_err() {
            self.open = None;
        }
        r
    }

    fn push_data(&mut self, f: &DecodedFrame, op: u8) -> Result<Assembled, (Rule, u64)> {
        match (op, &self.open) {
            (0, None) => return Err((Rule::ContinuationWithoutMessage, f.offset)),
            (0, Some(_)) => {}
            (1 | 2, Some(_)) => return Err((Rule::MessageInterleaved, f.offset)),
            (1 | 2, None) => self.open = Some((op, Vec::new(), 0)),
            _ => return Err((Rule::ReservedOpcode, f.offset)),
        }
        let (mop, buf, frames) = self.open.as_mut().unwrap();
        *frames += 1;
        let data = &f.frame.payload;
        let before = buf.len() as u64;
        let room = self.max.saturating_sub(before);
        let fits = (data.len() as u64).min(room) as usize;
        buf.extend_from_slice(&data[..fits]);
        if *mop == 1 {
            if let Some(at) = utf8_first_invalid(buf) {
                assert!(at >= before, "earlier frames were valid");
                return Err((Rule::InvalidUtf8, f.payload_offset() + (at - before)));
            }
        }
        if fits < data.len() {
            return Err((Rule::MessageTooLarge, f.payload_offset() + fits as u64));
        }
        if !f.frame.fin {
            return Ok(Assembled::Partial);
        }
        let (mop, buf, frames) = self.open.take().unwrap();
        if mop == 1 && std::str::from_utf8(&buf).is_err() {
            return Err((Rule::InvalidUtf8, f.offset + f.wire_len as u64 - 1));
        }
        Ok(Assembled::Message {
            opcode: mop,
            payload: buf,
            frames,
        })
    }
}

/// The `message_assembler` target: every frame the decoder yields goes
/// through wsspec's Assembler and the reference model; results, violation
/// rules and offsets, and `in_message()` must agree.
pub fn fuzz_message_assembler(data: &[u8]) {
    let input = StreamInput::parse(data);
    let cfg = DecoderConfig {
        expect: Expect::Unmasked,
        max_frame_payload: FUZZ_MAX_FRAME,
        allowed_rsv: 0b111,
    };
    let decoded = decode_checked(&cfg, input.stream, &input.halves());
    let max = ASSEMBLER_LIMITS[usize::from(input.knob)];
    let mut a = Assembler::new(max);
    let mut m = ModelAssembler { max, open: None };
    for f in &decoded.frames {
        let got = a.push(f).map_err(|v| {
            assert!(v.offset >= f.offset && v.offset < f.offset + f.wire_len as u64);
            (v.rule, v.offset)
        });
        let want = m.push(f);
        assert_eq!(got, want, "assembling {:?}", f.frame);
        assert_eq!(a.in_message(), m.open.is_some(), "in_message()");
        if let Ok(Assembled::Message { payload, .. }) = &got {
            assert!(payload.len() as u64 <= max);
        }
    }
}

// ---------------------------------------------------------------------------
// UTF-8.
// ---------------------------------------------------------------------------

/// The `utf8` target: `validate` agrees with std (with the fail-fast offset
/// rule above), and feeding the bytes in two pieces at the chosen split gives
/// the same verdict, with the first piece's own verdict consistent with it.
pub fn fuzz_utf8(data: &[u8]) {
    let input = StreamInput::parse(data);
    let bytes = input.stream;
    let whole = wsspec::utf8::validate(bytes);
    assert_eq!(
        whole,
        utf8_expected(bytes),
        "validate vs std on {bytes:02x?}"
    );
    assert_eq!(whole.is_ok(), std::str::from_utf8(bytes).is_ok());

    let [a, b] = input.halves();
    let mut v = Utf8Validator::new();
    let chunked = match v.feed(a) {
        Err(e) => {
            // The first piece alone already shows the earliest error.
            assert!(matches!(e, Utf8Error::Invalid { offset } if (offset as usize) < a.len()));
            assert!(!v.at_boundary());
            assert_eq!(v.feed(b), Err(e), "errors stick");
            assert_eq!(v.finish(), Err(e), "errors stick");
            Err(e)
        }
        Ok(()) => {
            assert_eq!(
                v.at_boundary(),
                std::str::from_utf8(a).is_ok(),
                "at_boundary after {a:02x?}"
            );
            assert_eq!(v.finish().is_ok(), v.at_boundary());
            v.feed(b).and_then(|()| v.finish())
        }
    };
    assert_eq!(chunked, whole, "split at {} vs whole", input.split);
    v.reset();
    assert_eq!(
        v.feed(bytes).and_then(|()| v.finish()),
        whole,
        "reset starts afresh"
    );
}

// ---------------------------------------------------------------------------
// Handshake.
// ---------------------------------------------------------------------------

/// What the response validator is checked against: the RFC 6455 §1.3
/// sample key, one subprotocol and permessage-deflate.
pub const OFFER_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn check_extensions(value: &[u8]) {
    let s = String::from_utf8_lossy(value);
    match handshake::parse_extensions(&s) {
        Ok(list) => {
            assert!(!list.is_empty(), "Ok means at least one extension");
            for e in &list {
                assert!(
                    handshake::is_token(e.name.as_bytes()),
                    "extension name {:?}",
                    e.name
                );
                for (n, v) in &e.params {
                    assert!(handshake::is_token(n.as_bytes()), "param name {n:?}");
                    if let Some(v) = v {
                        assert!(handshake::is_token(v.as_bytes()), "param value {v:?}");
                    }
                }
            }
        }
        Err(e) => {
            use handshake::ExtensionError::*;
            let at = match e {
                ExpectedToken { at, .. } | Unexpected { at, .. } | UnterminatedQuote { at } => at,
                Empty | QuotedValueNotToken { .. } => 0,
            };
            assert!(
                at <= s.len(),
                "error offset {at} past the value ({})",
                s.len()
            );
            let _ = e.to_string();
        }
    }
}

/// Shared shape of the two handshake targets: `parse(buf, max_head)`.
trait Head: PartialEq + std::fmt::Debug {
    fn head_len(&self) -> usize;
    fn headers(&self) -> &[(String, Vec<u8>)];
}

impl Head for handshake::Request {
    fn head_len(&self) -> usize {
        self.head_len
    }
    fn headers(&self) -> &[(String, Vec<u8>)] {
        &self.headers
    }
}

impl Head for handshake::Response {
    fn head_len(&self) -> usize {
        self.head_len
    }
    fn headers(&self) -> &[(String, Vec<u8>)] {
        &self.headers
    }
}

type ParseFn<H> = fn(&[u8], usize) -> Result<Option<H>, ParseError>;

/// Properties every incremental head parser must have, since the runner
/// calls it again as bytes arrive.
fn check_head_parser<H: Head>(parse: ParseFn<H>, buf: &[u8]) -> Option<H> {
    let full = parse(buf, FUZZ_MAX_HEAD);
    match &full {
        Ok(Some(h)) => {
            let n = h.head_len();
            assert!(
                n > 0 && n <= buf.len() && n <= FUZZ_MAX_HEAD,
                "head_len {n} within input"
            );
            assert!(
                buf[..n].ends_with(b"\r\n\r\n"),
                "head ends with an empty line"
            );
            // Bytes after the head (frames) do not matter.
            assert_eq!(
                parse(&buf[..n], FUZZ_MAX_HEAD),
                full,
                "head alone parses the same"
            );
            // Any prefix of a complete head is merely incomplete: an error
            // there would make the runner fail a handshake that is fine.
            for k in [n - 1, n.saturating_sub(2), n / 2, 0] {
                assert_eq!(
                    parse(&buf[..k], FUZZ_MAX_HEAD),
                    Ok(None),
                    "prefix {k} of a {n}-byte head"
                );
            }
            for (name, value) in h.headers() {
                assert!(
                    !name.is_empty() && handshake::is_token(name.as_bytes()),
                    "header name {name:?}"
                );
                assert!(!value.contains(&b'\r') && !value.contains(&b'\n'));
            }
        }
        Ok(None) => assert!(buf.len() < FUZZ_MAX_HEAD, "incomplete only below max_head"),
        Err(ParseError::HeadTooLarge { limit }) => {
            assert_eq!(*limit, FUZZ_MAX_HEAD);
            assert!(buf.len() >= FUZZ_MAX_HEAD);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    // A small max_head must agree with the large one wherever the head fits.
    let small = 1 + buf.len() / 3;
    match parse(buf, small) {
        Ok(Some(h)) => assert_eq!(
            full.as_ref().ok().and_then(|f| f.as_ref()),
            Some(&h),
            "max_head {small}"
        ),
        Ok(None) => assert!(buf.len() < small),
        Err(ParseError::HeadTooLarge { limit }) => {
            assert_eq!(limit, small);
            if let Ok(Some(h)) = &full {
                assert!(
                    h.head_len() > small,
                    "a head of {} fits in {small}",
                    h.head_len()
                );
            }
        }
        // An error in the first `small` bytes is an error in the whole.
        Err(e) => assert!(
            full.is_err(),
            "max_head {small} gives {e:?}, full parse {full:?}"
        ),
    }
    // A complete prefix is the whole answer.
    let half = buf.len() / 2;
    if let Ok(Some(h)) = parse(&buf[..half], FUZZ_MAX_HEAD) {
        assert_eq!(full, Ok(Some(h)), "prefix {half} was already complete");
    }
    full.ok().flatten()
}

pub fn fuzz_handshake_request(data: &[u8]) {
    if let Some(req) = check_head_parser(handshake::parse_request, data) {
        for p in handshake::validate_request(&req) {
            assert!(!p.section().is_empty());
            let _ = p.to_string();
        }
        for (_, v) in &req.headers {
            check_extensions(v);
        }
        let lines = req.headers_named("sec-websocket-extensions");
        let _ = handshake::parse_extension_lines(lines);
    }
}

pub fn fuzz_handshake_response(data: &[u8]) {
    if let Some(resp) = check_head_parser(handshake::parse_response, data) {
        let protocols = ["chat".to_owned()];
        let extensions = ["permessage-deflate".to_owned()];
        let offer = Offer {
            key: OFFER_KEY,
            protocols: &protocols,
            extensions: &extensions,
        };
        let problems = handshake::validate_response(&resp, &offer);
        for p in &problems {
            assert!(!p.section().is_empty());
            let _ = p.to_string();
        }
        if resp.status != 101 {
            assert!(!problems.is_empty(), "a non-101 status is a problem");
        }
        for (_, v) in &resp.headers {
            check_extensions(v);
        }
        let lines = resp.headers_named("sec-websocket-extensions");
        let _ = handshake::parse_extension_lines(lines);
    }
}

// ---------------------------------------------------------------------------
// Case loader.
// ---------------------------------------------------------------------------

/// Expanded steps (cases x steps, summed over `[[case]]`s) above which the
/// case_loader target skips an input; see [`expanded_steps`].
pub const CASE_LOADER_STEP_BUDGET: usize = 5_000;

/// How many steps loading `src` would parse: for each `[[case]]`, its matrix
/// rows (array length, or the product of the table's array lengths) times
/// its steps. Rows above the loader's 100 000 limit count as 0, since the
/// loader refuses those without expanding them. None if `src` is not TOML.
///
/// Loading is linear in this number by design (a matrix may expand to
/// 100 000 cases), at ~20 us per step instrumented: a 1 KB file with a
/// 5-array matrix and 20 steps takes ~50 s and 1 GB. That is a property of
/// the limit, not a bug, so the target skips such inputs rather than report
/// them as timeouts.
pub fn expanded_steps(src: &str) -> Option<usize> {
    use toml::Value;
    let doc: toml::Table = src.parse().ok()?;
    let Some(Value::Array(cases)) = doc.get("case") else {
        return Some(0);
    };
    let mut total = 0usize;
    for c in cases {
        let rows = match c.get("matrix") {
            Some(Value::Array(a)) => a.len(),
            Some(Value::Table(t)) => t
                .values()
                .map(|v| v.as_array().map_or(1, |a| a.len()))
                .fold(1usize, usize::saturating_mul),
            _ => 1,
        };
        let rows = if rows > 100_000 { 0 } else { rows };
        let steps = c
            .get("steps")
            .and_then(Value::as_array)
            .map_or(1, |s| s.len());
        total = total.saturating_add(rows.saturating_mul(steps));
    }
    Some(total)
}

/// The `case_loader` target: any text either loads or fails with a
/// `file:line: field: message` error pointing into the text.
pub fn fuzz_case_loader(data: &[u8]) {
    let src = String::from_utf8_lossy(data);
    if src.contains("matrix") && expanded_steps(&src).is_some_and(|n| n > CASE_LOADER_STEP_BUDGET) {
        return;
    }
    match wsspec::case::load::parse_file("fuzz.toml", &src) {
        Ok(cases) => {
            for c in &cases {
                assert!(!c.id.is_empty());
                assert!(!c.steps.is_empty(), "case {} has steps", c.id);
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("fuzz.toml:"), "error names the file: {msg}");
            if let wsspec::case::CaseError::Invalid { line, .. } = e {
                let lines = src.lines().count().max(1);
                assert!(line >= 1 && line <= lines + 1, "line {line} of {lines}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Structure-aware round trip.
// ---------------------------------------------------------------------------

/// Cap on the payload bytes one round-trip input may ask for, so a run of
/// long fills cannot make one execution slow.
pub const ROUNDTRIP_BUDGET: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum FormChoice {
    Minimal,
    Bits7,
    Bits16,
    Bits64,
}

#[derive(Debug, Clone, Arbitrary)]
pub enum PayloadDesc {
    /// Literal bytes (kept to the first 4 KiB).
    Bytes(Vec<u8>),
    /// `len` (+ 64 Ki when `long`) copies of `byte`: reaches the 16-bit and
    /// 64-bit length forms without a large input.
    Fill { byte: u8, len: u16, long: bool },
    /// A close body: code and reason.
    Close { code: u16, reason: Vec<u8> },
}

#[derive(Debug, Clone, Arbitrary)]
pub struct FrameDesc {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub form: FormChoice,
    pub payload: PayloadDesc,
}

impl FrameDesc {
    /// The frame described; a length form that cannot hold the payload
    /// length falls back to the minimal one (the encoder rightly refuses it).
    pub fn to_frame(&self) -> Frame {
        let payload = match &self.payload {
            PayloadDesc::Bytes(b) => b[..b.len().min(4096)].to_vec(),
            PayloadDesc::Fill { byte, len, long } => {
                vec![*byte; usize::from(*len) + if *long { 0x1_0000 } else { 0 }]
            }
            PayloadDesc::Close { code, reason } => {
                let mut p = code.to_be_bytes().to_vec();
                p.extend_from_slice(&reason[..reason.len().min(123)]);
                p
            }
        };
        let len = payload.len();
        let form = match self.form {
            FormChoice::Bits7 if len <= 125 => LengthForm::Bits7,
            FormChoice::Bits16 if len <= 0xFFFF => LengthForm::Bits16,
            FormChoice::Bits64 => LengthForm::Bits64,
            _ => LengthForm::Minimal,
        };
        Frame {
            fin: self.fin,
            rsv1: self.rsv & 0b100 != 0,
            rsv2: self.rsv & 0b010 != 0,
            rsv3: self.rsv & 0b001 != 0,
            opcode: self.opcode & 0xF,
            mask: self.mask,
            length_form: form,
            declared_len: None,
            payload,
        }
    }
}

#[derive(Debug, Clone, Arbitrary)]
pub struct RoundTrip {
    /// The decoder's role: server (expects masked frames) or client.
    pub server: bool,
    pub allowed_rsv: u8,
    pub frames: Vec<FrameDesc>,
    /// Sizes of the pieces the encoded stream is fed in (0 = an empty
    /// feed); the rest goes in one piece.
    pub chunks: Vec<u16>,
}

/// The `frame_roundtrip` target: encode the described frames, feed the
/// concatenation in the chosen pieces, and get every frame back field for
/// field, at the right offset, with exactly the rules the RFC says it breaks.
pub fn fuzz_frame_roundtrip(rt: &RoundTrip) {
    let mut frames = Vec::new();
    let mut budget = ROUNDTRIP_BUDGET;
    for d in &rt.frames {
        let f = d.to_frame();
        if f.payload.len() > budget {
            break;
        }
        budget -= f.payload.len();
        frames.push(f);
    }
    let mut stream = Vec::new();
    let mut ends = Vec::new();
    for f in &frames {
        f.encode_into(&mut stream).expect("described frames encode");
        ends.push(stream.len());
    }
    let cfg = DecoderConfig {
        expect: if rt.server {
            Expect::Masked
        } else {
            Expect::Unmasked
        },
        max_frame_payload: DecoderConfig::DEFAULT_MAX_FRAME_PAYLOAD,
        allowed_rsv: rt.allowed_rsv & 0b111,
    };
    let mut chunks = Vec::new();
    let mut rest = &stream[..];
    for &n in &rt.chunks {
        let n = usize::from(n).min(rest.len());
        let (a, b) = rest.split_at(n);
        chunks.push(a);
        rest = b;
    }
    chunks.push(rest);
    let got = decode_checked(&cfg, &stream, &chunks);
    assert_eq!(got.fatal, None);
    assert_eq!(got.frames.len(), frames.len(), "every frame comes back");
    assert_eq!(got.offset, stream.len() as u64);
    let mut start = 0u64;
    for ((d, f), end) in got.frames.iter().zip(&frames).zip(&ends) {
        let mut want = f.clone();
        want.length_form = f.resolved_length_form();
        assert_eq!(d.frame, want, "frame comes back field for field");
        assert_eq!(
            (d.offset, d.offset + d.wire_len as u64),
            (start, *end as u64)
        );
        let mut rules: Vec<Rule> = d.violations.iter().map(|v| v.rule).collect();
        rules.sort();
        assert_eq!(rules, expected_rules(&want, &cfg));
        start = *end as u64;
    }
}

// ---------------------------------------------------------------------------
// Differential against tungstenite.
// ---------------------------------------------------------------------------

/// A reader that hands out the stream in the given pieces, so tungstenite
/// sees the same partial reads as wsspec's decoder.
struct Pieces<'a> {
    pieces: [&'a [u8]; 2],
    k: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.k < 2 && self.pieces[self.k].is_empty() {
            self.k += 1;
        }
        if self.k == 2 {
            return Ok(0);
        }
        let p = &mut self.pieces[self.k];
        let n = p.len().min(buf.len());
        buf[..n].copy_from_slice(&p[..n]);
        *p = &p[n..];
        Ok(n)
    }
}

/// How tungstenite's frame reader ended (fields are read through `Debug`
/// in assertion messages).
#[derive(Debug)]
#[allow(dead_code)]
enum TgEnd {
    /// `Ok(None)`: the stream ended (possibly inside a frame).
    Eof,
    InvalidOpcode(u8),
    TooLong {
        size: usize,
        max_size: usize,
    },
    Other(String),
}

/// The `differential_tungstenite` target.
///
/// Both decoders read the same bytes, in the same two pieces, with the same
/// 64 KiB frame limit; frames must agree in boundaries (checked through the
/// payload length and order), FIN, RSV1-3, opcode, mask key and unmasked
/// payload. wsspec also reports rule violations, which tungstenite's
/// `FrameSocket` does not judge at all (RSV bits, masking direction,
/// control-frame rules, close bodies and minimal lengths are checked later,
/// in its `WebSocketContext`, or not at all), so those are not compared.
///
/// Known, legitimate disagreements, each skipped explicitly below:
///
/// 1. Reserved opcodes (0x3-0x7, 0xB-0xF). RFC 6455 §5.2: "If an unknown
///    opcode is received, the receiving endpoint MUST _Fail the WebSocket
///    Connection_." tungstenite fails as soon as the header (including the
///    masking key) is complete, with `ProtocolError::InvalidOpcode`; wsspec
///    is a judge, not an endpoint, so it decodes the frame and reports
///    `Rule::ReservedOpcode`. We require tungstenite to fail with exactly
///    that opcode at that frame, then stop comparing.
/// 2. Frames over the limit (RFC 6455 §10.4 lets an endpoint pick its
///    limits). wsspec decides as soon as the length field is complete;
///    tungstenite parses the masking key first. So when the stream ends
///    between the length field and the end of the masking key, wsspec has
///    a fatal `FrameTooLarge` and tungstenite is still waiting (EOF). When
///    the key is there, tungstenite must report `MessageTooLong` with the
///    same announced size. A reserved opcode in an oversized header makes
///    tungstenite report the opcode instead (it checks the opcode first).
/// 3. Non-minimal length encodings (RFC 6455 §5.2 "the minimal number of
///    bytes MUST be used") and 64-bit lengths with the top bit set:
///    tungstenite accepts both; wsspec decodes them too and flags them. The
///    frames agree, only the verdict differs, and verdicts are not compared.
pub fn fuzz_differential_tungstenite(data: &[u8]) {
    use tungstenite::error::{CapacityError, Error, ProtocolError};
    use tungstenite::protocol::frame::FrameSocket;

    let input = StreamInput::parse(data);
    let stream = input.stream;
    let cfg = DecoderConfig {
        expect: Expect::Masked,
        max_frame_payload: FUZZ_MAX_FRAME,
        allowed_rsv: 0b111,
    };
    let ws = decode_checked(&cfg, stream, &input.halves());

    let mut sock = FrameSocket::new(Pieces {
        pieces: input.halves(),
        k: 0,
    });
    let mut tg = Vec::new();
    let tg_end = loop {
        match sock.read(Some(FUZZ_MAX_FRAME as usize)) {
            Ok(Some(f)) => tg.push(f),
            Ok(None) => break TgEnd::Eof,
            Err(Error::Protocol(ProtocolError::InvalidOpcode(op))) => {
                break TgEnd::InvalidOpcode(op)
            }
            Err(Error::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
                break TgEnd::TooLong { size, max_size }
            }
            Err(e) => break TgEnd::Other(e.to_string()),
        }
    };

    for (i, w) in ws.frames.iter().enumerate() {
        let wf = &w.frame;
        if matches!(wf.opcode, 3..=7 | 0xB..=0xF) {
            // Disagreement 1.
            assert_eq!(tg.len(), i, "tungstenite stops at the reserved opcode");
            assert!(
                matches!(tg_end, TgEnd::InvalidOpcode(op) if op == wf.opcode),
                "tungstenite on reserved opcode {:#x}: {tg_end:?}",
                wf.opcode
            );
            return;
        }
        let t = tg
            .get(i)
            .unwrap_or_else(|| panic!("tungstenite lost frame {i} ({w:?}); ended {tg_end:?}"));
        let h = t.header();
        let mut payload = t.payload().to_vec();
        if let Some(key) = h.mask {
            wsspec::codec::apply_mask(&mut payload, key, 0);
        }
        assert_eq!(
            (
                h.is_final,
                h.rsv1,
                h.rsv2,
                h.rsv3,
                u8::from(h.opcode),
                h.mask
            ),
            (wf.fin, wf.rsv1, wf.rsv2, wf.rsv3, wf.opcode, wf.mask),
            "header of frame {i}"
        );
        assert_eq!(payload, wf.payload, "payload of frame {i}");
    }

    // wsspec stopped after its last complete frame; the rest is one
    // incomplete or oversized frame.
    let n = ws.frames.len();
    let rest = &stream[ws.offset as usize..];
    // Whether tungstenite's header (length field and masking key) is complete.
    let header = announced_len(rest, 0).and_then(|(len, base)| {
        let full = base + if rest[1] & 0x80 != 0 { 4 } else { 0 };
        (rest.len() >= full).then_some(len)
    });
    let reserved = rest
        .first()
        .is_some_and(|b| matches!(b & 0xF, 3..=7 | 0xB..=0xF));
    assert_eq!(
        tg.len(),
        n,
        "same number of frames; tungstenite ended {tg_end:?}, wsspec {:?}",
        ws.fatal
    );
    match (&ws.fatal, header) {
        (_, Some(_)) if reserved => {
            // Disagreement 1 (also when oversized: tungstenite checks the
            // opcode before the size).
            assert!(
                matches!(tg_end, TgEnd::InvalidOpcode(_)),
                "reserved opcode: {tg_end:?}"
            );
        }
        (Some(FatalError::FrameTooLarge { announced, .. }), Some(len)) => {
            // Disagreement 2, header complete: both refuse the size.
            assert_eq!(*announced, len);
            assert!(
                matches!(tg_end, TgEnd::TooLong { size, max_size }
                    if size as u64 == len && max_size as u64 == FUZZ_MAX_FRAME),
                "oversized frame: {tg_end:?}"
            );
        }
        (Some(FatalError::FrameTooLarge { .. }), None) => {
            // Disagreement 2, masking key incomplete: tungstenite waits.
            assert!(
                matches!(tg_end, TgEnd::Eof),
                "tungstenite waits for the key: {tg_end:?}"
            );
        }
        (None, _) => {
            assert!(
                matches!(tg_end, TgEnd::Eof),
                "both wait for more: {tg_end:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// permessage-deflate.
// ---------------------------------------------------------------------------

/// The `deflate_inflate` target. Arbitrary bytes as a compressed payload never panic the
/// inflater and never yield more than its bound, with any window and takeover; and any
/// sequence of messages wsspec compresses inflates back to itself, under every
/// combination of window bits (8-15) and context takeover, with no back-reference longer
/// than the window (`deflate::window`, which must not panic on any input either).
pub fn fuzz_deflate_inflate(data: &[u8]) {
    use wsspec::deflate::{Compressor, Decompressor, InflateError};
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let bits = 8 + (ctl & 7);
    let nct = ctl & 8 != 0;
    const BOUND: usize = 64 * 1024;

    // Untrusted bytes: bounded, no panic, and the decompressor stays usable.
    let mut d = Decompressor::new(bits, nct, BOUND);
    for piece in rest.split(|&b| b == 0xa5) {
        // The distance reader walks anything without a panic.
        let _ = wsspec::deflate::window::longest_distance(piece);
        match d.decompress(piece) {
            Ok(out) => assert!(out.len() <= BOUND, "{} bytes past the bound", out.len()),
            Err(InflateError::TooLarge { limit, .. }) => assert_eq!(limit, BOUND),
            Err(InflateError::Corrupt(_)) => {
                d = Decompressor::new(bits, nct, BOUND);
            }
        }
    }

    // Round trip: the messages are the pieces of the input.
    let mut c = Compressor::new(bits, nct);
    let mut d = Decompressor::new(bits.max(9), nct, BOUND * 2);
    for msg in rest.split(|&b| b == 0x5a) {
        let payload = c.compress(msg);
        assert!(
            !payload.is_empty(),
            "a compressed message has at least one byte"
        );
        // wsspec's own compressor stays inside the window it was given (RFC 7692 §7.2.1),
        // as its distance reader sees it.
        let mut tailed = payload.clone();
        tailed.extend_from_slice(&wsspec::deflate::TAIL);
        let longest = wsspec::deflate::window::longest_distance(&tailed);
        assert!(longest <= 1 << bits, "bits {bits}: a distance of {longest}");
        let back = d
            .decompress(&payload)
            .unwrap_or_else(|e| panic!("bits {bits} nct {nct}: {e} on {msg:02x?}"));
        assert_eq!(back, msg, "bits {bits} nct {nct}");
    }
}

/// The `deflate_negotiation` target: two independent implementations must agree. For any
/// offer list, whatever the reference echo server (`wsspec::reference::permessage_deflate`)
/// answers must be an answer wsspec's client-side check (`wsspec::deflate::negotiate`)
/// accepts, with agreed parameters that bind the server at least as much as it binds
/// itself; and the check never panics on any pair of header values.
pub fn fuzz_deflate_negotiation(data: &[u8]) {
    use wsspec::deflate::negotiate::check_answer;
    use wsspec::reference::echo::Flaws;
    use wsspec::reference::permessage_deflate::{negotiate, DeflateConfig};
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let (offer_text, answer_text) = text.split_once('\n').unwrap_or((&text, ""));
    let Ok(offers) = handshake::parse_extensions(offer_text) else {
        return;
    };
    // Any answer at all: a verdict, never a panic.
    if let Ok(answer) = handshake::parse_extensions(answer_text) {
        let _ = check_answer(&offers, &answer);
    }
    let cfg = DeflateConfig {
        enabled: true,
        max_window_bits: 8 + (ctl & 7),
        always_server_no_context_takeover: ctl & 8 != 0,
        request_client_no_context_takeover: ctl & 16 != 0,
        client_max_window_bits: (ctl & 32 != 0).then_some(8 + (ctl >> 6) * 2),
    };
    let Some(agreed) = negotiate(&offers, &cfg, &Flaws::default()) else {
        return;
    };
    let answer = handshake::parse_extensions(&agreed.response).unwrap_or_else(|e| {
        panic!(
            "the server's answer {:?} does not parse: {e}",
            agreed.response
        )
    });
    let a = match check_answer(&offers, &answer) {
        Ok(Some(a)) => a,
        other => panic!(
            "offers {offer_text:?}: the server answered {:?}, the client check says {other:?}",
            agreed.response
        ),
    };
    assert!(agreed.compress_window_bits <= a.server_max_window_bits);
    assert!(!a.server_no_context_takeover || agreed.compress_no_context_takeover);
    assert!(!agreed.inflate_no_context_takeover || a.client_no_context_takeover);
    assert!(agreed.inflate_window_bits >= a.client_max_window_bits);
}

/// What an HTTP/3 server sends wsspec before any WebSocket byte, read by wsspec's own
/// decoders (src/run/h3): a QPACK field section (with the static table and Huffman
/// literals), a SETTINGS payload, a QUIC varint. The same input goes to each. None may
/// panic; what decodes stays within what its input can stand for, and what decodes,
/// written again by wsspec's encoders, decodes to the same.
pub fn fuzz_h3_fields(data: &[u8]) {
    use wsspec::run::h3::{frame, huffman, qpack};
    if let Ok(fields) = qpack::decode(data) {
        // A field line takes at least one byte, and one byte stands for at most a static
        // table entry (RFC 9204 Appendix A: each name and value under 128 bytes together)
        // or 8/5 bytes of Huffman text (RFC 7541 Appendix B: codes of 5 bits or more).
        let total: usize = fields.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(
            total <= data.len() * 128,
            "{} bytes of fields from {} bytes",
            total,
            data.len()
        );
        let text: Option<Vec<(String, String)>> = fields
            .iter()
            .map(|(n, v)| {
                Some((
                    String::from_utf8(n.clone()).ok()?,
                    String::from_utf8(v.clone()).ok()?,
                ))
            })
            .collect();
        if let Some(text) = text {
            let again = qpack::encode(&text);
            assert_eq!(qpack::decode(&again).as_ref(), Ok(&fields), "{again:02x?}");
        }
    }
    if let Ok(out) = huffman::decode(data) {
        assert!(
            out.len() * 5 <= data.len() * 8,
            "{} from {}",
            out.len(),
            data.len()
        );
    }
    if let Some(pairs) = frame::parse_settings(data) {
        let mut again = Vec::new();
        for &(id, v) in &pairs {
            frame::varint(&mut again, id);
            frame::varint(&mut again, v);
        }
        // wsspec writes the shortest form, never longer than what it read.
        assert!(again.len() <= data.len());
        assert_eq!(frame::parse_settings(&again), Some(pairs));
    }
    match frame::parse_varint(data) {
        Some((v, n)) => {
            // RFC 9000 §16: the two high bits of the first byte give the length.
            assert_eq!(n, 1 << (data[0] >> 6));
            assert!(v < 1 << 62);
            let mut again = Vec::new();
            frame::varint(&mut again, v);
            assert!(again.len() <= n);
            assert_eq!(frame::parse_varint(&again), Some((v, again.len())));
        }
        None => assert!(data.is_empty() || data.len() < 1 << (data[0] >> 6)),
    }
}
