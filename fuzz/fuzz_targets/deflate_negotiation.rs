#![no_main]
//! See `wsspec_fuzz::fuzz_deflate_negotiation` (fuzz/src/lib.rs) for what is checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_fuzz::fuzz_deflate_negotiation(data);
});
