"""python3-rados interop: which ioctx objects are accepted, and closed handles never reach librbd."""
import subprocess
import sys

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


SHUTDOWN_SCRIPT = r"""
import sys, rados, rbd
conf, pool, name = sys.argv[1:4]
cluster = rados.Rados(conffile=conf)
cluster.connect()
ioctx = cluster.open_ioctx(pool)
rbd.RBD().create(ioctx, name, 1 << 20)
kept, dropped = rbd.Image(ioctx, name), rbd.Image(ioctx, name, read_only=True)
kept.write(b"x", 0)
cluster.shutdown()
try:
    kept.read(0, 1)
except rbd.ConnectionShutdown as exc:
    assert exc.errno == 108, exc
    print("raised", type(exc).__name__)
kept.close()   # must not hang: librbd's handle is unusable, so it is left alone
del dropped    # collected with the cluster gone: must not hang or crash either
print("done")
"""


def test_image_after_cluster_shutdown(ceph_conf, pool, ioctx):
    """Shutting the Rados down under open images: calls raise ConnectionShutdown, close/GC neither hang nor crash."""
    name = unique_name()
    result = subprocess.run([sys.executable, "-c", SHUTDOWN_SCRIPT, ceph_conf, pool, name], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["raised", "ConnectionShutdown", "done"]
    # The dead client's watch lingers for the OSD's watch timeout (30 s): the pool's deletion cleans up instead.
