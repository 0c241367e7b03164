#!/usr/bin/env bash
# Install the Debian packages needed to build, test and run a throwaway Ceph
# cluster for this project (see ci/cluster.sh).
#
# Usage: ci/install-deps.sh            (as root, or with sudo available)
#
# Idempotent: when every package is already installed it returns at once,
# without calling apt at all.  Otherwise it runs `apt-get update` once and
# installs the missing packages non-interactively (safe with no stdin, CI=true).
set -euo pipefail

PACKAGES=(
    librbd-dev librados-dev python3-rados python3-rbd
    python3-venv python3-dev python3-pip
    ceph-mon ceph-osd ceph-mgr ceph-common
    fio gcc
    nodejs
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "installed" ]]; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#PACKAGES[@]} packages already installed" >&2
    exit 0
fi

echo "install-deps: installing: ${missing[*]}" >&2

SUDO=()
if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo -n)
    else
        echo "install-deps: error: not root and sudo not available; cannot install: ${missing[*]}" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# Another apt run (a second checkout's setup, unattended-upgrades) waits for the locks instead of failing.
LOCK_OPTS=(-o DPkg::Lock::Timeout=900)
APT_OPTS=(-y -q --no-install-recommends "${LOCK_OPTS[@]}"
          -o Dpkg::Options::=--force-confdef
          -o Dpkg::Options::=--force-confold)

"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q "${LOCK_OPTS[@]}" </dev/null >&2
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install "${APT_OPTS[@]}" "${missing[@]}" </dev/null >&2

# Double-check: fail loudly if something still is not installed.
still=()
for pkg in "${missing[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "installed" ]] || still+=("$pkg")
done
if ((${#still[@]})); then
    echo "install-deps: error: still not installed after apt-get: ${still[*]}" >&2
    exit 1
fi
echo "install-deps: done" >&2
