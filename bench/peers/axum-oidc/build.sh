#!/usr/bin/env bash
# Builds the axum-oidc peer (release; dev when BENCH_PROFILE=dev, as in CI's smoke run)
# into $CARGO_TARGET_DIR (bench/load.sh exports it;
# default <repo>/target/bench), and installs oidc-provider (tests/interop) when missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
repo=$(cd ../../.. && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target/bench}
profile=release
[[ ${BENCH_PROFILE:-} == dev ]] && profile=dev
cargo build --profile "$profile" --quiet --locked
if command -v node >/dev/null && [[ ! -d $repo/tests/interop/node_modules/oidc-provider ]]; then
  npm ci --prefix "$repo/tests/interop" --no-audit --no-fund
fi
