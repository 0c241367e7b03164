"""A real ceph-mgr running on this module: the mgr modules that import `rbd` (rbd_support, telemetry, prometheus)
load, each in its own sub-interpreter, and rbd_support does its work, driven by the real `ceph` and `rbd` tools.

The cluster is a throwaway one of this test's own, whose `mgr module path` is a directory holding Ceph's stock mgr
modules (links into /usr/share/ceph/mgr) plus a copy of this package: ceph-mgr puts that directory first on every
module's sys.path, so they import this `rbd` instead of Debian's (checked in /proc/<mgr pid>/maps). Installed
system-wide instead (the README's host install, ci/test-system-wide.sh), it is the stock module path and the mgr's
own site directories that must find it. A failing step prints the mgr log lines that explain it. Everything waits
with a deadline.
"""
import json
import os
import re
import shutil
import subprocess
import time

import pytest

import rbd
from clusters import first_json, local_cluster
from conftest import SYSTEM_DIST_PACKAGES

STOCK_MGR_MODULES = "/usr/share/ceph/mgr"
RBD_USERS = ("rbd_support", "telemetry", "prometheus")   # the stock mgr modules that import rbd
COMMAND_TIMEOUT = 60
# rbd_support's schedules have a granularity of one minute; their handlers look for work about every minute.
SCHEDULE_WAIT = 200


class Step(Exception):
    """A step of the scenario failed (the message carries the mgr log excerpt)."""


class Mgr:
    """The CLI against one throwaway cluster, and what its mgr logged."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.log = os.path.join(cluster.dir, "log", "mgr.x.log")

    def run(self, tool, *args, check=True, timeout=COMMAND_TIMEOUT):
        cmd = [tool, "-c", self.cluster.conf] + [str(a) for a in args]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail("%s timed out after %d s" % (" ".join(cmd[3:]), timeout))
        if check and result.returncode != 0:
            self.fail("%s %s failed (%d): %s" % (tool, " ".join(cmd[3:]), result.returncode,
                                                 result.stderr.strip()[-1500:]))
        return result

    def json(self, tool, *args):
        return first_json(self.run(tool, *args, "--format", "json").stdout)

    def rbd_support(self, *args, timeout=90):
        """An rbd_support command through `ceph`, retried while the module is still starting (EAGAIN)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.run("ceph", *args, check=False)
            if result.returncode == 0:
                return first_json(result.stdout) if result.stdout.strip() else None
            starting = "not ready" in result.stderr or "EAGAIN" in result.stderr or result.returncode == 11
            if not starting or time.monotonic() > deadline:
                self.fail("ceph %s failed (%d): %s" % (" ".join(args), result.returncode, result.stderr.strip()))
            time.sleep(2)

    def log_excerpt(self, lines=60):
        """The mgr log lines about modules, rbd, errors and tracebacks (the last `lines` of them)."""
        try:
            with open(self.log, errors="replace") as f:
                text = f.read().splitlines()
        except OSError as e:
            return "(no mgr log: %s)" % e
        pattern = re.compile(r"rbd|Traceback|Error|error|Interpreter|File \"|mgr load", re.I)
        return "\n".join([line for line in text if pattern.search(line)][-lines:])

    def fail(self, message):
        raise Step("%s\n--- mgr log (%s) ---\n%s" % (message, self.log, self.log_excerpt()))

    def wait_for(self, what, predicate, timeout, interval=2):
        """Poll `predicate()` until it returns something true; return that, or fail after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                self.fail("%s: not seen within %d s" % (what, timeout))
            time.sleep(interval)

    def module_errors(self):
        """{mgr module: why it cannot run} for the modules that import rbd, from `mgr module ls` and health."""
        errors = {}
        # Every module the mgr found, with whether it can run and why not (mgr dump's available_modules).
        for entry in (self.json("ceph", "mgr", "dump") or {}).get("available_modules", []):
            if entry.get("name") in RBD_USERS and (not entry.get("can_run", True) or entry.get("error_string")):
                errors[entry["name"]] = entry.get("error_string") or "cannot run"
        health = self.json("ceph", "health", "detail") or {}
        for name, check in (health.get("checks") or {}).items():
            if name.startswith("MGR_MODULE"):
                detail = " ".join(d.get("message", "") for d in check.get("detail", []))
                errors[name] = "%s %s" % (check.get("summary", {}).get("message", ""), detail)
        return errors

    def working_directory(self):
        return os.readlink("/proc/%d/cwd" % self.cluster.daemon_pid("mgr.x"))

    def loaded_rbd_objects(self):
        """The paths of the `rbd` shared objects mapped into the mgr process."""
        pid = self.cluster.daemon_pid("mgr.x")
        with open("/proc/%d/maps" % pid) as f:
            paths = {line.split()[-1] for line in f if len(line.split()) >= 6}
        return sorted(p for p in paths if re.search(r"/rbd(/__init__)?\.(cpython-[^/]*|abi3)\.so$", p))


def module_path_with_this_rbd(directory):
    """A `mgr module path`: Ceph's stock mgr modules (links) plus a copy of this package, named rbd."""
    os.makedirs(directory)
    for entry in os.listdir(STOCK_MGR_MODULES):
        os.symlink(os.path.join(STOCK_MGR_MODULES, entry), os.path.join(directory, entry))
    package = os.path.dirname(rbd.__file__)
    shutil.copytree(package, os.path.join(directory, "rbd"), ignore=shutil.ignore_patterns("__pycache__"))
    return directory


def module_errors_with(cluster_env):
    """Start a throwaway cluster with `cluster_env`; return (module errors, mgr log excerpt) once the mgr settled."""
    saved = {k: os.environ.get(k) for k in cluster_env}
    os.environ.update(cluster_env)
    try:
        with local_cluster() as cluster:
            mgr = Mgr(cluster)
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline:
                errors = mgr.module_errors()
                if errors or mgr.run("ceph", "rbd", "task", "list", check=False).returncode == 0:
                    break
                time.sleep(2)
            return errors, mgr.log_excerpt(30)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def image_info(mgr, spec):
    result = mgr.run("rbd", "info", spec, "--format", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def migration_state(mgr, spec):
    """The migration state `rbd status` reports for `spec` ("executed", ...), or None when not migrating."""
    status = mgr.json("rbd", "status", spec) or {}
    return (status.get("migration") or {}).get("state")


def mirror_snapshots(mgr, spec):
    snaps = mgr.json("rbd", "snap", "ls", "--all", spec) or []
    return [s for s in snaps if s.get("namespace", {}).get("type") == "mirror"]


def installed_system_wide():
    """True when the rbd under test is installed in the system's dist-packages, beside Debian's module, which its
    package directory shadows: the README's host install (ci/test-system-wide.sh), which ceph-mgr's stock module
    path must find."""
    package = os.path.dirname(os.path.realpath(rbd.__file__))
    return package == os.path.join(os.path.realpath(SYSTEM_DIST_PACKAGES), "rbd")


def test_rbd_support_on_this_module(tmp_path):
    # Installed system-wide, the stock mgr module path finds it (ci/test-system-wide.sh tests that way); otherwise
    # a module path of our own puts a copy of this package first.
    module_path = None if installed_system_wide() else module_path_with_this_rbd(str(tmp_path / "mgr-modules"))
    expected = os.path.realpath(rbd.__file__ if module_path is None else
                                os.path.join(module_path, "rbd", os.path.basename(rbd.__file__)))
    started = time.monotonic()
    timings = {}
    if module_path is not None:
        os.environ["CEPH_CI_MGR_MODULE_PATH"] = module_path
    try:
        with local_cluster() as cluster:
            os.environ.pop("CEPH_CI_MGR_MODULE_PATH", None)
            mgr = Mgr(cluster)
            timings["cluster"] = time.monotonic() - started
            failure = None
            try:
                run_scenario(mgr, expected, timings)
            except Step as step:
                failure = str(step)
            if failure is not None:
                pytest.fail(failure, pytrace=False)
    finally:
        os.environ.pop("CEPH_CI_MGR_MODULE_PATH", None)
    print("test_mgr: the mgr ran %s (%s)" % (expected, "system-wide" if module_path is None else "mgr module path"))
    print("test_mgr timings (s): " + ", ".join("%s %.1f" % kv for kv in timings.items()))


def run_scenario(mgr, expected, timings):
    t0 = time.monotonic()

    def mark(name):
        timings[name] = time.monotonic() - t0

    # The mgr loaded its modules: rbd_support answers, or some module reports an error.
    def settled():
        errors = mgr.module_errors()
        if errors:
            return ("errors", errors)
        if mgr.run("ceph", "rbd", "task", "list", check=False).returncode == 0:
            return ("ready", None)
        return None
    state, errors = mgr.wait_for("rbd_support answering, or a mgr module error", settled, 150)
    if state == "errors":
        # Modules that failed may still have imported rbd first (Ceph 20): then it must be this one.
        loaded = mgr.loaded_rbd_objects()
        assert loaded in ([], [expected]), loaded
        precondition_or_fail(mgr, errors)
    mark("rbd_support ready")
    loaded = mgr.wait_for("rbd shared object mapped in ceph-mgr", mgr.loaded_rbd_objects, 30)
    assert loaded == [expected], loaded
    # As systemd starts it: ceph-mgr 16's site directories depend on its working directory (README).
    assert mgr.working_directory() == "/"
    errors = mgr.module_errors()
    if errors:
        precondition_or_fail(mgr, errors)
    mark("modules loaded")

    # Schedules in one pool, tasks in another (the scheduled purge must not take the task's trash entry).
    pool, tasks = "scheduled", "tasks"
    for name in (pool, tasks):
        mgr.run("ceph", "osd", "pool", "create", name, "8")
        mgr.run("rbd", "pool", "init", name)

    # Schedules first: their handlers act about once a minute, so they run while the tasks are checked.
    # Trash purge: an image in the trash whose deferment has passed is purged by the schedule.
    mgr.run("rbd", "create", "--size", "8M", pool + "/purged")
    mgr.run("rbd", "trash", "mv", pool + "/purged")
    mgr.run("rbd", "trash", "purge", "schedule", "add", "--pool", pool, "1m")
    listed = mgr.run("rbd", "trash", "purge", "schedule", "ls", "--pool", pool).stdout
    assert "every 1m" in listed, listed
    # Mirror snapshots: snapshot-mode mirroring needs a peer; the schedule makes the mgr take mirror snapshots.
    mgr.run("rbd", "mirror", "pool", "enable", pool, "image")
    mgr.run("rbd", "mirror", "pool", "peer", "add", pool, "client.remote@remote")
    mgr.run("rbd", "create", "--size", "8M", pool + "/mirrored")
    mgr.run("rbd", "mirror", "image", "enable", pool + "/mirrored", "snapshot")
    initial_mirror_snaps = len(mirror_snapshots(mgr, pool + "/mirrored"))
    mgr.run("rbd", "mirror", "snapshot", "schedule", "add", "--pool", pool, "--image", "mirrored", "1m")
    listed = mgr.run("rbd", "mirror", "snapshot", "schedule", "ls", "--pool", pool, "--image", "mirrored").stdout
    assert "every 1m" in listed, listed
    mark("schedules added")

    # Tasks: flatten, remove, trash remove, migration execute + commit.
    mgr.run("rbd", "create", "--size", "8M", tasks + "/parent")
    mgr.run("rbd", "bench", "--io-type", "write", "--io-size", "1M", "--io-total", "4M", tasks + "/parent")
    mgr.run("rbd", "snap", "create", tasks + "/parent@base")
    mgr.run("rbd", "snap", "protect", tasks + "/parent@base")
    mgr.run("rbd", "clone", tasks + "/parent@base", tasks + "/child")
    task = mgr.rbd_support("rbd", "task", "add", "flatten", tasks + "/child")
    assert task["refs"]["action"] == "flatten", task
    mgr.wait_for("flatten of %s/child by the mgr" % tasks,
                 lambda: "parent" not in (image_info(mgr, tasks + "/child") or {"parent": 1}), 90)

    mgr.run("rbd", "create", "--size", "8M", tasks + "/removed")
    mgr.rbd_support("rbd", "task", "add", "remove", tasks + "/removed")
    mgr.wait_for("removal of %s/removed by the mgr" % tasks,
                 lambda: "removed" not in mgr.json("rbd", "ls", tasks), 90)

    mgr.run("rbd", "create", "--size", "8M", tasks + "/trashed")
    image_id = image_info(mgr, tasks + "/trashed")["id"]
    mgr.run("rbd", "trash", "mv", tasks + "/trashed")   # removable now (the task does not force)
    mgr.rbd_support("rbd", "task", "add", "trash", "remove", "%s/%s" % (tasks, image_id))
    mgr.wait_for("removal of trash entry %s by the mgr" % image_id,
                 lambda: image_id not in [e["id"] for e in mgr.json("rbd", "trash", "ls", "--all", tasks)], 90)

    mgr.run("rbd", "create", "--size", "8M", tasks + "/source")
    mgr.run("rbd", "bench", "--io-type", "write", "--io-size", "1M", "--io-total", "2M", tasks + "/source")
    mgr.run("rbd", "migration", "prepare", tasks + "/source", tasks + "/target")
    assert migration_state(mgr, tasks + "/target") == "prepared"
    mgr.rbd_support("rbd", "task", "add", "migration", "execute", tasks + "/target")
    mgr.wait_for("migration execute of %s/target by the mgr" % tasks,
                 lambda: migration_state(mgr, tasks + "/target") == "executed", 90)
    mgr.rbd_support("rbd", "task", "add", "migration", "commit", tasks + "/target")
    mgr.wait_for("migration commit of %s/target by the mgr" % tasks,
                 lambda: migration_state(mgr, tasks + "/target") is None, 90)
    assert mgr.json("rbd", "ls", tasks) == ["child", "parent", "target"]
    assert mgr.json("rbd", "trash", "ls", "--all", tasks) == []   # the migration source is gone
    mark("tasks done")

    # iostat: the I/O of a running load shows up in `rbd perf image iostat`.
    mgr.run("rbd", "create", "--size", "64M", pool + "/busy")
    load = subprocess.Popen(["rbd", "-c", mgr.cluster.conf, "bench", "--io-type", "write", "--io-size", "4K",
                             "--io-threads", "2", "--io-total", "10G", "--io-pattern", "rand", pool + "/busy"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def busy_in_iostat():
            # With a --format, iostat reports one sample and exits.
            out = mgr.run("rbd", "perf", "image", "iostat", "--format", "json", pool, timeout=90).stdout
            decoder, docs, rest = json.JSONDecoder(), [], out.strip()
            while rest:
                doc, end = decoder.raw_decode(rest)
                docs.append(doc)
                rest = rest[end:].strip()
            return [entry for doc in docs for entry in (doc if isinstance(doc, list) else [doc])
                    if entry.get("image") == "busy" and entry.get("write_ops", 0) > 0]
        busy = mgr.wait_for("the load on %s/busy in rbd perf image iostat" % pool, busy_in_iostat, 120, interval=1)
        assert busy[0]["write_bytes"] > 0, busy
    finally:
        load.terminate()
        load.wait(timeout=30)
    mark("iostat")

    # The schedules' effects: the purge emptied the trash of its expired image, the mgr took a mirror snapshot.
    # (`status` lists a schedule once the handler has loaded it: it reloads them about once a minute.)
    mgr.wait_for("the trash purge schedule of %s in `status`" % pool,
                 lambda: pool in mgr.run("rbd", "trash", "purge", "schedule", "status", "--pool", pool).stdout,
                 SCHEDULE_WAIT, interval=5)
    mgr.wait_for("the scheduled trash purge of %s" % pool,
                 lambda: "purged" not in [e["name"] for e in mgr.json("rbd", "trash", "ls", "--all", pool)],
                 SCHEDULE_WAIT, interval=5)
    mark("trash purged")
    mgr.wait_for("the mirror snapshot schedule of %s/mirrored in `status`" % pool,
                 lambda: "mirrored" in mgr.run("rbd", "mirror", "snapshot", "schedule", "status", "--pool", pool,
                                               "--image", "mirrored").stdout,
                 SCHEDULE_WAIT, interval=5)
    mgr.wait_for("a mirror snapshot taken by the schedule of %s/mirrored" % pool,
                 lambda: len(mirror_snapshots(mgr, pool + "/mirrored")) > initial_mirror_snaps,
                 SCHEDULE_WAIT, interval=5)
    mark("mirror snapshot")
    mgr.run("rbd", "trash", "purge", "schedule", "remove", "--pool", pool, "1m")
    listed = mgr.run("rbd", "trash", "purge", "schedule", "ls", "--pool", pool, check=False)   # ENOENT: none left
    assert "every" not in listed.stdout, listed.stdout

    # Still no module error after all that.
    assert mgr.module_errors() == {}, mgr.module_errors()


def failing_modules(errors):
    """The mgr modules importing rbd that `errors` (from Mgr.module_errors) names."""
    return {name for name in RBD_USERS if name in errors or any(name in why for why in errors.values())}


def precondition_or_fail(mgr, errors):
    """Module errors with this module: skip if Debian's python3-rbd has the same ones (e.g. Debian 13, where a
    dependency of rbd_support cannot load in sub-interpreters); otherwise fail with the mgr log."""
    ours = failing_modules(errors)
    stock_errors, _ = module_errors_with({"CEPH_CI_MGR_MODULE_PATH": STOCK_MGR_MODULES})
    if ours and ours <= failing_modules(stock_errors):
        pytest.skip("%s fail to load in ceph-mgr with Debian's python3-rbd too: %s" % (sorted(ours), stock_errors))
    mgr.fail("mgr module errors with this module (with Debian's: %s): %s" % (stock_errors or "none", errors))
