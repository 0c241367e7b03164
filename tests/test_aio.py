"""Asynchronous I/O with callbacks: Completion, Image.aio_*, RBD.aio_open_image, lifetimes and threads."""
import gc
import os
import random
import sys
import threading
import time

import pytest

import rbd
from conftest import MiB, unique_name


def run_with_timeout(fn, seconds=30):
    """Run `fn` in a thread; fail (instead of hanging) if it does not finish in time; re-raise its exception."""
    outcome = {}

    def target():
        try:
            outcome["result"] = fn()
        except BaseException as exc:  # noqa: B902 - handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "deadlock: did not finish within %s s" % seconds
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


def test_aio_write_read_round_trip(image):
    data = os.urandom(8192)
    written = []
    comp = image.aio_write(data, 4096, lambda c: written.append(c.get_return_value()))
    assert isinstance(comp, rbd.Completion)
    comp.wait_for_complete_and_cb()
    assert written == [0]
    assert comp.is_complete()
    assert comp.get_return_value() == 0
    got = []
    comp = image.aio_read(4096, 8192, lambda c, d: got.append(d))
    comp.wait_for_complete_and_cb()
    assert got == [data]
    assert comp.get_return_value() == 8192
    assert image.read(4096, 8192) == data


@pytest.mark.parametrize("depth", [1, 128])
def test_round_trip_at_queue_depth(image, depth):
    block = 4096
    blocks = {i: os.urandom(block) for i in range(depth)}
    comps = [image.aio_write(blocks[i], i * block, None) for i in range(depth)]
    for comp in comps:
        comp.wait_for_complete_and_cb()
        assert comp.get_return_value() == 0
    results = {}
    lock = threading.Lock()

    def on_read(i):
        def cb(comp, data):
            with lock:
                results[i] = data
        return cb

    comps = [image.aio_read(i * block, block, on_read(i)) for i in range(depth)]
    for comp in comps:
        comp.wait_for_complete_and_cb()
    assert results == blocks


def assert_only_held_by_caller(obj, probe):
    """obj is referenced by the caller's variable alone: as many references as probe, a fresh object the caller
    holds the same way. (Compared rather than a fixed number: Python 3.14 counts borrowed references differently,
    so sys.getrefcount of a plain local is 2 up to 3.13 and 1 from 3.14.)"""
    assert sys.getrefcount(obj) == sys.getrefcount(probe)


def test_refcount_after_wait(image):
    probe = object()
    comp = image.aio_write(b"a" * 512, 0, lambda c: None)
    comp.wait_for_complete_and_cb()
    assert_only_held_by_caller(comp, probe)
    comp = image.aio_read(0, 512, lambda c, d: None)
    comp.wait_for_complete_and_cb()
    assert_only_held_by_caller(comp, probe)
    comp = image.aio_flush(None)
    comp.wait_for_complete_and_cb()
    assert_only_held_by_caller(comp, probe)


def test_read_error_and_short_read(image):
    got = []
    comp = image.aio_read(8 * MiB, 4096, lambda c, d: got.append(d))
    comp.wait_for_complete_and_cb()
    assert got == [None]
    assert comp.get_return_value() == -22
    image.write(b"z" * 100, 8 * MiB - 100)
    comp = image.aio_read(8 * MiB - 100, 4096, lambda c, d: got.append(d))
    comp.wait_for_complete_and_cb()
    assert got[1] == b"z" * 100
    assert comp.get_return_value() == 100


def test_write_error_reports_errno(image):
    comp = image.aio_write(b"x" * 4096, 8 * MiB, None)
    comp.wait_for_complete_and_cb()
    assert comp.get_return_value() == -22


def test_callback_exception_is_reraised(image):
    def boom(comp, data):
        raise ValueError("from the callback")

    comp = image.aio_read(0, 16, boom)
    with pytest.raises(ValueError, match="from the callback") as info:
        comp.wait_for_complete_and_cb()
    # The traceback reaches into the callback.
    assert any(entry.name == "boom" for entry in info.traceback)


def test_discard_and_write_zeroes(image):
    image.write(b"d" * 8192, 0)
    image.write(b"d" * 8192, 4 * MiB)
    comp = image.aio_discard(0, 4 * MiB, None)  # a whole object: small discards may be ignored
    comp.wait_for_complete_and_cb()
    assert comp.get_return_value() == 0
    calls = []
    comp = image.aio_write_zeroes(4 * MiB + 4096, 4096, lambda c: calls.append(c.get_return_value()))
    comp.wait_for_complete_and_cb()
    assert calls == [0]
    assert image.read(0, 8192) == b"\0" * 8192
    assert image.read(4 * MiB, 8192) == b"d" * 4096 + b"\0" * 4096


def test_flush(image):
    calls = []
    image.aio_write(b"f" * 4096, 0, None)
    comp = image.aio_flush(lambda c: calls.append(c))
    comp.wait_for_complete_and_cb()
    assert calls == [comp]
    assert image.read(0, 4096) == b"f" * 4096


def test_oncomplete_none_everywhere(image):
    comps = [image.aio_write(b"n" * 512, 0, None), image.aio_read(0, 512, None), image.aio_discard(0, 512, None),
             image.aio_write_zeroes(0, 512, None), image.aio_flush(None),
             image.aio_mirror_image_get_mode(None), image.aio_mirror_image_get_info(None)]
    # librbd 1.20 answers the mirror mode of an image without mirroring with -EINVAL (before: 0, "journal").
    expected = [0, 512, 0, 0, 0, -22 if rbd.RBD().version()[1] >= 20 else 0, 0]  # -22: -EINVAL
    for comp, result in zip(comps, expected):
        comp.wait_for_complete_and_cb()
        assert comp.get_return_value() == result


def test_bad_arguments(image):
    with pytest.raises(TypeError):
        image.aio_write("text", 0, None)
    with pytest.raises(TypeError):
        image.aio_read(0, 16, "not callable")
    with pytest.raises(OverflowError):
        image.aio_read(-1, 16, None)
    bare = rbd.Completion()
    for call in [bare.wait_for_complete_and_cb, bare.is_complete, bare.get_return_value]:
        with pytest.raises(rbd.InvalidArgument):
            call()


def test_closed_image_raises(ioctx, image_name):
    image = rbd.Image(ioctx, image_name)
    image.close()
    for call in [lambda: image.aio_read(0, 1, None), lambda: image.aio_write(b"x", 0, None),
                 lambda: image.aio_discard(0, 1, None), lambda: image.aio_write_zeroes(0, 1, None),
                 lambda: image.aio_flush(None), lambda: image.aio_close(None),
                 lambda: image.aio_mirror_image_get_mode(None)]:
        with pytest.raises(rbd.InvalidArgument, match="closed"):
            call()


def test_completion_dropped_after_submission(image):
    image.write(b"k" * 4096, 0)
    seen = []
    for i in range(2000):
        if i % 2:
            image.aio_read(0, 4096, None)
        else:
            image.aio_read(0, 4096, lambda c, d: seen.append(d == b"k" * 4096))
    image.aio_flush(None).wait_for_complete_and_cb()
    deadline = time.monotonic() + 30
    while len(seen) < 1000 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == [True] * 1000
    gc.collect()


def test_aio_write_keeps_the_buffer(image):
    expected = []
    comps = []
    for i in range(64):
        data = bytearray(os.urandom(4096))
        expected.append(bytes(data))
        comps.append(image.aio_write(data, i * 4096, None))
        del data
        gc.collect() if i % 16 == 0 else None
    for comp in comps:
        comp.wait_for_complete_and_cb()
    assert image.read(0, 64 * 4096) == b"".join(expected)


def test_bytearray_cannot_be_resized_while_in_flight(image):
    data = bytearray(b"r" * 4 * MiB)
    comp = image.aio_write(data, 0, None)
    try:
        with pytest.raises(BufferError):
            data.extend(b"x")
    finally:
        comp.wait_for_complete_and_cb()
    data.extend(b"x")  # released after completion


def test_aio_open_image(ioctx, image_name):
    probe = object()
    opened = []
    comp = rbd.RBD().aio_open_image(lambda c, img: opened.append((c.get_return_value(), img)), ioctx, image_name)
    comp.wait_for_complete_and_cb()
    assert_only_held_by_caller(comp, probe)
    (ret, image), = opened
    assert ret == 0
    try:
        assert image.size() == 8 * MiB
    finally:
        image.close()


def test_aio_open_image_by_id_read_only(ioctx, image_name):
    with rbd.Image(ioctx, image_name) as image:
        image_id = image.id()
    opened = []
    comp = rbd.RBD().aio_open_image(lambda c, img: opened.append(img), ioctx, image_id=image_id, read_only=True)
    comp.wait_for_complete_and_cb()
    image = opened[0]
    try:
        assert image.get_name() == image_name
        with pytest.raises(rbd.ReadOnlyImage):
            image.write(b"x", 0)
    finally:
        image.close()


def test_aio_open_image_missing(ioctx):
    opened = []
    comp = rbd.RBD().aio_open_image(lambda c, img: opened.append((c.get_return_value(), img)), ioctx,
                                    unique_name("missing"))
    comp.wait_for_complete_and_cb()
    (ret, image), = opened
    assert ret == -2
    with pytest.raises(rbd.InvalidArgument, match="closed"):
        image.size()
    image.close()


def test_aio_open_image_argument_errors(ioctx):
    with pytest.raises(rbd.InvalidArgument):
        rbd.RBD().aio_open_image(None, ioctx)
    with pytest.raises(rbd.InvalidArgument):
        rbd.RBD().aio_open_image(None, ioctx, name=123)


def test_aio_close(ioctx, image_name):
    image = rbd.Image(ioctx, image_name)
    calls = []
    comp = image.aio_close(lambda c: calls.append(c.get_return_value()))
    with pytest.raises(rbd.InvalidArgument, match="closed"):
        image.size()
    comp.wait_for_complete_and_cb()
    assert calls == [0]
    image.close()  # no-op
    # The image can be opened (and locked) again.
    with rbd.Image(ioctx, image_name) as again:
        again.write(b"x", 0)


def test_mirror_calls_without_mirroring(image):
    results = []
    comp = image.aio_mirror_image_get_mode(lambda c, mode: results.append(("mode", c.get_return_value(), mode)))
    comp.wait_for_complete_and_cb()
    comp = image.aio_mirror_image_get_info(lambda c, info: results.append(("info", c.get_return_value(), info)))
    comp.wait_for_complete_and_cb()
    comp = image.aio_mirror_image_create_snapshot(0, lambda c, snap: results.append(("snap", c.get_return_value(),
                                                                                      snap)))
    comp.wait_for_complete_and_cb()
    # librbd 1.16/1.18 answer mode "journal" (0) for an image without mirroring, as the sync call does; 1.20
    # answers -EINVAL, reported with mode None.
    if rbd.RBD().version()[1] >= 20:
        assert results[0] == ("mode", -22, None)  # -EINVAL
    else:
        assert results[0] == ("mode", 0, rbd.RBD_MIRROR_IMAGE_MODE_JOURNAL)
    assert results[1] == ("info", 0, {"global_id": "", "state": rbd.RBD_MIRROR_IMAGE_DISABLED, "primary": False})
    # Mirror snapshots need mirroring enabled: an error, reported as None (not garbage).
    assert results[2][1] < 0 and results[2][2] is None


def test_ceph_mgr_chain(ioctx, image_name):
    """aio_open_image -> aio_mirror_image_get_mode -> aio_close, each issued from the previous callback."""
    done = threading.Event()
    trail = []

    def on_close(comp):
        trail.append(("closed", comp.get_return_value()))
        done.set()

    def on_mode(comp, mode):
        trail.append(("mode", mode))
        image = comp_image[0]
        image.aio_close(on_close)

    comp_image = []

    def on_open(comp, image):
        trail.append(("open", comp.get_return_value()))
        comp_image.append(image)
        image.aio_mirror_image_get_mode(on_mode)

    rbd.RBD().aio_open_image(on_open, ioctx, image_name)
    assert done.wait(30)
    # The mode of an image without mirroring: "journal" (0) before librbd 1.20, None (-EINVAL) from 1.20.
    mode = None if rbd.RBD().version()[1] >= 20 else 0
    assert trail == [("open", 0), ("mode", mode), ("closed", 0)]


def test_sync_calls_inside_callback(ioctx, image_name):
    image = rbd.Image(ioctx, image_name)
    image.write(b"s" * 4096, 0)
    other_name = unique_name("other")
    rbd.RBD().create(ioctx, other_name, MiB)
    results = []
    done = threading.Event()

    def cb(comp, data):
        # Blocking librbd calls on the same image, on another image, then close this image.
        results.append(image.read(0, 4096) == data)
        image.write(b"t" * 512, 0)
        with rbd.Image(ioctx, other_name) as other:
            results.append(other.size())
        image.close()
        done.set()

    def scenario():
        comp = image.aio_read(0, 4096, cb)
        assert done.wait(30)
        comp.wait_for_complete_and_cb()

    try:
        run_with_timeout(scenario)
        assert results == [True, MiB]
        with rbd.Image(ioctx, image_name) as again:
            assert again.read(0, 512) == b"t" * 512
    finally:
        image.close()
        rbd.RBD().remove(ioctx, other_name)


def test_wait_inside_callback_does_not_deadlock(image):
    inner = []

    def cb(comp, data):
        c2 = image.aio_read(0, 16, lambda c, d: inner.append(d))
        c2.wait_for_complete_and_cb()   # on the dispatcher: waits for librbd only
        inner.append(c2.get_return_value())

    run_with_timeout(lambda: image.aio_read(0, 16, cb).wait_for_complete_and_cb())
    deadline = time.monotonic() + 10
    while len(inner) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert inner == [16, b"\0" * 16]


def test_close_with_aio_in_flight(ioctx, image_name):
    image = rbd.Image(ioctx, image_name)
    seen = []
    for i in range(200):
        image.aio_write(os.urandom(4096), (i % 64) * 4096, lambda c: seen.append(c.get_return_value()))
    run_with_timeout(image.close)
    with pytest.raises(rbd.InvalidArgument):
        image.aio_read(0, 1, None)
    deadline = time.monotonic() + 10
    while len(seen) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == [0] * 200


def test_image_dropped_with_aio_in_flight(ioctx, image_name):
    seen = []
    image = rbd.Image(ioctx, image_name)
    comps = [image.aio_write(b"g" * 4096, i * 4096, lambda c: seen.append(c.get_return_value())) for i in range(32)]
    del image
    gc.collect()
    for comp in comps:
        comp.wait_for_complete_and_cb()
    del comps
    gc.collect()
    assert seen == [0] * 32
    with rbd.Image(ioctx, image_name) as image:
        assert image.read(0, 32 * 4096) == b"g" * 32 * 4096


def test_stress_aio_with_sync_io_thread(image):
    block = 4096
    total = 5000
    image.write(b"\1" * block * 16, 0)
    errors = []
    done = threading.Semaphore(0)
    stop = threading.Event()

    def sync_worker():
        try:
            while not stop.is_set():
                image.write(b"\2" * block, 32 * block)
                assert image.read(32 * block, block) == b"\2" * block
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    def on_read(comp, data):
        if data != b"\1" * block:
            errors.append(("bad data", comp.get_return_value()))
        done.release()

    worker = threading.Thread(target=sync_worker)
    worker.start()
    start = time.monotonic()
    try:
        window = threading.Semaphore(64)

        def on_read_windowed(comp, data):
            on_read(comp, data)
            window.release()

        for i in range(total):
            window.acquire()
            image.aio_read((i % 16) * block, block, on_read_windowed)
        for _ in range(total):
            assert done.acquire(timeout=30)
    finally:
        stop.set()
        worker.join(30)
    assert not errors
    assert time.monotonic() - start < 60


def test_random_mixed_ops_data(image):
    rng = random.Random(7)
    shadow = bytearray(MiB)
    comps = []
    for _ in range(300):
        off = rng.randrange(0, MiB // 512 - 8) * 512
        if rng.random() < 0.7:
            data = rng.randbytes(rng.randrange(1, 8) * 512)
            shadow[off:off + len(data)] = data
            comps.append(image.aio_write(data, off, None))
        else:
            length = rng.randrange(1, 8) * 512
            shadow[off:off + length] = bytes(length)
            comps.append(image.aio_write_zeroes(off, length, None))
        # Overlapping writes: wait for each before the next to keep a defined order.
        comps[-1].wait_for_complete_and_cb()
    assert image.read(0, MiB) == bytes(shadow)


EXIT_SCRIPT = r"""
import os, sys, rados, rbd
cluster = rados.Rados(conffile=os.environ["CEPH_CONF"])
cluster.connect()
ioctx = cluster.open_ioctx(sys.argv[1])
image = rbd.Image(ioctx, sys.argv[2])
for i in range(500):
    image.aio_write(b"e" * 4096, (i % 64) * 4096, lambda c: None)
    image.aio_read(0, 4096, None)
keep = image.aio_read(0, 4096, lambda c, d: None)
rbd.RBD().aio_open_image(lambda c, img: None, ioctx, sys.argv[2], read_only=True)
print("submitted", flush=True)
# Exit with everything in flight, the image and the completions still referenced by module globals.
"""


def test_interpreter_exit_with_aio_in_flight(pool, ioctx):
    import subprocess
    # Not removed afterwards: the dead client's watch would stall removal for 30 s; the pool goes with the module.
    image_name = unique_name("exit")
    rbd.RBD().create(ioctx, image_name, MiB)
    for _ in range(3):
        result = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, pool, image_name], capture_output=True,
                                text=True, timeout=60, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "submitted"


def test_aio_open_image_without_callback(ioctx, image_name):
    comp = rbd.RBD().aio_open_image(None, ioctx, image_name, read_only=True)
    assert isinstance(comp, rbd.Completion)
    comp.wait_for_complete_and_cb()
    assert comp.get_return_value() == 0


def test_close_races_with_submitting_thread(ioctx, image_name):
    image = rbd.Image(ioctx, image_name)
    outcome = []

    def submitter():
        try:
            while True:
                image.aio_write(b"c" * 4096, 0, None)
        except rbd.InvalidArgument as exc:
            outcome.append(str(exc))

    thread = threading.Thread(target=submitter)
    thread.start()
    time.sleep(0.05)
    run_with_timeout(image.close)
    thread.join(30)
    assert outcome and "closed" in outcome[0]


def test_aio_read_length_too_large_for_a_buffer(image):
    # was SystemError (a negative size reached PyBytes_FromStringAndSize); no completion is left behind
    called = []
    with pytest.raises(OverflowError, match="larger than the largest possible buffer"):
        image.aio_read(0, 2**63, lambda *args: called.append(args))
    done = threading.Event()
    image.aio_read(0, 16, lambda comp, data: done.set() if data == b"\0" * 16 else None)
    assert done.wait(30)
    assert called == []


FORK_SCRIPT = """
import os, sys, threading, rados, rbd


def read_with_callback():
    cluster = rados.Rados(conffile=os.environ["CEPH_CONF"])
    cluster.connect()
    with cluster.open_ioctx(sys.argv[1]) as ioctx, rbd.Image(ioctx, sys.argv[2]) as image:
        done, got = threading.Event(), []
        image.aio_read(0, 4096, lambda comp, data: (got.append(data), done.set()))
        assert done.wait(30), "the callback never ran"
        assert got == [b"f" * 4096], got
    cluster.shutdown()


read_with_callback()          # the parent's dispatcher thread is running now
pid = os.fork()
if pid == 0:                  # the child has no dispatcher thread: its first aio must start one
    try:
        read_with_callback()
    except BaseException as exc:
        print("child failed:", repr(exc), flush=True)
        os._exit(3)
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status))
read_with_callback()          # and the parent's still works
print("parent ok")
"""


def test_aio_callbacks_run_in_a_forked_child(pool, ioctx, image_name):
    import subprocess
    with rbd.Image(ioctx, image_name) as image:
        image.write(b"f" * 4096, 0)
    result = subprocess.run([sys.executable, "-c", FORK_SCRIPT, pool, image_name], capture_output=True,
                            text=True, timeout=90, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == ["child", "0", "parent", "ok"]


# Issue 18: librbd never completes an aio discard or zeroing whose range ends past 2**64 - 1 (python3-rbd hangs
# in wait_for_complete_and_cb, and close() after it), and a synchronous zeroing of such a range allocates until
# the process dies. Refused before submission with the synchronous discard's error.
@pytest.mark.parametrize("method", ["aio_discard", "aio_write_zeroes"])
@pytest.mark.parametrize("offset, length", [(4095, 2**64 - 1), (1, 2**64 - 1), (2**64 - 1, 2**64 - 1)])
def test_aio_range_past_2_64_is_refused(image, method, offset, length):
    sync = {"aio_discard": image.discard, "aio_write_zeroes": image.write_zeroes}[method]
    with pytest.raises(rbd.InvalidArgument):
        sync(offset, length)
    called = []
    with pytest.raises(rbd.InvalidArgument, match="%d~%d" % (offset, length)):
        getattr(image, method)(offset, length, called.append)
    assert called == []
    image.aio_flush(None).wait_for_complete_and_cb()   # nothing left in flight: close() does not hang
    image.close()


def test_aio_range_up_to_2_64_still_submitted(image):
    for method in (image.aio_discard, image.aio_write_zeroes):
        comp = method(0, 2**64 - 1, None)   # ends exactly at 2**64 - 1: librbd answers it
        comp.wait_for_complete_and_cb()
        assert comp.get_return_value() <= 0
