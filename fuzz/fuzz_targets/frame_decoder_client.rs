#![no_main]
//! Frame decoder in the client role (expects unmasked frames).
//! See `wsspec_fuzz::fuzz_frame_decoder` (fuzz/src/lib.rs) for what is checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_fuzz::fuzz_frame_decoder(data, wsspec::codec::Expect::Unmasked);
});
