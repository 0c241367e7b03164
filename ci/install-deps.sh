#!/usr/bin/env bash
# Install the Debian packages needed to build, test and run a throwaway Ceph
# cluster for this project (see ci/cluster.sh).
#
# Usage: ci/install-deps.sh            (as root, or with sudo available)
#        ci/install-deps.sh --runtime  only what a production Ceph host has plus what the test suite needs at
#                                      run time (no compiler, no -dev package): for testing a binary wheel
#                                      (ci/release-root.sh SUITE wheel)
#
# Idempotent: when every package is already installed it returns at once,
# without calling apt at all.  Otherwise it runs `apt-get update` once and
# installs the missing packages non-interactively (safe with no stdin, CI=true).
set -euo pipefail

# A Ceph host's packages and what the suite runs: python3-rbd is the differential tests' oracle, nodejs runs
# pyright (tests/test_stubs.py), binutils' nm reads the module's undefined symbols (tests/test_releases.py).
RUNTIME_PACKAGES=(
    python3-rados python3-rbd python3-venv
    ceph-mon ceph-osd ceph-mgr ceph-common
    nodejs binutils
)
# Building the module (and tests/test_build.py, tests/test_subinterpreters.py), and fio for bench/.
BUILD_PACKAGES=(
    librbd-dev librados-dev python3-dev python3-pip
    fio gcc
)
case "${1:-}" in
    "") PACKAGES=("${RUNTIME_PACKAGES[@]}" "${BUILD_PACKAGES[@]}") ;;
    --runtime) PACKAGES=("${RUNTIME_PACKAGES[@]}") ;;
    *) echo "usage: ci/install-deps.sh [--runtime]" >&2; exit 2 ;;
esac

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
