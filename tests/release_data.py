"""The reference surface of the librbd release the module under test behaves as (tests/data/rbd-*.json, facts
taken from that release's Debian python3-rbd), and the release checks the tests share."""
import glob
import json
import os

import rbd

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def built_for():
    """(major, minor, extra) of the librbd release the module behaves as (chosen at import from the loaded
    librbd: helpers/releases.pxi)."""
    return tuple(rbd._LIBRBD_MODEL)


def librbd_minor():
    """The minor version of the librbd the module runs with (16, 18, 20)."""
    return rbd.RBD().version()[1]


def surface():
    """The JSON surface of the upstream module of the release the module was built for."""
    for path in sorted(glob.glob(os.path.join(DATA, "rbd-*.json"))):
        with open(path) as f:
            data = json.load(f)
        if tuple(data["librbd_version"][:2]) == built_for()[:2]:
            return data
    raise LookupError("no reference surface for librbd %s" % (built_for(),))


def constants():
    """{name: value} of upstream's module constants."""
    return {name: entry["value"] for name, entry in surface()["names"].items()
            if entry.get("type") in ("int", "str") and name.isupper() and not name.startswith("_")}


def exceptions():
    """{name: [base names of the MRO, object excluded]} of upstream's exception classes."""
    return {name: [b for b in entry["bases"] if b != "object"] for name, entry in surface()["names"].items()
            if entry.get("is_exception")}


def as_utc(value, local=False):
    """A timestamp from the module as an aware UTC datetime, after checking the form the release gives it:
    aware UTC from librbd 1.20; before, naive UTC (naive local time for access/modify_timestamp: `local`)."""
    import datetime
    assert type(value) is datetime.datetime, value
    if built_for()[1] >= 20:
        assert value.tzinfo is datetime.timezone.utc, value
        return value
    assert value.tzinfo is None, value
    return value.astimezone(datetime.timezone.utc) if local else value.replace(tzinfo=datetime.timezone.utc)
