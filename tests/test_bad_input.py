"""The bad-input campaign (tests/bad_input_campaign.py) in a child process, with a time bound.

A crash (segfault, abort), a hang (the child's watchdog, or our timeout) or an undocumented exception class
fails the test. Each seed runs on a pool of its own (a campaign leaves mirroring modes, namespaces and oddly
named objects behind). The number of calls tried is printed (pytest -s) and recorded in docs/reliability.md.
"""
import json
import os
import subprocess
import sys

import pytest

from conftest import rbd_pool

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad_input_campaign.py")
SECONDS = float(os.environ.get("RBD_CAMPAIGN_SECONDS", "40"))  # in total, shared by the seeds
# Seeds 1-8 each passed at least twice in 20 s runs by hand (8 000-17 000 calls each, depending on the load); the
# hangs seeds 2, 3, 5 and 6 used to reach are prevented by the binding now (docs/reliability.md, "Found and
# fixed"). In CI each gets SECONDS / 8 (about 3 000-4 000 calls).
SEEDS = [1, 2, 3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize("seed", SEEDS)
def test_bad_input_campaign(ceph_conf, cluster, seed, record_property):
    with rbd_pool(cluster, "campaign") as pool:
        result = subprocess.run([sys.executable, "-X", "dev", SCRIPT, ceph_conf, pool, str(SECONDS / len(SEEDS)),
                                 str(seed)], capture_output=True, text=True, timeout=SECONDS + 120)
    assert result.returncode == 0, "exit %d: %s" % (result.returncode, result.stderr[-4000:])
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    record_property("calls", summary["calls"])
    print("\nbad-input campaign seed %d: %d calls, outcomes %s" % (seed, summary["calls"], summary["by_outcome"]))
    assert summary["calls"] > 100
    assert summary["by_outcome"].get("ok", 0) > 0
