#!/usr/bin/env bash
# Self-test for ci/cluster.sh: starts a 1-OSD and a 3-OSD cluster at the same
# time, does RBD I/O + a snapshot on both with Debian's python3-rbd, exercises
# kill-osd/start-osd, stops both and checks that no daemon of theirs is left.
#
# Usage: ci/test-cluster.sh [ROUNDS]     (default 1 round; prints timings)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER=$HERE/cluster.sh
PY=/usr/bin/python3          # Debian's python, which has python3-rados/rbd
ROUNDS=${1:-1}
BASE=$(mktemp -d /tmp/ci-cluster-test.XXXXXX)
C1=$BASE/c1
C2=$BASE/c2

cleanup() {
    "$CLUSTER" stop "$C1" >/dev/null 2>&1 || true
    "$CLUSTER" stop "$C2" >/dev/null 2>&1 || true
    rm -rf "$BASE"
}
trap cleanup EXIT

fail() { echo "test-cluster: FAIL: $*" >&2; exit 1; }

rbd_io() { # CONF
    "$PY" - "$1" <<'EOF'
import sys, time, rados, rbd
conf = sys.argv[1]
r = rados.Rados(conffile=conf)
r.connect()
r.create_pool('p')
io = r.open_ioctx('p')
rbd.RBD().create(io, 'img', 4 << 20)
im = rbd.Image(io, 'img')
im.write(b'x' * 4096, 0)
assert im.read(0, 4096) == b'x' * 4096
t = time.monotonic()
im.create_snap('s1')
dt = time.monotonic() - t
assert [s['name'] for s in im.list_snaps()] == ['s1']
im.close()
for i in range(16):
    io.write_full('obj%d' % i, b'data%d' % i)
io.close()
r.shutdown()
print('snapshot creation took %.3f s' % dt, file=sys.stderr)
EOF
}

check_objs() { # CONF
    timeout 60 "$PY" - "$1" <<'EOF'
import sys, rados
r = rados.Rados(conffile=sys.argv[1])
r.connect()
io = r.open_ioctx('p')
for i in range(16):
    assert io.read('obj%d' % i) == b'data%d' % i, i
r.shutdown()
EOF
}

for ((round = 1; round <= ROUNDS; round++)); do
    echo "test-cluster: round $round" >&2
    t0=$(date +%s.%N)
    "$CLUSTER" start "$C1" >"$BASE/out1" &
    p1=$!
    "$CLUSTER" start "$C2" --osds 3 >"$BASE/out2" &
    p2=$!
    wait $p1 || fail "start c1"
    wait $p2 || fail "start c2"
    t1=$(date +%s.%N)
    echo "test-cluster: both clusters ready (started in parallel) in $(echo "$t1 - $t0" | bc) s" >&2
    [[ "$(cat "$BASE/out1")" == "$C1/ceph.conf" ]] || fail "start c1 stdout: $(cat "$BASE/out1")"
    [[ "$(cat "$BASE/out2")" == "$C2/ceph.conf" ]] || fail "start c2 stdout: $(cat "$BASE/out2")"
    (source "$C1/env" && [[ "$CEPH_CONF" == "$C1/ceph.conf" ]]) || fail "env file"

    rbd_io "$C1/ceph.conf" || fail "rbd io on c1"
    rbd_io "$C2/ceph.conf" || fail "rbd io on c2"
    [[ "$(rbd -c "$C1/ceph.conf" -p p ls)" == img ]] || fail "rbd ls on c1"
    [[ "$(rbd -c "$C2/ceph.conf" -p p ls)" == img ]] || fail "rbd ls on c2"
    ceph -c "$C1/ceph.conf" -s >/dev/null || fail "ceph -s on c1"
    "$CLUSTER" status "$C2" >/dev/null 2>&1 || fail "status c2"

    # clean restart keeps data; SIGSTOP/SIGCONT too
    "$CLUSTER" kill-osd "$C2" 1 || fail "kill-osd TERM"
    "$CLUSTER" start-osd "$C2" 1 || fail "start-osd after TERM"
    check_objs "$C2/ceph.conf" || fail "data lost after clean OSD restart"
    "$CLUSTER" kill-osd "$C2" 2 STOP || fail "kill-osd STOP"
    "$CLUSTER" start-osd "$C2" 2 || fail "start-osd after STOP"
    check_objs "$C2/ceph.conf" || fail "data lost after SIGSTOP/SIGCONT"
    # SIGKILL: the OSD comes back, the pool stays usable (objects may be lost)
    "$CLUSTER" kill-osd "$C1" 0 KILL || fail "kill-osd KILL"
    "$CLUSTER" start-osd "$C1" 0 || fail "start-osd after KILL"
    timeout 60 rados -c "$C1/ceph.conf" -p p put after-kill /etc/hostname || fail "write after SIGKILL restart"

    t0=$(date +%s.%N)
    "$CLUSTER" stop "$C1" || fail "stop c1"
    "$CLUSTER" stop "$C2" || fail "stop c2"
    echo "test-cluster: both stopped in $(echo "$(date +%s.%N) - $t0" | bc) s" >&2
    [[ ! -e "$C1" && ! -e "$C2" ]] || fail "cluster dirs not removed"
    # zombies (not yet reaped by init) are not running daemons
    left=$(ps -eo pid=,stat=,args= | awk '$2 !~ /^Z/' | grep -F -e "$C1/" -e "$C2/" | grep -v grep || true)
    [[ -z "$left" ]] || fail "daemons left running: $left"
done
echo "test-cluster: OK ($ROUNDS round(s))" >&2
