#!/usr/bin/env bash
# Run the whole test suite against a real throwaway cluster (started by tests/conftest.py, or $CEPH_CONF).
# Extra arguments go to pytest. Needs ci/setup.sh to have run once (CI runs both: see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    echo "test.sh: no .venv yet: run ci/setup.sh first" >&2
    exit 2
fi
# Run from tests/ so that `import rbd` finds the installed module, never the source tree. The interpreter by its
# absolute path: Python 3.14 warns when a venv's python is started through a path with "..".
root=$(pwd)
cd tests
# A test still running after 15 minutes has hung (a dead OSD makes librbd wait forever): pytest-timeout prints
# every thread's stack and ends the run, instead of CI waiting out its 90 minutes.
exec "$root/.venv/bin/python" -m pytest -p no:cacheprovider -q --timeout=900 --timeout-method=thread "$@"
