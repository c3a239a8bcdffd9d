#!/usr/bin/env bash
# Installs what the Redis store tests need: Debian's redis-server. The tests start their
# own servers on free 127.0.0.1 ports (one per test, so a test can stop and restart its
# Redis); on CI (CI=true) a missing redis-server fails them instead of skipping.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
    echo "redis.sh: redis-server already installed"
else
    echo "redis.sh: installing redis-server with apt"
    bash "$(dirname "$0")/apt.sh" redis-server
fi
redis-server --version || { echo "redis.sh: ERROR: redis-server does not run" >&2; exit 1; }
# The package's own service is not needed: stop it if the install started one.
if command -v systemctl >/dev/null 2>&1; then systemctl stop redis-server >/dev/null 2>&1 || true; fi
