"""Image lifecycle and properties, and the RBD calls that create, list, rename and remove images."""
import datetime
import inspect

import pytest
import rados

import rbd
import release_data
from conftest import MiB, requires_features, run_in_child, suite_features, unique_name


def test_create_open_close(ioctx):
    name = unique_name()
    rbd.RBD().create(ioctx, name, 4 * MiB)
    image = rbd.Image(ioctx, name)
    assert image.size() == 4 * MiB
    image.close()
    image.close()  # idempotent
    rbd.RBD().remove(ioctx, name)


def test_create_existing_raises_image_exists(ioctx, image_name):
    with pytest.raises(rbd.ImageExists) as info:
        rbd.RBD().create(ioctx, image_name, MiB)
    assert info.value.errno == 17


def test_open_missing_raises_image_not_found(ioctx):
    with pytest.raises(rbd.ImageNotFound) as info:
        rbd.Image(ioctx, "no-such-image")
    assert info.value.errno == 2
    assert str(info.value).startswith("[errno 2] RBD image not found (")
    assert "no-such-image" in str(info.value)


def test_remove_missing_raises_image_not_found(ioctx):
    with pytest.raises(rbd.ImageNotFound):
        rbd.RBD().remove(ioctx, "no-such-image")


def test_create_options(ioctx):
    name = unique_name()
    rbd.RBD().create(ioctx, name, 16 * MiB, order=20, features=rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_STRIPINGV2,
                     stripe_unit=1 << 18, stripe_count=4)
    with rbd.Image(ioctx, name) as image:
        info = image.stat()
        assert info["order"] == 20 and info["obj_size"] == MiB and info["num_objs"] == 16
        assert image.stripe_unit() == 1 << 18
        assert image.stripe_count() == 4
        assert image.features() & rbd.RBD_FEATURE_STRIPINGV2
        assert not image.old_format()
    rbd.RBD().remove(ioctx, name)


def test_create_with_data_pool(cluster, ioctx):
    data_pool = unique_name("data")
    cluster.create_pool(data_pool)
    try:
        with cluster.open_ioctx(data_pool) as data_ioctx:
            data_ioctx.application_enable("rbd")
        name = unique_name()
        rbd.RBD().create(ioctx, name, 4 * MiB, data_pool=data_pool)
        with rbd.Image(ioctx, name) as image:
            assert image.data_pool_id() == cluster.pool_lookup(data_pool)
            assert image.features() & rbd.RBD_FEATURE_DATA_POOL
            image.write(b"d" * 4096, 0)
            assert image.read(0, 4096) == b"d" * 4096
        rbd.RBD().remove(ioctx, name)
    finally:
        cluster.delete_pool(data_pool)


def test_data_pool_id_defaults_to_own_pool(ioctx, image):
    assert image.data_pool_id() == ioctx.get_pool_id()


def test_old_format_rejects_new_options(ioctx):
    for kwargs in ({"features": 1}, {"stripe_unit": 65536}, {"stripe_count": 2}, {"data_pool": "x"}):
        with pytest.raises(rbd.InvalidArgument):
            rbd.RBD().create(ioctx, unique_name(), MiB, old_format=True, **kwargs)


def test_create_bad_arguments(ioctx):
    with pytest.raises(rbd.InvalidArgument):
        rbd.RBD().create(ioctx, 42, MiB)
    with pytest.raises(OverflowError):
        rbd.RBD().create(ioctx, unique_name(), -1)
    with pytest.raises(TypeError):
        rbd.RBD().create(ioctx, unique_name(), "big")
    with pytest.raises(TypeError):
        rbd.RBD().create(ioctx, unique_name(), MiB, features="layering")
    with pytest.raises(rbd.ArgumentOutOfRange):  # librbd's EDOM for an order outside 12..25
        rbd.RBD().create(ioctx, unique_name(), MiB, order=99)


def test_unicode_and_bytes_names(ioctx):
    name = "ïmage-" + unique_name()
    rbd.RBD().create(ioctx, name, MiB)
    assert name in rbd.RBD().list(ioctx)
    with rbd.Image(ioctx, name.encode()) as image:
        assert image.get_name() == name
    with rbd.Image(ioctx, name) as image:
        assert image.size() == MiB
    rbd.RBD().remove(ioctx, name.encode())
    assert name not in rbd.RBD().list(ioctx)


def test_list_and_list2(ioctx):
    names = sorted(unique_name("l") for _ in range(5))
    for name in names:
        rbd.RBD().create(ioctx, name, MiB)
    listed = rbd.RBD().list(ioctx)
    assert all(isinstance(n, str) for n in listed)
    assert set(names) <= set(listed)
    entries = list(rbd.RBD().list2(ioctx))
    by_name = {e["name"]: e["id"] for e in entries}
    assert set(names) <= set(by_name)
    for name in names:
        with rbd.Image(ioctx, name) as image:
            assert image.id() == by_name[name]
    iterator = rbd.RBD().list2(ioctx)
    assert isinstance(iterator, rbd.ImageIterator)
    assert list(iterator) == list(iterator)  # iterating twice re-yields
    for name in names:
        rbd.RBD().remove(ioctx, name)


def test_list_many_images_grows_buffers(ioctx):
    names = ["many-%03d-%s" % (i, "x" * 40) for i in range(60)]
    for name in names:
        rbd.RBD().create(ioctx, name, MiB)
    assert set(names) <= set(rbd.RBD().list(ioctx))
    assert set(names) <= {e["name"] for e in rbd.RBD().list2(ioctx)}
    for name in names:
        rbd.RBD().remove(ioctx, name)


def test_rename(ioctx, image_name):
    new_name = unique_name("renamed")
    rbd.RBD().rename(ioctx, image_name, new_name)
    assert new_name in rbd.RBD().list(ioctx) and image_name not in rbd.RBD().list(ioctx)
    rbd.RBD().rename(ioctx, new_name, image_name)
    with pytest.raises(rbd.ImageNotFound):
        rbd.RBD().rename(ioctx, "missing-" + image_name, new_name)


def test_remove_with_progress(ioctx):
    name = unique_name()
    rbd.RBD().create(ioctx, name, 8 * MiB, order=20)
    with rbd.Image(ioctx, name) as image:
        image.write(b"x" * MiB, 0)
    calls = []
    rbd.RBD().remove(ioctx, name, on_progress=lambda offset, total: calls.append((offset, total)) or 0)
    assert calls and all(total == 8 for _, total in calls)
    assert [offset for offset, _ in calls] == sorted(offset for offset, _ in calls)
    assert name not in rbd.RBD().list(ioctx)


def test_remove_progress_cancel(ioctx):
    name = unique_name()
    rbd.RBD().create(ioctx, name, 8 * MiB, order=20)
    with rbd.Image(ioctx, name) as image:
        image.write(b"x" * (8 * MiB), 0)
    with pytest.raises(rbd.OperationCanceled):
        rbd.RBD().remove(ioctx, name, on_progress=lambda offset, total: -rbd.ECANCELED)
    rbd.RBD().remove(ioctx, name)


def test_open_by_id(ioctx, image_name):
    with rbd.Image(ioctx, image_name) as image:
        image_id = image.id()
    with rbd.Image(ioctx, image_id=image_id) as image:
        assert image.get_name() == image_name
        assert repr(image) == "rbd.Image(ioctx, %r)" % image_name  # a str when opened by id
    with rbd.Image(ioctx, image_id=image_id, read_only=True) as image:
        assert image.size() == 8 * MiB
    with pytest.raises(rbd.ImageNotFound):
        rbd.Image(ioctx, image_id="0123456789ab")


def test_name_xor_id(ioctx, image_name):
    with pytest.raises(rbd.InvalidArgument):
        rbd.Image(ioctx)
    with pytest.raises(rbd.InvalidArgument):
        rbd.Image(ioctx, image_name, image_id="abc")


def test_repr_uses_bytes_name_like_upstream(image, image_name):
    assert repr(image) == "rbd.Image(ioctx, %r)" % image_name.encode()


def test_stat(image):
    info = image.stat()
    assert set(info) == {"size", "obj_size", "num_objs", "order", "block_name_prefix", "parent_pool",
                         "parent_name"}
    assert info["size"] == 8 * MiB
    assert info["obj_size"] == 1 << info["order"]
    assert info["num_objs"] == 8 * MiB // info["obj_size"]
    assert info["block_name_prefix"] == image.block_name_prefix()
    assert info["block_name_prefix"].startswith("rbd_data.")
    assert info["parent_pool"] == 2**64 - 1  # upstream's unsigned "no parent"
    assert info["parent_name"] == b""


def test_ids_and_names(image, image_name):
    assert image.get_name() == image_name
    assert image.block_name_prefix() == "rbd_data." + image.id()
    assert isinstance(image.id(), str) and len(image.id()) >= 8


def test_resize(image):
    image.resize(16 * MiB)
    assert image.size() == 16 * MiB
    image.resize(16 * MiB)  # unchanged: no call
    with pytest.raises(rbd.InvalidArgument):
        image.resize(4 * MiB, allow_shrink=False)
    assert image.size() == 16 * MiB
    image.resize(4 * MiB)
    assert image.size() == 4 * MiB
    with pytest.raises(OverflowError):
        image.resize(-1)


def test_features_and_flags(image):
    features = image.features()
    expected = suite_features()
    if expected is not None:
        assert features == expected
    assert features & rbd.RBD_FEATURE_LAYERING
    assert image.flags() == 0
    assert image.op_features() == 0
    assert image.overlap() == 0
    assert image.old_format() is False


@requires_features(rbd.RBD_FEATURE_EXCLUSIVE_LOCK)
def test_update_features(image):
    if image.features() & rbd.RBD_FEATURE_OBJECT_MAP:
        image.update_features(rbd.RBD_FEATURE_OBJECT_MAP | rbd.RBD_FEATURE_FAST_DIFF, False)
    assert not image.features() & rbd.RBD_FEATURE_OBJECT_MAP
    image.update_features(rbd.RBD_FEATURE_OBJECT_MAP, True)
    assert image.features() & rbd.RBD_FEATURE_OBJECT_MAP
    image.rebuild_object_map()
    seen = []
    image.rebuild_object_map(on_progress=lambda offset, total: seen.append(offset) or 0)
    assert image.flags() & rbd.RBD_FLAG_OBJECT_MAP_INVALID == 0
    image.update_features(rbd.RBD_FEATURE_OBJECT_MAP | rbd.RBD_FEATURE_FAST_DIFF, False)
    assert not image.features() & rbd.RBD_FEATURE_OBJECT_MAP
    with pytest.raises(rbd.InvalidArgument):
        image.update_features(rbd.RBD_FEATURE_LAYERING, False)  # not mutable


def test_rebuild_object_map_without_the_feature(ioctx):
    name = unique_name()
    rbd.RBD().create(ioctx, name, MiB, features=rbd.RBD_FEATURE_LAYERING)
    with rbd.Image(ioctx, name) as image:
        with pytest.raises(rbd.InvalidArgument):
            image.rebuild_object_map()
    rbd.RBD().remove(ioctx, name)


def test_timestamps(image):
    # Naive UTC (access/modify: naive local time) before librbd 1.20, aware UTC from 1.20 (as upstream).
    now = datetime.datetime.now(datetime.timezone.utc)
    created = release_data.as_utc(image.create_timestamp())
    assert abs((created - now).total_seconds()) < 120
    for value in (image.access_timestamp(), image.modify_timestamp()):
        assert abs((release_data.as_utc(value, local=True) - now).total_seconds()) < 120


def test_read_only_open(ioctx, image_name):
    with rbd.Image(ioctx, image_name, read_only=True) as image:
        assert image.read(0, 16) == b"\0" * 16
        with pytest.raises(rbd.ReadOnlyImage) as info:
            image.write(b"nope", 0)
        assert info.value.errno == 30
        with pytest.raises(rbd.ReadOnlyImage):
            image.resize(MiB)


CLOSED_CALLS = [
    ("size", ()), ("stat", ()), ("read", (0, 1)), ("write", (b"x", 0)), ("discard", (0, 1)),
    ("write_zeroes", (0, 1)), ("flush", ()), ("invalidate_cache", ()), ("resize", (1,)), ("id", ()),
    ("block_name_prefix", ()), ("get_name", ()), ("features", ()), ("update_features", (1, True)),
    ("flags", ()), ("op_features", ()), ("old_format", ()), ("overlap", ()), ("stripe_unit", ()),
    ("stripe_count", ()), ("data_pool_id", ()), ("create_timestamp", ()), ("access_timestamp", ()),
    ("modify_timestamp", ()), ("rebuild_object_map", ()), ("require_not_closed", ()),
]


@pytest.mark.parametrize("method,args", CLOSED_CALLS, ids=[c[0] for c in CLOSED_CALLS])
def test_closed_image_raises(ioctx, image_name, method, args):
    image = rbd.Image(ioctx, image_name)
    image.close()
    with pytest.raises(rbd.InvalidArgument, match="image is closed"):
        getattr(image, method)(*args)


def test_context_manager_closes(ioctx, image_name):
    with rbd.Image(ioctx, image_name) as image:
        image.write(b"abc", 0)
    with pytest.raises(rbd.InvalidArgument):
        image.size()


def test_context_manager_propagates(ioctx, image_name):
    with pytest.raises(KeyError):
        with rbd.Image(ioctx, image_name) as image:
            raise KeyError("inside")
    with pytest.raises(rbd.InvalidArgument):
        image.size()


def test_introspection():
    assert rbd.Image.read.__name__ == "read"
    assert "offset" in inspect.signature(rbd.Image.read).parameters
    assert rbd.Image.write.__doc__ and "bytes-like" in rbd.Image.write.__doc__
    assert list(inspect.signature(rbd.RBD.create).parameters) == [
        "self", "ioctx", "name", "size", "order", "old_format", "features", "stripe_unit", "stripe_count",
        "data_pool"]
    assert list(inspect.signature(rbd.Image.resize).parameters) == ["self", "size", "allow_shrink"]
    assert list(inspect.signature(rbd.Image.write_zeroes).parameters) == ["self", "offset", "length",
                                                                          "zero_flags"]


REMOVE_UNDER_ADVISORY_LOCK_SCRIPT = """
rbd.RBD().create(ioctx, name, 1 << 20, features=rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK)
image = rbd.Image(ioctx, name)
image.lock_exclusive("mine")
image.close()  # the advisory lock belongs to the client: it outlives the handle
try:
    rbd.RBD().remove(ioctx, name)
    out["locked"] = "ok"
except rbd.Error as exc:
    out["locked"] = [type(exc).__name__, "advisory lock 'mine'" in str(exc)]
with rbd.Image(ioctx, name) as image:
    image.unlock("mine")
rbd.RBD().remove(ioctx, name)
out["unlocked"] = name in rbd.RBD().list(ioctx)
print(json.dumps(out))
"""


@requires_features(rbd.RBD_FEATURE_EXCLUSIVE_LOCK)
def test_remove_under_an_advisory_lock_is_refused(ceph_conf, pool):
    # librbd takes the image's managed exclusive lock before deleting it; an advisory lock (same cls_lock name)
    # makes it retry forever (python3-rbd hangs). The binding checks the lockers first: ImageBusy. In a child
    # process with a timeout: a regression hangs.
    out = run_in_child(REMOVE_UNDER_ADVISORY_LOCK_SCRIPT, ceph_conf, pool, unique_name("img"))
    assert out == {"locked": ["ImageBusy", True], "unlocked": False}
