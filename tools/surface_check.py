#!/usr/bin/env python3
"""Compare the importable `rbd` with Debian's python3-rbd of the librbd release it runs with: names, constant
values, exception bases, methods and signatures.

usage: <venv>/bin/python tools/surface_check.py [--release 18.2.7]   (exit 1 and a list of differences)

The reference data, facts taken from each release's python3-rbd, lives in tests/data/: `rbd-<release>.json`
(every public name and member, introspected) and `rbd-<release>-signatures.txt` (every signature, from the
docstrings and sources). The release is the one whose librbd minor version matches the module's build
(`rbd._LIBRBD_MODEL`, the release it behaves as, else `RBD().version()`).

Rules: every upstream name exists, with the same constant value and the same exception bases; every upstream
method exists and keeps upstream's parameters, in order, with the same defaults (extra trailing parameters with
defaults are allowed: our additions such as `on_progress=None`). Names and methods upstream lacks must be listed
in ADDITIONS below (our documented additions), so a method of a later release cannot leak into an older build.
"""
import argparse
import glob
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
import rbd  # noqa: E402
from gen_stubs import signature_of  # noqa: E402

DATA = os.path.join(REPO, "tests", "data")
MISSING = object()

# Our additions to upstream's surface, on every release (docs/compatibility.md says why). "" = module level.
ADDITIONS = {
    "": {"AsyncImage", "ImageFile", "CompareMismatchError"},
    "Image": {"readinto", "readv", "writev", "writesame", "compare_and_write",
              "compare_and_writev", "aio_compare_and_writev"},  # librbd >= 1.18
}

# Module names that are artefacts of upstream's imports or build, not API: not required, not counted as extra.
IGNORED_MODULE_NAMES = {"chain", "datetime", "Iterable", "errno", "json", "sys", "time"}


def is_api_name(name):
    return not name.startswith("_")


def is_api_member(name):
    return not name.startswith("_") or name in ("__init__", "__enter__", "__exit__", "__iter__", "__next__")


def release_files(release=None):
    """(release, surface dict, {key: signature text}) for the module's build, or for `release`."""
    built = getattr(rbd, "_LIBRBD_MODEL", None) or tuple(rbd.RBD().version())
    chosen = None
    for path in sorted(glob.glob(os.path.join(DATA, "rbd-*.json"))):
        name = os.path.basename(path)[len("rbd-"):-len(".json")]
        with open(path) as f:
            surface = json.load(f)
        if name == release or (release is None and tuple(surface["librbd_version"][:2]) == tuple(built[:2])):
            chosen = (name, surface)
    if chosen is None:
        sys.exit("no reference surface in %s for librbd %s" % (DATA, ".".join(map(str, built))))
    name, surface = chosen
    signatures = {}
    with open(os.path.join(DATA, "rbd-%s-signatures.txt" % name)) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            key, _, params = line.partition("(")
            if "." not in key:
                key += ".__init__" if key[:1].isupper() else ""
                if key.endswith(".__init__"):
                    params = "self, " + params if params != ")" else "self)"
            signatures[key] = params[:-1]
    return name, surface, signatures


def upstream_params(text):
    """[(name, default or MISSING)] from an upstream signature such as 'self, Image image, descendants=False'."""
    params = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, default = part.partition("=")
        name = name.split()[-1]  # drop Cython type annotations ("Image image")
        if name.startswith("*"):
            continue
        value = MISSING if not default else eval(default, vars(rbd))
        params.append((name, value))
    return params


def resolve(key):
    owner_name, _, attr = key.rpartition(".")
    if not owner_name:
        return None, getattr(rbd, key, None)
    owner = getattr(rbd, owner_name, None)
    return owner, getattr(owner, attr, None) if owner is not None else None


def signature_problems(key, expected_text):
    owner, func = resolve(key)
    if func is None:
        return ["%s is missing" % key]
    sig = signature_of(func, owner if key.endswith(".__init__") else None)
    if sig is None:
        return ["%s has no introspectable signature" % key]
    ours = [(p.name, MISSING if p.default is p.empty else p.default) for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    expected = upstream_params(expected_text)
    if expected and expected[0][0] != "self" and ours and ours[0][0] == "self":
        ours = ours[1:]
    problems = []
    if [n for n, _ in ours[:len(expected)]] != [n for n, _ in expected]:
        problems.append("%s(%s): upstream has (%s)" % (key, ", ".join(n for n, _ in ours), expected_text))
    else:
        for (name, default), (_, want) in zip(ours, expected):
            if default is not want and default != want:
                problems.append("%s: default of %s is %r, upstream %r" % (key, name, default, want))
        for name, default in ours[len(expected):]:
            if default is MISSING:
                problems.append("%s: extra parameter %s has no default" % (key, name))
    return problems


def public_members(cls):
    return {name for name in dir(cls) if is_api_member(name) and name not in dir(object)
            or name == "__init__" and "__init__" in vars(cls)}


def check(release=None):
    name, surface, signatures = release_files(release)
    upstream = surface["names"]
    problems = []
    for key, entry in sorted(upstream.items()):
        if not is_api_name(key) or key in IGNORED_MODULE_NAMES:
            continue
        ours = getattr(rbd, key, MISSING)
        if ours is MISSING:
            problems.append("%s is missing" % key)
            continue
        if "value" in entry and entry.get("type") in ("int", "str") and ours != entry["value"]:
            problems.append("constant %s is %r, upstream %r" % (key, ours, entry["value"]))
        if entry.get("is_exception"):
            bases = [b.__name__ for b in ours.__mro__[1:]] if isinstance(ours, type) else None
            if bases != entry["bases"]:
                problems.append("exception %s has bases %s, upstream %s" % (key, bases, entry["bases"]))
        elif isinstance(ours, type) and entry.get("members") is not None and ours.__module__ == "rbd":
            wanted = {m for m in entry["members"] if is_api_member(m)}
            for member in sorted(wanted):
                if not hasattr(ours, member):
                    problems.append("%s.%s is missing" % (key, member))
            extra = {m for m in public_members(ours) if is_api_member(m)} - wanted \
                - ADDITIONS.get(key, set()) - {"__init__", "__iter__", "__next__", "__enter__", "__exit__"}
            for member in sorted(extra):
                problems.append("%s.%s is not in upstream %s (nor a documented addition)" % (key, member, name))
    for key in sorted(vars(rbd)):
        if is_api_name(key) and key not in upstream and key not in ADDITIONS[""] \
                and key not in IGNORED_MODULE_NAMES:
            problems.append("%s is not in upstream %s (nor a documented addition)" % (key, name))
    for key, text in sorted(signatures.items()):
        if key.split(".")[0] not in upstream:
            continue  # docstring lines that are not signatures (a repr format, a generator's send())
        attr = key.rpartition(".")[2]
        if attr.startswith("_") and attr not in ("__init__", "__enter__", "__exit__"):
            continue  # Cython's pickling helpers, name-mangled private methods
        problems += signature_problems(key, text)
    return name, problems, len(upstream), len(signatures)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--release", help="compare with this release's data instead of the build's")
    args = parser.parse_args()
    name, problems, names, signatures = check(args.release)
    for problem in problems:
        print(problem)
    print("%d differences from upstream %s (%d names, %d signatures checked)"
          % (len(problems), name, names, signatures))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
