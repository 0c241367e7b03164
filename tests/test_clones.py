"""Clones and copies: RBD.clone (formats 1 and 2), parent info, flatten, children and descendants
(ChildIterator), copy, deep_copy and sparsify."""
import inspect
import os
import subprocess

import pytest

import rbd
from conftest import MiB, requires_features, unique_name

layering = requires_features(rbd.RBD_FEATURE_LAYERING)  # for the tests that clone


def rbd_cli(ceph_conf, *args):
    """Run Ceph's `rbd` command line tool against the test cluster (to move images to the trash)."""
    return subprocess.run(["rbd", "--conf", ceph_conf] + list(args), check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120).stdout


def pattern(tag, length):
    return (tag * (length // len(tag) + 1))[:length]


@pytest.fixture
def parent(ioctx, image):
    """The fresh 8 MiB image with data in both objects and a snapshot 'snap' of it."""
    image.write(pattern(b"P0", MiB), 0)
    image.write(pattern(b"P1", MiB), 6 * MiB)
    image.create_snap("snap")
    return image



def clone(ioctx, parent_image, cleanup, snap="snap", **kwargs):
    name = unique_name("clone")
    rbd.RBD().clone(ioctx, parent_image.get_name(), snap, ioctx, name, **kwargs)
    cleanup.append(name)
    return name


def image_objects(ioctx, image):
    prefix = image.block_name_prefix()
    return sorted(obj.key for obj in ioctx.list_objects() if obj.key.startswith(prefix))


# --- clone ------------------------------------------------------------------------------------------------------

@layering
def test_clone_v2_needs_no_protection(pool, ioctx, parent, cleanup):
    child_name = clone(ioctx, parent, cleanup, clone_format=2)
    assert not parent.is_protected_snap("snap")
    with rbd.Image(ioctx, child_name) as child:
        assert child.read(0, MiB) == pattern(b"P0", MiB)
        assert child.read(6 * MiB, MiB) == pattern(b"P1", MiB)
        assert child.size() == 8 * MiB
        assert child.overlap() == 8 * MiB
        child.write(b"child" * 100, 0)
        assert child.op_features() & rbd.RBD_OPERATION_FEATURE_CLONE_CHILD
        assert child.parent_info() == (pool, parent.get_name(), "snap")
        assert child.parent_id() == parent.id()
        spec = child.get_parent_image_spec()  # more keys from librbd 1.20 (test_releases.py)
        assert {k: spec[k] for k in ("pool_name", "pool_namespace", "image_name", "snap_name")} == \
            {"pool_name": pool, "pool_namespace": "", "image_name": parent.get_name(), "snap_name": "snap"}
    assert parent.read(0, MiB) == pattern(b"P0", MiB)  # the child's write stays in the child
    assert parent.op_features() & rbd.RBD_OPERATION_FEATURE_CLONE_PARENT


@layering
def test_clone_v1_needs_protection(ioctx, parent, cleanup):
    with pytest.raises(rbd.InvalidArgument):
        rbd.RBD().clone(ioctx, parent.get_name(), "snap", ioctx, unique_name(), clone_format=1)
    parent.protect_snap("snap")
    child_name = clone(ioctx, parent, cleanup, clone_format=1)
    with rbd.Image(ioctx, child_name) as child:
        assert child.read(0, MiB) == pattern(b"P0", MiB)
        assert not child.op_features() & rbd.RBD_OPERATION_FEATURE_CLONE_CHILD
        with pytest.raises(rbd.ImageBusy) as info:
            parent.unprotect_snap("snap")
        assert info.value.errno == 16
        with pytest.raises(rbd.ImageBusy):
            parent.remove_snap("snap")
        with pytest.raises(rbd.ImageBusy):
            parent.remove_snap2("snap", rbd.RBD_SNAP_REMOVE_UNPROTECT)
        child.flatten()
    parent.unprotect_snap("snap")
    parent.remove_snap("snap")


@layering
def test_clone_default_format_of_protected_snapshot(pool, ioctx, parent, cleanup):
    parent.protect_snap("snap")
    child_name = clone(ioctx, parent, cleanup)
    with rbd.Image(ioctx, child_name) as child:
        assert child.parent_info() == (pool, parent.get_name(), "snap")


@layering
def test_clone_options(ioctx, parent, cleanup):
    features = rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_STRIPINGV2
    child_name = clone(ioctx, parent, cleanup, features=features, order=20, stripe_unit=1 << 18, stripe_count=2,
                       clone_format=2)
    with rbd.Image(ioctx, child_name) as child:
        assert child.features() & ~rbd.RBD_FEATURE_OPERATIONS == features  # librbd may add OPERATIONS
        assert child.stat()["order"] == 20
        assert child.stripe_unit() == 1 << 18
        assert child.stripe_count() == 2
        assert child.read(6 * MiB, MiB) == pattern(b"P1", MiB)


@layering
def test_clone_into_another_pool(cluster, pool, ioctx, parent):
    other = unique_name("pool")
    cluster.create_pool(other)
    try:
        with cluster.open_ioctx(other) as other_ioctx:
            other_ioctx.application_enable("rbd")
            rbd.RBD().clone(ioctx, parent.get_name(), "snap", other_ioctx, "child", clone_format=2)
            with rbd.Image(other_ioctx, "child") as child:
                assert child.parent_info() == (pool, parent.get_name(), "snap")
                assert child.read(0, 4) == b"P0P0"
            assert parent.list_children() == [(other, "child")]
            rbd.RBD().remove(other_ioctx, "child")
    finally:
        cluster.delete_pool(other)


@layering
def test_clone_errors(cluster, ioctx, parent, cleanup):
    name = parent.get_name()
    clone_ = rbd.RBD().clone
    with pytest.raises(rbd.ImageNotFound):
        clone_(ioctx, name, "missing", ioctx, unique_name(), clone_format=2)
    with pytest.raises(rbd.ImageNotFound):
        clone_(ioctx, "missing", "snap", ioctx, unique_name(), clone_format=2)
    taken = clone(ioctx, parent, cleanup, clone_format=2)
    with pytest.raises(rbd.ImageExists) as info:
        clone_(ioctx, name, "snap", ioctx, taken, clone_format=2)
    assert info.value.errno == 17
    by_id = rbd.RBD().version()[1] >= 20  # librbd 1.20's clone takes a snapshot name (str) or id (int)
    for bad in (None, 5, b"nul\0"):
        with pytest.raises(rbd.InvalidArgument):
            clone_(ioctx, bad, "snap", ioctx, unique_name())
        if not by_id:
            with pytest.raises(rbd.InvalidArgument):
                clone_(ioctx, name, bad, ioctx, unique_name())
        elif bad != 5:  # an id: test_releases.py
            with pytest.raises(TypeError):
                clone_(ioctx, name, bad, ioctx, unique_name())
        with pytest.raises(rbd.InvalidArgument):
            clone_(ioctx, name, "snap", ioctx, bad)
    with pytest.raises(rbd.InvalidArgument):
        clone_(ioctx, name, "nul\0", ioctx, unique_name())
    with pytest.raises(TypeError):
        clone_("ioctx", name, "snap", ioctx, unique_name())
    with pytest.raises(TypeError):
        clone_(ioctx, name, "snap", None, unique_name())
    with pytest.raises(TypeError):
        clone_(ioctx, name, "snap", ioctx, unique_name(), features="layering")
    with pytest.raises(OverflowError):
        clone_(ioctx, name, "snap", ioctx, unique_name(), order=-1)
    with pytest.raises(rbd.InvalidArgument):
        clone_(ioctx, name, "snap", ioctx, unique_name(), data_pool=3)
    closed = cluster.open_ioctx(ioctx.get_pool_name())
    closed.close()
    with pytest.raises(rbd.InvalidArgument):
        clone_(ioctx, name, "snap", closed, unique_name())
    assert parent.list_children() == [(ioctx.get_pool_name(), taken)]


def test_no_parent(image):
    for method in (image.parent_info, image.parent_id, image.get_parent_image_spec):
        with pytest.raises(rbd.ImageNotFound) as info:
            method()
        assert info.value.errno == 2
    assert image.overlap() == 0
    with pytest.raises(rbd.InvalidArgument):
        image.flatten()
    assert image.list_children() == []
    assert list(image.list_children2()) == []
    assert list(image.list_descendants()) == []


# --- children, descendants, chains ------------------------------------------------------------------------------

@layering
def test_three_deep_chain_and_flatten(pool, ioctx, parent, cleanup):
    c1 = clone(ioctx, parent, cleanup, clone_format=2)
    with rbd.Image(ioctx, c1) as image1:
        image1.write(pattern(b"C1", MiB), MiB)
        image1.create_snap("snap")
        c2 = clone(ioctx, image1, cleanup, clone_format=2)
    with rbd.Image(ioctx, c2) as image2:
        image2.write(pattern(b"C2", MiB), 2 * MiB)
        image2.create_snap("snap")
        c3 = clone(ioctx, image2, cleanup, clone_format=2)
    expected = (pattern(b"P0", MiB) + pattern(b"C1", MiB) + pattern(b"C2", MiB) + pattern(b"C3", MiB)
                + b"\0" * (2 * MiB) + pattern(b"P1", MiB) + b"\0" * MiB)
    with rbd.Image(ioctx, c3) as image3:
        image3.write(pattern(b"C3", MiB), 3 * MiB)
        assert image3.read(0, 8 * MiB) == expected
        assert image3.parent_info() == (pool, c2, "snap")

        def child(name):
            return {"pool": pool, "pool_namespace": "", "image": name, "id": rbd.Image(ioctx, name).id(),
                    "trash": False}

        assert parent.list_children() == [(pool, c1)]
        assert list(parent.list_children2()) == [child(c1)]
        assert sorted(parent.list_descendants(), key=lambda e: e["image"]) == sorted(
            [child(c1), child(c2), child(c3)], key=lambda e: e["image"])
        with rbd.Image(ioctx, c1) as image1:
            assert image1.list_children() == [(pool, c2)]
            assert [e["image"] for e in image1.list_descendants()] in ([c2, c3], [c3, c2])

        calls = []
        image3.flatten(on_progress=lambda offset, total: calls.append((offset, total)))
        objects = (8 * MiB) // image3.stat()["obj_size"]
        assert sorted(calls) == [(i, objects) for i in range(objects)]
        assert image3.read(0, 8 * MiB) == expected
        assert image3.overlap() == 0
        with pytest.raises(rbd.ImageNotFound):
            image3.parent_info()
        assert not image3.op_features() & rbd.RBD_OPERATION_FEATURE_CLONE_CHILD
    with rbd.Image(ioctx, c2) as image2:
        assert image2.list_children() == []
        assert image2.parent_info() == (pool, c1, "snap")
        assert image2.read(0, 3 * MiB) == expected[:3 * MiB]
        image2.flatten()
        assert image2.read(0, 3 * MiB) == expected[:3 * MiB]
        deep_flatten = image2.features() & rbd.RBD_FEATURE_DEEP_FLATTEN
    # Without deep-flatten, c2's own snapshot still depends on c1.
    assert sorted(e["image"] for e in parent.list_descendants()) == ([c1] if deep_flatten else sorted([c1, c2]))


@requires_features(rbd.RBD_FEATURE_DEEP_FLATTEN)
@layering
def test_deep_flatten_detaches_snapshots_too(ioctx, parent, cleanup):
    child_name = clone(ioctx, parent, cleanup, clone_format=2)
    with rbd.Image(ioctx, child_name) as child:
        assert child.features() & rbd.RBD_FEATURE_DEEP_FLATTEN
        child.create_snap("child-snap")
        child.flatten()
        child.set_snap("child-snap")
        with pytest.raises(rbd.ImageNotFound):
            child.parent_info()  # deep-flatten also detached the snapshot
        assert child.read(0, MiB) == pattern(b"P0", MiB)
    assert parent.list_children() == []
    parent.remove_snap("snap")
    assert list(parent.list_snaps()) == []  # gone, not moved to the trash namespace


@layering
def test_list_children_excludes_trashed_children(ceph_conf, pool, ioctx, parent, cleanup):
    kept = clone(ioctx, parent, cleanup, clone_format=2)
    trashed = clone(ioctx, parent, cleanup, clone_format=2)
    with rbd.Image(ioctx, trashed) as image:
        trashed_id = image.id()
    rbd_cli(ceph_conf, "trash", "move", "%s/%s" % (pool, trashed))
    try:
        assert parent.list_children() == [(pool, kept)]
        entries = {e["image"]: e for e in parent.list_children2()}
        assert entries[trashed] == {"pool": pool, "pool_namespace": "", "image": trashed, "id": trashed_id,
                                    "trash": True}
        assert entries[kept]["trash"] is False
        assert {e["image"]: e["trash"] for e in parent.list_descendants()} == {kept: False, trashed: True}
    finally:
        rbd_cli(ceph_conf, "trash", "remove", "%s/%s" % (pool, trashed_id))


@layering
def test_list_children_of_one_snapshot(pool, ioctx, parent, cleanup):
    parent.create_snap("other")
    first = clone(ioctx, parent, cleanup, clone_format=2)
    second = clone(ioctx, parent, cleanup, snap="other", clone_format=2)
    assert sorted(parent.list_children()) == sorted([(pool, first), (pool, second)])  # head: every snapshot
    parent.set_snap("other")
    assert parent.list_children() == [(pool, second)]
    assert [e["image"] for e in parent.list_children2()] == [second]
    parent.set_snap("snap")
    assert [e["image"] for e in parent.list_descendants()] == [first]
    parent.set_snap(None)


@layering
def test_child_iterator(pool, ioctx, parent, cleanup):
    child_name = clone(ioctx, parent, cleanup, clone_format=2)
    iterator = rbd.ChildIterator(parent)
    assert list(iterator) == list(iterator)
    assert [e["image"] for e in iterator] == [child_name]
    assert [e["image"] for e in rbd.ChildIterator(parent, descendants=True)] == [child_name]
    with pytest.raises(TypeError):
        rbd.ChildIterator("image")


@layering
def test_remove_snap2_flatten_children_with_progress(ioctx, parent, cleanup):
    children = [clone(ioctx, parent, cleanup, clone_format=2) for _ in range(2)]
    calls = []
    parent.remove_snap2("snap", rbd.RBD_SNAP_REMOVE_FLATTEN, on_progress=lambda o, t: calls.append((o, t)))
    assert calls == [(1, 2), (2, 2)]  # once per flattened child
    assert list(parent.list_snaps()) == []
    for name in children:
        with rbd.Image(ioctx, name) as child:
            with pytest.raises(rbd.ImageNotFound):
                child.parent_info()
            assert child.read(6 * MiB, MiB) == pattern(b"P1", MiB)


@layering
def test_remove_snap2_progress_cannot_cancel(ioctx, parent, cleanup):
    clone(ioctx, parent, cleanup, clone_format=2)
    calls = []
    parent.remove_snap2("snap", rbd.RBD_SNAP_REMOVE_FLATTEN, on_progress=lambda o, t: calls.append(o) or 1)
    assert calls == [1]
    assert list(parent.list_snaps()) == []


# --- flatten ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("answer", [1, True, -1])
@layering
def test_flatten_canceled_by_return_value(pool, ioctx, parent, cleanup, answer):
    child_name = clone(ioctx, parent, cleanup, clone_format=2)
    with rbd.Image(ioctx, child_name) as child:
        with pytest.raises(rbd.OperationCanceled) as info:
            child.flatten(on_progress=lambda offset, total: answer)
        assert info.value.errno == 125
        assert child.parent_info() == (pool, parent.get_name(), "snap")
        assert child.read(0, MiB) == pattern(b"P0", MiB)


@layering
def test_flatten_and_sparsify_on_read_only_image(ioctx, parent, cleanup):
    child_name = clone(ioctx, parent, cleanup, clone_format=2)
    with rbd.Image(ioctx, child_name, read_only=True) as child:
        with pytest.raises(rbd.ReadOnlyImage) as info:
            child.flatten()
        assert info.value.errno == 30
        with pytest.raises(rbd.ReadOnlyImage):
            child.sparsify(4096)
        assert child.parent_info()[1] == parent.get_name()


# --- copy, deep_copy --------------------------------------------------------------------------------------------

def test_copy(ioctx, parent, cleanup):
    parent.write(b"after the snapshot", 4 * MiB)
    name = unique_name("copy")
    cleanup.append(name)
    parent.copy(ioctx, name)
    with rbd.Image(ioctx, name) as copy:
        assert copy.size() == parent.size()
        assert copy.read(0, 8 * MiB) == parent.read(0, 8 * MiB)
        assert list(copy.list_snaps()) == []  # snapshots are not copied
    with pytest.raises(rbd.ImageExists) as info:
        parent.copy(ioctx, name)
    assert info.value.errno == 17


def test_copy_options(ioctx, parent, cleanup):
    name = unique_name("copy")
    cleanup.append(name)
    features = rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_STRIPINGV2
    parent.copy(ioctx, name, features=features, order=20, stripe_unit=1 << 19, stripe_count=2)
    with rbd.Image(ioctx, name) as copy:
        assert copy.features() == features
        assert copy.stat()["order"] == 20
        assert copy.stripe_unit() == 1 << 19 and copy.stripe_count() == 2
        assert copy.read(6 * MiB, MiB) == pattern(b"P1", MiB)


@layering
def test_copy_of_snapshot_and_of_clone(ioctx, parent, cleanup):
    parent.write(pattern(b"new", MiB), 0)
    parent.set_snap("snap")
    from_snap = unique_name("copy")
    cleanup.append(from_snap)
    parent.copy(ioctx, from_snap)
    parent.set_snap(None)
    with rbd.Image(ioctx, from_snap) as copy:
        assert copy.read(0, MiB) == pattern(b"P0", MiB)
    child_name = clone(ioctx, parent, cleanup, clone_format=2)
    from_clone = unique_name("copy")
    cleanup.append(from_clone)
    with rbd.Image(ioctx, child_name) as child:
        child.copy(ioctx, from_clone)
    with rbd.Image(ioctx, from_clone) as copy:
        with pytest.raises(rbd.ImageNotFound):
            copy.parent_info()  # a copy is a full, independent image
        assert copy.read(0, MiB) == pattern(b"P0", MiB)


def test_copy_errors(ioctx, parent):
    names_before = set(rbd.RBD().list(ioctx))
    for copy in (parent.copy, parent.deep_copy):
        for bad in (None, 1, b"nul\0"):
            with pytest.raises(rbd.InvalidArgument):
                copy(ioctx, bad)
        with pytest.raises(TypeError):
            copy("ioctx", unique_name())
        with pytest.raises(TypeError):
            copy(ioctx, unique_name(), features="all")
        with pytest.raises(OverflowError):
            copy(ioctx, unique_name(), stripe_count=-2)
        with pytest.raises(rbd.ImageExists):
            copy(ioctx, parent.get_name())
    assert set(rbd.RBD().list(ioctx)) == names_before


def test_deep_copy_copies_snapshots(ioctx, image, cleanup):
    image.write(pattern(b"one", MiB), 0)
    image.create_snap("one")
    image.write(pattern(b"two", MiB), MiB)
    image.create_snap("two")
    image.write(pattern(b"head", MiB), 0)
    name = unique_name("deep")
    cleanup.append(name)
    image.deep_copy(ioctx, name, features=rbd.RBD_FEATURE_LAYERING)
    with rbd.Image(ioctx, name) as copy:
        assert copy.features() == rbd.RBD_FEATURE_LAYERING
        assert [s["name"] for s in copy.list_snaps()] == ["one", "two"]
        assert [s["size"] for s in copy.list_snaps()] == [s["size"] for s in image.list_snaps()]
        for snap in (None, "one", "two"):
            copy.set_snap(snap)
            image.set_snap(snap)
            assert copy.read(0, 2 * MiB) == image.read(0, 2 * MiB), snap
        image.set_snap(None)
        copy.set_snap(None)
        assert copy.read(0, MiB) == pattern(b"head", MiB)
    with pytest.raises(rbd.ImageExists):
        image.deep_copy(ioctx, name)


@layering
def test_deep_copy_of_clone(pool, ioctx, parent, cleanup):
    child_name = clone(ioctx, parent, cleanup, clone_format=2)
    with rbd.Image(ioctx, child_name) as child:
        child.write(b"child", 0)
        linked, flat = unique_name("linked"), unique_name("flat")
        cleanup.extend([linked, flat])
        child.deep_copy(ioctx, linked, clone_format=2)
        child.deep_copy(ioctx, flat, flatten=True)
        with rbd.Image(ioctx, linked) as copy:
            assert copy.parent_info() == (pool, parent.get_name(), "snap")
            assert copy.op_features() & rbd.RBD_OPERATION_FEATURE_CLONE_CHILD
            assert copy.read(0, MiB) == child.read(0, MiB)
        with rbd.Image(ioctx, flat) as copy:
            with pytest.raises(rbd.ImageNotFound):
                copy.parent_info()
            assert copy.read(0, 8 * MiB) == child.read(0, 8 * MiB)


# --- sparsify ---------------------------------------------------------------------------------------------------

def test_sparsify(ioctx, image):
    image.write(pattern(b"data", MiB), 0)
    image.write(b"\0" * (4 * MiB), 4 * MiB)  # a whole object of written zeros
    obj_size = image.stat()["obj_size"]
    objects_before = image_objects(ioctx, image)
    assert len(objects_before) == (8 * MiB) // obj_size
    image.sparsify(4096)
    objects_after = image_objects(ioctx, image)
    assert len(objects_after) < len(objects_before)
    assert image.read(0, MiB) == pattern(b"data", MiB)
    assert image.read(4 * MiB, 4 * MiB) == b"\0" * (4 * MiB)
    for bad in (1000, 0, 4097):
        with pytest.raises(rbd.InvalidArgument):
            image.sparsify(bad)
    with pytest.raises(TypeError):
        image.sparsify("4096")
    with pytest.raises(OverflowError):
        image.sparsify(-4096)


# --- closed images, signatures ----------------------------------------------------------------------------------

CLOSED_CALLS = [
    ("get_parent_image_spec", lambda ioctx: ()), ("parent_info", lambda ioctx: ()), ("parent_id", lambda ioctx: ()),
    ("flatten", lambda ioctx: ()), ("list_children", lambda ioctx: ()), ("list_children2", lambda ioctx: ()),
    ("list_descendants", lambda ioctx: ()), ("copy", lambda ioctx: (ioctx, unique_name())),
    ("deep_copy", lambda ioctx: (ioctx, unique_name())), ("sparsify", lambda ioctx: (4096,)),
]


@pytest.fixture(scope="module")
def closed_image(cluster, pool):
    with cluster.open_ioctx(pool) as ioctx:
        name = unique_name("closed")
        rbd.RBD().create(ioctx, name, MiB)
        image = rbd.Image(ioctx, name)
        image.close()
        yield image


@pytest.mark.parametrize("method,make_args", CLOSED_CALLS, ids=[c[0] for c in CLOSED_CALLS])
def test_closed_image_raises(ioctx, closed_image, method, make_args):
    names_before = set(rbd.RBD().list(ioctx))
    with pytest.raises(rbd.InvalidArgument, match="image is closed"):
        getattr(closed_image, method)(*make_args(ioctx))
    assert set(rbd.RBD().list(ioctx)) == names_before  # nothing was copied


def test_child_iterator_on_closed_image(closed_image):
    with pytest.raises(rbd.InvalidArgument, match="image is closed"):
        rbd.ChildIterator(closed_image)
    with pytest.raises(rbd.InvalidArgument, match="image is closed"):
        rbd.ChildIterator(closed_image, descendants=True)


def test_signatures_and_docstrings():
    snapshot = "p_snapshot" if rbd.RBD().version()[1] >= 20 else "p_snapname"  # renamed in librbd 1.20's module
    expected = {
        (rbd.RBD, "clone"): "(self, p_ioctx, p_name, %s, c_ioctx, c_name, features=None, order=None, "
                            "stripe_unit=None, stripe_count=None, data_pool=None, clone_format=None)" % snapshot,
        (rbd.Image, "get_parent_image_spec"): "(self)",
        (rbd.Image, "parent_info"): "(self)",
        (rbd.Image, "parent_id"): "(self)",
        (rbd.Image, "flatten"): "(self, on_progress=None)",
        (rbd.Image, "list_children"): "(self)",
        (rbd.Image, "list_children2"): "(self)",
        (rbd.Image, "list_descendants"): "(self)",
        (rbd.Image, "copy"): "(self, dest_ioctx, dest_name, features=None, order=None, stripe_unit=None, "
                             "stripe_count=None, data_pool=None)",
        (rbd.Image, "deep_copy"): "(self, dest_ioctx, dest_name, features=None, order=None, stripe_unit=None, "
                                  "stripe_count=None, data_pool=None, clone_format=None, flatten=False)",
        (rbd.Image, "sparsify"): "(self, sparse_size)",
    }
    for (cls, name), signature in expected.items():
        method = getattr(cls, name)
        assert str(inspect.signature(method)) == signature, name
        assert method.__doc__ and method.__doc__.strip(), name


def test_child_iterator_refuses_none():
    # ChildIterator(None) used to dereference the missing image (segfault)
    with pytest.raises(TypeError):
        rbd.ChildIterator(None)
