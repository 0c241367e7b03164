#!/usr/bin/env bash
# Set everything up on a fresh Debian 12 machine and run the documentation example:
#   Debian packages (ci/install-deps.sh), a venv at .venv that sees python3-rados (--system-site-packages),
#   this module built and installed into it, a throwaway cluster, examples/quickstart.py, and the cluster stopped.
# Idempotent: run it again after changing the sources to rebuild. --no-demo skips the cluster and the example.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ "$(id -u)" = 0 ]; then
    ci/install-deps.sh
else
    sudo ci/install-deps.sh
fi

if [ ! -x .venv/bin/python ]; then
    /usr/bin/python3 -m venv --system-site-packages .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements-test.txt
# A fresh build tree: setuptools would otherwise pack what an earlier layout left in build/lib.* into the wheel.
rm -rf build/lib.* build/bdist.*
.venv/bin/python -m pip install -q --no-build-isolation --force-reinstall --no-deps .
(cd /tmp && "$root/.venv/bin/python" -c 'import rbd, sys; assert not rbd.__file__.startswith("/usr/lib/"), rbd.__file__; print("built", rbd.__file__)')

if [ "${1:-}" = "--no-demo" ]; then
    exit 0
fi
state=$(mktemp -d /tmp/rbd-demo-cluster.XXXXXX)
trap 'ci/cluster.sh stop "$state" >/dev/null 2>&1 || true' EXIT
conf=$(ci/cluster.sh start "$state")
CEPH_CONF="$conf" .venv/bin/python examples/quickstart.py rbd
