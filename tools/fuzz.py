#!/usr/bin/env python3
"""A longer run of the fuzzer (tests/fuzz_driver.py) than CI's: a range of seeds, or as many seeds as fit in a
duration; prints the calls made, the methods covered with valid and with invalid arguments, and every crash,
hang or unexpected exception with its seed and a minimal reproducer; writes a JSON summary.

usage: .venv/bin/python tools/fuzz.py [--conf CEPH_CONF] [--seeds 1-50 | --seeds 3,7] [--duration SECONDS]
                                      [--steps 400] [--minimize SECONDS] [--json FILE] [--repro-dir DIR]

--seeds A-B runs those seeds (all of them); with --duration it stops starting new seeds when the time is up.
--duration alone runs seeds 1, 2, 3, ... until the time is up. Each seed runs in a child process on a fresh pool
(see tests/fuzz_driver.py). Run it with the venv's python from the repository root: the module under test is the
installed one. Exit status 1 if any seed failed.
"""
import argparse
import collections
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.join(ROOT, "src")]

import rados  # noqa: E402

import fuzz_driver as fd  # noqa: E402
import rbd  # noqa: E402


def parse_seeds(text):
    out = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conf", default=os.environ.get("CEPH_CONF"))
    ap.add_argument("--seeds", default=None)
    ap.add_argument("--duration", type=float, default=None)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--minimize", type=float, default=120.0, help="seconds per failure (0: do not minimise)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--repro-dir", default=None, help="write each reproducer to DIR/seed-N.py")
    args = ap.parse_args()
    if not args.conf:
        ap.error("--conf or $CEPH_CONF is needed (a cluster to run against)")
    if rbd.__file__.startswith("/usr/lib/python3/"):
        sys.exit("fuzz.py imported Debian's python3-rbd: run it with the venv's python")
    if args.seeds:
        seeds = parse_seeds(args.seeds)
    elif args.duration:
        seeds = None
    else:
        seeds = list(range(1, 11))
    surface = fd.discover(rbd)
    all_labels = fd.labels(surface)
    cluster = rados.Rados(conffile=args.conf)
    cluster.connect()
    t0 = time.monotonic()
    totals = collections.Counter()
    valid, invalid = collections.Counter(), collections.Counter()
    failures, runs = [], []
    seed = 0
    while True:
        if seeds is not None:
            if not seeds:
                break
            seed = seeds.pop(0)
        else:
            seed += 1
        if args.duration and time.monotonic() - t0 > args.duration:
            break
        program = fd.generate(seed, surface, args.steps)
        result = fd.run_program(program, args.conf, cluster)
        s = result.summary or {}
        totals["calls"] += s.get("calls", 0)
        for k, v in (s.get("counts") or {}).items():
            totals[k] += v
        for label, entry in (s.get("labels") or {}).items():
            valid[label] += entry["valid"]
            invalid[label] += entry["invalid"]
        runs.append({"seed": seed, "status": result.status, "calls": s.get("calls"), "seconds": round(result.seconds, 1)})
        print("seed %d: %s, %s calls, %.1f s%s" % (seed, result.status, s.get("calls", "?"), result.seconds,
                                                   "" if result.status == "ok" else
                                                   " - step %s %s: %s" % (result.step, result.label, result.detail)),
              flush=True)
        if result.status == fd.LIBRADOS_ABORT:
            totals["librados_aborts"] += 1   # librados' shutdown race, not the binding's (fuzz_driver.py)
        elif result.status != "ok":
            minimal, trials, finished = program, 0, False
            if args.minimize > 0:
                minimal, trials, finished = fd.minimize(program, result, args.conf, cluster, budget=args.minimize,
                                                        log=lambda m: print(m, flush=True))
            script = fd.reproducer(minimal, result.step, conf=args.conf)
            failures.append({"seed": seed, "status": result.status, "step": result.step, "label": result.label,
                             "detail": result.detail, "steps_in_reproducer": len(minimal),
                             "minimised": finished, "trials": trials, "stderr_tail": result.stderr[-3000:],
                             "reproducer": script})
            print("---- seed %d reproducer (%d steps%s) ----\n%s---- end ----" % (
                seed, len(minimal), "" if finished else ", minimisation stopped by its budget", script), flush=True)
            if args.repro_dir:
                os.makedirs(args.repro_dir, exist_ok=True)
                with open(os.path.join(args.repro_dir, "seed-%d.py" % seed), "w") as f:
                    f.write(script)
    elapsed = time.monotonic() - t0
    cov_valid = sorted(l for l in all_labels if valid[l])
    cov_invalid = sorted(l for l in all_labels if invalid[l])
    never = sorted(l for l in all_labels if not valid[l] and not invalid[l])
    summary = {
        "release": rbd.RBD().version(), "python": sys.version.split()[0], "seeds": [r["seed"] for r in runs],
        "steps_per_seed": args.steps, "seconds": round(elapsed, 1), "calls": totals["calls"],
        "skipped_steps": totals["skipped"], "avoided": totals["avoided"], "allowed": totals["allowed"],
        "librados_aborts": totals["librados_aborts"],
        "labels": len(all_labels), "covered_valid": len(cov_valid), "covered_invalid": len(cov_invalid),
        "never_called": never, "only_valid": sorted(set(cov_valid) - set(cov_invalid)),
        "only_invalid": sorted(set(cov_invalid) - set(cov_valid)),
        "runs": runs, "failures": failures,
    }
    print("\n%d seeds, %d calls, %.0f s; %d labels: %d called with valid arguments, %d with invalid ones, %d never"
          % (len(runs), totals["calls"], elapsed, len(all_labels), len(cov_valid), len(cov_invalid), len(never)))
    if never:
        print("never called:", ", ".join(never))
    print("failures: %s" % (", ".join("seed %d (%s at %s)" % (f["seed"], f["status"], f["label"]) for f in failures)
                            or "none"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
    cluster.shutdown()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
