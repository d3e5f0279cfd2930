#!/usr/bin/env bash
# Regenerates the sample outputs in README.md from real runs, so they cannot drift from what
# wsspec prints. Each sample sits between `<!-- sample: NAME -->` and `<!-- /sample -->`;
# tests/it/docs_examples.rs checks every sample against the built-in suite.
#
#   scripts/docs-samples.sh           (WSSPEC=path/to/wsspec to skip the build)
#
# Samples:
#   demo  the terminal output of `wsspec demo` (stdout; loopback, about 15 s)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
if [ -z "${WSSPEC:-}" ]; then
  cargo build --release -q
  WSSPEC=$root/target/release/wsspec
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Run where the default --out is, so the sample shows the paths a user sees.
(cd "$work" && "$WSSPEC" demo >"$work/demo.txt" 2>"$work/demo.err")

# Replace the body of one sample block (the fenced block after the marker).
replace() { # NAME FILE
  python3 - "$1" "$2" <<'EOF'
import re, sys
name, body = sys.argv[1], open(sys.argv[2]).read().rstrip("\n")
readme = open("README.md").read()
pattern = re.compile(r"(<!-- sample: %s\b[^>]*-->\n```text\n)(?:.*?\n)?(```\n<!-- /sample -->)" % re.escape(name), re.S)
new, n = pattern.subn(lambda m: m.group(1) + body + "\n" + m.group(2), readme)
if n != 1:
    sys.exit(f"README.md: sample {name!r} found {n} times")
open("README.md", "w").write(new)
EOF
  echo "README.md: sample $1 regenerated"
}
replace demo "$work/demo.txt"
