#!/usr/bin/env python3
"""Where the client's CPU goes: one workload under `perf record -e cpu-clock`, for ours, python3-rbd and fio.

    <venv>/bin/python bench/profile.py --conf CEPH_CONF --pool POOL --image IMAGE [--workload rand_read_4k]
                                       [--seconds 5] [--out bench/results/profile-<workload>.md]

The image must exist and be prefilled (bench/run.py makes one; so does any image written end to end). For each
peer it samples every thread of the client process at 2 kHz (a software clock: works where hardware counters do
not) and reports CPU per operation split by thread (the Python or fio thread that submits, librbd's
io_context_pool, the messenger) and by library (kernel, libc, librbd, librados/ceph-common, the Python
interpreter, the binding), with `rbd cache` off for all three. Also the binding's own per-call overhead for calls that never leave the client
(`size()`, `features()`), timed in both Python modules. Not part of the tests; needs `perf` (linux-perf).
"""
import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from run import conf_with_cache

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKER = os.path.join(HERE, "worker.py")
DEBIAN_PYTHON = "/usr/bin/python3"
SAMPLE_LINE = re.compile(r"^\s*(\S.*?)\s+[0-9a-f]+\s+\((.*)\)\s*$")  # comm, ip, (dso)
FREQUENCY = 2000  # samples per second and thread: one sample is 500 µs of CPU
FIO_ARGS = {
    "rand_read_4k": ["--rw=randread", "--bs=4k", "--iodepth=1"],
    "rand_write_4k": ["--rw=randwrite", "--bs=4k", "--iodepth=1"],
    "rand_read_4k_qd32": ["--rw=randread", "--bs=4k", "--iodepth=32"],
    "rand_write_4k_qd32": ["--rw=randwrite", "--bs=4k", "--iodepth=32"],
    "rand_read_4k_qd32_asyncio": ["--rw=randread", "--bs=4k", "--iodepth=32"],
    "rand_write_4k_qd32_asyncio": ["--rw=randwrite", "--bs=4k", "--iodepth=32"],
    "seq_read_4m": ["--rw=read", "--bs=4m", "--iodepth=1"],
    "seq_write_4m": ["--rw=write", "--bs=4m", "--iodepth=1"],
}
MICRO = """
import os, sys, time, rados, rbd
cluster = rados.Rados(conffile=os.environ["CEPH_CONF"]); cluster.connect()
ioctx = cluster.open_ioctx(sys.argv[1]); image = rbd.Image(ioctx, sys.argv[2], read_only=True)
out = {}
for name, fn in (("size()", image.size), ("features()", image.features), ("stripe_unit()", image.stripe_unit)):
    best = 1e9
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(100000):
            fn()
        best = min(best, (time.perf_counter() - t0) / 100000)
    out[name] = best * 1e6
image.close(); ioctx.close(); cluster.shutdown()
print(__import__("json").dumps(out))
"""


def thread_group(comm):
    if comm.startswith("msgr-worker"):
        return "messenger (msgr-worker-*)"
    if comm == "io_context_pool":
        return "librbd/librados io_context_pool"
    if comm in ("python", "python3", "fio", "rbd-aio-dispatc"):
        return "Python threads (submit; our aio callbacks) / fio"
    return "other threads"


def dso_group(dso):
    if dso.startswith("[kernel"):
        return "kernel"
    # Extension modules first: their paths contain "python3" too.
    for key, label in (("/rbd.cpython", "rbd binding module"), ("/rados.cpython", "rados module"),
                       ("librbd", "librbd"), ("libceph-common", "librados + ceph-common"),
                       ("librados", "librados + ceph-common"), ("python3", "Python interpreter"),
                       ("libc.so", "libc (malloc, locks)"), ("libstdc++", "libstdc++")):
        if key in dso:
            return label
    return "other (fio, vdso, loader, ...)"


def samples(data_path):
    """Counters of perf samples by thread group and by library group."""
    out = subprocess.run(["perf", "script", "-i", data_path, "-F", "comm,ip,dso"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, check=True).stdout
    by_thread, by_dso = collections.Counter(), collections.Counter()
    for line in out.splitlines():
        match = SAMPLE_LINE.match(line)
        if match:
            by_thread[thread_group(match.group(1))] += 1
            by_dso[dso_group(match.group(2))] += 1
    return by_thread, by_dso


def profile_peer(peer, args, workdir):
    data = os.path.join(workdir, "%s.data" % peer)
    env = dict(os.environ, CEPH_CONF=args.conf)
    perf = ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(FREQUENCY), "-o", data, "--"]
    if peer == "fio":
        command = perf + ["fio", "--name=profile", "--ioengine=rbd", "--clientname=admin", "--pool=" + args.pool,
                          "--rbdname=" + args.image, "--time_based", "--runtime=%g" % args.seconds,
                          "--output-format=json", "--invalidate=0"] + FIO_ARGS[args.workload]
    else:
        python = sys.executable if peer == "ours" else DEBIAN_PYTHON
        if peer == "ours":
            env["PYTHONPATH"] = ROOT
        else:
            env.pop("PYTHONPATH", None)
        command = perf + [python, WORKER, "--conf", args.conf, "--pool", args.pool, "--image", args.image,
                          "--workload", args.workload, "--seconds", str(args.seconds)]
    out = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (peer, out.stderr[-2000:]))
    text = out.stdout
    if peer == "fio":
        job = json.loads(text[text.index("{"):])["jobs"][0]
        ops = job["read"]["total_ios"] + job["write"]["total_ios"]
    else:
        result = json.loads(text.strip().splitlines()[-1])
        if "skipped" in result:
            return None
        ops = result["ops"]
    by_thread, by_dso = samples(data)
    return {"ops": ops, "by_thread": by_thread, "by_dso": by_dso}


def micro(args):
    rows = {}
    for peer, python in (("ours", sys.executable), ("python3-rbd", DEBIAN_PYTHON)):
        env = dict(os.environ, CEPH_CONF=args.conf)
        if peer == "ours":
            env["PYTHONPATH"] = ROOT
        else:
            env.pop("PYTHONPATH", None)
        out = subprocess.run([python, "-c", MICRO, args.pool, args.image], env=env, stdout=subprocess.PIPE,
                             text=True, check=True)
        rows[peer] = json.loads(out.stdout.strip().splitlines()[-1])
    return rows


def report(args, results, micro_rows):
    us_per_sample = 1e6 / FREQUENCY
    peers = [p for p in ("ours", "python3-rbd", "fio") if results.get(p)]
    lines = ["# Client CPU profile: %s" % args.workload, "",
             "`perf record -e cpu-clock -F %d` over the whole client process for %g s of I/O per peer; µs of CPU "
             "per operation (samples × %.0f µs / operations). Start-up (connect, open) is sampled too, for every "
             "peer; fio's count includes its main process (status updates)." % (FREQUENCY, args.seconds,
                                                                               us_per_sample), ""]
    for title, key in (("By thread", "by_thread"), ("By library", "by_dso")):
        groups = sorted({g for p in peers for g in results[p][key]},
                        key=lambda g: -sum(results[p][key][g] for p in peers))
        lines += ["## %s" % title, "", "| | " + " | ".join(peers) + " |", "|---|" + "---:|" * len(peers)]
        for group in groups:
            lines.append("| %s | %s |" % (group, " | ".join(
                "%.1f" % (results[p][key][group] * us_per_sample / results[p]["ops"]) for p in peers)))
        lines.append("| **total** | %s |" % " | ".join(
            "%.1f" % (sum(results[p][key].values()) * us_per_sample / results[p]["ops"]) for p in peers))
        lines.append("")
    lines += ["Operations: " + ", ".join("%s %d" % (p, results[p]["ops"]) for p in peers) + ".", "",
              "## Per-call overhead of the binding (calls answered inside the client, best of 5 × 100 000)", "",
              "| call | ours µs | python3-rbd µs | ours/python3-rbd |", "|---|---:|---:|---:|"]
    for name in micro_rows["ours"]:
        a, b = micro_rows["ours"][name], micro_rows["python3-rbd"][name]
        lines.append("| %s | %.3f | %.3f | %.2f |" % (name, a, b, a / b))
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conf", required=True)
    parser.add_argument("--pool", required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--workload", default="rand_read_4k", choices=sorted(FIO_ARGS))
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--out")
    args = parser.parse_args()
    args.conf = os.path.abspath(args.conf)
    if not shutil.which("perf"):
        raise SystemExit("perf is required (apt install linux-perf)")
    workdir = tempfile.mkdtemp(prefix="rbd-profile-")
    # rbd cache off for every peer: fio reads only the conf file, where librbd's default would be on.
    args.conf = conf_with_cache(args.conf, False, workdir)
    try:
        results = {peer: profile_peer(peer, args, workdir) for peer in ("ours", "python3-rbd", "fio")}
        text = report(args, results, micro(args))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out = args.out or os.path.join(HERE, "results", "profile-%s.md" % args.workload)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
