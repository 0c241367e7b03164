"""rbd.ImageFile: an io.RawIOBase over an open image, under the standard library's file consumers."""
import errno
import gc
import hashlib
import io
import os
import shutil
import sys
import tarfile
import zipfile

import numpy
import pytest

import rbd
from conftest import MiB, unique_name

SIZE = 8 * MiB  # the `image` fixture's size


@pytest.fixture
def local(image):
    """A local copy of the image: random data in the first 5 MiB + 3 bytes, zeros after."""
    data = bytearray(SIZE)
    data[:5 * MiB + 3] = os.urandom(5 * MiB + 3)
    image.write(bytes(data[:5 * MiB + 3]), 0)
    return data


def test_is_a_raw_io(image):
    f = rbd.ImageFile(image)
    assert isinstance(f, io.RawIOBase) and isinstance(f, io.IOBase)
    assert f.readable() and f.writable() and f.seekable()
    assert f.tell() == 0 and f.image is image
    assert "ImageFile" in repr(f)
    with pytest.raises(io.UnsupportedOperation):
        f.fileno()
    with pytest.raises(io.UnsupportedOperation):
        f.truncate(0)
    f.close()


def test_rejects_non_images(image):
    with pytest.raises(TypeError, match="rbd.Image"):
        rbd.ImageFile(io.BytesIO())


def test_half_built_file_closes_quietly():
    # io's finalizer closes an object whose __init__ raised; Python 3.13+ reports what close() or repr() raise.
    reported = []
    previous, sys.unraisablehook = sys.unraisablehook, reported.append
    try:
        with pytest.raises(TypeError):
            rbd.ImageFile(io.BytesIO())
        gc.collect()
    finally:
        sys.unraisablehook = previous
    assert reported == []
    f = rbd.ImageFile.__new__(rbd.ImageFile)
    assert "rbd.ImageFile" in repr(f)
    f.close()
    assert f.closed


def test_read_and_tell(image, local):
    f = rbd.ImageFile(image)
    assert f.read(10) == local[:10]
    assert f.tell() == 10
    assert f.read(0) == b""
    assert f.read(MiB + 7) == local[10:MiB + 17]
    assert f.tell() == MiB + 17
    f.seek(SIZE - 5)
    assert f.read(100) == local[-5:]  # short at the end
    assert f.read(100) == b"" and f.read() == b"" and f.readall() == b""
    assert f.tell() == SIZE


def test_readall(image, local):
    with rbd.ImageFile(image) as f:
        f.seek(3 * MiB + 1)
        assert f.read() == local[3 * MiB + 1:]
        f.seek(1)
        assert f.read(None) == local[1:]
        f.seek(2)
        assert f.readall() == local[2:]


def test_readinto_buffer_kinds(image, local):
    f = rbd.ImageFile(image)
    f.seek(4097)
    buf = bytearray(5000)
    assert f.readinto(buf) == 5000 and buf == local[4097:9097]
    arr = numpy.zeros(100, dtype=numpy.uint32)
    assert f.readinto(arr) == 400 and arr.tobytes() == local[9097:9497]
    backing = bytearray(b"-" * 30)
    assert f.readinto(memoryview(backing)[5:25]) == 20
    assert backing == b"-" * 5 + local[9497:9517] + b"-" * 5
    f.seek(SIZE - 3)
    buf = bytearray(b"?" * 8)
    assert f.readinto(buf) == 3 and buf == local[-3:] + b"?????"
    assert f.readinto(buf) == 0
    with pytest.raises(TypeError):
        f.readinto(b"read-only")


def test_seek_whences(image, local):
    f = rbd.ImageFile(image)
    assert f.seek(100) == 100
    assert f.seek(50, io.SEEK_CUR) == 150
    assert f.seek(-20, os.SEEK_CUR) == 130
    assert f.read(4) == local[130:134]
    assert f.seek(0, io.SEEK_END) == SIZE
    assert f.seek(-10, io.SEEK_END) == SIZE - 10
    assert f.read() == local[-10:]
    with pytest.raises(ValueError, match="negative"):
        f.seek(-1)
    with pytest.raises(ValueError, match="negative"):
        f.seek(-SIZE - 1, io.SEEK_END)
    with pytest.raises(ValueError, match="whence"):
        f.seek(0, 7)
    with pytest.raises(TypeError):
        f.seek("0")
    assert f.tell() == SIZE  # failed seeks leave the position alone


def test_seek_past_end(image):
    f = rbd.ImageFile(image)
    assert f.seek(SIZE + 4096) == SIZE + 4096
    assert f.tell() == SIZE + 4096
    assert f.read(10) == b""
    assert f.readinto(bytearray(10)) == 0
    with pytest.raises(OSError) as info:
        f.write(b"x")
    assert info.value.errno == errno.ENOSPC
    assert f.seek(SIZE + 10, io.SEEK_SET) == SIZE + 10


def test_write_and_flush(image):
    f = rbd.ImageFile(image)
    f.seek(1000)
    assert f.write(b"hello") == 5
    assert f.write(bytearray(b" world")) == 6
    assert f.write(numpy.arange(4, dtype=numpy.uint16)) == 8
    assert f.write(b"") == 0
    assert f.tell() == 1019
    f.flush()
    assert image.read(1000, 19) == b"hello world" + numpy.arange(4, dtype=numpy.uint16).tobytes()
    with pytest.raises(TypeError):
        f.write("text")


def test_write_past_end_is_clear_and_writes_nothing(image):
    f = rbd.ImageFile(image)
    f.seek(SIZE - 4)
    with pytest.raises(OSError, match="do not grow") as info:
        f.write(b"123456")
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    assert f.tell() == SIZE - 4
    assert image.read(SIZE - 4, 4) == b"\0" * 4
    assert image.size() == SIZE
    assert f.write(b"1234") == 4  # exactly up to the end fits
    assert image.read(SIZE - 4, 4) == b"1234"


def test_close_keeps_the_image_open(image):
    f = rbd.ImageFile(image)
    f.write(b"abc")
    f.close()
    assert f.closed
    f.close()  # twice is fine
    assert image.read(0, 3) == b"abc"  # the image is still usable
    for call in (f.read, f.tell, f.readable, f.writable, f.seekable, f.flush, lambda: f.seek(0),
                 lambda: f.write(b"x"), lambda: f.readinto(bytearray(1))):
        with pytest.raises(ValueError, match="closed"):
            call()


def test_close_image_option(ioctx, image_name):
    image = rbd.Image(ioctx, image_name)
    with rbd.ImageFile(image, close_image=True) as f:
        f.write(b"closing")
    with pytest.raises(rbd.InvalidArgument, match="closed"):
        image.size()
    with rbd.Image(ioctx, image_name) as again:
        assert again.read(0, 7) == b"closing"


def test_image_closed_first(ioctx, image_name):
    image = rbd.Image(ioctx, image_name)
    f = rbd.ImageFile(image)
    image.close()
    with pytest.raises(rbd.InvalidArgument, match="closed"):
        f.read(1)
    f.close()  # does not raise: nothing to flush through a closed image
    assert f.closed
    with pytest.raises(rbd.InvalidArgument, match="closed"):
        rbd.ImageFile(image)


def test_read_only_image_gives_read_only_file(ioctx, image_name):
    with rbd.Image(ioctx, image_name) as image:
        image.write(b"data", 0)
    with rbd.Image(ioctx, image_name, read_only=True) as image:
        f = rbd.ImageFile(image)
        assert f.readable() and not f.writable()
        assert f.read(4) == b"data"
        with pytest.raises(io.UnsupportedOperation, match="read-only"):
            f.write(b"x")
        f.flush()
        f.close()
        with pytest.raises(io.UnsupportedOperation):
            io.BufferedWriter(rbd.ImageFile(image))


def test_writable_false_forces_read_only(image):
    f = rbd.ImageFile(image, writable=False)
    assert not f.writable()
    with pytest.raises(io.UnsupportedOperation):
        f.write(b"x")
    assert image.read(0, 1) == b"\0"


# ---------------------------------------------------------------- standard-library consumers

def test_buffered_reader(image, local):
    reader = io.BufferedReader(rbd.ImageFile(image), buffer_size=64 * 1024)
    assert reader.read(3) == local[:3]
    assert reader.peek(1)[:1] == local[3:4]
    reader.seek(MiB - 1)
    assert reader.read(70000) == local[MiB - 1:MiB - 1 + 70000]
    assert reader.tell() == MiB - 1 + 70000
    reader.seek(-6, io.SEEK_END)
    assert reader.read() == local[-6:]
    assert reader.read(1) == b""
    reader.close()


def test_buffered_reader_lines(image):
    text = b"".join(b"line %d\n" % i for i in range(5000))
    image.write(text, 0)
    reader = io.BufferedReader(rbd.ImageFile(image))
    for i in range(5000):
        assert reader.readline() == b"line %d\n" % i
    assert reader.readline() == b"\0" * (SIZE - len(text))  # no newline left: the rest up to the end
    assert reader.readline() == b""
    wrapper = io.TextIOWrapper(io.BufferedReader(rbd.ImageFile(image)), encoding="ascii")
    assert wrapper.readline() == "line 0\n"


def test_buffered_writer(image):
    payload = os.urandom(300 * 1024 + 5)
    writer = io.BufferedWriter(rbd.ImageFile(image), buffer_size=8192)
    writer.seek(12345)
    for i in range(0, len(payload), 1000):
        writer.write(payload[i:i + 1000])
    writer.flush()
    assert image.read(12345, len(payload)) == payload
    writer.seek(SIZE - 10)
    writer.write(b"x" * 20)  # buffered: the error comes when the buffer reaches the image
    with pytest.raises(OSError, match="do not grow"):
        writer.flush()
    assert image.read(SIZE - 10, 10) == b"\0" * 10
    # The 20 bytes stay buffered: close() tries again, fails again, and closes all the same (otherwise the
    # finalizer's close would fail, which Python 3.13+ reports).
    with pytest.raises(OSError, match="do not grow"):
        writer.close()
    assert writer.closed and writer.raw.closed


def test_buffered_random(image, local):
    f = io.BufferedRandom(rbd.ImageFile(image), buffer_size=4096)
    f.seek(100)
    f.write(b"ABCDEFGH")
    f.seek(98)
    assert f.read(12) == local[98:100] + b"ABCDEFGH" + local[108:110]
    f.seek(-4, io.SEEK_CUR)
    f.write(b"zz")
    f.flush()
    local[100:108] = b"ABCDEFGH"
    local[106:108] = b"zz"
    assert image.read(0, 200) == local[:200]
    f.close()


def test_copyfileobj_both_ways(ioctx, image, local):
    out = io.BytesIO()
    shutil.copyfileobj(rbd.ImageFile(image), out, length=1 << 20)
    assert out.getvalue() == local

    name = unique_name()
    rbd.RBD().create(ioctx, name, SIZE)
    try:
        with rbd.Image(ioctx, name) as target:
            with rbd.ImageFile(target) as dst:
                shutil.copyfileobj(io.BytesIO(bytes(local)), dst)
                assert dst.tell() == SIZE
            assert target.read(0, SIZE) == local
            with rbd.ImageFile(image) as src, rbd.ImageFile(target) as dst:  # image to image
                src.seek(MiB)
                dst.seek(0)
                shutil.copyfileobj(src, dst, length=123457)
            assert target.read(0, SIZE - MiB) == local[MiB:]
    finally:
        rbd.RBD().remove(ioctx, name)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="hashlib.file_digest is new in Python 3.11")
def test_hashlib_file_digest(image, local):
    with rbd.ImageFile(image) as f:
        assert hashlib.file_digest(f, "sha256").hexdigest() == hashlib.sha256(local).hexdigest()
    with rbd.ImageFile(image) as f:
        f.seek(SIZE - 100)
        assert hashlib.file_digest(f, "md5").digest() == hashlib.md5(local[-100:]).digest()


def _members():
    return [("a.txt", b"alpha\n" * 100), ("dir/b.bin", os.urandom(200000)), ("empty", b"")]


def test_tarfile_write_and_read(image):
    members = _members()

    def build(fileobj):
        with tarfile.open(fileobj=fileobj, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size, info.mtime = len(data), 1700000000
                tar.addfile(info, io.BytesIO(data))

    expected = io.BytesIO()
    build(expected)
    with rbd.ImageFile(image) as f:
        build(f)
        end = f.tell()
    assert end == len(expected.getvalue())
    assert image.read(0, end) == expected.getvalue()

    with tarfile.open(fileobj=rbd.ImageFile(image), mode="r:") as tar:
        assert tar.getnames() == [name for name, _ in members]
        for name, data in members:
            assert tar.extractfile(name).read() == data
    with tarfile.open(fileobj=io.BufferedReader(rbd.ImageFile(image)), mode="r|") as tar:  # streaming
        assert [m.name for m in tar] == [name for name, _ in members]


def test_zipfile_write_and_read(image):
    members = _members()

    def build(fileobj):
        with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in members:
                archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 6)), data,
                                 compress_type=zipfile.ZIP_DEFLATED)

    expected = io.BytesIO()
    build(expected)
    f = rbd.ImageFile(image)
    build(f)  # zipfile seeks back to patch headers, and closes `f`'s archive without closing `f`
    end = f.tell()
    f.close()
    assert end == len(expected.getvalue())
    assert image.read(0, end) == expected.getvalue()

    # A zip is found from its end: shrink the image to the archive, then read it through the file.
    image.resize(end)
    with zipfile.ZipFile(rbd.ImageFile(image)) as archive:
        assert archive.namelist() == [name for name, _ in members]
        assert archive.testzip() is None
        for name, data in members:
            assert archive.read(name) == data


def test_zipfile_streamed_member_write(image):
    """ZipFile.open(name, "w") streams a member and seeks back to fix its header."""
    data = os.urandom(100000)
    with rbd.ImageFile(image) as f:
        with zipfile.ZipFile(f, "w") as archive:
            with archive.open("stream.bin", "w") as member:
                for i in range(0, len(data), 7000):
                    member.write(data[i:i + 7000])
        end = f.tell()
    image.resize(end)
    with zipfile.ZipFile(rbd.ImageFile(image, writable=False)) as archive:
        assert archive.read("stream.bin") == data
