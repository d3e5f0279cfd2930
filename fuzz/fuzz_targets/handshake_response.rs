#![no_main]
//! Opening-handshake response parser, validator and extension grammar.
//! See `wsspec_fuzz::fuzz_handshake_response` (fuzz/src/lib.rs) for what is checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_fuzz::fuzz_handshake_response(data);
});
