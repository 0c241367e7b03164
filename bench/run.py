#!/usr/bin/env python3
"""Benchmark: this project's rbd module vs Debian's python3-rbd vs fio's rbd engine, on one prefilled image.

    <venv>/bin/python bench/run.py [--conf CEPH_CONF] [--size-mib 256] [--repeat 5] [--seconds 3] [--cache [off|on|both]]
                                   [--workloads NAME,...] [--out DIR]

Without --conf it starts a throwaway cluster with ci/cluster.sh (and stops it afterwards). It creates a pool and
one image of --size-mib MiB (default 256: memstore keeps data in RAM), fills it, then runs every workload with
the three peers interleaved (ours, python3-rbd, fio; --repeat rounds) and reports medians: IOPS, MB/s, client CPU
per operation (user+system time of the worker process, librbd's threads included; Python peers only), and the
ratios ours/python3-rbd and ours/fio. `rbd cache` is set explicitly: off by default; --cache on, or --cache both for two tables.
Writes bench/results/results-cache-{off,on}.md and .png (the chart needs matplotlib). Not part of the tests.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKER = os.path.join(HERE, "worker.py")
DEBIAN_PYTHON = "/usr/bin/python3"
MiB = 1 << 20

WORKLOADS = [
    # name, title, fio arguments (the closest fio job)
    ("seq_write_4m", "4 MiB sequential write, qd1", ["--rw=write", "--bs=4m", "--iodepth=1"]),
    ("seq_read_4m", "4 MiB sequential read, qd1", ["--rw=read", "--bs=4m", "--iodepth=1"]),
    ("rand_write_4k", "4 KiB random write, qd1", ["--rw=randwrite", "--bs=4k", "--iodepth=1"]),
    ("rand_read_4k", "4 KiB random read, qd1", ["--rw=randread", "--bs=4k", "--iodepth=1"]),
    ("rand_write_4k_qd32", "4 KiB random write, qd32 (aio)", ["--rw=randwrite", "--bs=4k", "--iodepth=32"]),
    ("rand_read_4k_qd32", "4 KiB random read, qd32 (aio)", ["--rw=randread", "--bs=4k", "--iodepth=32"]),
    ("rand_write_4k_qd32_asyncio", "4 KiB random write, qd32 (asyncio; python3-rbd has none)",
     ["--rw=randwrite", "--bs=4k", "--iodepth=32"]),
    ("rand_read_4k_qd32_asyncio", "4 KiB random read, qd32 (asyncio; python3-rbd has none)",
     ["--rw=randread", "--bs=4k", "--iodepth=32"]),
    ("readinto_4m", "4 MiB reads into a reused buffer (ours: readinto; python3-rbd: read)",
     ["--rw=read", "--bs=4m", "--iodepth=1"]),
    ("threads8_read_4k", "8 threads, 4 KiB sync random reads, one image",
     ["--rw=randread", "--bs=4k", "--iodepth=1", "--numjobs=8", "--group_reporting", "--thread"]),
]
PEERS = ("ours", "python3-rbd", "fio")
# --baseline PYTHON adds a fourth peer: this project's module of another build (e.g. the one before a change),
# imported by that interpreter (a venv's python); its CPU per operation is compared with ours per round.
BASELINE = None


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def conf_with_cache(conf, cache, directory):
    """A copy of `conf` that fixes `rbd cache` for every client (fio reads only the conf file)."""
    path = os.path.join(directory, "ceph-bench-cache-%s.conf" % ("on" if cache else "off"))
    with open(conf) as src, open(path, "w") as dst:
        text = src.read()
        conf_dir = os.path.dirname(os.path.abspath(conf))
        dst.write(text.replace("$conf_dir", conf_dir))
        dst.write("\n[client]\n\trbd cache = %s\n" % ("true" if cache else "false"))
    return path


def python_worker(peer, conf, pool, image, workload, seconds, cache):
    env = dict(os.environ, CEPH_CONF=conf)
    if peer == "ours":
        python = sys.executable
        env["PYTHONPATH"] = ROOT
    elif peer == "baseline":
        python = BASELINE
        env.pop("PYTHONPATH", None)
    else:
        python = DEBIAN_PYTHON
        env.pop("PYTHONPATH", None)
    command = [python, WORKER, "--conf", conf, "--pool", pool, "--image", image, "--workload", workload,
               "--seconds", str(seconds), "--cache", "true" if cache else "false"]
    out = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         timeout=seconds * 10 + 120)
    if out.returncode != 0:
        raise RuntimeError("%s worker failed for %s:\n%s" % (peer, workload, out.stderr[-3000:]))
    result = json.loads(out.stdout.strip().splitlines()[-1])
    expected = {"python3-rbd": "/usr/lib/python3/", "ours": ROOT}.get(peer)
    if peer == "baseline":
        expected = os.path.dirname(os.path.dirname(BASELINE))   # the baseline venv
    if not result["module"].startswith(expected):
        raise RuntimeError("%s worker imported %s" % (peer, result["module"]))
    if "skipped" in result:
        return None
    return {"iops": result["ops"] / result["wall"], "mbps": result["bytes"] / result["wall"] / 1e6,
            "cpu_us_per_op": result["cpu"] / max(result["ops"], 1) * 1e6}


def fio_worker(conf, pool, image, fio_args, seconds):
    env = dict(os.environ, CEPH_CONF=conf)
    command = ["fio", "--name=bench", "--ioengine=rbd", "--clientname=admin", "--pool=" + pool,
               "--rbdname=" + image, "--time_based", "--runtime=%g" % seconds, "--output-format=json",
               "--invalidate=0"] + fio_args
    out = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         timeout=seconds * 10 + 120)
    if out.returncode != 0:
        raise RuntimeError("fio failed: %s\n%s" % (" ".join(command), out.stderr[-3000:]))
    text = out.stdout[out.stdout.index("{"):]
    job = json.loads(text)["jobs"][0]
    side = job["write"] if job["write"]["io_bytes"] > job["read"]["io_bytes"] else job["read"]
    return {"iops": side["iops"], "mbps": side["bw_bytes"] / 1e6, "cpu_us_per_op": None}


def prefill(conf, pool, image, size):
    """Create the pool and the image, and write it full (so reads hit real data)."""
    sys.path.insert(0, ROOT)
    import rados
    import rbd
    if not rbd.__file__.startswith(ROOT):
        raise SystemExit("this project's module is not built in %s (run setup.py build_ext --inplace)" % ROOT)
    cluster = rados.Rados(conffile=conf)
    cluster.connect()
    cluster.create_pool(pool)
    with cluster.open_ioctx(pool) as ioctx:
        ioctx.application_enable("rbd")
        rbd.RBD().create(ioctx, image, size)
        block = os.urandom(MiB) * 4
        with rbd.Image(ioctx, image) as handle:
            for offset in range(0, size, len(block)):
                handle.write(block[:size - offset], offset)
            handle.flush()
    return cluster


def median_of(rows, key):
    values = [r[key] for r in rows if r is not None and r.get(key) is not None]
    return statistics.median(values) if values else None


def fmt(value, pattern="%.0f"):
    return "n/a" if value is None else pattern % value


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def round_ratios(rounds, peer):
    """'min–max (median)' of ours/peer IOPS over the rounds where both ran."""
    values = sorted(a["iops"] / b["iops"] for a, b in zip(rounds["ours"], rounds[peer]) if a and b and b["iops"])
    if not values:
        return "n/a"
    return "%.2f–%.2f (median %.2f)" % (values[0], values[-1], statistics.median(values))


def iops_range(rows):
    values = [r["iops"] for r in rows if r]
    return "%.0f–%.0f" % (min(values), max(values)) if values else "n/a"


def table(results, cache, args, size):
    lines = [
        "# rbd benchmark: rbd cache %s" % ("on" if cache else "off"), "",
        "Image %d MiB (prefilled), %d rounds of %g s per workload and peer, peers interleaved; medians. "
        "CPU/op: user+system CPU of the client process per operation (Python peers). "
        "Ratios > 1 mean ours does more IOPS, or uses more CPU per operation. Offsets are computed before the "
        "timed loop (as fio does). qd32 (aio): 32 operations in flight, each oncomplete submits the next one; "
        "qd32 (asyncio): 32 tasks each awaiting one operation at a time (opening the AsyncImage is not timed, as "
        "fio's open is not). The Python workers flush once before timing (librbd's cache is write-through until "
        "the first flush; fio's runs write-back) and once after (not timed, as fio does not time it)."
        % (size // MiB, args.repeat, args.seconds), "",
        "| workload | ours IOPS | python3-rbd IOPS | fio IOPS | ours MB/s | python3-rbd MB/s | fio MB/s "
        "| ours CPU µs/op | python3-rbd CPU µs/op | IOPS ours/python3-rbd | IOPS ours/fio "
        "| CPU/op ours/python3-rbd |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, title, _ in WORKLOADS:
        m = {peer: {k: median_of(results[name][peer], k) for k in ("iops", "mbps", "cpu_us_per_op")}
             for peer in PEERS}
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            title, fmt(m["ours"]["iops"]), fmt(m["python3-rbd"]["iops"]), fmt(m["fio"]["iops"]),
            fmt(m["ours"]["mbps"], "%.1f"), fmt(m["python3-rbd"]["mbps"], "%.1f"), fmt(m["fio"]["mbps"], "%.1f"),
            fmt(m["ours"]["cpu_us_per_op"], "%.1f"), fmt(m["python3-rbd"]["cpu_us_per_op"], "%.1f"),
            fmt(ratio(m["ours"]["iops"], m["python3-rbd"]["iops"]), "%.2f"),
            fmt(ratio(m["ours"]["iops"], m["fio"]["iops"]), "%.2f"),
            fmt(ratio(m["ours"]["cpu_us_per_op"], m["python3-rbd"]["cpu_us_per_op"]), "%.2f")))
    lines += ["", "Spread: the IOPS ratios of each round (the peers of a round ran back to back, so a round's ratio "
              "is paired), lowest and highest, and the peers' own IOPS range across rounds.", "",
              "| workload | ours/python3-rbd per round | ours/fio per round | ours IOPS range | python3-rbd IOPS range "
              "| fio IOPS range |", "|---|---|---|---|---|---|"]
    for name, title, _ in WORKLOADS:
        rounds = results[name]
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            title, round_ratios(rounds, "python3-rbd"), round_ratios(rounds, "fio"),
            iops_range(rounds["ours"]), iops_range(rounds["python3-rbd"]), iops_range(rounds["fio"])))
    skipped = [title for name, title, _ in WORKLOADS if not any(results[name]["ours"])]
    if skipped:
        lines += ["", "n/a for ours: not available in this build (%s)." % "; ".join(skipped)]
    return "\n".join(lines) + "\n"


def chart(results, cache, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: no chart (pip install matplotlib)")
        return None
    names = [name for name, _, _ in WORKLOADS]
    fig, ax = plt.subplots(figsize=(12, 5))
    width = 0.27
    for i, peer in enumerate(PEERS):
        values = [median_of(results[n][peer], "iops") or 0 for n in names]
        ax.bar([x + (i - 1) * width for x in range(len(names))], values, width, label=peer)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=20, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("IOPS (median, log scale)")
    ax.set_title("rbd cache %s" % ("on" if cache else "off"))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run_all(conf, pool, image, cache, args, size, workdir):
    cconf = conf_with_cache(conf, cache, workdir)
    results = {name: {peer: [] for peer in PEERS} for name, _, _ in WORKLOADS}
    for name, title, fio_args in WORKLOADS:
        for round_ in range(args.repeat):
            # Rotate who goes first each round, so that no peer always runs right after another workload.
            for peer in PEERS[round_ % len(PEERS):] + PEERS[:round_ % len(PEERS)]:
                if peer == "fio":
                    row = fio_worker(cconf, pool, image, fio_args, args.seconds)
                else:
                    row = python_worker(peer, cconf, pool, image, name, args.seconds, cache)
                results[name][peer].append(row)
                log("cache=%s %-20s round %d %-12s %s" % ("on" if cache else "off", name, round_ + 1, peer,
                                                          "skipped" if row is None else "%.0f IOPS" % row["iops"]))
    return results


def baseline_cpu_table(results):
    """CPU per operation, ours / the baseline build, per round (peers of a round ran back to back)."""
    lines = ["", "CPU per operation, ours / baseline (%s), per round: lowest–highest (median)." % BASELINE, "",
             "| workload | ours CPU µs/op | baseline CPU µs/op | CPU/op ours/baseline per round |", "|---|---|---|---|"]
    for name, title, _ in WORKLOADS:
        pairs = sorted(a["cpu_us_per_op"] / b["cpu_us_per_op"] for a, b in
                       zip(results[name]["ours"], results[name]["baseline"]) if a and b and b["cpu_us_per_op"])
        spread = "%.3f–%.3f (%.3f)" % (pairs[0], pairs[-1], statistics.median(pairs)) if pairs else "n/a"
        lines.append("| %s | %s | %s | %s |" % (title, fmt(median_of(results[name]["ours"], "cpu_us_per_op"), "%.1f"),
                                                 fmt(median_of(results[name]["baseline"], "cpu_us_per_op"), "%.1f"),
                                                 spread))
    return "\n".join(lines) + "\n"


def main():
    global WORKLOADS, PEERS, BASELINE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conf", help="use this running cluster instead of starting one")
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--cache", nargs="?", const="both", default="off", choices=("off", "on", "both"),
                        help="rbd cache off (default), on, or both (two tables); --cache alone means both")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--workloads", help="comma-separated subset of: " + ", ".join(w[0] for w in WORKLOADS))
    parser.add_argument("--baseline", metavar="PYTHON",
                        help="also run this project's module of another build, imported by PYTHON (a venv's "
                             "python), and report CPU per operation ours/baseline")
    args = parser.parse_args()
    if args.baseline:
        BASELINE = os.path.abspath(args.baseline)
        PEERS = PEERS + ("baseline",)
    if args.workloads:
        chosen = args.workloads.split(",")
        unknown = set(chosen) - {w[0] for w in WORKLOADS}
        if unknown:
            raise SystemExit("unknown workloads: %s" % ", ".join(sorted(unknown)))
        WORKLOADS = [w for w in WORKLOADS if w[0] in chosen]
    for tool in ("fio", DEBIAN_PYTHON):
        if not shutil.which(tool):
            raise SystemExit("%s is required" % tool)
    size = args.size_mib * MiB
    workdir = tempfile.mkdtemp(prefix="rbd-bench-")
    cluster_dir = None
    conf = args.conf
    if conf is None:
        cluster_dir = os.path.join(workdir, "cluster")
        started = subprocess.run([os.path.join(ROOT, "ci", "cluster.sh"), "start", cluster_dir],
                                 stdout=subprocess.PIPE, text=True, check=True)
        conf = started.stdout.strip().splitlines()[-1]
    conf = os.path.abspath(conf)
    pool = "bench-" + uuid.uuid4().hex[:8]
    image = "bench-image"
    cluster = None
    os.makedirs(args.out, exist_ok=True)
    try:
        start = time.time()
        cluster = prefill(conf, pool, image, size)
        log("prefilled %d MiB in %.1f s" % (args.size_mib, time.time() - start))
        for cache in {"off": [False], "on": [True], "both": [False, True]}[args.cache]:
            results = run_all(conf, pool, image, cache, args, size, workdir)
            stem = os.path.join(args.out, "results-cache-%s" % ("on" if cache else "off"))
            text = table(results, cache, args, size)
            if BASELINE:
                text += baseline_cpu_table(results)
            with open(stem + ".md", "w") as f:
                f.write(text)
            with open(stem + ".json", "w") as f:
                json.dump(results, f, indent=1)
            chart(results, cache, stem + ".png")
            print(text)
        log("total %.0f s" % (time.time() - start))
    finally:
        if cluster is not None:
            try:
                cluster.delete_pool(pool)
            finally:
                cluster.shutdown()
        if cluster_dir is not None:
            subprocess.run([os.path.join(ROOT, "ci", "cluster.sh"), "stop", cluster_dir])
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
