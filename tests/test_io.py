"""Synchronous I/O: read, write (any bytes-like object), discard, write_zeroes, flush, invalidate_cache."""
import array
import mmap
import os
import threading
import time

import pytest

import rbd
from conftest import MiB, unique_name


def test_write_read_round_trip(image):
    data = os.urandom(64 * 1024)
    assert image.write(data, 4096) == len(data)
    assert image.read(4096, len(data)) == data
    assert image.read(0, 4096) == b"\0" * 4096


@pytest.mark.parametrize("make", [
    bytes, bytearray, memoryview,
    lambda b: array.array("B", b),
    lambda b: memoryview(bytearray(b"??" + b))[2:],
], ids=["bytes", "bytearray", "memoryview", "array", "memoryview-slice"])
def test_write_accepts_bytes_like(image, make):
    payload = b"bytes-like " * 100
    assert image.write(make(payload), 512) == len(payload)
    assert image.read(512, len(payload)) == payload


def test_write_from_mmap(image):
    with mmap.mmap(-1, 8192) as region:
        region.write(b"m" * 8192)
        assert image.write(region, 0) == 8192
    assert image.read(0, 8192) == b"m" * 8192


def test_write_multibyte_items_counts_bytes(image):
    values = array.array("I", range(1024))
    assert image.write(values, 0) == 4096
    assert image.read(0, 4096) == values.tobytes()


def test_write_str_is_type_error_with_hint(image):
    with pytest.raises(TypeError, match="encode"):
        image.write("text", 0)
    with pytest.raises(TypeError, match="bytes-like"):
        image.write(12, 0)
    with pytest.raises(TypeError):
        image.write(None, 0)


def test_write_non_contiguous_is_rejected(image):
    strided = memoryview(bytearray(64))[::2]
    with pytest.raises(ValueError, match="contiguous"):
        image.write(strided, 0)


def test_write_does_not_copy_or_keep_the_buffer(image):
    data = bytearray(b"z" * 4096)
    image.write(data, 0)
    data.extend(b"more")  # resizing works again: the write released its export of the buffer
    assert image.read(0, 4096) == b"z" * 4096


def test_read_past_end(image):
    size = image.size()
    with pytest.raises(rbd.InvalidArgument) as info:
        image.read(size + 1, 10)
    assert info.value.errno == 22
    assert image.read(size - 10, 100) == b"\0" * 10  # short read at the end
    with pytest.raises(rbd.InvalidArgument):
        image.read(size, 10)


def test_write_past_end(image):
    size = image.size()
    with pytest.raises(rbd.InvalidArgument):
        image.write(b"x" * 10, size + 4096)
    assert image.size() == size


def test_read_zero_length(image):
    assert image.read(0, 0) == b""


def test_negative_and_wrong_types(image):
    with pytest.raises(OverflowError):
        image.read(-1, 10)
    with pytest.raises(OverflowError):
        image.read(0, -10)
    with pytest.raises(TypeError):
        image.read("0", 10)
    with pytest.raises(OverflowError):
        image.write(b"x", -1)
    with pytest.raises(OverflowError):
        image.discard(-1, 10)


def test_fadvise_flags(image):
    image.write(b"flags", 0, fadvise_flags=4)  # LIBRADOS_OP_FLAG_FADVISE_SEQUENTIAL
    assert image.read(0, 5, fadvise_flags=4) == b"flags"


def test_discard_and_write_zeroes(image):
    image.write(b"\xff" * (2 * MiB), 0)
    image.discard(0, MiB)
    assert image.read(0, MiB) == b"\0" * MiB
    image.write_zeroes(MiB, 4096)
    assert image.read(MiB, 4096) == b"\0" * 4096
    assert image.read(MiB + 4096, 4096) == b"\xff" * 4096
    image.write_zeroes(MiB + 8192, 4096, zero_flags=rbd.RBD_WRITE_ZEROES_FLAG_THICK_PROVISION)
    assert image.read(MiB + 8192, 4096) == b"\0" * 4096


def test_flush_and_invalidate_cache(image):
    image.write(b"cached", 0)
    image.flush()
    image.invalidate_cache()
    assert image.read(0, 6) == b"cached"


def test_second_client_sees_writes(cluster, pool, image_name, ioctx):
    with rbd.Image(ioctx, image_name) as image:
        image.write(b"shared", 100)
        image.flush()
    with cluster.open_ioctx(pool) as other_ioctx, rbd.Image(other_ioctx, image_name, read_only=True) as other:
        assert other.read(100, 6) == b"shared"


def test_gil_released_during_large_io(ioctx):
    """A second Python thread keeps running while 64 MiB reads and writes are inside librbd."""
    name = unique_name()
    rbd.RBD().create(ioctx, name, 64 * MiB)
    data = os.urandom(1 << 16) * 1024
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    thread = threading.Thread(target=ticker)
    try:
        with rbd.Image(ioctx, name) as image:
            thread.start()
            time.sleep(0.05)
            start = time.monotonic()
            image.write(data, 0)
            back = image.read(0, 64 * MiB)
            end = time.monotonic()
            stop.set()
            thread.join()
        assert back == data
        during = [t for t in ticks if start <= t <= end]
        # With the GIL held the ticker would be frozen for the whole call; it ticks every ~1 ms instead.
        assert len(during) >= max(5, (end - start) / 0.001 / 10)
        gaps = [b - a for a, b in zip(during, during[1:])]
        assert max(gaps) < max(0.5, (end - start) / 2)
    finally:
        stop.set()
        rbd.RBD().remove(ioctx, name)


def test_close_waits_for_calls_in_flight(ioctx):
    """close() from another thread while reads are inside librbd neither crashes nor frees the handle early."""
    name = unique_name()
    rbd.RBD().create(ioctx, name, 32 * MiB)
    image = rbd.Image(ioctx, name)
    errors, results = [], []

    def reader():
        try:
            while True:
                results.append(len(image.read(0, 32 * MiB)))
        except rbd.InvalidArgument as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    image.close()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert results and all(r == 32 * MiB for r in results)
    assert len(errors) == 4 and all("image is closed" in e for e in errors)
    rbd.RBD().remove(ioctx, name)


@pytest.mark.parametrize("length", [2**63, 2**64 - 1])
def test_read_length_too_large_for_a_buffer(image, length):
    # size_t lengths above PY_SSIZE_T_MAX used to reach PyBytes_FromStringAndSize as a negative size (SystemError)
    with pytest.raises(OverflowError, match="larger than the largest possible buffer"):
        image.read(0, length)
    assert image.read(0, 16) == b"\0" * 16  # the image is still usable
