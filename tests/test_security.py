"""Security: cephx users confined to one pool, read-only users, wrong keys and removed users.

Runs against the suite's cluster. The users are made for this module with unique names (cephx users are
cluster-wide) through `auth get-or-create`, their keyrings written to a temporary directory, and removed at the
end. Every refusal asserts the exact exception class librbd's errno maps to.
"""
import base64
import errno
import json
import os
import struct
import time

import pytest
import rados

import rbd
from clusters import bounded, mon_command, raises_within
from conftest import MiB, unique_name

MOUNT_TIMEOUT = 5
MARGIN = 4
DATA = b"admin's data" * 40


def random_key():
    """A well-formed cephx secret that nobody has: type AES, a creation time, 16 random bytes."""
    now = time.time()
    raw = struct.pack("<HIIH", 1, int(now), 0, 16) + os.urandom(16)
    return base64.b64encode(raw).decode()


def write_keyring(directory, entity, key):
    path = directory / (entity + ".keyring")
    path.write_text("[%s]\n\tkey = %s\n" % (entity, key))
    return str(path)


def connect_as(ceph_conf, entity, keyring):
    """A connected rados.Rados as cephx user `entity` ('client.NAME') with the key in `keyring`."""
    handle = rados.Rados(conffile=ceph_conf, rados_id=entity[len("client."):],
                         conf={"keyring": keyring, "client_mount_timeout": str(MOUNT_TIMEOUT),
                               "rados_osd_op_timeout": "10"})
    bounded(MOUNT_TIMEOUT + MARGIN, handle.connect)
    return handle


def create_user(cluster, directory, role, osd_caps):
    entity = "client." + unique_name("rbdtest-" + role)
    answer = mon_command(cluster, "auth get-or-create", entity=entity, caps=["mon", "profile rbd", "osd", osd_caps])
    return entity, write_keyring(directory, entity, answer[0]["key"])


def remove_user(cluster, entity):
    mon_command(cluster, "auth rm", entity=entity)


@pytest.fixture(scope="module")
def pools(cluster):
    """Pools A (the users' own) and B (someone else's)."""
    names = unique_name("secA"), unique_name("secB")
    for name in names:
        cluster.create_pool(name)
        with cluster.open_ioctx(name) as ioctx:
            ioctx.application_enable("rbd")
    yield names
    for name in names:
        cluster.delete_pool(name)


@pytest.fixture(scope="module")
def admin_images(cluster, pools):
    """Images made by client.admin: 'mine' in A, 'theirs' in B, 'split' with its header in A and data in B."""
    a, b = pools
    with cluster.open_ioctx(a) as io_a, cluster.open_ioctx(b) as io_b:
        rbd.RBD().create(io_a, "mine", 8 * MiB)
        rbd.RBD().create(io_b, "theirs", 8 * MiB)
        rbd.RBD().create(io_a, "split", 8 * MiB, data_pool=b)
        ids = {}
        for ioctx, name in ((io_a, "mine"), (io_b, "theirs"), (io_a, "split")):
            with rbd.Image(ioctx, name) as image:
                image.write(DATA, 0)
                ids[name] = (image.id(), image.block_name_prefix())
    return ids


@pytest.fixture(scope="module")
def keyrings(tmp_path_factory):
    return tmp_path_factory.mktemp("keyrings")


@pytest.fixture(scope="module")
def pool_user(cluster, pools, keyrings):
    """('client.NAME', keyring path) of a user with `profile rbd` on pool A only."""
    entity, keyring = create_user(cluster, keyrings, "rw", "profile rbd pool=%s" % pools[0])
    yield entity, keyring
    remove_user(cluster, entity)


@pytest.fixture(scope="module")
def read_only_user(cluster, pools, keyrings):
    """('client.NAME', keyring path) of a user with `profile rbd-read-only` on pool A only."""
    entity, keyring = create_user(cluster, keyrings, "ro", "profile rbd-read-only pool=%s" % pools[0])
    yield entity, keyring
    remove_user(cluster, entity)


ERRNO = {rbd.PermissionError: errno.EPERM, rbd.ReadOnlyImage: errno.EROFS}


def refusals(ops, expected):
    """Run every op; assert each raises exactly `expected` with its errno; return {op: class name}."""
    seen = {}
    for label, op in ops.items():
        try:
            result, _ = bounded(20, op)
        except Exception as e:
            seen[label] = type(e).__name__
            assert type(e) is expected, "%s raised %r, not %s" % (label, e, expected.__name__)
            assert e.errno == ERRNO[expected], "%s: errno %s" % (label, e.errno)
            continue
        raise AssertionError("%s was allowed (returned %r)" % (label, result))
    return seen


def admin_sees_untouched(cluster, pool, name, images=None):
    with cluster.open_ioctx(pool) as ioctx:
        if images is not None:
            assert sorted(rbd.RBD().list(ioctx)) == sorted(images)
        with rbd.Image(ioctx, name, read_only=True) as image:
            assert image.size() == 8 * MiB
            assert image.read(0, len(DATA)) == DATA


def test_pool_user_works_in_its_own_pool(ceph_conf, pools, admin_images, pool_user):
    # The control: the key and caps are right, so the refusals below are about the pool, nothing else.
    handle = connect_as(ceph_conf, *pool_user)
    with handle.open_ioctx(pools[0]) as ioctx:
        name = unique_name()
        rbd.RBD().create(ioctx, name, MiB)
        assert name in rbd.RBD().list(ioctx)
        with rbd.Image(ioctx, name) as image:
            image.write(b"own pool", 0)
            assert image.read(0, 8) == b"own pool"
            image.resize(2 * MiB)
        with rbd.Image(ioctx, "mine") as image:
            assert image.read(0, len(DATA)) == DATA
        rbd.RBD().rename(ioctx, name, name + "-renamed")
        rbd.RBD().remove(ioctx, name + "-renamed")
        assert name + "-renamed" not in rbd.RBD().list(ioctx)
    handle.shutdown()


def test_pool_user_is_refused_in_other_pool(cluster, ceph_conf, pools, admin_images, pool_user):
    handle = connect_as(ceph_conf, *pool_user)
    ioctx = handle.open_ioctx(pools[1])
    theirs_id = admin_images["theirs"][0]
    ops = {
        "create": lambda: rbd.RBD().create(ioctx, "intruder", MiB),
        "list": lambda: rbd.RBD().list(ioctx),
        "list2": lambda: list(rbd.RBD().list2(ioctx)),
        "open": lambda: rbd.Image(ioctx, "theirs"),
        "open read_only": lambda: rbd.Image(ioctx, "theirs", read_only=True),
        "open by id": lambda: rbd.Image(ioctx, image_id=theirs_id, read_only=True),
        "open missing image": lambda: rbd.Image(ioctx, "no-such-image"),  # no ImageNotFound: names stay hidden
        "remove": lambda: rbd.RBD().remove(ioctx, "theirs"),
        "remove missing image": lambda: rbd.RBD().remove(ioctx, "no-such-image"),
        "rename": lambda: rbd.RBD().rename(ioctx, "theirs", "stolen"),
    }
    seen = refusals(ops, rbd.PermissionError)
    ioctx.close()
    handle.shutdown()
    admin_sees_untouched(cluster, pools[1], "theirs", images=["theirs"])
    print("\nprofile rbd pool=A, in pool B: %s" % seen)


def test_pool_user_cannot_reach_data_in_other_pool(cluster, ceph_conf, pools, admin_images, pool_user):
    # 'split' has its header in A (readable) and its data in B: the image opens, its data stays out of reach.
    handle = connect_as(ceph_conf, *pool_user)
    ioctx = handle.open_ioctx(pools[0])
    image = rbd.Image(ioctx, "split")
    assert image.size() == 8 * MiB
    object_size = image.stat()["obj_size"]
    ops = {
        "read": lambda: image.read(0, len(DATA)),
        "write": lambda: image.write(b"overwrite", 0),
        "write far": lambda: image.write(b"new object", 5 * MiB),
        "write_zeroes": lambda: image.write_zeroes(0, 512),
        "discard object": lambda: image.discard(0, object_size),
        "resize shrink": lambda: image.resize(MiB),
    }
    if hasattr(image, "create_snap"):
        ops["create_snap"] = lambda: image.create_snap("snap")
    seen = refusals(ops, rbd.PermissionError)
    image.close()
    # librbd gives up on removal when it cannot delete the data; whatever it did to the header in A, B's data
    # objects are still there.
    seen.update(refusals({"remove": lambda: rbd.RBD().remove(ioctx, "split")}, rbd.PermissionError))
    ioctx.close()
    handle.shutdown()
    prefix = admin_images["split"][1]
    with cluster.open_ioctx(pools[1]) as data_ioctx:
        assert data_ioctx.read(prefix + ".0000000000000000", len(DATA)) == DATA
        assert [o.key for o in data_ioctx.list_objects() if o.key.startswith(prefix)] == [prefix + ".0000000000000000"]
    print("\nprofile rbd pool=A, image in A with data in B: %s" % seen)


def test_read_only_user(cluster, ceph_conf, pools, admin_images, read_only_user):
    handle = connect_as(ceph_conf, *read_only_user)
    ioctx = handle.open_ioctx(pools[0])
    assert sorted(rbd.RBD().list(ioctx)) == ["mine", "split"]
    assert sorted(entry["name"] for entry in rbd.RBD().list2(ioctx)) == ["mine", "split"]
    image = rbd.Image(ioctx, "mine", read_only=True)
    assert image.size() == 8 * MiB
    assert image.read(0, len(DATA)) == DATA
    image_ops = {
        "write": lambda: image.write(b"x", 0),
        "discard": lambda: image.discard(0, MiB),
        "write_zeroes": lambda: image.write_zeroes(0, 512),
        "resize": lambda: image.resize(16 * MiB),
        "update_features": lambda: image.update_features(rbd.RBD_FEATURE_DEEP_FLATTEN, False),
    }
    if hasattr(image, "create_snap"):
        image_ops["create_snap"] = lambda: image.create_snap("snap")
    seen = refusals(image_ops, rbd.ReadOnlyImage)
    assert image.read(0, len(DATA)) == DATA
    image.close()
    pool_ops = {
        "open read-write": lambda: rbd.Image(ioctx, "mine"),
        "create": lambda: rbd.RBD().create(ioctx, "new", MiB),
        "remove": lambda: rbd.RBD().remove(ioctx, "mine"),
        "rename": lambda: rbd.RBD().rename(ioctx, "mine", "renamed"),
    }
    seen.update(refusals(pool_ops, rbd.PermissionError))
    # Not only librbd's read-only mode: the OSDs refuse the user's writes to the image's objects.
    with pytest.raises(rados.PermissionError):
        ioctx.write_full(admin_images["mine"][1] + ".0000000000000000", b"bypass")
    ioctx.close()
    with handle.open_ioctx(pools[1]) as other:
        seen.update({"pool B: " + k: v for k, v in refusals({
            "open read_only": lambda: rbd.Image(other, "theirs", read_only=True),
            "list": lambda: rbd.RBD().list(other),
        }, rbd.PermissionError).items()})
    handle.shutdown()
    admin_sees_untouched(cluster, pools[0], "mine")
    print("\nprofile rbd-read-only pool=A: %s" % seen)


def test_wrong_key_cannot_connect(ceph_conf, keyrings, pool_user):
    cases = {
        "known user, wrong key": (pool_user[0], random_key()),
        "unknown user": ("client." + unique_name("nobody"), random_key()),
    }
    for label, (entity, key) in cases.items():
        keyring = write_keyring(keyrings, entity + "-wrong", key)
        handle = rados.Rados(conffile=ceph_conf, rados_id=entity[len("client."):],
                             conf={"keyring": keyring, "client_mount_timeout": str(MOUNT_TIMEOUT)})
        _, elapsed = raises_within(MOUNT_TIMEOUT + MARGIN, rados.PermissionDeniedError, handle.connect)
        with pytest.raises(rados.RadosStateError):
            handle.open_ioctx("any")
        handle.shutdown()
        print("\n%s: rados.PermissionDeniedError after %.3f s" % (label, elapsed))


def test_removed_user_cannot_connect(cluster, ceph_conf, pools, keyrings):
    entity, keyring = create_user(cluster, keyrings, "gone", "profile rbd pool=%s" % pools[0])
    try:
        handle = connect_as(ceph_conf, entity, keyring)
        with handle.open_ioctx(pools[0]) as ioctx:
            assert "mine" in rbd.RBD().list(ioctx)
        handle.shutdown()
    finally:
        remove_user(cluster, entity)
    ret, _, _ = cluster.mon_command(json.dumps({"prefix": "auth get", "entity": entity}), b"")
    assert ret == -errno.ENOENT  # the monitor no longer has it
    handle = rados.Rados(conffile=ceph_conf, rados_id=entity[len("client."):],
                         conf={"keyring": keyring, "client_mount_timeout": str(MOUNT_TIMEOUT)})
    raises_within(MOUNT_TIMEOUT + MARGIN, rados.PermissionDeniedError, handle.connect)
    handle.shutdown()
