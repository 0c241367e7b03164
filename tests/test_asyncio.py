"""asyncio: rbd.AsyncImage, driven by librbd's event notification on the loop thread."""
import asyncio
import gc
import os
import threading

import pytest

import rbd
from conftest import MiB, unique_name


def run(coro, timeout=60):
    async def bounded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


def test_open_size_read_write_close(ioctx, image_name):
    async def main():
        image = await rbd.AsyncImage.open(ioctx, image_name)
        assert image.name == image_name
        assert not image.closed
        assert await image.size() == 8 * MiB
        data = os.urandom(8192)
        assert await image.write(data, 4096) == 8192
        assert await image.read(4096, 8192) == data
        await image.flush()
        await image.close()
        assert image.closed
        with pytest.raises(rbd.InvalidArgument, match="closed"):
            image.read(0, 1)
        await image.close()  # twice is fine
    run(main())
    with rbd.Image(ioctx, image_name) as image:
        assert image.read(4096, 4) != b"\0" * 4


def test_async_with_and_open_by_id_read_only(ioctx, image_name):
    with rbd.Image(ioctx, image_name) as image:
        image.write(b"q" * 512, 0)
        image_id = image.id()

    async def main():
        async with await rbd.AsyncImage.open(ioctx, image_id=image_id, read_only=True) as image:
            assert image.name == image_name
            assert await image.read(0, 512) == b"q" * 512
            with pytest.raises(rbd.ReadOnlyImage):
                await image.write(b"x", 0)
        assert image.closed
    run(main())


def test_gather_256_reads_and_writes(ioctx, image_name):
    block = 4096

    async def main():
        async with await rbd.AsyncImage.open(ioctx, image_name) as image:
            blocks = [os.urandom(block) for _ in range(256)]
            counts = await asyncio.gather(*[image.write(blocks[i], i * block) for i in range(256)])
            assert counts == [block] * 256
            got = await asyncio.gather(*[image.read(i * block, block) for i in range(256)])
            assert got == blocks
            # Mixed in one gather: writes to the upper half, reads of the lower half.
            upper = [bytearray(os.urandom(block)) for _ in range(128)]
            ops = [image.write(upper[i], (256 + i) * block) for i in range(128)]
            ops += [image.read(i * block, block) for i in range(128)]
            results = await asyncio.gather(*ops)
            assert results[128:] == blocks[:128]
            assert await image.read(256 * block, 128 * block) == b"".join(upper)
    run(main())


def test_discard_write_zeroes(ioctx, image_name):
    async def main():
        async with await rbd.AsyncImage.open(ioctx, image_name) as image:
            await image.write(b"d" * 8192, 0)
            await image.write(b"d" * 8192, 4 * MiB)
            assert await image.discard(0, 4 * MiB) is None
            assert await image.write_zeroes(4 * MiB, 4096) is None
            assert await image.read(0, 8192) == b"\0" * 8192
            assert await image.read(4 * MiB, 8192) == b"\0" * 4096 + b"d" * 4096
    run(main())


def test_errors(ioctx, image_name):
    async def main():
        with pytest.raises(rbd.ImageNotFound):
            await rbd.AsyncImage.open(ioctx, unique_name("missing"))
        with pytest.raises(rbd.InvalidArgument):
            await rbd.AsyncImage.open(ioctx)
        with pytest.raises(rbd.InvalidArgument):
            await rbd.AsyncImage.open(ioctx, 42)
        # Not UTF-8: ImageNotFound, as Image() raises (was UnicodeDecodeError from formatting the message).
        for bad in ({"image_id": b"\xff\xfe"}, {"name": b"\xff\xfe"}):
            with pytest.raises(rbd.ImageNotFound, match="\ufffd"):
                await rbd.AsyncImage.open(ioctx, **bad)
            with pytest.raises(rbd.ImageNotFound, match="\ufffd"):
                rbd.Image(ioctx, **bad)
        async with await rbd.AsyncImage.open(ioctx, image_name) as image:
            with pytest.raises(rbd.InvalidArgument):
                await image.read(8 * MiB, 4096)
            with pytest.raises(rbd.InvalidArgument):
                await image.write(b"x" * 4096, 8 * MiB)
            with pytest.raises(TypeError):
                image.write("text", 0)
            with pytest.raises(OverflowError):
                image.read(-1, 1)
            # A short read at the end of the image.
            await image.write(b"e" * 10, 8 * MiB - 10)
            assert await image.read(8 * MiB - 10, 4096) == b"e" * 10
    run(main())
    with pytest.raises(TypeError):
        rbd.AsyncImage()


def test_cancellation(ioctx, image_name):
    block = 64 * 1024

    async def main():
        image = await rbd.AsyncImage.open(ioctx, image_name)

        async def writer(i):
            await image.write(bytearray(os.urandom(block)), i * block)

        async def reader(i):
            return await image.read(i * block, block)

        tasks = [asyncio.ensure_future(writer(i)) for i in range(64)]
        tasks += [asyncio.ensure_future(reader(i)) for i in range(64)]
        await asyncio.sleep(0)   # let them submit
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, (asyncio.CancelledError, bytes, type(None))) for r in results)
        del tasks, results
        gc.collect()
        # A cancelled task stops waiting, not the write it submitted: flush waits for the writes still inside
        # librbd, so that none of them can land after the one below.
        await image.flush()
        # The loop and the image still work.
        assert await image.write(b"after" * 100, 0) == 500
        assert await image.read(0, 500) == b"after" * 100
        # Cancel, then close at once: close waits for the operations still inside librbd.
        pending = [asyncio.ensure_future(image.read(i * block, block)) for i in range(32)]
        await asyncio.sleep(0)
        for task in pending:
            task.cancel()
        await image.close()
        gc.collect()
    run(main())
    gc.collect()


def test_two_images_one_loop(ioctx, image_name):
    other_name = unique_name("other")
    rbd.RBD().create(ioctx, other_name, MiB)

    async def main():
        async with await rbd.AsyncImage.open(ioctx, image_name) as a, \
                await rbd.AsyncImage.open(ioctx, other_name) as b:
            await asyncio.gather(*[a.write(b"a" * 4096, i * 4096) for i in range(100)],
                                 *[b.write(b"b" * 4096, i * 4096) for i in range(100)])
            ra, rb = await asyncio.gather(a.read(0, 100 * 4096), b.read(0, 100 * 4096))
            assert ra == b"a" * 100 * 4096
            assert rb == b"b" * 100 * 4096
            assert await b.size() == MiB
    try:
        run(main())
    finally:
        rbd.RBD().remove(ioctx, other_name)


def test_hundreds_in_flight_many_images(ioctx):
    names = [unique_name("many") for _ in range(4)]
    for name in names:
        rbd.RBD().create(ioctx, name, MiB)

    async def one(name):
        async with await rbd.AsyncImage.open(ioctx, name) as image:
            payload = [os.urandom(512) for _ in range(200)]
            await asyncio.gather(*[image.write(payload[i], i * 512) for i in range(200)])
            got = await asyncio.gather(*[image.read(i * 512, 512) for i in range(200)])
            assert got == payload

    try:
        async def everything():
            await asyncio.gather(*[one(n) for n in names])
        run(everything())
    finally:
        for name in names:
            rbd.RBD().remove(ioctx, name)


def test_loop_thread_does_not_block_other_threads(ioctx, image_name):
    """Sync I/O from another thread on a separate Image proceeds while the loop runs aio."""
    stop = threading.Event()
    counts = []

    def sync_worker():
        with rbd.Image(ioctx, image_name, read_only=True) as image:
            n = 0
            while not stop.is_set():
                image.read(0, 4096)
                n += 1
            counts.append(n)

    worker = threading.Thread(target=sync_worker)
    worker.start()

    async def main():
        async with await rbd.AsyncImage.open(ioctx, image_name) as image:
            for _ in range(10):
                await asyncio.gather(*[image.read(i * 4096, 4096) for i in range(64)])

    try:
        run(main())
    finally:
        stop.set()
        worker.join(30)
    assert counts and counts[0] > 0


def test_dropped_without_close(ioctx, image_name):
    async def main():
        image = await rbd.AsyncImage.open(ioctx, image_name)
        await image.write(b"w" * 4096, 0)
        futures = [image.read(0, 4096) for _ in range(16)]
        del image
        assert [await f for f in futures] == [b"w" * 4096] * 16
    run(main())
    gc.collect()


def test_read_length_too_large_for_a_buffer(ioctx, image_name):
    # was SystemError (a negative size reached PyBytes_FromStringAndSize), raised after the op was created
    async def main():
        image = await rbd.AsyncImage.open(ioctx, image_name)
        with pytest.raises(OverflowError, match="larger than the largest possible buffer"):
            await image.read(0, 2**63)
        assert await image.read(0, 16) == b"\0" * 16
        await image.close()
    run(main())


def test_writes_under_own_advisory_lock_are_refused(ioctx):
    """As Image's: librbd would wait forever for the exclusive lock under this client's advisory lock, so the
    awaitable would never resolve; ReadOnlyImage instead, and writes work again once unlocked."""
    import rbd as _rbd
    name = unique_name("alock")
    _rbd.RBD().create(ioctx, name, 4 * MiB, features=_rbd.RBD_FEATURE_LAYERING | _rbd.RBD_FEATURE_EXCLUSIVE_LOCK)
    locker = _rbd.Image(ioctx, name)
    try:
        locker.lock_exclusive("mine")

        async def main():
            async with await _rbd.AsyncImage.open(ioctx, name) as image:
                for call in (lambda: image.write(b"x", 0), lambda: image.discard(0, 4096),
                             lambda: image.write_zeroes(0, 4096), lambda: image.flush()):
                    with pytest.raises(_rbd.ReadOnlyImage, match="advisory lock 'mine'"):
                        call()
                locker.unlock("mine")
                await image.write(b"y", 0)
                assert await image.read(0, 1) == b"y"
        run(main())
    finally:
        locker.close()
        _rbd.RBD().remove(ioctx, name)
