//! Raw WebSocket framing (RFC 6455 §5): a frame model in which every header
//! field can be set to anything, an encoder, a strict incremental decoder
//! that names every rule a frame breaks, masking, close bodies, and a
//! message assembler that applies the fragmentation rules of §5.4.
//!
//! The split into files follows the concepts: [`opcode`] values, [`mask`]ing,
//! [`frame`] model and encoding, [`close`] bodies, [`rule`]s and located
//! violations, the [`decoder`], and [`message`] assembly.

pub mod close;
pub mod decoder;
pub mod digest;
pub mod frame;
pub mod mask;
pub mod message;
pub mod opcode;
pub mod rule;

pub use close::{close_code_valid_on_wire, close_payload, parse_close_payload, CloseInfo};
pub use decoder::{DecodedFrame, Decoder, DecoderConfig, Expect, FatalError, StreamedHead};
pub use digest::Digest;
pub use frame::{EncodeError, Frame, LengthForm};
pub use mask::apply_mask;
pub use message::{Assembled, Assembler, Summary};
pub use opcode::{OpCode, ParseOpCodeError};
pub use rule::{Rule, Violation};
