#![no_main]
//! wsspec's frame decoder against tungstenite's FrameSocket on the same bytes.
//! See `wsspec_fuzz::fuzz_differential_tungstenite` (fuzz/src/lib.rs) for what is checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_fuzz::fuzz_differential_tungstenite(data);
});
