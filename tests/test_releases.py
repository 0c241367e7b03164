"""Release differences: the module behaves as the python3-rbd of the librbd release it was built for (Ceph 16.2.15
= librbd 1.16, 18.2.7 = 1.18, 20.2.4 = 1.20; see src/helpers/releases.pxi). Each behaviour is tested on the
releases that have it, and the older behaviour on the releases before it."""
import datetime
import errno

import pytest

import rbd
import release_data
from conftest import MiB, unique_name

MINOR = release_data.built_for()[1]
UTC = datetime.timezone.utc


def test_built_for_the_librbd_it_runs_with():
    assert release_data.built_for()[:2] == tuple(rbd.RBD().version()[:2])


def test_clone_format_and_flatten_keywords_on_every_release(ioctx, image_name):
    # Upstream keywords from 18 (clone, deep_copy, migration_prepare); ours on 16 too.
    with rbd.Image(ioctx, image_name) as image:
        image.create_snap("s")
        image.write(b"parent data", 0)
        image.create_snap("s2")
    child, copy = unique_name("child"), unique_name("copy")
    with pytest.raises(rbd.InvalidArgument):  # format 1 needs a protected snapshot
        rbd.RBD().clone(ioctx, image_name, "s", ioctx, child, clone_format=1)
    rbd.RBD().clone(ioctx, image_name, "s2", ioctx, child, clone_format=2)
    try:
        with rbd.Image(ioctx, child) as image:
            image.deep_copy(ioctx, copy, flatten=True)
        with rbd.Image(ioctx, image_name) as image:
            with pytest.raises(rbd.ImageExists) as info:
                image.deep_copy(ioctx, copy)
            verb = "deep copying" if MINOR >= 18 else "copying"
            assert "(error %s image " % verb in str(info.value) and image_name in str(info.value)
        with rbd.Image(ioctx, copy) as image:
            with pytest.raises(rbd.ImageNotFound):
                image.parent_info()  # flattened
            assert image.read(0, 11) == b"parent data"
        rbd.RBD().remove(ioctx, copy)
    finally:
        rbd.RBD().remove(ioctx, child)
        with rbd.Image(ioctx, image_name) as image:
            image.remove_snap("s")
            image.remove_snap("s2")
    assert hasattr(rbd, "RBD_IMAGE_OPTION_CLONE_FORMAT") == (MINOR >= 18)
    if MINOR >= 18:
        assert (rbd.RBD_IMAGE_OPTION_FLATTEN, rbd.RBD_IMAGE_OPTION_CLONE_FORMAT) == (11, 12)


@pytest.fixture
def snapshot(ioctx, image_name):
    """(image name, snapshot name, snapshot id) of a fresh snapshot holding b'snap data' at 0."""
    with rbd.Image(ioctx, image_name) as image:
        image.write(b"snap data", 0)
        image.create_snap("base")
        snap_id = image.snap_get_id("base")
    yield image_name, "base", snap_id
    with rbd.Image(ioctx, image_name) as image:
        if image.snap_exists("base"):
            image.remove_snap2("base", rbd.RBD_SNAP_REMOVE_UNPROTECT)


def test_clone_by_snapshot_id_from_librbd_1_20(ioctx, snapshot):
    parent, snap_name, snap_id = snapshot
    child = unique_name("child")
    if MINOR < 20:
        # Before 1.20 the third parameter is p_snapname and takes names only (bytes too).
        with pytest.raises(rbd.InvalidArgument):
            rbd.RBD().clone(ioctx, parent, snap_id, ioctx, child, clone_format=2)
        rbd.RBD().clone(ioctx, parent, p_snapname=snap_name.encode(), c_ioctx=ioctx, c_name=child,
                        clone_format=2)
        rbd.RBD().remove(ioctx, child)
        with pytest.raises(TypeError):
            rbd.RBD().clone(ioctx, parent, p_snapshot=snap_name, c_ioctx=ioctx, c_name=child)
        return
    rbd.RBD().clone(ioctx, parent, snap_id, ioctx, child, clone_format=2)
    try:
        with rbd.Image(ioctx, child) as image:
            assert image.read(0, 9) == b"snap data"
            spec = image.get_parent_image_spec()
            assert spec["snap_id"] == snap_id and spec["snap_name"] == snap_name
    finally:
        rbd.RBD().remove(ioctx, child)
    rbd.RBD().clone(ioctx, parent, p_snapshot=snap_name, c_ioctx=ioctx, c_name=child, clone_format=2)
    rbd.RBD().remove(ioctx, child)
    for wrong in (snap_name.encode(), None, 1.5):
        with pytest.raises(TypeError, match="p_snapshot must be a string or an integer"):
            rbd.RBD().clone(ioctx, parent, wrong, ioctx, child)
    with pytest.raises(TypeError):
        rbd.RBD().clone(ioctx, parent, p_snapname=snap_name, c_ioctx=ioctx, c_name=child)
    with pytest.raises(rbd.ImageNotFound):  # no snapshot with that id
        rbd.RBD().clone(ioctx, parent, snap_id + 1000, ioctx, child, clone_format=2)


def test_parent_image_spec_keys(ioctx, snapshot):
    parent, snap_name, snap_id = snapshot
    child = unique_name("child")
    rbd.RBD().clone(ioctx, parent, snap_name, ioctx, child, clone_format=2)
    try:
        with rbd.Image(ioctx, child) as image, rbd.Image(ioctx, parent) as parent_image:
            spec = image.get_parent_image_spec()
            expected = {"pool_name": ioctx.get_pool_name(), "pool_namespace": "", "image_name": parent,
                        "snap_name": snap_name}
            if MINOR >= 20:
                assert list(spec) == ["pool_id", "pool_name", "pool_namespace", "image_id", "image_name", "trash",
                                      "snap_id", "snap_namespace_type", "snap_name"]
                expected.update(pool_id=ioctx.get_pool_id(), image_id=parent_image.id(), trash=False,
                                snap_id=snap_id, snap_namespace_type=rbd.RBD_SNAP_NAMESPACE_TYPE_USER)
            else:
                assert list(spec) == ["pool_name", "pool_namespace", "image_name", "snap_name"]
            assert spec == expected
    finally:
        rbd.RBD().remove(ioctx, child)


def collect_diff(image, from_snapshot, **kwargs):
    extents = []
    image.diff_iterate(0, image.size(), from_snapshot, lambda *extent: extents.append(extent), **kwargs)
    return extents


def test_diff_iterate_from_snapshot_id_from_librbd_1_18(ioctx, snapshot):
    name, snap_name, snap_id = snapshot
    with rbd.Image(ioctx, name) as image:
        image.write(b"x" * 4096, 2 * MiB)
        by_name = collect_diff(image, snap_name)
        assert (2 * MiB, 4096, True) in by_name or any(o <= 2 * MiB < o + n for o, n, _ in by_name)
        if MINOR < 18:
            assert collect_diff(image, snap_name.encode()) == by_name  # bytes accepted before 18
            with pytest.raises(rbd.InvalidArgument):
                collect_diff(image, snap_id)
            return
        assert collect_diff(image, snap_id) == by_name
        assert collect_diff(image, snap_id, whole_object=True) != []
        assert collect_diff(image, None) == collect_diff(image, 0)
        for wrong in (snap_name.encode(), 1.5, [snap_name]):
            with pytest.raises(TypeError, match="from_snapshot must be a string or an integer"):
                collect_diff(image, wrong)
        with pytest.raises(rbd.ImageNotFound, match="error generating diff from snapshot id %d" % (snap_id + 999)):
            collect_diff(image, snap_id + 999)


def test_timestamps_are_aware_utc_from_librbd_1_20(ioctx, image_name):
    with rbd.Image(ioctx, image_name) as image:
        image.write(b"t", 0)
        image.read(0, 1)
        image.create_snap("when")
        stamps = {"create": image.create_timestamp(), "access": image.access_timestamp(),
                  "modify": image.modify_timestamp(), "snap": image.get_snap_timestamp(image.snap_get_id("when"))}
        image.remove_snap("when")
    rbd.RBD().trash_move(ioctx, image_name, 0)
    try:
        entry = rbd.RBD().trash_get(ioctx, next(e["id"] for e in rbd.RBD().trash_list(ioctx)
                                                if e["name"] == image_name))
        stamps["deletion"] = entry["deletion_time"]
        listed = next(e for e in rbd.RBD().trash_list(ioctx) if e["name"] == image_name)
        stamps["listed"] = listed["deferment_end_time"]
    finally:
        rbd.RBD().trash_restore(ioctx, entry["id"], image_name)
    now_utc = datetime.datetime.now(UTC)
    for what, value in stamps.items():
        assert type(value) is datetime.datetime, what
        if MINOR >= 20:
            assert value.tzinfo is UTC, what
            aware = value
        elif what in ("access", "modify"):
            assert value.tzinfo is None, what  # naive local time before 1.20
            aware = value.astimezone(UTC)
        else:
            assert value.tzinfo is None, what  # naive UTC before 1.20
            aware = value.replace(tzinfo=UTC)
        assert abs((aware - now_utc).total_seconds()) < 300, (what, value)


def test_group_member_cannot_be_removed_or_trashed(ioctx, image_name):
    group_name = unique_name("grp")
    rbd.RBD().group_create(ioctx, group_name)
    try:
        with rbd.Group(ioctx, group_name) as group:
            group.add_image(ioctx, image_name)
            with pytest.raises(rbd.OSError) as info:
                rbd.RBD().remove(ioctx, image_name)
            assert info.value.errno == errno.EMLINK
            assert type(info.value) is (rbd.ImageMemberOfGroup if MINOR >= 20 else rbd.OSError)
            group.create_snap("gs")
            if MINOR >= 20:  # librbd 1.20 refuses to trash a group member too
                with pytest.raises(rbd.ImageMemberOfGroup):
                    rbd.RBD().trash_move(ioctx, image_name)
            group.remove_snap("gs")
            group.remove_image(ioctx, image_name)
    finally:
        rbd.RBD().group_remove(ioctx, group_name)


@pytest.mark.skipif(MINOR < 20, reason="needs librbd 1.20: Group.id, Group.get_snap_info")
def test_group_id_and_snapshot_info(ioctx, image_name):
    group_name = unique_name("grp")
    rbd.RBD().group_create(ioctx, group_name)
    try:
        with rbd.Group(ioctx, group_name) as group:
            group_id = group.id()
            assert isinstance(group_id, str) and group_id
            group.create_snap("empty")
            info = group.get_snap_info("empty")
            assert list(info) == ["id", "name", "state", "namespace_type", "image_snap_name", "image_snaps"]
            assert info["name"] == "empty" and info["image_snap_name"] == "" and info["image_snaps"] == []
            assert info["state"] == rbd.RBD_GROUP_SNAP_STATE_COMPLETE
            assert info["namespace_type"] == rbd.RBD_GROUP_SNAP_NAMESPACE_TYPE_USER == 0
            group.add_image(ioctx, image_name)
            group.create_snap("full")
            info = group.get_snap_info("full")
            [member] = info["image_snaps"]
            assert list(member) == ["pool_id", "snap_id", "image_name"]
            assert member["pool_id"] == ioctx.get_pool_id() and member["image_name"] == image_name
            assert info["image_snap_name"]
            listed = {entry["name"]: entry for entry in group.list_snaps()}
            assert listed["full"] == info and set(listed) == {"empty", "full"}
            for missing in ("nope", ""):
                with pytest.raises(rbd.ObjectNotFound):
                    group.get_snap_info(missing)
            with rbd.Image(ioctx, image_name) as image:
                group_snap = next(s for s in image.list_snaps() if s["id"] == member["snap_id"])
                assert group_snap["namespace"] == rbd.RBD_SNAP_NAMESPACE_TYPE_GROUP
            # A member image's group snapshot can be cloned by id (format 2 only).
            child = unique_name("child")
            with pytest.raises(rbd.InvalidArgument):
                rbd.RBD().clone(ioctx, image_name, member["snap_id"], ioctx, child, clone_format=1)
            rbd.RBD().clone(ioctx, image_name, member["snap_id"], ioctx, child, clone_format=2)
            rbd.RBD().remove(ioctx, child)
            group.remove_snap("full")
            group.remove_snap("empty")
            group.remove_image(ioctx, image_name)
        with pytest.raises(rbd.ObjectNotFound):
            rbd.Group(ioctx, "no-such-group").id()
    finally:
        rbd.RBD().group_remove(ioctx, group_name)


def test_group_api_of_older_releases(ioctx):
    if MINOR >= 20:
        pytest.skip("librbd 1.20 has Group.id and get_snap_info (tested above)")
    group_name = unique_name("grp")
    rbd.RBD().group_create(ioctx, group_name)
    try:
        with rbd.Group(ioctx, group_name) as group:
            assert not hasattr(group, "id") and not hasattr(group, "get_snap_info")
            group.create_snap("s")
            assert list(group.list_snaps()) == [{"name": "s", "state": rbd.RBD_GROUP_SNAP_STATE_COMPLETE}]
            group.remove_snap("s")
    finally:
        rbd.RBD().group_remove(ioctx, group_name)


def test_trash_snapshot_namespace_keys(ioctx, snapshot):
    parent, snap_name, snap_id = snapshot
    child = unique_name("child")
    rbd.RBD().clone(ioctx, parent, snap_name, ioctx, child, clone_format=2)
    try:
        with rbd.Image(ioctx, parent) as image:
            image.remove_snap(snap_name)  # a clone v2 child keeps it: it moves to the trash namespace
            [entry] = [s for s in image.list_snaps() if s["id"] == snap_id]
            assert entry["namespace"] == rbd.RBD_SNAP_NAMESPACE_TYPE_TRASH
            trash = image.snap_get_trash_namespace(snap_id)
            if MINOR >= 20:
                assert trash == {"original_namespace_type": rbd.RBD_SNAP_NAMESPACE_TYPE_USER,
                                 "original_name": snap_name}
                assert list(trash) == ["original_namespace_type", "original_name"]
            else:
                assert trash == {"original_name": snap_name}
            assert entry["trash"] == trash
            with pytest.raises(rbd.ImageNotFound) as info:
                image.snap_get_trash_namespace(snap_id + 1000)
            word = "for image" if MINOR >= 20 else "image"
            assert "error getting snapshot trash namespace %s: " % word in str(info.value)
    finally:
        rbd.RBD().remove(ioctx, child)


@pytest.mark.skipif(MINOR < 20, reason="needs librbd 1.20: mirror_remote_namespace_get/set")
def test_mirror_remote_namespace(cluster):
    from conftest import rbd_pool
    with rbd_pool(cluster, "mirror-ns") as pool_name:
        with cluster.open_ioctx(pool_name) as ioctx:
            R = rbd.RBD()
            assert R.mirror_remote_namespace_get(ioctx) == ""
            R.mirror_remote_namespace_set(ioctx, "elsewhere")
            assert R.mirror_remote_namespace_get(ioctx) == "elsewhere"
            R.mirror_mode_set(ioctx, rbd.RBD_MIRROR_MODE_IMAGE)  # enabling keeps it
            assert R.mirror_remote_namespace_get(ioctx) == "elsewhere"
            with pytest.raises(rbd.InvalidArgument):  # only while mirroring is disabled
                R.mirror_remote_namespace_set(ioctx, "other")
            R.mirror_mode_set(ioctx, rbd.RBD_MIRROR_MODE_DISABLED)  # disabling resets it
            assert R.mirror_remote_namespace_get(ioctx) == ""
            R.mirror_mode_set(ioctx, rbd.RBD_MIRROR_MODE_INIT_ONLY)
            assert R.mirror_mode_get(ioctx) == rbd.RBD_MIRROR_MODE_INIT_ONLY == 3
            R.mirror_remote_namespace_set(ioctx, "allowed-in-init-only")
            assert R.mirror_remote_namespace_get(ioctx) == "allowed-in-init-only"
            R.mirror_mode_set(ioctx, rbd.RBD_MIRROR_MODE_DISABLED)
            with pytest.raises(rbd.InvalidArgument):
                R.mirror_remote_namespace_set(ioctx, 5)


def test_mirror_api_of_older_releases():
    if MINOR >= 20:
        pytest.skip("librbd 1.20 has the remote namespace calls (tested above)")
    assert not hasattr(rbd.RBD, "mirror_remote_namespace_get")
    assert not hasattr(rbd, "RBD_MIRROR_MODE_INIT_ONLY") and not hasattr(rbd, "RBD_MIRROR_IMAGE_CREATING")


@pytest.mark.skipif(MINOR < 20, reason="needs librbd 1.20: RBD_LOCK_MODE_EXCLUSIVE_TRANSIENT")
def test_exclusive_transient_lock_mode(ioctx):
    name = unique_name("lock")
    rbd.RBD().create(ioctx, name, MiB, features=rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK)
    try:
        with rbd.Image(ioctx, name) as image:
            image.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE_TRANSIENT)
            assert image.is_exclusive_lock_owner()
            image.lock_release()
            assert not image.is_exclusive_lock_owner()
    finally:
        rbd.RBD().remove(ioctx, name)


def elf_dynamic(path):
    """(DT_NEEDED libraries, undefined dynamic symbols) of the ELF64 little-endian shared object at `path`."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + n * shentsize) for n in range(shnum)]

    def strings(index):
        return sections[index][4]   # sh_offset of a string table

    def c_string(table_offset, offset):
        end = data.index(b"\0", table_offset + offset)
        return data[table_offset + offset:end].decode()

    needed, undefined = [], []
    for _, kind, _, _, offset, size, link, _, _, entsize in sections:
        if kind == 6:   # SHT_DYNAMIC: (d_tag, d_val) pairs
            for n in range(size // 16):
                tag, value = struct.unpack_from("<qQ", data, offset + 16 * n)
                if tag == 1:   # DT_NEEDED
                    needed.append(c_string(strings(link), value))
        elif kind == 11:   # SHT_DYNSYM: Elf64_Sym entries
            for n in range(1, size // entsize):
                name, _, _, shndx = struct.unpack_from("<IBBH", data, offset + n * entsize)
                if shndx == 0:   # SHN_UNDEF
                    undefined.append(c_string(strings(link), name))
    return needed, undefined


def test_librbd_and_librados_are_bound_at_import_not_linked():
    # One binary for every release: the module names neither library as a dependency and refers to none of
    # their symbols (the 1.16 calls are bound at import by build/generated/librbd_bound.c, the newer ones looked
    # up by helpers/late_calls.pxi), so a host without them gets a clear ImportError, not the loader's.
    needed, undefined = elf_dynamic(rbd.__file__)
    assert not [n for n in needed if n.startswith(("librbd", "librados"))], needed
    assert not [s for s in undefined if s.startswith(("rbd_", "rados_"))], undefined
    assert "dlopen" in {s.split("@")[0] for s in undefined}   # the parser read the symbols at all
