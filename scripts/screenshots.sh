#!/usr/bin/env bash
# Renders the HTML reports of real demo runs in headless Chromium, checks that the elements
# a new user looks for are there, and writes the screenshots under docs/img/ (the README
# shows them). Regenerate them with this script, never by hand.
#
#   scripts/screenshots.sh            (needs `chromium`; Debian: apt-get install chromium)
#
# What it runs, all on loopback against the embedded reference server:
#   1. `wsspec demo --tls`: the report's first screen (headline, rates, TLS details)
#      -> docs/img/report-summary.png
#   2. the same page at #problems: only the cases that did not pass (what the summary's
#      "Show only the N cases that did not pass" does)
#      -> docs/img/report-problems.png
#   3. `wsspec report` of that run and a `--strict` run: the comparison grid with
#      "differences only" on -> docs/img/compare-differences.png
# Every check prints what it looked for; the script exits non-zero on the first miss.
set -euo pipefail
cd "$(dirname "$0")/.."
chrome=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
[ -n "$chrome" ] || { echo "screenshots.sh: no chromium found (apt-get install chromium)" >&2; exit 2; }
bin=${WSSPEC:-target/debug/wsspec}
[ -n "${WSSPEC:-}" ] || cargo build -q
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p docs/img

"$bin" demo --tls --out "$work/tls" >"$work/tls.log" 2>&1
"$bin" demo --strict --agent 'reference, --strict' --out "$work/strict" >"$work/strict.log" 2>&1 || true
"$bin" report "$work/tls/results.json" "$work/strict/results.json" --out "$work/cmp" >"$work/cmp.log" 2>&1

# One profile per call, nothing fetched, nothing synced: the page is self-contained.
chrome() {
  "$chrome" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
    --user-data-dir="$(mktemp -d -p "$work")" "$@" 2>/dev/null
}
shot() { # URL PNG WIDTHxHEIGHT
  chrome --virtual-time-budget=3000 --screenshot="$2" --window-size="$3" "$1" >/dev/null
  [ -s "$2" ] || { echo "screenshots.sh: no screenshot $2" >&2; exit 1; }
  echo "wrote $2"
}
dom() { chrome --virtual-time-budget=3000 --dump-dom "$1"; }
expect() { # WHAT FILE PATTERN: grep -E must find PATTERN in FILE
  if grep -Eq -- "$3" "$2"; then echo "ok: $1"; else echo "MISSING: $1 ($3)" >&2; exit 1; fi
}
count() { grep -Eo -- "$2" "$1" | wc -l; }

report="file://$work/tls/index.html"
dom "$report" >"$work/report.dom"
expect "headline: conformance summary" "$work/report.dom" '<h2>Conformance</h2>'
expect "headline: a tile per class" "$work/report.dom" 'class="tile v-[a-z-]+" data-class="unimplemented"'
expect "headline: rate over what the peer implements" "$work/report.dom" 'of the [0-9]+ cases the peer implements meet every MUST'
expect "one click to the problems" "$work/report.dom" 'id="only-problems"[^>]*>Show only the [0-9]+ cases? that did not pass'
expect "TLS details" "$work/report.dom" 'id="tls" class="tls-verified">TLSv1\.[23] · TLS[0-9A-Z_]+ · ALPN http/1\.1'
expect "TLS certificate and trust" "$work/report.dom" 'verified against the certificates given with --ca'
expect "the filters are live" "$work/report.dom" '<div id="filters">'

dom "$report#problems" >"$work/problems.dom"
passing=$(grep -Eo '[0-9]+ passed' "$work/tls.log" | tail -1 | grep -Eo '[0-9]+')
hidden=$(count "$work/problems.dom" '<details class="case v-pass"[^>]*hidden')
shown=$(count "$work/problems.dom" '<details class="case v-(fail|non-strict|informational|unimplemented|error)"[^>]*data-id="[^"]*"( open="")?>')
[ "$hidden" = "$passing" ] || { echo "#problems: $hidden of $passing passing cases hidden" >&2; exit 1; }
[ "$shown" -gt 0 ] || { echo "#problems: no problem left on the page" >&2; exit 1; }
echo "ok: #problems hides all $passing passing cases and shows $shown"

compare="file://$work/cmp/index.html"
dom "$compare#differences" >"$work/compare.dom"
expect "differences-only filter on" "$work/compare.dom" '<body class="differences-only">'
expect "differences counted" "$work/compare.dom" '\([0-9]+ of [0-9]+ cases differ between the agents\)'
expect "a row that differs" "$work/compare.dom" '<tr class="differs">'

shot "$report" docs/img/report-summary.png 1280,1000
# Tall: the page opened at #problems stays at its top, and the filtered cases are below.
shot "$report#problems" docs/img/report-problems.png 1280,2200
shot "$compare#differences" docs/img/compare-differences.png 1280,800
