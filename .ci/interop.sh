#!/usr/bin/env bash
# Installs the interop suite's Node packages (oidc-provider) exactly as locked in
# tests/interop/package-lock.json. `.ci/run` calls this before `cargo test`; on CI
# (CI=true) the interop tests fail instead of skipping when this has not run.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v node >/dev/null || { echo "interop: node is not installed (need Node >= 20)" >&2; exit 1; }
command -v npm >/dev/null || { echo "interop: npm is not installed" >&2; exit 1; }
echo "interop: node $(node --version), npm $(npm --version)"

if ! npm ci --prefix tests/interop --no-audit --no-fund; then
    echo "interop: 'npm ci --prefix tests/interop' FAILED; the interop tests cannot run" >&2
    exit 1
fi
# The package must load, not just be on disk.
(cd tests/interop && node --input-type=module -e "await import('oidc-provider')" 2>/dev/null) \
    || { echo "interop: oidc-provider is installed but does not load under $(node --version)" >&2; exit 1; }
echo "interop: oidc-provider $(node -p "require('./tests/interop/node_modules/oidc-provider/package.json').version") ready"
