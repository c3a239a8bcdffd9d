#!/usr/bin/env bash
# Installs what the browser end-to-end suite (tests/browser.rs) needs: Debian's chromium
# and chromium-driver. Skips the install when both binaries are already there; fails
# loudly when they cannot be installed. Called by .ci/run; run it alone with
#   bash .ci/browser.sh && cargo test --all-features --test browser
set -euo pipefail

have_chromium() { [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; }
have_driver() { command -v chromedriver >/dev/null 2>&1 || [ -x /usr/bin/chromedriver ]; }

if have_chromium && have_driver; then
    echo "browser.sh: chromium and chromedriver already installed"
else
    echo "browser.sh: installing chromium and chromium-driver with apt"
    if ! bash "$(dirname "$0")/apt.sh" chromium chromium-driver; then
        echo "browser.sh: ERROR: the browser end-to-end tests cannot run" >&2
        exit 1
    fi
    if ! have_chromium || ! have_driver; then
        echo "browser.sh: ERROR: chromium or chromedriver still missing after the install" >&2
        exit 1
    fi
fi

chromium_bin=/usr/bin/chromium
[ -x "$chromium_bin" ] || chromium_bin="$(command -v chromium)"
driver_bin="$(command -v chromedriver || echo /usr/bin/chromedriver)"
# The Debian launcher script prints a harmless shell warning on some machines; keep
# only the version line.
"$chromium_bin" --version 2>/dev/null || { echo "browser.sh: ERROR: $chromium_bin does not run" >&2; exit 1; }
"$driver_bin" --version || { echo "browser.sh: ERROR: $driver_bin does not run" >&2; exit 1; }
