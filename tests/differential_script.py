"""Runs one fixed scenario with whichever `rbd` module the interpreter imports, and prints a JSON record.

tests/test_differential.py runs it under Debian's python3-rbd (/usr/bin/python3) and under ours, and compares
the records. Values that differ by nature between two runs (ids, timestamps) are recorded by type only.
usage: python differential_script.py CONF POOL PREFIX
"""
import datetime
import json
import os
import sys

import rados
import rbd

conf, pool, prefix = sys.argv[1:4]
record = []


def outcome(value):
    if isinstance(value, (str, bytes)):
        return repr(value.replace(prefix if isinstance(value, str) else prefix.encode(),
                                  "PREFIX" if isinstance(value, str) else b"PREFIX"))
    if isinstance(value, (int, float, bool, type(None))):
        return repr(value)
    if isinstance(value, datetime.datetime):
        return "datetime(tz=%s)" % (value.tzinfo,)
    if isinstance(value, dict):
        return {k: outcome(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [type(value).__name__] + [outcome(v) for v in value]
    return type(value).__name__


def step(label, call, by_type=False):
    try:
        value = call()
        result = type(value).__name__ if by_type else outcome(value)
    except Exception as exc:  # the class, errno and message are what callers see
        # The message's fixed part (before the first "(") is compared; the details inside may differ.
        result = {"raised": type(exc).__name__, "errno": getattr(exc, "errno", None),
                  "str": str(exc).split("(")[0] if isinstance(exc, rbd.Error) else ""}
    record.append([label, result])


os.environ["RBD_FORCE_ALLOW_V1"] = "1"
cluster = rados.Rados(conffile=conf)
cluster.connect()
ioctx = cluster.open_ioctx(pool)
r = rbd.RBD()
name = prefix + "-a"

step("version", r.version)
step("create", lambda: r.create(ioctx, name, 8 << 20, order=22))
step("create again", lambda: r.create(ioctx, name, 8 << 20))
step("create bad name", lambda: r.create(ioctx, 5, 8 << 20))
step("create negative", lambda: r.create(ioctx, prefix + "-neg", -1))
step("create old_format+features", lambda: r.create(ioctx, prefix + "-old", 1 << 20, old_format=True, features=1))
step("create stripe", lambda: r.create(ioctx, prefix + "-s", 1 << 22, features=3, stripe_unit=1 << 16,
                                       stripe_count=4))
step("list contains", lambda: sorted(n for n in r.list(ioctx) if n.startswith(prefix)))
step("list2 keys", lambda: sorted(sorted(e) for e in r.list2(ioctx) if e["name"].startswith(prefix)))
step("features_to_string", lambda: r.features_to_string(61))
step("features_from_string", lambda: r.features_from_string("layering,exclusive-lock"))
step("features_to_string bad", lambda: r.features_to_string(1 << 40))
step("open missing", lambda: rbd.Image(ioctx, prefix + "-missing"))
step("open none", lambda: rbd.Image(ioctx))

image = rbd.Image(ioctx, name)
step("repr", lambda: repr(image).replace(prefix, "PREFIX"))
step("size", image.size)
stat = image.stat()
stat.pop("block_name_prefix")
step("stat", lambda: stat)
step("write", lambda: image.write(b"foo" * 200, 0))
step("read", lambda: image.read(0, 600))
step("read past end", lambda: image.read(9 << 20, 10))
step("read at end", lambda: image.read(8 << 20, 10))
step("short read", lambda: image.read((8 << 20) - 4, 10))
step("write str", lambda: image.write("text", 0))
step("write int offset str", lambda: image.write(b"x", "0"))
step("read negative", lambda: image.read(-1, 1))
step("discard", lambda: image.discard(0, 3))
step("read after discard", lambda: image.read(0, 6))
step("write_zeroes", lambda: image.write_zeroes(3, 3))
step("flush", image.flush)
step("invalidate_cache", image.invalidate_cache)
step("resize same", lambda: image.resize(8 << 20))
step("resize no shrink", lambda: image.resize(1 << 20, allow_shrink=False))
step("resize grow", lambda: image.resize(16 << 20))
step("size after", image.size)
step("features", image.features)
step("flags", image.flags)
step("op_features", image.op_features)
step("old_format", image.old_format)
step("overlap", image.overlap)
step("stripe_unit", image.stripe_unit)
step("stripe_count", image.stripe_count)
step("get_name", image.get_name)
step("id", image.id, by_type=True)
step("block_name_prefix", image.block_name_prefix, by_type=True)
step("data_pool_id is pool", lambda: image.data_pool_id() == ioctx.get_pool_id())
step("create_timestamp", image.create_timestamp)
step("access_timestamp", image.access_timestamp)
step("modify_timestamp", image.modify_timestamp)
step("update_features bad", lambda: image.update_features(rbd.RBD_FEATURE_LAYERING, False))
image.close()
step("close twice", image.close)
step("size closed", image.size)
step("read closed", lambda: image.read(0, 1))

with rbd.Image(ioctx, name, read_only=True) as ro:
    step("read-only write", lambda: ro.write(b"x", 0))
image_id = rbd.Image(ioctx, name).id()
with rbd.Image(ioctx, image_id=image_id) as by_id:
    step("repr by id", lambda: repr(by_id).replace(prefix, "PREFIX"))
step("rename", lambda: r.rename(ioctx, name, name + "-b"))
step("rename missing", lambda: r.rename(ioctx, name, name + "-c"))
step("remove", lambda: r.remove(ioctx, name + "-b"))
step("remove missing", lambda: r.remove(ioctx, name + "-b"))
step("remove striped", lambda: r.remove(ioctx, prefix + "-s"))


def closed_ioctx_list():
    """RBD().list() on a closed Ioctx, in a child process of this interpreter (upstream's segfaults there): what the
    child printed, or the signal that killed it."""
    import subprocess
    child = subprocess.run([sys.executable, "-c", CLOSED_IOCTX_LIST, conf, pool], capture_output=True, text=True,
                           timeout=120)
    if child.stdout.strip():
        return child.stdout.strip()   # what list() did (an abort after it, at exit, is not list's)
    if child.returncode < 0:
        return "killed by signal %d" % -child.returncode
    return "exit %d: %s" % (child.returncode, child.stderr[-300:])


CLOSED_IOCTX_LIST = """
import sys, rados, rbd
cluster = rados.Rados(conffile=sys.argv[1]); cluster.connect()
io = cluster.open_ioctx(sys.argv[2]); io.close()
try:
    print("returned", type(rbd.RBD().list(io)).__name__, flush=True)
except Exception as exc:
    print("raised", type(exc).__name__, getattr(exc, "errno", None), flush=True)
cluster.shutdown()
"""

step("closed ioctx list (child)", closed_ioctx_list)

# The Image API beyond I/O: snapshots, clones, metadata, locks (shapes and error classes).
parent = prefix + "-p"
r.create(ioctx, parent, 4 << 20, features=1)
with rbd.Image(ioctx, parent) as image:
    image.write(b"parent", 0)
    step("create_snap", lambda: image.create_snap("s1"))
    step("create_snap again", lambda: image.create_snap("s1"))
    step("snap_exists", lambda: image.snap_exists("s1"))
    step("list_snaps", lambda: [{k: (v if k != "id" else type(v).__name__) for k, v in sorted(s.items())}
                                for s in image.list_snaps()])
    step("protect_snap", lambda: image.protect_snap("s1"))
    step("is_protected_snap", lambda: image.is_protected_snap("s1"))
    step("remove protected", lambda: image.remove_snap("s1"))
    step("remove missing snap", lambda: image.remove_snap("nope"))
    step("rename_snap missing", lambda: image.rename_snap("nope", "x"))
    step("snap_get_namespace_type", lambda: image.snap_get_namespace_type(image.snap_get_id("s1")))
    step("get_snap_limit", image.get_snap_limit)
    step("metadata_set", lambda: image.metadata_set("k", "v"))
    step("metadata_get", lambda: image.metadata_get("k"))
    step("metadata_get missing", lambda: image.metadata_get("missing"))
    step("metadata_list", lambda: list(image.metadata_list()))
    step("metadata_remove missing", lambda: image.metadata_remove("missing"))
    step("list_lockers none", image.list_lockers)
    step("lock_exclusive", lambda: image.lock_exclusive("cookie"))
    step("list_lockers", lambda: {k: (v if k != "lockers" else [(type(c).__name__, ck, type(a).__name__)
                                                                 for c, ck, a in v]) for k, v in image.list_lockers().items()})
    step("unlock", lambda: image.unlock("cookie"))
    step("unlock again", lambda: image.unlock("cookie"))
step("clone", lambda: r.clone(ioctx, parent, "s1", ioctx, prefix + "-c", features=1))
with rbd.Image(ioctx, prefix + "-c") as child:
    step("parent_info", lambda: child.parent_info())
    step("overlap", child.overlap)
    step("read through", lambda: child.read(0, 6))
    spec = child.get_parent_image_spec()
    step("get_parent_image_spec", lambda: sorted(spec))
with rbd.Image(ioctx, parent) as image:
    step("list_children", image.list_children)
    step("list_children2 keys", lambda: [sorted(c) for c in image.list_children2()])
    step("unprotect with child", lambda: image.unprotect_snap("s1"))
step("remove with snaps", lambda: r.remove(ioctx, parent))
step("config_get missing", lambda: r.config_get(ioctx, "rbd_cache"))
step("pool_metadata_get missing", lambda: r.pool_metadata_get(ioctx, "missing"))
step("namespace_exists", lambda: r.namespace_exists(ioctx, "nope"))
step("group_create", lambda: r.group_create(ioctx, prefix + "-g"))
step("group_create again", lambda: r.group_create(ioctx, prefix + "-g"))
step("group_list", lambda: sorted(g for g in r.group_list(ioctx) if g.startswith(prefix)))
step("group_remove", lambda: r.group_remove(ioctx, prefix + "-g"))
step("trash_get missing", lambda: r.trash_get(ioctx, "0000"))
step("mirror_mode_get", lambda: r.mirror_mode_get(ioctx))
step("pool_stats_get keys", lambda: sorted(r.pool_stats_get(ioctx)))

ioctx.close()
cluster.shutdown()
json.dump(record, sys.stdout, indent=1)
