"""A stateful, seeded fuzzer over the module's whole public surface (issue 18).

How it works:

- `discover(rbd)` finds the surface by introspection: every public class the module defines (not exceptions),
  its public methods, properties and coroutines with their `inspect.signature`, its constructor, whether it is
  iterable or a context manager, and the module's public functions. Nothing here lists methods by hand, so a
  method added to the module (or present only on a later release) is fuzzed the day it exists.
- `generate(seed, surface, steps)` turns a seed into a *program*: a list of steps, each one line of Python
  (`image1.read(4095, 2**64-1)`, `race(lambda: image0.close(), lambda: image0.read(0, 4096))`, `cl1.shutdown()`,
  `snapiterator0 = rbd.SnapIterator.__new__(rbd.SnapIterator)`, ...). Generation depends only on the seed and the
  surface, never on outcomes, so a seed always gives the same program. It keeps a symbolic model of the
  variables (which class each holds, which client an image came from), picks plausible arguments (existing
  image, snapshot, group and key names, offsets inside the image, small lengths, bytes, callbacks) or
  adversarial ones (BAD_VALUES, str/bytes swaps, too few/too many arguments), and steers towards the
  (method, valid/invalid) pairs it has used least, so every seed sweeps most of the surface.
- `run_program(...)` runs a program in a child process (`python fuzz_driver.py run ...`) with faulthandler on,
  a per-step watchdog and a parent-side time limit, on a fresh pool. The child checks every step against the
  oracle (`classify()`): success, an `rbd.Error` subclass, TypeError/ValueError/OverflowError, or an entry of
  ALLOWED (behaviour python3-rbd shares). Anything else, a crash (signal), a hang (watchdog, or no exit after
  the program ended), or an unexpected unraisable exception is a failure.
- `minimize(...)` shrinks a failing program (truncation, then chunk removal, each trial a fresh child and pool)
  and `reproducer(...)` renders it as a standalone Python script.

The child prints nothing on success; it writes a progress log (one line per step) and a JSON summary: calls
made, and per label ("Image.read", "SnapIterator.__iter__", "rbd.cstr", ...) how often it was called with valid
and with invalid arguments and the outcomes.

Avoided on purpose (counted as "avoided" in the summary; docs/reliability.md explains each): the two librbd
failures of the API the binding cannot prevent, which python3-rbd shares:
  AVOID_DEMOTE: `mirror_image_demote` of an image mirrored in journal mode (librbd asserts and aborts
    afterwards, "librbd assertions reachable from the API", item 1);
  cross-client advisory locks: a second client (cl1) exists, but works only in a namespace of its own
    ("fzb", a new one each time cl1 is made again), because librbd waits forever when one client writes to an
    image another client holds an advisory lock on ("librbd hangs reachable from the API", item 1).
"""
import collections
import inspect
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import types
import uuid

MiB = 1 << 20
DRIVER = os.path.abspath(__file__)
# One step longer than this: a hang. Above librados' 30 s watch timeout: a call on an image whose exclusive lock a
# shut-down client (cl1) held waits that long for the dead client's watch to expire before librbd breaks the lock.
STEP_TIMEOUT = float(os.environ.get("RBD_FUZZ_STEP_TIMEOUT", "60"))
EXIT_TIMEOUT = float(os.environ.get("RBD_FUZZ_EXIT_TIMEOUT", "20"))  # interpreter exit longer than this: a hang

# --------------------------------------------------------------------------------------------------------------
# The oracle
# --------------------------------------------------------------------------------------------------------------

# Exceptions other than rbd.Error / TypeError / ValueError / OverflowError that a call may raise because
# python3-rbd of the same release raises the same there (checked with /usr/bin/python3, Debian's module, on
# 16.2.15). (label regex, exception class name, reason). A label is "Class.method", "Class.__iter__" (iterating
# an object of that class), "Class.__init__" or "rbd.function".
ALLOWED = [
    (r"^Image\.(metadata_get|metadata_remove)$", "KeyError",
     "missing metadata key: upstream raises KeyError (\"no metadata ... for image ...\")"),
    (r"^RBD\.(pool_metadata_get|pool_metadata_remove)$", "KeyError",
     "missing pool metadata key: upstream raises KeyError"),
    (r"^(Image|RBD)\.(config_get|config_remove)$", "KeyError",
     "config key not set (or unknown) at image/pool level: upstream raises KeyError (\"no config ...\")"),
    (r"^(Image\.metadata_get|Image\.metadata_list|MetadataIterator\.(__init__|__iter__|get_next_chunk)"
     r"|RBD\.pool_metadata_get|RBD\.pool_metadata_list|PoolMetadataIterator\.(__init__|__iter__|get_next_chunk))$",
     "UnicodeDecodeError",
     "a metadata value set from non-UTF-8 bytes: upstream decodes values as UTF-8 and raises the same"),
    (r"^(RBD\.(list|group_list|namespace_list)|Image\.list_snaps|SnapIterator\.__iter__|Group\.list_snaps"
     r"|GroupSnapIterator\.__iter__|Group\.list_images|GroupImageIterator\.__iter__|Image\.(list_children|"
     r"list_children2|list_descendants)|ChildIterator\.__iter__|RBD\.list2|ImageIterator\.__iter__|"
     r"TrashIterator\.__iter__|RBD\.trash_list|Image\.get_name|Image\.get_parent_image_spec|Image\.parent_info|"
     r"Image\.snap_get_name|Image\.group|Image\.metadata_list|MetadataIterator\.__iter__"
     # The iterators read (and decode) their list when created, so the same happens in their constructors.
     r"|(Image|Trash|Child|Snap|GroupImage|GroupSnap)Iterator\.__init__|RBD\.trash_get)$",
     "UnicodeDecodeError",
     "a name created from non-UTF-8 bytes (image, snapshot, group, namespace): upstream decodes names as UTF-8 "
     "and raises the same when listing or describing it"),
    (r"^(Completion\.wait_for_complete_and_cb|Image\.diff_iterate)$", "CallbackRaised",
     "the exception the fuzzer's own callback raised: upstream re-raises an aio callback's exception from "
     "wait_for_complete_and_cb() and diff_iterate's from the call (checked)"),
    # ImageFile has no upstream counterpart: it follows the io contract, and its documented error for a write
    # past the end of the image is the builtin OSError (ENOSPC), also from flush()/close() flushing such a write
    # (src/areas/fileobj.pxi docstring).
    (r"^ImageFile\.", "OSError", "io contract: a write past the image's end raises OSError(ENOSPC) (documented)"),
    (r".", "UnicodeEncodeError",
     "a str argument with a lone surrogate ('\\udcff') cannot be encoded to UTF-8: upstream's cstr() raises the "
     "same for every string argument (checked: Image(), create, rollback_to_snap)"),
    # The module-level helpers upstream's module also exports (cstr, decode_cstr, requires_not_closed): they are
    # plain Python-level conversions there and here, with the same exceptions for foreign input.
    (r"^rbd\.decode_cstr$", "AttributeError", "decode_cstr(non-bytes): val.decode() does not exist (upstream same)"),
    (r"^rbd\.decode_cstr$", "UnicodeDecodeError", "decode_cstr(b'\\xff'): upstream same"),
    (r"^rbd\.(decode_cstr|cstr)$", "LookupError", "an unknown encoding name: upstream same"),
    (r"^rbd\.cstr$", "UnicodeEncodeError", "cstr('\\udcff'): a lone surrogate cannot be encoded (upstream same)"),
]

EXPECTED_NAMES = ("Error", "TypeError", "ValueError", "OverflowError")


def classify(label, exc, harness=False):
    """'expected', 'allowed' or 'unexpected' for an exception a step raised."""
    import rbd
    if isinstance(exc, (rbd.Error, TypeError, ValueError, OverflowError)) and not isinstance(exc, UnicodeError):
        return "expected"  # (UnicodeError is a ValueError, but one about data, not the argument: ALLOWED only)
    if harness:
        # Steps of the harness itself (rados handles: connect, open/close an ioctx, shutdown): their own errors.
        import rados
        if isinstance(exc, rados.Error):
            return "expected"
    if label and label.endswith(".__next__") and isinstance(exc, StopIteration):
        return "expected"
    name = type(exc).__name__
    for pattern, exc_name, _reason in ALLOWED:
        if exc_name == name and label and re.search(pattern, label):
            return "allowed"
    return "unexpected"


# --------------------------------------------------------------------------------------------------------------
# The surface, by introspection
# --------------------------------------------------------------------------------------------------------------

Member = collections.namedtuple("Member", "name kind params coroutine")  # kind: method, static, attr
ClassInfo = collections.namedtuple("ClassInfo", "name members ctor_params iterable context raw_io")


def _params(obj, drop_self):
    """The parameters of a callable as (name, kind, default-or-Ellipsis) tuples, or None if unknown."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    out = []
    for i, p in enumerate(sig.parameters.values()):
        if drop_self and i == 0 and p.name == "self":
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name.startswith("_"):
            continue
        default = Ellipsis if p.default is inspect.Parameter.empty else p.default
        out.append((p.name, p.kind.name, default))
    return out


def discover(mod):
    """{"classes": {name: ClassInfo}, "functions": {name: params}} for the module `mod`."""
    classes, functions = {}, {}
    for name in sorted(dir(mod)):
        if name.startswith("_"):
            continue
        obj = getattr(mod, name)
        if isinstance(obj, type):
            if issubclass(obj, BaseException) or getattr(obj, "__module__", None) != mod.__name__:
                continue  # exceptions, and names the module merely imports (datetime, chain, Iterable)
            members = {}
            for attr in sorted(dir(obj)):
                if attr.startswith("_"):
                    continue
                try:
                    raw = inspect.getattr_static(obj, attr)
                except AttributeError:
                    continue
                if isinstance(raw, (property, types.GetSetDescriptorType, types.MemberDescriptorType)):
                    members[attr] = Member(attr, "attr", [], False)
                    continue
                value = getattr(obj, attr)
                if not callable(value) or isinstance(value, type):
                    continue
                static = isinstance(raw, (staticmethod, classmethod))
                members[attr] = Member(attr, "static" if static else "method",
                                       _params(value, drop_self=not static),
                                       inspect.iscoroutinefunction(value))
            classes[name] = ClassInfo(name, members, _params(obj, drop_self=False),
                                      hasattr(obj, "__iter__"), hasattr(obj, "__enter__"),
                                      issubclass(obj, io.RawIOBase))
        elif callable(obj) and getattr(obj, "__module__", None) == mod.__name__:
            functions[name] = _params(obj, drop_self=False)
    return {"classes": classes, "functions": functions}


def labels(surface):
    """Every label the coverage counts: public methods and properties, constructors, iteration, functions."""
    out = set()
    for cls in surface["classes"].values():
        out.add(cls.name + ".__init__")
        if cls.iterable:
            out.add(cls.name + ".__iter__")
        for m in cls.members:
            out.add("%s.%s" % (cls.name, m))
    for f in surface["functions"]:
        out.add("rbd." + f)
    return out


# --------------------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------------------

# Adversarial values, as Python source (programs are source text).
BAD_VALUES = [
    "None", "-1", "2**64-1", "2**63", "2**64", "-2**63", "2**63-1", "2**31", "3.5", "float('nan')", "True",
    "''", "'x' * 5000", "'a\\x00b'", "b'a\\x00b'", "b'\\xff\\xfe'", "'\\udcff'", "'\\u00e9'", "b''",
    "b'x' * 5000", "bytearray(b'abc')", "memoryview(b'abcdef')[::2]", "[]", "[1, 2]", "{}", "{'k': 'v'}",
    "{1: 2}", "()", "object()", "cb_raise", "cb_odd", "cb_arity", "rbd.Image", "'fz-a'", "b'fz-a'", "0",
]
BAD_NAMES = ["'a\\x00b'", "b'\\xff\\xfe'", "'x' * 5000", "''", "'\\udcff'", "None", "b'\\xff'"]

IMAGE_NAMES = ["'fz-a'", "'fz-b'", "'fz-c'"]
SNAP_NAMES = ["'sa'", "'sb'"]
GROUP_NAMES = ["'fg-a'", "'fg-b'"]
GROUP_SNAP_NAMES = ["'gs-a'", "'gs-b'"]
NAMESPACE_NAMES = ["'fzn-1'", "'fzn-2'"]
MAIN_IOCTXS = ["ioctx", "ioctx", "ioctx", "io2"]
CALLBACKS = ["cb_ok", "cb_ok", "cb_raise", "cb_odd"]

# Calls whose effect outlives the pool (cluster-wide): only type-invalid values, so no odd value is stored.
CLUSTER_WIDE = {("RBD", "mirror_site_name_set")}


def _names_for(cls, meth, pname):
    """The pool of plausible names for a name-like parameter, from the method's and parameter's names."""
    m = meth or ""
    if pname in ("snap_name", "snapname", "p_snapname", "snapshot", "srcname", "dstname", "old_snap_name",
                 "new_snap_name", "from_snapshot"):
        return GROUP_SNAP_NAMES if cls == "Group" else SNAP_NAMES
    if cls == "Group" and pname == "name":
        return GROUP_SNAP_NAMES
    if m.startswith("group_") or (cls == "Group" and m == "__init__"):
        return GROUP_NAMES
    if m.startswith("namespace_"):
        return NAMESPACE_NAMES
    if "snap" in m and pname == "name":
        return SNAP_NAMES
    return IMAGE_NAMES


class Model:
    """The generator's symbolic state: which variable holds an object of which class, and which client."""

    def __init__(self, surface):
        self.surface = surface
        self.vars = {}  # var -> class name
        self.client = {}  # var -> "A" (main cluster) or "B" (cl1, namespace fzb, then fzb1, fzb2, ...)
        self.incarnation = 0  # how many times cl1 was made again (each in a new namespace)
        self.results = []
        self.iters = []

    def of_class(self, cls):
        return sorted(v for v, c in self.vars.items() if c == cls)

    def slot(self, rng, cls):
        return "%s%d" % (cls.lower(), rng.randrange(3))


def valid_value(rng, model, cls, meth, pname, default):
    """(source, needed variables) of a plausible value for a parameter, from its name."""
    p = pname
    if p in ("ioctx", "p_ioctx", "c_ioctx", "dest_ioctx", "image_ioctx"):
        v = rng.choice(MAIN_IOCTXS + ["io1"])
        return v, [v]
    if p == "rados":
        v = rng.choice(["cluster", "cluster", "cl1"])
        return v, [v]
    if p in ("image", "group"):
        want = "Image" if p == "image" else "Group"
        cands = model.of_class(want)
        if cands:
            v = rng.choice(cands)
            return v, [v]
        return "None", []
    if p in ("oncomplete", "on_progress", "iterate_cb"):
        if default is None and rng.random() < 0.3:
            return "None", []
        return rng.choice(CALLBACKS), []
    if p == "site_name" and (cls, meth) in CLUSTER_WIDE:
        return "rbd.RBD().mirror_site_name_get(cluster)", []
    if p in ("name", "image_name", "p_name", "c_name", "dest_name", "dest_image_name", "src", "dest") or \
            p in ("snap_name", "snapname", "p_snapname", "snapshot", "srcname", "dstname", "old_snap_name",
                  "new_snap_name", "from_snapshot"):
        if p in ("snapshot", "from_snapshot") and rng.random() < 0.5:
            return "None", []
        return rng.choice(_names_for(cls, meth, p)), []
    if p == "image_id":
        if meth in ("trash_get", "trash_remove", "trash_restore"):
            v = rng.choice(MAIN_IOCTXS)
            return "first_trash_id(%s)" % v, [v]
        cands = model.of_class("Image")
        if cands and rng.random() < 0.7:
            v = rng.choice(cands)
            return "image_id(%s)" % v, [v]
        return "None" if meth == "__init__" or meth == "open" or meth == "aio_open_image" else "'0123abcd'", []
    if p == "snap_id":
        cands = model.of_class("Image")
        if cands and rng.random() < 0.7:
            v = rng.choice(cands)
            return "snap_id(%s)" % v, [v]
        return str(rng.randrange(0, 12)), []
    if p == "key":
        if meth and meth.startswith("config"):
            return rng.choice(["'rbd_cache'", "'rbd_qos_iops_limit'", "'rbd_skip_partial_discard'",
                               "'no_such_option'"]), []
        return rng.choice(["'k1'", "'k2'", "'conf_rbd_cache'"]), []
    if p == "value":
        if meth and meth.startswith("config"):
            return rng.choice(["'false'", "'0'", "'100'"]), []
        return rng.choice(["'v1'", "''", "b'\\xff\\xfe'", "'x' * 100"]), []
    if p == "offset":
        return str(rng.choice([0, 0, 4095, 4096, 512 * rng.randrange(0, 16384), 8 * MiB - 1, 8 * MiB,
                               rng.randrange(0, 8 * MiB)])), []
    if p == "length":
        return str(rng.choice([0, 1, 512, 4096, 4096, 65536, rng.randrange(1, MiB)])), []
    if p == "size":
        if cls == "ImageFile":
            return str(rng.choice([-1, 0, 10, 4096])), []
        return str(rng.choice([0, MiB, 4 * MiB + 1, 8 * MiB, 16 * MiB])), []
    if p in ("data", "cmp_data"):
        return rng.choice(["b'x' * 512", "b'abc'", "bytearray(b'y' * 4096)", "b''", "memoryview(b'z' * 64)",
                           "b'\\x00' * 8192"]), []
    if p == "buffer":
        return rng.choice(["bytearray(512)", "bytearray(4096)", "bytearray(0)"]), []
    if p == "buffers":
        if meth == "readv":
            return "[bytearray(16), bytearray(512)]", []
        return "[b'ab', bytearray(b'cd'), memoryview(b'ef')]", []
    if p == "lines":
        return "[b'ab\\n', b'cd']", []
    if p in ("fadvise_flags", "zero_flags", "flags"):
        return str(rng.choice([0, 0, 1, 2])), []
    if p == "features":
        if meth == "update_features":
            return rng.choice(["rbd.RBD_FEATURE_OBJECT_MAP | rbd.RBD_FEATURE_FAST_DIFF",
                               "rbd.RBD_FEATURE_EXCLUSIVE_LOCK", "rbd.RBD_FEATURE_JOURNALING",
                               "rbd.RBD_FEATURE_DEEP_FLATTEN"]), []
        return rng.choice(["None", "None", "1", "61", "rbd.RBD_FEATURE_LAYERING"]), []
    if p == "str_features":
        return rng.choice(["'layering,exclusive-lock'", "'layering'", "'no-such-feature'"]), []
    if p in ("enabled", "force", "read_only", "allow_shrink", "whole_object", "include_parent", "flatten",
             "descendants", "old_format", "close_image"):
        return rng.choice(["True", "False"]), []
    if p == "writable":
        return rng.choice(["None", "True", "False"]), []
    if p in ("order", "stripe_unit", "stripe_count", "data_pool", "clone_format"):
        return rng.choice(["None", "None", "None", {"order": "22", "stripe_unit": "MiB", "stripe_count": "1",
                                                     "data_pool": "POOL", "clone_format": "2"}[p]]), []
    if p == "format":
        return rng.choice(["rbd.RBD_ENCRYPTION_FORMAT_LUKS1", "rbd.RBD_ENCRYPTION_FORMAT_LUKS2"]), []
    if p == "passphrase":
        return rng.choice(["b'passphrase'", "'passphrase'", "bytearray(b'pw')"]), []
    if p == "cipher_alg":
        return rng.choice(["rbd.RBD_ENCRYPTION_ALGORITHM_AES128", "rbd.RBD_ENCRYPTION_ALGORITHM_AES256"]), []
    if p == "lock_mode":
        return rng.choice(["rbd.RBD_LOCK_MODE_EXCLUSIVE", "rbd.RBD_LOCK_MODE_SHARED"]), []
    if p == "lock_owner":
        cands = model.of_class("Image")
        if cands:
            v = rng.choice(cands)
            return "lock_owner(%s)" % v, [v]
        return "'client.1'", []
    if p == "cookie":
        return rng.choice(["'c1'", "'c2'", "''"]), []
    if p == "tag":
        return rng.choice(["'t1'", "''"]), []
    if p == "client":
        return rng.choice(["'client.0'", "'client.4242'"]), []
    if p == "limit":
        return str(rng.choice([0, 1, 5, 100])), []
    if p == "sparse_size":
        return str(rng.choice([4096, 65536, 512])), []
    if p == "mirror_mode":
        return rng.choice(["rbd.RBD_MIRROR_MODE_IMAGE", "rbd.RBD_MIRROR_MODE_POOL", "rbd.RBD_MIRROR_MODE_DISABLED"]), []
    if p == "mode":
        return rng.choice(["rbd.RBD_MIRROR_IMAGE_MODE_SNAPSHOT", "rbd.RBD_MIRROR_IMAGE_MODE_JOURNAL"]), []
    if p == "mode_filter":
        return rng.choice(["None", "rbd.RBD_MIRROR_IMAGE_MODE_SNAPSHOT"]), []
    if p == "direction":
        return rng.choice(["rbd.RBD_MIRROR_PEER_DIRECTION_RX", "rbd.RBD_MIRROR_PEER_DIRECTION_RX_TX"]), []
    if p == "uuid":
        v = rng.choice(MAIN_IOCTXS)
        return "peer_uuid(%s)" % v, [v]
    if p in ("client_name",):
        return rng.choice(["'client.rbd-mirror-peer'", "'client.admin'"]), []
    if p == "cluster_name":
        return "'remote'", []
    if p == "token":
        return rng.choice(["'bogus-token'", "b'e30='"]), []
    if p == "attributes":
        return rng.choice(["{'mon_host': '127.0.0.1:1'}", "{}", "{'key': 'AQ=='}"]), []
    if p == "delay":
        return str(rng.choice([0, 0, 3600])), []
    if p == "expire_ts":
        return rng.choice(["None", "datetime.datetime.now()"]), []
    if p == "threshold":
        return rng.choice(["-1", "0.5"]), []
    if p == "source_spec":
        return rng.choice(["native_spec('fz-b')", "'{}'", "'not json'"]), []
    if p == "whence":
        return str(rng.choice([0, 1, 2])), []
    if p in ("hint", "max_read"):
        return str(rng.choice([-1, 1, 16])), []
    if p in ("val", "str"):
        return rng.choice(["'fz-a'", "b'fz-a'"]), []
    if p == "encoding":
        return "'utf-8'", []
    if p == "opt":
        return rng.choice(["True", "False"]), []
    if p == "f":
        return "cb_ok", []
    if default is not Ellipsis:
        return repr(default), []
    # A parameter this table does not know (a later release's API): something plausible-looking.
    return rng.choice(["'fz-a'", "0", "1", "'sa'", "None"]), []


def bad_value(rng, valid_src, cls, meth):
    if (cls, meth) in CLUSTER_WIDE:
        return rng.choice(["None", "1", "[]", "3.5"])
    r = rng.random()
    if r < 0.15 and valid_src.startswith("'") and valid_src.endswith("'"):
        return "b" + valid_src  # str -> bytes
    if r < 0.3 and valid_src.startswith("b'"):
        return valid_src[1:]  # bytes -> str
    if r < 0.4 and valid_src.startswith("'"):
        return rng.choice(BAD_NAMES)
    return rng.choice(BAD_VALUES)


def make_args(rng, model, cls, meth, params, invalid):
    """(argument source, needed vars, invalid?) for a call of a method with these params."""
    if params is None:  # no signature: 0-2 arguments
        n = rng.randrange(3)
        vals = [rng.choice(BAD_VALUES) if invalid else "0" for _ in range(n)]
        return ", ".join(vals), [], invalid and n > 0
    parts, needs, any_bad = [], [], False
    keyword = False
    for pname, kind, default in params:
        if default is not Ellipsis and rng.random() < 0.4 and not (invalid and not any_bad and rng.random() < 0.5):
            keyword = True  # leave an optional parameter out; later ones go by keyword
            continue
        src, need = valid_value(rng, model, cls, meth, pname, default)
        if invalid and rng.random() < 0.5:
            src, need, any_bad = bad_value(rng, src, cls, meth), [], True
        needs += need
        if kind == "KEYWORD_ONLY" or keyword:
            parts.append("%s=%s" % (pname, src))
        else:
            parts.append(src)
    if invalid and not any_bad:
        r = rng.random()
        positional = [x for x in parts if "=" not in x.split("(")[0]]
        if r < 0.4 and positional:
            parts.remove(positional[-1])  # too few arguments
        elif r < 0.7 and (cls, meth) not in CLUSTER_WIDE:
            parts.insert(len(positional), rng.choice(BAD_VALUES))  # too many
        else:
            parts.append("bogus_keyword=1")
        any_bad = True
    return ", ".join(parts), needs, any_bad


# --------------------------------------------------------------------------------------------------------------
# Programs
# --------------------------------------------------------------------------------------------------------------

# Runs before every program and every reproducer: helpers, and the main cluster connection. A reproducer is this
# plus its steps, each wrapped in try/except except the failing one.
PREAMBLE = r'''
import asyncio, datetime, gc, json, sys, threading
import rados, rbd

CONF = sys.argv[1] if len(sys.argv) > 1 else "/etc/ceph/ceph.conf"
POOL = sys.argv[2] if len(sys.argv) > 2 else "rbd"   # a fresh pool with the rbd application enabled
MiB = 1 << 20


class CallbackRaised(Exception):
    """Raised by the fuzzer's own failing callback."""


def cb_ok(*args):
    return 0


def cb_raise(*args):
    raise CallbackRaised("raised by the fuzzer's callback")


def cb_odd(*args):
    return "odd"


def cb_arity():
    return 0


loop = asyncio.new_event_loop()


def run(x):
    """Await x on the program's event loop if it is awaitable (AsyncImage); else return it."""
    if hasattr(x, "__await__"):
        async def _await():
            return await x
        return loop.run_until_complete(_await())
    return x


def drain(x, limit=2000):
    n = 0
    for _ in x:
        n += 1
        if n >= limit:
            break
    return n


def race(*fns):
    """Run the callables at once in threads; the exceptions they raised, as (index, exception)."""
    errors = []
    def one(i, fn):
        try:
            fn()
        except BaseException as exc:
            errors.append((i, exc))
    threads = [threading.Thread(target=one, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _quiet(fn, fallback):
    try:
        return fn()
    except Exception:
        return fallback


def first_trash_id(io):
    return _quiet(lambda: next(iter(rbd.RBD().trash_list(io)))["id"], "no-such-id")


def image_id(img):
    return _quiet(img.id, "no-such-id")


def snap_id(img):
    return _quiet(lambda: img.snap_get_id("sa"), 1)


def peer_uuid(io):
    return _quiet(lambda: rbd.RBD().mirror_peer_list(io).__iter__().__next__()["uuid"], "no-such-uuid")


def lock_owner(img):
    return _quiet(lambda: next(iter(img.lock_get_owners()))["owner"], "client.1")


def native_spec(name):
    return json.dumps({"type": "native", "pool_name": POOL, "image_name": name, "snapshot_name": "sa"})


cluster = rados.Rados(conffile=CONF)
cluster.connect()
'''

BUILTIN_NAMES = {"rbd", "rados", "cluster", "CONF", "POOL", "MiB", "gc", "loop", "run", "drain", "race",
                 "cb_ok", "cb_raise", "cb_odd", "cb_arity", "datetime"}


def step(src, label=None, valid=None, needs=(), kind="call", **extra):
    d = {"src": src, "label": label, "valid": valid, "needs": sorted(set(needs) - BUILTIN_NAMES), "kind": kind}
    d.update(extra)
    return d


def setup_steps():
    """Every program starts with these: handles, images, a snapshot, a group, a second client in a namespace."""
    h = "harness"
    return [
        step("ioctx = cluster.open_ioctx(POOL)", kind=h),
        step("io2 = cluster.open_ioctx(POOL)", kind=h),
        step("rbd0 = rbd.RBD()", "RBD.__init__", True),
        step("rbd0.create(ioctx, 'fz-a', 8 * MiB)", "RBD.create", True, ["rbd0", "ioctx"]),
        step("rbd0.create(ioctx, 'fz-b', MiB)", "RBD.create", True, ["rbd0", "ioctx"]),
        step("image0 = rbd.Image(ioctx, 'fz-a')", "Image.__init__", True, ["ioctx"], client="A"),
        step("image0.create_snap('sa')", "Image.create_snap", True, ["image0"]),
        step("rbd0.group_create(ioctx, 'fg-a')", "RBD.group_create", True, ["rbd0", "ioctx"]),
        step("group0 = rbd.Group(ioctx, 'fg-a')", "Group.__init__", True, ["ioctx"]),
        step("rbd0.namespace_create(ioctx, 'fzb')", "RBD.namespace_create", True, ["rbd0", "ioctx"]),
        step("cl1 = rados.Rados(conffile=CONF); cl1.connect(); io1 = cl1.open_ioctx(POOL); "
             "io1.set_namespace('fzb')", kind=h),
        step("rbd0.create(io1, 'fz-a', 4 * MiB)", "RBD.create", True, ["rbd0", "io1"]),
        step("image1 = rbd.Image(io1, 'fz-a')", "Image.__init__", True, ["io1"], client="B"),
    ]


SETUP_VARS = {"rbd0": "RBD", "image0": "Image", "group0": "Group", "image1": "Image"}


def generate(seed, surface, steps=400, tail=True):
    """The program (a list of step dicts) for a seed. Deterministic: depends on seed and surface only."""
    rng = random.Random(seed)
    model = Model(surface)
    program = setup_steps()
    for v, c in SETUP_VARS.items():
        model.vars[v] = c
    model.client.update({"image0": "A", "image1": "B"})
    classes = surface["classes"]
    # Every (label, valid?) pair; the generator prefers the ones used least so far.
    targets = []
    for cls in classes.values():
        targets.append((cls.name, "__init__"))
        if cls.iterable:
            targets.append((cls.name, "__iter__"))
        for m in cls.members:
            targets.append((cls.name, m))
    for f in surface["functions"]:
        targets.append(("rbd", f))
    used = collections.Counter()
    shutdown_at = steps - rng.randrange(3, 12) if tail and rng.random() < 0.35 else None

    while len(program) < steps:
        if shutdown_at is not None and len(program) >= shutdown_at:
            # The end of some programs: aio in flight, the main cluster shut down, calls after, interpreter exit.
            shutdown_at = None
            for img in model.of_class("Image")[:2]:
                program.append(step("completion%d = %s.aio_flush(cb_ok)" % (rng.randrange(3), img),
                                    "Image.aio_flush", True, [img]))
            program.append(step("cluster.shutdown()", kind="harness"))
            continue
        r = rng.random()
        if r < 0.06:
            program.extend(_state_step(rng, model))
            continue
        if r < 0.10:
            program.extend(_race_step(rng, model))
            continue
        if r < 0.16 and (model.results or model.iters):
            program.append(_drain_step(rng, model))
            continue
        if r < 0.8:
            cls, meth = min(targets, key=lambda t: (min(used[t + (True,)], used[t + (False,)]), rng.random()))
            invalid = used[(cls, meth, False)] < used[(cls, meth, True)] or \
                (used[(cls, meth, False)] == used[(cls, meth, True)] and rng.random() < 0.5)
        else:
            cls, meth = rng.choice(targets)
            invalid = rng.random() < 0.35
        new = _call_steps(rng, model, cls, meth, invalid)
        for s in new:
            if s.get("label") and s["kind"] == "call":
                c, _, m = s["label"].rpartition(".")
                used[(c, m, bool(s["valid"]))] += 1
        program.extend(new)
    for i, s in enumerate(program):
        s["i"] = i
    return program


def _construct(rng, model, cls_name, invalid):
    """Steps that put a new object of cls_name into a variable (constructor, factory, or __new__ alone)."""
    info = model.surface["classes"][cls_name]
    var = model.slot(rng, cls_name)
    if invalid and rng.random() < 0.5 or (cls_name == "Completion" and rng.random() < 0.5):
        model.vars[var] = cls_name
        return [step("%s = rbd.%s.__new__(rbd.%s)" % (var, cls_name, cls_name), cls_name + ".__init__", False,
                     kind="call", new=True)]
    direct = rng.random() < 0.25  # the class's own constructor, even where a factory is the usual way
    if not direct and cls_name == "Completion":
        # Completions come from aio calls (and RBD.aio_open_image's Image comes with one).
        imgs = model.of_class("Image")
        if imgs and cls_name == "Completion":
            img = rng.choice(imgs)
            model.vars[var] = "Completion"
            return [step("%s = %s.aio_flush(cb_ok)" % (var, img), "Image.aio_flush", True, [img])]
    factory = [m for m in info.members.values() if m.kind == "static" and m.name == "open"]
    if factory and not invalid and not direct:
        m = factory[0]
        args, needs, bad = make_args(rng, model, cls_name, m.name, m.params, invalid)
        model.vars[var] = cls_name
        src = "%s = %s(rbd.%s.%s(%s))" % (var, "run" if m.coroutine else "", cls_name, m.name, args)
        client = "B" if "io1" in needs else "A"
        model.client[var] = client
        return [step(src, "%s.%s" % (cls_name, m.name), not bad, needs, client=client)]
    args, needs, bad = make_args(rng, model, cls_name, "__init__", info.ctor_params, invalid)
    model.vars[var] = cls_name
    model.client[var] = "B" if "io1" in needs else "A"
    return [step("%s = rbd.%s(%s)" % (var, cls_name, args), cls_name + ".__init__", not bad, needs,
                 client=model.client[var])]


def _call_steps(rng, model, cls_name, meth, invalid):
    if cls_name == "rbd":
        params = model.surface["functions"][meth]
        args, needs, bad = make_args(rng, model, "rbd", meth, params, invalid)
        return [step("rbd.%s(%s)" % (meth, args), "rbd." + meth, not bad, needs)]
    if meth == "__init__":
        return _construct(rng, model, cls_name, invalid)
    out = []
    recvs = model.of_class(cls_name)
    if not recvs or rng.random() < 0.08:
        out += _construct(rng, model, cls_name, invalid and rng.random() < 0.5)
        recvs = model.of_class(cls_name)
    recv = rng.choice(recvs)
    # A raw file's line reading (readline() without a limit, readlines(), iteration) reads one byte per call up
    # to the next newline: over an 8 MiB image of zeros that is millions of librbd reads, not a hang. Such calls
    # start 64 bytes before the end (the call itself is still made with the generated arguments).
    seek = "%s.seek(-64, 2); " % recv if model.surface["classes"][cls_name].raw_io and \
        meth in ("readline", "readlines", "__iter__") else ""
    if meth == "__iter__":
        return out + [step(seek + "drain(%s)" % recv, cls_name + ".__iter__", not invalid, [recv], kind="drain",
                           recv=recv, cls=cls_name)]
    member = model.surface["classes"][cls_name].members[meth]
    if member.kind == "attr":
        return out + [step("%s.%s" % (recv, meth), "%s.%s" % (cls_name, meth), True, [recv], recv=recv,
                           cls=cls_name)]
    args, needs, bad = make_args(rng, model, cls_name, meth, member.params, invalid)
    if seek and rng.random() < 0.5:
        args = ""  # readline()/readlines() without a limit
    if member.kind == "static":
        call = "rbd.%s.%s(%s)" % (cls_name, meth, args)
        recv_needs = []
    else:
        call = "%s.%s(%s)" % (recv, meth, args)
        recv_needs = [recv]
    if member.coroutine or cls_name == "AsyncImage":
        if rng.random() < 0.1:
            # Started and never awaited (or awaited much later): dropped work at exit / gc.
            var = "pending%d" % rng.randrange(2)
            model.results.append(var)
            return out + [step("%s = %s" % (var, call), "%s.%s" % (cls_name, meth), not bad, recv_needs + needs,
                               recv=recv if recv_needs else None, cls=cls_name)]
        call = "run(%s)" % call
    target = ""
    if meth.startswith("aio_") and meth != "aio_open_image" or (cls_name == "RBD" and meth == "aio_open_image"):
        target = "completion%d = " % rng.randrange(3)
        model.vars[target[:-3]] = "Completion"
    elif rng.random() < 0.4:
        var = "res%d" % rng.randrange(4)
        target = var + " = "
        if var not in model.results:
            model.results.append(var)
    return out + [step(seek + target + call, "%s.%s" % (cls_name, meth), not bad, recv_needs + needs,
                       recv=recv if recv_needs else None, cls=cls_name)]


def _drain_step(rng, model):
    pool = model.results + model.iters
    var = rng.choice(pool)
    r = rng.random()
    if r < 0.5:
        return step("drain(%s)" % var, None, True, [var], kind="drain", recv=var)
    if r < 0.75 or not model.iters:
        it = "itr%d" % rng.randrange(2)
        if it not in model.iters:
            model.iters.append(it)
        return step("%s = iter(%s)" % (it, var), None, True, [var], kind="iter", recv=var, target=it)
    it = rng.choice(model.iters)
    return step("next(%s)" % it, None, True, [it], kind="next", recv=it)


def _state_step(rng, model):
    """Adversarial states around the calls: closed ioctx, shut-down client, dropped objects, gc."""
    r = rng.random()
    h = "harness"
    if r < 0.15:
        return [step("io2.close()", kind=h, needs=["io2"])]
    if r < 0.25:
        return [step("io2 = cluster.open_ioctx(POOL)", kind=h)]
    if r < 0.45:
        # aio of an image of the second client in flight, then that client shut down under it.
        out = []
        imgs = [v for v in model.of_class("Image") if model.client.get(v) == "B"]
        if imgs and rng.random() < 0.7:
            img = rng.choice(imgs)
            meth = rng.choice(["aio_flush(cb_ok)", "aio_read(0, 4096, cb_ok)", "aio_write(b'q' * 512, 0, cb_ok)"])
            out.append(step("completion%d = %s.%s" % (rng.randrange(3), img, meth),
                            "Image." + meth.split("(")[0], True, [img]))
        out.append(step("cl1.shutdown()", kind=h, needs=["cl1"]))
        return out
    if r < 0.6:
        # A new client in a namespace of its own: the advisory locks a shut-down cl1 left are another client's
        # for it, and librbd would wait forever to write under them (see the module docstring).
        model.incarnation += 1
        ns = "fzb%d" % model.incarnation
        return [step("rbd.RBD().namespace_create(ioctx, %r); cl1 = rados.Rados(conffile=CONF); cl1.connect(); "
                     "io1 = cl1.open_ioctx(POOL); io1.set_namespace(%r); rbd.RBD().create(io1, 'fz-a', 4 * MiB)"
                     % (ns, ns), kind=h)]
    if r < 0.8 and model.vars:
        var = rng.choice(sorted(model.vars))
        del model.vars[var]
        return [step("del %s; gc.collect()" % var, kind=h, needs=[var])]
    if r < 0.9:
        # Images removed or renamed underneath open handles (through the other ioctx of the same client).
        name = rng.choice(IMAGE_NAMES)
        return [rng.choice([
            step("rbd0.rename(io2, %s, 'fz-c')" % name, "RBD.rename", True, ["rbd0", "io2"]),
            step("rbd0.trash_move(io2, %s)" % name, "RBD.trash_move", True, ["rbd0", "io2"]),
            step("rbd0.create(io2, %s, 8 * MiB)" % name, "RBD.create", True, ["rbd0", "io2"]),
        ])]
    return [step("gc.collect()", kind=h)]


def _race_step(rng, model):
    """close() racing other calls of the same object from threads; a client's shutdown racing a read."""
    cands = [v for v, c in model.vars.items() if c in ("Image", "ImageFile", "Group")]
    if not cands:
        return []
    recv = rng.choice(sorted(cands))
    cls = model.vars[recv]
    info = model.surface["classes"][cls]
    methods = [m for m in info.members.values() if m.kind == "method" and m.name != "close" and
               not m.name.startswith(("mirror_image_demote", "lock_acquire"))]
    calls = []
    for _ in range(rng.randrange(1, 3)):
        m = rng.choice(methods)
        args, needs, bad = make_args(rng, model, cls, m.name, m.params, False)
        calls.append(["%s.%s" % (cls, m.name), "%s.%s(%s)" % (recv, m.name, args), needs])
    if "close" in info.members:
        calls.insert(rng.randrange(len(calls) + 1), ["%s.close" % cls, "%s.close()" % recv, []])
    # No Rados.shutdown() racing these calls: a librbd call in flight when rados_shutdown runs never returns or
    # aborts inside librados (Objecter's ceph_assert(initialized)), with python3-rbd as with this module
    # (docs/reliability.md, "Rados.shutdown() racing calls"). Shutdown with *aio* in flight is generated by
    # _state_step: the binding's part (nothing waits forever afterwards) is checked there.
    needs = [recv] + [n for c in calls for n in c[2]]
    src = "race(%s)" % ", ".join("lambda: " + c[1] for c in calls)
    return [step(src, None, True, needs, kind="race", calls=[[c[0], c[1]] for c in calls])]


# --------------------------------------------------------------------------------------------------------------
# The child: run a program
# --------------------------------------------------------------------------------------------------------------

def child_main(conf, pool, program_path, log_path):
    import faulthandler
    import threading
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def log(line):
        os.write(log_fd, (line.rstrip("\n").replace("\n", " | ") + "\n").encode("utf-8", "backslashreplace"))

    faulthandler.enable()
    with open(program_path) as f:
        program = json.load(f)
    sys.argv = [sys.argv[0], conf, pool]
    ns = {"__name__": "__fuzz__"}
    current = {"i": None, "since": time.monotonic()}
    unraisable = []

    def hook(report):
        exc = report.exc_value
        if type(exc).__name__ == "CallbackRaised" or isinstance(exc, (TypeError, ValueError, OverflowError)):
            counts["unraisable_from_callbacks"] += 1  # our callbacks' exceptions/odd returns: reported, as upstream
            return
        unraisable.append((current["i"], "%s: %s" % (type(exc).__name__, exc)))
        log("UNRAISABLE %s %s: %s (%r)" % (current["i"], type(exc).__name__, exc, report.err_msg))

    counts = collections.Counter()
    sys.unraisablehook = hook

    def watchdog():
        while True:
            time.sleep(0.5)
            i, since = current["i"], current["since"]
            if i is not None and time.monotonic() - since > STEP_TIMEOUT:
                log("HANG %d %.0f" % (i, STEP_TIMEOUT))
                faulthandler.dump_traceback(all_threads=True)
                try:
                    write_summary()
                except Exception:
                    pass
                os._exit(3)

    per_label = collections.defaultdict(lambda: {"valid": 0, "invalid": 0, "outcomes": collections.Counter()})
    calls = 0
    threading.Thread(target=watchdog, daemon=True, name="fuzz-watchdog").start()
    exec(compile(PREAMBLE, "<preamble>", "exec"), ns)

    def record(label, valid, outcome):
        nonlocal calls
        if label is None:
            return
        calls += 1
        entry = per_label[label]
        entry["valid" if valid else "invalid"] += 1
        entry["outcomes"][outcome] += 1

    def write_summary():
        summary = {"calls": calls, "steps": len(program), "counts": dict(counts),
                   "labels": {k: {"valid": v["valid"], "invalid": v["invalid"], "outcomes": dict(v["outcomes"])}
                              for k, v in list(per_label.items())},
                   "unraisable": unraisable}
        with open(log_path + ".json", "w") as f:
            json.dump(summary, f)

    def fail(i, label, exc, how="UNEXPECTED"):
        import traceback
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-6:])
        log("%s %d %s %s: %s" % (how, i, label, type(exc).__name__, str(exc)[:300]))
        sys.stderr.write(tb)
        sys.stderr.flush()
        write_summary()
        os._exit(4)

    for s in program:
        i = s["i"]
        if any(n not in ns for n in s["needs"]):
            counts["skipped"] += 1
            continue
        label, kind = s.get("label"), s["kind"]
        recv = s.get("recv")
        if recv is not None and s.get("cls") and type(ns[recv]).__name__ != s["cls"]:
            counts["skipped"] += 1  # the variable holds something else at run time (a failed factory, ...)
            continue
        if kind == "drain" and label is None:
            obj = ns[recv]
            if type(obj).__module__ != "rbd" or not hasattr(obj, "__iter__"):
                counts["skipped"] += 1
                continue
            label = type(obj).__name__ + ".__iter__"
        if kind == "iter":
            obj = ns[recv]
            if type(obj).__module__ != "rbd" or not hasattr(obj, "__iter__"):
                counts["skipped"] += 1
                continue
            ns.setdefault("_owner", {})[s["target"]] = type(obj).__name__
            label = type(obj).__name__ + ".__iter__"
        if kind == "next":
            owner = ns.get("_owner", {}).get(recv)
            if owner is None:
                counts["skipped"] += 1
                continue
            label = owner + ".__next__"
        if label and label.endswith(".mirror_image_demote") and recv and _journal_mirrored(ns[recv]):
            counts["avoided"] += 1  # AVOID_DEMOTE (module docstring)
            log("AVOIDED %d" % i)
            continue
        log("S %d" % i)
        current["since"] = time.monotonic()
        current["i"] = i
        try:
            src = s["src"] if kind != "race" else "_last_race_errors = " + s["src"]
            exec(compile(src, "<step %d>" % i, "exec"), ns)
            outcome = "ok"
        except BaseException as exc:  # noqa: B902 - the oracle decides
            outcome = type(exc).__name__
            verdict = classify(label, exc, harness=(kind == "harness"))
            if verdict == "unexpected":
                fail(i, label, exc)
            if verdict == "allowed":
                counts["allowed"] += 1
        finally:
            current["i"] = None
        if kind == "race":
            for j, (lab, _src) in enumerate(s["calls"]):
                exc = None
                for k, e in _last_race(ns):
                    if k == j:
                        exc = e
                if lab is None:
                    if exc is not None and not isinstance(exc, ns["rados"].Error):
                        fail(i, "cl1.shutdown", exc)
                    continue
                if exc is not None and classify(lab, exc) == "unexpected":
                    fail(i, lab, exc)
                record(lab, True, "ok" if exc is None else type(exc).__name__)
        elif kind != "harness":
            record(label, s.get("valid", True), outcome)
        log("R %d %s" % (i, outcome))
    write_summary()
    log("END")
    if unraisable:
        os._exit(5)
    # A normal interpreter exit, with whatever the program left open or in flight.


def _last_race(ns):
    """The (index, exception) list of the race step that just ran (the executor assigns race()'s result)."""
    return ns.get("_last_race_errors", [])


def _journal_mirrored(img):
    import rbd
    try:
        return (img.mirror_image_get_info()["state"] == rbd.RBD_MIRROR_IMAGE_ENABLED
                and img.mirror_image_get_mode() == rbd.RBD_MIRROR_IMAGE_MODE_JOURNAL)
    except Exception:
        return True  # cannot tell: stay on the safe side


# --------------------------------------------------------------------------------------------------------------
# The parent: run a program in a child, minimise, render a reproducer
# --------------------------------------------------------------------------------------------------------------

Result = collections.namedtuple("Result", "status step label detail summary stderr seconds executed")

# librados' own race, not the binding's (docs/reliability.md): librbd still working on an operation that was in
# flight when its Rados was shut down submits to the shut-down Objecter, which asserts and aborts the process.
# python3-rbd meets it the same way. A program that shut a client down with aio in flight may end so: it passes.
LIBRADOS_ABORT = "librados-abort"


def librados_shutdown_abort(program, executed, stderr):
    """Whether a crash is librados' Objecter assertion after a shutdown step of the program had run."""
    ran = set(executed)
    shut_down = any(s["i"] in ran and s["kind"] == "harness" and "shutdown()" in s["src"] for s in program)
    return shut_down and "ceph_assert(initialized)" in stderr and "Objecter" in stderr
# status: ok, crash, hang, exit-hang, unexpected, unraisable, error


def _make_pool(cluster, prefix):
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:10])
    cluster.create_pool(name)
    with cluster.open_ioctx(name) as io:
        io.application_enable("rbd")
    return name


def run_program(program, conf, cluster, prefix="fuzz", step_timeout=None, keep_pool=False):
    """Run a program in a child on a fresh pool; a Result."""
    pool = _make_pool(cluster, prefix)
    tmp = tempfile.mkdtemp(prefix="rbd-fuzz-")
    prog_path, log_path = os.path.join(tmp, "program.json"), os.path.join(tmp, "log")
    with open(prog_path, "w") as f:
        json.dump(program, f)
    env = dict(os.environ)
    if step_timeout:
        env["RBD_FUZZ_STEP_TIMEOUT"] = str(step_timeout)
    st = float(env.get("RBD_FUZZ_STEP_TIMEOUT", STEP_TIMEOUT))
    t0 = time.monotonic()
    err_path = os.path.join(tmp, "stderr")
    with open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, DRIVER, "run", conf, pool, prog_path, log_path],
                                stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=os.path.dirname(DRIVER),
                                start_new_session=True)
        status, last_change, last_size, ended_at = None, time.monotonic(), -1, None
        while proc.poll() is None:
            time.sleep(0.1)
            size = os.path.getsize(log_path) if os.path.exists(log_path) else 0
            now = time.monotonic()
            if size != last_size:
                last_size, last_change = size, now
                if ended_at is None and size and _tail(log_path).startswith("END"):
                    ended_at = now
            if ended_at is not None and now - ended_at > EXIT_TIMEOUT:
                status = "exit-hang"
            elif ended_at is None and now - last_change > st + 15:
                status = "hang"  # the watchdog itself did not get to run (the GIL held in C, ...)
            if status:
                try:
                    os.kill(proc.pid, signal.SIGABRT)  # faulthandler prints every thread's stack
                    proc.wait(5)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    pass
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
                break
    seconds = time.monotonic() - t0
    with open(err_path, errors="replace") as f:
        stderr = f.read()
    lines = open(log_path, errors="replace").read().splitlines() if os.path.exists(log_path) else []
    summary = None
    if os.path.exists(log_path + ".json"):
        with open(log_path + ".json") as f:
            summary = json.load(f)
    executed = [int(l.split()[1]) for l in lines if l.startswith("S ")]
    last_started = executed[-1] if executed else None
    by_index = {s["i"]: s for s in program}
    step_i, label, detail = None, None, ""
    rc = proc.returncode
    if status is None:
        if rc == 0 and lines and lines[-1] == "END":
            status = "ok"
        elif rc == 3:
            status, step_i = "hang", last_started
            detail = "step took more than %.0f s" % st
        elif rc == 4:
            status = "unexpected"
            bad = [l for l in lines if l.startswith("UNEXPECTED ")][-1:]
            if bad:
                step_i = int(bad[0].split()[1])
                detail = bad[0].split(" ", 3)[3] if len(bad[0].split(" ", 3)) > 3 else bad[0]
        elif rc == 5:
            status = "unraisable"
            bad = [l for l in lines if l.startswith("UNRAISABLE ")]
            detail = "; ".join(bad)[:1000]
            try:
                step_i = int(bad[0].split()[1])
            except (IndexError, ValueError):
                step_i = last_started
        elif rc is not None and rc < 0:
            status = "crash"
            detail = "killed by signal %d%s" % (-rc, " after the program ended (interpreter exit)"
                                                 if lines and lines[-1] == "END" else "")
            step_i = None if lines and lines[-1] == "END" else last_started
        else:
            status = "error"
            detail = "exit status %s" % rc
            step_i = last_started
    elif status == "hang":
        step_i = last_started
        detail = "no progress for %.0f s" % (st + 15)
    elif status == "exit-hang":
        detail = "the program ended but the interpreter did not exit within %.0f s" % EXIT_TIMEOUT
    if step_i is not None and step_i in by_index:
        label = by_index[step_i].get("label") or by_index[step_i]["src"][:60]
    if status == "ok" and "Fatal Python error" in stderr:
        status, detail = "crash", "Fatal Python error at exit"
    if status == "crash" and librados_shutdown_abort(program, executed, stderr):
        status = LIBRADOS_ABORT
    if not keep_pool:
        try:
            cluster.delete_pool(pool)
        except Exception:
            pass
    return Result(status, step_i, label, detail, summary, stderr, seconds, executed)


def _tail(path):
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 200))
        data = f.read().decode("utf-8", "replace").splitlines()
    return data[-1] if data else ""


def signature_of(result):
    """What must stay the same for a smaller program to count as the same failure."""
    return (result.status, result.label if result.status not in ("exit-hang", "crash") or result.step is not None
            else None)


def minimize(program, result, conf, cluster, budget=60.0, log=None):
    """A smaller program failing the same way (same status, same failing call), within `budget` seconds."""
    deadline = time.monotonic() + budget
    target = signature_of(result)
    executed = set(result.executed)
    if result.step is not None:
        current = [s for s in program if s["i"] in executed and s["i"] <= result.step]
    else:
        current = [s for s in program if s["i"] in executed]
    trials = 0

    def fails(candidate):
        nonlocal trials
        trials += 1
        r = run_program(candidate, conf, cluster, prefix="fuzzmin", step_timeout=min(STEP_TIMEOUT, 8))
        return signature_of(r) == target

    if not fails(current):
        return current, trials, False
    n = 2
    while len(current) >= 2 and time.monotonic() < deadline:
        chunk = max(1, len(current) // n)
        removed = False
        start = 0
        while start < len(current) and time.monotonic() < deadline:
            candidate = current[:start] + current[start + chunk:]
            keep_last = result.step is None or (candidate and candidate[-1]["i"] == current[-1]["i"])
            if candidate and keep_last and fails(candidate):
                current = candidate
                removed = True
                if log:
                    log("  minimise: %d steps" % len(current))
            else:
                start += chunk
        if not removed:
            if chunk == 1:
                break
            n = min(len(current), n * 2)
    return current, trials, time.monotonic() < deadline


def reproducer(program, failing_step=None, conf="/etc/ceph/ceph.conf", pool="rbd"):
    """A standalone script: python repro.py CEPH_CONF POOL (a fresh pool with the rbd application)."""
    out = ["# rbd fuzzer reproducer: python3 THIS_FILE %s FRESH_POOL" % conf, PREAMBLE.strip("\n"), "",
           "def note(i, exc):", "    print('step', i, type(exc).__name__, str(exc)[:120])", ""]
    for s in program:
        src = s["src"]
        if s["kind"] == "race":
            src = "for _j, _e in race(%s): note(%d, _e)" % (src[len("race("):-1], s["i"])
        if s["i"] == failing_step:
            out.append("print('step %d: %s')" % (s["i"], s["src"].replace("\\", "\\\\").replace("'", "\\'")[:200]))
            out.append(src + "   # <- fails here")
        else:
            out.append("try: %s\nexcept Exception as _exc: note(%d, _exc)" % (src, s["i"]))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "run":
        child_main(*sys.argv[2:])
    else:
        sys.exit("usage: fuzz_driver.py run CONF POOL PROGRAM.json LOG")
