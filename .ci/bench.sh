#!/usr/bin/env bash
# The load and upstream-economy benchmarks once, in smoke mode (issue 15): installs wrk (and curl, taskset),
# builds the bench app and the Rust peer in release, and runs every row for about a
# second — it checks that the benchmark runs and every row answers 2xx; the figures of a
# smoke run mean nothing and no threshold is applied. The Node-based peers (axum-oidc
# and express-openid-connect log in through oidc-provider) run in full runs only.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in wrk curl taskset; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench.sh: installing ${missing[*]} with apt"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    packages=()
    for tool in "${missing[@]}"; do
        case "$tool" in
            taskset) packages+=(util-linux) ;;
            *) packages+=("$tool") ;;
        esac
    done
    $sudo apt-get update
    $sudo apt-get install -y --no-install-recommends "${packages[@]}"
fi
wrk --version 2>&1 | head -1 || true

# The in-process benches compile (benches/steps.rs, divan; bench/instructions.sh runs it).
cargo bench --bench steps --no-run

bash bench/load.sh --smoke \
    --rows health,limit,public,session,me,api,jwt,redis,axum-login \
    --out "${TMPDIR:-/tmp}/bench-smoke.md"

# The upstream-economy benchmark once, in smoke mode (100 connections, 2,000 tokens):
# the same bench-app binary, its economy-* servers, Redis for the two-instance rows.
bash bench/economy.sh --smoke --no-build --out "${TMPDIR:-/tmp}/economy-smoke.md"
