#!/usr/bin/env bash
# A bounded run of every fuzz target: FUZZ_SECONDS each (default 30), then a summary of
# executions, corpus size and crashes per target.
#
#   FUZZ_SECONDS=60 bash fuzz/run.sh            # all targets
#   FUZZ_SECONDS=600 bash fuzz/run.sh cookie    # some targets
#
# Corpora grow in fuzz/corpus/<target>, crashes land in fuzz/artifacts/<target>; both
# are git-ignored. Exits non-zero when a target crashed.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-30}"
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=(cookie callback_query bearer token_json)
fi

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install cargo-fuzz --locked || exit 1
fi

# A few seeds per target, so the first seconds are not spent finding the basic shapes.
seed() {
    local dir="fuzz/corpus/$1"
    shift
    mkdir -p "$dir"
    local i=0
    for s in "$@"; do
        printf '%b' "$s" >"$dir/seed-$i"
        i=$((i + 1))
    done
}
seed cookie '\x00oauth_session=abc' '\x01AAAA' '\x02' '\x02\x00\x00\x10A' '\x03abcdef'
seed callback_query 'code=abc&state=xyz' 'return_to=%2Forders%3Fpage%3D2' \
    'return_to=/..//x' 'return_to=/%2fx&return_to=/y' 'error=access_denied&state=s'
seed bearer 'Bearer abc.DEF-123_~+/==' 'bearer  abc' 'Basic dXNlcjpwdw==' 'Bearer a\nBearer b'
seed token_json '{"access_token":"a","token_type":"bearer","expires_in":60}' \
    '{"access_token":"a","expires_in":"60","created_at":1565876581,"scope":["a","b"]}' \
    '{"active":"true","exp":"17","sub":42,"username":"a@b.c"}' \
    '{"sub":1001,"type":"staff","email":"o@example.com","brand_theme":{"c":"#fff"}}'

declare -A dict=([callback_query]=return_to [bearer]=bearer [token_json]=json)

echo "==> building the fuzz targets"
cargo +nightly fuzz build || exit 1

status=0
summary=()
for t in "${targets[@]}"; do
    log="fuzz/artifacts/$t.log"
    mkdir -p "fuzz/artifacts/$t"
    args=(-max_total_time="$seconds" -print_final_stats=1)
    if [[ -n "${dict[$t]:-}" ]]; then
        args+=(-dict="fuzz/dicts/${dict[$t]}.dict")
    fi
    echo "==> $t: ${seconds}s"
    marker="fuzz/artifacts/$t.start"
    touch "$marker"
    cargo +nightly fuzz run "$t" -- "${args[@]}" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    mapfile -t new < <(find "fuzz/artifacts/$t" -type f -newer "$marker")
    rm -f "$marker"
    if [[ $rc -eq 0 ]]; then
        found="no crash"
    else
        status=1
        found="CRASH (exit $rc, ${#new[@]} new artifact(s)); log: $log"
        grep -m2 -A1 -E "panicked at|ERROR: libFuzzer" "$log" | sed 's/^/    /'
        for a in "${new[@]}"; do
            echo "    input $a:"
            od -An -c "$a" | head -8 | sed 's/^/      /'
        done
    fi
    summary+=("$(printf '%-15s %12s execs %8s/s  corpus %5s  %s' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "$found")")
done

echo
echo "==> summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
exit "$status"
