#!/usr/bin/env bash
# Builds every cargo-fuzz target and runs each for a bounded time; exits 1
# if any target crashes, times out or fails an assertion.
#
#   fuzz/run-all.sh [SECONDS] [TARGET...]     (default: 10 s, every target)
#
# Environment:
#   FUZZ_TOOLCHAIN=nightly   toolchain to use (default: whatever `cargo` is).
#   FUZZ_SANITIZER=...       address | none | ... (default: address on a
#                            nightly toolchain, none otherwise: sanitizers
#                            need -Zsanitizer, which stable rejects).
#   FUZZ_CORPUS_DIR=DIR      keep the working corpora in DIR/<target> (default:
#                            a fresh temporary directory, so every run starts
#                            from the seeds and results are comparable).
#   FUZZ_NO_CASE_SEEDS=1     skip deriving seeds from the built-in case files.
#   FUZZ_JOBS=N              libFuzzer -fork jobs per target (default: none).
#   FUZZ_BIN_DIR=DIR         run the target binaries already built in DIR (e.g. a copy of
#                            fuzz/target/x86_64-unknown-linux-gnu/release) instead of
#                            building: scripts/bench.sh compares two builds this way.
#   FUZZ_NO_MAX_LEN=1        libFuzzer's default input size for every target (for
#                            measuring what the bounds below buy).
#   FUZZ_BENCH=1             throughput mode: build with --no-trace-compares, so
#                            exec/s measures the targets, not the comparison tracing
#                            (about 40% of a decoder target's instructions). libFuzzer
#                            then loses the compared operands it mutates towards (the
#                            dictionary still gives it the frame magic), so this is for
#                            scripts/bench.sh's exec/s, never for CI or bug hunting, which
#                            keep the default. It rebuilds the targets in the same
#                            fuzz/target directory: the next default run rebuilds them back.
#
# Inputs are bounded per target with -max_len (see max_len below): the byte-stream
# targets' properties all show within a few frames, and libFuzzer otherwise grows inputs
# to 4 KiB or the largest seed, which only makes each execution slower.
#
# Logs go to fuzz/target/run-all/<target>.log, crashers to
# fuzz/artifacts/<target>/ (see fuzz/README.md to reproduce one).
set -euo pipefail

secs=${1:-10}
[[ $# -gt 0 ]] && shift
case $secs in '' | *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;; esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fuzz="$root/fuzz"
cd "$root"

cargo=(cargo)
[[ -n ${FUZZ_TOOLCHAIN:-} ]] && cargo=(cargo "+$FUZZ_TOOLCHAIN")

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run-all: installing cargo-fuzz (about 40 s)" >&2
    cargo install cargo-fuzz --locked
fi

rustc_version=$(rustc ${FUZZ_TOOLCHAIN:+"+$FUZZ_TOOLCHAIN"} --version)
if [[ -n ${FUZZ_SANITIZER:-} ]]; then
    sanitizer=$FUZZ_SANITIZER
elif [[ $rustc_version == *nightly* ]]; then
    sanitizer=address
else
    sanitizer=none
fi
# -O: optimised, as OSS-Fuzz builds; -a: debug assertions and overflow
# checks on, so arithmetic mistakes in the parsers are findings too.
flags=(-O -a --sanitizer "$sanitizer")
[[ -n ${FUZZ_BENCH:-} ]] && flags+=(--no-trace-compares)

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <("${cargo[@]}" fuzz list)
fi

echo "run-all: $rustc_version, sanitizer $sanitizer${FUZZ_BENCH:+, bench mode (no trace-compares)}, ${secs}s per target: ${targets[*]}" >&2

if [[ -z ${FUZZ_NO_CASE_SEEDS:-} ]]; then
    # Seeds are deterministic: this rewrites the committed seed-* files
    # unchanged and adds the case-* ones (ignored by git).
    (cd "$fuzz" && "${cargo[@]}" run -q --example gen_seeds -- --cases)
fi

if [[ -z ${FUZZ_BIN_DIR:-} ]]; then
    "${cargo[@]}" fuzz build "${flags[@]}"
fi

# Largest input libFuzzer makes for each target; none = libFuzzer's default (4096, or
# the largest seed). The frame decoders (and the differential and assembler targets,
# which decode first) see every header form, the fatal limit (announced lengths need no
# payload) and several frames cut anywhere within 1 KiB; the assembler needs 2 KiB so a
# message can pass its 1 KiB limit. handshake_* and case_loader keep whole heads and
# case files; frame_roundtrip's structure expands far beyond its input anyway.
max_len() {
    case $1 in
        frame_decoder_server | frame_decoder_client | differential_tungstenite | utf8) echo 1024 ;;
        message_assembler) echo 2048 ;;
        deflate_negotiation) echo 1024 ;;
        *) echo "" ;;
    esac
}

if [[ -n ${FUZZ_CORPUS_DIR:-} ]]; then
    work=$FUZZ_CORPUS_DIR
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/wsspec-fuzz.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
logs="$fuzz/target/run-all"
mkdir -p "$logs"

failed=()
printf '%-26s %10s %12s %8s  %s\n' target exec/s runs cov result
for t in "${targets[@]}"; do
    mkdir -p "$work/$t" "$fuzz/corpus/$t"
    extra=()
    [[ -n ${FUZZ_JOBS:-} ]] && extra+=("-fork=$FUZZ_JOBS")
    n=$(max_len "$t")
    [[ -n $n && -z ${FUZZ_NO_MAX_LEN:-} ]] && extra+=("-max_len=$n")
    args=("$work/$t" "$fuzz/corpus/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048
        -dict="$fuzz/websocket.dict" -print_final_stats=1 "${extra[@]}")
    # The first corpus directory receives new inputs; the seeds are read only.
    set +e
    if [[ -n ${FUZZ_BIN_DIR:-} ]]; then
        "$FUZZ_BIN_DIR/$t" "${args[@]}" >"$logs/$t.log" 2>&1
    else
        "${cargo[@]}" fuzz run "${flags[@]}" "$t" "${args[0]}" "${args[1]}" -- "${args[@]:2}" \
            >"$logs/$t.log" 2>&1
    fi
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$t.log" | tail -1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$logs/$t.log" | tail -1 | cut -d' ' -f2)
    if [[ $rc -eq 0 ]]; then
        result=ok
    else
        result="FAILED (exit $rc)"
        failed+=("$t")
    fi
    printf '%-26s %10s %12s %8s  %s\n' "$t" "${execs:-?}" "${runs:-?}" "${cov:-?}" "$result"
    if [[ $rc -ne 0 ]]; then
        grep -E 'panicked at|SUMMARY|ERROR: libFuzzer|Test unit written|deadly signal|timeout' "$logs/$t.log" | head -8 | sed 's/^/    /'
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "run-all: FAILED: ${failed[*]} (logs in $logs, inputs in $fuzz/artifacts/)" >&2
    exit 1
fi
echo "run-all: all ${#targets[@]} targets ran ${secs}s without a finding" >&2
