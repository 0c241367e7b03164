"""Trash: move, get, list, remove (deferment, force, progress), purge, restore."""
import datetime

import pytest

import rbd
import release_data
from conftest import MiB, run_in_child, unique_name

KEYS = ["id", "name", "source", "deletion_time", "deferment_end_time"]


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def trash_names(ioctx):
    return sorted(entry["name"] for entry in rbd.RBD().trash_list(ioctx))


def trash_id(ioctx, name):
    ids = [entry["id"] for entry in rbd.RBD().trash_list(ioctx) if entry["name"] == name]
    assert len(ids) == 1, ids
    return ids[0]


@pytest.fixture
def trashed(ioctx):
    """A fresh image moved to the trash with a one-hour deferment: (name, id). Removed afterwards."""
    name = unique_name("trashed")
    rbd.RBD().create(ioctx, name, MiB)
    rbd.RBD().trash_move(ioctx, name, 3600)
    image_id = trash_id(ioctx, name)
    yield name, image_id
    try:
        rbd.RBD().trash_remove(ioctx, image_id, force=True)
    except rbd.ImageNotFound:
        pass


def test_move_get_and_list_shape(ioctx, image_name):
    with rbd.Image(ioctx, image_name) as image:
        image_id = image.id()
    before = utc_now().replace(microsecond=0)
    rbd.RBD().trash_move(ioctx, image_name, 120)
    after = utc_now()
    assert image_name not in rbd.RBD().list(ioctx)

    entry = rbd.RBD().trash_get(ioctx, image_id)
    assert list(entry) == KEYS
    assert entry["id"] == image_id and entry["name"] == image_name and entry["source"] == "USER"
    deleted, ends = (release_data.as_utc(entry[key]) for key in ("deletion_time", "deferment_end_time"))
    # UTC, naive before librbd 1.20, as upstream (the cluster's clock may drift a little from ours).
    before, after = (t.replace(tzinfo=datetime.timezone.utc) for t in (before, after))
    assert before - datetime.timedelta(seconds=60) <= deleted <= after + datetime.timedelta(seconds=60)
    assert ends - deleted == datetime.timedelta(seconds=120)

    listed = [e for e in rbd.RBD().trash_list(ioctx) if e["id"] == image_id]
    assert listed == [entry]
    rbd.RBD().trash_remove(ioctx, image_id, force=True)


def test_default_delay_is_zero(ioctx, image_name):
    rbd.RBD().trash_move(ioctx, image_name)
    entry = rbd.RBD().trash_get(ioctx, trash_id(ioctx, image_name))
    assert entry["deferment_end_time"] == entry["deletion_time"]
    rbd.RBD().trash_remove(ioctx, entry["id"])  # no deferment: no force needed
    with pytest.raises(rbd.ImageNotFound):
        rbd.RBD().trash_get(ioctx, entry["id"])


def test_trash_iterator_is_reusable_and_public(ioctx, trashed):
    name, image_id = trashed
    iterator = rbd.TrashIterator(ioctx)
    first = list(iterator)
    assert first == list(iterator)
    assert image_id in [entry["id"] for entry in first]
    assert isinstance(rbd.RBD().trash_list(ioctx), rbd.TrashIterator)


def test_list_many_entries(cluster, pool, ioctx):
    # More entries than the iterator's first array holds.
    namespace = unique_name("ns")
    rbd.RBD().namespace_create(ioctx, namespace)
    with cluster.open_ioctx(pool) as ns:
        ns.set_namespace(namespace)
        names = ["img-%03d" % i for i in range(70)]
        for name in names:
            rbd.RBD().create(ns, name, MiB)
            rbd.RBD().trash_move(ns, name)
        assert trash_names(ns) == names
        rbd.RBD().trash_purge(ns)
        assert trash_names(ns) == []
    rbd.RBD().namespace_remove(ioctx, namespace)


def test_deferred_remove_is_refused_until_forced(ioctx, trashed):
    name, image_id = trashed
    with pytest.raises(rbd.PermissionError) as info:
        rbd.RBD().trash_remove(ioctx, image_id)
    assert info.value.errno == 1
    assert rbd.RBD().trash_get(ioctx, image_id)["name"] == name  # still there
    rbd.RBD().trash_remove(ioctx, image_id, force=True)
    with pytest.raises(rbd.ImageNotFound):
        rbd.RBD().trash_get(ioctx, image_id)


def test_remove_reports_progress(ioctx):
    name = unique_name()
    rbd.RBD().create(ioctx, name, 4 * MiB, order=20)
    with rbd.Image(ioctx, name) as image:
        for offset in range(0, 4 * MiB, MiB):
            image.write(b"x" * 4096, offset)
    rbd.RBD().trash_move(ioctx, name)
    image_id = trash_id(ioctx, name)
    calls = []
    rbd.RBD().trash_remove(ioctx, image_id, on_progress=lambda offset, total: calls.append((offset, total)))
    assert calls  # one call per object: (index, object count)
    assert all(total == 4 for _, total in calls)
    assert [offset for offset, _ in calls] == sorted(offset for offset, _ in calls)
    assert image_id not in [entry["id"] for entry in rbd.RBD().trash_list(ioctx)]


def test_remove_missing_raises_image_not_found(ioctx):
    with pytest.raises(rbd.ImageNotFound):
        rbd.RBD().trash_remove(ioctx, "0123456789ab")


def test_purge_by_expiry(cluster, pool, ioctx):
    namespace = unique_name("ns")
    rbd.RBD().namespace_create(ioctx, namespace)
    with cluster.open_ioctx(pool) as ns:
        ns.set_namespace(namespace)
        for name, delay in (("now", 0), ("hour", 3600), ("day", 86400)):
            rbd.RBD().create(ns, name, MiB)
            rbd.RBD().trash_move(ns, name, delay)
        rbd.RBD().trash_purge(ns)  # expired by now: only "now"
        assert trash_names(ns) == ["day", "hour"]
        # expire_ts is read as local time (time.mktime), as upstream.
        rbd.RBD().trash_purge(ns, datetime.datetime.now() + datetime.timedelta(hours=2))
        assert trash_names(ns) == ["day"]
        rbd.RBD().trash_purge(ns, expire_ts=datetime.datetime.now() + datetime.timedelta(days=2), threshold=-1)
        assert trash_names(ns) == []
    rbd.RBD().namespace_remove(ioctx, namespace)


def test_purge_bad_arguments(ioctx):
    with pytest.raises(TypeError, match="datetime"):  # upstream: AttributeError from expire_ts.timetuple()
        rbd.RBD().trash_purge(ioctx, 5)
    with pytest.raises(TypeError):
        rbd.RBD().trash_purge(ioctx, None, "x")
    with pytest.raises(TypeError):
        rbd.RBD().trash_purge(None)


def test_restore_under_new_name(ioctx, trashed):
    name, image_id = trashed
    new_name = unique_name("restored")
    rbd.RBD().trash_restore(ioctx, image_id, new_name)
    assert new_name in rbd.RBD().list(ioctx) and name not in rbd.RBD().list(ioctx)
    with pytest.raises(rbd.ImageNotFound):
        rbd.RBD().trash_get(ioctx, image_id)
    with rbd.Image(ioctx, new_name) as image:
        assert image.id() == image_id
        assert image.size() == MiB
    rbd.RBD().remove(ioctx, new_name)


def test_restore_keeps_data(ioctx, image_name):
    with rbd.Image(ioctx, image_name) as image:
        image.write(b"keep me", 4096)
        image_id = image.id()
    rbd.RBD().trash_move(ioctx, image_name)
    rbd.RBD().trash_restore(ioctx, image_id, image_name)
    with rbd.Image(ioctx, image_name) as image:
        assert image.read(4096, 7) == b"keep me"


def test_restore_errors(ioctx, image_name, trashed):
    name, image_id = trashed
    with pytest.raises(rbd.ImageNotFound):
        rbd.RBD().trash_restore(ioctx, "0123456789ab", "x")
    with pytest.raises(rbd.ImageExists):
        rbd.RBD().trash_restore(ioctx, image_id, image_name)


def test_move_errors(ioctx, image_name):
    with pytest.raises(rbd.ImageNotFound):
        rbd.RBD().trash_move(ioctx, unique_name("missing"))
    with pytest.raises(OverflowError):
        rbd.RBD().trash_move(ioctx, image_name, -1)
    with pytest.raises(TypeError):
        rbd.RBD().trash_move(ioctx, image_name, "10")
    assert image_name in rbd.RBD().list(ioctx)  # the refused moves left it in place
    assert image_name not in trash_names(ioctx)


def test_get_missing_raises_image_not_found(ioctx):
    with pytest.raises(rbd.ImageNotFound) as info:
        rbd.RBD().trash_get(ioctx, "0123456789ab")
    assert info.value.errno == 2


def test_bad_types_and_closed_ioctx(cluster, pool, ioctx):
    r = rbd.RBD()
    with pytest.raises(rbd.InvalidArgument):
        r.trash_move(ioctx, 5)
    with pytest.raises(rbd.InvalidArgument):
        r.trash_get(ioctx, None)
    with pytest.raises(rbd.InvalidArgument):
        r.trash_remove(ioctx, 5)
    with pytest.raises(rbd.InvalidArgument):
        r.trash_restore(ioctx, 5, "x")
    with pytest.raises(rbd.InvalidArgument):
        r.trash_restore(ioctx, "id", 5)
    with pytest.raises(TypeError):
        r.trash_list(5)
    with pytest.raises(TypeError):
        rbd.TrashIterator("ioctx")
    closed = cluster.open_ioctx(pool)
    closed.close()
    for call, args in ((r.trash_move, ("x",)), (r.trash_get, ("x",)), (r.trash_list, ()),
                       (r.trash_remove, ("x",)), (r.trash_purge, ()), (r.trash_restore, ("x", "y"))):
        with pytest.raises(rbd.InvalidArgument):
            call(closed, *args)


def test_migration_source_is_named(cluster, pool, ioctx):
    # migration_prepare puts the source image in the trash with source MIGRATION; upstream's TrashIterator raised
    # IndexError on it.
    name = unique_name("src")
    rbd.RBD().create(ioctx, name, MiB)
    with rbd.Image(ioctx, name) as image:
        source_id = image.id()
    rbd.RBD().migration_prepare(ioctx, name, ioctx, name + "-dest")
    try:
        entry = rbd.RBD().trash_get(ioctx, source_id)
        assert entry["source"] == "MIGRATION" and entry["name"] == name
        listed = [e for e in rbd.RBD().trash_list(ioctx) if e["id"] == source_id]
        assert listed == [entry]
    finally:
        rbd.RBD().migration_abort(ioctx, name + "-dest")
    assert name in rbd.RBD().list(ioctx)
    rbd.RBD().remove(ioctx, name)


TRASH_UNDER_ADVISORY_LOCK_SCRIPT = """
r = rbd.RBD()
r.create(ioctx, name, 1 << 20, features=rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK)
r.create(ioctx, name + "-later", 1 << 20, features=rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK)

image = rbd.Image(ioctx, name)
image_id = image.id()
image.lock_exclusive("mine")
out["move_locked"] = outcome(lambda: r.trash_move(ioctx, name))
image.unlock("mine")
r.trash_move(ioctx, name)
image.lock_exclusive("mine")  # the handle stays usable in the trash
r.trash_move(ioctx, name + "-later", 3600)  # not due: a purge leaves it alone
out["remove_locked"] = outcome(lambda: r.trash_remove(ioctx, image_id, True))
out["purge_locked"] = outcome(lambda: r.trash_purge(ioctx))
out["trash"] = sorted(entry["name"] for entry in r.trash_list(ioctx))
image.unlock("mine")
image.close()
out["purge_unlocked"] = outcome(lambda: r.trash_purge(ioctx))
out["trash_after"] = sorted(entry["name"] for entry in r.trash_list(ioctx))
print(json.dumps(out))
"""


def test_trash_calls_under_an_advisory_lock_are_refused(ceph_conf, pool, ioctx):
    # Moving an image to the trash and deleting it from there take its managed exclusive lock; under an advisory
    # lock (same cls_lock name) librbd retries forever (python3-rbd hangs in trash_move, trash_remove and
    # trash_purge). The binding checks the lockers first: ImageBusy, nothing moved or deleted. A purge checks only
    # the images it would delete. In a child process with a timeout: a regression hangs.
    name = unique_name("img")
    out = run_in_child(TRASH_UNDER_ADVISORY_LOCK_SCRIPT, ceph_conf, pool, name)
    assert out["move_locked"] == "ImageBusy"
    assert out["remove_locked"] == out["purge_locked"] == "ImageBusy"
    assert out["trash"] == [name, name + "-later"]
    assert out["purge_unlocked"] == "ok" and out["trash_after"] == [name + "-later"]
    rbd.RBD().trash_remove(ioctx, trash_id(ioctx, name + "-later"), True)
