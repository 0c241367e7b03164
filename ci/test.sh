#!/usr/bin/env bash
# Run the whole test suite against a real throwaway cluster (started by tests/conftest.py, or $CEPH_CONF).
# Extra arguments go to pytest. Needs ci/setup.sh to have run once (CI runs both: see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    echo "test.sh: no .venv yet: run ci/setup.sh first" >&2
    exit 2
fi
# Run from tests/ so that `import rbd` finds the installed module, never the source tree.
cd tests
exec ../.venv/bin/python -m pytest -p no:cacheprovider -q "$@"
