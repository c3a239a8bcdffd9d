#!/usr/bin/env bash
# Type-checks the fuzz targets in fuzz/ on stable (the targets reach crate internals
# through the `fuzzing` feature, so API changes can break them): the workspace member
# axum-oauth-login-fuzz with `--cfg fuzzing`, as cargo-fuzz compiles it. Runs nothing and
# instruments nothing; the libFuzzer-instrumented nightly build and bounded runs of every
# target are fuzz/run.sh's.
#
# .ci/run does not call this: its clippy step checks the fuzz member the same way
# (`-- --cfg fuzzing`). This script is the quick check by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# A check does not link, so libfuzzer-sys need not compile libFuzzer's C++ sources: a
# custom library path makes its build script only print link flags (never used here).
export CUSTOM_LIBFUZZER_PATH="${CUSTOM_LIBFUZZER_PATH:-/nonexistent/libfuzzer.a}"
start=$SECONDS
cargo clippy --locked -p axum-oauth-login-fuzz --bins -- --cfg fuzzing -D warnings
echo "==> fuzz targets checked in $((SECONDS - start)) s"
