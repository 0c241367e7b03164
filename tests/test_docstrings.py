"""Docstrings with fields, as upstream's: every public method and function of the module says its parameters
(`:param name:` and `:type name:`), what it returns (`:returns:` and `:rtype:`; `:rtype: None` alone for a
method that returns nothing) and what it raises (`:raises Name:`), so that any Sphinx renders a full reference.
Members that only some librbd releases have say which one they need. No cluster needed."""
import inspect
import json
import os
import re

import pytest

import rbd

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

# Callables that cannot raise anything of their own: they read state the object already holds.
RAISES_NOTHING = {
    "rbd.RBD.version", "rbd.Completion.__repr__",
}


def own_classes():
    return {name: cls for name, cls in vars(rbd).items()
            if isinstance(cls, type) and cls.__module__ == "rbd" and not name.startswith("_")
            and not issubclass(cls, BaseException)}


def documented_callables():
    """{qualified name: callable} of every public method of the module's own classes, and its functions."""
    found = {}
    for name, cls in own_classes().items():
        for attr, value in vars(cls).items():
            if attr.startswith("_") or not callable(value) or isinstance(value, type):
                continue
            found["rbd.%s.%s" % (name, attr)] = getattr(cls, attr)
    for name, value in vars(rbd).items():
        if not name.startswith("_") and callable(value) and not isinstance(value, type) \
                and getattr(value, "__module__", None) == "rbd":
            found["rbd." + name] = value
    return found


CALLABLES = documented_callables()


def parameters(func):
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    return [p.name for p in signature.parameters.values() if p.name not in ("self", "cls")]


def test_there_is_something_to_check():
    assert len(CALLABLES) >= 200
    assert "rbd.Image.read" in CALLABLES and "rbd.RBD.create" in CALLABLES


@pytest.mark.parametrize("qualname", sorted(CALLABLES))
def test_docstring_has_fields(qualname):
    func = CALLABLES[qualname]
    doc = inspect.getdoc(func) or ""
    problems = []
    names = parameters(func)
    assert names is not None, "%s has no signature" % qualname
    for name in names:
        if not re.search(r"^:param %s:" % re.escape(name), doc, re.M):
            problems.append(":param %s: missing" % name)
        if not re.search(r"^:type %s:" % re.escape(name), doc, re.M):
            problems.append(":type %s: missing" % name)
    documented = set(re.findall(r"^:param (\w+):", doc, re.M))
    problems += [":param %s: is not a parameter" % name for name in sorted(documented - set(names))]
    rtype = re.search(r"^:rtype: (.+)$", doc, re.M)
    if rtype is None:
        problems.append(":rtype: missing")
    elif rtype.group(1).strip() != "None" and not re.search(r"^:returns: ", doc, re.M):
        problems.append(":returns: missing")
    if qualname not in RAISES_NOTHING and not re.search(r"^:raises \w[\w.]*: ", doc, re.M):
        problems.append(":raises X: missing")
    assert not problems, "%s: %s\n---\n%s" % (qualname, "; ".join(problems), doc)


def release_surfaces():
    surfaces = []
    for name in sorted(os.listdir(DATA)):
        if re.fullmatch(r"rbd-[\d.]+\.json", name):
            with open(os.path.join(DATA, name)) as f:
                data = json.load(f)
            surfaces.append((tuple(data["librbd_version"][:2]), data["names"]))
    return surfaces


def test_release_only_members_say_which_librbd_they_need():
    """A method upstream has only from some release on says "librbd 1.<minor>" in its docstring."""
    surfaces = release_surfaces()
    assert len(surfaces) == 3
    problems = []
    for qualname, func in CALLABLES.items():
        parts = qualname.split(".")[1:]
        present = []
        for version, names in surfaces:
            entry = names.get(parts[0])
            if len(parts) == 2:
                present.append(entry is not None and parts[1] in entry.get("members", {}))
            else:
                present.append(entry is not None)
        if any(present) and not all(present):
            first = [version for (version, _), has in zip(surfaces, present) if has][0]
            if "librbd %d.%d" % first not in (inspect.getdoc(func) or ""):
                problems.append("%s: needs librbd %d.%d but does not say so" % ((qualname,) + first))
    assert not problems, "\n".join(problems)
