//! permessage-deflate (RFC 7692): the message transforms and the negotiation parameters.

pub mod codec;
pub mod flow;
pub mod negotiate;
pub mod window;

pub use codec::{Compressor, Decompressor, InflateError, TAIL};
pub use flow::{Endpoint, Flow};
pub use negotiate::{check_answer, Agreement};
