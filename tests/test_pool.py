"""Pool-level calls: pool_init and pool_stats_get."""
import inspect

import pytest

import rbd
from conftest import MiB, unique_name


@pytest.fixture
def bare_pool(cluster):
    """A fresh pool with no application enabled; deleted afterwards."""
    name = unique_name("bare")
    cluster.create_pool(name)
    try:
        yield name
    finally:
        cluster.delete_pool(name)


def test_pool_init_enables_rbd_application(cluster, bare_pool):
    with cluster.open_ioctx(bare_pool) as ioctx:
        assert "rbd" not in ioctx.application_list()
        assert rbd.RBD().pool_init(ioctx, False) is None
        assert "rbd" in ioctx.application_list()
        rbd.RBD().pool_init(ioctx, True)  # again, forced: still fine
        name = unique_name()
        rbd.RBD().create(ioctx, name, MiB)
        assert rbd.RBD().list(ioctx) == [name]


def test_pool_init_force_is_required():
    assert list(inspect.signature(rbd.RBD.pool_init).parameters) == ["self", "ioctx", "force"]
    with pytest.raises(TypeError):
        rbd.RBD().pool_init(None)


def test_pool_init_closed_or_wrong_ioctx(cluster, pool):
    ioctx = cluster.open_ioctx(pool)
    ioctx.close()
    with pytest.raises(rbd.InvalidArgument):
        rbd.RBD().pool_init(ioctx, False)
    with pytest.raises(TypeError):
        rbd.RBD().pool_init("not an ioctx", False)


def test_pool_stats_empty_namespace(cluster, pool, ioctx):
    namespace = unique_name("ns")
    rbd.RBD().namespace_create(ioctx, namespace)
    with cluster.open_ioctx(pool) as ns_ioctx:
        ns_ioctx.set_namespace(namespace)
        stats = rbd.RBD().pool_stats_get(ns_ioctx)
    assert stats == {
        "image_count": 0, "image_provisioned_bytes": 0, "image_max_provisioned_bytes": 0, "image_snap_count": 0,
        "trash_count": 0, "trash_provisioned_bytes": 0, "trash_max_provisioned_bytes": 0, "trash_snap_count": 0,
    }
    rbd.RBD().namespace_remove(ioctx, namespace)


def test_pool_stats_counts_images_snapshots_and_trash(cluster, pool, ioctx):
    # Stats are per namespace: a private one makes the expected numbers exact. Every counter gets its own value,
    # so two swapped counters would be noticed.
    r = rbd.RBD()
    namespace = unique_name("ns")
    r.namespace_create(ioctx, namespace)
    with cluster.open_ioctx(pool) as ns:
        ns.set_namespace(namespace)
        r.create(ns, "a", 4 * MiB)
        r.create(ns, "b", 8 * MiB)
        r.create(ns, "c", 16 * MiB)
        r.group_create(ns, "g1")
        with rbd.Group(ns, "g1") as g1:
            g1.add_image(ns, "a")
            g1.add_image(ns, "b")
            g1.create_snap("s")  # one snapshot on a and on b
        with rbd.Image(ns, "c") as c:  # not in a group: librbd 1.20 refuses to trash a group member
            for snap in ("s1", "s2", "s3"):
                c.create_snap(snap)  # three snapshots on c
        before = r.pool_stats_get(ns)
        r.trash_move(ns, "c")
        after = r.pool_stats_get(ns)

    assert before["image_count"] == 3
    assert before["image_max_provisioned_bytes"] == 28 * MiB
    assert 0 <= before["image_provisioned_bytes"] <= 28 * MiB
    assert before["image_snap_count"] == 5
    assert (before["trash_count"], before["trash_provisioned_bytes"], before["trash_max_provisioned_bytes"],
            before["trash_snap_count"]) == (0, 0, 0, 0)

    assert after["image_count"] == 2
    assert after["image_max_provisioned_bytes"] == 12 * MiB
    assert 0 <= after["image_provisioned_bytes"] <= 12 * MiB
    assert after["image_snap_count"] == 2
    assert after["trash_count"] == 1
    assert after["trash_max_provisioned_bytes"] == 16 * MiB
    assert 0 <= after["trash_provisioned_bytes"] <= 16 * MiB
    assert after["trash_snap_count"] == 3
    assert all(type(value) is int for value in after.values())


def test_pool_stats_bad_ioctx(cluster, pool):
    with pytest.raises(TypeError):
        rbd.RBD().pool_stats_get(5)
    ioctx = cluster.open_ioctx(pool)
    ioctx.close()
    with pytest.raises(rbd.InvalidArgument):
        rbd.RBD().pool_stats_get(ioctx)
