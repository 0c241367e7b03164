#!/usr/bin/env bash
# Run the whole test suite against a real throwaway cluster (started by tests/conftest.py, or $CEPH_CONF).
# Extra arguments go to pytest. Needs ci/setup.sh to have run once (CI runs both: see .ci/run).
# RBD_VENV names another venv to test (a path, relative to the checkout or absolute; default .venv), e.g. the
# one ci/test-wheel.sh installs a wheel into: RBD_VENV=.venv-wheel ci/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${RBD_VENV:-.venv}
[[ $venv == /* ]] || venv=$(pwd)/$venv
if [ ! -x "$venv/bin/python" ]; then
    if [ -z "${RBD_VENV:-}" ]; then
        echo "test.sh: no .venv yet: run ci/setup.sh first" >&2
    else
        echo "test.sh: no venv at $venv (RBD_VENV): make it with ci/test-wheel.sh or ci/setup.sh" >&2
    fi
    exit 2
fi
# Run from tests/ so that `import rbd` finds the installed module, never the source tree. The interpreter by its
# absolute path: Python 3.14 warns when a venv's python is started through a path with "..".
cd tests
# A test still running after 15 minutes has hung (a dead OSD makes librbd wait forever): pytest-timeout prints
# every thread's stack and ends the run, instead of CI waiting out its 90 minutes.
exec "$venv/bin/python" -m pytest -p no:cacheprovider -q --timeout=900 --timeout-method=thread "$@"
