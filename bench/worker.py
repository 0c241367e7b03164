"""One benchmark workload in one process; prints one JSON line. Runs under both interpreters:

  ours:        <venv python> bench/worker.py ...   (PYTHONPATH = the repo root, where the module is built)
  python3-rbd: /usr/bin/python3 bench/worker.py ... (PYTHONPATH unset: Debian's rbd module)

Only upstream's API is used, except readinto (used when the module has it; upstream's equivalent is read()).
CPU is this process's user+system time (all threads, librbd's included) during the timed loop.
"""
import argparse
import asyncio
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
    count = size // block
    if sequential:
        i = 0
        while True:
            yield (i % count) * block
            i += 1
    rng = random.Random(seed)
    while True:
        yield rng.randrange(count) * block


def sync_loop(op, seconds):
    ops = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(8):
            op()
        ops += 8
    return ops


def run(image, workload, seconds, size):
    """(ops, bytes per op) for `workload` running `seconds`."""
    if workload in ("seq_write_4m", "seq_read_4m", "readinto_4m", "rand_write_4k", "rand_read_4k"):
        block = M4 if workload.endswith("4m") else K4
        where = offsets(size, block, workload.startswith("seq") or workload == "readinto_4m")
        data = bytes(random.Random(2).getrandbits(8) for _ in range(256)) * (block // 256)
        if "write" in workload:
            op = lambda: image.write(data, next(where))
        elif workload == "readinto_4m" and hasattr(image, "readinto"):
            buf = bytearray(block)
            op = lambda: image.readinto(buf, next(where))
        else:
            op = lambda: image.read(next(where), block)
        return sync_loop(op, seconds), block
    if workload in ("rand_write_4k_qd32", "rand_read_4k_qd32"):
        if not hasattr(image, "aio_read"):
            raise NotImplementedError("this build has no aio_read/aio_write")
        return aio_loop(image, workload, seconds, size), K4
    if workload in ("rand_write_4k_qd32_asyncio", "rand_read_4k_qd32_asyncio"):
        if not hasattr(rbd, "AsyncImage"):
            raise NotImplementedError("this module has no asyncio layer")
        return asyncio.run(asyncio_loop(image, workload, seconds, size)), K4
    if workload == "threads8_read_4k":
        counts = [0] * 8

        def reader(index):
            where = offsets(size, K4, False, seed=index + 10)
            counts[index] = sync_loop(lambda: image.read(next(where), K4), seconds)

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(counts), K4
    raise ValueError("unknown workload %s" % workload)


def aio_loop(image, workload, seconds, size, depth=32):
    slots = threading.Semaphore(depth)
    done = [0]
    errors = []
    data = b"\xa5" * K4
    where = offsets(size, K4, False, seed=3)

    def on_read(completion, data_read):
        if completion.get_return_value() < 0:
            errors.append(completion.get_return_value())
        done[0] += 1
        slots.release()

    def on_write(completion):
        if completion.get_return_value() < 0:
            errors.append(completion.get_return_value())
        done[0] += 1
        slots.release()

    deadline = time.perf_counter() + seconds
    submitted = 0
    while time.perf_counter() < deadline:
        slots.acquire()
        if "write" in workload:
            image.aio_write(data, next(where), on_write)
        else:
            image.aio_read(next(where), K4, on_read)
        submitted += 1
    for _ in range(depth):  # wait for the ones in flight
        slots.acquire()
    if errors:
        raise RuntimeError("aio errors: %s" % errors[:5])
    return submitted


async def asyncio_loop(image, workload, seconds, size, depth=32):
    """`depth` tasks each awaiting one 4 KiB operation at a time on an AsyncImage of the same image."""
    data = b"\xa5" * K4
    where = offsets(size, K4, False, seed=4)
    deadline = time.perf_counter() + seconds
    done = [0]
    async with await rbd.AsyncImage.open(image.ioctx_for_bench, image.name_for_bench) as aimage:
        async def task():
            while time.perf_counter() < deadline:
                if "write" in workload:
                    await aimage.write(data, next(where))
                else:
                    await aimage.read(next(where), K4)
                done[0] += 1
        await asyncio.gather(*[task() for _ in range(depth)])
    return done[0]


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
                cpu0, wall0 = cpu_seconds(), time.perf_counter()
                ops, block = run(image, args.workload, args.seconds, size)
                image.flush()
                wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
                result.update(ops=ops, bytes=ops * block, wall=wall, cpu=cpu)
            except NotImplementedError as exc:
                result["skipped"] = str(exc)
    finally:
        cluster.shutdown()
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
