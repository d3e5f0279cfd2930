#![no_main]
//! Case-file loader on arbitrary text: errors are fine, panics are not.
//! See `wsspec_fuzz::fuzz_case_loader` (fuzz/src/lib.rs) for what is checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_fuzz::fuzz_case_loader(data);
});
