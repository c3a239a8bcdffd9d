#!/usr/bin/env bash
# Instructions per request of each in-process step (benches/steps.rs), counted by
# callgrind: unlike time, the count does not move with a noisy machine, so a before/after
# pair of a hot-path change is one run of this script on each commit.
#
#   bash bench/instructions.sh                 # every step, 2,000 requests each
#   bash bench/instructions.sh -n 500 limit layer
#
# Prints, per step, instructions per request and the difference to `limit` (the handler
# alone): that difference is the crate's cost. Needs valgrind (Debian: `valgrind`).
set -euo pipefail
cd "$(dirname "$0")/.."

n=2000
steps=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) steps+=("$1"); shift ;;
  esac
done
[ ${#steps[@]} -gt 0 ] || steps=(limit layer session_hit bearer_session bearer_header guard session_open)
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }

bin=$(cargo bench --locked --bench steps --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "steps" and m.get("executable"):
        print(m["executable"])')
[ -x "$bin" ] || { echo "could not build benches/steps.rs" >&2; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count() { # step -> instructions per request
  STEPS_COUNT="$1:$n" valgrind --tool=callgrind --collect-atstart=no \
    --toggle-collect='steps::measured' --callgrind-out-file="$out/$1" "$bin" >/dev/null 2>&1
  awk -v n="$n" '/^(summary|totals):/ { print int($2 / n + 0.5); exit }' "$out/$1"
}

limit=$(count limit)
printf '%-16s %14s %12s\n' step instr/request "+ to limit"
for step in "${steps[@]}"; do
  if [ "$step" = limit ]; then ir=$limit; else ir=$(count "$step"); fi
  printf '%-16s %14s %12s\n' "$step" "$ir" "$((ir - limit))"
done
