"""Fixtures shared by every test: a real throwaway Ceph cluster, a fresh pool per test module, fresh images.

The cluster comes from $CEPH_CONF when set (an existing cluster, client.admin or the user in $CEPH_ARGS), or is
started by ci/cluster.sh for the session and stopped afterwards. Nothing here mocks librbd.

$RBD_TEST_FEATURES (an integer mask) sets `rbd_default_features` for the test client, so the whole suite can be
run with layering only (1), with the full set (125), or with the cluster default (unset).
"""
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import uuid

import pytest
import rados

import rbd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER_SCRIPT = os.path.join(ROOT, "ci", "cluster.sh")
MiB = 1 << 20

SYSTEM_DIST_PACKAGES = "/usr/lib/python3/dist-packages"


def is_debian_module(path):
    """True for python3-rbd's own module file (one extension module directly in the system's dist-packages); this
    project installed system-wide is the package directory beside it (ci/test-system-wide.sh), not that file."""
    debian_file = re.escape(SYSTEM_DIST_PACKAGES) + r"/rbd\.cpython-[^/]*\.so"
    return re.fullmatch(debian_file, os.path.realpath(path)) is not None


if is_debian_module(rbd.__file__):
    raise RuntimeError("tests imported Debian's python3-rbd (%s), not this project's module" % rbd.__file__)


def unique_name(prefix="test"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])

# Scenarios that would hang (or crash) the test run if they regressed run in a child process with a timeout.
# The child gets `cluster`, `ioctx`, `name` (argv[3]), an `out` dict to print as JSON at the end, and `outcome`.
CHILD_PREAMBLE = """
import datetime, json, sys, rados, rbd
cluster = rados.Rados(conffile=sys.argv[1]); cluster.connect(); ioctx = cluster.open_ioctx(sys.argv[2])
name = sys.argv[3]
out = {}

def outcome(call):
    \"\"\"'ok', or the class name of the rbd.Error that `call` raised.\"\"\"
    try:
        call()
        return "ok"
    except rbd.Error as exc:
        return type(exc).__name__
"""


def run_in_child(script, ceph_conf, pool, name, timeout=90):
    """Run CHILD_PREAMBLE + `script` in a child process; the JSON object it printed last."""
    import json
    result = subprocess.run([sys.executable, "-c", CHILD_PREAMBLE + script, ceph_conf, pool, name],
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])



def suite_features():
    """The feature mask the suite runs with (None: the cluster default)."""
    value = os.environ.get("RBD_TEST_FEATURES")
    return int(value) if value else None


def requires_features(*bits):
    """Skip a test only when the suite runs with a feature mask that lacks one of `bits`."""
    features = suite_features()
    missing = [b for b in bits if features is not None and not features & b]
    return pytest.mark.skipif(bool(missing), reason="RBD_TEST_FEATURES=%s lacks feature bits %s" % (features, missing))


@pytest.fixture(scope="session")
def ceph_conf():
    conf = os.environ.get("CEPH_CONF")
    if conf:
        yield conf
        return
    state_dir = tempfile.mkdtemp(prefix="rbd-test-cluster-")
    result = subprocess.run([CLUSTER_SCRIPT, "start", state_dir], stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        pytest.exit("could not start a throwaway Ceph cluster (see stderr above)", returncode=3)
    conf = result.stdout.strip().splitlines()[-1]
    os.environ["CEPH_CONF"] = conf  # child processes (differential tests, CLI) use the same cluster
    try:
        yield conf
    finally:
        os.environ.pop("CEPH_CONF", None)
        subprocess.run([CLUSTER_SCRIPT, "stop", state_dir])


def connect(conffile, **kwargs):
    cluster = rados.Rados(conffile=conffile, **kwargs)
    # python3-rados ignores connect(timeout=...); this bounds the wait for an unreachable monitor instead.
    cluster.conf_set("client_mount_timeout", "60")
    features = suite_features()
    if features is not None:
        cluster.conf_set("rbd_default_features", str(features))
    cluster.connect()
    return cluster


@pytest.fixture(scope="session")
def cluster(ceph_conf):
    handle = connect(ceph_conf)
    yield handle
    handle.shutdown()


@contextlib.contextmanager
def rbd_pool(cluster, prefix="pool"):
    """A fresh, uniquely named pool with the rbd application enabled; deleted on exit."""
    name = unique_name(prefix)
    cluster.create_pool(name)
    try:
        with cluster.open_ioctx(name) as ioctx:
            ioctx.application_enable("rbd")
        yield name
    finally:
        cluster.delete_pool(name)


@pytest.fixture(scope="module")
def pool(cluster):
    """The name of a fresh rbd pool for the test module, deleted afterwards."""
    with rbd_pool(cluster) as name:
        yield name


@pytest.fixture
def ioctx(cluster, pool):
    handle = cluster.open_ioctx(pool)
    yield handle
    handle.close()


@pytest.fixture
def image_name(ioctx):
    """A fresh 8 MiB image's name; removed after the test (with its snapshots) if it still exists."""
    name = unique_name("img")
    rbd.RBD().create(ioctx, name, 8 * MiB)
    yield name
    remove_image(ioctx, name)


@pytest.fixture
def image(ioctx, image_name):
    """The fresh image, open; closed after the test."""
    handle = rbd.Image(ioctx, image_name)
    yield handle
    handle.close()


@pytest.fixture
def cleanup(ioctx):
    """A list to append image names to; they are removed (the last created first: children before parents)."""
    names = []
    yield names
    for name in reversed(names):
        remove_image(ioctx, name)


def remove_image(ioctx, name):
    """Remove an image and whatever keeps it from being removed (snapshots, protection); ignore if gone."""
    try:
        with rbd.Image(ioctx, name) as image:
            for snap in list(image.list_snaps()) if hasattr(image, "list_snaps") else []:
                try:
                    if image.is_protected_snap(snap["name"]):
                        image.unprotect_snap(snap["name"])
                    image.remove_snap(snap["name"])
                except rbd.Error:
                    pass
    except rbd.ImageNotFound:
        return
    except rbd.Error:
        pass
    try:
        rbd.RBD().remove(ioctx, name)
    except rbd.ImageNotFound:
        pass
