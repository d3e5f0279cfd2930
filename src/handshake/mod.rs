//! The WebSocket opening handshake (RFC 6455 §4) at the byte level.
//!
//! wsspec must both *send* handshakes that real libraries refuse to produce
//! and *judge* what a peer sends strictly, so this module keeps the two
//! apart: builders ([`RequestSpec`], [`ResponseSpec`]) hold ordered,
//! unvalidated header lists that serialise byte for byte, while parsers
//! ([`parse_request`], [`parse_response`]) and validators
//! ([`validate_request`], [`validate_response`]) are strict and report each
//! violated rule with its RFC section.

mod accept;
mod headers;
mod parse;
mod request;
mod response;
mod validate;

pub use accept::{accept_key, decode_key, generate_key, KeyError, WEBSOCKET_GUID};
pub use headers::{
    is_tchar, is_token, parse_extension_lines, parse_extensions, tokens, ExtensionError,
    ExtensionOffer, HeaderList,
};
pub use parse::{ParseError, StartLine, MAX_HEADERS};
pub use request::{parse_request, Request, RequestSpec};
pub use response::{parse_response, Response, ResponseSpec};
pub use validate::{validate_request, validate_response, HandshakeRule, Offer, Problem};
