#!/usr/bin/env bash
# Builds the axum-login peer (release) into $CARGO_TARGET_DIR (bench/load.sh exports it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
repo=$(cd ../../.. && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target/bench}
cargo build --release --quiet
