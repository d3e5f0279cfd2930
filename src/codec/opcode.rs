//! Frame opcodes (RFC 6455 §5.2, §11.8).
//!
//! Frames carry the opcode as a raw `u8` (see [`Frame::opcode`]) because a
//! fuzzer must be able to send any of the 16 values; this newtype gives
//! names and classification for reports and configuration files.
//!
//! [`Frame::opcode`]: crate::codec::Frame::opcode

use std::fmt;
use std::str::FromStr;

/// A 4-bit frame opcode. Values above 15 cannot be represented on the wire
/// and are rejected by [`FromStr`] and by the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpCode(pub u8);

impl OpCode {
    pub const CONTINUATION: OpCode = OpCode(0x0);
    pub const TEXT: OpCode = OpCode(0x1);
    pub const BINARY: OpCode = OpCode(0x2);
    pub const CLOSE: OpCode = OpCode(0x8);
    pub const PING: OpCode = OpCode(0x9);
    pub const PONG: OpCode = OpCode(0xA);

    /// Control frames are those whose opcode has the most significant bit
    /// set (RFC 6455 §5.5), including the reserved 0xB-0xF: the limits on
    /// control frames apply to them too.
    pub fn is_control(self) -> bool {
        self.0 & 0x8 != 0
    }

    /// Opcodes 0x3-0x7 and 0xB-0xF have no meaning without an extension
    /// (RFC 6455 §5.2).
    pub fn is_reserved(self) -> bool {
        matches!(self.0, 0x3..=0x7 | 0xB..=0xF)
    }

    /// Data frames that start a message (text or binary).
    pub fn is_data_start(self) -> bool {
        matches!(self, OpCode::TEXT | OpCode::BINARY)
    }

    /// Lower-case name used in reports: `"text"`, `"reserved-0x3"`, ...
    /// Out-of-range values are named `"invalid-0x.."`.
    pub fn name(self) -> &'static str {
        const RESERVED: [&str; 16] = [
            "",
            "",
            "",
            "reserved-0x3",
            "reserved-0x4",
            "reserved-0x5",
            "reserved-0x6",
            "reserved-0x7",
            "",
            "",
            "",
            "reserved-0xb",
            "reserved-0xc",
            "reserved-0xd",
            "reserved-0xe",
            "reserved-0xf",
        ];
        match self.0 {
            0x0 => "continuation",
            0x1 => "text",
            0x2 => "binary",
            0x8 => "close",
            0x9 => "ping",
            0xA => "pong",
            n if n < 16 => RESERVED[n as usize],
            _ => "invalid",
        }
    }
}

impl From<OpCode> for u8 {
    fn from(op: OpCode) -> u8 {
        op.0
    }
}

impl fmt::Display for OpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 16 {
            f.write_str(self.name())
        } else {
            write!(f, "invalid-{:#x}", self.0)
        }
    }
}

/// Error from parsing an opcode name or number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown opcode {0:?}: expected text, binary, continuation, close, ping, pong or 0..=15")]
pub struct ParseOpCodeError(pub String);

impl FromStr for OpCode {
    type Err = ParseOpCodeError;

    /// Accepts the names of the defined opcodes (case-insensitive), the
    /// `reserved-0x..` names produced by [`OpCode::name`], and numbers
    /// 0..=15 in decimal or `0x` hex, so that case files can name any
    /// opcode a fuzzer might send.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseOpCodeError(s.to_owned());
        let t = s.trim().to_ascii_lowercase();
        let named = match t.as_str() {
            "continuation" | "cont" => Some(OpCode::CONTINUATION),
            "text" => Some(OpCode::TEXT),
            "binary" => Some(OpCode::BINARY),
            "close" => Some(OpCode::CLOSE),
            "ping" => Some(OpCode::PING),
            "pong" => Some(OpCode::PONG),
            _ => None,
        };
        if let Some(op) = named {
            return Ok(op);
        }
        let digits = t.strip_prefix("reserved-").unwrap_or(&t);
        let n = match digits.strip_prefix("0x") {
            Some(hex) => u8::from_str_radix(hex, 16),
            None => digits.parse::<u8>(),
        }
        .map_err(|_| err())?;
        if n > 15 {
            return Err(err());
        }
        Ok(OpCode(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let control: Vec<u8> = (0..16).filter(|&n| OpCode(n).is_control()).collect();
        assert_eq!(control, (8..16).collect::<Vec<u8>>());
        let reserved: Vec<u8> = (0..16).filter(|&n| OpCode(n).is_reserved()).collect();
        assert_eq!(reserved, vec![3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF]);
    }

    #[test]
    fn names_round_trip_through_from_str() {
        for n in 0..16 {
            let op = OpCode(n);
            assert_eq!(op.name().parse::<OpCode>(), Ok(op), "{}", op.name());
            assert_eq!(n.to_string().parse::<OpCode>(), Ok(op));
            assert_eq!(format!("{n:#x}").parse::<OpCode>(), Ok(op));
        }
        assert_eq!(OpCode(3).name(), "reserved-0x3");
        assert_eq!(OpCode::PONG.to_string(), "pong");
        assert_eq!("Text".parse::<OpCode>(), Ok(OpCode::TEXT));
    }

    #[test]
    fn rejects_out_of_range_and_garbage() {
        for s in ["16", "0x10", "256", "-1", "", "texts", "reserved-0x"] {
            assert!(s.parse::<OpCode>().is_err(), "{s}");
        }
        assert_eq!(OpCode(16).to_string(), "invalid-0x10");
    }
}
