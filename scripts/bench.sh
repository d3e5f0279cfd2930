#!/usr/bin/env bash
# Benchmarks the whole suite against the embedded reference server: wall time (median of
# RUNS), cases per second, and peak memory, at --jobs 1 and at the default parallelism,
# with and without the limits family, and the compression cases beside the rest. Loopback only; each run is bounded by the suite.
#
#   scripts/bench.sh [RUNS]        (default 5)
set -euo pipefail
runs=${1:-5}
cd "$(dirname "$0")/.."
cargo build --release -q
bin=target/release/wsspec
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

bench() {
  local label=$1; shift
  local walls=() rss=()
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' -o "$out/time" "$bin" demo --out "$out/r" "$@" >"$out/log" 2>&1 || true
    read -r w m <"$out/time"
    walls+=("$w"); rss+=("$m")
  done
  local cases
  cases=$(grep -Eo '^[0-9]+ cases in' "$out/log" | grep -Eo '^[0-9]+')
  local w m
  w=$(printf '%s\n' "${walls[@]}" | median)
  m=$(printf '%s\n' "${rss[@]}" | median)
  printf '%-34s %5s cases  median %6.2f s  %7.0f cases/s  peak RSS %6.1f MiB\n' \
    "$label" "$cases" "$w" "$(echo "$cases / $w" | bc -l)" "$(echo "$m / 1024" | bc -l)"
}

echo "wsspec demo, $runs runs each, $(nproc) cores"
bench "all, --jobs 1" --jobs 1
bench "all, default jobs"
bench "without limits, --jobs 1" --jobs 1 --exclude limits
bench "without limits, default jobs" --exclude limits
# Compression (served by wsspec's own echo server, tungstenite has none) beside the
# uncompressed corpus without limits.
bench "deflate only, --jobs 1" --jobs 1 --cases deflate
bench "deflate only, default jobs" --cases deflate
bench "no limits, no deflate, default jobs" --exclude limits,deflate
