#!/usr/bin/env bash
# Installs the Debian packages CI needs, with one `apt-get update` for all of them, and
# only when something is missing:
#   bash .ci/apt.sh                      # everything .ci/run needs
#   bash .ci/apt.sh redis-server wrk     # these packages only
# Each package is named with the command that proves it is there; a package whose
# command is already on PATH is not installed again. .ci/run calls this once before the
# other installers (browser.sh, redis.sh, bench.sh), which then find everything in place;
# run alone, each of them calls it for its own packages.
set -euo pipefail

# package -> the command it provides
declare -A provides=(
    [chromium]=chromium
    [chromium-driver]=chromedriver
    [redis-server]=redis-server
    [wrk]=wrk
    [curl]=curl
    [util-linux]=taskset
    [pkg-config]=pkg-config
)
# packages without a command: the file that proves them
declare -A files=(
    [libssl-dev]=/usr/include/openssl/ssl.h
)
packages=("$@")
if [ ${#packages[@]} -eq 0 ]; then
    # libssl-dev, pkg-config: the `native-tls` feature (OpenSSL) in --all-features builds
    packages=(chromium chromium-driver redis-server wrk curl util-linux libssl-dev pkg-config)
fi

missing=()
for p in "${packages[@]}"; do
    cmd="${provides[$p]:-$p}"
    if [ "$p" = chromium ] && [ -x /usr/bin/chromium ]; then continue; fi
    if [ "$p" = chromium-driver ] && [ -x /usr/bin/chromedriver ]; then continue; fi
    if [ -n "${files[$p]:-}" ]; then
        [ -e "${files[$p]}" ] || missing+=("$p")
        continue
    fi
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "apt.sh: already installed: ${packages[*]}"
    exit 0
fi

echo "apt.sh: installing ${missing[*]} with apt"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get update \
    || ! $sudo apt-get install -y --no-install-recommends "${missing[@]}"; then
    echo "apt.sh: ERROR: apt-get could not install ${missing[*]}" >&2
    exit 1
fi
