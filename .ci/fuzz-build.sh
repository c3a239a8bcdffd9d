#!/usr/bin/env bash
# Builds the fuzz targets in fuzz/ (a compile check: the targets reach crate internals
# through the `fuzzing` feature, so API changes can break them). Runs nothing; for a
# bounded run of every target see fuzz/run.sh.
#
# Uses `cargo fuzz build` (debug profile, no sanitizer: the quickest build that is still
# libFuzzer-instrumented) when cargo-fuzz is installed, else plain cargo with the same
# `--cfg fuzzing` and coverage flags, so CI needs nothing beyond a nightly toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "==> installing the nightly toolchain (minimal profile)"
    rustup toolchain install nightly --profile minimal
fi

start=$SECONDS
if cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "==> cargo +nightly fuzz build --dev --sanitizer none"
    cargo +nightly fuzz build --dev --sanitizer none
else
    echo "==> cargo-fuzz not installed: cargo +nightly build with cargo-fuzz's flags"
    host="$(rustc +nightly -vV | sed -n 's/^host: //p')"
    # `--target` keeps the instrumentation off build scripts and proc macros.
    RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cdebug-assertions" \
        cargo +nightly build --manifest-path fuzz/Cargo.toml --bins --target "$host" \
        --target-dir fuzz/target
fi
echo "==> fuzz targets built in $((SECONDS - start)) s"
