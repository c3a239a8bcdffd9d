# Shared by the peers that log in through oidc-provider (axum-oidc,
# express-openid-connect): sourced by their run.sh after setting `peer` (the row's name).
# Gives: $logs (the log directory), pids (processes to stop on exit), the traps that stop
# them, fail MESSAGE (prints the logs' tails, exits 1) and await_line FILE PREFIX.

logs=${PEER_LOG_DIR:-$(mktemp -d -t peer-$peer.XXXXXX)}
mkdir -p "$logs"
pids=()
cleanup() {
  trap - EXIT TERM INT
  local p i
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  # up to 3 s to go, then SIGKILL (a server draining a busy connection must not hang us)
  for ((i = 0; i < 60; i++)); do
    kill -0 "${pids[@]}" 2>/dev/null || break
    sleep 0.05
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [[ -n ${PEER_LOG_DIR:-} || ${PEER_KEEP_LOGS:-0} == 1 ]] || rm -rf "$logs"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
fail() {
  echo "$peer peer: $*" >&2
  for f in "$logs"/*.log; do [[ -f $f ]] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }; done
  exit 1
}
# Waits for a line starting with $2 in file $1 (10 s); prints the rest of that line.
await_line() {
  local i line
  for ((i = 0; i < 200; i++)); do
    line=$(grep -m1 "^$2 " "$1" 2>/dev/null || true)
    [[ -n $line ]] && { echo "${line#"$2 "}"; return 0; }
    sleep 0.05
  done
  return 1
}

