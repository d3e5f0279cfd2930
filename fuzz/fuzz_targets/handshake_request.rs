#![no_main]
//! Opening-handshake request parser, validator and extension grammar.
//! See `wsspec_fuzz::fuzz_handshake_request` (fuzz/src/lib.rs) for what is checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_fuzz::fuzz_handshake_request(data);
});
