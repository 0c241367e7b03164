#!/usr/bin/env bash
# Run the test suite against a binary wheel (ci/wheel.sh), installed as a user would install it: into a fresh venv
# made with Debian's `/usr/bin/python3 -m venv --system-site-packages` (python3-rados comes from Debian), from the
# wheel alone (`pip install --no-index --only-binary=:all:`), with the suite's own needs (requirements-run.txt)
# from PyPI as binary wheels only.  No compiler, header or Cython is needed.
#
# Usage: ci/test-wheel.sh [--venv DIR] [--runtime-only] WHEEL|DIR [PYTEST ARGS...]
#   WHEEL       the wheel file; or DIR: a directory of wheels, of which pip installs the one for this Python.
#   --venv DIR  the venv to make, relative to the checkout or absolute (default .venv-wheel; made afresh each run,
#               so that nothing of an earlier install remains).  ci/test.sh then tests it (RBD_VENV=DIR).
#   --runtime-only  first make sure that this machine could not have built the module: no C/C++ compiler
#               installed (gcc, g++, clang, cpp, cc/c++ on PATH), no *-dev package, and no Cython importable in
#               the venv; fail if there is.  For the runtime roots (ci/release-root.sh SUITE wheel).
#
# The suite runs from tests/, and must import the wheel's module from the venv (checked before it starts), never
# the source tree's nor Debian's python3-rbd.  Left out: the tests of the source build itself, which need the
# source tree's build products, a compiler or librbd-dev (listed below with the reason for each).  pip run by the
# tests (tests/test_docs_bare.py makes Sphinx venvs) is held to binary wheels too (PIP_ONLY_BINARY).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

PROG=test-wheel.sh
die() { echo "$PROG: error: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }
usage() { sed -n '/^# Usage:/,/^#$/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

venv=.venv-wheel
runtime_only=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --venv) [[ $# -ge 2 ]] || usage; venv=$2; shift 2 ;;
        --venv=*) venv=${1#--venv=}; shift ;;
        --runtime-only) runtime_only=1; shift ;;
        -h|--help) usage ;;
        -*) die "unknown option '$1' (the wheel comes before pytest's arguments)" ;;
        *) break ;;
    esac
done
[[ $# -ge 1 ]] || usage
wheel=$1; shift
[[ -e "$wheel" ]] || die "no wheel '$wheel'"
wheel=$(cd "$(dirname "$wheel")" && echo "$(pwd)/$(basename "$wheel")")
[[ $venv == /* ]] || venv=$top/$venv

# Tests of the source build, not of a module: left out of a wheel's run (the setup stage runs them; .ci/run).
# --ignore takes paths from tests/ (where ci/test.sh runs pytest), --deselect node ids from pytest's rootdir: the
# checkout (the directory of setup.py, as there is no pytest configuration file).
SOURCE_BUILD_TESTS=(
    # setup.py's one-line messages for a missing header / compiler: runs `setup.py build_ext` with cc.
    --ignore=test_build.py
    # The documentation site: ci/docs.sh builds docs/ with Sphinx into the source build's .venv, not this venv.
    --ignore=test_docs.py
    # build/generated/assembled/, written by setup.py when it builds, against src/areas/: a build product.
    --deselect=tests/test_layout.py::test_generated_classes_are_current
    # docs/api-table.md and src/c_rbd.pxd against the installed /usr/include/rbd/librbd.h (librbd-dev).
    --deselect=tests/test_api_table.py::test_api_table_is_current_and_matches_the_header
)
# Tests that need a compiler for a harness of their own: left out where there is none.
COMPILER_TESTS=(
    # compiles the project's later-types declarations against the real librbd.h (librbd-dev): a source-build check.
    --ignore=test_late_types.py
    # compiles a stand-in librbd.so.1 that reports 1.12 (the missing-librbd case of the same file still runs).
    --deselect=tests/test_loading.py::test_librbd_older_than_1_16_is_refused_with_the_versions
)

t0=$(date +%s)
if ((runtime_only)); then
    # Installed compilers and -dev packages (dpkg's view), then anything named like a compiler on PATH.
    found=$(dpkg-query -W -f='${db:Status-Status} ${Package}\n' 2>/dev/null |
            awk '$1 == "installed" {print $2}' |
            grep -E -- '-dev$|^(gcc|g\+\+|cpp|clang|tcc|cython3?)(-[0-9.]+)?$|^(gcc|g\+\+|cpp)(-[0-9]+)?-x86-64-linux-gnu$' || true)
    [[ -z "$found" ]] || die "--runtime-only, but compilers / -dev packages are installed: $(echo $found)"
    for cmd in cc c++ gcc g++ cpp clang tcc x86_64-linux-gnu-gcc; do
        if command -v "$cmd" >/dev/null 2>&1; then die "--runtime-only, but '$cmd' is on PATH: $(command -v "$cmd")"; fi
    done
    log "runtime only: no compiler, no -dev package installed"
fi

log "making $venv (Debian's python3 $(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])'))"
/usr/bin/python3 -m venv --clear --system-site-packages "$venv"
py=$venv/bin/python
# --ignore-installed: the venv sees Debian's python3-rbd (rbd 16.2.15 and up) through the system site-packages,
# and pip would take that for `rbd` already installed.
if [[ -d "$wheel" ]]; then
    "$py" -m pip install -q --no-index --only-binary=:all: --ignore-installed --find-links "$wheel" rbd ||
        die "pip cannot install rbd from $wheel"
else
    "$py" -m pip install -q --no-index --only-binary=:all: --ignore-installed "$wheel" || die "pip cannot install $wheel"
fi
"$py" -m pip install -q --only-binary=:all: -r requirements-run.txt ||
    die "the suite's requirements (requirements-run.txt) do not all install from binary wheels"
if ((runtime_only)); then
    if "$py" -c 'import Cython' 2>/dev/null; then
        die "--runtime-only, but the venv imports Cython ($("$py" -c 'import Cython; print(Cython.__file__)'))"
    fi
fi
# What pip installed into the venv itself (not what the system site-packages hold): exactly one rbd, a wheel.
installed=$("$py" - <<'EOF'
import importlib.metadata as metadata, sysconfig
found = [d for d in metadata.distributions(path=[sysconfig.get_paths()["platlib"]]) if d.metadata["Name"] == "rbd"]
assert len(found) == 1, "rbd installed %d times in the venv" % len(found)
wheel = found[0].read_text("WHEEL") or ""
tags = [line.split(": ", 1)[1] for line in wheel.splitlines() if line.startswith("Tag:")]
assert tags, "rbd in the venv came from no wheel"
print("rbd %s (%s)" % (found[0].version, " ".join(tags)))
EOF
) || die "the venv holds no rbd from a wheel"
log "installed $installed and requirements-run.txt in $(( $(date +%s) - t0 )) s"

# `import rbd` as the suite does it (from tests/) must load the wheel's module from the venv.
(cd tests && "$py" - "$venv") <<'EOF' || die "tests/ does not import the wheel's module"
import os, sys, sysconfig
import rbd
venv = os.path.realpath(sys.argv[1])
where = os.path.realpath(rbd.__file__)
site = os.path.realpath(sysconfig.get_paths()["platlib"])
assert where.startswith(site + os.sep), "rbd is %s, not from %s" % (where, site)
assert not where.startswith("/usr/lib/"), where
print("test-wheel.sh: tests/ imports %s (librbd %s)" % (where, ".".join(map(str, rbd.RBD().version()))),
      file=sys.stderr)
EOF

excluded=("${SOURCE_BUILD_TESTS[@]}")
((runtime_only)) && excluded+=("${COMPILER_TESTS[@]}")
log "running the suite, without: ${excluded[*]}"
export RBD_VENV=$venv PIP_ONLY_BINARY=:all:
exec ci/test.sh "${excluded[@]}" "$@"
