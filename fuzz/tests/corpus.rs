//! Replays every file under `corpus/<target>/` (and `regressions/<target>/`,
//! where minimised crashers are kept once fixed) through its target's
//! check function, without libFuzzer: `cargo test` in `fuzz/` on any
//! toolchain. `WSSPEC_FUZZ_CORPUS=DIR` replays another corpus tree.

use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};

fn run(target: &str, data: &[u8]) {
    match target {
        "frame_decoder_server" => {
            wsspec_fuzz::fuzz_frame_decoder(data, wsspec::codec::Expect::Masked)
        }
        "frame_decoder_client" => {
            wsspec_fuzz::fuzz_frame_decoder(data, wsspec::codec::Expect::Unmasked)
        }
        "message_assembler" => wsspec_fuzz::fuzz_message_assembler(data),
        "handshake_request" => wsspec_fuzz::fuzz_handshake_request(data),
        "handshake_response" => wsspec_fuzz::fuzz_handshake_response(data),
        "utf8" => wsspec_fuzz::fuzz_utf8(data),
        "deflate_inflate" => wsspec_fuzz::fuzz_deflate_inflate(data),
        "deflate_negotiation" => wsspec_fuzz::fuzz_deflate_negotiation(data),
        "case_loader" => wsspec_fuzz::fuzz_case_loader(data),
        "differential_tungstenite" => wsspec_fuzz::fuzz_differential_tungstenite(data),
        "frame_roundtrip" => {
            // Same input handling as libfuzzer-sys's `fuzz_target!(|rt: T|)`.
            if let Ok(rt) = wsspec_fuzz::RoundTrip::arbitrary_take_rest(Unstructured::new(data)) {
                wsspec_fuzz::fuzz_frame_roundtrip(&rt);
            }
        }
        other => panic!("unknown target directory {other}"),
    }
}

fn replay(root: &Path) -> usize {
    let Ok(targets) = std::fs::read_dir(root) else {
        return 0;
    };
    let mut n = 0;
    for t in targets.flatten().filter(|t| t.path().is_dir()) {
        let target = t.file_name().to_string_lossy().into_owned();
        for f in std::fs::read_dir(t.path()).unwrap().flatten() {
            let data = std::fs::read(f.path()).unwrap();
            let r = std::panic::catch_unwind(|| run(&target, &data));
            assert!(r.is_ok(), "{target}: {} fails", f.path().display());
            n += 1;
        }
    }
    n
}

#[test]
fn corpus_and_regressions_pass() {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut n = replay(&here.join("corpus")) + replay(&here.join("regressions"));
    if let Ok(extra) = std::env::var("WSSPEC_FUZZ_CORPUS") {
        n += replay(Path::new(&extra));
    }
    assert!(n > 0, "no seeds found: run `cargo run --example gen_seeds`");
    eprintln!("replayed {n} inputs");
}
