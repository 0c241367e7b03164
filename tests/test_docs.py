"""The documentation site: ci/docs.sh builds it (Sphinx, warnings as errors), and its API reference documents every
public class, method and function of the module, with the stub's annotations and the module's docstrings."""
import html
import inspect
import os
import re
import subprocess

import pytest

import rbd
from rbd import streams

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HTML = os.path.join(ROOT, "docs", "_build", "html")


def public_classes():
    return {name: value for name, value in vars(rbd).items()
            if isinstance(value, type) and value.__module__ == "rbd" and not name.startswith("_")}


def defining_class(cls, attr):
    for klass in cls.__mro__:
        if attr in klass.__dict__:
            return klass
    return None


def public_surface():
    """{"rbd.Class": kind, "rbd.Class.method": "method", "rbd.function": "function"} of the module, where a
    method is every public callable attribute that a class of this module defines (its own, or a base class's
    of this module); what comes from `object`, `Exception` or `io` is not ours to document."""
    surface = {}
    for name, cls in public_classes().items():
        surface["rbd." + name] = "exception" if issubclass(cls, BaseException) else "class"
        for attr in dir(cls):
            owner = defining_class(cls, attr)
            if attr.startswith("_") or owner is None or owner.__module__ != "rbd":
                continue
            if callable(getattr(cls, attr)):
                surface["rbd.%s.%s" % (name, attr)] = "method"
    for name, value in vars(rbd).items():
        if not name.startswith("_") and callable(value) and not isinstance(value, type) and \
                getattr(value, "__module__", None) == "rbd":
            surface["rbd." + name] = "function"
    # rbd.streams, the backup streams (a pure-Python submodule): what its __all__ exports.
    for name in streams.__all__:
        value = getattr(streams, name)
        if isinstance(value, type):
            surface["rbd.streams." + name] = "exception" if issubclass(value, BaseException) else "class"
        else:
            surface["rbd.streams." + name] = "function"
    return surface


@pytest.fixture(scope="module")
def built_site():
    result = subprocess.run([os.path.join(ROOT, "ci", "docs.sh")], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    return HTML


@pytest.fixture(scope="module")
def documented(built_site):
    """{"rbd.Image.read": "method", ...}: every object the built reference documents (its inventory)."""
    from sphinx.util.inventory import InventoryFile
    with open(os.path.join(built_site, "objects.inv"), "rb") as f:
        inventory = InventoryFile.load(f, "", os.path.join)
    found = {}
    for kind, entries in inventory.items():
        if kind.startswith("py:") and kind != "py:module":
            for name in entries:
                found[name] = kind[3:]
    return found


def page_text(site, page):
    with open(os.path.join(site, page)) as f:
        return html.unescape(re.sub(r"<[^>]+>", "", f.read()))


def test_every_public_method_is_documented(documented):
    surface = public_surface()
    missing = sorted(name for name in surface if name not in documented)
    assert missing == [], "public but not in the documentation: %s" % missing
    kinds = {name: (surface[name], documented[name]) for name in surface if surface[name] != documented[name]}
    assert kinds == {}
    # Nothing documented that the module does not have (a stale stub would show that).
    # Members only later releases have are documented too (one stub for every release), saying which they need.
    extra = sorted(name for name, kind in documented.items() if kind in ("method", "function")
                   and name not in surface and name[len("rbd."):] not in rbd._RELEASE_ONLY_MEMBERS)
    assert extra == []
    methods = [name for name, kind in surface.items() if kind == "method"]
    assert len(methods) > 200  # RBD, Image, Group, the iterators, Completion, ImageFile, AsyncImage


def test_librbd_python_page_is_upstreams_directive(built_site):
    with open(os.path.join(ROOT, "docs", "librbd-python.rst")) as f:
        source = f.read()
    assert ".. automodule:: rbd\n   :members: RBD, Image, SnapIterator\n" in source
    text = page_text(built_site, "librbd-python.html")
    # The three classes with all their methods.
    for name in ("RBD.remove", "RBD.trash_remove", "Image.read", "Image.flatten", "Image.aio_read",
                 "SnapIterator"):
        assert 'id="rbd.%s"' % name in open(os.path.join(built_site, "librbd-python.html")).read(), name
    assert "rbd.Group" not in re.findall(r'id="(rbd\.[A-Za-z]+)"', open(
        os.path.join(built_site, "librbd-python.html")).read())
    assert "image.write(data, 0)" in text


def test_signatures_carry_the_stubs_annotations_and_real_defaults(built_site):
    text = page_text(built_site, "librbd-python.html")
    assert "read(offset: int, length: int, fadvise_flags: int = 0) → bytes" in text
    assert "remove(ioctx: rados.Ioctx, name: str | bytes, on_progress: Callable[[int, int], object] | None = None)" \
        in text
    assert "readinto(buffer: WriteableBuffer, offset: int, fadvise_flags: int = 0) → int" in text


def test_docstrings_come_from_the_module(built_site):
    pages = {page: page_text(built_site, page) for page in ("librbd-python.html", "additions.html",
                                                            "reference.html")}
    everything = "\n".join(pages.values())
    # Letters and digits only: markup, smart quotes and dashes aside.
    words = lambda text: re.sub(r"[^A-Za-z0-9]", "", text)  # noqa: E731
    flat = words(everything)
    checked = 0
    for name, kind in public_surface().items():
        obj = rbd
        for part in name.split(".")[1:]:
            obj = getattr(obj, part)
        doc = inspect.getdoc(obj) or ""
        first = [line for line in doc.splitlines() if line.strip() and not line.startswith(obj.__name__ + "(")]
        if kind == "method" and first:
            assert words(first[0])[:40] in flat, name
            checked += 1
    assert checked > 200


def test_additions_and_markdown_pages_are_built(built_site):
    for page in ("additions.html", "streams.html", "reference.html", "compatibility.html", "reliability.html", "benchmark.html",
                 "architecture.html", "api-table.html", "index.html"):
        assert os.path.getsize(os.path.join(built_site, page)) > 2000, page
    additions = page_text(built_site, "additions.html")
    for name in ("ImageFile", "AsyncImage", "Completion", "readinto", "readv", "writev"):
        assert name in additions
    assert "ours/python3-rbd" in page_text(built_site, "benchmark.html")
    assert "Deliberate differences" in page_text(built_site, "compatibility.html")
