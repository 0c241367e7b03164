"""Progress callbacks (`on_progress(offset, total)`): upstream's contract, on every call that takes one.

- An exception raised by the callback is reported through sys.unraisablehook and the operation finishes.
- A non-zero return value cancels it with OperationCanceled, where librbd can cancel.
- A return value that is not an integer (or does not fit a C int) is reported like an exception; None counts as 0.
- Something that is not callable is refused with TypeError before librbd is called.

Each call has a Scenario below: it prepares the state the call needs, runs the call and checks its effect. The
first test fails when a public method grows an `on_progress` parameter without a Scenario here.
(diff_iterate's callback has its own contract, tested in test_diff.py: an exception stops it and propagates.)
"""
import errno
import inspect
import sys

import pytest

import rbd
from conftest import MiB, unique_name

OBJECT_COUNT = 8
FEATURES = rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK | rbd.RBD_FEATURE_OBJECT_MAP


def block(tag):
    return tag * (MiB // len(tag))


def make_image(ioctx, tag=b"A", features=FEATURES):
    """An 8 MiB image of 1 MiB objects, every object written (so that librbd has one step per object)."""
    name = unique_name("progress")
    rbd.RBD().create(ioctx, name, OBJECT_COUNT * MiB, order=20, old_format=False, features=features)
    with rbd.Image(ioctx, name) as image:
        for index in range(OBJECT_COUNT):
            image.write(block(tag), index * MiB)
    return name


def assert_content(ioctx, name, tag):
    with rbd.Image(ioctx, name) as image:
        for index in range(OBJECT_COUNT):
            assert image.read(index * MiB, MiB) == block(tag), "object %d" % index


def migration_state(ioctx, name):
    try:
        return rbd.RBD().migration_status(ioctx, name)["state"]
    except rbd.InvalidArgument:  # not migrating
        return None


class Scenario:
    """prepare() the state, run(on_progress) the call, then assert_done() or assert_canceled()."""
    cancellable = True  # librbd stops for a non-zero return value (OperationCanceled)
    stops_at_first_call = True  # ... and calls the callback no more after that

    def __init__(self, ioctx):
        self.ioctx = ioctx
        self.opened = []

    def open(self, name):
        image = rbd.Image(self.ioctx, name)
        self.opened.append(image)
        return image

    def close(self):
        for image in self.opened:
            image.close()


class Remove(Scenario):
    method = "RBD.remove"

    def prepare(self):
        self.name = make_image(self.ioctx)

    def run(self, on_progress):
        rbd.RBD().remove(self.ioctx, self.name, on_progress=on_progress)

    def assert_done(self):
        assert self.name not in rbd.RBD().list(self.ioctx)

    def assert_canceled(self):
        assert self.name in rbd.RBD().list(self.ioctx)


class TrashRemove(Scenario):
    method = "RBD.trash_remove"

    def prepare(self):
        name = make_image(self.ioctx)
        with rbd.Image(self.ioctx, name) as image:
            self.image_id = image.id()
        rbd.RBD().trash_move(self.ioctx, name)

    def run(self, on_progress):
        rbd.RBD().trash_remove(self.ioctx, self.image_id, on_progress=on_progress)

    def assert_done(self):
        with pytest.raises(rbd.ImageNotFound):
            rbd.RBD().trash_get(self.ioctx, self.image_id)

    def assert_canceled(self):
        assert rbd.RBD().trash_get(self.ioctx, self.image_id)["id"] == self.image_id


class MigrationExecute(Scenario):
    method = "RBD.migration_execute"
    cancellable = False  # librbd copies on whatever the callback returns

    def prepare(self):
        self.source = make_image(self.ioctx)
        with rbd.Image(self.ioctx, self.source) as image:
            self.source_id = image.id()
        self.dest = unique_name("progress-dest")
        rbd.RBD().migration_prepare(self.ioctx, self.source, self.ioctx, self.dest)

    def run(self, on_progress):
        rbd.RBD().migration_execute(self.ioctx, self.dest, on_progress=on_progress)

    def assert_done(self):
        assert migration_state(self.ioctx, self.dest) == rbd.RBD_IMAGE_MIGRATION_STATE_EXECUTED
        assert_content(self.ioctx, self.dest, b"A")

    def assert_canceled(self):
        assert migration_state(self.ioctx, self.dest) != rbd.RBD_IMAGE_MIGRATION_STATE_EXECUTED


class MigrationCommit(MigrationExecute):
    method = "RBD.migration_commit"
    cancellable = True

    def prepare(self):
        super().prepare()
        rbd.RBD().migration_execute(self.ioctx, self.dest)

    def run(self, on_progress):
        rbd.RBD().migration_commit(self.ioctx, self.dest, on_progress=on_progress)

    def assert_done(self):
        assert migration_state(self.ioctx, self.dest) is None
        names = rbd.RBD().list(self.ioctx)
        assert self.dest in names and self.source not in names
        with pytest.raises(rbd.ImageNotFound):  # the source, moved to the trash by prepare, is deleted
            rbd.RBD().trash_get(self.ioctx, self.source_id)
        assert_content(self.ioctx, self.dest, b"A")

    def assert_canceled(self):
        # librbd cancels the deletion of the source: the migration is committed, the source left in the trash.
        assert migration_state(self.ioctx, self.dest) is None
        assert rbd.RBD().trash_get(self.ioctx, self.source_id)["id"] == self.source_id
        assert_content(self.ioctx, self.dest, b"A")


class MigrationAbort(MigrationCommit):
    method = "RBD.migration_abort"
    stops_at_first_call = False  # librbd reports the cancel only once it removed the destination's objects

    def run(self, on_progress):
        rbd.RBD().migration_abort(self.ioctx, self.dest, on_progress=on_progress)

    def assert_done(self):
        assert migration_state(self.ioctx, self.source) is None
        names = rbd.RBD().list(self.ioctx)
        assert self.source in names and self.dest not in names
        assert_content(self.ioctx, self.source, b"A")

    def assert_canceled(self):
        # The source is not restored yet; aborting again finishes the job.
        assert self.source not in rbd.RBD().list(self.ioctx)
        rbd.RBD().migration_abort(self.ioctx, self.dest)
        self.assert_done()


class Flatten(Scenario):
    method = "Image.flatten"

    def prepare(self):
        self.parent = make_image(self.ioctx)
        with rbd.Image(self.ioctx, self.parent) as parent:
            parent.create_snap("snap")
        self.child = unique_name("progress-clone")
        rbd.RBD().clone(self.ioctx, self.parent, "snap", self.ioctx, self.child, clone_format=2)
        self.image = self.open(self.child)

    def run(self, on_progress):
        self.image.flatten(on_progress=on_progress)

    def assert_done(self):
        with pytest.raises(rbd.ImageNotFound):
            self.image.parent_info()
        assert_content(self.ioctx, self.child, b"A")

    def assert_canceled(self):
        assert self.image.parent_info()[1:] == (self.parent, "snap")


class RollbackToSnap(Scenario):
    method = "Image.rollback_to_snap"

    def prepare(self):
        self.name = make_image(self.ioctx)
        self.image = self.open(self.name)
        self.image.create_snap("snap")
        for index in range(OBJECT_COUNT):
            self.image.write(block(b"B"), index * MiB)

    def run(self, on_progress):
        self.image.rollback_to_snap("snap", on_progress=on_progress)

    def assert_done(self):
        assert_content(self.ioctx, self.name, b"A")

    def assert_canceled(self):
        # librbd stopped at the first step: the last object was not rolled back.
        assert self.image.read((OBJECT_COUNT - 1) * MiB, MiB) == block(b"B")


class RemoveSnap2(Flatten):
    """remove_snap2 with RBD_SNAP_REMOVE_FLATTEN calls back once per child it flattened."""
    method = "Image.remove_snap2"
    cancellable = False  # librbd goes on with the removal whatever the callback returns

    def prepare(self):
        super().prepare()
        self.parent_image = self.open(self.parent)

    def run(self, on_progress):
        self.parent_image.remove_snap2("snap", rbd.RBD_SNAP_REMOVE_FLATTEN, on_progress=on_progress)

    def assert_done(self):
        assert list(self.parent_image.list_snaps()) == []
        super().assert_done()


class RebuildObjectMap(Scenario):
    method = "Image.rebuild_object_map"

    def prepare(self):
        # Enabling object-map on an image that has data leaves the map flagged invalid until it is rebuilt.
        self.name = make_image(self.ioctx, features=rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK)
        self.image = self.open(self.name)
        self.image.update_features(rbd.RBD_FEATURE_OBJECT_MAP, True)
        assert self.image.flags() & rbd.RBD_FLAG_OBJECT_MAP_INVALID

    def run(self, on_progress):
        self.image.rebuild_object_map(on_progress=on_progress)

    def assert_done(self):
        assert self.image.flags() & rbd.RBD_FLAG_OBJECT_MAP_INVALID == 0

    def assert_canceled(self):
        assert self.image.flags() & rbd.RBD_FLAG_OBJECT_MAP_INVALID


class GroupRollbackToSnap(Scenario):
    method = "Group.rollback_to_snap"
    stops_at_first_call = False  # librbd calls back once more before it gives up

    def prepare(self):
        self.group_name = unique_name("progress-group")
        rbd.RBD().group_create(self.ioctx, self.group_name)
        self.group = rbd.Group(self.ioctx, self.group_name)
        self.names = [make_image(self.ioctx) for _ in range(2)]
        for name in self.names:
            self.group.add_image(self.ioctx, name)
        self.group.create_snap("snap")
        for name in self.names:
            with rbd.Image(self.ioctx, name) as image:
                for index in range(OBJECT_COUNT):
                    image.write(block(b"B"), index * MiB)

    def run(self, on_progress):
        self.group.rollback_to_snap("snap", on_progress=on_progress)

    def assert_done(self):
        for name in self.names:
            assert_content(self.ioctx, name, b"A")

    def assert_canceled(self):
        with rbd.Image(self.ioctx, self.names[-1]) as image:
            assert image.read((OBJECT_COUNT - 1) * MiB, MiB) == block(b"B")


SCENARIOS = {cls.method: cls for cls in (Remove, TrashRemove, MigrationExecute, MigrationCommit, MigrationAbort,
                                         Flatten, RollbackToSnap, RemoveSnap2, RebuildObjectMap,
                                         GroupRollbackToSnap)}


def methods_taking_on_progress():
    found = set()
    for class_name, cls in vars(rbd).items():
        if class_name.startswith("_") or not isinstance(cls, type):
            continue
        for method_name in dir(cls):
            method = getattr(cls, method_name)
            if method_name.startswith("_") or not callable(method):
                continue
            try:
                parameters = inspect.signature(method).parameters
            except (TypeError, ValueError):
                continue
            if "on_progress" in parameters:
                found.add("%s.%s" % (class_name, method_name))
    return found


def test_every_call_with_on_progress_has_a_scenario():
    assert methods_taking_on_progress() == set(SCENARIOS)


@pytest.fixture
def scenario(request, ioctx):
    scenario = SCENARIOS[request.param](ioctx)
    scenario.prepare()
    yield scenario
    scenario.close()


@pytest.fixture
def unraisable(monkeypatch):
    """The UnraisableHookArgs reported while the test runs (instead of printing them)."""
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    return reported


class Boom(Exception):
    pass


@pytest.mark.parametrize("scenario", sorted(SCENARIOS), indirect=True)
def test_raising_callback_is_reported_and_the_operation_completes(scenario, unraisable):
    raised = []

    def on_progress(offset, total):
        raised.append(Boom(offset, total))
        raise raised[-1]

    scenario.run(on_progress)
    scenario.assert_done()
    assert raised, "librbd never called the callback"
    assert [report.exc_value for report in unraisable] == raised  # the very objects, each one once, in order
    for report in unraisable:
        assert report.exc_type is Boom
        assert report.exc_traceback is not None
        assert report.object is on_progress


@pytest.mark.parametrize("answer", [1, -errno.ECANCELED])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS), indirect=True)
def test_nonzero_return_cancels(scenario, unraisable, answer):
    with pytest.raises(TypeError, match="on_progress must be callable"):
        scenario.run("not callable")
    calls = []

    def on_progress(offset, total):
        calls.append(offset)
        return answer

    if scenario.cancellable:
        with pytest.raises(rbd.OperationCanceled) as info:
            scenario.run(on_progress)
        assert info.value.errno == errno.ECANCELED
        if scenario.stops_at_first_call:
            assert len(calls) == 1
        scenario.assert_canceled()
    else:
        scenario.run(on_progress)
        assert calls
        scenario.assert_done()
    assert unraisable == []


@pytest.mark.parametrize("answer, error", [("stop", TypeError), (2 ** 40, OverflowError), (1j, TypeError)])
def test_return_value_that_is_no_int_is_reported_and_ignored(ioctx, unraisable, answer, error):
    # Upstream converts the return value to a C int; what cannot be converted is reported and counts as 0.
    scenario = Remove(ioctx)
    scenario.prepare()
    scenario.run(lambda offset, total: answer)
    scenario.assert_done()
    assert unraisable and all(type(report.exc_value) is error for report in unraisable)


@pytest.mark.parametrize("answer", [None, 0, False, 0.5])
def test_zero_like_return_values_go_on(ioctx, unraisable, answer):
    scenario = Remove(ioctx)
    scenario.prepare()
    calls = []
    scenario.run(lambda offset, total: calls.append(offset) or answer)
    scenario.assert_done()
    assert len(calls) == OBJECT_COUNT and unraisable == []
