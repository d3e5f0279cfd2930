#!/usr/bin/env bash
# Benchmarks wsspec and writes a Markdown section to docs/performance.md: medians of RUNS
# runs of the suite (whole, without limits, limits alone with MiB/s each way, deflate)
# against the embedded reference (`wsspec demo`), against a plain tokio-tungstenite echo
# server and against Python websockets (peers/python/echo_server.py, from the peers
# cache peers/install fills; its rows are left out when it is not installed), with peak
# RSS, wsspec's CPU time and the share of the cases' time spent waiting; exec/s of every
# cargo-fuzz target for a fixed time; and network-fuzzer sequences/s against the
# reference echo server. Loopback only, every run bounded (the suite by --max-time, the
# fuzzer by --iterations).
#
#   scripts/bench.sh [--runs N] [--quick] [--bin PATH] [--label NAME] [--out FILE]
#                    [--fuzz-secs S] [--fuzz-runs N] [--netfuzz-iterations N]
#                    [--fuzz-bin-dir DIR] [--skip suite,python,fuzz,netfuzz]
#
#   --runs N      runs per suite row and per fuzzer row, median reported (default 5)
#   --quick       one run of everything, 5 s per fuzz target
#   --bin PATH    the wsspec binary to measure (default: build target/release/wsspec);
#                 the example servers are taken from PATH's directory/examples, built
#                 from this tree when missing
#   --label NAME  heading of the section written (default: the commit, e.g. "main 4805a87");
#                 a section of the same label is replaced, others are kept, so "before"
#                 and "after" sit side by side
#   --out FILE    where the section goes (default docs/performance.md; - for stdout only)
#
# The fuzz-target numbers come from this tree's fuzz/ crate (fuzz/run-all.sh, stable
# toolchain, no sanitizer unless FUZZ_SANITIZER says otherwise), not from --bin, unless
# --fuzz-bin-dir names target binaries built before (a copy of
# fuzz/target/x86_64-unknown-linux-gnu/release); FUZZ_NO_MAX_LEN=1 drops run-all's bounds,
# FUZZ_BENCH=1 builds them without trace-compares (throughput mode, see fuzz/run-all.sh).
# The machine is shared and loaded: compare numbers taken in one sitting.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

runs=5
fuzz_secs=10
fuzz_runs=
net_iters=5000
bin=
label=
out=docs/performance.md
skip=
while [[ $# -gt 0 ]]; do
    case $1 in
        --runs) runs=$2; shift 2 ;;
        --quick) runs=1; fuzz_secs=5; net_iters=2000; shift ;;
        --bin) bin=$2; shift 2 ;;
        --label) label=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --fuzz-secs) fuzz_secs=$2; shift 2 ;;
        --fuzz-runs) fuzz_runs=$2; shift 2 ;;
        --netfuzz-iterations) net_iters=$2; shift 2 ;;
        --skip) skip=$2; shift 2 ;;
        --fuzz-bin-dir) export FUZZ_BIN_DIR; FUZZ_BIN_DIR=$(cd "$2" && pwd); shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
fuzz_runs=${fuzz_runs:-$runs}
skipped() { [[ ,$skip, == *,$1,* ]]; }

if [[ -z $bin ]]; then
    cargo build --release -q --bin wsspec --example tungstenite_echo_server --example fuzz_targets
    bin=target/release/wsspec
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
examples=$(dirname "$bin")/examples
for ex in tungstenite_echo_server fuzz_targets; do
    if [[ ! -x $examples/$ex ]]; then
        cargo build --release -q --example "$ex"
        examples=$root/target/release/examples
    fi
done
if [[ -z $label ]]; then
    label="$(git rev-parse --abbrev-ref HEAD) $(git rev-parse --short HEAD)"
    git diff --quiet HEAD -- src cases fuzz || label="$label (+ uncommitted changes)"
fi

peers_cache="${WSSPEC_PEERS_CACHE:-${HOME:-/tmp}/.cache/wsspec-peers}"
have_python() { PYTHONPATH="$peers_cache/python" python3 -c 'import websockets' 2>/dev/null; }

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "?"; else print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
log() { echo "bench: $*" >&2; }

# Starts one of the example servers; sets server_url and server_pid (not in a subshell,
# so the cleanup trap knows the process).
start_server() {
    local name=$1 log=$tmp/$1.out
    case $name in
        tungstenite) "$examples/tungstenite_echo_server" 0 >"$log" 2>"$tmp/$name.err" & ;;
        echo-reference) "$examples/fuzz_targets" reference >"$log" 2>"$tmp/$name.err" & ;;
        demo-reference) "$examples/fuzz_targets" demo >"$log" 2>"$tmp/$name.err" & ;;
        python) PYTHONPATH="$peers_cache/python" python3 peers/python/echo_server.py 0 \
            >"$log" 2>"$tmp/$name.err" & ;;
    esac
    server_pid=$!
    pids+=("$server_pid")
    for _ in $(seq 100); do
        if [[ $name == tungstenite || $name == python ]] && grep -q '^LISTENING ' "$log"; then
            server_url="ws://127.0.0.1:$(sed -n 's/^LISTENING //p' "$log" | head -1)/"
            return 0
        elif grep -q '^ws://' "$log"; then
            server_url=$(head -1 "$log")
            return 0
        fi
        sleep 0.1
    done
    echo "bench: $name did not start" >&2
    cat "$tmp/$name.err" >&2
    exit 2
}

rows=()
# suite_row LABEL PEER URL ARGS...: PEER names the row (reference, tokio-tungstenite,
# python-websockets); URL is "reference" (wsspec demo) or the server's URL.
suite_row() {
    local what=$1 peer_name=$2 peer=$3; shift 3
    local walls=() rss=() cpus=() waits=() sent=() recv=() cases=? verdicts=
    for i in $(seq "$runs"); do
        rm -rf "$tmp/r"
        local cmd=("$bin")
        if [[ $peer == reference ]]; then cmd+=(demo); else cmd+=(server "$peer"); fi
        /usr/bin/time -f '%e %M %U %S' -o "$tmp/time" "${cmd[@]}" --out "$tmp/r" --format json \
            --max-time 300s "$@" >"$tmp/log" 2>&1 || true
        local w m u k
        read -r w m u k < <(tail -1 "$tmp/time")
        walls+=("$w"); rss+=("$m"); cpus+=("$(awk -v u="$u" -v k="$k" 'BEGIN {print u + k}')")
        if [[ -f $tmp/r/results.json ]]; then
            read -r cases s r wt verdicts < <(python3 - "$tmp/r/results.json" <<'EOF'
import json, sys, collections
d = json.load(open(sys.argv[1]))
c = d["cases"]
v = collections.Counter(x["verdict"] for x in c)
total = sum(x["duration_ms"] for x in c)
waiting = sum(x.get("timings", {}).get("waiting_ms", 0) for x in c)
print(len(c), sum(x["bytes_sent"] for x in c), sum(x["bytes_received"] for x in c),
      round(100 * waiting / total) if total else 0,
      ",".join(f"{k}:{n}" for k, n in sorted(v.items())))
EOF
            )
            sent+=("$s"); recv+=("$r"); waits+=("$wt")
        fi
        log "$what ($peer_name) run $i: ${w}s, $((m / 1024)) MiB, $cases cases"
    done
    local w m s r c wt
    w=$(printf '%s\n' "${walls[@]}" | median)
    m=$(printf '%s\n' "${rss[@]}" | median)
    c=$(printf '%s\n' "${cpus[@]}" | median)
    wt=$(printf '%s\n' "${waits[@]}" | median)
    s=$(printf '%s\n' "${sent[@]}" | median)
    r=$(printf '%s\n' "${recv[@]}" | median)
    local mibs=""
    if [[ $s != "?" && $w != "?" ]]; then
        mibs=$(awk -v s="$s" -v r="$r" -v w="$w" \
            'BEGIN {printf "%.1f MiB out (%.0f MiB/s), %.1f MiB in (%.0f MiB/s)", s/1048576, s/1048576/w, r/1048576, r/1048576/w}')
    fi
    rows+=("| $what | $peer_name | $cases | $w | $c | $wt% | $(awk -v m="$m" 'BEGIN {printf "%.0f", m/1024}') | $mibs | $verdicts |")
}

fuzz_rows=()
if ! skipped fuzz; then
    for i in $(seq "$fuzz_runs"); do
        log "fuzz targets run $i of $fuzz_runs, ${fuzz_secs}s each"
        fuzz/run-all.sh "$fuzz_secs" >"$tmp/fuzz.$i" 2>"$tmp/fuzz.$i.err" \
            || log "fuzz/run-all.sh failed (see its table below)"
        cat "$tmp/fuzz.$i" >&2
    done
    mapfile -t targets < <(awk 'NR > 1 {print $1}' "$tmp/fuzz.1")
    for t in "${targets[@]}"; do
        e=$(for i in $(seq "$fuzz_runs"); do awk -v t="$t" '$1 == t {print $2}' "$tmp/fuzz.$i"; done | median)
        all=$(for i in $(seq "$fuzz_runs"); do awk -v t="$t" '$1 == t {print $2}' "$tmp/fuzz.$i"; done | paste -sd' ')
        res=$(for i in $(seq "$fuzz_runs"); do awk -v t="$t" '$1 == t {print $5}' "$tmp/fuzz.$i"; done | sort -u | paste -sd' ')
        fuzz_rows+=("| \`$t\` | $e | $all | $res |")
    done
fi

net_rows=()
if ! skipped netfuzz; then
    for server in demo-reference echo-reference tungstenite; do
        start_server "$server"
        url=$server_url
        rates=()
        for i in $(seq "$runs"); do
            "$bin" fuzz "$url" --seed 1 --iterations "$net_iters" >"$tmp/netfuzz" 2>&1 || true
            rate=$(grep -o '([0-9]* sequences/s)' "$tmp/netfuzz" | grep -o '[0-9]*' | head -1)
            causes=$(grep -o '[0-9]* causes\? (' "$tmp/netfuzz" | grep -o '^[0-9]*' | head -1)
            rates+=("${rate:-?}")
            log "netfuzz $server run $i: ${rate:-?} sequences/s, ${causes:-?} causes"
        done
        kill "$server_pid" 2>/dev/null || true
        net_rows+=("| $server | $net_iters | $(printf '%s\n' "${rates[@]}" | median) | ${rates[*]} | ${causes:-?} |")
    done
fi

if ! skipped suite; then
    start_server tungstenite
    for peer in reference "$server_url"; do
        name=tokio-tungstenite
        [[ $peer == reference ]] && name=reference
        suite_row "whole suite" "$name" "$peer"
        suite_row "without limits" "$name" "$peer" --exclude limits
        suite_row "limits" "$name" "$peer" --cases limits
        suite_row "deflate" "$name" "$peer" --cases deflate --exclude deflate.volume
    done
fi
if ! skipped python; then
    if have_python; then
        start_server python
        suite_row "whole suite" python-websockets "$server_url"
        suite_row "without limits" python-websockets "$server_url" --exclude limits
        suite_row "limits" python-websockets "$server_url" --cases limits
        kill "$server_pid" 2>/dev/null || true
    else
        log "Python websockets is not in $peers_cache (run peers/install): its rows are left out"
    fi
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
    echo "<!-- bench: $label -->"
    echo "## $label"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores ($cpu), $(awk '/^MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM,"
    echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(rustc --version); \`$(basename "$bin")\` $("$bin" --version | cut -d' ' -f2)."
    fuzz_note=
    skipped fuzz || fuzz_note="; fuzz targets $fuzz_runs run(s) of ${fuzz_secs} s each${FUZZ_BIN_DIR:+ (binaries from $FUZZ_BIN_DIR)}${FUZZ_NO_MAX_LEN:+, without -max_len bounds}${FUZZ_BENCH:+, built without trace-compares}${FUZZ_NO_CASE_SEEDS:+, committed seeds only}"
    echo "Medians of $runs run(s)$fuzz_note."
    if [[ ${#rows[@]} -gt 0 ]]; then
        echo
        echo "| run | peer | cases | wall s | wsspec CPU s | waiting | peak RSS MiB | bytes each way (results.json) | verdicts |"
        echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"
        printf '%s\n' "${rows[@]}"
    fi
    if [[ ${#fuzz_rows[@]} -gt 0 ]]; then
        echo
        echo "| cargo-fuzz target | exec/s (median) | each run | result |"
        echo "| --- | ---: | --- | --- |"
        printf '%s\n' "${fuzz_rows[@]}"
    fi
    if [[ ${#net_rows[@]} -gt 0 ]]; then
        echo
        echo "| \`wsspec fuzz\` against | sequences | sequences/s (median) | each run | causes |"
        echo "| --- | ---: | ---: | --- | ---: |"
        printf '%s\n' "${net_rows[@]}"
    fi
    echo "<!-- /bench: $label -->"
} >"$tmp/section.md"

cat "$tmp/section.md"
if [[ $out != - ]]; then
    python3 - "$out" "$tmp/section.md" "$label" <<'EOF'
import os, re, sys
out, section, label = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3]
head = "# Performance\n\nWritten by `scripts/bench.sh` (see its `--help`); one section per sitting.\n"
text = open(out).read() if os.path.exists(out) else head
pat = re.compile(r"<!-- bench: " + re.escape(label) + r" -->.*?<!-- /bench: " + re.escape(label) + r" -->\n?", re.S)
if pat.search(text):
    text = pat.sub(lambda _: section, text)
else:
    text = text.rstrip("\n") + "\n\n" + section
open(out, "w").write(text)
EOF
    log "wrote the section \"$label\" to $out"
fi
