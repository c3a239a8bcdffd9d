#!/usr/bin/env bash
# Builds the axum-login peer (release; dev when BENCH_PROFILE=dev, as in CI's smoke run)
# into $CARGO_TARGET_DIR (bench/load.sh exports it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
repo=$(cd ../../.. && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target/bench}
profile=release
[[ ${BENCH_PROFILE:-} == dev ]] && profile=dev
cargo build --profile "$profile" --quiet --locked
