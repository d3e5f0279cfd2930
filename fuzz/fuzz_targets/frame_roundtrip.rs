#![no_main]
//! Structure-aware: arbitrary frame descriptions are encoded, fed to the
//! decoder in arbitrary pieces and must come back field for field.
//! See `wsspec_fuzz::fuzz_frame_roundtrip` (fuzz/src/lib.rs).

use libfuzzer_sys::fuzz_target;
use wsspec_fuzz::RoundTrip;

fuzz_target!(|rt: RoundTrip| {
    wsspec_fuzz::fuzz_frame_roundtrip(&rt);
});
