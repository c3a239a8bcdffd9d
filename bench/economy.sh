#!/usr/bin/env bash
# Upstream economy (issue 15, item 4): what a burst of requests costs the provider, and
# what the user cache holds. The load comes from wrk (outside the servers' processes);
# the servers are `bench-app economy-*` (bench/app/src/economy.rs) and count.
#
#   bash bench/economy.sh            # 1,000 connections; 100,000 distinct tokens
#   bash bench/economy.sh --smoke    # 100 connections; 2,000 tokens (CI: plumbing only)
#   options: --connections N  --tokens N  --duration S  --no-build  --out FILE
#            --only "2b 3"   (the tables to run; default all: 1 2 2b 3)
#
# Tables:
#   1. userinfo calls for ONE new token, N connections hitting `BearerUser` at once (the
#      mock answers that first call 300 ms late, so the burst piles up behind it); one
#      instance and two (each its own OAuth, its own user cache), and two sharing a user
#      cache in Redis (`shared_user_cache`).
#   2. refresh calls for ONE session at expiry, N connections on `/me` at once (the mock
#      answers the refresh 300 ms late); cookie and Redis stores, one and two instances.
#   2b. cookie sessions on two instances with rotating refresh tokens: the pre-refresh
#      cookie at both instances, inside the refresh window and after expiry, with and
#      without a shared store (Redis) to coordinate through.
#   3. N distinct tokens through `BearerUser` (a userinfo stub in its own process answers
#      any token): cache entries held and the server's RSS, with the cache sized for them
#      and with the default bound (10,000).
#
# Environment: CARGO_TARGET_DIR and BENCH_PROFILE (as load.sh),
# BENCH_SERVER_CPU / BENCH_LOAD_CPU (default 0 / 1).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
die() { echo "economy.sh: $*" >&2; exit 2; }

connections=1000 tokens=100000 duration=3 build=1 out="" sections="1 2 2b 3"
while [[ $# -gt 0 ]]; do
  case $1 in
    --smoke) connections=100 tokens=2000 duration=1; shift ;;
    --connections) connections=$2; shift 2 ;;
    --tokens) tokens=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --out) out=$2; shift 2 ;;
    --only) sections=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
for v in connections tokens duration; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "--$v must be a positive integer"
done

command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
command -v curl >/dev/null || die "curl is not installed (apt-get install curl)"
pin_server=() pin_load=()
if command -v taskset >/dev/null && [[ $(nproc --all) -ge 2 ]]; then
  pin_server=(taskset -c "${BENCH_SERVER_CPU:-0}")
  pin_load=(taskset -c "${BENCH_LOAD_CPU:-1}")
fi
# 1,000 connections need 1,000 sockets on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
((connections + 64 < $(ulimit -n))) || die "--connections $connections needs more open files than ulimit -n allows ($(ulimit -n))"

tool=economy
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

app=$app_bin
if [[ $build == 1 ]]; then
  build_app
fi
[[ -x $app ]] || die "$app is missing (run without --no-build)"

report=$work/report.md
say() { printf '%s\n' "$*" | tee -a "$report"; }
wants() { [[ " $sections " == *" $1 "* ]]; }

# burst URL-HEADER PAIRS...: one wrk per "url|header" pair, all at once, the connections
# split between them; prints "requests non2xx" summed over the runs.
burst() {
  local n=$# i=0 spec
  local per=$((connections / n))
  for spec in "$@"; do
    "${pin_load[@]}" wrk -t1 -c"$per" -d"${duration}s" --timeout 10s -H "${spec#*|}" "${spec%%|*}" \
      >"$work/wrk.$i" 2>&1 &
    i=$((i + 1))
  done
  wait_jobs
  awk '/requests in/ { r += $1 } /Non-2xx or 3xx responses:/ { e += $NF }
       END { printf "%d %d\n", r, e }' "$work"/wrk.*
  rm -f "$work"/wrk.*
}
wait_jobs() { # the wrk runs started by burst (not the servers: those are setsid groups)
  local j
  for j in $(jobs -p); do
    if ! [[ " ${groups[*]} " == *" $j "* ]]; then wait "$j" || true; fi
  done
}
json() { # json URL KEY: a number from a control endpoint's JSON
  curl -sS --max-time 10 "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}
stop() { stop_group "$(cat "$work/$1.pid")"; } # stop NAME: one started process
start_flights() { # start_flights ARGS...: economy-flights; sets ctl to its control URL
  start flights "$here" "$app" economy-flights "$@"
  await flights 60 || die "economy-flights did not start"
  ctl=$(field flights READY)
}
burst_instances() { # burst_instances PATH HEADER: one burst on PATH of every instance
  local specs=() base
  while read -r base; do specs+=("$base$1|$2"); done < <(sed -n 's/^INSTANCE [0-9]* //p' "$work/flights.out")
  burst "${specs[@]}"
}
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

say "# Upstream economy ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'))"
say ""
say "wrk from outside the servers; $connections connections for ${duration} s per burst; server on CPU ${BENCH_SERVER_CPU:-0}, wrk on CPU ${BENCH_LOAD_CPU:-1}."
say ""

have_redis() { # have_redis SKIP_ROW: true when Redis runs; else says SKIP_ROW (on CI: dies)
  [[ -n $redis_url ]] && return 0
  [[ ${CI:-} == true ]] && die "redis-server is not installed or did not start"
  say "$1"
  return 1
}

redis_url=""
if command -v redis-server >/dev/null; then
  start_redis
  [[ -n $redis_port ]] && redis_url="redis://127.0.0.1:$redis_port/"
fi

# ------------------------------------------------------------- 1. userinfo calls
if wants 1; then
say "## 1. One new token, $connections connections at once → userinfo calls"
say ""
say "| instances | shared user cache | requests | non-2xx | userinfo calls |"
say "|---:|---|---:|---:|---:|"
for row in "1 none" "2 none" "2 redis"; do
  read -r n users <<<"$row"
  users_args=()
  if [[ $users == redis ]]; then
    have_redis "| $n | redis | – | – | skipped: no redis-server |" || continue
    users_args=(--users "$redis_url")
  fi
  start_flights --instances "$n" "${users_args[@]}"
  token=$(curl -sS --max-time 10 -X POST "$ctl/ctl/token")
  read -r requests errors < <(burst_instances /api/me "Authorization: Bearer $token")
  say "| $n | $users | $requests | $errors | $(json "$ctl/ctl/stats" userinfo) |"
  stop flights
done
say ""

fi
# ------------------------------------------------------------- 2. refresh calls
if wants 2; then
say "## 2. One session at expiry, $connections connections at once → refresh calls"
say ""
say "| store | instances | requests | non-2xx | refresh calls |"
say "|---|---:|---:|---:|---:|"
for store in cookie redis; do
  store_args=()
  if [[ $store == redis ]]; then
    have_redis "| redis | – | – | – | skipped: no redis-server |" || continue
    store_args=(--store "$redis_url")
  fi
  for n in 1 2; do
    start_flights --instances "$n" "${store_args[@]}"
    cookie=$(curl -sS --max-time 10 -X POST "$ctl/ctl/login")
    [[ $cookie == oauth_session=* ]] || die "login failed: $cookie"
    curl -sS --max-time 10 -X POST "$ctl/ctl/expire" >/dev/null
    read -r requests errors < <(burst_instances /me "Cookie: $cookie")
    say "| $store | $n | $requests | $errors | $(json "$ctl/ctl/stats" refresh) |"
    stop flights
  done
done
say ""

fi
# ------------------------------------------------- 2b. cookie sessions, rotating
if wants 2b; then
say "## 2b. Cookie sessions on two instances, rotating refresh tokens: one session due, $connections connections at once"
say ""
say "The burst sends the pre-refresh cookie to both instances (another tab, a parallel XHR)."
say "\`window\`: the access token is still valid (inside the refresh window); \`expired\`: it is not."
say ""
say "| shared store | token | requests | non-2xx | refresh calls |"
say "|---|---|---:|---:|---:|"
for shared in none redis; do
  shared_args=()
  if [[ $shared == redis ]]; then
    have_redis "| redis | – | – | – | skipped: no redis-server |" || continue
    shared_args=(--shared "$redis_url")
  fi
  for when in window expired; do
    start_flights --instances 2 "${shared_args[@]}"
    cookie=$(curl -sS --max-time 10 -X POST "$ctl/ctl/login")
    [[ $cookie == oauth_session=* ]] || die "login failed: $cookie"
    query=""; [[ $when == window ]] && query="?window"
    curl -sS --max-time 10 -X POST "$ctl/ctl/expire$query" >/dev/null
    read -r requests errors < <(burst_instances /me "Cookie: $cookie")
    say "| $shared | $when | $requests | $errors | $(json "$ctl/ctl/stats" refresh) |"
    stop flights
  done
done
say ""

fi
# ------------------------------------------------------------- 3. cache and RSS
if wants 3; then
say "## 3. $tokens distinct tokens through \`BearerUser\` → cache entries and server RSS"
say ""
say "| user cache | requests | non-2xx | userinfo calls | entries held | RSS before | RSS after | peak RSS |"
say "|---|---:|---:|---:|---:|---:|---:|---:|"
cat >"$work/distinct.lua" <<'LUA'
-- Token i on request i; after the last distinct one, stop (the thread's connections
-- may have sent a few more: those repeat tokens already seen).
local n = tonumber(os.getenv("TOKENS"))
local sent, done = 0, 0
request = function()
  sent = sent + 1
  local t = ((sent - 1) % n) + 1
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer econ-" .. t })
end
response = function()
  done = done + 1
  if done >= n then wrk.thread:stop() end
end
LUA
# The stub shares the load core: it is the provider, not what is measured.
pin_keep=("${pin_server[@]}")
pin_server=("${pin_load[@]}")
start stub "$here" "$app" economy-stub
pin_server=("${pin_keep[@]}")
await stub 60 || die "economy-stub did not start"
stub_url=$(field stub READY)
for sized in yes no; do
  calls_before=$(json "$stub_url/stats" userinfo)
  if [[ $sized == yes ]]; then
    start cache "$here" "$app" economy-cache --upstream "$stub_url" --capacity "$tokens"
    label="sized for them ($tokens)"
  else
    start cache "$here" "$app" economy-cache --upstream "$stub_url"
    label="default bound (10,000)"
  fi
  await cache 60 || die "economy-cache did not start"
  base=$(field cache READY)
  pid=$(cat "$work/cache.pid")
  # taskset execs the app: the group leader's pid is the server's.
  before=$(kib "$pid" VmRSS)
  # wrk has no request count: the script stops sending after the last distinct token,
  # and wrk is interrupted (it then prints its summary) once the stub has seen them all.
  TOKENS=$tokens "${pin_load[@]}" wrk -t1 -c64 -d600s --timeout 10s -s "$work/distinct.lua" "$base/api/me" >"$work/wrk.cache" 2>&1 &
  wrk_pid=$!
  for _ in $(seq 6000); do
    (($(json "$stub_url/stats" userinfo) - calls_before >= tokens)) && break
    kill -0 "$wrk_pid" 2>/dev/null || break
    sleep 0.1
  done
  sleep 0.5
  kill -INT "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" || true
  read -r requests errors < <(awk '/requests in/ { r = $1 } /Non-2xx or 3xx responses:/ { e = $NF }
    END { printf "%d %d\n", r, e }' "$work/wrk.cache")
  calls=$(($(json "$stub_url/stats" userinfo) - calls_before))
  entries=$(json "$base/ctl/stats" cached_users)
  say "| $label | $requests | $errors | $calls | $entries | $(mib "$before") | $(mib "$(kib "$pid" VmRSS)") | $(mib "$(kib "$pid" VmHWM)") |"
  stop cache
done
say ""
fi

if [[ -n $out ]]; then cp "$report" "$out"; echo "economy.sh: written to $out" >&2; fi
