#!/usr/bin/env bash
# Benchmark peer row: axum-oidc's /me, logged in once against oidc-provider.
#
# Prints on stdout `PID <server pid>`, `HEADER Cookie: <session cookie>`, then
# `READY <url of /me>`; runs until SIGTERM/SIGINT, then stops everything it started.
# Everything else goes to stderr. Logs: $PEER_LOG_DIR (default: a temp dir, removed on
# exit unless PEER_KEEP_LOGS=1).
#
# Interface: the top of bench/load.sh. The binary is
# ${CARGO_TARGET_DIR:-<repo>/target/bench}/release/peer-axum-oidc; build.sh builds it (run
# here too when it is missing). Prints `SKIP ...` when Node is not installed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
interop="$repo/tests/interop"

peer=axum-oidc
# shellcheck source=bench/peers/oidc-peer.sh
source "$here/../oidc-peer.sh"

# --- prerequisites -------------------------------------------------------------------
command -v node >/dev/null || { echo "SKIP node is not installed (oidc-provider needs it)"; exit 0; }
dir=release
[[ ${BENCH_PROFILE:-} == dev ]] && dir=debug
bin=${CARGO_TARGET_DIR:-$repo/target/bench}/$dir/peer-axum-oidc
if [[ ! -x $bin || ! -d $interop/node_modules/oidc-provider ]]; then
  "$here/build.sh" >&2 || fail "build.sh failed"
fi

# --- ports: the app's port must be known before oidc-provider starts (it registers the
# redirect URI, which for axum-oidc is the protected route itself: <app>/me) -------------
app_port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
app="http://127.0.0.1:$app_port"

# --- oidc-provider ------------------------------------------------------------------
# server.mjs exits when its stdin closes: give it a FIFO that this script holds open
# (read-write, so opening never blocks). If this script dies, the FIFO closes and the
# provider exits on its own.
mkfifo "$logs/op.stdin"
exec 3<>"$logs/op.stdin"
PORT=0 REDIRECT_URIS="$app/me" node "$interop/server.mjs" <&3 3<&- >"$logs/op.log" 2>&1 &
pids+=($!)
issuer=$(await_line "$logs/op.log" LISTENING) || fail "oidc-provider did not start"
echo "$peer peer: oidc-provider at $issuer" >&2

# --- the app ------------------------------------------------------------------------
ISSUER=$issuer APP_URL=$app CLIENT_ID=interop-basic CLIENT_SECRET=interop-basic-secret \
  "$bin" 3<&- >"$logs/app.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
await_line "$logs/app.log" LISTENING >/dev/null || fail "the app did not start"

# --- one login, then one checked request ----------------------------------------------
cookie=$(node "$here/../oidc-login.mjs" "$app/me" 3<&- 2>"$logs/login.log") || fail "login failed"
[[ -n $cookie ]] || fail "login left no session cookie"
status=$(curl -s -o "$logs/me.json" -w '%{http_code}' -H "Cookie: $cookie" "$app/me") || true
[[ $status == 200 ]] || fail "GET /me with the session cookie answered $status"
echo "$peer peer: /me -> $(cat "$logs/me.json")" >&2

echo "PID $server_pid"
echo "HEADER Cookie: $cookie"
echo "READY $app/me"

wait "$server_pid" || true
echo "$peer peer: the app exited" >&2
exit 1
