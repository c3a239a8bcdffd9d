#!/usr/bin/env bash
# The load benchmark (issue 15): wrk from outside the server's process, server and load
# generator pinned to separate cores, every row in alternating rounds, medians.
#
#   bash bench/load.sh                       # 3 rounds of 10 s per row (the full run)
#   bash bench/load.sh --smoke               # 1 round of ~1 s per row, no warm-up (CI)
#   bash bench/load.sh --rounds 5 --duration 15 --rows limit,me,axum-login
#
# Options:
#   --smoke           1 round, 1 s per row, no warm-up; checks that everything runs
#   --rounds N        rounds (default 3; at least 3 for figures you quote)
#   --duration S      seconds of load per row and round (default 10)
#   --warmup S        seconds of unreported load per row before round 1 (default 2; 0 in smoke)
#   --rows a,b,c      only these rows (names below; peers by directory name)
#   --connections N   wrk connections (default 32)
#   --threads N       wrk threads (default 1: one load core)
#   --no-build        do not run cargo / the peers' build.sh (use what was built)
#   --out FILE        write the table there (default bench/results/<UTC timestamp>.md)
#
# Environment: CARGO_TARGET_DIR (default <repo>/target; the bench app and the Rust peers
# are built there), BENCH_PROFILE (cargo profile of the bench app: bench-app, the default,
# for figures; dev for a quick smoke build; the peers build in dev or else release),
# BENCH_SERVER_CPU (default 0), BENCH_LOAD_CPU (default 1),
# BENCH_PEER_TIMEOUT (seconds a peer may take to print READY, default 300).
#
# Rows (all served by one bench-app process, bench/app, except redis and the peers):
#   health    /health      static JSON bytes, no layer: HTTP only
#   limit     /limit/me    the user held in memory serialised to JSON, no layer: THE LIMIT
#   public    /public      the OAuth layer on a public route, same handler as limit
#   session   /session/me  layer + RequireLogin + AuthSession (the session's user snapshot)
#   me        /me          layer + RequireLogin + BearerUser from the session (example's /me)
#   api       /api/me      layer + BearerUser from `Authorization: Bearer` (user cache hit)
#   jwt       /jwt/me      layer + BearerUser from a JWT access token checked locally;
#                          its × limit is against limit-jwt when that row runs
#   limit-jwt /limit/jwt   the JWT's user (/jwt/me's 413-byte body) serialised, no layer,
#                          sent the same Authorization header: the jwt row's own limit
#   dpop      /dpop/me     the jwt row's layer + BearerUser from `Authorization: DPoP` with
#                          a fresh proof per request (a JWT bound by cnf.jkt); the proofs
#                          are signed by `bench-app dpop-proofs` right before each run of
#                          the row (not timed) and sent one per request by wrk's script
#   redis     /me          the `me` row with sessions in Redis (a second bench-app process
#                          with --store, and a throwaway redis-server): a round trip per
#                          request, reported but not held to the ratio
#   <peer>    its /me      every bench/peers/<peer>/ with an executable run.sh
# Cookie rows send the session cookie (the limit, health and public rows too, where it is
# ignored); the api, jwt and limit-jwt rows send only their Authorization header.
#
# PEER INTERFACE. A peer is a directory bench/peers/<name>/ (the row is named <name>):
#   build.sh  optional, executable: run once before the rounds, NOT pinned, from the
#             peer's directory, with CARGO_TARGET_DIR exported; may take minutes
#             (compile, npm ci). Exit non-zero = the row fails. Skipped with --no-build.
#   run.sh    executable: started as `setsid taskset -c $BENCH_SERVER_CPU ./run.sh` from
#             the peer's directory (so it and everything it starts are pinned to the
#             server core and in one process group). It starts the peer's server and
#             prints on stdout, in this order:
#               PID <pid>            optional: the server's process, for its peak RSS
#                                    (without it, run.sh's own pid is used: `exec` the
#                                    server last, or print PID)
#               HEADER <Name: value> zero or more: request headers wrk sends on every
#                                    request (e.g. `HEADER Cookie: id=...`)
#               READY <url>          the full URL of its /me; after this line the peer
#                                    must answer 2xx there with the user as JSON
#             or `SKIP <reason>` (and exit) when it cannot run here (e.g. no Node): the
#             row is reported as skipped, not failed. Then it keeps serving until killed:
#             the script sends SIGTERM to its process group (SIGKILL 5 s later).
#             stderr goes to a log shown when the peer fails. run.sh gets the
#             environment above plus BENCH_PEER_DIR (its directory).
#
# Output: a markdown table on stdout and in bench/results/<timestamp>.md. Per row: the
# median requests/s over the rounds (and each round's), the median p50 and p99 latency
# (wrk --latency, corrected for coordinated omission as wrk does), the median over rounds
# of (requests/s / the limit row's requests/s in the same round), and the peak RSS
# (VmHWM) of the row's server process at the end of the run. Exit status: non-zero when
# a row failed (wrong status, errors, a server that did not start); no thresholds.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

rounds=3
duration=10
warmup=2
warmup_set=0
smoke=0
only=""
connections=32
threads=1
build=1
out=""

die() { echo "load.sh: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --rounds) rounds=${2:?--rounds needs N}; shift ;;
    --duration) duration=${2:?--duration needs seconds}; shift ;;
    --warmup) warmup=${2:?--warmup needs seconds}; warmup_set=1; shift ;;
    --rows) only=${2:?--rows needs a,b,c}; shift ;;
    --connections) connections=${2:?--connections needs N}; shift ;;
    --threads) threads=${2:?--threads needs N}; shift ;;
    --no-build) build=0 ;;
    --out) out=${2:?--out needs a file}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
if [[ $smoke == 1 ]]; then
  rounds=1; duration=1
  [[ $warmup_set == 1 ]] || warmup=0
fi
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[[ $duration =~ ^[1-9][0-9]*$ ]] || die "--duration must be a positive integer (seconds)"
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup must be a whole number of seconds"

server_cpu=${BENCH_SERVER_CPU:-0}
load_cpu=${BENCH_LOAD_CPU:-1}
peer_timeout=${BENCH_PEER_TIMEOUT:-300}
export BENCH_SERVER_CPU=$server_cpu BENCH_LOAD_CPU=$load_cpu

command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
command -v curl >/dev/null || die "curl is not installed (apt-get install curl)"
# Pinning: server on one core, wrk on another. Without taskset or a second core the
# figures mean little; say so loudly and go on (smoke runs still check the plumbing).
pin_server=() pin_load=() pinning="server on CPU $server_cpu, wrk on CPU $load_cpu (taskset)"
if command -v taskset >/dev/null && [[ $(nproc --all) -ge 2 ]]; then
  pin_server=(taskset -c "$server_cpu")
  pin_load=(taskset -c "$load_cpu")
else
  pinning="NOT PINNED (taskset missing or fewer than 2 CPUs): figures are not comparable"
  echo "load.sh: WARNING: $pinning" >&2
fi

wanted() { # wanted ROW: selected by --rows (all when none given)?
  [[ -z $only ]] && return 0
  [[ ",$only," == *",$1,"* ]]
}

tool=load
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

# ---------------------------------------------------------------------------- rows
declare -a rows=()
declare -A url=() headers=() pid_of=() desc=() status=()
add_row() { # add_row NAME URL PID DESCRIPTION HEADER-LINES
  rows+=("$1"); url[$1]=$2; pid_of[$1]=$3; desc[$1]=$4; headers[$1]=$5; status[$1]=ok
}
fail_row() { # fail_row NAME REASON
  if [[ -z ${status[$1]:-} ]]; then rows+=("$1"); desc[$1]=""; fi
  status[$1]="failed: $2"
  echo "load.sh: row $1 FAILED: $2" >&2
}
skip_row() {
  if [[ -z ${status[$1]:-} ]]; then rows+=("$1"); desc[$1]=""; fi
  status[$1]="skipped: $2"
  echo "load.sh: row $1 skipped: $2" >&2
}

in_app_rows=(health limit public session me api jwt limit-jwt dpop)
need_app=0
for r in "${in_app_rows[@]}"; do wanted "$r" && need_app=1; done
need_redis=0
wanted redis && need_redis=1
peers=()
for d in "$here"/peers/*/; do
  [[ -x $d/run.sh ]] || continue
  p=$(basename "$d")
  wanted "$p" && peers+=("$p")
done
if [[ -n $only ]]; then
  for r in ${only//,/ }; do
    case " ${in_app_rows[*]} redis ${peers[*]} " in
      *" $r "*) ;;
      *) die "unknown row $r (rows: ${in_app_rows[*]} redis and the peers under bench/peers/)" ;;
    esac
  done
fi

# ---------------------------------------------------------------------------- build
t_start=$SECONDS
if [[ $build == 1 ]] && ((need_app + need_redis > 0)); then
  build_app
fi
if ((need_app + need_redis > 0)) && [[ ! -x $app_bin ]]; then
  die "$app_bin is missing (run without --no-build)"
fi
declare -A peer_failed=()
if [[ $build == 1 ]]; then
  for p in "${peers[@]}"; do
    if [[ -x $here/peers/$p/build.sh ]]; then
      echo "load.sh: building peer $p" >&2
      if ! (cd "$here/peers/$p" && BENCH_PEER_DIR="$here/peers/$p" ./build.sh >&2); then
        peer_failed[$p]="build.sh failed"
      fi
    fi
  done
fi
t_built=$SECONDS

# ---------------------------------------------------------------------------- servers
cookie_bytes="—"
if ((need_app)); then
  start app "$here" "$app_bin" --port 0
  await app 60 || die "bench-app did not start"
  base=$(field app READY)
  cookie=$(field app COOKIE)
  bearer=$(field app BEARER)
  jwt=$(field app JWT)
  dpop_jwt=$(field app DPOP_JWT)
  cookie_bytes=$(field app COOKIE_BYTES)
  app_pid=$(cat "$work/app.pid")
  c="Cookie: $cookie"
  wanted health && add_row health "$base/health" "$app_pid" "static JSON bytes, no layer (HTTP only)" "$c"
  wanted limit && add_row limit "$base/limit/me" "$app_pid" "user in memory → JSON, no layer (**the limit**)" "$c"
  wanted public && add_row public "$base/public" "$app_pid" "layer on a public route, same handler as limit" "$c"
  wanted session && add_row session "$base/session/me" "$app_pid" "layer + RequireLogin + AuthSession snapshot → JSON" "$c"
  wanted me && add_row me "$base/me" "$app_pid" "layer + RequireLogin + BearerUser from the session (example's /me)" "$c"
  wanted api && add_row api "$base/api/me" "$app_pid" "layer + BearerUser from a Bearer header (cache hit)" "Authorization: Bearer $bearer"
  wanted jwt && add_row jwt "$base/jwt/me" "$app_pid" "layer + BearerUser from a JWT access token checked locally" "Authorization: Bearer $jwt"
  wanted dpop && add_row dpop "$base/dpop/me" "$app_pid" "layer + BearerUser from Authorization: DPoP, a fresh ES256 proof per request" "Authorization: DPoP $dpop_jwt"
  wanted limit-jwt && add_row limit-jwt "$base/limit/jwt" "$app_pid" "the JWT's user in memory → JSON, no layer (**the jwt row's limit**: same body and header)" "Authorization: Bearer $jwt"
fi

redis_pid=""
if ((need_redis)); then
  if ! command -v redis-server >/dev/null; then
    if [[ ${CI:-} == true ]]; then
      fail_row redis "redis-server is not installed (apt-get install redis-server)"
    else
      skip_row redis "redis-server is not installed (apt-get install redis-server)"
    fi
  else
    start_redis
    if [[ -z $redis_port ]]; then
      fail_row redis "redis-server did not start: $(tail -n 3 "$work/redis/redis.log" 2>/dev/null)"
    else
      start app-redis "$here" "$app_bin" --port 0 --store "redis://127.0.0.1:$redis_port/"
      if await app-redis 60; then
        add_row redis "$(field app-redis READY)/me" "$(cat "$work/app-redis.pid")" \
          "the \`me\` row with sessions in Redis (a round trip per request; not held to the ratio)" \
          "Cookie: $(field app-redis COOKIE)"
      else
        fail_row redis "bench-app --store did not start"
      fi
    fi
  fi
fi

for p in "${peers[@]}"; do
  if [[ -n ${peer_failed[$p]:-} ]]; then fail_row "$p" "${peer_failed[$p]}"; continue; fi
  name="peer-$p"
  export BENCH_PEER_DIR="$here/peers/$p"
  start "$name" "$here/peers/$p" ./run.sh
  pgid=$(cat "$work/$name.pid")
  rc=0; await "$name" "$peer_timeout" || rc=$?
  if [[ $rc == 3 ]]; then skip_row "$p" "$(field "$name" SKIP)"; continue; fi
  if [[ $rc != 0 ]]; then fail_row "$p" "run.sh printed no READY"; continue; fi
  ppid_=$(field "$name" PID); [[ -n $ppid_ ]] || ppid_=$pgid
  add_row "$p" "$(field "$name" READY)" "$ppid_" "peer: bench/peers/$p" "$(sed -n 's/^HEADER //p' "$work/$name.out")"
done

# ---------------------------------------------------------------------------- check
# proofs ROW COUNT: COUNT fresh DPoP proofs for ROW's URL and token, in $work/proofs.
proofs() {
  "$app_bin" dpop-proofs "$dpop_jwt" "${url[$1]}" "$2" "$work/proofs" 2>>"$work/proofs.err"
}
# One request per row: 2xx, and the body size (the same user everywhere).
declare -A body_bytes=()
hdr_args() { # hdr_args ROW PREFIX: the row's headers as "PREFIX" "line" pairs
  local line
  while IFS= read -r line; do
    [[ -n $line ]] && printf '%s\0%s\0' "$2" "$line"
  done <<<"${headers[$1]}"
}
for r in "${rows[@]}"; do
  [[ ${status[$r]} == ok ]] || continue
  mapfile -d '' -t h < <(hdr_args "$r" -H)
  if [[ $r == dpop ]]; then
    proofs dpop 1 || { fail_row dpop "bench-app dpop-proofs failed"; continue; }
    h+=(-H "DPoP: $(head -n 1 "$work/proofs")")
  fi
  code=$(curl -sS -o "$work/body" -w '%{http_code}' --max-time 10 "${h[@]}" "${url[$r]}" 2>"$work/curl.err") || code=000
  if [[ $code != 2* ]]; then
    fail_row "$r" "GET ${url[$r]} answered $code: $(head -c 200 "$work/body" 2>/dev/null; cat "$work/curl.err")"
    continue
  fi
  body_bytes[$r]=$(wc -c <"$work/body")
done

# ---------------------------------------------------------------------------- load
cat >"$work/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %.1f %.1f %d %d\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
LUA
# The dpop row: one proof per request from the pool (a pool too small to last the run
# sends a proof twice, which the server refuses: the row then fails, loudly).
{ cat <<'LUA'
local proofs, n, i = {}, 0, 0
init = function(args)
  for line in io.lines(os.getenv("DPOP_PROOFS")) do n = n + 1; proofs[n] = line end
end
request = function()
  i = i % n + 1
  wrk.headers["DPoP"] = proofs[i]
  return wrk.format()
end
LUA
  cat "$work/report.lua"; } >"$work/dpop.lua"

# load ROW SECONDS: one wrk run; sets $result to "rps p50_us p99_us", or fails the row
# and returns 1.
load() {
  local r=$1 secs=$2 line n us p50 p99 bad errs script="$work/report.lua"
  result=""
  mapfile -d '' -t h < <(hdr_args "$r" -H)
  if [[ $r == dpop ]]; then
    # Far more than one core can check in $secs (~15,000/s in the bench-app profile; a
    # dev build, the smoke run's, checks far fewer), signed now (not timed).
    local per_sec=40000
    [[ $BENCH_PROFILE == dev || $BENCH_PROFILE == test ]] && per_sec=10000
    proofs dpop $((secs * per_sec)) || { fail_row dpop "bench-app dpop-proofs failed"; return 1; }
    script="$work/dpop.lua"
  fi
  if ! DPOP_PROOFS="$work/proofs" "${pin_load[@]}" wrk -t"$threads" -c"$connections" -d"${secs}s" --latency \
      -s "$script" "${h[@]}" "${url[$r]}" >"$work/wrk.out" 2>&1; then
    fail_row "$r" "wrk failed: $(tail -n 3 "$work/wrk.out" | tr '\n' ' ')"
    return 1
  fi
  line=$(grep '^RESULT ' "$work/wrk.out" | tail -n 1 || true)
  [[ -n $line ]] || { fail_row "$r" "no wrk result: $(tail -n 3 "$work/wrk.out" | tr '\n' ' ')"; return 1; }
  read -r _ n us p50 p99 bad errs <<<"$line"
  if ((n == 0 || bad > 0 || errs > 0)); then
    fail_row "$r" "$n requests, $bad non-2xx/3xx responses, $errs socket errors"
    return 1
  fi
  result=$(awk -v n="$n" -v us="$us" -v a="$p50" -v b="$p99" 'BEGIN { printf "%.1f %s %s\n", n / (us / 1e6), a, b }')
}

active() { local r; for r in "${rows[@]}"; do [[ ${status[$r]} == ok ]] && echo "$r"; done; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
if ((warmup > 0)); then
  echo "load.sh: warm-up, ${warmup}s per row" >&2
  for r in $(active); do load "$r" "$warmup" || true; done
fi
: >"$work/results"
for ((round = 1; round <= rounds; round++)); do
  for r in $(active); do
    if load "$r" "$duration"; then
      echo "$round $r $result" >>"$work/results"
      echo "load.sh: round $round/$rounds $r: $result (req/s p50_us p99_us)" >&2
    fi
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------- report
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
lat() { awk -v u="$1" 'BEGIN { if (u == "") print "—"; else if (u < 1000) printf "%.0f µs\n", u; else printf "%.2f ms\n", u / 1000 }'; }
rss() { # peak RSS of a pid in MiB, or —
  local kb
  kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true)
  [[ -n $kb ]] && awk -v k="$kb" 'BEGIN { printf "%.1f MiB\n", k / 1024 }' || echo "—"
}
declare -A rss_of=()
for r in "${rows[@]}"; do [[ -n ${pid_of[$r]:-} ]] && rss_of[$r]=$(rss "${pid_of[$r]}"); done
redis_rss=""; [[ -n $redis_pid ]] && redis_rss=$(rss "$redis_pid")

[[ -n $out ]] || { mkdir -p "$here/results"; out="$here/results/$(date -u +%Y%m%dT%H%M%SZ).md"; }
failed=0
{
  echo "# Load benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
  dirty=$(git -C "$repo" status --porcelain 2>/dev/null | grep -q . && echo " (uncommitted changes)" || true)
  echo "- commit: $commit$dirty"
  echo "- machine: $(nproc --all) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), $(uname -sr)"
  echo "- $pinning; wrk $(wrk -v 2>&1 | head -n 1 | awk '{ print $2 }'), -t$threads -c$connections, ${duration}s per row and round, $rounds round(s), ${warmup}s warm-up$([[ $smoke == 1 ]] && echo ', **smoke run: the figures mean nothing**')"
  echo "- load average before / after: $load_before / $load_after"
  if awk -v l="${load_before%% *}" 'BEGIN { exit !(l >= 1.0) }'; then
    echo "- **WARNING: the machine was busy (load average ${load_before%% *} before the run): these figures are not worth quoting**"
  fi
  echo "- session cookie: $cookie_bytes bytes; rows alternate within each round; medians over rounds; ×limit is the median of the per-round ratios"
  echo
  # The median over rounds of (row's requests/s / base row's in the same round), or "—".
  ratio_of() {
    local v
    v=$(awk -v r="$1" -v b="$2" '$2 == b { l[$1] = $3 } $2 == r { v[$1] = $3 } END { for (k in v) if (l[k] > 0) print v[k] / l[k] }' "$work/results" | median)
    [[ -n $v ]] && printf '%.2f' "$v" || echo "—"
  }
  echo "| row | requests/s | per round | p50 | p99 | × limit | peak RSS | body | what |"
  echo "|---|---:|---|---:|---:|---:|---:|---:|---|"
  for r in "${rows[@]}"; do
    if [[ ${status[$r]} != ok ]]; then
      [[ ${status[$r]} == failed* ]] && failed=1
      echo "| $r | — | — | — | — | — | — | — | ${status[$r]} |"
      continue
    fi
    rps=$(awk -v r="$r" '$2 == r { print $3 }' "$work/results" | median)
    per=$(awk -v r="$r" '$2 == r { v = $3; f = v >= 10000 ? sprintf("%.0fk", v / 1000) : v >= 1000 ? sprintf("%.1fk", v / 1000) : sprintf("%.0f", v); printf "%s%s", sep, f; sep = " " }' "$work/results")
    p50=$(awk -v r="$r" '$2 == r { print $4 }' "$work/results" | median)
    p99=$(awk -v r="$r" '$2 == r { print $5 }' "$work/results" | median)
    ratio=$(ratio_of "$r" limit)
    [[ -n $rps ]] && rps=$(printf '%.0f' "$rps") || rps="—"
    echo "| $r | $rps | ${per:-—} | $(lat "$p50") | $(lat "$p99") | $ratio | ${rss_of[$r]:-—} | ${body_bytes[$r]:-—} B | ${desc[$r]} |"
  done
  echo
  echo "Peak RSS is VmHWM of the row's server process at the end of the run: rows health to limit-jwt"
  echo "share one bench-app process; redis has its own bench-app$([[ -n $redis_rss ]] && echo " (redis-server itself: $redis_rss)"); each peer its own process."
  echo "p50/p99 are wrk's (corrected for coordinated omission); the api, jwt and limit-jwt rows send only"
  echo "their Authorization header, the other bench-app rows the session cookie."
  if [[ ${status[dpop]:-} == ok && ${status[limit-jwt]:-} == ok ]]; then
    echo
    echo "**dpop × limit-jwt** (a DPoP-bound JWT and a proof per request, against the JWT's user without auth; the dpop row's requests also carry the ~560-byte proof): $(ratio_of dpop limit-jwt); **dpop × jwt** (the same token as Bearer): $(ratio_of dpop jwt)."
  fi
  if [[ ${status[jwt]:-} == ok && ${status[limit-jwt]:-} == ok ]]; then
    p99_jwt=$(awk '$2 == "jwt" { print $5 }' "$work/results" | median)
    p99_base=$(awk '$2 == "limit-jwt" { print $5 }' "$work/results" | median)
    echo
    echo "**jwt × limit-jwt** (the same handler, body and Authorization header without auth): $(ratio_of jwt limit-jwt); p99 $(awk -v a="$p99_jwt" -v b="$p99_base" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "—" }')× limit-jwt's."
  fi
} >"$out"
cat "$out"
echo >&2
echo "load.sh: written to $out (build $((t_built - t_start))s, total $((SECONDS - t_start))s)" >&2
exit "$failed"
