//! permessage-deflate (RFC 7692): the message transforms and the negotiation parameters.

pub mod codec;

pub use codec::{Compressor, Decompressor, InflateError, TAIL};
