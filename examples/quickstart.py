"""The "Librbd (Python)" example from Ceph's documentation, run unchanged against this module.

Connects with the configuration in $CEPH_CONF (or /etc/ceph/ceph.conf), creates a 4 GiB image in the pool given
as the first argument (default: rbd), writes to it, reads it back, prints the data, and removes the image.
Done twice: once with explicit close() calls and once with context managers, as the documentation shows.
"""
import os
import sys

import rados
import rbd

CONF = os.environ.get("CEPH_CONF", "/etc/ceph/ceph.conf")
POOL = sys.argv[1] if len(sys.argv) > 1 else "rbd"


def ensure_pool(name):
    with rados.Rados(conffile=CONF) as cluster:
        if not cluster.pool_exists(name):
            cluster.create_pool(name)
            with cluster.open_ioctx(name) as ioctx:
                ioctx.application_enable("rbd")


def explicit_calls():
    cluster = rados.Rados(conffile=CONF)
    try:
        cluster.connect()
        ioctx = cluster.open_ioctx(POOL)
        try:
            rbd_inst = rbd.RBD()
            size = 4 * 1024**3  # 4 GiB
            rbd_inst.create(ioctx, 'myimage', size)
            image = rbd.Image(ioctx, 'myimage')
            try:
                data = b'foo' * 200
                image.write(data, 0)
                print(image.read(0, len(data)).decode())
            finally:
                image.close()
            rbd_inst.remove(ioctx, 'myimage')
        finally:
            ioctx.close()
    finally:
        cluster.shutdown()


def context_managers():
    with rados.Rados(conffile=CONF) as cluster:
        with cluster.open_ioctx(POOL) as ioctx:
            rbd_inst = rbd.RBD()
            size = 4 * 1024**3  # 4 GiB
            rbd_inst.create(ioctx, 'myimage', size)
            with rbd.Image(ioctx, 'myimage') as image:
                data = b'foo' * 200
                image.write(data, 0)
                print(image.read(0, len(data)).decode())
            rbd_inst.remove(ioctx, 'myimage')


if __name__ == "__main__":
    print("rbd module:", rbd.__file__, file=sys.stderr)
    ensure_pool(POOL)
    explicit_calls()
    context_managers()
