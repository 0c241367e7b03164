"""Exceptions, errno maps, constants and string helpers: the parts of the module that need no cluster."""
import copy
import ctypes
import errno
import json
import os
import pickle

import pytest

import rbd
import release_data

PREFIXES = {
    "PermissionError": "RBD permission error",
    "ImageNotFound": "RBD image not found",
    "ObjectNotFound": "RBD object not found",
    "IOError": "RBD I/O error",
    "NoSpace": "RBD insufficient space available",
    "ImageExists": "RBD image already exists",
    "ObjectExists": "RBD object already exists",
    "InvalidArgument": "RBD invalid argument",
    "ReadOnlyImage": "RBD read-only image",
    "ImageBusy": "RBD image is busy",
    "ImageHasSnapshots": "RBD image has snapshots",
    "FunctionNotSupported": "RBD function not supported",
    "ArgumentOutOfRange": "RBD arguments out of range",
    "ConnectionShutdown": "RBD connection was shutdown",
    "Timeout": "RBD operation timeout",
    "DiskQuotaExceeded": "RBD disk quota exceeded",
    "OperationNotSupported": "RBD operation not supported",
    "OperationCanceled": "RBD operation canceled",
    "IncompleteWriteError": "RBD incomplete write",
    "LogicError": "RBD logic error",
}

IMAGE_ERRNOS = {
    errno.EPERM: "PermissionError", errno.ENOENT: "ImageNotFound", errno.EIO: "IOError",
    errno.ENOSPC: "NoSpace", errno.EEXIST: "ImageExists", errno.EINVAL: "InvalidArgument",
    errno.EROFS: "ReadOnlyImage", errno.EBUSY: "ImageBusy", errno.ENOTEMPTY: "ImageHasSnapshots",
    errno.ENOSYS: "FunctionNotSupported", errno.EDOM: "ArgumentOutOfRange",
    errno.ESHUTDOWN: "ConnectionShutdown", errno.ETIMEDOUT: "Timeout", errno.EDQUOT: "DiskQuotaExceeded",
    errno.EOPNOTSUPP: "OperationNotSupported", errno.ECANCELED: "OperationCanceled",
}


@pytest.mark.parametrize("name", sorted(PREFIXES))
def test_message_format(name):
    cls = getattr(rbd, name)
    assert str(cls("boom", errno=7)) == "[errno 7] %s (boom)" % PREFIXES[name]
    assert str(cls("boom")) == "%s (boom)" % PREFIXES[name]
    assert cls("boom", errno=7).errno == 7
    assert cls("boom").errno is None


def test_base_classes():
    assert str(rbd.OSError("plain", errno=5)) == "[errno 5] plain"
    assert str(rbd.OSError("plain")) == "plain"
    assert issubclass(rbd.OSError, rbd.Error) and not issubclass(rbd.OSError, OSError)
    assert issubclass(rbd.Error, Exception)


def test_hierarchy_matches_upstream():
    for name, bases in release_data.exceptions().items():
        cls = getattr(rbd, name)
        assert [b.__name__ for b in cls.__mro__[1:] if b is not object] == bases, name


@pytest.mark.parametrize("name", sorted(PREFIXES) + ["OSError"])
def test_exceptions_pickle_and_copy(name):
    cls = getattr(rbd, name)
    original = cls("lost in transit", errno=42)
    for clone in (pickle.loads(pickle.dumps(original)), copy.copy(original), copy.deepcopy(original)):
        assert type(clone) is cls
        assert str(clone) == str(original)
        assert clone.errno == 42
        assert clone.args == original.args


def test_constants_match_upstream():
    constants = release_data.constants()
    # 91 in 16.2.15; 18.2.7 adds 3, 20.2.4 4 more (every value of an older release is kept).
    assert len(constants) == {16: 91, 18: 94, 20: 98}[release_data.built_for()[1]]
    for name, value in constants.items():
        assert getattr(rbd, name) == value, name
        assert type(getattr(rbd, name)) is type(value), name


def test_no_extra_feature_constants():
    # gwcli builds a map from every RBD_FEATURE_* name in rbd.__dict__; extra names would change it.
    ours = {n for n in rbd.__dict__ if "RBD_FEATURE_" in n}
    upstream = {n for n in release_data.constants() if "RBD_FEATURE_" in n}
    assert ours == upstream


def test_emlink_is_image_member_of_group_from_librbd_1_20():
    # librbd 1.20's module maps EMLINK (removing or trashing a group member) to ImageMemberOfGroup in both errno
    # tables; before it was the base OSError.
    if release_data.built_for()[1] >= 20:
        error = rbd.ImageMemberOfGroup("busy", errno=errno.EMLINK)
        assert str(error) == "[errno %d] RBD image is member of group (busy)" % errno.EMLINK
        assert rbd.ImageMemberOfGroup.__mro__[1] is rbd.OSError
        assert pickle.loads(pickle.dumps(error)).errno == errno.EMLINK
    else:
        assert not hasattr(rbd, "ImageMemberOfGroup")


def test_upstream_side_effect_names():
    import collections.abc
    import datetime
    import itertools
    assert rbd.datetime is datetime.datetime
    assert rbd.Iterable is collections.abc.Iterable
    assert rbd.chain is itertools.chain
    assert rbd.errno is errno and rbd.json is json
    # librbd 1.20's module also leaks datetime.timezone.
    assert (getattr(rbd, "timezone", None) is datetime.timezone) == (release_data.built_for()[1] >= 20)


def test_cstr():
    assert rbd.cstr("é", "name") == "é".encode()
    assert rbd.cstr(b"raw", "name") == b"raw"
    assert rbd.cstr(None, "name", opt=True) is None
    with pytest.raises(rbd.InvalidArgument, match="name must be a string"):
        rbd.cstr(None, "name")
    with pytest.raises(rbd.InvalidArgument, match="name must be a string"):
        rbd.cstr(3, "name")
    with pytest.raises(rbd.InvalidArgument, match="NUL"):
        rbd.cstr("a\0b", "name")


def test_decode_cstr():
    assert rbd.decode_cstr(b"abc") == "abc"
    assert rbd.decode_cstr(None) is None
    with pytest.raises(UnicodeDecodeError):
        rbd.decode_cstr(b"\xff")


def test_requires_not_closed_keeps_the_name():
    def probe(self):
        """doc"""
        return "ran"

    wrapped = rbd.requires_not_closed(probe)
    assert wrapped.__name__ == "probe" and wrapped.__doc__ == "doc"

    class Closed:
        def require_not_closed(self):
            raise rbd.InvalidArgument("image is closed")

    class Open:
        def require_not_closed(self):
            pass

    assert wrapped(Open()) == "ran"
    with pytest.raises(rbd.InvalidArgument):
        wrapped(Closed())


def librbd_version_from_the_library():
    """rbd_version() of the librbd the process has loaded, asked through ctypes (not through this module)."""
    lib = ctypes.CDLL("librbd.so.1")
    parts = [ctypes.c_int() for _ in range(3)]
    lib.rbd_version(*[ctypes.byref(p) for p in parts])
    return tuple(p.value for p in parts)


def test_version_is_librbd_version():
    version = rbd.RBD().version()
    assert version == librbd_version_from_the_library()
    assert version >= (1, 16, 0)


def test_features_string_round_trip():
    r = rbd.RBD()
    assert r.features_to_string(rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK) == \
        "exclusive-lock,layering"
    assert r.features_from_string("layering,exclusive-lock") == 5
    assert r.features_from_string(b"layering") == 1
    assert r.features_to_string(0) == ""
    with pytest.raises(rbd.InvalidArgument):
        r.features_from_string("no-such-feature")
    with pytest.raises(rbd.InvalidArgument):
        r.features_to_string(1 << 40)
    with pytest.raises(rbd.InvalidArgument):
        r.features_from_string(5)


def test_messages_name_objects_as_text(ioctx):
    """Names in error messages are text, never a bytes repr (`self.name` is bytes, as upstream's attribute), also
    for names that are not UTF-8 (replacement characters) and for groups, snapshots and metadata keys."""
    from conftest import MiB, remove_image, unique_name
    name = unique_name("dimg")
    rbd.RBD().create(ioctx, name, MiB)
    messages = []
    try:
        with rbd.Image(ioctx, name.encode()) as image:
            assert image.get_name() == name
            image.create_snap("snap1r")
            image.protect_snap("snap1r")
            for call in (lambda: image.remove_snap("snap1r"), lambda: image.read(2 * MiB, 1),
                         lambda: image.metadata_remove(b"no-such-key"), lambda: image.unlock("nobody"),
                         lambda: image.set_snap("missing"), lambda: image.aio_discard(1, 2**64 - 1, None)):
                with pytest.raises((rbd.Error, KeyError)) as info:
                    call()
                messages.append(str(info.value))
            image.unprotect_snap("snap1r")
            image.remove_snap("snap1r")
        with pytest.raises(rbd.ImageNotFound) as info:
            rbd.Image(ioctx, b"\xff" + name.encode())
        messages.append(str(info.value))
        group = rbd.Group(ioctx, unique_name("grp").encode())
        with pytest.raises(rbd.ObjectNotFound) as info:
            group.remove_snap("s")
        messages.append(str(info.value))
    finally:
        remove_image(ioctx, name)
    assert "error removing snapshot snap1r from %s" % name in messages[0], messages[0]
    import re
    assert not [m for m in messages if re.search(r"(?<![0-9A-Za-z])b['\"]", m)], messages   # no bytes repr
    assert "\ufffd" + name in messages[-2]
