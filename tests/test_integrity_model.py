"""Data integrity against a model: random sequences of image operations, every read compared with bytearrays.

A hypothesis state machine applies writes, discards, write_zeroes, resizes (grow and shrink), snapshot create /
rollback / remove / protect / unprotect, clones (v2, and protect + v1) of snapshots, and flattens to a few small
images (1-4 MiB, 1 MiB objects); the model keeps one bytearray per image head and one bytes per snapshot. After
every step the head of the image it used (or created) is read in full and compared; a rule reads every head and
every snapshot (opening the image at the snapshot read-only), and the end of each run reads every head and, through
`set_snap`, every snapshot again.

The model of librbd's semantics (checked empirically against 16.2.15):
- a clone reads its parent snapshot's data up to the overlap, which starts as the snapshot's size: the model copies
  the snapshot's bytes into the clone at clone time; writes to the parent head never show in the clone;
- shrinking a clone lowers its overlap, so growing it again reads zeros beyond the shrink point (plain bytearray
  truncation and extension);
- discard and write_zeroes read back as zeros over exactly the requested range, in clones too. librbd's default
  `rbd_skip_partial_discard = true` skips discards of partial 64 KiB-granularity extents (the data stays), so this
  module's client sets it to false, where every discarded byte reads as zero;
- a snapshot's data never changes (not by writes, resizes, rollbacks, flattens, nor removal of its parent's
  snapshot, which a v2 clone keeps in the trash namespace); rollback makes the head equal to the snapshot, size
  included; flatten changes no data.
"""
import random

import pytest
import rados
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, \
    run_state_machine_as_test

import rbd
from conftest import MiB, remove_image, requires_features, suite_features, unique_name

ORDER = 20  # 1 MiB objects
MAX_SIZE = 4 * MiB
MAX_IMAGES = 4
MAX_SNAPS = 3

TOTALS = {"runs": 0, "steps": 0, "head_reads": 0, "snap_reads": 0, "range_reads": 0, "bytes_compared": 0, "ops": {}}

sizes = st.one_of(st.sampled_from([MiB, 2 * MiB, 3 * MiB, 4 * MiB]), st.integers(64 * 1024, MAX_SIZE))
# Offsets near object boundaries are the interesting ones: pick a boundary and a small shift, or anywhere.
positions = st.one_of(st.tuples(st.integers(0, 4), st.integers(-4096, 4096)).map(lambda t: t[0] * MiB + t[1]),
                      st.integers(0, MAX_SIZE))
lengths = st.one_of(st.integers(1, 8192), st.integers(1, 256 * 1024), st.sampled_from([MiB, 2 * MiB]))
picks = st.integers(0, 1 << 16)


def count(op):
    TOTALS["ops"][op] = TOTALS["ops"].get(op, 0) + 1


def clamp_extent(size, offset, length):
    offset = max(0, min(offset, size - 1))
    return offset, max(1, min(length, size - offset))


class Img:
    def __init__(self, name, handle, data, parent=None):
        self.name = name
        self.handle = handle
        self.data = data                # the head's bytes
        self.snaps = {}                 # snapshot name -> bytes (in creation order)
        self.protected = set()
        self.v1_children = {}           # snapshot name -> number of v1 clones ever made of it
        self.parent = parent            # (Img, snapshot name, clone format) while a clone, None after flatten
        self.touched = True             # used by the last step: checked by the invariant


class IntegrityMachine(RuleBasedStateMachine):
    ioctx = None  # set by the test

    def __init__(self):
        super().__init__()
        self.images = []
        self.counter = 0
        self.steps_since_check = 0
        TOTALS["runs"] += 1

    # -- helpers ---------------------------------------------------------------------------------------------
    def new_name(self, kind):
        self.counter += 1
        return "%s-%d-%s" % (kind, self.counter, unique_name("m"))

    def pick(self, index, where=None):
        candidates = [i for i in self.images if where is None or where(i)]
        chosen = candidates[index % len(candidates)]
        chosen.touched = True
        return chosen

    def check_head(self, img):
        assert img.handle.size() == len(img.data), img.name
        got = img.handle.read(0, len(img.data))
        TOTALS["head_reads"] += 1
        TOTALS["bytes_compared"] += len(got)
        assert got == bytes(img.data), "head of %s differs from the model at %s" % (img.name,
                                                                                     first_difference(got, img.data))

    def check_snap_by_open(self, img, snap):
        with rbd.Image(self.ioctx, img.name, snapshot=snap, read_only=True) as view:
            expected = img.snaps[snap]
            assert view.size() == len(expected)
            got = view.read(0, len(expected))
        TOTALS["snap_reads"] += 1
        TOTALS["bytes_compared"] += len(got)
        assert got == expected, "snapshot %s@%s differs at %s" % (img.name, snap, first_difference(got, expected))

    # -- rules -----------------------------------------------------------------------------------------------
    @initialize(size=sizes)
    def create_first(self, size):
        name = self.new_name("base")
        rbd.RBD().create(self.ioctx, name, size, order=ORDER)
        self.images.append(Img(name, rbd.Image(self.ioctx, name), bytearray(size)))

    @initialize(size=sizes)
    def create_second(self, size):
        self.create_first(size)

    @rule(which=picks, offset=positions, length=lengths, seed=st.integers(0, 255))
    def write(self, which, offset, length, seed):
        count("write")
        img = self.pick(which)
        offset, length = clamp_extent(len(img.data), offset, length)
        payload = random.Random(seed).randbytes(length)
        assert img.handle.write(payload, offset) == length
        img.data[offset:offset + length] = payload

    @rule(which=picks, offset=positions, length=lengths)
    def discard(self, which, offset, length):
        count("discard")
        img = self.pick(which)
        offset, length = clamp_extent(len(img.data), offset, length)
        img.handle.discard(offset, length)
        img.data[offset:offset + length] = bytes(length)

    @rule(which=picks, offset=positions, length=lengths)
    def write_zeroes(self, which, offset, length):
        count("write_zeroes")
        img = self.pick(which)
        offset, length = clamp_extent(len(img.data), offset, length)
        img.handle.write_zeroes(offset, length)
        img.data[offset:offset + length] = bytes(length)

    @rule(which=picks, size=sizes)
    def resize(self, which, size):
        count("resize")
        img = self.pick(which)
        img.handle.resize(size)
        if size < len(img.data):
            del img.data[size:]
        else:
            img.data.extend(bytes(size - len(img.data)))

    @rule(which=picks, offset=positions, length=lengths)
    def read_range(self, which, offset, length):
        count("read_range")
        img = self.pick(which)
        offset, length = clamp_extent(len(img.data), offset, length)
        got = img.handle.read(offset, length)
        TOTALS["range_reads"] += 1
        TOTALS["bytes_compared"] += len(got)
        assert got == bytes(img.data[offset:offset + length])

    @precondition(lambda self: any(len(i.snaps) < MAX_SNAPS for i in self.images))
    @rule(which=picks)
    def snap_create(self, which):
        count("snap_create")
        img = self.pick(which, lambda i: len(i.snaps) < MAX_SNAPS)
        snap = self.new_name("snap")
        img.handle.create_snap(snap)
        img.snaps[snap] = bytes(img.data)

    @precondition(lambda self: any(i.snaps for i in self.images))
    @rule(which=picks, index=picks)
    def snap_rollback(self, which, index):
        count("snap_rollback")
        img = self.pick(which, lambda i: i.snaps)
        snap = list(img.snaps)[index % len(img.snaps)]
        img.handle.rollback_to_snap(snap)
        img.data = bytearray(img.snaps[snap])

    @precondition(lambda self: any(i.snaps for i in self.images))
    @rule(which=picks, index=picks)
    def snap_remove(self, which, index):
        count("snap_remove")
        img = self.pick(which, lambda i: i.snaps)
        snap = list(img.snaps)[index % len(img.snaps)]
        if snap in img.protected:
            with pytest.raises(rbd.ImageBusy):
                img.handle.remove_snap(snap)
            if not self.unprotect(img, snap):
                return
        img.handle.remove_snap(snap)
        del img.snaps[snap]
        assert snap not in [s["name"] for s in img.handle.list_snaps()]

    def unprotect(self, img, snap):
        """Unprotect; librbd refuses while v1 clones (or their snapshots) still use it: only then may it fail."""
        try:
            img.handle.unprotect_snap(snap)
        except rbd.ImageBusy:
            assert img.v1_children.get(snap), "unprotect of %s@%s refused without v1 clones" % (img.name, snap)
            return False
        img.protected.discard(snap)
        assert not img.handle.is_protected_snap(snap)
        return True

    @precondition(lambda self: any(i.protected for i in self.images))
    @rule(which=picks, index=picks)
    def snap_unprotect(self, which, index):
        count("snap_unprotect")
        img = self.pick(which, lambda i: i.protected)
        self.unprotect(img, sorted(img.protected)[index % len(img.protected)])

    @precondition(lambda self: len(self.images) < MAX_IMAGES and any(i.snaps for i in self.images))
    @rule(which=picks, index=picks, v1=st.booleans())
    def clone(self, which, index, v1):
        count("clone")
        img = self.pick(which, lambda i: i.snaps)
        snap = list(img.snaps)[index % len(img.snaps)]
        name = self.new_name("clone")
        if v1:
            if snap not in img.protected:
                img.handle.protect_snap(snap)
                img.protected.add(snap)
            assert img.handle.is_protected_snap(snap)
            rbd.RBD().clone(self.ioctx, img.name, snap, self.ioctx, name, order=ORDER, clone_format=1)
            img.v1_children[snap] = img.v1_children.get(snap, 0) + 1
        else:
            rbd.RBD().clone(self.ioctx, img.name, snap, self.ioctx, name, order=ORDER, clone_format=2)
        child = Img(name, rbd.Image(self.ioctx, name), bytearray(img.snaps[snap]), parent=(img, snap, 1 if v1 else 2))
        self.images.append(child)
        assert child.handle.parent_info()[1:] == (img.name, snap)
        assert child.handle.overlap() == len(child.data)

    @precondition(lambda self: any(i.parent is not None for i in self.images))
    @rule(which=picks)
    def flatten(self, which):
        count("flatten")
        img = self.pick(which, lambda i: i.parent is not None)
        img.handle.flatten()
        img.parent = None
        with pytest.raises(rbd.ImageNotFound):
            img.handle.parent_info()

    @precondition(lambda self: self.steps_since_check >= 8)
    @rule()
    def check_everything(self):
        """Every head (not only the last one touched) and every snapshot."""
        count("check_everything")
        self.steps_since_check = 0
        for img in self.images:
            self.check_head(img)
            if img.parent is None:
                with pytest.raises(rbd.InvalidArgument):  # not a clone: nothing to flatten
                    img.handle.flatten()
            for snap in img.snaps:
                self.check_snap_by_open(img, snap)

    @invariant()
    def touched_head_matches(self):
        """The head of the image the last step used reads as the model (all heads: see check_everything)."""
        TOTALS["steps"] += 1
        self.steps_since_check += 1
        for img in self.images:
            if img.touched:
                self.check_head(img)
                img.touched = False

    def teardown(self):
        try:
            for img in self.images:
                self.check_head(img)
                for snap, expected in img.snaps.items():
                    img.handle.set_snap(snap)
                    assert img.handle.read(0, len(expected)) == expected
                    TOTALS["snap_reads"] += 1
                    TOTALS["bytes_compared"] += len(expected)
                img.handle.set_snap(None)
        finally:
            for img in reversed(self.images):
                img.handle.close()
            for img in reversed(self.images):  # clones before their parents
                remove_image(self.ioctx, img.name)


def first_difference(got, expected):
    for i, (a, b) in enumerate(zip(got, expected)):
        if a != b:
            return "offset %d (got %r, expected %r)" % (i, got[i:i + 8], bytes(expected[i:i + 8]))
    return "length (got %d, expected %d)" % (len(got), len(expected))


@pytest.fixture(scope="module")
def model_ioctx(ceph_conf, pool):
    """A client of its own with `rbd_skip_partial_discard = false`, so that every discarded byte reads as zero."""
    cluster = rados.Rados(conffile=ceph_conf)
    cluster.conf_set("client_mount_timeout", "60")
    cluster.conf_set("rbd_skip_partial_discard", "false")
    if suite_features() is not None:
        cluster.conf_set("rbd_default_features", str(suite_features()))
    cluster.connect()
    ioctx = cluster.open_ioctx(pool)
    yield ioctx
    ioctx.close()
    cluster.shutdown()


@requires_features(rbd.RBD_FEATURE_LAYERING)
def test_integrity_against_model(model_ioctx):
    IntegrityMachine.ioctx = model_ioctx
    TOTALS.update(dict.fromkeys(TOTALS, 0), ops={})
    run_state_machine_as_test(IntegrityMachine, settings=settings(
        max_examples=25, stateful_step_count=40, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck)))
    print("integrity model: %(runs)d runs, %(steps)d steps, %(head_reads)d head reads, %(snap_reads)d snapshot "
          "reads, %(range_reads)d range reads, %(bytes_compared)d bytes compared" % TOTALS)
    print("integrity model: rules applied: %s" % ", ".join("%s=%d" % kv for kv in sorted(TOTALS["ops"].items())))
    assert TOTALS["steps"] > 0 and TOTALS["head_reads"] > 0 and TOTALS["snap_reads"] > 0
