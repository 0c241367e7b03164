"""Backup streams: `python -m rbd` (rbd.streams) against the `rbd` CLI, command for command.

    .venv/bin/python bench/streams.py [--conf CEPH_CONF] [--size-gib 2] [--rounds 5] [--out bench/results]

Without --conf it starts a throwaway cluster (ci/cluster.sh, memstore sized for the run) and stops it afterwards.
One image of --size-gib GiB (4 MiB objects) is prefilled with data, snapshot `a` taken, 10 % of its objects
rewritten (a random tenth), snapshot `b` taken. Each round then runs every workload with both tools, the order
of the three peers rotating from round to round (interleaved and rotated): `python -m rbd` (ours, the whole
command), the same call through rbd.streams in a Python process timed from before its connection to after its
shutdown (lib: what a Python backup tool pays; its interpreter start is not counted) and the `rbd` CLI:

- export-diff: `export-diff --from-snap a POOL/src@b -` to /dev/null (the 10 % diff);
- import-diff: that diff from a file into an image holding `a` (afterwards, untimed: snapshot b removed, image
  rolled back to a);
- export: `export POOL/src@b -` to /dev/null (the whole image, raw);
- import: `import FILE POOL/dst` from the raw export in a file (afterwards, untimed: image removed).

Timed: the wall time of the whole command (process start and connection included, for ours and the CLI) and its CPU time
(user + system, from the kernel's accounting of the child). Reported: medians of throughput (MiB/s of image
data moved: the diff's data for the diff workloads, the image size for the others), the median and range of the
per-round paired ratio ours/CLI, and CPU seconds per GiB.
"""
import argparse
import datetime
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import rados

import rbd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MiB = 1 << 20
GiB = 1 << 30
OBJECT = 4 * MiB
WORKLOADS = ["export-diff", "import-diff", "export", "import"]


def start_cluster(size_gib):
    state = tempfile.mkdtemp(prefix="rbd-bench-streams-")
    env = dict(os.environ, CEPH_CI_MEMSTORE_BYTES=str(int(size_gib * 3.5 + 2) * GiB))
    out = subprocess.run([os.path.join(ROOT, "ci", "cluster.sh"), "start", state], env=env, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return state, out.strip().splitlines()[-1]


def prefill(ioctx, size, seed=1):
    """src: `size` bytes of data, snapshot a, 10 % of the objects rewritten, snapshot b. Returns the diff bytes."""
    rng = random.Random(seed)
    block = rng.randbytes(OBJECT)
    rbd.RBD().create(ioctx, "src", size, order=22)
    with rbd.Image(ioctx, "src") as image:
        def fill(objects, tag):
            pending = []
            for index in objects:
                data = tag + index.to_bytes(8, "little") + block[9:]
                pending.append(image.aio_write(data, index * OBJECT, None))
                if len(pending) >= 16:
                    pending.pop(0).wait_for_complete_and_cb()
            for comp in pending:
                comp.wait_for_complete_and_cb()
        count = size // OBJECT
        fill(range(count), b"A")
        image.create_snap("a")
        changed = sorted(rng.sample(range(count), count // 10))
        fill(changed, b"B")
        image.create_snap("b")
    return len(changed) * OBJECT


def run_timed(argv, stdin=None, stdout=None):
    """(wall seconds, CPU seconds) of one command; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), result.returncode, result.stderr.decode()))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


# `lib`: the same operation through rbd.streams in an interpreter that is already running: timed from before the
# connection to after its shutdown (what a Python backup tool pays), CPU from time.process_time (all threads).
LIBRARY_RUNNER = r"""
import json, sys, time
import rados, rbd
from rbd import streams
conf, pool, op, args = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
start, cpu = time.perf_counter(), time.process_time()
cluster = rados.Rados(conffile=conf)
cluster.conf_set(*streams.ZERO_COPY_WRITES)
cluster.connect()
with cluster.open_ioctx(pool) as ioctx:
    if args.pop("stdout", False):
        args["dest"] = sys.stdout.buffer
    getattr(streams, op)(ioctx, **args)
    sys.stdout.flush()
cluster.shutdown()
print(json.dumps([time.perf_counter() - start, time.process_time() - cpu]), file=sys.stderr)
"""


def run_library(conf, pool, op, stdout=None, **args):
    """(wall seconds, CPU seconds) of one rbd.streams call, measured inside the interpreter."""
    if stdout is not None:
        args["stdout"] = True
    result = subprocess.run([sys.executable, "-c", LIBRARY_RUNNER, conf, pool, op, json.dumps(args)],
                            stdout=stdout, stderr=subprocess.PIPE)
    if result.returncode != 0:
        raise RuntimeError("library %s failed: %s" % (op, result.stderr.decode()))
    return tuple(json.loads(result.stderr.decode().strip().splitlines()[-1]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", help="an existing cluster's ceph.conf (default: start a throwaway one)")
    parser.add_argument("--size-gib", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    args = parser.parse_args()
    workloads = args.workloads.split(",")
    size = int(args.size_gib * GiB) // OBJECT * OBJECT
    state = None
    conf = args.conf
    if conf is None:
        state, conf = start_cluster(args.size_gib)
    cluster = rados.Rados(conffile=conf)
    cluster.connect()
    pool = "bench-streams-%d" % os.getpid()
    cluster.create_pool(pool)
    tmp = tempfile.mkdtemp(prefix="rbd-bench-streams-files-")
    try:
        with cluster.open_ioctx(pool) as ioctx:
            ioctx.application_enable("rbd")
            t0 = time.time()
            diff_bytes = prefill(ioctx, size)
            print("prefilled %d MiB (diff %d MiB) in %.0f s" % (size // MiB, diff_bytes // MiB, time.time() - t0),
                  file=sys.stderr)
            tools = {
                "ours": [sys.executable, "-m", "rbd", "--conf", conf, "--no-progress"],
                "cli": ["rbd", "--conf", conf, "--no-progress"],
            }
            cli = tools["cli"]
            diff_file = os.path.join(tmp, "diff")
            raw_file = os.path.join(tmp, "raw")
            subprocess.run(cli + ["export-diff", "--from-snap", "a", "%s/src@b" % pool, diff_file], check=True)
            subprocess.run(cli + ["export", "%s/src@b" % pool, raw_file], check=True)
            # The import-diff target: src@a, made once; rolled back to a after each timed import-diff.
            rbd.RBD().create(ioctx, "tgt", 4 * MiB, order=22)
            proc = subprocess.Popen(cli + ["export-diff", "%s/src@a" % pool, "-"], stdout=subprocess.PIPE)
            subprocess.run(cli + ["import-diff", "-", "%s/tgt" % pool], stdin=proc.stdout, check=True)
            proc.stdout.close()
            assert proc.wait() == 0

            moved = {"export-diff": diff_bytes, "import-diff": diff_bytes, "export": size, "import": size}
            results = {w: {"ours": [], "cli": [], "lib": []} for w in workloads}
            with open(os.devnull, "wb") as devnull:
                for round_index in range(args.rounds):
                    order = ["ours", "cli", "lib"]
                    order = order[round_index % 3:] + order[:round_index % 3]
                    for workload in workloads:
                        for tool in order:
                            base = tools.get(tool)
                            if tool == "lib":
                                if workload == "export-diff":
                                    timing = run_library(conf, pool, "export_diff", stdout=devnull, name="src",
                                                         snapshot="b", from_snapshot="a")
                                elif workload == "import-diff":
                                    timing = run_library(conf, pool, "import_diff", name="tgt", src=diff_file)
                                elif workload == "export":
                                    timing = run_library(conf, pool, "export_image", stdout=devnull, name="src",
                                                         snapshot="b")
                                else:
                                    timing = run_library(conf, pool, "import_image", name="dst", src=raw_file)
                            elif workload == "export-diff":
                                timing = run_timed(base + ["export-diff", "--from-snap", "a", "%s/src@b" % pool,
                                                           "-"], stdout=devnull)
                            elif workload == "import-diff":
                                timing = run_timed(base + ["import-diff", diff_file, "%s/tgt" % pool])
                            elif workload == "export":
                                timing = run_timed(base + ["export", "%s/src@b" % pool, "-"], stdout=devnull)
                            else:
                                timing = run_timed(base + ["import", raw_file, "%s/dst" % pool])
                            if workload == "import-diff":
                                with rbd.Image(ioctx, "tgt") as image:
                                    image.remove_snap("b")
                                    image.rollback_to_snap("a")
                            elif workload == "import":
                                rbd.RBD().remove(ioctx, "dst")
                            wall, cpu = timing
                            results[workload][tool].append({"seconds": wall, "cpu": cpu})
                            print("round %d %-11s %-4s %6.2f s %6.2f CPU s %7.1f MiB/s" % (
                                round_index + 1, workload, tool, wall, cpu, moved[workload] / MiB / wall),
                                file=sys.stderr)
            report(results, moved, size, diff_bytes, args)
    finally:
        cluster.delete_pool(pool)
        cluster.shutdown()
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)
        if state is not None:
            subprocess.run([os.path.join(ROOT, "ci", "cluster.sh"), "stop", state])


def report(results, moved, size, diff_bytes, args):
    rows = []
    for workload, by_tool in results.items():
        def mibs(tool):
            return [moved[workload] / MiB / r["seconds"] for r in by_tool[tool]]

        def cpu_per_gib(tool):
            return statistics.median(r["cpu"] for r in by_tool[tool]) / (moved[workload] / GiB)
        row = {"workload": workload, "rounds": by_tool}
        for tool in ("ours", "lib", "cli"):
            row[tool + "_mib_s"] = statistics.median(mibs(tool))
            row[tool + "_cpu_s_per_gib"] = cpu_per_gib(tool)
        for tool in ("ours", "lib"):
            ratios = [o / c for o, c in zip(mibs(tool), mibs("cli"))]
            row[tool + "_ratio"] = (statistics.median(ratios), min(ratios), max(ratios))
        rows.append(row)
    stamp = datetime.date.today().isoformat()
    os.makedirs(args.out, exist_ok=True)
    meta = {"date": stamp, "image_bytes": size, "diff_bytes": diff_bytes, "rounds": args.rounds,
            "ceph": subprocess.run(["rbd", "--version"], stdout=subprocess.PIPE, text=True).stdout.strip(),
            "load_average_at_end": os.getloadavg()}
    with open(os.path.join(args.out, "streams.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    lines = ["Backup streams, %s: %d MiB image (4 MiB objects), diff of %d MiB (10 %% of the objects), %d rounds, "
             "%s. `python -m rbd`: the whole command, as the CLI's; library: rbd.streams in a running interpreter "
             "(connection included)." % (stamp, size // MiB, diff_bytes // MiB, args.rounds, meta["ceph"]), "",
             "| command | python -m rbd MiB/s | library MiB/s | rbd CLI MiB/s | python -m rbd / CLI: median (range) "
             "| library / CLI: median (range) | CPU s/GiB: python -m rbd, library, CLI |",
             "|---|---:|---:|---:|---|---|---|"]
    for row in rows:
        lines.append("| %s | %.0f | %.0f | %.0f | %.2f (%.2f–%.2f) | %.2f (%.2f–%.2f) | %.2f, %.2f, %.2f |" % (
            (row["workload"], row["ours_mib_s"], row["lib_mib_s"], row["cli_mib_s"]) + row["ours_ratio"]
            + row["lib_ratio"] + (row["ours_cpu_s_per_gib"], row["lib_cpu_s_per_gib"], row["cli_cpu_s_per_gib"])))
    text = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "streams.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
