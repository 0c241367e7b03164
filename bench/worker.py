"""One benchmark workload in one process; prints one JSON line. Runs under both interpreters:

  ours:        <venv python> bench/worker.py ...   (PYTHONPATH = the repo root, where the module is built)
  python3-rbd: /usr/bin/python3 bench/worker.py ... (PYTHONPATH unset: Debian's rbd module)

Only upstream's API is used, except readinto (used when the module has it; upstream's equivalent is read()).
CPU is this process's user+system time (all threads, librbd's included) during the timed loop.
"""
import argparse
import asyncio
import itertools
import json
import random
import resource
import sys
import threading
import time

import rados
import rbd

K4 = 4096
M4 = 4 << 20


class BenchImage:
    """The open Image, plus what the asyncio workloads need to open their own AsyncImage of it."""

    def __init__(self, image, ioctx, name):
        self.image, self.ioctx_for_bench, self.name_for_bench = image, ioctx, name

    def __getattr__(self, attr):
        return getattr(self.image, attr)


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def offsets(size, block, sequential, seed=1):
    """An endless iterator of block-aligned offsets, computed before the timed section, so that the loop
    measures the module, not Python's random number generator. Random offsets are a shuffled permutation of
    every block, as fio's default random map is (each block once per pass): the pattern matters with the
    cache on, where rewriting a block still being written back waits (fio: 14 400 IOPS with its random map,
    8 500 with --norandommap, 4 KiB qd1 writes)."""
    order = [i * block for i in range(size // block)]
    if not sequential:
        random.Random(seed).shuffle(order)
    return itertools.cycle(order)


def sync_loop(op, seconds):
    ops = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(8):
            op()
        ops += 8
    return ops


def run(image, workload, seconds, size):
    """(ops, bytes per op[, (wall, cpu)]) for `workload` running `seconds`; the third item when the workload
    timed itself."""
    if workload in ("seq_write_4m", "seq_read_4m", "readinto_4m", "rand_write_4k", "rand_read_4k"):
        block = M4 if workload.endswith("4m") else K4
        where = offsets(size, block, workload.startswith("seq") or workload == "readinto_4m")
        data = bytes(random.Random(2).getrandbits(8) for _ in range(256)) * (block // 256)
        if "write" in workload:
            write = image.write
            op = lambda: write(data, next(where))
        elif workload == "readinto_4m" and hasattr(image, "readinto"):
            buf = bytearray(block)
            readinto = image.readinto
            op = lambda: readinto(buf, next(where))
        else:
            read = image.read
            op = lambda: read(next(where), block)
        return sync_loop(op, seconds), block
    if workload in ("rand_write_4k_qd32", "rand_read_4k_qd32"):
        if not hasattr(image, "aio_read"):
            raise NotImplementedError("this build has no aio_read/aio_write")
        return aio_loop(image, workload, seconds, size), K4
    if workload in ("rand_write_4k_qd32_asyncio", "rand_read_4k_qd32_asyncio"):
        if not hasattr(rbd, "AsyncImage"):
            raise NotImplementedError("this module has no asyncio layer")
        ops, wall, cpu = asyncio.run(asyncio_loop(image, workload, seconds, size))
        return ops, K4, (wall, cpu)
    if workload == "threads8_read_4k":
        counts = [0] * 8

        def reader(index):
            where = offsets(size, K4, False, seed=index + 10)
            read = image.read
            counts[index] = sync_loop(lambda: read(next(where), K4), seconds)

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(counts), K4
    raise ValueError("unknown workload %s" % workload)


def aio_loop(image, workload, seconds, size, depth=32):
    """Keep `depth` operations in flight: each oncomplete submits the next one, as fio's loop and ceph-mgr's
    callback chains do (upstream runs callbacks on librbd's finisher thread, ours on its dispatcher thread)."""
    data = b"\xa5" * K4
    where = offsets(size, K4, False, seed=3)
    write = "write" in workload
    state = {"in_flight": depth, "stop": False}
    done = itertools.count()  # next() on it is atomic under the GIL, whichever thread runs the callback
    errors = []
    lock = threading.Lock()
    finished = threading.Event()

    aio_write, aio_read = image.aio_write, image.aio_read

    def submit():
        if write:
            aio_write(data, next(where), on_write)
        else:
            aio_read(next(where), K4, on_read)

    def on_write(completion):
        if completion.get_return_value() < 0:
            errors.append(completion.get_return_value())
        next(done)
        if state["stop"] or errors:
            with lock:
                state["in_flight"] -= 1
                if state["in_flight"] == 0:
                    finished.set()
        else:
            submit()

    def on_read(completion, data_read):
        on_write(completion)

    for _ in range(depth):
        submit()
    time.sleep(seconds)
    state["stop"] = True
    if not finished.wait(60):
        raise RuntimeError("aio operations did not finish")
    if errors:
        raise RuntimeError("aio errors: %s" % errors[:5])
    return next(done)


async def asyncio_loop(image, workload, seconds, size, depth=32):
    """`depth` tasks each awaiting one 4 KiB operation at a time on an AsyncImage of the same image.

    Returns (ops, wall, cpu) of the I/O alone: opening and closing the AsyncImage are not timed (fio does not
    time its open either)."""
    data = b"\xa5" * K4
    where = offsets(size, K4, False, seed=4)
    write = "write" in workload
    done = [0]
    stop = [False]
    async with await rbd.AsyncImage.open(image.ioctx_for_bench, image.name_for_bench) as aimage:
        async def task():
            count = 0
            write_, read = aimage.write, aimage.read
            while not stop[0]:
                if write:
                    await write_(data, next(where))
                else:
                    await read(next(where), K4)
                count += 1
            done[0] += count

        await aimage.flush()  # write-back cache from the start, as in main()
        loop = asyncio.get_running_loop()
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        loop.call_later(seconds, stop.__setitem__, 0, True)
        await asyncio.gather(*[task() for _ in range(depth)])
        wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
        await aimage.flush()
    return done[0], wall, cpu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--conf", required=True)
    parser.add_argument("--pool", required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--workload", required=True)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--cache", choices=("true", "false"), default="false")
    args = parser.parse_args()
    cluster = rados.Rados(conffile=args.conf)
    cluster.conf_set("rbd_cache", args.cache)
    cluster.connect()
    result = {"module": rbd.__file__, "workload": args.workload}
    try:
        with cluster.open_ioctx(args.pool) as ioctx, rbd.Image(ioctx, args.image) as opened:
            image = BenchImage(opened, ioctx, args.image)
            size = image.size()
            try:
                # librbd's cache stays write-through until the first flush (rbd_cache_writethrough_until_flush);
                # fio's engine runs write-back, so flush once before timing, as a client that flushes would.
                image.flush()
                cpu0, wall0 = cpu_seconds(), time.perf_counter()
                ops, block, *timed = run(image, args.workload, args.seconds, size)
                wall, cpu = timed[0] if timed else (time.perf_counter() - wall0, cpu_seconds() - cpu0)
                # Not timed, as fio does not time writing back what its cache still holds at the end.
                image.flush()
                result.update(ops=ops, bytes=ops * block, wall=wall, cpu=cpu)
            except NotImplementedError as exc:
                result["skipped"] = str(exc)
    finally:
        cluster.shutdown()
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
