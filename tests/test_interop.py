"""python3-rados interop: which ioctx objects are accepted, and closed handles never reach librbd."""
import pytest
import rados

import rbd
from conftest import MiB, connect, unique_name


class FakeIoctx:
    io = 0


@pytest.mark.parametrize("bad", [None, 42, "pool", FakeIoctx(), object()])
def test_non_ioctx_is_type_error(bad):
    for call in (lambda: rbd.RBD().list(bad), lambda: rbd.RBD().create(bad, "x", MiB),
                 lambda: rbd.Image(bad, "x"), lambda: rbd.RBD().remove(bad, "x"),
                 lambda: rbd.RBD().rename(bad, "x", "y"), lambda: list(rbd.RBD().list2(bad))):
        with pytest.raises(TypeError, match="rados.Ioctx"):
            call()


def test_closed_ioctx_is_invalid_argument(cluster, pool):
    ioctx = cluster.open_ioctx(pool)
    ioctx.close()
    for call in (lambda: rbd.RBD().list(ioctx), lambda: rbd.RBD().create(ioctx, "x", MiB),
                 lambda: rbd.Image(ioctx, "x"), lambda: rbd.RBD().list2(ioctx)):
        with pytest.raises(rbd.InvalidArgument, match="ioctx is closed"):
            call()


def test_shut_down_cluster_is_invalid_argument(ceph_conf, pool):
    other = connect(ceph_conf)
    ioctx = other.open_ioctx(pool)
    other.shutdown()
    with pytest.raises(rbd.InvalidArgument, match="not connected"):
        rbd.RBD().list(ioctx)


def test_image_keeps_ioctx_alive(cluster, pool):
    ioctx = cluster.open_ioctx(pool)
    name = unique_name()
    rbd.RBD().create(ioctx, name, MiB)
    image = rbd.Image(ioctx, name)
    del ioctx  # the image holds the only reference now
    image.write(b"still here", 0)
    assert image.read(0, 10) == b"still here"
    image.close()
    with cluster.open_ioctx(pool) as ioctx:
        rbd.RBD().remove(ioctx, name)


def test_image_survives_ioctx_close(cluster, pool):
    ioctx = cluster.open_ioctx(pool)
    name = unique_name()
    rbd.RBD().create(ioctx, name, MiB)
    image = rbd.Image(ioctx, name)
    ioctx.close()  # librbd keeps its own copy of the ioctx
    image.write(b"after close", 0)
    assert image.read(0, 11) == b"after close"
    image.close()
    with cluster.open_ioctx(pool) as ioctx:
        rbd.RBD().remove(ioctx, name)


def test_namespaced_ioctx(cluster, pool):
    # librbd sees the namespace set on the Ioctx through the same handle.
    with cluster.open_ioctx(pool) as ioctx:
        name = unique_name()
        rbd.RBD().create(ioctx, name, MiB)
        ioctx.set_namespace("")
        assert name in rbd.RBD().list(ioctx)
        rbd.RBD().remove(ioctx, name)


def test_loads_our_module_not_debians():
    assert not rbd.__file__.startswith("/usr/lib/python3/")
    assert rados.__file__.startswith("/usr/lib/python3/")
