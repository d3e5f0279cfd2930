//! HTTP/3 frames (RFC 9114 §7) and the QUIC variable-length integers they are made of
//! (RFC 9000 §16), read from a QUIC stream with every length bounded.

use bytes::{Buf, Bytes};

pub const DATA: u64 = 0x00;
pub const HEADERS: u64 = 0x01;
pub const SETTINGS: u64 = 0x04;
pub const GOAWAY: u64 = 0x07;
/// Stream type of the control stream (RFC 9114 §6.2.1).
pub const CONTROL_STREAM: u64 = 0x00;
/// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 9220 §3, registered in §5).
pub const ENABLE_CONNECT_PROTOCOL: u64 = 0x08;

/// Appends `v` as a QUIC variable-length integer, in its shortest form.
pub fn varint(out: &mut Vec<u8>, v: u64) {
    if v < 1 << 6 {
        out.push(v as u8);
    } else if v < 1 << 14 {
        out.extend_from_slice(&(v as u16 | 0x4000).to_be_bytes());
    } else if v < 1 << 30 {
        out.extend_from_slice(&(v as u32 | 0x8000_0000).to_be_bytes());
    } else {
        out.extend_from_slice(&(v | 0xc000_0000_0000_0000).to_be_bytes());
    }
}

/// A varint at the start of `b`: its value and its length; None when `b` is too short.
pub fn parse_varint(b: &[u8]) -> Option<(u64, usize)> {
    let first = *b.first()?;
    let len = 1usize << (first >> 6);
    if b.len() < len {
        return None;
    }
    let mut v = u64::from(first & 0x3f);
    for x in &b[1..len] {
        v = (v << 8) | u64::from(*x);
    }
    Some((v, len))
}

/// A frame's header: its type and payload length.
pub fn header(out: &mut Vec<u8>, kind: u64, len: usize) {
    varint(out, kind);
    varint(out, len as u64);
}

/// A whole frame.
pub fn frame(kind: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 16);
    header(&mut out, kind, payload.len());
    out.extend_from_slice(payload);
    out
}

/// The (identifier, value) pairs of a SETTINGS payload; None when it is malformed
/// (RFC 9114 §7.2.4: "H3_FRAME_ERROR").
pub fn parse_settings(mut p: &[u8]) -> Option<Vec<(u64, u64)>> {
    let mut out = Vec::new();
    while !p.is_empty() {
        let (id, n) = parse_varint(p)?;
        p = &p[n..];
        let (v, n) = parse_varint(p)?;
        p = &p[n..];
        out.push((id, v));
    }
    Some(out)
}

/// A human name for an HTTP/3 error code (RFC 9114 §8.1), as the transcript shows it.
pub fn error_name(code: u64) -> String {
    let name = match code {
        0x100 => "H3_NO_ERROR",
        0x101 => "H3_GENERAL_PROTOCOL_ERROR",
        0x102 => "H3_INTERNAL_ERROR",
        0x103 => "H3_STREAM_CREATION_ERROR",
        0x104 => "H3_CLOSED_CRITICAL_STREAM",
        0x105 => "H3_FRAME_UNEXPECTED",
        0x106 => "H3_FRAME_ERROR",
        0x107 => "H3_EXCESSIVE_LOAD",
        0x108 => "H3_ID_ERROR",
        0x109 => "H3_SETTINGS_ERROR",
        0x10a => "H3_MISSING_SETTINGS",
        0x10b => "H3_REQUEST_REJECTED",
        0x10c => "H3_REQUEST_CANCELLED",
        0x10d => "H3_REQUEST_INCOMPLETE",
        0x10e => "H3_MESSAGE_ERROR",
        0x10f => "H3_CONNECT_ERROR",
        0x110 => "H3_VERSION_FALLBACK",
        _ => return format!("0x{code:x}"),
    };
    name.to_owned()
}

/// How reading a stream ended other than with a frame.
#[derive(Debug)]
pub enum ReadEnd {
    /// The peer ended the stream (FIN) at a frame boundary.
    Fin,
    /// The stream ended in the middle of a frame.
    Truncated,
    /// A frame longer than the reader accepts for its type.
    TooLong { kind: u64, len: u64 },
    /// RESET_STREAM, a lost connection, ...: already described for the transcript.
    Error(String),
}

/// Reads frames from a QUIC receive stream through a small buffer.
pub struct FrameReader {
    recv: quinn::RecvStream,
    buf: Bytes,
}

impl FrameReader {
    pub fn new(recv: quinn::RecvStream) -> FrameReader {
        FrameReader {
            recv,
            buf: Bytes::new(),
        }
    }

    /// Refills the buffer; Ok(false) at the end of the stream.
    async fn fill(&mut self) -> Result<bool, String> {
        match self.recv.read_chunk(64 * 1024, true).await {
            Ok(Some(c)) => {
                let mut joined = Vec::with_capacity(self.buf.len() + c.bytes.len());
                joined.extend_from_slice(&self.buf);
                joined.extend_from_slice(&c.bytes);
                self.buf = Bytes::from(joined);
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(super::describe_read(&e)),
        }
    }

    /// The next varint; Ok(None) at a clean end of the stream before it.
    async fn varint(&mut self) -> Result<Option<u64>, ReadEnd> {
        loop {
            if let Some((v, n)) = parse_varint(&self.buf) {
                self.buf.advance(n);
                return Ok(Some(v));
            }
            match self.fill().await {
                Ok(true) => {}
                Ok(false) if self.buf.is_empty() => return Ok(None),
                Ok(false) => return Err(ReadEnd::Truncated),
                Err(e) => return Err(ReadEnd::Error(e)),
            }
        }
    }

    /// The stream type at the start of a unidirectional stream.
    pub async fn stream_type(&mut self) -> Result<u64, ReadEnd> {
        self.varint().await?.ok_or(ReadEnd::Fin)
    }

    /// The next frame header: type and payload length.
    pub async fn header(&mut self) -> Result<(u64, u64), ReadEnd> {
        let kind = self.varint().await?.ok_or(ReadEnd::Fin)?;
        let len = self.varint().await?.ok_or(ReadEnd::Truncated)?;
        Ok((kind, len))
    }

    /// A whole payload of `len` bytes, refused above `max`.
    pub async fn payload(&mut self, kind: u64, len: u64, max: usize) -> Result<Bytes, ReadEnd> {
        if len > max as u64 {
            return Err(ReadEnd::TooLong { kind, len });
        }
        let len = len as usize;
        while self.buf.len() < len {
            match self.fill().await {
                Ok(true) => {}
                Ok(false) => return Err(ReadEnd::Truncated),
                Err(e) => return Err(ReadEnd::Error(e)),
            }
        }
        Ok(self.buf.split_to(len))
    }

    /// Up to `left` bytes of a payload being streamed (at least one).
    pub async fn some(&mut self, left: u64) -> Result<Bytes, ReadEnd> {
        if self.buf.is_empty() {
            match self.fill().await {
                Ok(true) => {}
                Ok(false) => return Err(ReadEnd::Truncated),
                Err(e) => return Err(ReadEnd::Error(e)),
            }
        }
        let n = (self.buf.len() as u64).min(left) as usize;
        Ok(self.buf.split_to(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9000 Appendix A.1's examples.
    #[test]
    fn varints_round_trip_the_rfc_examples() {
        for (bytes, v) in [
            (
                &[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c][..],
                151_288_809_941_952_652u64,
            ),
            (&[0x9d, 0x7f, 0x3e, 0x7d][..], 494_878_333),
            (&[0x7b, 0xbd][..], 15_293),
            (&[0x25][..], 37),
        ] {
            assert_eq!(parse_varint(bytes), Some((v, bytes.len())));
            let mut out = Vec::new();
            varint(&mut out, v);
            assert_eq!(out, bytes);
        }
        assert_eq!(parse_varint(&[0x40]), None);
    }

    #[test]
    fn settings_parse_and_reject_truncation() {
        let mut p = Vec::new();
        varint(&mut p, ENABLE_CONNECT_PROTOCOL);
        varint(&mut p, 1);
        varint(&mut p, 0x21);
        varint(&mut p, 300);
        assert_eq!(
            parse_settings(&p),
            Some(vec![(ENABLE_CONNECT_PROTOCOL, 1), (0x21, 300)])
        );
        assert_eq!(parse_settings(&p[..p.len() - 1]), None);
    }
}
