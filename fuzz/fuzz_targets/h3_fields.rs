#![no_main]
//! HTTP/3 field sections, SETTINGS payloads and varints from a server (src/run/h3).
//! See `wsspec_fuzz::fuzz_h3_fields` (fuzz/src/lib.rs) for what is checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_fuzz::fuzz_h3_fields(data);
});
