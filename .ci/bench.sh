#!/usr/bin/env bash
# The load and upstream-economy benchmarks once, in smoke mode (issue 15): installs wrk (and curl, taskset),
# builds the bench app and the Rust peer in the dev profile, and runs every row for about a
# second — it checks that the benchmark runs and every row answers 2xx; the figures of a
# smoke run mean nothing and no threshold is applied. The Node-based peers (axum-oidc
# and express-openid-connect log in through oidc-provider) run in full runs only.
set -euo pipefail
cd "$(dirname "$0")/.."

# wrk, curl and taskset (.ci/run has installed them already with one apt-get update).
bash .ci/apt.sh wrk curl util-linux
wrk --version 2>&1 | head -1 || true

# The in-process benches (benches/steps.rs, divan; bench/instructions.sh runs them) are
# type-checked by .ci/run's clippy step (--workspace --all-targets), not built here.

# The smoke run builds the bench app and the Rust peer in the dev profile (the figures of a
# smoke run mean nothing; a release build with LTO took minutes): BENCH_PROFILE=dev.
export BENCH_PROFILE=dev
bash bench/load.sh --smoke \
    --rows health,limit,public,session,me,api,jwt,redis,axum-login \
    --out "${TMPDIR:-/tmp}/bench-smoke.md"

# The upstream-economy benchmark once, in smoke mode (100 connections, 2,000 tokens):
# the same bench-app binary, its economy-* servers, Redis for the two-instance rows.
bash bench/economy.sh --smoke --no-build --out "${TMPDIR:-/tmp}/economy-smoke.md"
