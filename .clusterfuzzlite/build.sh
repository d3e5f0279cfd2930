#!/bin/bash -eu
# Builds every cargo-fuzz target into $OUT with its dictionary and seed
# corpus, as OSS-Fuzz / ClusterFuzzLite expect:
#   $OUT/<target>, $OUT/<target>.dict, $OUT/<target>_seed_corpus.zip
#
# Inside the builder image $SRC and $OUT are set and the toolchain is
# nightly. Run as a plain script it builds from this checkout into $OUT
# (default: a new temporary directory, printed at the end), using
# AddressSanitizer on a nightly toolchain and no sanitizer otherwise
# (FUZZ_TOOLCHAIN=nightly and FUZZ_SANITIZER override, as in run-all.sh).

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ -n ${SRC:-} && -d $SRC/wsspec/fuzz ]]; then
    root=$SRC/wsspec
else
    root=$(cd "$here/.." && pwd)
fi
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/wsspec-cflite-out.XXXXXX")}
mkdir -p "$OUT"
cd "$root"

cargo=(cargo)
[[ -n ${FUZZ_TOOLCHAIN:-} ]] && cargo=(cargo "+$FUZZ_TOOLCHAIN")
flags=(-O --debug-assertions)
if [[ -n ${FUZZ_SANITIZER:-} ]]; then
    flags+=(--sanitizer "$FUZZ_SANITIZER")
elif [[ -z ${SANITIZER:-} ]] && [[ $(rustc ${FUZZ_TOOLCHAIN:+"+$FUZZ_TOOLCHAIN"} --version) != *nightly* ]]; then
    # Plain run on stable: sanitizers need -Zsanitizer (nightly only).
    flags+=(--sanitizer none)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

"${cargo[@]}" fuzz build "${flags[@]}"

# Seeds: the committed seed-* files, plus the case-derived ones when the
# generator can be built. It is an ordinary (uninstrumented) program, so it
# is built without the sanitizer flags the builder image exports, in its own
# target directory; failing that, the committed seeds suffice.
seeds=$(mktemp -d "${TMPDIR:-/tmp}/wsspec-seeds.XXXXXX")
for d in fuzz/corpus/*/; do
    mkdir -p "$seeds/$(basename "$d")"
    cp "$d"seed-* "$seeds/$(basename "$d")/" 2>/dev/null || true
done
(
    cd fuzz
    env -u RUSTFLAGS -u CFLAGS -u CXXFLAGS -u LDFLAGS \
        CARGO_TARGET_DIR="$root/fuzz/target/gen-seeds" \
        "${cargo[@]}" run -q --example gen_seeds -- --cases "$seeds"
) || echo "build.sh: case-derived seeds skipped; using the committed ones" >&2

bin_dir=fuzz/target/x86_64-unknown-linux-gnu/release
n=0
for src in fuzz/fuzz_targets/*.rs; do
    t=$(basename "${src%.rs}")
    cp "$bin_dir/$t" "$OUT/"
    cp fuzz/websocket.dict "$OUT/$t.dict"
    rm -f "$OUT/${t}_seed_corpus.zip"
    if compgen -G "$seeds/$t/*" >/dev/null; then
        zip -q -j "$OUT/${t}_seed_corpus.zip" "$seeds/$t"/*
    fi
    n=$((n + 1))
done
rm -rf "$seeds"
echo "build.sh: $n targets with dictionaries and seed corpora in $OUT" >&2
