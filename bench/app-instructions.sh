#!/usr/bin/env bash
# Instructions per request of the load benchmark's rows, in the server's whole process
# (hyper, axum, the handler and the crate), counted by callgrind: bench-app runs under
# valgrind, and one client outside it sends each row's request N times on one keep-alive
# connection while only that row is counted. Unlike load.sh's requests/s, the count does
# not move with a noisy machine; unlike instructions.sh's in-process steps, it includes
# the HTTP server and the rows' real headers (the 700-byte JWT).
#
#   bash bench/app-instructions.sh              # rows limit me api jwt limit-jwt, 2,000 each
#   bash bench/app-instructions.sh -n 500 jwt limit-jwt
#
# Prints, per row, instructions per request and the difference to its limit (limit-jwt
# for jwt, limit for the others): that difference is the crate's cost. Under valgrind
# sha2 runs without SHA-NI: a header token's hash is counted in software (~3,500
# instructions per 64 bytes), far above its native cost. Needs valgrind and python3.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
tool=app-instructions
pin_server=()
die() { echo "app-instructions.sh: $*" >&2; exit 2; }

n=2000
rows=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) rows+=("$1"); shift ;;
  esac
done
[ ${#rows[@]} -gt 0 ] || rows=(limit me api jwt limit-jwt)
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
build_app

start app "$repo" valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$work/callgrind.%p" "$app_bin" --port 0
# Under valgrind the app's start (a login through the mock) takes a while.
await app 600 || { cat "$work/app.err" >&2; die "bench-app did not start under valgrind"; }
base=$(field app READY)
vpid=$(cat "$work/app.pid") # setsid execs valgrind, which runs the app in its process

# send PATH HEADER VALUE COUNT: COUNT requests on one keep-alive connection, each 200.
send() {
  python3 - "$base" "$@" <<'EOF'
import http.client, sys, urllib.parse
base, path, name, value, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
u = urllib.parse.urlsplit(base)
c = http.client.HTTPConnection(u.hostname, u.port)
for _ in range(n):
    c.request("GET", path, headers={name: value})
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        sys.exit(f"{path}: {r.status} {body[:200]!r}")
EOF
}

count() { # row PATH HEADER VALUE -> instructions per request
  send "$2" "$3" "$4" 50 # warm: caches, the connection's buffers
  callgrind_control -z "$vpid" >/dev/null 2>&1
  callgrind_control -i on "$vpid" >/dev/null 2>&1
  send "$2" "$3" "$4" "$n"
  callgrind_control -i off "$vpid" >/dev/null 2>&1
  callgrind_control -d "$1" "$vpid" >/dev/null 2>&1
  local file total sha
  file=$(grep -l "^desc: Trigger: dump $1\$" "$work"/callgrind.* | head -1)
  total=$(awk -v n="$n" '/^totals:/ { print int($2 / n + 0.5); exit }' "$file")
  # SHA-256's compression function (software under valgrind), for the native estimate.
  sha=$(callgrind_annotate --auto=no --threshold=100 "$file" 2>/dev/null \
    | awk -v n="$n" '/sha256::compress256/ && !/=>/ { gsub(",", "", $1); s += $1 } END { print int(s / n + 0.5) }')
  echo "$total $sha"
}

declare -A ir
for row in "${rows[@]}" limit limit-jwt; do
  [[ -n ${ir[$row]:-} ]] && continue
  case $row in
    limit) ir[$row]=$(count limit /limit/me cookie "$(field app COOKIE)") ;;
    public) ir[$row]=$(count public /public cookie "$(field app COOKIE)") ;;
    session) ir[$row]=$(count session /session/me cookie "$(field app COOKIE)") ;;
    me) ir[$row]=$(count me /me cookie "$(field app COOKIE)") ;;
    api) ir[$row]=$(count api /api/me authorization "Bearer $(field app BEARER)") ;;
    jwt) ir[$row]=$(count jwt /jwt/me authorization "Bearer $(field app JWT)") ;;
    limit-jwt) ir[$row]=$(count limit-jwt /limit/jwt authorization "Bearer $(field app JWT)") ;;
    *) die "no row '$row' (limit public session me api jwt limit-jwt)" ;;
  esac
done

echo "# Instructions per request, bench-app under callgrind ($n requests per row; commit $(git -C "$repo" rev-parse --short HEAD))"
echo
echo "| row | instructions/request | + to its limit | of which SHA-256 (software) | + to its limit without it |"
echo "|---|---:|---:|---:|---:|"
for row in "${rows[@]}"; do
  base_row=limit
  [[ $row == jwt || $row == limit-jwt ]] && base_row=limit-jwt
  read -r total sha <<<"${ir[$row]}"
  read -r base _ <<<"${ir[$base_row]}"
  echo "| $row | $total | $((total - base)) | $sha | $((total - base - sha)) |"
done
