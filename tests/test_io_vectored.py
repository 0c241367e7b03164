"""Zero-copy and vectored I/O beyond upstream: readinto, readv, writev, writesame, compare_and_write, and from
librbd 1.18 compare_and_writev and aio_compare_and_writev."""
import array
import errno
import gc
import mmap
import os
import pickle
import threading
import time

import numpy
import pytest

import rbd
from conftest import MiB, run_in_child, unique_name
from release_data import built_for, librbd_minor

SIZE = 8 * MiB  # the `image` fixture's size


@pytest.fixture
def pattern(image):
    """The image's first 3 MiB filled with random bytes (returned), the rest zeros."""
    data = os.urandom(3 * MiB)
    image.write(data, 0)
    return data


# ---------------------------------------------------------------- readinto

@pytest.mark.parametrize("offset,length", [(0, 4096), (1, 1), (777, 12345), (MiB - 3, 70001), (4095, 2 * MiB + 1)])
def test_readinto_bytearray_odd_offsets(image, pattern, offset, length):
    buf = bytearray(length)
    assert image.readinto(buf, offset) == length
    assert buf == pattern[offset:offset + length]


def test_readinto_memoryview_slice_fills_only_the_slice(image, pattern):
    backing = bytearray(b"#" * 1000)
    assert image.readinto(memoryview(backing)[13:513], 4099) == 500
    assert backing[:13] == b"#" * 13
    assert backing[13:513] == pattern[4099:4599]
    assert backing[513:] == b"#" * 487


def test_readinto_numpy_counts_bytes_not_items(image, pattern):
    values = numpy.zeros(1001, dtype=numpy.uint32)
    assert image.readinto(values, 3) == 4004
    assert values.tobytes() == pattern[3:4007]
    numpy.testing.assert_array_equal(values, numpy.frombuffer(pattern[3:4007], dtype=numpy.uint32))


def test_readinto_numpy_contiguous_slice(image, pattern):
    block = numpy.full((4, 256), 0xEE, dtype=numpy.uint8)
    assert image.readinto(block[1], 10) == 256  # a row of a C-contiguous 2-D array is contiguous
    assert block[1].tobytes() == pattern[10:266]
    assert (block[0] == 0xEE).all() and (block[2:] == 0xEE).all()


def test_readinto_mmap(image, pattern):
    with mmap.mmap(-1, 3 * 4096) as region:
        assert image.readinto(region, 12345) == 3 * 4096
        assert region[:] == pattern[12345:12345 + 3 * 4096]


def test_readinto_array(image, pattern):
    values = array.array("H", bytes(2 * 999))
    assert image.readinto(values, 5) == 1998
    assert values.tobytes() == pattern[5:2003]


def test_readinto_short_at_end_leaves_the_rest(image):
    image.write(b"tail", SIZE - 4)
    buf = bytearray(b"?" * 10)
    assert image.readinto(buf, SIZE - 4) == 4
    assert buf == b"tail??????"


def test_readinto_at_or_past_end_is_invalid_argument(image):
    buf = bytearray(10)
    for offset in (SIZE, SIZE + 1):
        with pytest.raises(rbd.InvalidArgument) as info:
            image.readinto(buf, offset)
        assert info.value.errno == errno.EINVAL


def test_readinto_empty_buffer(image):
    assert image.readinto(bytearray(), 0) == 0


def test_readinto_fadvise_flags(image, pattern):
    buf = bytearray(100)
    assert image.readinto(buf, 50, fadvise_flags=4) == 100  # LIBRADOS_OP_FLAG_FADVISE_SEQUENTIAL
    assert buf == pattern[50:150]


@pytest.mark.parametrize("bad", [
    b"read-only bytes",
    "a str",
    42,
    None,
    memoryview(b"read-only view"),
    memoryview(bytearray(64))[::2],
    numpy.zeros((8, 8), dtype=numpy.uint8)[:, 1],
    numpy.zeros(16, dtype=numpy.uint8)[::2],
], ids=["bytes", "str", "int", "None", "readonly-memoryview", "strided-memoryview", "numpy-column",
        "numpy-strided"])
def test_readinto_rejects_unwritable_or_non_contiguous(image, bad):
    with pytest.raises(TypeError):
        image.readinto(bad, 0)


def test_readinto_readonly_numpy_is_type_error(image):
    frozen = numpy.zeros(16, dtype=numpy.uint8)
    frozen.flags.writeable = False
    with pytest.raises(TypeError):
        image.readinto(frozen, 0)


def test_readinto_bad_offsets(image):
    with pytest.raises(OverflowError):
        image.readinto(bytearray(4), -1)
    with pytest.raises(TypeError):
        image.readinto(bytearray(4), "0")


def test_readinto_releases_the_buffer(image):
    buf = bytearray(4096)
    image.readinto(buf, 0)
    buf.extend(b"more")  # a bytearray cannot be resized while exported: the export was released
    assert len(buf) == 4100


def test_readinto_gil_released(ioctx):
    """Another Python thread keeps ticking while a 64 MiB readinto is inside librbd."""
    name = unique_name()
    rbd.RBD().create(ioctx, name, 64 * MiB)
    ticks, stop = [], threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    thread = threading.Thread(target=ticker)
    try:
        with rbd.Image(ioctx, name) as image:
            image.write(b"\x01" * (64 * MiB), 0)
            buf = bytearray(64 * MiB)
            thread.start()
            time.sleep(0.05)
            start = time.monotonic()
            for _ in range(3):
                assert image.readinto(buf, 0) == 64 * MiB
            end = time.monotonic()
            stop.set()
            thread.join()
        assert buf.count(1) == 64 * MiB
        during = [t for t in ticks if start <= t <= end]
        assert len(during) >= max(5, (end - start) / 0.001 / 10)
    finally:
        stop.set()
        rbd.RBD().remove(ioctx, name)


# ---------------------------------------------------------------- readv / writev

def test_writev_readv_round_trip_mixed_buffers(image):
    parts = [b"alpha", bytearray(b"beta" * 1000), memoryview(b"<<gamma>>")[2:-2], array.array("I", range(100)),
             numpy.arange(333, dtype=numpy.uint16), b""]
    expected = b"".join(bytes(memoryview(p).cast("B")) for p in parts)
    assert image.writev(parts, 10001) == len(expected)
    assert image.read(10001, len(expected)) == expected
    assert image.read(10000, 1) == b"\0"
    assert image.read(10001 + len(expected), 1) == b"\0"

    outs = [bytearray(3), memoryview(bytearray(5000))[1:4001], numpy.zeros(7, dtype=numpy.uint64), bytearray(0),
            array.array("B", bytes(len(expected) - 3 - 4000 - 56))]
    assert image.readv(outs, 10001) == len(expected)
    assert b"".join(bytes(memoryview(o).cast("B")) for o in outs) == expected


def test_readv_accepts_any_iterable(image, pattern):
    bufs = (bytearray(100) for _ in range(3))
    kept = []

    def gen():
        for b in bufs:
            kept.append(b)
            yield b

    assert image.readv(gen(), 0) == 300
    assert b"".join(kept) == pattern[:300]


def test_readv_short_at_end(image):
    image.write(b"0123456789", SIZE - 10)
    first, second = bytearray(b"." * 6), bytearray(b"." * 8)
    assert image.readv([first, second], SIZE - 10) == 10
    assert first == b"012345"
    assert second[:4] == b"6789"


def test_readv_past_end(image):
    with pytest.raises(rbd.InvalidArgument):
        image.readv([bytearray(4)], SIZE + 4)


def test_writev_past_end_writes_nothing(image):
    with pytest.raises(rbd.InvalidArgument, match="do not grow"):
        image.writev([b"abcd", b"efgh"], SIZE - 6)
    assert image.read(SIZE - 6, 6) == b"\0" * 6
    assert image.size() == SIZE
    with pytest.raises(rbd.InvalidArgument):
        image.writev([b"x"], SIZE + 1)
    assert image.writev([b"ab", b"cd"], SIZE - 4) == 4  # exactly up to the end is fine
    assert image.read(SIZE - 4, 4) == b"abcd"


def test_empty_vectors(image):
    assert image.readv([], 0) == 0
    assert image.writev([], 0) == 0


def test_readv_rejects_read_only_buffers(image):
    ok = bytearray(4)
    with pytest.raises(TypeError, match=r"buffers\[1\]"):
        image.readv([ok, b"bytes"], 0)
    ok.extend(b"x")  # the buffer acquired before the failure was released
    with pytest.raises(TypeError):
        image.readv([memoryview(bytearray(8))[::2]], 0)


def test_writev_rejects_bad_items(image):
    with pytest.raises(TypeError, match="encode"):
        image.writev([b"ok", "text"], 0)
    with pytest.raises(TypeError):
        image.writev([b"ok", 5], 0)
    with pytest.raises(ValueError, match="contiguous"):
        image.writev([memoryview(b"abcdef")[::2]], 0)
    assert image.read(0, 2) == b"\0\0"


def test_vectors_must_be_a_sequence(image):
    with pytest.raises(TypeError, match="sequence"):
        image.writev(b"not a list", 0)
    with pytest.raises(TypeError, match="sequence"):
        image.readv(bytearray(4), 0)
    with pytest.raises(TypeError):
        image.readv(12, 0)


def test_too_many_vectors(image):
    with pytest.raises(rbd.InvalidArgument, match="at most 1024"):
        image.writev([b"x"] * 1025, 0)
    assert image.writev([b"x"] * 1024, 0) == 1024
    assert image.read(0, 1025) == b"x" * 1024 + b"\0"


# ---------------------------------------------------------------- writesame

@pytest.mark.parametrize("data", [b"A", b"0123456789abcdef", os.urandom(512), bytearray(b"xy") * 2048])
def test_writesame_patterns(image, data):
    length = len(data) * 37
    assert image.writesame(8192 + 3, length, data) == length
    assert image.read(8192 + 3, length) == bytes(data) * 37
    assert image.read(8192 + 2, 1) == b"\0"
    assert image.read(8192 + 3 + length, 1) == b"\0"


def test_writesame_large_range_across_objects(image):
    assert image.writesame(3 * MiB, 3 * MiB, b"\x5a" * 4096, fadvise_flags=0) == 3 * MiB
    back = image.read(3 * MiB, 3 * MiB)
    assert back.count(0x5A) == 3 * MiB


def test_writesame_errors(image):
    with pytest.raises(rbd.InvalidArgument, match="multiple"):
        image.writesame(0, 10, b"abc")
    with pytest.raises(rbd.InvalidArgument, match="empty"):
        image.writesame(0, 10, b"")
    with pytest.raises(TypeError, match="encode"):
        image.writesame(0, 4, "ab")
    with pytest.raises(rbd.InvalidArgument, match="do not grow"):
        image.writesame(SIZE - 2, 4, b"ab")
    assert image.read(SIZE - 2, 2) == b"\0\0"
    with pytest.raises(OverflowError):
        image.writesame(0, -2, b"ab")


# ---------------------------------------------------------------- compare_and_write

def test_compare_and_write_match(image):
    image.write(b"0123456789", 1000)
    assert image.compare_and_write(1000, b"0123456789", bytearray(b"ABCDEFGHIJ")) == 10
    assert image.read(1000, 10) == b"ABCDEFGHIJ"


@pytest.mark.parametrize("offset,bad_index", [(1000, 5), (0, 0), (5 * MiB + 17, 9), (4 * MiB, 3)])
def test_compare_and_write_mismatch_reports_image_offset(image, offset, bad_index):
    image.write(b"0123456789", offset)
    wrong = bytearray(b"0123456789")
    wrong[bad_index] = ord("X")
    with pytest.raises(rbd.CompareMismatchError) as info:
        image.compare_and_write(offset, bytes(wrong), b"zzzzzzzzzz")
    exc = info.value
    assert exc.mismatch_offset == offset + bad_index
    assert exc.errno == errno.EILSEQ
    assert isinstance(exc, rbd.OSError) and isinstance(exc, rbd.Error)
    assert "offset %d" % (offset + bad_index) in str(exc)
    assert image.read(offset, 10) == b"0123456789"  # nothing written


def test_compare_mismatch_error_pickles():
    exc = rbd.CompareMismatchError("differs", mismatch_offset=4242)
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is rbd.CompareMismatchError
    assert copy.mismatch_offset == 4242 and copy.errno == errno.EILSEQ
    assert str(copy) == str(exc)


def test_compare_and_write_errors(image):
    with pytest.raises(rbd.InvalidArgument, match="same length"):
        image.compare_and_write(0, b"abc", b"abcd")
    with pytest.raises(rbd.InvalidArgument):  # librbd: the range must lie within one object
        image.compare_and_write(4 * MiB - 5, b"\0" * 10, b"z" * 10)
    assert image.read(4 * MiB - 5, 10) == b"\0" * 10
    with pytest.raises(TypeError):
        image.compare_and_write(0, "abc", b"abc")
    with pytest.raises(TypeError):
        image.compare_and_write(0, b"abc", None)


def test_compare_and_write_past_end_writes_nothing(image):
    image.write(b"56789", SIZE - 5)
    # librbd alone compares and writes the 5 bytes that fit and reports success
    with pytest.raises(rbd.InvalidArgument, match="do not grow"):
        image.compare_and_write(SIZE - 5, b"56789" + bytes(5), b"z" * 10)
    assert image.read(SIZE - 5, 5) == b"56789"


# librbd 1.16, 1.18 and 1.20 abort the process on an empty compare-and-write: a child process, so that a regression
# cannot take the test run down with it.
EMPTY_COMPARE_SCRIPT = """
image = rbd.Image(ioctx, name)
out["compare_and_write"] = outcome(lambda: image.compare_and_write(0, b"", bytearray()))
if hasattr(image, "compare_and_writev"):
    out["compare_and_writev"] = outcome(lambda: image.compare_and_writev(0, [b""], [b""]))
    out["compare_and_writev_none"] = outcome(lambda: image.compare_and_writev(0, [], []))
    out["aio_compare_and_writev"] = outcome(lambda: image.aio_compare_and_writev(0, [b""], [b""], None))
image.close()
print(json.dumps(out))
"""


def test_empty_compare_and_write_is_invalid_argument(ceph_conf, pool, image_name):
    out = run_in_child(EMPTY_COMPARE_SCRIPT, ceph_conf, pool, image_name)
    assert out.pop("compare_and_write") == "InvalidArgument"
    assert set(out.values()) <= {"InvalidArgument"}
    assert len(out) == (3 if built_for()[1] >= 18 else 0)


# ---------------------------------------------------------------- compare_and_writev, aio_compare_and_writev

needs_118 = pytest.mark.skipif(librbd_minor() < 18, reason="needs librbd 1.18: rbd_aio_compare_and_writev")


def test_new_calls_only_from_their_release():
    minor = built_for()[1]
    assert hasattr(rbd.Image, "compare_and_writev") == (minor >= 18)
    assert hasattr(rbd.Image, "aio_compare_and_writev") == (minor >= 18)
    # Deliberately not wrapped (docs/compatibility.md): a wrong checksum makes librbd 1.20 resend the write forever.
    assert not hasattr(rbd.Image, "aio_write_with_crc32c")
    assert not hasattr(rbd.Image, "write_with_crc32c")


def split_parts(data):
    """`data` as buffers of several kinds (bytes, bytearray, memoryview slice, numpy, array, empty)."""
    n = len(data)
    a, b, c = n // 5, n // 2, n - n // 4
    return [data[:a], bytearray(data[a:b]), memoryview(b"<" + data[b:c] + b">")[1:-1], b"",
            numpy.frombuffer(data[c:], dtype=numpy.uint8)]


@needs_118
def test_compare_and_writev_match(image):
    old, new = os.urandom(4000), os.urandom(4000)
    image.write(old, 12345)
    assert image.compare_and_writev(12345, split_parts(old), [new[:1], array.array("B", new[1:])]) == 4000
    assert image.read(12345, 4000) == new


@needs_118
@pytest.mark.parametrize("offset,bad_index", [(1000, 5), (0, 0), (5 * MiB + 17, 9), (4 * MiB, 3), (4 * MiB + 100, 7)])
def test_compare_and_writev_mismatch_reports_image_offset(image, offset, bad_index):
    image.write(b"0123456789", offset)
    wrong = bytearray(b"0123456789")
    wrong[bad_index] = ord("X")
    with pytest.raises(rbd.CompareMismatchError) as info:
        image.compare_and_writev(offset, [bytes(wrong[:4]), wrong[4:]], [b"zzzzzzzzzz"])
    exc = info.value
    # librbd reports the object's start plus the index (as for compare_and_write); the module corrects it
    assert exc.mismatch_offset == offset + bad_index
    assert exc.errno == errno.EILSEQ
    assert "offset %d" % (offset + bad_index) in str(exc) and "cmp_buffers" in str(exc)
    assert image.read(offset, 10) == b"0123456789"


@needs_118
def test_compare_and_writev_errors(image):
    with pytest.raises(rbd.InvalidArgument, match="same number of bytes"):
        image.compare_and_writev(0, [b"abc"], [b"ab", b"cd"])
    with pytest.raises(rbd.InvalidArgument):  # librbd: the range must lie within one object
        image.compare_and_writev(4 * MiB - 5, [b"\0" * 10], [b"z" * 10])
    assert image.read(4 * MiB - 5, 10) == b"\0" * 10
    image.write(b"56789", SIZE - 5)
    with pytest.raises(rbd.InvalidArgument, match="do not grow"):  # librbd alone writes the part that fits
        image.compare_and_writev(SIZE - 5, [b"56789", bytes(5)], [b"z" * 10])
    assert image.read(SIZE - 5, 5) == b"56789"
    with pytest.raises(TypeError, match="sequence"):
        image.compare_and_writev(0, b"abc", [b"abc"])
    with pytest.raises(TypeError, match=r"cmp_buffers\[1\]"):
        image.compare_and_writev(0, [b"a", "b"], [b"ab"])
    with pytest.raises(TypeError, match=r"buffers\[0\]"):
        image.compare_and_writev(0, [b"a"], [None])
    with pytest.raises(rbd.InvalidArgument, match="at most 1024"):
        image.compare_and_writev(0, [b"\0"] * 1025, [b"x"] * 1025)


@needs_118
def test_compare_and_writev_releases_the_buffers(image):
    cmp, data = bytearray(8), bytearray(b"12345678")
    image.compare_and_writev(0, [cmp], [data])
    with pytest.raises(rbd.CompareMismatchError):
        image.compare_and_writev(0, [cmp], [data])
    cmp.extend(b"x")  # a bytearray cannot be resized while exported: both exports were released
    data.extend(b"x")


@needs_118
def test_compare_and_writev_gil_released(image):
    """Another Python thread keeps ticking while 4 MiB compare-and-writes are inside librbd."""
    a, b = b"\x01" * (4 * MiB), b"\x02" * (4 * MiB)
    image.write(a, 0)
    ticks, stop = [], threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        time.sleep(0.05)
        start = time.monotonic()
        for i in range(6):
            old, new = (a, b) if i % 2 == 0 else (b, a)
            assert image.compare_and_writev(0, [old], [new]) == 4 * MiB
        end = time.monotonic()
    finally:
        stop.set()
        thread.join()
    during = [t for t in ticks if start <= t <= end]
    assert len(during) >= max(5, (end - start) / 0.001 / 10)


def wait_for(comp, results):
    comp.wait_for_complete_and_cb()
    assert len(results) == 1
    return results[0]


@needs_118
def test_aio_compare_and_writev_match_holds_the_buffers(image):
    old, new = os.urandom(6000), os.urandom(6000)
    image.write(old, 4 * MiB + 10)
    results = []

    def submit():  # the caller keeps no reference to the buffers
        return image.aio_compare_and_writev(4 * MiB + 10, split_parts(old), [bytearray(new[:10]), new[10:]],
                                            lambda c, error: results.append((c, error)))
    comp = submit()
    gc.collect()
    assert isinstance(comp, rbd.Completion)
    got, error = wait_for(comp, results)
    assert got is comp and error is None
    assert comp.get_return_value() == 0
    assert image.read(4 * MiB + 10, 6000) == new
    data = bytearray(4)
    comp = image.aio_compare_and_writev(0, [bytes(4)], [data], None)
    comp.wait_for_complete_and_cb()
    data.extend(b"x")  # released once complete


@needs_118
@pytest.mark.parametrize("offset,bad_index", [(1000, 5), (5 * MiB + 17, 9)])
def test_aio_compare_and_writev_mismatch(image, offset, bad_index):
    image.write(b"0123456789", offset)
    wrong = bytearray(b"0123456789")
    wrong[bad_index] = ord("X")
    results = []
    comp = image.aio_compare_and_writev(offset, [wrong], [b"zzzzz", b"zzzzz"],
                                        lambda c, error: results.append(error))
    error = wait_for(comp, results)
    assert type(error) is rbd.CompareMismatchError
    assert error.mismatch_offset == offset + bad_index
    assert comp.get_return_value() == -errno.EILSEQ
    assert image.read(offset, 10) == b"0123456789"


@needs_118
def test_aio_compare_and_writev_failure_in_librbd(image):
    results = []
    comp = image.aio_compare_and_writev(4 * MiB - 5, [bytes(10)], [b"z" * 10], lambda c, e: results.append(e))
    assert type(wait_for(comp, results)) is rbd.InvalidArgument  # crosses an object boundary
    assert comp.get_return_value() == -errno.EINVAL
    assert image.read(4 * MiB - 5, 10) == bytes(10)


@needs_118
def test_aio_compare_and_writev_refused_before_submission(image):
    called = []
    with pytest.raises(rbd.InvalidArgument, match="do not grow"):
        image.aio_compare_and_writev(SIZE - 5, [bytes(10)], [b"z" * 10], called.append)
    with pytest.raises(rbd.InvalidArgument, match="same number of bytes"):
        image.aio_compare_and_writev(0, [b"a"], [b"ab"], called.append)
    with pytest.raises(TypeError, match="callable"):
        image.aio_compare_and_writev(0, [b"\0"], [b"a"], 42)
    with pytest.raises(TypeError, match="sequence"):
        image.aio_compare_and_writev(0, [b"\0"], b"a", None)
    assert image.read(SIZE - 5, 5) == bytes(5)
    image.close()  # nothing left in flight
    assert called == []


# ---------------------------------------------------------------- closed and read-only images

def test_closed_image(ioctx, image_name):
    image = rbd.Image(ioctx, image_name)
    image.close()
    calls = [
        lambda: image.readinto(bytearray(4), 0),
        lambda: image.readv([bytearray(4)], 0),
        lambda: image.writev([b"x"], 0),
        lambda: image.readv([], 0),
        lambda: image.writesame(0, 4, b"x"),
        lambda: image.compare_and_write(0, b"\0", b"x"),
    ]
    if built_for()[1] >= 18:
        calls += [lambda: image.compare_and_writev(0, [b"\0"], [b"x"]),
                  lambda: image.aio_compare_and_writev(0, [b"\0"], [b"x"], None)]
    for call in calls:
        with pytest.raises(rbd.InvalidArgument, match="closed"):
            call()


def test_read_only_image(ioctx, image_name):
    with rbd.Image(ioctx, image_name, read_only=True) as image:
        calls = [lambda: image.writev([b"x"], 0), lambda: image.writesame(0, 4, b"x"),
                 lambda: image.compare_and_write(0, b"\0", b"x")]
        if built_for()[1] >= 18:
            calls.append(lambda: image.compare_and_writev(0, [b"\0"], [b"x"]))
        for call in calls:
            with pytest.raises(rbd.ReadOnlyImage):
                call()
        if built_for()[1] >= 18:  # librbd reports it when the operation completes
            errors = []
            image.aio_compare_and_writev(0, [b"\0"], [b"x"], lambda c, e: errors.append(e)).wait_for_complete_and_cb()
            assert [type(e) for e in errors] == [rbd.ReadOnlyImage]
        buf = bytearray(4)
        assert image.readinto(buf, 0) == 4 and buf == b"\0" * 4
