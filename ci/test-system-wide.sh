#!/usr/bin/env bash
# The README's "host's rbd" install, tested: the wheel installed into Debian's system dist-packages
# (/usr/lib/python3/dist-packages/rbd/, beside python3-rbd's rbd.cpython-*.so, which a package directory of the
# same name shadows), then tests/test_mgr.py, whose throwaway cluster's ceph-mgr uses its stock module path and
# must map this install, not Debian's module.  Everything installed is removed on exit, whatever happened, and
# Debian's module must be what `import rbd` finds again.
#
# Why that directory and not /usr/local: ceph-mgr 16 derives its Python prefix from its working directory (it
# names its program with an unexpanded macro), so started from / as systemd starts it, its modules' path holds
# /local/lib/python3.11/dist-packages and /lib/python3/dist-packages: an install in /usr/local is never seen.
#
# Usage: ci/test-system-wide.sh WHEEL|DIR [PYTEST ARGS...]
#   as root, on a machine with Ceph's daemons and python3-rbd; DIR: a directory of wheels, of which pip installs the
#   one for this Python.  .ci/run runs it on the host (Ceph 16); `ci/release-root.sh SUITE wheel` in the runtime
#   roots, where test_mgr.py skips (the stock mgr modules fail there with Debian's module too) after checking
#   that a module which imported rbd before failing got this one.
set -euo pipefail
PROG=test-system-wide.sh
die() { echo "$PROG: error: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }

[[ $# -ge 1 ]] || { sed -n '/^# Usage:/p' "$0" | sed 's/^# //' >&2; exit 2; }
[[ -e "$1" ]] || die "no wheel '$1'"
wheel=$(realpath -- "$1"); shift          # relative to the caller's directory
if [[ -d "$wheel" ]]; then what=(--find-links "$wheel" rbd); else what=("$wheel"); fi
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || die "must run as root: it installs into the system's dist-packages"

site=/usr/lib/python3/dist-packages
venv=.venv-system
[[ -e $site/rbd ]] && die "$site/rbd exists already (an earlier install?); remove it: rm -r $site/rbd $site/rbd-*.dist-info"

# Which file `import rbd` loads for the system's python3, started from / in isolated mode (no cwd, no PYTHON*).
system_rbd() { (cd / && /usr/bin/python3 -I -c 'import rbd; print(rbd.__file__)'); }
debian_rbd=$(system_rbd) || die "the system's python3 cannot import Debian's python3-rbd"
[[ $debian_rbd == "$site"/rbd.cpython-*.so ]] || die "the system's rbd is $debian_rbd, not python3-rbd's module"

uninstall() {
    rm -rf "$site/rbd" "$site"/rbd-*.dist-info
    local now
    now=$(system_rbd) || { echo "$PROG: error: python3 no longer imports rbd after the uninstall" >&2; return 1; }
    [[ $now == "$debian_rbd" ]] || { echo "$PROG: error: after the uninstall rbd is $now" >&2; return 1; }
    log "uninstalled; the system's rbd is Debian's again ($now)"
}
trap 'uninstall || exit 1' EXIT

# The venv only runs pytest; its own pip installs the wheel (the host need not have python3-pip).
/usr/bin/python3 -m venv --clear --system-site-packages "$venv"
"$venv/bin/python" -m pip install -q --only-binary=:all: -r requirements-run.txt ||
    die "the suite's requirements (requirements-run.txt) do not all install from binary wheels"
"$venv/bin/python" -m pip install -q --no-index --only-binary=:all: --no-deps --target "$site" "${what[@]}" ||
    die "pip cannot install $wheel into $site"
installed=$(system_rbd) || die "the system's python3 cannot import the installed wheel"
[[ $installed == "$site"/rbd/__init__.*so ]] || die "after the install the system's rbd is $installed"
log "installed into $site: the system's python3 imports $installed"

RBD_VENV=$venv ci/test.sh test_mgr.py "$@"
