#![no_main]
//! Incremental UTF-8 validator, differential against std::str::from_utf8.
//! See `wsspec_fuzz::fuzz_utf8` (fuzz/src/lib.rs) for what is checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_fuzz::fuzz_utf8(data);
});
