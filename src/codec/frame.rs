//! The frame model and encoder (RFC 6455 §5.2).
//!
//! Every header field is a plain public field that may hold any value the
//! wire format can carry, including ones the RFC forbids: a conformance
//! suite needs to send reserved opcodes, set RSV bits, use non-minimal
//! length encodings and even announce a length that differs from the bytes
//! that follow. The encoder only refuses what cannot be put on the wire at
//! all (a 5-bit opcode, a length that does not fit the requested field).

use super::close::close_payload;
use super::mask::apply_mask;
use super::opcode::OpCode;

/// How the payload length is written (RFC 6455 §5.2 "Payload length").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LengthForm {
    /// The shortest form, as the RFC requires.
    #[default]
    Minimal,
    /// In the 7-bit field; only lengths 0..=125 fit.
    Bits7,
    /// 126 then a 16-bit length; only lengths up to 65535 fit.
    Bits16,
    /// 127 then a 64-bit length; any `u64`, including ones with the most
    /// significant bit set, which the RFC forbids.
    Bits64,
}

impl LengthForm {
    /// The form the RFC requires for `len`.
    pub fn minimal_for(len: u64) -> LengthForm {
        match len {
            0..=125 => LengthForm::Bits7,
            126..=0xFFFF => LengthForm::Bits16,
            _ => LengthForm::Bits64,
        }
    }

    /// Bytes this form adds after the second header byte.
    fn extra_len(self) -> usize {
        match self {
            LengthForm::Minimal | LengthForm::Bits7 => 0,
            LengthForm::Bits16 => 2,
            LengthForm::Bits64 => 8,
        }
    }
}

/// Why a frame cannot be written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("opcode {0} does not fit in 4 bits")]
    OpcodeOutOfRange(u8),
    #[error("length {len} does not fit the {form:?} length form")]
    LengthDoesNotFit { form: LengthForm, len: u64 },
}

/// A frame with every header field under the caller's control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub rsv1: bool,
    pub rsv2: bool,
    pub rsv3: bool,
    /// 0..=15; kept as a raw byte so any value can be sent (see [`OpCode`]).
    pub opcode: u8,
    /// Some => MASK bit set and payload masked with this key.
    pub mask: Option<[u8; 4]>,
    pub length_form: LengthForm,
    /// Length written in the header instead of payload.len(): lets a case
    /// lie about the length.
    pub declared_len: Option<u64>,
    /// Unmasked application payload.
    pub payload: Vec<u8>,
}

impl Frame {
    /// A final, unmasked frame with the minimal length form.
    pub fn new(opcode: u8, payload: Vec<u8>) -> Self {
        Self {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask: None,
            length_form: LengthForm::Minimal,
            declared_len: None,
            payload,
        }
    }

    /// Text frame. Takes bytes, not `&str`, so invalid UTF-8 can be sent.
    pub fn text(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(OpCode::TEXT.0, payload.into())
    }

    pub fn binary(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(OpCode::BINARY.0, payload.into())
    }

    pub fn continuation(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(OpCode::CONTINUATION.0, payload.into())
    }

    pub fn ping(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(OpCode::PING.0, payload.into())
    }

    pub fn pong(payload: impl Into<Vec<u8>>) -> Self {
        Self::new(OpCode::PONG.0, payload.into())
    }

    /// Close frame with body [`close_payload`]`(code, reason)`.
    pub fn close(code: Option<u16>, reason: &[u8]) -> Self {
        Self::new(OpCode::CLOSE.0, close_payload(code, reason))
    }

    pub fn with_fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// Sets RSV1-3 from a bit mask: 0b100 = RSV1, 0b010 = RSV2, 0b001 = RSV3
    /// (the same layout as [`DecoderConfig::allowed_rsv`]).
    ///
    /// [`DecoderConfig::allowed_rsv`]: crate::codec::DecoderConfig::allowed_rsv
    pub fn with_rsv(mut self, bits: u8) -> Self {
        self.rsv1 = bits & 0b100 != 0;
        self.rsv2 = bits & 0b010 != 0;
        self.rsv3 = bits & 0b001 != 0;
        self
    }

    pub fn with_mask(mut self, key: [u8; 4]) -> Self {
        self.mask = Some(key);
        self
    }

    pub fn with_length_form(mut self, form: LengthForm) -> Self {
        self.length_form = form;
        self
    }

    pub fn with_declared_len(mut self, len: u64) -> Self {
        self.declared_len = Some(len);
        self
    }

    /// RSV1-3 as a bit mask (0b100 = RSV1).
    pub fn rsv_bits(&self) -> u8 {
        (u8::from(self.rsv1) << 2) | (u8::from(self.rsv2) << 1) | u8::from(self.rsv3)
    }

    /// The length the header announces.
    pub fn announced_len(&self) -> u64 {
        self.declared_len.unwrap_or(self.payload.len() as u64)
    }

    /// The concrete form the header will use ([`LengthForm::Minimal`]
    /// resolved against [`announced_len`](Self::announced_len)).
    pub fn resolved_length_form(&self) -> LengthForm {
        match self.length_form {
            LengthForm::Minimal => LengthForm::minimal_for(self.announced_len()),
            form => form,
        }
    }

    /// Header size in bytes: 2, plus 2 or 8 for an extended length, plus 4
    /// for a masking key.
    pub fn header_len(&self) -> usize {
        2 + self.resolved_length_form().extra_len() + if self.mask.is_some() { 4 } else { 0 }
    }

    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(self.header_len() + self.payload.len());
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the encoded frame to `out`. On error `out` is unchanged.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.opcode > 0xF {
            return Err(EncodeError::OpcodeOutOfRange(self.opcode));
        }
        let len = self.announced_len();
        let form = self.resolved_length_form();
        let fits = match form {
            LengthForm::Minimal | LengthForm::Bits7 => len <= 125,
            LengthForm::Bits16 => len <= 0xFFFF,
            LengthForm::Bits64 => true,
        };
        if !fits {
            return Err(EncodeError::LengthDoesNotFit { form, len });
        }
        out.reserve(self.header_len() + self.payload.len());
        out.push((u8::from(self.fin) << 7) | (self.rsv_bits() << 4) | self.opcode);
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        // The `fits` check above guarantees these casts do not truncate.
        match form {
            LengthForm::Minimal | LengthForm::Bits7 => out.push(mask_bit | len as u8),
            LengthForm::Bits16 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            LengthForm::Bits64 => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        let start = out.len();
        if let Some(key) = self.mask {
            out.extend_from_slice(&key);
            out.extend_from_slice(&self.payload);
            apply_mask(&mut out[start + 4..], key, 0);
        } else {
            out.extend_from_slice(&self.payload);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bits() {
        let f = Frame::new(0x3, vec![]).with_fin(false).with_rsv(0b101);
        assert_eq!(f.encode().unwrap(), [0x53, 0x00]);
        assert_eq!(
            Frame::binary(vec![]).with_rsv(0b010).encode().unwrap(),
            [0xA2, 0x00]
        );
    }

    #[test]
    fn forced_length_forms() {
        let f = Frame::text("abc").with_length_form(LengthForm::Bits16);
        assert_eq!(f.encode().unwrap(), [0x81, 126, 0, 3, b'a', b'b', b'c']);
        assert_eq!(f.header_len(), 4);
        let f = Frame::text("").with_length_form(LengthForm::Bits64);
        assert_eq!(f.encode().unwrap(), [0x81, 127, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn lengths_that_do_not_fit_are_errors() {
        let f = Frame::binary(vec![0; 126]).with_length_form(LengthForm::Bits7);
        assert_eq!(
            f.encode(),
            Err(EncodeError::LengthDoesNotFit {
                form: LengthForm::Bits7,
                len: 126
            })
        );
        let f = Frame::binary(vec![])
            .with_declared_len(0x1_0000)
            .with_length_form(LengthForm::Bits16);
        assert!(f.encode().is_err());
        let mut out = vec![9];
        assert!(Frame::new(16, vec![]).encode_into(&mut out).is_err());
        assert_eq!(out, [9]);
    }

    #[test]
    fn declared_len_is_written_verbatim() {
        let f = Frame::binary(b"abc".to_vec()).with_declared_len(10);
        assert_eq!(f.encode().unwrap(), [0x82, 10, b'a', b'b', b'c']);
        let f = Frame::binary(vec![]).with_declared_len(u64::MAX);
        let bytes = f.encode().unwrap();
        assert_eq!(
            bytes,
            [0x82, 127, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
    }

    #[test]
    fn masked_header_len() {
        let f = Frame::ping(vec![1; 200]).with_mask([1, 2, 3, 4]);
        assert_eq!(f.header_len(), 8);
        assert_eq!(f.encode().unwrap().len(), 208);
    }

    #[test]
    fn close_helper() {
        assert_eq!(
            Frame::close(Some(1000), b"").encode().unwrap(),
            [0x88, 2, 0x03, 0xE8]
        );
        assert_eq!(Frame::close(None, b"").encode().unwrap(), [0x88, 0]);
    }
}
