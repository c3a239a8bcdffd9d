# Shared by bench/load.sh and bench/economy.sh (sourced, not run): a scratch directory,
# the processes a run starts (each in its own process group, pinned to the server core)
# and their READY lines, and a throwaway redis-server.
#
# The sourcing script sets `tool` (its name, for messages), `repo` (the repository root)
# and `pin_server` (the taskset prefix, possibly empty) first.

# The bench app is a member of the crate's workspace: one Cargo.lock, one target directory
# (CARGO_TARGET_DIR, else <repo>/target), exported so the Rust peers (workspaces of their
# own) build there too. BENCH_PROFILE chooses the cargo profile: `bench-app` (the root's
# [profile.bench-app]: release, thin LTO, one codegen unit) for figures, `dev` for a
# smoke run that only checks the plumbing (.ci/bench.sh); the peers follow it (dev, or
# else release).
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
export BENCH_PROFILE=${BENCH_PROFILE:-bench-app}
case $BENCH_PROFILE in
  dev|test) app_bin=$CARGO_TARGET_DIR/debug/bench-app ;;
  *) app_bin=$CARGO_TARGET_DIR/$BENCH_PROFILE/bench-app ;;
esac
build_app() { # build_app: builds bench-app with BENCH_PROFILE into $app_bin
  echo "$tool.sh: building bench-app (profile $BENCH_PROFILE, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)" >&2
  cargo build --locked --quiet --manifest-path "$repo/Cargo.toml" -p bench-app \
    --profile "$BENCH_PROFILE" >&2
}

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-$tool.XXXXXX")
groups=()   # process groups we started (each a setsid leader's pid)
stop_group() { # stop_group PGID: SIGTERM, up to 5 s to go, then SIGKILL
  kill -TERM -- "-$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 -- "-$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$1" 2>/dev/null || true
}
cleanup() {
  local g
  # All asked at once, then each given its time.
  for g in "${groups[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
  for g in "${groups[@]}"; do stop_group "$g"; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME DIR CMD...: runs CMD in DIR, pinned to the server core, in its own process
# group (setsid: its pid is the group's id), stdout to $work/NAME.out, stderr to
# $work/NAME.err; the pid goes to $work/NAME.pid.
start() {
  local name=$1 dir=$2; shift 2
  (cd "$dir" && exec setsid "${pin_server[@]}" "$@" >"$work/$name.out" 2>"$work/$name.err" </dev/null) &
  local pid=$!
  groups+=("$pid")
  echo "$pid" >"$work/$name.pid"
}

# await NAME TIMEOUT: waits until NAME's stdout has a READY or SKIP line; returns 0 on
# READY, 3 on SKIP, 1 when the process exits or the time runs out.
await() {
  local name=$1 timeout=$2 pid deadline
  pid=$(cat "$work/$name.pid")
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    grep -q '^READY ' "$work/$name.out" 2>/dev/null && return 0
    grep -q '^SKIP' "$work/$name.out" 2>/dev/null && return 3
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$tool.sh: $name exited before READY; its stderr:" >&2
      tail -n 30 "$work/$name.err" >&2 || true
      return 1
    fi
    sleep 0.1
  done
  echo "$tool.sh: $name printed no READY within ${timeout}s; its stderr:" >&2
  tail -n 30 "$work/$name.err" >&2 || true
  return 1
}

field() { # field NAME KEY: the rest of the first line "KEY ..." of NAME's stdout
  sed -n "s/^$2 //p" "$work/$1.out" | head -n 1
}


# start_redis: a redis-server on a free loopback port, no persistence, in $work/redis;
# sets redis_port (empty when it did not start) and redis_pid.
start_redis() {
  mkdir -p "$work/redis"
  redis_port="" redis_pid=""
  local port
  for _ in 1 2 3 4 5; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
      || echo $((20000 + RANDOM % 30000)))
    start redis "$work" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
      --dir "$work/redis" --logfile "$work/redis/redis.log"
    for _ in $(seq 50); do
      if [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]]; then redis_port=$port; break; fi
      sleep 0.1
    done
    [[ -n $redis_port ]] && break
  done
  [[ -n $redis_port ]] && redis_pid=$(cat "$work/redis.pid")
  return 0
}
