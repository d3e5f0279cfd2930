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
        "h3_fields" => wsspec_fuzz::fuzz_h3_fields(data),
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

/// The h3_fields seeds reach the decoders' success paths with the values the RFCs give
/// (a seed that only errors would leave the round-trip checks unexercised).
#[test]
fn h3_seeds_decode_to_the_rfc_values() {
    use wsspec::run::h3::{frame, huffman, qpack};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus/h3_fields");
    let read = |name: &str| std::fs::read(dir.join(name)).expect("seed exists");
    let status = |v: &[u8]| vec![(b":status".to_vec(), v.to_vec())];
    assert_eq!(
        qpack::decode(&read("seed-qpack-static-200")),
        Ok(status(b"200"))
    );
    assert_eq!(
        qpack::decode(&read("seed-qpack-huffman-value")),
        Ok(status(b"302"))
    );
    assert_eq!(
        huffman::decode(&read("seed-huffman-rfc7541-c41")),
        Ok(b"www.example.com".to_vec())
    );
    assert_eq!(
        frame::parse_settings(&read("seed-settings-connect")),
        Some(vec![(1, 0), (7, 0), (8, 1)])
    );
    // RFC 9000 Appendix A.1.
    assert_eq!(
        frame::parse_varint(&read("seed-varint-8")),
        Some((151_288_809_941_952_652, 8))
    );
    assert_eq!(
        frame::parse_varint(&read("seed-varint-4")),
        Some((494_878_333, 4))
    );
    assert_eq!(
        frame::parse_varint(&read("seed-varint-2")),
        Some((15_293, 2))
    );
}
