"""Image.diff_iterate: changed extents of an image, since its creation or since a snapshot.

librbd reports a changed object from the start of its data to the end of its data, so the writes below start at
object boundaries (4 MiB objects) to make the expected extents exact.

Snapshots and clones are made with the Python API when this build has it, else with the `rbd` CLI.
"""
import errno
import os
import subprocess

import pytest

import rbd
from conftest import MiB, requires_features, unique_name

OBJECT = 4 * MiB


def rbd_cli(ceph_conf, *args):
    subprocess.run(["rbd", "--conf", ceph_conf] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


@pytest.fixture
def snapshots(ceph_conf, ioctx):
    """make(image_name, snap) / protect(...) create snapshots; all are removed after the test."""
    pool = ioctx.get_pool_name()
    made = []

    class Snapshots:
        def make(self, image_name, snap):
            made.append((image_name, snap))
            with rbd.Image(ioctx, image_name) as image:
                if hasattr(image, "create_snap"):
                    image.create_snap(snap)
                    return
            rbd_cli(ceph_conf, "snap", "create", "%s/%s@%s" % (pool, image_name, snap))

        def protect(self, image_name, snap):
            rbd_cli(ceph_conf, "snap", "protect", "%s/%s@%s" % (pool, image_name, snap))

        def clone(self, image_name, snap, child):
            rbd_cli(ceph_conf, "clone", "%s/%s@%s" % (pool, image_name, snap), "%s/%s" % (pool, child))

    yield Snapshots()
    for image_name, snap in reversed(made):
        spec = "%s/%s@%s" % (pool, image_name, snap)
        subprocess.run(["rbd", "--conf", ceph_conf, "snap", "unprotect", spec], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        rbd_cli(ceph_conf, "snap", "rm", spec)


def extents(image, offset=0, length=None, from_snapshot=None, **kwargs):
    found = []
    result = image.diff_iterate(offset, image.size() if length is None else length, from_snapshot,
                                lambda *args: found.append(args), **kwargs)
    assert result is None
    return found


def test_empty_image(image):
    assert extents(image) == []


def test_extents_after_writes(image):
    image.write(b"a" * 4096, 0)
    image.write(b"b" * 8192, OBJECT)
    found = extents(image)
    assert found == [(0, 4096, True), (OBJECT, 8192, True)]
    assert all(type(offset) is int and type(length) is int and type(exists) is bool
               for offset, length, exists in found)


def test_range_is_clipped(image):
    image.write(b"a" * 4096, 0)
    image.write(b"b" * 8192, OBJECT)
    assert extents(image, 0, 2048) == [(0, 2048, True)]
    assert extents(image, OBJECT + 4096, MiB) == [(OBJECT + 4096, 4096, True)]
    assert extents(image, OBJECT, OBJECT) == [(OBJECT, 8192, True)]
    assert extents(image, 2 * OBJECT, 0) == []
    assert extents(image, image.size() - MiB, MiB) == []


def test_from_snapshot_with_writes_and_discards(image, image_name, snapshots):
    image.write(b"a" * 4096, 0)
    image.write(b"b" * 8192, OBJECT)
    snapshots.make(image_name, "base")
    assert extents(image, from_snapshot="base") == []
    image.write(b"c" * 100, 100)
    image.discard(OBJECT, OBJECT)  # the whole object: it is deleted
    assert image.read(OBJECT, 8192) == b"\0" * 8192
    found = extents(image, from_snapshot="base")
    assert found == [(100, 100, True), (OBJECT, 8192, False)]
    if rbd.RBD().version()[1] >= 18:  # librbd 1.18's module: a name (str) or an id, no bytes
        assert extents(image, from_snapshot=image.snap_get_id("base")) == found
        with pytest.raises(TypeError):
            extents(image, from_snapshot=b"base")
    else:
        assert extents(image, from_snapshot=b"base") == found
    # From the creation of the image, the discarded object no longer exists at all.
    assert extents(image) == [(0, 4096, True)]


def test_whole_object(image, image_name, snapshots):
    image.resize(16 * MiB)
    image.write(b"a" * 4096, 0)
    image.write(b"b" * 8192, OBJECT + 4096)
    assert extents(image, whole_object=True) == [(0, OBJECT, True), (OBJECT, OBJECT, True)]
    snapshots.make(image_name, "base")
    image.write(b"c" * 100, 100)
    image.discard(OBJECT, OBJECT)
    image.write(b"d" * 10, 3 * OBJECT + 5)
    assert extents(image, from_snapshot="base", whole_object=True) == [
        (0, OBJECT, True), (OBJECT, OBJECT, False), (3 * OBJECT, OBJECT, True)]
    # Without whole_object: byte ranges (a new or deleted object from its start to the end of its data).
    assert extents(image, from_snapshot="base") == [(100, 100, True), (OBJECT, 4096 + 8192, False),
                                                    (3 * OBJECT, 15, True)]


def test_image_opened_at_snapshot(ioctx, image, image_name, snapshots):
    image.write(b"a" * 4096, 0)
    snapshots.make(image_name, "first")
    image.write(b"b" * 4096, OBJECT)
    with rbd.Image(ioctx, image_name, snapshot="first", read_only=True) as at_snap:
        assert extents(at_snap) == [(0, 4096, True)]
    assert extents(image) == [(0, 4096, True), (OBJECT, 4096, True)]


@requires_features(rbd.RBD_FEATURE_LAYERING)
def test_include_parent(ioctx, image, image_name, snapshots):
    image.write(b"p" * 4096, 0)
    snapshots.make(image_name, "parent-snap")
    snapshots.protect(image_name, "parent-snap")
    child = unique_name("child")
    snapshots.clone(image_name, "parent-snap", child)
    try:
        with rbd.Image(ioctx, child) as clone:
            assert clone.read(0, 4) == b"pppp"
            assert extents(clone) == [(0, 4096, True)]
            assert extents(clone, include_parent=False) == []
            clone.write(b"c" * 4096, OBJECT)
            assert extents(clone, include_parent=False) == [(OBJECT, 4096, True)]
            assert extents(clone) == [(0, 4096, True), (OBJECT, 4096, True)]
    finally:
        rbd.RBD().remove(ioctx, child)


class Stop(BaseException):
    """Not an Exception: even these propagate out of the callback."""


def test_callback_exception_stops_and_propagates(image):
    image.resize(16 * MiB)
    image.write(b"a" * 4096, 0)
    image.write(b"b" * 4096, OBJECT)
    image.write(b"c" * 4096, 2 * OBJECT)
    calls = []
    error = Stop("enough")

    def callback(offset, length, exists):
        calls.append(offset)
        raise error

    with pytest.raises(Stop) as info:
        image.diff_iterate(0, image.size(), None, callback)
    assert info.value is error
    assert len(calls) == 1  # no more Python calls once it raised

    def bad_value(offset, length, exists):
        return "not an int"

    with pytest.raises(TypeError):
        image.diff_iterate(0, image.size(), None, bad_value)
    assert len(extents(image)) == 3  # the image is fine afterwards


@pytest.mark.parametrize("code, exception", [
    (-errno.EIO, rbd.IOError), (-errno.ECANCELED, rbd.OperationCanceled), (-errno.ENOENT, rbd.ImageNotFound)])
def test_negative_return_stops_with_error(image, code, exception):
    image.write(b"a" * 4096, 0)
    image.write(b"b" * 4096, OBJECT)
    calls = []

    def callback(offset, length, exists):
        calls.append(offset)
        return code

    with pytest.raises(exception) as info:
        image.diff_iterate(0, image.size(), None, callback)
    assert info.value.errno == -code
    assert "error generating diff" in str(info.value)
    assert calls == [0]  # upstream calls on, and for -ENOENT (which librbd ignores) raises nothing


def test_positive_return_is_ignored(image):
    """As upstream: librbd only looks at negative return values, so the iteration goes on."""
    image.write(b"a" * 4096, 0)
    image.write(b"b" * 4096, OBJECT)
    calls = []

    def callback(offset, length, exists):
        calls.append(offset)
        return 7 if offset == 0 else True

    image.diff_iterate(0, image.size(), None, callback)
    assert calls == [0, OBJECT]


def test_bad_arguments(image):
    with pytest.raises(TypeError, match="callable"):
        image.diff_iterate(0, image.size(), None, None)
    with pytest.raises(TypeError, match="callable"):
        image.diff_iterate(0, image.size(), None, 42)
    if rbd.RBD().version()[1] >= 18:  # an int is a snapshot id there (test_releases.py)
        with pytest.raises(rbd.ImageNotFound):
            image.diff_iterate(0, image.size(), 2 ** 40, lambda *args: None)
    else:
        with pytest.raises(rbd.InvalidArgument):
            image.diff_iterate(0, image.size(), 5, lambda *args: None)
    with pytest.raises(rbd.ImageNotFound):
        image.diff_iterate(0, image.size(), "no-such-snapshot", lambda *args: None)
    with pytest.raises(OverflowError):
        image.diff_iterate(-1, 10, None, lambda *args: None)
    with pytest.raises(TypeError):
        image.diff_iterate("0", 10, None, lambda *args: None)
    with pytest.raises(TypeError):
        image.diff_iterate(0, 10, None, lambda *args: None, include_parent=None)
    with pytest.raises(rbd.InvalidArgument):  # past the end
        image.diff_iterate(image.size() + MiB, 10, None, lambda *args: None)


def test_closed_image(ioctx, image_name):
    image = rbd.Image(ioctx, image_name)
    image.close()
    with pytest.raises(rbd.InvalidArgument, match="image is closed"):
        image.diff_iterate(0, MiB, None, lambda *args: None)
