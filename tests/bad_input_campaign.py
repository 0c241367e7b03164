"""The bad-input campaign: every public method of RBD, Image, Group, Completion and the iterators, called with
generated wrong types, negative and huge integers, embedded NULs, non-UTF-8 bytes, very long names and None.

Each call must either succeed or raise one of the documented exception classes below. Run as a child process by
tests/test_bad_input.py (so a segfault or an abort fails the test instead of killing the run) with a watchdog
(so a hang fails it too). Prints one JSON line: {"calls": N, "by_outcome": {...}}.

usage: python bad_input_campaign.py CONF POOL SECONDS SEED
"""
import collections
import faulthandler
import inspect
import io
import json
import os
import random
import sys
import threading
import time

import rados

import rbd

CONF, POOL, SECONDS, SEED = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
CALL_DEADLINE = 30.0  # seconds one call may take before the watchdog declares a hang
TRACE = bool(os.environ.get("RBD_CAMPAIGN_TRACE"))  # print each call (with its index) before making it
# To minimise a failing run: a file of call indices (one per line); the other calls are generated (so the random
# sequence stays the same) but not made.
ONLY = os.environ.get("RBD_CAMPAIGN_ONLY")


class CallbackRaised(Exception):
    """Raised by the campaign's own failing callback. diff_iterate re-raises its callback's exception from the call,
    so getting it back is documented; a progress callback's is reported through sys.unraisablehook instead
    (upstream's contract, docs/compatibility.md), which main() counts."""


def raising_callback(*args):
    raise CallbackRaised("raised by the campaign's callback")


DOCUMENTED = (rbd.Error, TypeError, ValueError, OverflowError, KeyError, MemoryError, UnicodeError,
              io.UnsupportedOperation, CallbackRaised)

BAD_VALUES = [
    None, -1, -2**31, -2**63, 2**63, 2**64, 2**64 + 1, 2**200, 0, 1, 3.5, float("nan"), True,
    "", "x" * 5000, "a\0b", "é", b"", b"\xff\xfe", b"a\0b", b"x" * 5000, bytearray(b"abc"),
    memoryview(b"abcdef")[::2], [], [1, 2], {}, {"k": "v"}, {1: 2}, (), object(), lambda *a: 0,
    raising_callback, lambda *a: -1, lambda *a: None, rbd.Image, sys.maxsize,
]

# Calls that are bad input's legitimate victims but would make the campaign itself slow or non-local: they are
# exercised by their own tests. (resize can make the image huge, and a thick write_zeroes over it then runs for
# hours; the site name is cluster-wide.)
SKIP = {"resize", "mirror_site_name_set", "wait_for_complete_and_cb", "__init__", "__enter__", "__exit__",
        "__iter__", "__repr__", "__dealloc__"}


class World:
    """The objects the campaign calls methods on, rebuilt whenever a call destroyed one of them."""

    def __init__(self):
        self.cluster = rados.Rados(conffile=CONF)
        self.cluster.connect()
        self.ioctx = self.cluster.open_ioctx(POOL)
        self.rbd = rbd.RBD()
        self.name = "campaign"
        self.image = None
        self.group = None
        self.completion = None

    def ensure(self):
        # Create-and-ignore-"exists" rather than looking the names up in list()/group_list(): the campaign creates
        # images and groups with non-UTF-8 names, which those (like upstream's) refuse to decode.
        try:
            self.rbd.create(self.ioctx, self.name, 1 << 20)
        except rbd.ImageExists:
            pass
        if self.image is None or self.image.closed_flag():
            self.image = Handle(rbd.Image(self.ioctx, self.name))
        if hasattr(rbd, "Group"):
            try:
                self.rbd.group_create(self.ioctx, "campaign-group")
            except rbd.ObjectExists:
                pass
            self.group = rbd.Group(self.ioctx, "campaign-group")

    def good_value(self, param):
        name = param.name
        if "ioctx" in name:
            return self.ioctx
        if name == "rados":
            return self.cluster
        if name in ("oncomplete", "on_progress", "iterate_cb"):
            return lambda *args: 0
        if name in ("name", "image_name", "p_name", "src"):
            return self.name
        if name in ("offset",):
            return 0
        if name in ("length", "sparse_size"):
            return 4096
        if name == "data":
            return b"x" * 16
        if param.default is not inspect.Parameter.empty:
            return param.default
        return 0


class Handle:
    """An Image plus a cheap "was it closed?" probe (close() is one of the methods the campaign calls)."""

    def __init__(self, image):
        self.image = image

    def closed_flag(self):
        try:
            self.image.require_not_closed()
            return False
        except rbd.InvalidArgument:
            return True


def targets(world):
    """(label, bound method) for every public method of every object we can reach."""
    found = []

    def add(owner_label, obj):
        for attr in dir(obj):
            if attr.startswith("_") or attr in SKIP:
                continue
            method = getattr(obj, attr, None)
            if callable(method):
                found.append(("%s.%s" % (owner_label, attr), method))

    add("RBD", world.rbd)
    add("Image", world.image.image)
    if world.group is not None:
        add("Group", world.group)
    for cls_name in dir(rbd):
        cls = getattr(rbd, cls_name)
        if isinstance(cls, type) and cls_name.endswith("Iterator"):
            found.append(("%s()" % cls_name, cls))
    if hasattr(world.image.image, "aio_flush"):
        # The target list must not depend on the outcome of earlier calls, or RBD_CAMPAIGN_ONLY replays diverge:
        # when aio_flush is refused (ReadOnlyImage while the campaign holds an advisory lock, see
        # docs/reliability.md) the previous Completion stands in.
        try:
            world.completion = world.image.image.aio_flush(None)
        except rbd.Error:
            pass
        if world.completion is not None:
            add("Completion", world.completion)
    return found


def librbd_abort_state(world, label):
    """True when `label` would lead into a state where librbd itself aborts the process, whatever the binding
    does (docs/reliability.md, "librbd assertions reachable from the API"): a journal-mode mirrored image made
    non-primary. librbd then races its own exclusive-lock attempts (from any write or flush) with mirroring
    changes and asserts (PostAcquireRequest.cc:332, DisableRequest.cc:132, DisabledPolicy.h:24); python3-rbd
    crashes the same way. The campaign avoids exactly that: it does not demote an image mirrored in journal mode."""
    if label != "Image.mirror_image_demote":
        return False
    image = world.image.image
    try:
        return (image.mirror_image_get_info()["state"] == rbd.RBD_MIRROR_IMAGE_ENABLED
                and image.mirror_image_get_mode() == rbd.RBD_MIRROR_IMAGE_MODE_JOURNAL)
    except rbd.Error:
        return True  # cannot tell: stay on the safe side


def librbd_hang_state(world, label):
    """True when `label` would hang inside librbd and the binding does not prevent it yet (docs/reliability.md,
    "Open"): Group.create_snap while the campaign's own handle owns its image's managed exclusive lock hung once
    (seed 2, call 10 629); not root-caused (the simple sequences return at once), so the campaign avoids exactly
    that call in that state. Group snapshots of advisory-locked members are refused by the binding (ImageBusy)."""
    if label != "Group.create_snap":
        return False
    try:
        return world.image.image.is_exclusive_lock_owner()
    except rbd.Error:
        return True  # cannot tell: stay on the safe side


def arguments(rng, world, method):
    try:
        params = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):
        params = []
    params = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    args = []
    for param in params:
        if rng.random() < 0.5:
            args.append(world.good_value(param))
        else:
            args.append(rng.choice(BAD_VALUES))
    if rng.random() < 0.1 and args:
        args.pop()  # too few arguments
    if rng.random() < 0.05:
        args.append(rng.choice(BAD_VALUES))  # too many
    return args


def main():
    faulthandler.enable()
    rng = random.Random(SEED)
    world = World()
    outcomes = collections.Counter()
    current = {"call": None, "since": time.monotonic()}
    recent = collections.deque(maxlen=15)

    def count_callback_reports(report):
        # A progress callback's exception (or a return value that is no int) is reported, not raised: expected
        # for the campaign's own callbacks; anything else unraisable is printed as usual.
        if isinstance(report.exc_value, CallbackRaised) or any(report.object is value for value in BAD_VALUES):
            outcomes["callback reported"] += 1
        else:
            sys.__unraisablehook__(report)

    sys.unraisablehook = count_callback_reports

    def watchdog():
        while True:
            time.sleep(1)
            call, since = current["call"], current["since"]
            if call is not None and time.monotonic() - since > CALL_DEADLINE:
                print("HANG: %s took more than %d s; calls before it:\n  %s" % (
                    call, CALL_DEADLINE, "\n  ".join(recent)), file=sys.stderr, flush=True)
                faulthandler.dump_traceback(all_threads=True)
                os._exit(3)

    threading.Thread(target=watchdog, daemon=True).start()
    deadline = time.monotonic() + SECONDS
    calls = 0
    only = None
    if ONLY:
        with open(ONLY) as f:
            only = {int(line) for line in f if line.strip()}
    index = -1
    while time.monotonic() < deadline if only is None else index < max(only, default=-1):
        index += 1
        world.ensure()
        label, method = rng.choice(targets(world))
        args = arguments(rng, world, method)
        if only is not None and index not in only:
            continue
        if librbd_abort_state(world, label) or librbd_hang_state(world, label):
            outcomes["avoided"] += 1
            continue
        current["call"] = "%s%r" % (label, tuple(args))[:300]
        current["since"] = time.monotonic()
        recent.append(current["call"])
        if TRACE:
            print("CALL", index, current["call"], file=sys.stderr, flush=True)
        try:
            result = method(*args)
            if isinstance(result, collections.abc.Iterator) or hasattr(result, "__iter__") and \
                    type(result).__name__.endswith("Iterator"):
                list(result)
            outcomes["ok"] += 1
            if TRACE:
                print("  -> ok", file=sys.stderr, flush=True)
        except DOCUMENTED as exc:
            outcomes[type(exc).__name__] += 1
            if TRACE:
                print("  -> %s" % type(exc).__name__, file=sys.stderr, flush=True)
        except Exception as exc:
            print("UNDOCUMENTED: %s raised %s: %s" % (current["call"], type(exc).__name__, exc), file=sys.stderr, flush=True)
            os._exit(4)
        finally:
            current["call"] = None
        calls += 1
    print(json.dumps({"calls": calls, "by_outcome": dict(outcomes)}), flush=True)  # os._exit skips the flush
    os._exit(0)  # leave the objects to the OS: interpreter-exit collection is tested elsewhere


if __name__ == "__main__":
    main()
