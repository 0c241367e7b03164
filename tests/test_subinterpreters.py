"""The module in several sub-interpreters of one process, as ceph-mgr uses it (one Py_NewInterpreter per mgr module).

The process is tests/data/subinterp_host.c, compiled here against this Python's headers: it creates
sub-interpreters, runs code in them in the order a test scripts, ends some, and finally ends the others and
finalizes Python. Checked: every interpreter imports and uses the module; ending the interpreter that imported it
first leaves the others working (and a new one can still import it); images and aio work in each; nothing is
printed at exit, which ends interpreters that still have images open and dispatcher threads running.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

import rbd

HOST_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "subinterp_host.c")
TIMEOUT = 120


HOST_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "subinterp_host.py")


# The python-config of the Python running the tests (not another one first on PATH, e.g. pyenv's).
PYTHON_CONFIG = os.path.join(sysconfig.get_config_var("BINDIR"), "python%s-config" % sysconfig.get_config_var("VERSION"))


def c_host_buildable():
    """True when this Python's headers, its python-config and a C compiler are here (the source build's host)."""
    return os.path.exists(PYTHON_CONFIG) and shutil.which("cc") is not None and \
        os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))


# subinterp_host.py from Python 3.13 (before, CPython's module refuses to run code in an interpreter that has
# started a thread, as the module's aio dispatcher is), and the compiled host where a compiler is: both on the
# source build's hosts, subinterp_host.py alone on a production host (where the wheel is tested).
HOSTS = (["python"] if sys.version_info >= (3, 13) else []) + (["c"] if c_host_buildable() else [])


@pytest.fixture(scope="module", params=HOSTS)
def host(request, tmp_path_factory):
    """The command of a sub-interpreter host: subinterp_host.c compiled (Py_NewInterpreter, as ceph-mgr), or
    subinterp_host.py, the same steps through CPython's own sub-interpreter module (legacy configuration)."""
    if request.param == "python":
        return [sys.executable, HOST_SCRIPT]
    flags = subprocess.run([PYTHON_CONFIG, "--includes", "--ldflags", "--embed"], capture_output=True, text=True,
                           check=True).stdout.split()
    binary = str(tmp_path_factory.mktemp("subinterp") / "host")
    subprocess.run(["cc", "-o", binary, HOST_SOURCE] + flags, check=True)
    return [binary]


def run_host(host, *steps):
    """Run the host with `steps`; return (exit status, stdout lines, stderr)."""
    # Our package first on sys.path in every interpreter (they all start from the same configuration).
    # Unbuffered: each interpreter has its own sys.stdout, and the order of their lines is checked.
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(rbd.__file__)), PYTHONUNBUFFERED="1")
    result = subprocess.run(host + [textwrap.dedent(s) if "\n" in s else s for s in steps], capture_output=True,
                            text=True, timeout=TIMEOUT, env=env)
    return result.returncode, result.stdout.splitlines(), result.stderr


USE_WITHOUT_CLUSTER = """
    import errno, rbd
    # This module, not Debian's (ImageFile is ours only). (Python 3.13 does not give `__file__` to a module
    # re-imported from its extension cache, ours and upstream's alike.)
    assert hasattr(rbd, "ImageFile") and not getattr(rbd, "__file__", "").startswith("/usr/lib/"), rbd
    assert rbd.RBD().features_to_string(rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK) == \\
        "exclusive-lock,layering"
    assert rbd.RBD().features_from_string("layering,striping") == 3
    try:
        rbd.Image(object(), "x")
    except TypeError:
        pass
    else:
        raise AssertionError("Image(non-ioctx) did not raise")
    error = rbd.ImageNotFound("gone", errno=errno.ENOENT)
    assert isinstance(error, rbd.Error) and isinstance(error, rbd.OSError) and error.errno == errno.ENOENT
    assert rbd.RBD_MIRROR_IMAGE_MODE_SNAPSHOT == 1 and rbd.__name__ == "rbd" and rbd.Image.__module__ == "rbd"
    print("used", id(rbd.Image), id(rbd.ImageNotFound))
"""


def test_import_and_use_in_several_interpreters(host):
    status, out, err = run_host(host, "run", "0", USE_WITHOUT_CLUSTER,
                                "new", "run", "1", USE_WITHOUT_CLUSTER,
                                "new", "run", "2", USE_WITHOUT_CLUSTER,
                                "new", "run", "3", USE_WITHOUT_CLUSTER)
    assert (status, err) == (0, ""), err
    assert len(out) == 4
    # One shared module: the same classes in every interpreter, as upstream's.
    assert len(set(out)) == 1, out


def test_first_importer_ends_before_the_others(host):
    # Interpreter 1 imports first and ends first: the others, and interpreters made afterwards, keep working.
    # (Upstream's module fails here: the first interpreter's teardown clears the globals the code runs on.)
    status, out, err = run_host(host, "new", "run", "1", USE_WITHOUT_CLUSTER,
                                "new", "run", "2", USE_WITHOUT_CLUSTER,
                                "new", "run", "3", "import rbd",
                                "end", "1",
                                "run", "2", USE_WITHOUT_CLUSTER,
                                "run", "3", USE_WITHOUT_CLUSTER,
                                "end", "2",
                                "new", "run", "4", USE_WITHOUT_CLUSTER,
                                "run", "0", USE_WITHOUT_CLUSTER)
    assert (status, err) == (0, ""), err
    assert len(out) == 6 and len(set(out)) == 1, out



def test_classes_stay_patchable_as_upstreams():
    # The module's Python classes get process-wide type numbers at import (src/module_init.c) but stay mutable,
    # as upstream's: callers' tests patch them.
    original = rbd.RBD.version
    rbd.RBD.version = lambda self: (9, 9, 9)
    try:
        assert rbd.RBD().version() == (9, 9, 9)
    finally:
        rbd.RBD.version = original
    assert rbd.RBD().version() == original(rbd.RBD())
    rbd.ImageNotFound.extra = 1
    del rbd.ImageNotFound.extra
    assert not hasattr(rbd.ImageNotFound, "extra")

# The attribute cache of an interpreter is keyed by type version numbers (Python 3.12+), which each interpreter
# gives the heap types it numbers from a counter of its own. The module's classes must not carry a number that an
# interpreter's own classes can get too (src/module_init.c): here interpreter 2 numbers thousands of classes of
# its own, each with an attribute of a marked value, and looks the same names (which no class of the module has)
# up on every class of the module, in turn: either side finding the other's cache entry is the fault. (The numbers interpreter 1 gave
# rbd's classes lie inside that range: it numbers as many classes before importing rbd.) On 3.11 every type is
# numbered process-wide; the test passes trivially there.
NUMBER_MANY_CLASSES = """
    classes = [type("Own%d" % i, (), {}) for i in range(3000)]
    for c in classes:
        getattr(c, "__init__")    # numbers it (a lookup in the class; __name__ is found on type: no number)
"""
TOUCH_EVERY_CLASS = """
    import rbd
    for c in vars(rbd).values():
        if isinstance(c, type) and c.__module__ == "rbd":
            for name in ("probe_a", "probe_b", "probe_c"):
                getattr(c, name, None)
"""
LOOK_FOR_FOREIGN_ATTRIBUTES = """
    import rbd
    ours = [c for c in vars(rbd).values() if isinstance(c, type) and c.__module__ == "rbd"]
    wrong = set()
    # Batches of fewer classes than the cache has entries (4096), so that no decoy's entry overwrites another's.
    keep = []
    for batch in range(3):
        for name in ("probe_a", "probe_b", "probe_c"):
            decoys = [type("Decoy%d" % i, (), {name: ("decoy", i)}) for i in range(3000)]
            keep.append(decoys)
            for i, d in enumerate(decoys):
                # The first lookup numbers the class (and caches under number 0), the second caches under its number.
                if getattr(d, name) != ("decoy", i) or getattr(d, name) != ("decoy", i):
                    wrong.add("%s of this interpreter's own class" % name)   # found the entry of a class of ours
            for c in ours:
                if isinstance(getattr(c, name, None), tuple):
                    wrong.add("%s.%s" % (c.__name__, name))
    print("foreign attributes:", sorted(wrong))
"""


def test_classes_do_not_share_attribute_cache_entries(host):
    status, out, err = run_host(host, "new", "run", "1", NUMBER_MANY_CLASSES, "run", "1", TOUCH_EVERY_CLASS,
                                "new", "run", "2", LOOK_FOR_FOREIGN_ATTRIBUTES)
    assert (status, err, out) == (0, "", ["foreign attributes: []"])


# Open an image of its own, do sync and aio I/O in this interpreter; leave the image open and the aio dispatcher
# running, for the interpreter's end (or the process exit) to deal with.
OPEN_AND_DO_IO = """
    import os, sys, threading, rados, rbd
    conf, pool, name = %r, %r, %r
    cluster = rados.Rados(conffile=conf)
    cluster.connect()
    ioctx = cluster.open_ioctx(pool)
    rbd.RBD().create(ioctx, name, 4 << 20)
    image = rbd.Image(ioctx, name)
    image.write(b"sync-" + name.encode(), 0)
    seen = []
    done = image.aio_write(b"aio-" + name.encode(), 1 << 20, lambda comp: seen.append(comp.get_return_value()))
    done.wait_for_complete_and_cb()
    assert seen == [0], seen
    got = []
    image.aio_read(1 << 20, 4 + len(name), lambda comp, data: got.append(data)).wait_for_complete_and_cb()
    assert got == [b"aio-" + name.encode()], got
    assert image.read(0, 5 + len(name)) == b"sync-" + name.encode()
    assert "rbd-aio-dispatcher" in [t.name for t in threading.enumerate()]
    # A datetime made by the module in this interpreter, whether or not it imported datetime itself (Python 3.13's
    # datetime types need the calling interpreter's own datetime module: helpers/interpreters.pxi).
    assert image.create_timestamp().year >= 2024
    print("opened", name)
"""

USE_AGAIN = """
    image.write(b"again", 2 << 20)
    assert image.read(2 << 20, 5) == b"again"
    back = []
    image.aio_read(1 << 20, 4 + len(name), lambda comp, data: back.append(data)).wait_for_complete_and_cb()
    assert back == [b"aio-" + name.encode()], back
    print("used again", name)
"""


def test_images_and_aio_in_several_interpreters(host, ceph_conf, pool, cluster):
    names = ["subinterp-%d-%s" % (i, os.urandom(4).hex()) for i in range(4)]
    try:
        status, out, err = run_host(
            host,
            "new", "run", "1", OPEN_AND_DO_IO % (ceph_conf, pool, names[1]),
            "new", "run", "2", OPEN_AND_DO_IO % (ceph_conf, pool, names[2]),
            "new", "run", "3", OPEN_AND_DO_IO % (ceph_conf, pool, names[3]),
            "run", "0", OPEN_AND_DO_IO % (ceph_conf, pool, names[0]),
            # The first importer ends with its image open and its dispatcher running: its exit hook closes its
            # image and stops its dispatcher only; the images of 2, 3 and 0 stay open and usable.
            "end", "1",
            "run", "2", USE_AGAIN,
            "run", "3", USE_AGAIN,
            "run", "0", USE_AGAIN)
        # Then the process ends with 2, 3 and the main interpreter holding open images: no output, no error.
        assert (status, err) == (0, ""), err
        assert out == ["opened " + n for n in names[1:] + names[:1]] + \
            ["used again " + n for n in names[2:] + names[:1]], out
        with cluster.open_ioctx(pool) as ioctx:
            for name in names:
                # Every image was closed (its watch released), so it can be removed now.
                with rbd.Image(ioctx, name, read_only=True) as image:
                    assert image.watchers_list() is not None and not list(image.watchers_list())
    finally:
        with cluster.open_ioctx(pool) as ioctx:
            for name in names:
                try:
                    rbd.RBD().remove(ioctx, name)
                except rbd.ImageNotFound:
                    pass
