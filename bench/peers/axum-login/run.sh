#!/usr/bin/env bash
# Peer row for bench/load.sh (interface: the top of bench/load.sh): axum-login 0.18 +
# tower-sessions MemoryStore. Starts the server on a free port, logs in once with curl
# (GET /login sets tower-sessions' `id` cookie), then prints PID, the Cookie header and
# READY <url of /me>, and waits for the server. SIGTERM ends both.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
repo=$(cd ../../.. && pwd)
dir=release
[[ ${BENCH_PROFILE:-} == dev ]] && dir=debug
bin=${CARGO_TARGET_DIR:-$repo/target/bench}/$dir/peer-axum-login
[[ -x $bin ]] || ./build.sh >&2

out=$(mktemp)
"$bin" --port 0 >"$out" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null; rm -f "$out"' EXIT
trap 'exit 143' TERM INT

base=""
for _ in $(seq 100); do
  base=$(sed -n 's/^LISTENING //p' "$out")
  [[ -n $base ]] && break
  kill -0 "$server" 2>/dev/null || { echo "peer-axum-login exited" >&2; exit 1; }
  sleep 0.1
done
[[ -n $base ]] || { echo "peer-axum-login did not listen" >&2; exit 1; }

cookie=$(curl -sS -o /dev/null -D - "$base/login" | tr -d '\r' |
  sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | head -n 1)
[[ -n $cookie ]] || { echo "GET /login set no cookie" >&2; exit 1; }

echo "PID $server"
echo "HEADER Cookie: $cookie"
echo "READY $base/me"
wait "$server"
