#!/usr/bin/env bash
# The checks of the source build itself, against the module ci/setup.sh built and installed into .venv: setup.py's
# messages, the generated sources and tables, the stub, the project's declarations of newer librbd types against
# the installed librbd.h, the loader's messages (with a stand-in librbd it compiles), the documentation site.
# Everything else runs from the wheel (ci/test-wheel.sh), once per release: .ci/run.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
exec ci/test.sh test_build.py test_layout.py test_api_table.py test_late_types.py test_loading.py test_stubs.py \
    test_docs.py test_subinterpreters.py "$@"
