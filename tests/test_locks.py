"""Locks and watchers: the managed exclusive lock, advisory locks, lock owners, lockers and watchers.

Breaking a lock blocklists the client that held it, so the victims here are throwaway Rados connections.
"""

import pytest

import rbd
from conftest import MiB, connect, requires_features, run_in_child, unique_name

needs_exclusive_lock = requires_features(rbd.RBD_FEATURE_EXCLUSIVE_LOCK)


@pytest.fixture
def other_cluster(ceph_conf):
    """A second, throwaway client of the cluster (it may end up blocklisted)."""
    cluster = connect(ceph_conf)
    yield cluster
    cluster.shutdown()


@pytest.fixture
def other_client(other_cluster, pool):
    """An ioctx of the second client."""
    ioctx = other_cluster.open_ioctx(pool)
    yield ioctx
    ioctx.close()


class Handles:
    """Image handles of a test whose advisory locks must not outlive it: a lock left behind by a live client
    makes removing the image wait forever. Teardown unlocks what each handle still holds, then closes them."""

    def __init__(self, image):
        self.handles = [image]
        self.opened = []

    def open(self, ioctx, name):
        handle = rbd.Image(ioctx, name)
        self.handles.append(handle)
        self.opened.append(handle)
        return handle

    def release(self):
        for handle in self.handles:
            try:
                lockers = handle.list_lockers()
            except rbd.Error:
                continue
            for _, cookie, _ in (lockers["lockers"] if lockers else []):
                try:
                    handle.unlock(cookie)
                except rbd.Error:
                    pass  # not this handle's lock
        for handle in self.opened:
            close_quietly(handle)


@pytest.fixture
def handles(image):
    registry = Handles(image)
    yield registry
    registry.release()


def close_quietly(image):
    try:
        image.close()
    except rbd.Error:
        pass  # a blocklisted client cannot close cleanly


def address_of(image, cluster):
    """The address of `cluster`'s watch on `image` (the address lock owners and lockers are shown with)."""
    [addr] = [w["addr"] for w in image.watchers_list() if w["id"] == cluster.get_instance_id()]
    return addr


# --- advisory locks ---------------------------------------------------------------------------------------------

def test_no_lockers_is_empty_list(image):
    assert image.list_lockers() == []


def test_exclusive_advisory_lock(cluster, image, handles):
    image.lock_exclusive("cookie-1")
    lockers = image.list_lockers()
    assert lockers["tag"] == "" and lockers["exclusive"] is True
    [(client, cookie, addr)] = lockers["lockers"]
    assert client.startswith("client.") and cookie == "cookie-1" and addr == address_of(image, cluster)
    with pytest.raises(rbd.ImageExists):
        image.lock_exclusive("cookie-1")
    with pytest.raises(rbd.ImageBusy):
        image.lock_exclusive("cookie-2")
    with pytest.raises(rbd.ImageBusy):
        image.lock_shared("cookie-3", "tag")
    image.unlock("cookie-1")
    assert image.list_lockers() == []
    with pytest.raises(rbd.ImageNotFound):
        image.unlock("cookie-1")


def test_shared_advisory_lock(image, other_client, image_name, handles):
    image.lock_shared(b"mine", b"group")
    other = handles.open(other_client, image_name)
    other.lock_shared("theirs", "group")
    with pytest.raises(rbd.ImageBusy):
        other.lock_shared("odd-one", "another-tag")
    with pytest.raises(rbd.ImageBusy):
        other.lock_exclusive("excl")
    lockers = image.list_lockers()
    assert lockers["tag"] == "group" and lockers["exclusive"] is False
    assert sorted(cookie for _, cookie, _ in lockers["lockers"]) == ["mine", "theirs"]
    assert len({client for client, _, _ in lockers["lockers"]}) == 2
    other.unlock("theirs")
    image.unlock("mine")
    assert image.list_lockers() == []


def test_long_cookie_and_tag(image, handles):
    """Longer than the first buffers list_lockers tries: it grows them and asks again."""
    cookie, tag = "c" * 3000, "t" * 2500
    image.lock_shared(cookie, tag)
    lockers = image.list_lockers()
    assert lockers["tag"] == tag and lockers["lockers"][0][1] == cookie
    image.unlock(cookie)


def test_break_advisory_lock_of_other_client(cluster, image, other_client, image_name, handles):
    victim = handles.open(other_client, image_name)
    victim.lock_exclusive("victim-cookie")
    lockers = image.list_lockers()
    [(client, cookie, addr)] = lockers["lockers"]
    assert cookie == "victim-cookie" and addr != address_of(image, cluster)
    with pytest.raises(rbd.ImageNotFound):
        image.break_lock(client, "wrong-cookie")
    with pytest.raises(rbd.ImageNotFound):
        image.break_lock("client.999999999", cookie)
    image.break_lock(client, cookie)
    assert image.list_lockers() == []
    with pytest.raises(rbd.ConnectionShutdown):  # the victim was blocklisted
        victim.write(b"late", 0)
    image.lock_exclusive("mine-now")
    image.unlock("mine-now")


def test_advisory_lock_bad_types(image):
    for call in (lambda: image.lock_exclusive(1), lambda: image.lock_shared("c", None),
                 lambda: image.lock_shared(None, "t"), lambda: image.unlock(b"x\0y"),
                 lambda: image.break_lock(1, "c"), lambda: image.break_lock("client.1", 2)):
        with pytest.raises(rbd.InvalidArgument):
            call()


WRITES_UNDER_OWN_ADVISORY_LOCK_SCRIPT = """
plain = name + "-plain"
rbd.RBD().create(ioctx, name, 1 << 22, features=rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK)
rbd.RBD().create(ioctx, plain, 1 << 22, features=rbd.RBD_FEATURE_LAYERING)

writes = {
    "write": lambda i: i.write(b"x", 0),
    "writev": lambda i: i.writev([b"x"], 0),
    "writesame": lambda i: i.writesame(0, 512, b"x" * 512),
    "compare_and_write": lambda i: i.compare_and_write(0, b"\\0" * 512, b"y" * 512),
    "discard": lambda i: i.discard(0, 512),
    "write_zeroes": lambda i: i.write_zeroes(0, 512),
    "flush": lambda i: i.flush(),
    "aio_write": lambda i: i.aio_write(b"x", 0, None),
    "aio_discard": lambda i: i.aio_discard(0, 512, None),
    "aio_write_zeroes": lambda i: i.aio_write_zeroes(0, 512, None),
    "aio_flush": lambda i: i.aio_flush(None),
}
with rbd.Image(ioctx, name) as image:
    image.lock_exclusive("mine")
    out["exclusive"] = {label: outcome(lambda: call(image)) for label, call in writes.items()}
    out["read"] = image.read(0, 1).hex()
    image.unlock("mine")
    out["after_unlock"] = outcome(lambda: image.write(b"z", 0)), image.read(0, 1).hex()
    image.lock_release()
    image.lock_shared(b"\\xffmine", "tag")
    out["shared"] = outcome(lambda: image.flush())
    # released through another handle of the same client: the first one notices and writes again
    with rbd.Image(ioctx, name) as other:
        other.unlock(b"\\xffmine")
    out["unlocked_elsewhere"] = outcome(lambda: image.write(b"w", 0)), image.read(0, 1).hex()
    image.lock_release()
with rbd.Image(ioctx, name) as image:
    image.lock_exclusive("left")
with rbd.Image(ioctx, name) as image:
    # the lock belongs to the client and outlived the handle that took it
    out["after_close"] = outcome(lambda: image.aio_write(b"q", 0, None))
    image.unlock("left")
    out["after_close_unlocked"] = outcome(lambda: image.write(b"q", 0)), image.read(0, 1).hex()
    image.lock_release()
with rbd.Image(ioctx, name) as image:
    # a flush in flight when the advisory lock is asked for takes the exclusive lock first
    image.aio_flush(None)
    out["lock_after_aio"] = outcome(lambda: image.lock_exclusive("late")), image.is_exclusive_lock_owner()
other_cluster = rados.Rados(conffile=sys.argv[1]); other_cluster.connect()
other_ioctx = other_cluster.open_ioctx(sys.argv[2])
with rbd.Image(ioctx, name) as image, rbd.Image(other_ioctx, name) as other:
    # lock_acquire under an advisory lock (this handle's or another client's) waits forever in librbd
    image.lock_exclusive("adv")
    out["lock_acquire_own"] = outcome(lambda: image.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE))
    out["snap_limit_own"] = outcome(lambda: image.set_snap_limit(5)), outcome(image.remove_snap_limit)
    image.unlock("adv")
    other.lock_shared("adv", "tag")
    out["lock_acquire_other"] = outcome(lambda: image.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE))
    out["snap_limit_other"] = outcome(lambda: image.set_snap_limit(5)), outcome(image.remove_snap_limit)
    other.unlock("adv")
    out["lock_acquire_free"] = outcome(lambda: image.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE))
    image.lock_release()
    out["snap_limit_free"] = outcome(lambda: image.set_snap_limit(5)), outcome(image.remove_snap_limit)
other_cluster.shutdown()
with rbd.Image(ioctx, plain) as image:
    # without the exclusive-lock feature writes need no lock: nothing to refuse
    image.lock_exclusive("mine")
    out["no_feature"] = outcome(lambda: image.write(b"p", 0)), image.read(0, 1).hex()
    image.unlock("mine")
rbd.RBD().remove(ioctx, name)
rbd.RBD().remove(ioctx, plain)
print(json.dumps(out))
"""


def test_calls_that_would_wait_forever_under_an_advisory_lock_are_refused(ceph_conf, pool):
    # An advisory lock is a cls_lock under the same name as the managed exclusive lock: with the exclusive-lock
    # feature, librbd retries acquiring the managed lock forever for a write, a flush, lock_acquire() or
    # set_snap_limit() (python3-rbd hangs). The binding refuses writes with ReadOnlyImage while this client (any
    # handle) holds such a lock; lock_acquire() (ImageBusy) and the snapshot limit (ReadOnlyImage) while anyone
    # does. In a child process with a timeout, so that a regression fails instead of hanging the run.
    out = run_in_child(WRITES_UNDER_OWN_ADVISORY_LOCK_SCRIPT, ceph_conf, pool, unique_name("img"))
    assert out["exclusive"] == {label: "ReadOnlyImage" for label in out["exclusive"]} and len(out["exclusive"]) == 11
    assert out["read"] == "00"
    assert out["after_unlock"] == ["ok", "7a"]
    assert out["shared"] == "ReadOnlyImage"
    assert out["unlocked_elsewhere"] == ["ok", "77"]
    assert out["after_close"] == "ReadOnlyImage" and out["after_close_unlocked"] == ["ok", "71"]
    assert out["lock_after_aio"] == ["ImageBusy", True]
    assert out["no_feature"] == ["ok", "70"]
    assert (out["lock_acquire_own"], out["lock_acquire_other"], out["lock_acquire_free"]) == (
        "ImageBusy", "ImageBusy", "ok")
    assert out["snap_limit_own"] == out["snap_limit_other"] == ["ReadOnlyImage", "ReadOnlyImage"]
    assert out["snap_limit_free"] == ["ok", "ok"]


READS_UNDER_OWN_ADVISORY_LOCK_SCRIPT = """
lock = rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK
rbd.RBD().create(ioctx, name, 1 << 22, features=lock | rbd.RBD_FEATURE_JOURNALING)
rbd.RBD().create(ioctx, name + "-cor", 1 << 22, features=lock)
rbd.RBD().create(ioctx, name + "-plain", 1 << 22, features=lock)

def outcome(call):
    try:
        result = call()
        return result.hex() if isinstance(result, bytes) else "ok"
    except rbd.Error as exc:
        return type(exc).__name__

reads = {
    "read": lambda i: i.read(0, 1),
    "readinto": lambda i: i.readinto(bytearray(1), 0),
    "readv": lambda i: i.readv([bytearray(1)], 0),
    "aio_read": lambda i: i.aio_read(0, 1, None),
    "copy": lambda i: i.copy(ioctx, name + "-copy"),
}
with rbd.Image(ioctx, name) as image:
    image.write(b"j", 0)
    image.create_snap("s")
    image.lock_release()
    image.lock_exclusive("mine")
    out["journaling"] = {label: outcome(lambda: call(image)) for label, call in reads.items()}
    out["deep_copy"] = outcome(lambda: image.deep_copy(ioctx, name + "-deep"))  # reads without the lock
    image.set_snap("s")
    out["at_snapshot"] = outcome(lambda: image.read(0, 1))
    image.set_snap(None)
    out["back_at_head"] = outcome(lambda: image.read(0, 1))
    with rbd.Image(ioctx, name, read_only=True) as reader:
        out["read_only"] = outcome(lambda: reader.read(0, 1))
    with rbd.Image(ioctx, name, snapshot="s") as reader:
        out["opened_at_snapshot"] = outcome(lambda: reader.read(0, 1))
    image.unlock("mine")
    out["unlocked"] = outcome(lambda: image.read(0, 1))
with rbd.Image(ioctx, name + "-cor") as image:
    image.metadata_set("conf_rbd_clone_copy_on_read", "true")
with rbd.Image(ioctx, name + "-cor") as image:
    # copy-on-read makes librbd take the lock for reads, parent or not
    image.lock_exclusive("mine")
    out["copy_on_read"] = outcome(lambda: image.read(0, 1))
    image.unlock("mine")
with rbd.Image(ioctx, name + "-plain") as image:
    # exclusive-lock without journaling or copy-on-read: reads need no lock, nothing to refuse
    image.lock_exclusive("mine")
    out["plain"] = outcome(lambda: image.read(0, 1))
    image.unlock("mine")
print(json.dumps(out))
"""


def test_reads_that_would_wait_forever_under_an_advisory_lock_are_refused(ceph_conf, pool):
    # With the journaling feature (or copy-on-read configured) librbd takes the managed exclusive lock for reads
    # too; under an advisory lock of this client it retries that forever (python3-rbd hangs in read, aio_read and
    # copy). The binding raises ImageBusy for reads of a writable handle at the head instead; read-only handles,
    # snapshots and deep_copy read without the lock and go on. In a child process with a timeout: a regression
    # hangs.
    out = run_in_child(READS_UNDER_OWN_ADVISORY_LOCK_SCRIPT, ceph_conf, pool, unique_name("img"))
    assert out["journaling"] == {"read": "ImageBusy", "readinto": "ImageBusy", "readv": "ImageBusy",
                                 "aio_read": "ImageBusy", "copy": "ImageBusy"}
    assert out["deep_copy"] == "ok"
    assert out["at_snapshot"] == "6a" and out["back_at_head"] == "ImageBusy"
    assert out["read_only"] == out["opened_at_snapshot"] == "6a"
    assert out["unlocked"] == "6a"
    assert out["copy_on_read"] == "ImageBusy"
    assert out["plain"] == "00"


# --- managed exclusive lock -------------------------------------------------------------------------------------

@needs_exclusive_lock
def test_lock_acquire_and_release(cluster, image):
    assert list(image.lock_get_owners()) == []
    assert image.is_exclusive_lock_owner() is False
    image.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE)
    assert image.is_exclusive_lock_owner() is True
    owners = image.lock_get_owners()
    assert isinstance(owners, rbd.LockOwnerIterator)
    assert list(owners) == [{"mode": rbd.RBD_LOCK_MODE_EXCLUSIVE, "owner": address_of(image, cluster)}]
    assert list(owners) == list(owners)  # eager: iterating again gives the same list
    image.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE)  # already ours: no error
    image.lock_release()
    assert image.is_exclusive_lock_owner() is False
    assert list(image.lock_get_owners()) == []
    with pytest.raises(rbd.InvalidArgument):
        image.lock_release()


@needs_exclusive_lock
def test_write_takes_the_lock_automatically(cluster, image):
    image.write(b"data", 0)
    assert image.is_exclusive_lock_owner() is True
    assert [o["owner"] for o in image.lock_get_owners()] == [address_of(image, cluster)]


@needs_exclusive_lock
def test_shared_mode_not_supported(image):
    with pytest.raises(rbd.OperationNotSupported):
        image.lock_acquire(rbd.RBD_LOCK_MODE_SHARED)


@needs_exclusive_lock
def test_two_clients_contend_for_the_lock(image, other_cluster, other_client, image_name):
    holder = rbd.Image(other_client, image_name)
    try:
        holder.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE)
        holder_address = address_of(holder, other_cluster)
        assert holder.is_exclusive_lock_owner() is True
        assert image.is_exclusive_lock_owner() is False
        assert list(image.lock_get_owners()) == [{"mode": rbd.RBD_LOCK_MODE_EXCLUSIVE,
                                                   "owner": holder_address}]
        assert len(list(image.watchers_list())) == 2
        # The holder took the lock explicitly, so it refuses to hand it over.
        with pytest.raises(rbd.ReadOnlyImage):
            image.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE)
        with pytest.raises(rbd.ReadOnlyImage):
            image.write(b"refused", 0)
        with pytest.raises(rbd.ImageBusy):
            image.lock_break(rbd.RBD_LOCK_MODE_EXCLUSIVE, "127.0.0.1:0/1")  # not the owner
        with pytest.raises(rbd.OperationNotSupported):
            image.lock_break(rbd.RBD_LOCK_MODE_SHARED, holder_address)
        image.lock_break(rbd.RBD_LOCK_MODE_EXCLUSIVE, holder_address)
        assert list(image.lock_get_owners()) == []
        image.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE)
        assert image.is_exclusive_lock_owner() is True
        assert image.write(b"mine", 0) == 4
        with pytest.raises(rbd.ConnectionShutdown):  # the broken holder was blocklisted
            holder.write(b"late", 0)
        image.lock_release()
    finally:
        close_quietly(holder)


@needs_exclusive_lock
def test_cooperative_handover_without_lock_acquire(image, other_client, image_name):
    image.write(b"first", 0)  # takes the lock implicitly, so it hands it over on request
    assert image.is_exclusive_lock_owner() is True
    with rbd.Image(other_client, image_name) as other:
        other.write(b"second", 0)
        assert other.is_exclusive_lock_owner() is True
        assert image.is_exclusive_lock_owner() is False
    assert image.read(0, 6) == b"second"


def test_managed_lock_without_the_feature(ioctx):
    name = unique_name()
    rbd.RBD().create(ioctx, name, 4 * MiB, features=rbd.RBD_FEATURE_LAYERING)
    try:
        with rbd.Image(ioctx, name) as image:
            with pytest.raises(rbd.InvalidArgument):
                image.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE)
            with pytest.raises(rbd.InvalidArgument):
                image.lock_release()
            assert image.is_exclusive_lock_owner() is False
            with pytest.raises(rbd.InvalidArgument):
                list(image.lock_get_owners())
    finally:
        rbd.RBD().remove(ioctx, name)


@needs_exclusive_lock
def test_managed_lock_read_only(ioctx, image_name):
    with rbd.Image(ioctx, image_name, read_only=True) as image:
        with pytest.raises(rbd.InvalidArgument):
            image.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE)
        with pytest.raises(rbd.ReadOnlyImage):
            image.lock_break(rbd.RBD_LOCK_MODE_EXCLUSIVE, "127.0.0.1:0/1")
        assert image.is_exclusive_lock_owner() is False


def test_managed_lock_bad_types(image):
    with pytest.raises(TypeError):
        image.lock_acquire("exclusive")
    with pytest.raises(OverflowError):
        image.lock_acquire(-1)
    with pytest.raises(TypeError):
        image.lock_break(None, "owner")
    with pytest.raises(rbd.InvalidArgument):
        image.lock_break(rbd.RBD_LOCK_MODE_EXCLUSIVE, 5)
    with pytest.raises(TypeError):
        rbd.LockOwnerIterator("not an image")


# --- watchers ---------------------------------------------------------------------------------------------------

def test_watchers(image, other_client, image_name):
    iterator = image.watchers_list()
    assert isinstance(iterator, rbd.WatcherIterator)
    [mine] = list(iterator)
    assert set(mine) == {"addr", "id", "cookie"}
    assert isinstance(mine["addr"], str) and mine["addr"].startswith("127.0.0.1:")
    assert isinstance(mine["id"], int) and mine["id"] > 0 and isinstance(mine["cookie"], int)
    assert list(iterator) == [mine]
    with rbd.Image(other_client, image_name) as other:
        watchers = list(image.watchers_list())
        assert len(watchers) == 2 and mine in watchers
        [theirs] = [w for w in watchers if w != mine]
        assert theirs["id"] != mine["id"] and theirs["addr"] != mine["addr"]
        assert sorted(map(repr, other.watchers_list())) == sorted(map(repr, watchers))
    assert list(image.watchers_list()) == [mine]
    with pytest.raises(TypeError):
        rbd.WatcherIterator(None)


def test_many_watchers(ioctx, image, image_name):
    """More watchers than the iterator's first guess: it grows its array and asks again."""
    extra = [rbd.Image(ioctx, image_name) for _ in range(20)]
    try:
        watchers = list(image.watchers_list())
        assert len(watchers) == 21 and len({w["cookie"] for w in watchers}) == 21
    finally:
        for handle in extra:
            handle.close()
    assert len(list(image.watchers_list())) == 1


# --- closed image -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda i: i.is_exclusive_lock_owner(),
    lambda i: i.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE),
    lambda i: i.lock_release(),
    lambda i: i.lock_get_owners(),
    lambda i: i.lock_break(rbd.RBD_LOCK_MODE_EXCLUSIVE, "owner"),
    lambda i: i.lock_exclusive("c"),
    lambda i: i.lock_shared("c", "t"),
    lambda i: i.unlock("c"),
    lambda i: i.break_lock("client.1", "c"),
    lambda i: i.list_lockers(),
    lambda i: i.watchers_list(),
], ids=["is_exclusive_lock_owner", "lock_acquire", "lock_release", "lock_get_owners", "lock_break",
        "lock_exclusive", "lock_shared", "unlock", "break_lock", "list_lockers", "watchers_list"])
def test_closed_image(ioctx, image_name, call):
    image = rbd.Image(ioctx, image_name)
    image.close()
    with pytest.raises(rbd.InvalidArgument, match="image is closed"):
        call(image)


# Issue 18: while this process holds an advisory lock, reads and writes first check the image's lockers, which
# asked rados (instance id, pool id) before the image's own state: on a shut-down Rados that raised
# rados.RadosStateError instead of ConnectionShutdown, and a closed ioctx gave a rados error too.
AFTER_SHUTDOWN_UNDER_ADVISORY_LOCK_SCRIPT = r"""
other = rados.Rados(conffile=sys.argv[1]); other.connect(); other_ioctx = other.open_ioctx(sys.argv[2])
rbd.RBD().create(ioctx, name, 1 << 22)
locked = rbd.Image(ioctx, name)
locked.lock_exclusive("held")
# A second handle through its own ioctx, which the caller closes: the image stays usable.
victim = rbd.Image(other_ioctx, name, read_only=True)
other_ioctx.close()
out["closed_ioctx_read"] = outcome(lambda: victim.read(0, 1))
victim.close()
victim = rbd.Image(ioctx, name)
cluster.shutdown()
out["read"] = outcome(lambda: victim.read(0, 1))
out["write"] = outcome(lambda: victim.write(b"x", 0))
out["aio_write"] = outcome(lambda: victim.aio_write(b"x", 0, None))
out["stat"] = outcome(lambda: victim.stat())
print(json.dumps(out))
"""


def test_calls_after_shutdown_under_an_advisory_lock_raise_connection_shutdown(ceph_conf, pool):
    out = run_in_child(AFTER_SHUTDOWN_UNDER_ADVISORY_LOCK_SCRIPT, ceph_conf, pool, unique_name("img"))
    assert out == {"closed_ioctx_read": "ok", "read": "ConnectionShutdown", "write": "ConnectionShutdown",
                   "aio_write": "ConnectionShutdown", "stat": "ConnectionShutdown"}
