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
                  "str": str(exc).split("(")[0]}
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
step("closed ioctx list", lambda: (lambda io: (io.close(), r.list(io)))(cluster.open_ioctx(pool))
     if False else "skipped: upstream segfaults")

ioctx.close()
cluster.shutdown()
json.dump(record, sys.stdout, indent=1)
