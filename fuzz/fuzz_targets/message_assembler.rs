#![no_main]
//! Decoded frames through the message Assembler, against a reference model.
//! See `wsspec_fuzz::fuzz_message_assembler` (fuzz/src/lib.rs) for what is checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsspec_fuzz::fuzz_message_assembler(data);
});
