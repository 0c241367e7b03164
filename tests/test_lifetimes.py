"""Lifetimes and threads: use after close, closing under load, objects collected at interpreter exit.

Each risky scenario that could crash the interpreter runs in a child process (a segfault or abort is a failure,
not a lost test run) with a time bound (a hang is a failure too), under `python -X dev`.
"""
import subprocess
import sys
import threading
import time

import pytest

import rbd
from conftest import MiB, unique_name


def run_child(script, *args, timeout=120):
    result = subprocess.run([sys.executable, "-X", "dev", "-c", script] + list(args), capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, "exit %d\nstdout:%s\nstderr:%s" % (result.returncode, result.stdout,
                                                                      result.stderr[-3000:])
    return result.stdout


EXIT_WITH_OPEN_OBJECTS = r"""
import sys, rados, rbd
conf, pool, name = sys.argv[1:4]
cluster = rados.Rados(conffile=conf)
cluster.connect()
ioctx = cluster.open_ioctx(pool)
rbd.RBD().create(ioctx, name, 1 << 20)
images = [rbd.Image(ioctx, name, read_only=True) for _ in range(3)]
writer = rbd.Image(ioctx, name)
writer.write(b"bye", 0)
# A reference cycle through a list keeps images, ioctx and cluster alive until the final garbage collection.
cycle = [images, writer, ioctx, cluster]
cycle.append(cycle)
iterator = rbd.RBD().list2(ioctx)
print("exiting with open objects")
"""


def test_exit_with_open_images_and_cycles(ceph_conf, pool):
    name = unique_name()
    out = run_child(EXIT_WITH_OPEN_OBJECTS, ceph_conf, pool, name)
    assert "exiting with open objects" in out


EXIT_AFTER_SHUTDOWN_WITHOUT_CLOSE = r"""
import sys, rados, rbd
conf, pool, name = sys.argv[1:4]
cluster = rados.Rados(conffile=conf)
cluster.connect()
ioctx = cluster.open_ioctx(pool)
rbd.RBD().create(ioctx, name, 1 << 20)
image = rbd.Image(ioctx, name)
cluster.shutdown()
print("shut down with an open image")
"""


def test_exit_after_cluster_shutdown_with_open_image(ceph_conf, pool):
    out = run_child(EXIT_AFTER_SHUTDOWN_WITHOUT_CLOSE, ceph_conf, pool, unique_name())
    assert "shut down with an open image" in out


def test_eight_threads_and_a_closer(ioctx):
    """8 threads do I/O on one image while another thread closes it: in-flight calls finish, later ones raise."""
    name = unique_name()
    rbd.RBD().create(ioctx, name, 16 * MiB)
    image = rbd.Image(ioctx, name)
    payload = b"t" * 4096
    done, failures, closed_errors = [0] * 8, [], []

    def worker(index):
        offset = index * MiB
        try:
            while True:
                image.write(payload, offset)
                if image.read(offset, 4096) != payload:
                    failures.append("bad data at %d" % offset)
                image.stat()
                done[index] += 1
        except rbd.InvalidArgument as exc:
            closed_errors.append(str(exc))
        except Exception as exc:  # anything else is a failure of the guarantee
            failures.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    closer = threading.Thread(target=image.close)
    closer.start()
    closer.join(timeout=60)
    for t in threads:
        t.join(timeout=60)
    assert not closer.is_alive() and not any(t.is_alive() for t in threads)
    assert not failures
    assert all(count > 0 for count in done)
    assert len(closed_errors) == 8 and all("image is closed" in e for e in closed_errors)
    rbd.RBD().remove(ioctx, name)


def test_close_from_many_threads_at_once(ioctx, image_name):
    image = rbd.Image(ioctx, image_name)
    errors = []

    def close():
        try:
            image.close()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=close) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    with pytest.raises(rbd.InvalidArgument):
        image.size()


def test_reopen_many_times(ioctx, image_name):
    for _ in range(50):
        with rbd.Image(ioctx, image_name) as image:
            image.write(b"again", 0)
    with rbd.Image(ioctx, image_name, read_only=True) as image:
        assert image.read(0, 5) == b"again"


def test_close_from_inside_own_progress_callback_is_refused(ioctx):
    """Closing an image from a callback of a call still running on it would wait for that call forever."""
    name = unique_name()
    rbd.RBD().create(ioctx, name, 4 * MiB, order=20)
    image = rbd.Image(ioctx, name)
    image.write(b"x" * (4 * MiB), 0)
    image.create_snap("before")
    refused = []

    def close_from_callback(offset, total):
        try:
            image.close()
        except rbd.ImageBusy as exc:
            refused.append(exc.errno)
        return 0

    worker = threading.Thread(target=image.rollback_to_snap, args=("before", close_from_callback))
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "close() from the callback hung"
    assert refused and set(refused) == {16}
    image.size()  # still open
    image.close()


def test_close_from_diff_iterate_callback_is_refused(ioctx, image_name):
    image = rbd.Image(ioctx, image_name)
    image.write(b"d" * 4096, 0)
    refused = []

    def callback(offset, length, exists):
        with pytest.raises(rbd.ImageBusy):
            image.close()
        refused.append(offset)

    image.diff_iterate(0, image.size(), None, callback)
    assert refused
    image.close()
