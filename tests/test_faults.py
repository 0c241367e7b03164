"""Faults: an OSD killed or frozen under I/O, an unreachable or frozen monitor, a blocklisted client.

These tests break daemons, so they run against a 3-OSD cluster of this module's own (started by ci/cluster.sh,
always stopped at the end), never the shared one. Every call that could hang runs under `bounded()`, so a hang
is a test failure, and the last test checks the module's total time.
"""
import hashlib
import os
import random
import re
import signal
import socket
import threading
import time

import pytest
import rados

import rbd
from clusters import bounded, local_cluster, mgr_command, mon_command, raises_within, require_mgr
from conftest import MiB, unique_name

MODULE_BUDGET = 150  # seconds for this whole module, cluster start included
OP_TIMEOUT = 3  # rados_osd_op_timeout of the client that meets a frozen OSD
MOUNT_TIMEOUT = 3  # client_mount_timeout of the client that meets a dead monitor
MARGIN = 4  # seconds allowed beyond a configured timeout
BLOCK = 4096


@pytest.fixture(scope="module")
def own():
    """This module's own cluster: 1 mon, 1 mgr, 3 OSDs."""
    started = time.monotonic()
    with local_cluster(osds=3) as cluster:
        cluster.started = started
        yield cluster


@pytest.fixture(scope="module")
def admin(own):
    handle = own.connect()
    yield handle
    handle.shutdown()


def make_pool(admin, size, pg_num):
    name = unique_name("faults")
    mon_command(admin, "osd pool create", pool=name, pg_num=pg_num, pgp_num=pg_num)
    mon_command(admin, "osd pool set", pool=name, var="size", val=str(size), yes_i_really_mean_it=True)
    mon_command(admin, "osd pool set", pool=name, var="min_size", val="1")
    mon_command(admin, "osd pool application enable", pool=name, app="rbd")
    return name


def delete_pool(admin, name):
    # Through the monitor: librados' own pool lookup may not have the osdmap that has the pool yet.
    mon_command(admin, "osd pool rm", pool=name, pool2=name, yes_i_really_really_mean_it=True)


@pytest.fixture(scope="module")
def replicated_pool(admin):
    """A pool with size 2, min_size 1 over the 3 OSDs."""
    name = make_pool(admin, size=2, pg_num=16)
    yield name
    delete_pool(admin, name)


def osd_up_from(admin, osd_id):
    """The osdmap epoch since which osd.`osd_id` is up."""
    for osd in mon_command(admin, "osd dump")["osds"]:
        if osd["osd"] == osd_id:
            assert osd["up"] == 1, "osd.%d is not up" % osd_id
            return osd["up_from"]
    raise AssertionError("no osd.%d" % osd_id)


def wait_active_clean(admin, pool, osd_id, timeout=90):
    """Wait until every PG of `pool` is active+clean, as reported after osd.`osd_id` came up; return the seconds."""
    require_mgr(admin)
    since = osd_up_from(admin, osd_id)
    start = time.monotonic()
    while True:
        stats = mgr_command(admin, "pg ls-by-pool", poolstr=pool)["pg_stats"]
        # A PG on the restarted OSD must have reported since it came up, or its "clean" may be from before.
        pending = [(p["pgid"], p["state"]) for p in stats
                   if p["state"] != "active+clean" or (osd_id in p["acting"] and p["reported_epoch"] < since)]
        if stats and not pending:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            pytest.fail("PGs of %s not active+clean %d s after osd.%d came back: %s" % (pool, timeout, osd_id,
                                                                                      pending))
        time.sleep(0.5)


class Writer(threading.Thread):
    """Writes distinct 4 KiB blocks of random content in a random order, noting each acknowledged write."""

    def __init__(self, image, blocks):
        super().__init__(name="writer", daemon=True)
        self.image = image
        self.order = random.Random(1).sample(range(blocks), blocks)
        self.acked = []  # (block, sha256 of its content, monotonic time of the acknowledgement)
        self.failed = []  # (block, exception): content unknown
        self.max_latency = 0.0
        self.stop = threading.Event()

    def run(self):
        rng = random.Random(2)
        for block in self.order:
            if self.stop.is_set():
                return
            data = rng.randbytes(BLOCK)
            start = time.monotonic()
            try:
                self.image.write(data, block * BLOCK)
            except Exception as e:  # noted; the test asserts there are none
                self.failed.append((block, e))
                continue
            done = time.monotonic()
            self.max_latency = max(self.max_latency, done - start)
            self.acked.append((block, hashlib.sha256(data).digest(), done))
            time.sleep(0.002)  # sustained, not a burst that ends before the fault
        self.stop.set()


def verify_image(image, size, acked, failed):
    """Every acknowledged block reads back with its checksum; blocks never written read as zeros."""
    expected = {block: digest for block, digest, _ in acked}
    unknown = {block for block, _ in failed}
    zero = hashlib.sha256(bytes(BLOCK)).digest()
    chunk = 4 * MiB
    bad = []
    for offset in range(0, size, chunk):
        data, _ = bounded(60, image.read, offset, chunk)
        for i in range(0, chunk, BLOCK):
            block = (offset + i) // BLOCK
            if block in unknown:
                continue
            if hashlib.sha256(data[i:i + BLOCK]).digest() != expected.get(block, zero):
                bad.append(block)
    return bad


def test_sigkill_osd_under_write_load_loses_no_acknowledged_write(own, admin, replicated_pool):
    size = 64 * MiB
    client = own.connect(rados_osd_op_timeout=30)  # bounded: a stuck write fails instead of hanging
    ioctx = client.open_ioctx(replicated_pool)
    name = unique_name("load")
    rbd.RBD().create(ioctx, name, size, order=18)  # 256 KiB objects: the writes spread over every PG
    image = rbd.Image(ioctx, name)
    writer = Writer(image, size // BLOCK)
    victim = 0
    try:
        writer.start()
        while len(writer.acked) < 200 and writer.is_alive():
            time.sleep(0.01)
        killed_at = time.monotonic()
        own.kill_osd(victim, "KILL")  # memstore: osd.0 loses everything; the other replica has it
        time.sleep(2)
        own.start_osd(victim)
        back_at = time.monotonic()
        # The workload goes on through the restarted OSD's peering until 200 more writes are acknowledged.
        deadline = back_at + 30
        while sum(1 for _, _, t in writer.acked if t >= back_at) < 200 and writer.is_alive():
            assert time.monotonic() < deadline, "no progress after osd.%d came back" % victim
            time.sleep(0.05)
    finally:
        writer.stop.set()
        writer.join(60)
    assert not writer.is_alive(), "the writer hung"
    assert writer.failed == []
    before = sum(1 for _, _, t in writer.acked if t < killed_at)
    during = sum(1 for _, _, t in writer.acked if killed_at <= t < back_at)
    after = len(writer.acked) - before - during
    assert before >= 200 and during > 0 and after >= 200, (before, during, after)

    recovery = wait_active_clean(admin, replicated_pool, victim)
    bad = verify_image(image, size, writer.acked, writer.failed)
    assert bad == []

    # osd.0 restarted empty, so its copies came back by recovery only. Stop each other OSD in turn (cleanly,
    # keeping its data): the PGs it shared with osd.0 are then served by osd.0 alone, and must still be intact.
    for other in (1, 2):
        own.kill_osd(other, "TERM")
        try:
            assert verify_image(image, size, writer.acked, writer.failed) == []
        finally:
            own.start_osd(other)
        wait_active_clean(admin, replicated_pool, other)
    print("\nSIGKILL osd.%d: %d writes acknowledged (%d before the kill, %d while it was down, %d after its "
          "restart), all %d read back intact (also from the recovered OSD alone); max write latency %.2f s; "
          "active+clean %.1f s after the restart" % (victim, len(writer.acked), before, during, after,
                                                     len(writer.acked), writer.max_latency, recovery))
    image.close()
    rbd.RBD().remove(ioctx, name)
    ioctx.close()
    client.shutdown()


def test_frozen_osd_raises_timeout_then_recovers(own, admin):
    # One PG on one OSD: the directory, the image header and the data all live on the frozen OSD.
    pool = make_pool(admin, size=1, pg_num=1)
    osd_id = mon_command(admin, "osd map", pool=pool, object="any")["acting_primary"]
    # No librbd cache: a read must go to the OSD, not be answered from the client's memory.
    client = own.connect(rados_osd_op_timeout=OP_TIMEOUT, rbd_cache="false")
    ioctx = client.open_ioctx(pool)
    name, other = unique_name("frozen"), unique_name("frozen")
    rbd.RBD().create(ioctx, name, 8 * MiB)
    rbd.RBD().create(ioctx, other, 8 * MiB)
    image = rbd.Image(ioctx, name)
    image.write(b"before", 0)  # also takes the exclusive lock while the OSD still answers
    # The PG's acting primary once everything is written: the one asked right after creating the pool may have
    # changed as the new PG peered (seen under load: the "frozen" OSD was not the one serving the reads).
    osd_id = mon_command(admin, "osd map", pool=pool, object="any")["acting_primary"]
    calls = [("read", lambda: image.read(0, 6)),
             ("write", lambda: image.write(b"frozen", 0)),
             ("open", lambda: rbd.Image(ioctx, other)),
             ("list", lambda: rbd.RBD().list(ioctx))]
    elapsed = {}
    own.kill_osd(osd_id, "STOP")
    try:
        for label, call in calls:
            error, elapsed[label] = raises_within(OP_TIMEOUT + MARGIN, rbd.Timeout, call)
            assert error.errno == 110
            assert elapsed[label] >= OP_TIMEOUT - 0.5
    finally:
        own.start_osd(osd_id)  # SIGCONT
    # The timed-out write may or may not have reached the OSD before it froze: either content, nothing else.
    data, _ = bounded(30, image.read, 0, 6)
    assert data in (b"before", b"frozen")
    bounded(30, image.write, b"after!", 0)
    assert image.read(0, 6) == b"after!"
    with rbd.Image(ioctx, other) as image2:
        assert image2.size() == 8 * MiB
    assert sorted(rbd.RBD().list(ioctx)) == sorted([name, other])
    image.close()
    print("\nfrozen osd.%d, rados_osd_op_timeout=%d: Timeout after %s" % (
        osd_id, OP_TIMEOUT, ", ".join("%s %.2f s" % item for item in elapsed.items())))
    ioctx.close()
    client.shutdown()
    delete_pool(admin, pool)


def test_blocklisted_client_gets_connection_shutdown(own, admin, replicated_pool):
    a = own.connect(rados_osd_op_timeout=10)
    b = own.connect(rados_osd_op_timeout=10)
    address = a.get_addrs()
    ioctx_a, ioctx_b = a.open_ioctx(replicated_pool), b.open_ioctx(replicated_pool)
    name = unique_name("locked")
    rbd.RBD().create(ioctx_a, name, 8 * MiB, features=rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK)
    image_a = rbd.Image(ioctx_a, name)
    image_a.write(b"A" * BLOCK, 0)  # A takes the exclusive lock
    image_b = rbd.Image(ioctx_b, name)
    try:
        if hasattr(image_b, "lock_break"):
            owners = list(image_b.lock_get_owners())
            assert owners == [{"mode": rbd.RBD_LOCK_MODE_EXCLUSIVE, "owner": address}]
            image_b.lock_break(rbd.RBD_LOCK_MODE_EXCLUSIVE, address)  # blocklists A
            how = "lock_break"
        else:
            b.blocklist_add(address, 600)  # what breaking the lock does to its owner
            how = "blocklist_add"
        # Until an OSD has the osdmap with the blocklist entry it still serves A; with the latest map, A's ops
        # carry its epoch, so every OSD catches up first and refuses them.
        bounded(15, a.wait_for_latest_osdmap)
        error, elapsed = raises_within(15, rbd.ConnectionShutdown, image_a.write, b"late" * 1024, 0)
        assert error.errno == 108
        raises_within(15, rbd.ConnectionShutdown, image_a.read, 0, BLOCK)
        bounded(15, image_a.close)
        # A's late write never landed; B owns the image now.
        assert bounded(15, image_b.read, 0, BLOCK)[0] == b"A" * BLOCK
        image_b.write(b"B" * BLOCK, 0)
        assert image_b.read(0, BLOCK) == b"B" * BLOCK
        print("\nclient A blocklisted by B (%s): ConnectionShutdown after %.3f s" % (how, elapsed))
    finally:
        image_b.close()
        image_a.close()
        rbd.RBD().remove(ioctx_b, name)
        mon_command(admin, "osd blocklist", blocklistop="rm", addr=address)
        ioctx_a.close()
        ioctx_b.close()
        bounded(30, a.shutdown)
        b.shutdown()


def test_rbd_refuses_ioctx_of_shut_down_cluster(own, replicated_pool):
    handle = own.connect()
    ioctx = handle.open_ioctx(replicated_pool)
    handle.shutdown()
    for call in (lambda: rbd.RBD().list(ioctx), lambda: rbd.RBD().list2(ioctx),
                 lambda: rbd.RBD().create(ioctx, "x", MiB), lambda: rbd.Image(ioctx, "x"),
                 lambda: rbd.RBD().remove(ioctx, "x"), lambda: rbd.RBD().rename(ioctx, "x", "y")):
        error, _ = raises_within(5, rbd.InvalidArgument, call)
        assert "not connected" in str(error)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_monitor_fails_connect_within_bound(own, tmp_path):
    with open(own.conf) as f:
        text = f.read()
    text, count = re.subn(r"(?m)^mon host = .*$", "mon host = 127.0.0.1:%d" % free_port(), text)
    assert count == 1
    conf = tmp_path / "no-monitor.conf"
    conf.write_text(text)
    handle = rados.Rados(conffile=str(conf), conf={"client_mount_timeout": str(MOUNT_TIMEOUT)})
    _, elapsed = raises_within(MOUNT_TIMEOUT + MARGIN, rados.TimedOut, handle.connect)
    assert elapsed >= MOUNT_TIMEOUT - 0.5
    # Never connected: no ioctx can be had, so no rbd call is ever reached with it.
    with pytest.raises(rados.RadosStateError):
        handle.open_ioctx("any")
    bounded(10, handle.shutdown)
    print("\nmonitor unreachable: rados.TimedOut after %.2f s (client_mount_timeout=%d)" % (elapsed, MOUNT_TIMEOUT))


def test_frozen_monitor_fails_connect_within_bound(own, replicated_pool):
    pid = own.daemon_pid("mon.a")
    handle = rados.Rados(conffile=own.conf, conf={"client_mount_timeout": str(MOUNT_TIMEOUT)})
    os.kill(pid, signal.SIGSTOP)
    try:
        _, elapsed = raises_within(MOUNT_TIMEOUT + MARGIN, rados.TimedOut, handle.connect)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert elapsed >= MOUNT_TIMEOUT - 0.5
    bounded(10, handle.shutdown)
    # The monitor answers again.
    again, _ = bounded(40, own.connect)
    with again.open_ioctx(replicated_pool) as ioctx:
        assert isinstance(bounded(30, rbd.RBD().list, ioctx)[0], list)
    again.shutdown()
    print("\nmonitor frozen: rados.TimedOut after %.2f s (client_mount_timeout=%d)" % (elapsed, MOUNT_TIMEOUT))


def test_module_within_time_budget(own):
    # Keep this last: the whole module, cluster start included, stays within its budget.
    assert time.monotonic() - own.started < MODULE_BUDGET
