#!/usr/bin/env python3
"""Leak soak: run many mixed rbd operations and check that memory stops growing after a warm-up.

    python tools/soak.py [--ops N] [--conf CEPH_CONF] [--warmup-fraction F] [--max-rss-growth-kib K]

Without --conf, a throwaway cluster is started with ci/cluster.sh in a temporary directory (and stopped at the
end). The operations mix: sync read/write/stat/size, aio read/write with callbacks, iterators (list_snaps,
metadata_list, list2), error paths (open a missing image, read past the end, metadata_get of a missing key), and
occasionally snapshot create/remove.

After the warm-up (--warmup-fraction of the operations, default 10%), resident memory (from /proc/self/statm) and a
tracemalloc snapshot are taken; at the end both are compared. Exit status 1 when RSS grew by more than
--max-rss-growth-kib (default 1024) after the warm-up, or when tracemalloc shows net growth of more than
--max-rbd-growth-bytes (default 16384) in allocations whose traceback goes through the rbd module or this script's
rbd calls. Not part of the default test run: it takes minutes.
"""
import argparse
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


def start_cluster():
    state_dir = tempfile.mkdtemp(prefix="rbd-soak-cluster-")
    os.rmdir(state_dir)  # cluster.sh wants a missing or empty directory; it creates it
    out = subprocess.run([os.path.join(ROOT, "ci", "cluster.sh"), "start", state_dir], stdout=subprocess.PIPE,
                         text=True, check=True).stdout
    return state_dir, out.strip().splitlines()[-1]


def stop_cluster(state_dir):
    subprocess.run([os.path.join(ROOT, "ci", "cluster.sh"), "stop", state_dir])
    shutil.rmtree(state_dir, ignore_errors=True)


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
        if self.snapshots and i % 2500 == 2499:  # snapshot create/remove is slow (tens of ms): occasionally only
            self.snapshot()
            return
        kind = rng.randrange(100)
        payload = self.payloads[i % 3]
        offset = rng.randrange(0, self.size - len(payload))
        if kind < 16:
            name = "write"
            image.write(payload, offset)
        elif kind < 32:
            name = "read"
            if len(image.read(offset, len(payload))) != len(payload):
                raise AssertionError("short read")
        elif kind < 40:
            name = "stat"
            image.stat()
        elif kind < 48:
            name = "size"
            image.size()
        elif kind < 60:
            name = "aio_write"
            self.pending.acquire()
            image.aio_write(payload, offset, self._write_cb)
        elif kind < 72:
            name = "aio_read"
            self.pending.acquire()
            image.aio_read(offset, len(payload), self._read_cb)
        elif kind < 77:
            name = "list_snaps"
            for _ in image.list_snaps():
                pass
        elif kind < 82:
            name = "metadata_list"
            if dict(image.metadata_list()).get("soak-key") != "soak-value":
                raise AssertionError("metadata lost")
        elif kind < 85:
            name = "list2"
            for _ in rbd.RBD().list2(self.ioctx):
                pass
        elif kind < 86:
            name = "open_missing"
            try:
                rbd.Image(self.ioctx, "soak-missing-image")
            except rbd.ImageNotFound:
                pass
            else:
                raise AssertionError("opened a missing image")
        elif kind < 91:
            name = "read_past_end"
            try:
                image.read(self.size + 4096, 10)
            except rbd.InvalidArgument:
                pass
            else:
                raise AssertionError("read past the end succeeded")
        elif kind < 96:
            name = "metadata_get_missing"
            try:
                image.metadata_get("soak-missing-key")
            except KeyError:
                pass
            else:
                raise AssertionError("metadata_get of a missing key succeeded")
        else:
            name = "metadata_get"
            image.metadata_get("soak-key")
        self.counts[name] = self.counts.get(name, 0) + 1

    def snapshot(self):
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=1000000)
    parser.add_argument("--conf", default=None, help="ceph.conf of an existing cluster (default: start one)")
    parser.add_argument("--warmup-fraction", type=float, default=0.1)
    parser.add_argument("--max-rss-growth-kib", type=int, default=1024)
    parser.add_argument("--max-rbd-growth-bytes", type=int, default=16384)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-snapshots", action="store_true",
                        help="leave out snapshot create/remove (each removal grows the OSD map every client keeps)")
    args = parser.parse_args()

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
    soak.snapshots = not args.no_snapshots

    warmup = max(1, int(args.ops * args.warmup_fraction))
    progress_every = max(1, args.ops // 20)
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
                rss_warm = rss_bytes()
                snap_warm = tracemalloc.take_snapshot()
                print("soak: warm-up done after %d ops: RSS %.1f MiB" % (warmup, rss_warm / MiB), flush=True)
            if (i + 1) % progress_every == 0:
                elapsed = time.monotonic() - start
                print("soak: %d/%d ops, %.0f ops/s, RSS %.1f MiB" % (i + 1, args.ops, (i + 1) / elapsed,
                                                                     rss_bytes() / MiB), flush=True)
        soak.drain()
        gc.collect()
        rss_end = rss_bytes()
        snap_end = tracemalloc.take_snapshot()
        elapsed = time.monotonic() - start
        soak.image.close()

        print("soak: %d ops in %.1f s (%.0f ops/s); aio completions %d; aio errors %d" % (
            args.ops, elapsed, args.ops / elapsed, soak.aio_done, len(soak.aio_errors)))
        print("soak: op counts: %s" % ", ".join("%s=%d" % kv for kv in sorted(soak.counts.items())))
        growth_kib = (rss_end - rss_warm) / 1024.0
        print("soak: RSS after warm-up %.1f MiB, at end %.1f MiB: growth %+.1f KiB (limit %d KiB)" % (
            rss_warm / MiB, rss_end / MiB, growth_kib, args.max_rss_growth_kib))
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
