#!/usr/bin/env python3
"""Compare the importable `rbd` with upstream 16.2.15: names, constant values, exception bases and signatures.

usage: <venv>/bin/python tools/surface_check.py     (exit 1 and a list of differences if anything is off)

Signatures must keep upstream's parameters, in order, with the same defaults; extra trailing parameters with
defaults are allowed (our additions, e.g. `on_progress=None`, `clone_format=None`). The reference data, facts
taken from Debian's python3-rbd 16.2.15, lives in tests/data/.
"""
import inspect
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
import rbd  # noqa: E402
from gen_stubs import signature_of  # noqa: E402

DATA = os.path.join(REPO, "tests", "data")
MISSING = object()


def upstream_params(text):
    """[(name, default or MISSING)] from an upstream signature such as 'self, Image image, descendants=False'."""
    params = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, default = part.partition("=")
        name = name.split()[-1]  # drop Cython type annotations ("Image image")
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


def main():
    with open(os.path.join(DATA, "upstream-surface-16.2.15.json")) as f:
        surface = json.load(f)
    with open(os.path.join(DATA, "upstream-signatures-16.2.15.json")) as f:
        signatures = json.load(f)
    problems = []
    for name, value in surface["constants"].items():
        if getattr(rbd, name, MISSING) != value:
            problems.append("constant %s != %r" % (name, value))
    for name, bases in surface["exceptions"].items():
        cls = getattr(rbd, name, None)
        if not isinstance(cls, type) or [b.__name__ for b in cls.__mro__[1:] if b is not object] != bases:
            problems.append("exception %s does not derive from %s" % (name, bases))
    for cls_name, methods in surface["classes"].items():
        cls = getattr(rbd, cls_name, None)
        for method in methods:
            if cls is None or not hasattr(cls, method):
                problems.append("%s.%s is missing" % (cls_name, method))
    for key, text in sorted(signatures.items()):
        problems += signature_problems(key, text)
    for problem in problems:
        print(problem)
    print("%d differences from upstream 16.2.15 (%d names, %d signatures checked)"
          % (len(problems), len(surface["constants"]) + len(surface["exceptions"])
             + sum(map(len, surface["classes"].values())), len(signatures)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
