"""Throwaway Ceph clusters of a test module's own (for tests that kill, freeze or reconfigure things), and a guard
that turns a hang into a test failure.

`local_cluster(osds=N)` starts a cluster with ci/cluster.sh in a fresh temporary directory and always stops it
(and removes the directory, unless $RBD_TEST_KEEP_CLUSTERS is set: for the logs) afterwards, also when the test
body fails. `LocalCluster` wraps the script's other
commands (`kill-osd`, `start-osd`) and gives bounded client connections. `bounded(seconds, fn)` runs `fn` in a
helper thread and fails the test if it has not returned in time.
"""
import contextlib
import json
import os
import subprocess
import tempfile
import threading
import time

import pytest
import rados

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER_SCRIPT = os.path.join(ROOT, "ci", "cluster.sh")

# Every client connection made here gives up on a silent monitor after this long instead of librados' 300 s.
# (python3-rados ignores the `timeout` argument of Rados.connect; only client_mount_timeout bounds it.)
MOUNT_TIMEOUT = 30


class ClusterError(RuntimeError):
    """ci/cluster.sh failed."""


class LocalCluster:
    """A cluster started by ci/cluster.sh in its own directory; `conf` is the path of its ceph.conf."""

    def __init__(self, osds=1):
        self.osds = osds
        self.dir = None
        self.conf = None

    def _script(self, *args, timeout=300):
        result = subprocess.run([CLUSTER_SCRIPT] + [str(a) for a in args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, timeout=timeout)
        if result.returncode != 0:
            raise ClusterError("ci/cluster.sh %s failed (%d):\n%s" % (" ".join(map(str, args)), result.returncode,
                                                                      result.stderr[-4000:]))
        return result.stdout

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="rbd-test-own-cluster-")
        try:
            out = self._script("start", self.dir, "--osds", self.osds)
        except BaseException:
            self.stop()
            raise
        self.conf = out.strip().splitlines()[-1]
        return self

    def stop(self, keep=False):
        """Stop the daemons and remove the directory (unless `keep`: for the logs); idempotent."""
        if self.dir is None:
            return
        self._script("stop", self.dir, *(["--keep"] if keep else []), timeout=180)
        self.dir = None

    def kill_osd(self, osd_id, signal_name="TERM"):
        """Send `signal_name` to osd.`osd_id` (for terminating signals: wait until it has exited)."""
        self._script("kill-osd", self.dir, osd_id, signal_name)

    def start_osd(self, osd_id):
        """Restart osd.`osd_id` (or SIGCONT it if stopped) and wait until the monitor reports it up."""
        self._script("start-osd", self.dir, osd_id)

    def daemon_pid(self, name):
        """The pid of daemon `name` (e.g. 'mon.a', 'osd.0') from its pid file."""
        with open(os.path.join(self.dir, "run", name + ".pid")) as f:
            return int(f.read().strip())

    def connect(self, rados_id=None, **conf):
        """A connected rados.Rados (client.admin unless `rados_id`); `conf` adds librados options."""
        options = {"client_mount_timeout": str(MOUNT_TIMEOUT), "rados_mon_op_timeout": "60"}
        options.update({k: str(v) for k, v in conf.items()})
        handle = rados.Rados(conffile=self.conf, rados_id=rados_id, conf=options)
        handle.connect()
        return handle


@contextlib.contextmanager
def local_cluster(osds=1):
    """A running LocalCluster with `osds` OSDs, stopped (and its directory removed) on exit."""
    cluster = LocalCluster(osds)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop(keep=bool(os.environ.get("RBD_TEST_KEEP_CLUSTERS")))


def mon_command(handle, prefix, **args):
    """Run a monitor command through `handle`; return its JSON output parsed (or None); raise on failure."""
    cmd = dict(args, prefix=prefix, format="json")
    ret, out, err = handle.mon_command(json.dumps(cmd), b"")
    if ret != 0:
        raise ClusterError("mon command %s failed (%d): %s" % (prefix, ret, err))
    return first_json(out)


def first_json(out):
    """The first JSON document in `out` (some commands append a second one), or None if empty."""
    text = out.decode() if isinstance(out, bytes) else out
    if not text.strip():
        return None
    return json.JSONDecoder().raw_decode(text.strip())[0]


def mgr_command(handle, prefix, **args):
    """Run a manager command through `handle`; return its JSON output parsed."""
    cmd = dict(args, prefix=prefix, format="json")
    ret, out, err = handle.mgr_command(json.dumps(cmd), b"")
    if ret != 0:
        raise ClusterError("mgr command %s failed (%d): %s" % (prefix, ret, err))
    return first_json(out)


def require_mgr(handle, timeout=60):
    """Skip the calling test unless the cluster has an available ceph-mgr, waiting up to `timeout` s for one (it
    starts slowly). ci/cluster.sh only warns when none comes up, so tests that need the mgr (pg statistics are
    served by it) check for it instead of assuming it."""
    deadline = time.monotonic() + timeout
    while not mon_command(handle, "mgr stat").get("available"):
        if time.monotonic() > deadline:
            pytest.skip("no ceph-mgr available after %d s (needed for pg statistics)" % timeout)
        time.sleep(0.5)


def require_mgr_module(handle, name, timeout=60):
    """Skip the calling test unless the mgr can run its python module `name` (e.g. "rbd_support"). Not assumed:
    on Debian 13 most stock modules, rbd_support among them, fail to load (a dependency built with PyO3 refuses
    the mgr's sub-interpreters), and the mgr reports them as can_run false."""
    require_mgr(handle, timeout)
    deadline = time.monotonic() + timeout
    while True:
        modules = {m["name"]: m for m in mon_command(handle, "mgr dump").get("available_modules", [])}
        if name in modules:
            break
        if time.monotonic() > deadline:
            pytest.skip("the mgr does not list a module %r" % name)
        time.sleep(0.5)
    if not modules[name]["can_run"]:
        pytest.skip("the mgr cannot run its %s module: %s" % (name, modules[name]["error_string"]))


class _Outcome:
    result = None
    error = None


def bounded(seconds, fn, *args, **kwargs):
    """Call fn(*args, **kwargs) in a helper thread; fail the test if it has not returned after `seconds`.

    Returns (result, elapsed seconds); an exception raised by `fn` is re-raised here (with `.elapsed` set).
    """
    outcome = _Outcome()

    def run():
        try:
            outcome.result = fn(*args, **kwargs)
        except BaseException as e:  # handed to the caller
            outcome.error = e

    thread = threading.Thread(target=run, name="bounded-%s" % getattr(fn, "__name__", "call"), daemon=True)
    start = time.monotonic()
    thread.start()
    thread.join(seconds)
    elapsed = time.monotonic() - start
    if thread.is_alive():
        pytest.fail("%r still running after %.1f s: a hang" % (fn, seconds), pytrace=False)
    if outcome.error is not None:
        try:
            outcome.error.elapsed = elapsed
        except AttributeError:  # an exception type without a __dict__
            pass
        raise outcome.error
    return outcome.result, elapsed


def raises_within(seconds, exc_class, fn, *args, **kwargs):
    """Assert that fn(*args) raises exactly `exc_class` within `seconds`; return (exception, elapsed)."""
    try:
        result, elapsed = bounded(seconds, fn, *args, **kwargs)
    except Exception as e:
        if type(e) is not exc_class:
            raise AssertionError("expected %s, got %s: %s" % (exc_class.__name__, type(e).__name__, e)) from e
        return e, getattr(e, "elapsed", None)
    raise AssertionError("expected %s, but the call returned %r after %.2f s" % (exc_class.__name__, result, elapsed))
