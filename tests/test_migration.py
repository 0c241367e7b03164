"""Live migration: prepare/execute/commit, abort, import from a source spec, status, Image.migration_source_spec."""
import errno
import inspect
import json

import pytest

import rbd
from conftest import MiB, rbd_pool, unique_name

PATTERN = [(0, b"first block " * 100), (MiB + 4096, b"middle" * 500), (3 * MiB, b"\xff" * 65536)]


@pytest.fixture(scope="module")
def dest_pool(cluster):
    """A second pool, so that source and destination pool ids differ."""
    with rbd_pool(cluster, "dest") as name:
        yield name


@pytest.fixture
def dest_ioctx(cluster, dest_pool):
    handle = cluster.open_ioctx(dest_pool)
    yield handle
    handle.close()


@pytest.fixture
def source(ioctx):
    """A fresh 4 MiB image holding PATTERN; removed afterwards if still there."""
    name = unique_name("src")
    rbd.RBD().create(ioctx, name, 4 * MiB, order=22)
    with rbd.Image(ioctx, name) as image:
        for offset, data in PATTERN:
            image.write(data, offset)
    yield name
    try:
        rbd.RBD().remove(ioctx, name)
    except rbd.ImageNotFound:
        pass


def check_pattern(ioctx, name):
    with rbd.Image(ioctx, name) as image:
        assert image.size() == 4 * MiB
        for offset, data in PATTERN:
            assert image.read(offset, len(data)) == data
        assert image.read(2 * MiB, 4096) == b"\0" * 4096


def test_signatures():
    assert list(inspect.signature(rbd.RBD.migration_prepare).parameters) == [
        "self", "ioctx", "image_name", "dest_ioctx", "dest_image_name", "features", "order", "stripe_unit",
        "stripe_count", "data_pool", "clone_format", "flatten"]
    assert list(inspect.signature(rbd.RBD.migration_prepare_import).parameters) == [
        "self", "source_spec", "dest_ioctx", "dest_image_name", "features", "order", "stripe_unit",
        "stripe_count", "data_pool"]
    for name in ("migration_execute", "migration_commit", "migration_abort"):
        assert list(inspect.signature(getattr(rbd.RBD, name)).parameters) == [
            "self", "ioctx", "image_name", "on_progress"]


def test_prepare_execute_commit_to_another_pool(ioctx, dest_ioctx, source):
    r = rbd.RBD()
    dest = unique_name("dst")
    with rbd.Image(ioctx, source) as image:
        source_id = image.id()
    r.migration_prepare(ioctx, source, dest_ioctx, dest, order=23)

    status = r.migration_status(dest_ioctx, dest)
    assert list(status) == ["source_pool_id", "source_pool_namespace", "source_image_name", "source_image_id",
                            "dest_pool_id", "dest_pool_namespace", "dest_image_name", "dest_image_id", "state",
                            "state_description"]
    assert status["source_pool_id"] == ioctx.get_pool_id()
    assert status["dest_pool_id"] == dest_ioctx.get_pool_id()  # upstream reported the source pool here
    assert status["dest_pool_id"] != status["source_pool_id"]
    assert status["source_pool_namespace"] == "" and status["dest_pool_namespace"] == ""
    assert status["source_image_name"] == source and status["source_image_id"] == source_id
    assert status["dest_image_name"] == dest and status["dest_image_id"]
    assert status["state"] == rbd.RBD_IMAGE_MIGRATION_STATE_PREPARED
    assert isinstance(status["state_description"], str)
    assert r.migration_status(ioctx, source) == status  # either side's name

    # The destination is usable at once and reads through to the source.
    check_pattern(dest_ioctx, dest)
    with rbd.Image(dest_ioctx, dest) as image:
        assert image.stat()["order"] == 23
        assert image.migration_source_spec() == {
            "type": "native", "pool_id": ioctx.get_pool_id(), "pool_namespace": "", "image_name": source,
            "image_id": source_id}
    assert source not in r.list(ioctx)

    calls = []
    r.migration_execute(dest_ioctx, dest, on_progress=lambda offset, total: calls.append((offset, total)))
    assert calls and all(total == calls[0][1] for _, total in calls)
    assert r.migration_status(dest_ioctx, dest)["state"] == rbd.RBD_IMAGE_MIGRATION_STATE_EXECUTED

    commits = []
    r.migration_commit(dest_ioctx, dest, on_progress=lambda offset, total: commits.append((offset, total)))
    assert commits
    with pytest.raises(rbd.InvalidArgument):  # no longer migrating
        r.migration_status(dest_ioctx, dest)
    with pytest.raises(rbd.ImageNotFound):
        rbd.Image(ioctx, source)
    check_pattern(dest_ioctx, dest)
    with rbd.Image(dest_ioctx, dest) as image:
        with pytest.raises(rbd.InvalidArgument):
            image.migration_source_spec()
    r.remove(dest_ioctx, dest)


def test_prepare_abort_restores_source(ioctx, source):
    r = rbd.RBD()
    dest = unique_name("dst")
    r.migration_prepare(ioctx, source, ioctx, dest)
    assert source not in r.list(ioctx)
    r.migration_execute(ioctx, source)
    calls = []
    r.migration_abort(ioctx, dest, on_progress=lambda offset, total: calls.append(offset))
    assert calls
    names = r.list(ioctx)
    assert source in names and dest not in names
    check_pattern(ioctx, source)
    with pytest.raises(rbd.InvalidArgument):
        r.migration_status(ioctx, source)


def test_abort_keeps_writes_made_during_migration(ioctx, source):
    # librbd copies what was written to the destination back to the source when aborting.
    r = rbd.RBD()
    dest = unique_name("dst")
    r.migration_prepare(ioctx, source, ioctx, dest)
    with rbd.Image(ioctx, dest) as image:
        image.write(b"written during migration", 2 * MiB)
    r.migration_abort(ioctx, dest)
    assert dest not in r.list(ioctx)
    with rbd.Image(ioctx, source) as image:
        assert image.read(2 * MiB, 24) == b"written during migration"
        assert image.read(0, len(PATTERN[0][1])) == PATTERN[0][1]
    with pytest.raises(rbd.InvalidArgument):
        r.migration_status(ioctx, source)


def test_prepare_options_shape_destination(ioctx, source):
    r = rbd.RBD()
    dest = unique_name("dst")
    features = rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_STRIPINGV2
    r.migration_prepare(ioctx, source, ioctx, dest, features=features, order=21, stripe_unit=1 << 16,
                        stripe_count=4, clone_format=2, flatten=True)
    with rbd.Image(ioctx, dest) as image:
        assert image.features() & ~rbd.RBD_FEATURE_MIGRATING == features
        assert image.stat()["order"] == 21
        assert image.stripe_unit() == 1 << 16 and image.stripe_count() == 4
    r.migration_execute(ioctx, dest)
    r.migration_commit(ioctx, dest)
    check_pattern(ioctx, dest)
    r.remove(ioctx, dest)


def test_prepare_errors(ioctx, source):
    r = rbd.RBD()
    with pytest.raises(rbd.ImageNotFound):
        r.migration_prepare(ioctx, unique_name("missing"), ioctx, unique_name("dst"))
    with pytest.raises(rbd.ArgumentOutOfRange):
        r.migration_prepare(ioctx, source, ioctx, unique_name("dst"), order=30)
    with pytest.raises(TypeError):
        r.migration_prepare(ioctx, source, ioctx, unique_name("dst"), order="22")
    with pytest.raises(OverflowError):
        r.migration_prepare(ioctx, source, ioctx, unique_name("dst"), features=-1)
    with pytest.raises(rbd.InvalidArgument):
        r.migration_prepare(ioctx, source, ioctx, unique_name("dst"), data_pool=5)
    with pytest.raises(rbd.InvalidArgument):
        r.migration_prepare(ioctx, 5, ioctx, "x")
    with pytest.raises(rbd.InvalidArgument):
        r.migration_prepare(ioctx, source, ioctx, None)
    with pytest.raises(TypeError):
        r.migration_prepare(ioctx, source, "ioctx", "x")
    with pytest.raises(TypeError):
        r.migration_prepare("ioctx", source, ioctx, "x")
    assert source in r.list(ioctx)  # nothing happened to it
    check_pattern(ioctx, source)


def test_steps_errors(cluster, pool, ioctx, source):
    r = rbd.RBD()
    missing = unique_name("missing")
    for call in (r.migration_execute, r.migration_commit, r.migration_abort, r.migration_status):
        with pytest.raises(rbd.ImageNotFound):
            call(ioctx, missing)
        with pytest.raises(rbd.InvalidArgument):
            call(ioctx, 5)
        with pytest.raises(rbd.InvalidArgument):  # exists, but is not migrating
            call(ioctx, source)
    dest = unique_name("dst")
    r.migration_prepare(ioctx, source, ioctx, dest)
    with pytest.raises(rbd.InvalidArgument):  # commit before execute
        r.migration_commit(ioctx, dest)
    with pytest.raises(TypeError):
        r.migration_execute(ioctx, dest, on_progress=5)
    closed = cluster.open_ioctx(pool)
    closed.close()
    for call in (r.migration_execute, r.migration_commit, r.migration_abort, r.migration_status):
        with pytest.raises(rbd.InvalidArgument):
            call(closed, dest)
    r.migration_abort(ioctx, dest)
    check_pattern(ioctx, source)


def write_raw_file(path):
    data = bytearray(4 * MiB)
    for offset, chunk in PATTERN:
        data[offset:offset + len(chunk)] = chunk
    path.write_bytes(bytes(data))
    return str(path)


@pytest.mark.parametrize("as_dict", [False, True])
def test_import_raw_file(tmp_path, ioctx, as_dict):
    r = rbd.RBD()
    spec = {"type": "raw", "stream": {"type": "file", "file_path": write_raw_file(tmp_path / "disk.raw")}}
    dest = unique_name("imported")
    r.migration_prepare_import(spec if as_dict else json.dumps(spec), ioctx, dest, order=20)

    status = r.migration_status(ioctx, dest)
    assert status["state"] == rbd.RBD_IMAGE_MIGRATION_STATE_PREPARED
    assert status["source_pool_id"] == -1 and status["source_image_name"] == ""
    assert status["dest_pool_id"] == ioctx.get_pool_id()  # upstream: -1, copied from source_pool_id
    assert status["dest_image_name"] == dest
    with rbd.Image(ioctx, dest) as image:
        assert image.migration_source_spec() == spec
        assert image.stat()["order"] == 20
    check_pattern(ioctx, dest)  # readable before execute

    r.migration_execute(ioctx, dest)
    r.migration_commit(ioctx, dest)
    check_pattern(ioctx, dest)
    r.remove(ioctx, dest)


def test_import_abort(tmp_path, ioctx):
    r = rbd.RBD()
    spec = json.dumps({"type": "raw", "stream": {"type": "file", "file_path": write_raw_file(tmp_path / "d")}})
    dest = unique_name("imported")
    r.migration_prepare_import(spec, ioctx, dest)
    r.migration_abort(ioctx, dest)
    assert dest not in r.list(ioctx)


def test_import_errors(tmp_path, ioctx):
    r = rbd.RBD()
    with pytest.raises(rbd.OSError) as info:
        r.migration_prepare_import("not json", ioctx, unique_name("imported"))
    assert info.value.errno == errno.EBADMSG
    missing = {"type": "raw", "stream": {"type": "file", "file_path": str(tmp_path / "missing.raw")}}
    with pytest.raises(rbd.ImageNotFound):
        r.migration_prepare_import(missing, ioctx, unique_name("imported"))
    with pytest.raises(rbd.InvalidArgument):
        r.migration_prepare_import(5, ioctx, "x")
    with pytest.raises(rbd.InvalidArgument):
        r.migration_prepare_import("{}", ioctx, 5)
    with pytest.raises(TypeError):
        r.migration_prepare_import("{}", "ioctx", "x")
    with pytest.raises(TypeError):
        r.migration_prepare_import("{}", ioctx, "x", stripe_unit="big")


def test_source_spec_on_closed_image(image):
    image.close()
    with pytest.raises(rbd.InvalidArgument):
        image.migration_source_spec()


PREPARE_UNDER_ADVISORY_LOCK = r"""
rbd.RBD().create(ioctx, name, 8 << 20)
with rbd.Image(ioctx, name, read_only=True) as image:
    image.lock_shared("", "tag")
    out["locked"] = outcome(lambda: rbd.RBD().migration_prepare(ioctx, name, ioctx, name + "-dst"))
    image.unlock("")
out["unlocked"] = outcome(lambda: rbd.RBD().migration_prepare(ioctx, name, ioctx, name + "-dst"))
rbd.RBD().migration_abort(ioctx, name)
rbd.RBD().remove(ioctx, name)
print(json.dumps(out))
"""


def test_prepare_under_an_advisory_lock_is_refused(ceph_conf, pool):
    """Found by the fuzzer on Ceph 18: preparing a migration takes the source's exclusive lock, so under an
    advisory lock (here this client's own, shared) librbd waits forever; ImageBusy instead. In a child."""
    from conftest import run_in_child
    out = run_in_child(PREPARE_UNDER_ADVISORY_LOCK, ceph_conf, pool, unique_name("mig"))
    assert out == {"locked": "ImageBusy", "unlocked": "ok"}
