#!/usr/bin/env bash
# Installs the express-openid-connect peer's packages (npm ci, from package-lock.json) and
# oidc-provider (tests/interop) when they are missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
repo=$(cd ../../.. && pwd)
command -v node >/dev/null || exit 0 # run.sh reports SKIP
[[ -d node_modules/express-openid-connect ]] || npm ci --no-audit --no-fund
[[ -d $repo/tests/interop/node_modules/oidc-provider ]] || npm ci --prefix "$repo/tests/interop" --no-audit --no-fund
