#!/usr/bin/env python3
"""Leak soak: run many mixed rbd operations and check that memory stops growing after a warm-up.

    python tools/soak.py [--ops N] [--conf CEPH_CONF] [--warmup-fraction F] [--max-rss-growth-kib K]
                         [--snapshots reuse|create-remove|none] [--allocator no-tcache|default] [--only GROUP]

Without --conf, a throwaway cluster is started with ci/cluster.sh in a temporary directory (and stopped at the
end). The operations mix (MIX below): sync read/write/stat/size/metadata_get, aio read/write with callbacks (at most
64 in flight), iterators (list_snaps, metadata_list, list2), error paths (open a missing image, read past the end,
metadata_get of a missing key), and every 2500 operations a snapshot operation: by default on two snapshots made
once (rename, protect/unprotect, open at the snapshot and read, timestamp and list); `--snapshots create-remove`
creates and removes snapshots instead, which grows librados/librbd state by ~200 bytes each (docs/reliability.md).
`--only GROUP` runs one group (sync, aio, iterators, errors, snapshots) to see which kind grows.

By default the script runs itself again with glibc's per-thread cache off (GLIBC_TUNABLES=
glibc.malloc.tcache_count=0, for this process only): the cache fills slowly over hundreds of thousands of
operations, and the chunks it holds count as in use and fragment the arenas, which shows as RSS growth of 1-2 MiB
that is neither a leak nor unbounded. `--allocator default` measures with glibc as configured.

After the warm-up (--warmup-fraction of the operations, default 10%), the aio requests are drained and RSS (from
/proc/self/statm), the C heap in use and obtained (glibc's mallinfo2(), all arenas) and a tracemalloc snapshot are
taken; at the end the same again. Exit status 1 when RSS grew by more than --max-rss-growth-kib (default 1024)
after the warm-up, or when tracemalloc shows net growth of more than --max-rbd-growth-bytes (default 16384) in
allocations whose traceback goes through the rbd module or this script's rbd calls, or on aio errors. Not part of
the default test run: it takes minutes.
"""
import argparse
import bisect
import ctypes
import gc
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.sysconf("SC_PAGE_SIZE")
MiB = 1 << 20


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


try:
    _libc = ctypes.CDLL(None)
    _mallinfo2 = _libc.mallinfo2
    _mallinfo2.restype = _Mallinfo2
    _mallinfo2.argtypes = []
except (OSError, AttributeError):  # not glibc >= 2.33
    _mallinfo2 = None


def heap_bytes():
    """(in use, obtained) bytes of the C heap according to glibc's mallinfo2(), summed over all arenas: in use =
    uordblks (allocated chunks in the arenas) + hblkhd (mmap()ed chunks); obtained = arena (bytes the arenas got
    from the system) + hblkhd. (None, None) without glibc >= 2.33. Python objects below 512 bytes live in
    pymalloc's own mmap()ed arenas, not here (tracemalloc covers them)."""
    if _mallinfo2 is None:
        return None, None
    info = _mallinfo2()
    return info.uordblks + info.hblkhd, info.arena + info.hblkhd


def sample():
    """(RSS, heap in use, heap obtained) in bytes."""
    in_use, obtained = heap_bytes()
    return rss_bytes(), in_use, obtained


def mib(n):
    return "n/a" if n is None else "%.2f MiB" % (n / MiB)


def kib_diff(a, b):
    return "n/a" if a is None or b is None else "%+.1f KiB" % ((b - a) / 1024.0)


def start_cluster():
    state_dir = tempfile.mkdtemp(prefix="rbd-soak-cluster-")
    os.rmdir(state_dir)  # cluster.sh wants a missing or empty directory; it creates it
    out = subprocess.run([os.path.join(ROOT, "ci", "cluster.sh"), "start", state_dir], stdout=subprocess.PIPE,
                         text=True, check=True).stdout
    return state_dir, out.strip().splitlines()[-1]


def stop_cluster(state_dir):
    subprocess.run([os.path.join(ROOT, "ci", "cluster.sh"), "stop", state_dir])
    shutil.rmtree(state_dir, ignore_errors=True)


# (group, operation, weight in percent); snapshot create/remove comes on top, every 2500 operations (group
# "snapshots" alone: every operation).
MIX = [
    ("sync", "write", 16), ("sync", "read", 16), ("sync", "stat", 8), ("sync", "size", 8),
    ("aio", "aio_write", 12), ("aio", "aio_read", 12),
    ("iterators", "list_snaps", 5), ("iterators", "metadata_list", 5), ("iterators", "list2", 3),
    ("errors", "open_missing", 1), ("errors", "read_past_end", 5), ("errors", "metadata_get_missing", 5),
    ("sync", "metadata_get", 4),
]
GROUPS = sorted({group for group, _, _ in MIX} | {"snapshots"})


class Soak:
    def __init__(self, rbd, ioctx, name, rng):
        self.rbd = rbd
        self.ioctx = ioctx
        self.name = name
        self.rng = rng
        self.image = rbd.Image(ioctx, name)
        self.size = self.image.size()
        self.pending = threading.Semaphore(64)  # at most 64 aio requests in flight
        self.aio_errors = []
        self.aio_done = 0
        self.lock = threading.Lock()
        self.counts = {}
        self.snap_seq = 0
        self.payloads = [os.urandom(n) for n in (512, 4096, 65536)]
        self.image.metadata_set("soak-key", "soak-value")

    def _write_cb(self, completion):
        ret = completion.get_return_value()
        with self.lock:
            self.aio_done += 1
            if ret < 0:
                self.aio_errors.append(ret)
        self.pending.release()

    def _read_cb(self, completion, data):
        ret = completion.get_return_value()
        with self.lock:
            self.aio_done += 1
            if ret < 0 or data is None or len(data) != ret:
                self.aio_errors.append(ret)
        self.pending.release()

    def op(self, i):
        rbd, image, rng = self.rbd, self.image, self.rng
        if self.snapshots and (self.only == "snapshots" or i % 2500 == 2499):
            self.snapshot()  # create/remove is slow (tens of ms): in the mix only every 2500 operations
            return
        name = self.names[bisect.bisect_right(self.cumulative, rng.randrange(self.cumulative[-1]))]
        payload = self.payloads[i % 3]
        offset = rng.randrange(0, self.size - len(payload))
        if name == "write":
            image.write(payload, offset)
        elif name == "read":
            if len(image.read(offset, len(payload))) != len(payload):
                raise AssertionError("short read")
        elif name == "stat":
            image.stat()
        elif name == "size":
            image.size()
        elif name == "aio_write":
            self.pending.acquire()
            image.aio_write(payload, offset, self._write_cb)
        elif name == "aio_read":
            self.pending.acquire()
            image.aio_read(offset, len(payload), self._read_cb)
        elif name == "list_snaps":
            for _ in image.list_snaps():
                pass
        elif name == "metadata_list":
            if dict(image.metadata_list()).get("soak-key") != "soak-value":
                raise AssertionError("metadata lost")
        elif name == "list2":
            for _ in rbd.RBD().list2(self.ioctx):
                pass
        elif name == "open_missing":
            try:
                rbd.Image(self.ioctx, "soak-missing-image")
            except rbd.ImageNotFound:
                pass
            else:
                raise AssertionError("opened a missing image")
        elif name == "read_past_end":
            try:
                image.read(self.size + 4096, 10)
            except rbd.InvalidArgument:
                pass
            else:
                raise AssertionError("read past the end succeeded")
        elif name == "metadata_get_missing":
            try:
                image.metadata_get("soak-missing-key")
            except KeyError:
                pass
            else:
                raise AssertionError("metadata_get of a missing key succeeded")
        else:
            image.metadata_get("soak-key")
        self.counts[name] = self.counts.get(name, 0) + 1

    def select(self, only):
        """Restrict the mix to one group of MIX (None: all of it), keeping the relative weights."""
        self.only = only
        self.names, self.cumulative, total = [], [], 0
        for group, name, weight in MIX:
            if only in (None, group):
                total += weight
                self.names.append(name)
                self.cumulative.append(total)

    def setup_snapshots(self, mode):
        """Mode "reuse": two snapshots made once, then only operations that allocate no snapshot id;
        "create-remove": new snapshots created and old ones removed; "none": no snapshot operations."""
        self.snapshot_mode = mode
        if mode == "reuse":
            for snap in ("soak-snap-a", "soak-snap-b"):
                self.image.create_snap(snap)

    def snapshot(self):
        if self.snapshot_mode == "reuse":
            self.snapshot_reuse()
        else:
            self.snapshot_create_remove()

    def snapshot_reuse(self):
        """Snapshot operations on the two fixed snapshots, in turn: rename and rename back; protect, check,
        unprotect; open the snapshot read-only, read, close; timestamp and list. None of them allocates a snapshot
        id (so the OSD map does not change)."""
        image, rbd = self.image, self.rbd
        self.snap_seq += 1
        snap = "soak-snap-a" if self.snap_seq % 2 else "soak-snap-b"
        step = (self.snap_seq // 2) % 4
        if step == 0:
            image.rename_snap(snap, snap + "-renamed")
            image.rename_snap(snap + "-renamed", snap)
            name = "snapshot_rename"
        elif step == 1:
            image.protect_snap(snap)
            if not image.is_protected_snap(snap):
                raise AssertionError("snapshot not protected")
            image.unprotect_snap(snap)
            name = "snapshot_protect"
        elif step == 2:
            # Not read_only=True: librbd 16.2.15 then uses freed memory after closing an image opened read-only at
            # a snapshot (abort in io_context_pool under MALLOC_PERTURB_, with python3-rbd too: see
            # docs/reliability.md).
            with rbd.Image(self.ioctx, self.name, snapshot=snap) as at_snap:
                if len(at_snap.read(0, 4096)) != 4096:
                    raise AssertionError("short read from a snapshot")
            name = "snapshot_open_read"
        else:
            image.get_snap_timestamp(image.snap_get_id(snap))
            if sorted(s["name"] for s in image.list_snaps()) != ["soak-snap-a", "soak-snap-b"]:
                raise AssertionError("snapshots lost")
            name = "snapshot_timestamp_list"
        self.counts[name] = self.counts.get(name, 0) + 1

    def snapshot_create_remove(self):
        """Create a new snapshot or remove an old one (at most four at a time). Each creation allocates a new
        pool snapshot id and each removal queues the id for trimming: both change the OSD map."""
        image, rng = self.image, self.rng
        snaps = [s["name"] for s in image.list_snaps()]
        if len(snaps) >= 4 or (snaps and rng.random() < 0.5):
            image.remove_snap(rng.choice(snaps))
            name = "snapshot_remove"
        else:
            self.snap_seq += 1
            image.create_snap("soak-snap-%d" % self.snap_seq)
            name = "snapshot_create"
        self.counts[name] = self.counts.get(name, 0) + 1

    def drain(self):
        for _ in range(64):
            self.pending.acquire()
        for _ in range(64):
            self.pending.release()


def rbd_related(stat):
    """Whether an allocation was made by rbd: the innermost Python frame is an rbd call in this script (Cython
    code makes no frames of its own, so its allocations show there), or a frame of the rbd module itself."""
    frame = stat.traceback[-1]  # tracebacks are ordered oldest first
    if os.path.basename(frame.filename).startswith("rbd"):
        return True
    return frame.filename == os.path.abspath(__file__) and frame.lineno in RBD_CALL_LINES


def rbd_call_lines():
    """Line numbers of this script that call into rbd (contain `image.`, `rbd.` or `RBD()`)."""
    with open(os.path.abspath(__file__)) as f:
        return {n for n, line in enumerate(f, 1)
                if ("image." in line or "rbd.RBD" in line or "rbd.Image(" in line) and not line.lstrip().startswith("#")}


RBD_CALL_LINES = set()
TCACHE_OFF = "glibc.malloc.tcache_count=0"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=1000000)
    parser.add_argument("--conf", default=None, help="ceph.conf of an existing cluster (default: start one)")
    parser.add_argument("--warmup-fraction", type=float, default=0.1)
    parser.add_argument("--max-rss-growth-kib", type=int, default=1024)
    parser.add_argument("--max-rbd-growth-bytes", type=int, default=16384)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--snapshots", choices=("reuse", "create-remove", "none"), default="reuse",
                        help="snapshot operations every 2500 ops: on two fixed snapshots (default), creating and "
                        "removing snapshots (grows librados/librbd state by ~200 bytes each: see "
                        "docs/reliability.md), or none")
    parser.add_argument("--no-snapshots", dest="snapshots", action="store_const", const="none",
                        help="same as --snapshots none")
    parser.add_argument("--only", choices=GROUPS, default=None,
                        help="run one group of operations only (to see which kind grows)")
    parser.add_argument("--allocator", choices=("no-tcache", "default"), default="no-tcache",
                        help="no-tcache (default): run with glibc's per-thread cache off "
                        "(GLIBC_TUNABLES=glibc.malloc.tcache_count=0, this process only), whose slow filling "
                        "otherwise shows as growth; default: glibc as configured")
    parser.add_argument("--progress", type=int, default=20, help="number of progress lines (default 20)")
    args = parser.parse_args()
    if args.allocator == "no-tcache" and TCACHE_OFF not in os.environ.get("GLIBC_TUNABLES", "").split(":"):
        # glibc reads its tunables at start-up only: run again with them set.
        env = dict(os.environ)
        env["GLIBC_TUNABLES"] = ":".join(filter(None, [env.get("GLIBC_TUNABLES"), TCACHE_OFF]))
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)
    print("soak: allocator %s (GLIBC_TUNABLES=%s, MALLOC_ARENA_MAX=%s); snapshots %s; warm-up %d of %d ops" % (
        args.allocator, os.environ.get("GLIBC_TUNABLES", ""), os.environ.get("MALLOC_ARENA_MAX", "unset"),
        args.snapshots, max(1, int(args.ops * args.warmup_fraction)), args.ops), flush=True)

    import rados
    import rbd
    print("soak: rbd module %s" % rbd.__file__, flush=True)

    state_dir = None
    conf = args.conf
    if conf is None:
        state_dir, conf = start_cluster()
        print("soak: started a throwaway cluster: %s" % conf, flush=True)
    cluster = rados.Rados(conffile=conf)
    cluster.conf_set("client_mount_timeout", "60")
    cluster.connect()
    pool = "soak-%d-%d" % (os.getpid(), int(time.time()))
    cluster.create_pool(pool)
    ioctx = cluster.open_ioctx(pool)
    ioctx.application_enable("rbd")
    name = "soak-image"
    rbd.RBD().create(ioctx, name, 8 * MiB, order=20)
    soak = Soak(rbd, ioctx, name, random.Random(args.seed))
    soak.snapshots = args.snapshots != "none"
    soak.setup_snapshots(args.snapshots)
    soak.select(args.only)

    warmup = max(1, int(args.ops * args.warmup_fraction))
    progress_every = max(1, args.ops // max(1, args.progress))
    status = 0
    start = time.monotonic()
    RBD_CALL_LINES.update(rbd_call_lines())
    tracemalloc.start(8)
    try:
        for i in range(args.ops):
            soak.op(i)
            if i + 1 == warmup:
                soak.drain()
                gc.collect()
                snap_warm = tracemalloc.take_snapshot()
                rss_warm, used_warm, got_warm = sample()
                print("soak: warm-up done after %d ops: RSS %s, heap in use %s, heap obtained %s" % (
                    warmup, mib(rss_warm), mib(used_warm), mib(got_warm)), flush=True)
            if (i + 1) % progress_every == 0:
                elapsed = time.monotonic() - start
                rss, used, got = sample()
                print("soak: %d/%d ops, %.0f ops/s, RSS %s, heap in use %s, obtained %s" % (
                    i + 1, args.ops, (i + 1) / elapsed, mib(rss), mib(used), mib(got)), flush=True)
        soak.drain()
        gc.collect()
        snap_end = tracemalloc.take_snapshot()
        rss_end, used_end, got_end = sample()
        elapsed = time.monotonic() - start
        soak.image.close()

        print("soak: %d ops in %.1f s (%.0f ops/s); aio completions %d; aio errors %d" % (
            args.ops, elapsed, args.ops / elapsed, soak.aio_done, len(soak.aio_errors)))
        print("soak: op counts: %s" % ", ".join("%s=%d" % kv for kv in sorted(soak.counts.items())))
        growth_kib = (rss_end - rss_warm) / 1024.0
        print("soak: RSS after warm-up %.1f MiB, at end %.1f MiB: growth %+.1f KiB (limit %d KiB)" % (
            rss_warm / MiB, rss_end / MiB, growth_kib, args.max_rss_growth_kib))
        print("soak: C heap in use (mallinfo2 uordblks+hblkhd) after warm-up %s, at end %s: growth %s" % (
            mib(used_warm), mib(used_end), kib_diff(used_warm, used_end)))
        print("soak: C heap obtained (mallinfo2 arena+hblkhd) after warm-up %s, at end %s: growth %s" % (
            mib(got_warm), mib(got_end), kib_diff(got_warm, got_end)))
        stats = snap_end.compare_to(snap_warm, "traceback")
        total = sum(s.size_diff for s in stats)
        rbd_growth = sum(s.size_diff for s in stats if rbd_related(s))
        print("soak: tracemalloc net growth after warm-up: %+d bytes in all, %+d bytes through rbd (limit %d)" % (
            total, rbd_growth, args.max_rbd_growth_bytes))
        print("soak: tracemalloc top growth:")
        for stat in sorted(stats, key=lambda s: -s.size_diff)[:5]:
            frame = stat.traceback[-1]
            print("    %+d bytes (%+d blocks) at %s:%d" % (stat.size_diff, stat.count_diff, frame.filename,
                                                          frame.lineno))
        if soak.aio_errors:
            print("soak: FAIL: aio errors %s" % soak.aio_errors[:10])
            status = 1
        if growth_kib > args.max_rss_growth_kib:
            print("soak: FAIL: RSS grew by %.1f KiB after warm-up" % growth_kib)
            status = 1
        if rbd_growth > args.max_rbd_growth_bytes:
            print("soak: FAIL: tracemalloc growth through rbd: %d bytes" % rbd_growth)
            status = 1
        if status == 0:
            print("soak: OK")
    finally:
        tracemalloc.stop()
        ioctx.close()
        cluster.delete_pool(pool)
        cluster.shutdown()
        if state_dir:
            stop_cluster(state_dir)
    return status


if __name__ == "__main__":
    sys.exit(main())
