#!/usr/bin/env python3
"""4 KiB random read and write IOPS at a fixed queue depth, through aio callbacks and through asyncio.

    python bench/aio_qd.py --conf /etc/ceph/ceph.conf --pool rbd --image bench [--seconds 5] [--depth 32]

The image must exist (it is written to). Prints one line per mode: `<api> <rw> qd=<depth> iops=<n>`.
"""
import argparse
import asyncio
import os
import random
import threading
import time

import rados

import rbd

BLOCK = 4096


def callbacks(image, size, depth, seconds, write):
    """Keep `depth` ops in flight: each oncomplete (on the dispatcher thread) submits the next one."""
    rng = random.Random(1)
    blocks = size // BLOCK
    payload = os.urandom(BLOCK)
    state = {"done": 0, "inflight": 0, "errors": 0}
    lock = threading.Lock()
    finished = threading.Event()
    deadline = time.monotonic() + seconds

    def submit():
        offset = rng.randrange(blocks) * BLOCK
        if write:
            image.aio_write(payload, offset, on_write)
        else:
            image.aio_read(offset, BLOCK, on_read)

    def on_done(comp):
        with lock:
            state["done"] += 1
            if comp.get_return_value() < 0:
                state["errors"] += 1
            if time.monotonic() < deadline:
                submit()
                return
            state["inflight"] -= 1
            if state["inflight"] == 0:
                finished.set()

    def on_read(comp, data):
        on_done(comp)

    def on_write(comp):
        on_done(comp)

    start = time.monotonic()
    with lock:
        state["inflight"] = depth
        for _ in range(depth):
            submit()
    finished.wait()
    elapsed = time.monotonic() - start
    return state["done"] / elapsed, state["errors"]


async def asyncio_mode(ioctx, name, size, depth, seconds, write):
    rng = random.Random(2)
    blocks = size // BLOCK
    payload = os.urandom(BLOCK)
    counts = {"done": 0}
    deadline = time.monotonic() + seconds
    async with await rbd.AsyncImage.open(ioctx, name) as image:
        async def worker():
            while time.monotonic() < deadline:
                offset = rng.randrange(blocks) * BLOCK
                if write:
                    await image.write(payload, offset)
                else:
                    await image.read(offset, BLOCK)
                counts["done"] += 1
        start = time.monotonic()
        await asyncio.gather(*[worker() for _ in range(depth)])
        elapsed = time.monotonic() - start
    return counts["done"] / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", required=True)
    parser.add_argument("--pool", required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--depth", type=int, default=32)
    args = parser.parse_args()
    cluster = rados.Rados(conffile=args.conf)
    cluster.connect()
    try:
        with cluster.open_ioctx(args.pool) as ioctx:
            with rbd.Image(ioctx, args.image) as image:
                size = image.size()
                # Fill the image once so that reads hit real objects.
                fill = os.urandom(1 << 20)
                for offset in range(0, min(size, 64 << 20), 1 << 20):
                    image.write(fill[:min(1 << 20, size - offset)], offset)
                for write in (False, True):
                    iops, errors = callbacks(image, min(size, 64 << 20), args.depth, args.seconds, write)
                    print("callbacks %s qd=%d iops=%.0f%s" % ("write" if write else "read", args.depth, iops,
                                                             " errors=%d" % errors if errors else ""), flush=True)
            for write in (False, True):
                iops = asyncio.run(asyncio_mode(ioctx, args.image, min(size, 64 << 20), args.depth, args.seconds,
                                                write))
                print("asyncio %s qd=%d iops=%.0f" % ("write" if write else "read", args.depth, iops), flush=True)
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
