#!/usr/bin/env bash
# Build the documentation site (Sphinx, pinned in docs/requirements.txt) into docs/_build/html, warnings as
# errors. autodoc imports the module, so ci/setup.sh must have built and installed it into .venv first.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    echo "docs.sh: no .venv yet: run ci/setup.sh first" >&2
    exit 2
fi
.venv/bin/python -m pip install -q -r docs/requirements.txt
rm -rf docs/_build
exec .venv/bin/python -m sphinx -b html -W --keep-going -q docs docs/_build/html
