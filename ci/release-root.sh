#!/usr/bin/env bash
# Build and test this project on later Debian releases from any Debian host: Debian 13 "trixie" (Ceph 18) and
# sid (Ceph 20), each in a minimal root of its own made with `debootstrap --variant=minbase`, exactly as a new
# user of that system would: the README's two commands, `ci/setup.sh` then `ci/test.sh`, in a fresh copy of
# the checkout.
#
# Usage:
#   ci/release-root.sh SUITE [PYTEST ARGS...]
#       SUITE is trixie or sid.  Makes the root if needed, copies this checkout fresh into it (no .venv), and
#       there runs `ci/setup.sh` (packages, venv, build, demo) then `ci/test.sh PYTEST ARGS`.
#   ci/release-root.sh SUITE run [--src DIR] [--clean] -- CMD [ARGS...]
#       For developers: copies DIR (default: this checkout) into the root and runs CMD from the top of the
#       copy, e.g. `... sid run --src /work/wt/me -- ci/setup.sh --no-demo`, then `... -- ci/test.sh -x -q
#       test_foo.py`.  The sources are replaced on every run; the copy's .venv is kept (so pip does not
#       start over) unless --clean.  Each DIR has its own copy (named after its path), so several coexist;
#       two runs of the same DIR wait for each other.
#   ci/release-root.sh SUITE shell [--src DIR]    an interactive shell in that copy (same environment).
#   ci/release-root.sh SUITE make                 only make (or finish) the root and configure it.
#   ci/release-root.sh SUITE wheel WHEEL|DIR [PYTEST ARGS...]
#       The suite against a binary wheel (ci/wheel.sh) on a machine that could not have built it: a root of its
#       own, SUITE-runtime (made the same way, sharing the .debs cache, the build root's downloaded packages
#       reused), holding only what a production Ceph host has plus what the tests run (`ci/install-deps.sh
#       --runtime`: ceph-mon ceph-osd ceph-mgr ceph-common python3-rados python3-rbd python3-venv nodejs
#       binutils): no compiler, no -dev package, no Cython, which `ci/test-wheel.sh --runtime-only` asserts before
#       it tests.  A fresh copy of this checkout gets the wheel (or DIR's wheels, of which pip takes the one for
#       the root's Python) in its wheelhouse/; there `ci/test-wheel.sh --runtime-only --venv .venv` installs it
#       with `pip install --no-index --only-binary=:all:` into a fresh .venv, the suite's requirements
#       (requirements-run.txt) from PyPI as binary wheels only, and runs ci/test.sh PYTEST ARGS without the tests
#       of the source build (listed in ci/test-wheel.sh).  Without PYTEST ARGS (the whole suite), then the
#       README's host install as well: `ci/test-system-wide.sh` installs the wheel into the root's
#       /usr/lib/python3/dist-packages, runs test_mgr.py against it, and removes it.
#   SUITE-runtime (trixie-runtime, sid-runtime) as SUITE with make, run and shell: that runtime root.
#
# What is copied: the files git knows of (tracked, and untracked but not ignored) in DIR's working tree, or
# everything but .git when DIR is not a git checkout; never .venv, build/ or compiled *.so files.  The copy
# lives at /srv/rbd-copies/NAME inside the root.
#
# The command runs with a clean environment: `chroot`, HOME=/root, LANG=C.UTF-8, a normal PATH (pass more
# with `env VAR=VALUE CMD`).  /proc, /sys, /dev (with /dev/pts and /dev/shm) are mounted in a private mount
# namespace of this run: they vanish with it on any exit, never show in the host's mount table, and two
# runs at once do not see each other's.  Processes left in that namespace when the command ends (a daemon
# a failed test did not stop) are ended by their id.
#
# The root (default /var/cache/rbd-release-roots/SUITE, ~1 GB each after the packages) is made once and then
# reused; a file `.rbd-release-root-complete` marks it complete, so a half-made root is removed and made
# again.  Made from the host's Debian mirror (first non-security `debian` URI in /etc/apt/sources.list*),
# debootstrap is installed on the host if missing.  Configured for unattended use: apt ignores Release
# files past their Valid-Until date (the sid archive's can be), waits for the dpkg lock instead of failing,
# policy-rc.d exits 101 so maintainer scripts start no daemons, and the host's resolv.conf, hosts and CA
# certificates (pip needs the latter: PyPI may be reached through a TLS-inspecting proxy) are copied in.
#
# Environment knobs:
#   RBD_RELEASE_ROOTS   folder holding the roots (default /var/cache/rbd-release-roots)
#   RBD_RELEASE_MIRROR  Debian mirror URL (default: the host's, else http://deb.debian.org/debian)
set -euo pipefail

PROG=release-root.sh
log() { echo "$PROG: $*" >&2; }
die() { echo "$PROG: error: $*" >&2; exit 1; }
usage() { sed -n '/^# Usage:/,/^# What is copied/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

HERE=$(cd "$(dirname "$0")/.." && pwd)
ROOTS=${RBD_RELEASE_ROOTS:-/var/cache/rbd-release-roots}
MARKER=.rbd-release-root-complete
COPIES=/srv/rbd-copies             # inside the root
CLEAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

now() { date +%s; }
t_start=$(now)
took() { echo "$(( $(now) - $1 )) s"; }

[[ $EUID -eq 0 ]] || die "must run as root (debootstrap, chroot and mounts need it)"
[[ $# -ge 1 ]] || usage
case "$1" in
    trixie|sid|trixie-runtime|sid-runtime) SUITE=$1 ;;
    -h|--help|help) usage ;;
    *) die "unknown SUITE '$1' (trixie or sid)" ;;
esac
shift
# `SUITE wheel ...` runs in the runtime root.  SUITE names the root (its folder, lock and logs); DIST the Debian
# release debootstrap makes it from.
[[ "${1:-}" == wheel && "$SUITE" != *-runtime ]] && SUITE=$SUITE-runtime
DIST=${SUITE%-runtime}
ROOT=$ROOTS/$SUITE

# ---------------------------------------------------------------- making the root

host_mirror() {
    [[ -z "${RBD_RELEASE_MIRROR:-}" ]] || { echo "$RBD_RELEASE_MIRROR"; return; }
    local f url
    # deb822 files: "URIs: URL ..."; one-line files: "deb [opts] URL suite ...".
    for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -r "$f" ]] || continue
        url=$(awk '/^[[:space:]]*URIs:/ {for (i = 2; i <= NF; i++) print $i}
                   /^[[:space:]]*deb[[:space:]]/ {for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) {print $i; break}}' "$f" |
              grep -E '/debian/?$' | head -n 1 || true)
        [[ -n "$url" ]] && { echo "${url%/}"; return; }
    done
    echo http://deb.debian.org/debian
}

# Any mount below the root in this (the host's) namespace?  Then removing it would be a disaster.
mounts_below() { awk -v r="$1/" 'index($5 "/", r) == 1 {print $5}' /proc/self/mountinfo; }

make_root() {
    local t0 mirror; t0=$(now)
    if [[ -e "$ROOT" ]]; then
        [[ -z "$(mounts_below "$ROOT")" ]] || die "something is mounted below $ROOT: $(mounts_below "$ROOT")"
        log "$ROOT is incomplete (no $MARKER): removing it"
        rm -rf --one-file-system -- "$ROOT"
    fi
    if ! command -v debootstrap >/dev/null 2>&1; then
        log "installing debootstrap on the host"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 debootstrap </dev/null >&2 ||
            { apt-get update -q -o DPkg::Lock::Timeout=600 </dev/null >&2 &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 debootstrap </dev/null >&2; } ||
            die "could not install debootstrap"
    fi
    mirror=$(host_mirror)
    log "making a $SUITE root in $ROOT from $mirror (debootstrap --variant=minbase $DIST)"
    mkdir -p "$ROOTS/.debs-$DIST"
    if ! debootstrap --variant=minbase --cache-dir="$ROOTS/.debs-$DIST" "$DIST" "$ROOT" "$mirror" \
            </dev/null >"$ROOTS/$SUITE.debootstrap.log" 2>&1; then
        tail -n 30 "$ROOTS/$SUITE.debootstrap.log" >&2 || true
        tail -n 30 "$ROOT/debootstrap/debootstrap.log" >&2 2>/dev/null || true
        die "debootstrap failed (log: $ROOTS/$SUITE.debootstrap.log)"
    fi
    printf 'suite=%s\nmirror=%s\nmade=%s\n' "$DIST" "$mirror" "$(date -u +%FT%TZ)" >"$ROOT/$MARKER"
    log "root made in $(took "$t0")"
}

# write_file PATH [MODE]: stdin -> PATH atomically (a run in progress never sees half a file).
write_file() {
    local tmp; tmp=$(mktemp "$1.XXXXXX")
    cat >"$tmp"
    chmod "${2:-644}" "$tmp"
    mv -f "$tmp" "$1"
}

# Idempotent; done on every run so that a change here reaches old roots, and the host's network files stay
# current.
configure_root() {
    mkdir -p "$ROOT/etc/apt/apt.conf.d" "$ROOT/usr/sbin" "$ROOT/etc/ssl/certs" "$ROOT$COPIES"
    write_file "$ROOT/etc/apt/apt.conf.d/90rbd-release-root" <<'EOF'
// ci/release-root.sh: the sid archive's Release file can be past its Valid-Until date; wait for the dpkg
// lock instead of failing when two runs install at once.
Acquire::Check-Valid-Until "false";
DPkg::Lock::Timeout "900";
EOF
    # Maintainer scripts must not start daemons in the root (they would run on the host's network).
    write_file "$ROOT/usr/sbin/policy-rc.d" 755 <<'EOF'
#!/bin/sh
exit 101
EOF
    local f
    for f in /etc/resolv.conf /etc/hosts; do
        [[ -r "$f" ]] && write_file "$ROOT$f" <"$f"
    done
    # The host's CA bundle, under a name of its own: the root's ca-certificates package (pulled in by
    # python3-pip) rewrites /etc/ssl/certs/ca-certificates.crt without the host's local CAs.
    if [[ -r /etc/ssl/certs/ca-certificates.crt ]]; then
        write_file "$ROOT/etc/ssl/host-ca-certificates.crt" </etc/ssl/certs/ca-certificates.crt
        [[ -e "$ROOT/etc/ssl/certs/ca-certificates.crt" ]] ||
            write_file "$ROOT/etc/ssl/certs/ca-certificates.crt" </etc/ssl/certs/ca-certificates.crt
        write_file "$ROOT/etc/pip.conf" <<'EOF'
# ci/release-root.sh: the host's CA certificates (see there)
[global]
cert = /etc/ssl/host-ca-certificates.crt
EOF
    fi
}

# Hold a shared lock on the root for the whole run (so nobody remakes it meanwhile); make it under an
# exclusive one if it is not complete.
prepare_root() {
    mkdir -p "$ROOTS"
    exec 8>"$ROOTS/$SUITE.lock"
    flock -s 8
    if [[ ! -e "$ROOT/$MARKER" ]]; then
        flock -u 8
        if ! flock -xn 8; then
            log "waiting for the other runs of the $SUITE root to end (lock $ROOTS/$SUITE.lock)"
            flock -x 8
        fi
        [[ -e "$ROOT/$MARKER" ]] || make_root
        flock -s 8
    fi
    configure_root
    seed_apt_cache
}

# A runtime root downloads what its build root already has: hard links to the build root's downloaded .debs
# (apt checks each against the archive's index before using it, and fetches what changed since).
seed_apt_cache() {
    local from=$ROOTS/$DIST/var/cache/apt/archives to=$ROOT/var/cache/apt/archives n
    [[ "$SUITE" == *-runtime && -d "$from" ]] || return 0
    mkdir -p "$to"
    n=$(find "$from" -maxdepth 1 -name '*.deb' | wc -l)
    ((n)) || return 0
    find "$from" -maxdepth 1 -name '*.deb' -exec cp -n -l -t "$to" -- {} + 2>/dev/null ||
        find "$from" -maxdepth 1 -name '*.deb' -exec cp -n -t "$to" -- {} +
    log "offered the $DIST build root's $n downloaded packages to apt in $SUITE"
}

# ---------------------------------------------------------------- the copy of the sources

# List the files to copy (NUL-separated, relative to $1).
source_files() {
    local src=$1
    if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$src" && git ls-files -z --cached --others --exclude-standard) |
            (cd "$src" && while IFS= read -r -d '' f; do
                 [[ -e "$f" || -L "$f" ]] && printf '%s\0' "$f"   # tracked but deleted: skip
             done)
    else
        (cd "$src" && find . -name .git -prune -o \( -type f -o -type l \) -print0)
    fi | grep -zvE '(^|/)(\.venv|build)/|\.so$|(^|/)__pycache__/'
}

copy_name() { # DIR -> a name for its copy: its absolute path with / turned into _
    local p=${1#/}
    p=${p//\//_}
    echo "${p:-root}"
}

# copy_sources SRC NAME CLEAN(0|1): fills $ROOT$COPIES/NAME; keeps its .venv unless CLEAN.
copy_sources() {
    local src=$1 dest=$ROOT$COPIES/$2 clean=$3 f
    mkdir -p "$dest"
    if ((clean)); then
        find "$dest" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system -- {} +
    else
        find "$dest" -mindepth 1 -maxdepth 1 ! -name .venv -exec rm -rf --one-file-system -- {} +
    fi
    source_files "$src" | tar -C "$src" --null --no-recursion -T - -cf - | tar -C "$dest" -xf -
    log "copied $(find "$dest" -path "$dest/.venv" -prune -o -type f -print | wc -l) files of $src to $ROOT$COPIES/$2"
}

# ---------------------------------------------------------------- running inside

NS_FILE=""
# End what is left in our mount namespace (a daemon a failed test did not stop), by pid.
end_leftovers() {
    [[ -n "$NS_FILE" && -s "$NS_FILE" ]] || return 0
    local ns pid pids=() i
    ns=$(cat "$NS_FILE")
    for f in /proc/[0-9]*/ns/mnt; do
        pid=${f#/proc/}; pid=${pid%/ns/mnt}
        [[ "$(readlink "$f" 2>/dev/null)" == "$ns" ]] && pids+=("$pid")
    done
    ((${#pids[@]})) || return 0
    log "ending processes left in the root: ${pids[*]} ($(cat /proc/"${pids[0]}"/comm 2>/dev/null || true) ...)"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "${pids[@]}" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
}

# in_root DIR_INSIDE CMD...: runs CMD in the root, from DIR_INSIDE, with a clean environment, in a private
# mount namespace holding the root's /proc, /sys and /dev mounts.
in_root() {
    local cwd=$1; shift
    NS_FILE=$(mktemp /tmp/rbd-release-root-ns.XXXXXX)
    trap 'rc=$?; end_leftovers; rm -f "$NS_FILE"; exit $rc' EXIT
    trap 'exit 130' INT TERM HUP
    local term=()
    [[ -n "${TERM:-}" ]] && term=(TERM="$TERM")
    unshare --mount --propagation private -- /bin/bash -euc '
        root=$1 ns_file=$2 cwd=$3; shift 3
        readlink /proc/self/ns/mnt >"$ns_file"
        mount -t proc proc "$root/proc"
        mount --rbind /sys "$root/sys"
        mount --bind /dev "$root/dev"
        mount --bind /dev/pts "$root/dev/pts"
        mkdir -p "$root/dev/shm"
        mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
        exec chroot "$root" /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$cwd" "$@"
    ' bash "$ROOT" "$NS_FILE" "$cwd" \
        env -i HOME=/root LANG=C.UTF-8 PATH="$CLEAN_PATH" "${term[@]}" "$@"
}

# Lock a copy for the run: two runs of one DIR wait for each other.
lock_copy() {
    exec 7>"$ROOT$COPIES/$1.lock"
    if ! flock -n 7; then
        log "another run uses $ROOT$COPIES/$1; waiting"
        flock 7
    fi
}

cmd_run() { # [--src DIR] [--clean] [--shell] -- CMD...
    local src=$HERE clean=0 shell=0
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --src) [[ $# -ge 2 ]] || die "--src needs a directory"; src=$2; shift 2 ;;
            --src=*) src=${1#--src=}; shift ;;
            --clean) clean=1; shift ;;
            --shell) shell=1; shift ;;
            --) shift; break ;;
            *) die "run: unknown option '$1' (the command goes after --)" ;;
        esac
    done
    [[ -d "$src" ]] || die "no directory '$src'"
    src=$(cd "$src" && pwd)
    if ((shell)); then set -- /bin/bash -i; fi
    [[ $# -ge 1 ]] || die "run: no command (ci/release-root.sh $SUITE run [--src DIR] -- CMD...)"
    prepare_root
    local name; name=$(copy_name "$src")
    lock_copy "$name"
    copy_sources "$src" "$name" "$clean"
    log "running in $SUITE: $*"
    in_root "$COPIES/$name" "$@"
}

cmd_wheel() { # WHEEL|DIR [PYTEST ARGS...]
    [[ $# -ge 1 ]] || usage
    local wheel=$1 wheels=() arg name dest t0 rc=0; shift
    if [[ -d "$wheel" ]]; then
        shopt -s nullglob
        wheels=("$wheel"/*.whl)
        shopt -u nullglob
        ((${#wheels[@]})) || die "no *.whl in $wheel"
        arg=wheelhouse
    else
        [[ -f "$wheel" && "$wheel" == *.whl ]] || die "no wheel file '$wheel'"
        wheels=("$wheel")
        arg=wheelhouse/$(basename "$wheel")
    fi
    prepare_root
    name="wheel-$(copy_name "$HERE")"
    lock_copy "$name"
    copy_sources "$HERE" "$name" 1
    dest=$ROOT$COPIES/$name
    mkdir -p "$dest/wheelhouse"
    cp -- "${wheels[@]}" "$dest/wheelhouse/"
    log "wheels for $SUITE: $(cd "$dest/wheelhouse" && echo *.whl)"
    in_root "$COPIES/$name" /bin/bash -c '
        t=$(date +%s)
        ci/install-deps.sh --runtime || { echo "release-root: ci/install-deps.sh --runtime failed" >&2; exit 1; }
        echo "release-root: runtime packages took $(( $(date +%s) - t )) s" >&2
        t=$(date +%s); rc=0
        ci/test-wheel.sh --runtime-only --venv .venv "$@" || rc=$?
        echo "release-root: ci/test-wheel.sh (venv, install, suite) took $(( $(date +%s) - t )) s (exit $rc)" >&2
        (($# == 1)) || exit $rc
        # The whole suite ran: then the README host install too (test_mgr.py against the system-wide wheel).
        t=$(date +%s); rc2=0
        ci/test-system-wide.sh "$1" -rs || rc2=$?
        echo "release-root: ci/test-system-wide.sh took $(( $(date +%s) - t )) s (exit $rc2)" >&2
        exit $(( rc ? rc : rc2 ))' bash "$arg" "$@" || rc=$?
    log "$SUITE: done in $(took "$t_start") (exit $rc)"
    exit $rc
}

case "${1:-}" in
    wheel)
        shift; cmd_wheel "$@" ;;
    make)
        [[ $# -eq 1 ]] || usage
        prepare_root
        log "$SUITE root ready: $ROOT ($(cat "$ROOT/etc/debian_version"))" ;;
    run)
        shift; cmd_run "$@" ;;
    shell)
        shift; cmd_run --shell "$@" ;;
    *)
        # The README's two commands, as a new user: a fresh copy (no .venv), then setup and the suite.
        [[ "$SUITE" != *-runtime ]] ||
            die "$SUITE is for wheels (ci/release-root.sh $DIST wheel WHEEL): ci/setup.sh would install a compiler there"
        prepare_root
        name="ci-$(copy_name "$HERE")"
        lock_copy "$name"
        t0=$(now)
        copy_sources "$HERE" "$name" 1
        rc=0
        in_root "$COPIES/$name" /bin/bash -c '
            t=$(date +%s)
            ci/setup.sh || { echo "release-root: ci/setup.sh failed" >&2; exit 1; }
            echo "release-root: ci/setup.sh took $(( $(date +%s) - t )) s" >&2
            t=$(date +%s); rc=0
            ci/test.sh "$@" || rc=$?
            echo "release-root: ci/test.sh took $(( $(date +%s) - t )) s (exit $rc)" >&2
            exit $rc' bash "$@" || rc=$?
        log "$SUITE: done in $(took "$t_start") (exit $rc)"
        exit $rc ;;
esac
