"""Type stubs: generated from the built module, installed beside it, and usable by a type checker."""
import os
import subprocess
import sys

import pytest

import rbd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_stub_matches_the_module():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_stubs.py"), "--check"],
                            capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stdout + result.stderr


STUB = os.path.join(ROOT, "src", "stubs", "rbd.pyi")


def test_stub_is_installed_in_the_typed_package():
    package = os.path.dirname(rbd.__file__)
    assert os.path.basename(rbd.__file__).startswith("__init__.")
    assert os.path.exists(os.path.join(package, "py.typed"))  # PEP 561: type checkers read rbd/__init__.pyi
    installed = os.path.join(package, "__init__.pyi")
    with open(installed) as a, open(STUB) as b:
        assert a.read() == b.read()


def test_one_stub_has_every_release():
    # One stub for every release: the members only later releases have are in it, saying which release they
    # need, and RBD.clone has both namings of its snapshot parameter.
    with open(STUB) as f:
        text = f.read()
    group = text.split("class Group", 1)[1].split("\nclass ", 1)[0]
    assert "def id(self) -> str" in group and "Needs librbd 1.20 (Ceph 20.2) or newer" in group
    assert "def encryption_load2(" in text
    assert "p_snapname: str | bytes" in text and "p_snapshot: str | int" in text
    assert "RBD_LOCK_MODE_EXCLUSIVE_TRANSIENT: int" in text and "class ImageMemberOfGroup(" in text


USAGE = """
import rados
import rbd

def copy_head(ioctx: rados.Ioctx, name: str) -> bytes:
    with rbd.Image(ioctx, name, read_only=True) as image:
        size: int = image.size()
        data: bytes = image.read(0, min(size, 4096))
        image.write(b"x", 0)
        return data

wrong: str = rbd.RBD().version()
"""


def test_type_checker_sees_signatures(tmp_path):
    pytest.importorskip("mypy")
    path = tmp_path / "usage.py"
    path.write_text(USAGE)
    result = subprocess.run([sys.executable, "-m", "mypy", "--ignore-missing-imports", "--no-incremental",
                             str(path)], capture_output=True, text=True, cwd=str(tmp_path))
    # Exactly the deliberate mistake is reported: version() returns a tuple, not a str.
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and "tuple[int, int, int]" in errors[0], result.stdout


def test_pyright_sees_signatures(tmp_path):
    # pyright's PyPI wheel bundles pyright and runs it with the system's node; PYRIGHT_PYTHON_IGNORE_WARNINGS
    # stops it asking PyPI whether a newer version exists.
    pytest.importorskip("pyright")
    path = tmp_path / "usage.py"
    path.write_text(USAGE)
    env = dict(os.environ, PYRIGHT_PYTHON_IGNORE_WARNINGS="1")
    result = subprocess.run([sys.executable, "-m", "pyright", "--pythonpath", sys.executable, str(path)],
                            capture_output=True, text=True, cwd=str(tmp_path), env=env, timeout=300)
    errors = [line for line in result.stdout.splitlines() if " - error:" in line]
    assert len(errors) == 1 and "tuple[int, int, int]" in errors[0], result.stdout + result.stderr


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_stub_itself_passes_the_type_checkers(checker, tmp_path):
    pytest.importorskip(checker)
    stub = STUB
    env = dict(os.environ, PYRIGHT_PYTHON_IGNORE_WARNINGS="1")
    args = ["--no-incremental", "--ignore-missing-imports"] if checker == "mypy" else ["--pythonpath",
                                                                                       sys.executable]
    result = subprocess.run([sys.executable, "-m", checker, *args, stub], capture_output=True, text=True,
                            cwd=str(tmp_path), env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


STUB_AS_MODULE = """
import importlib.machinery, importlib.util, inspect, json, sys
sys.modules["_typeshed"] = None  # exists only for type checkers: importing it must not be needed
loader = importlib.machinery.SourceFileLoader("rbd", sys.argv[1])
module = importlib.util.module_from_spec(importlib.util.spec_from_loader("rbd", loader))
loader.exec_module(module)
docs = {"": module.__doc__}
for name in ("RBD", "Image", "SnapIterator", "MirrorImageStatusIterator"):
    cls = getattr(module, name)
    docs[name] = cls.__doc__
    for attr, value in vars(cls).items():
        if callable(value) and value.__doc__:
            docs[name + "." + attr] = value.__doc__
print(json.dumps({"signature": str(inspect.signature(module.Image.read)),
                  "methods": len([n for n in vars(module.Image) if not n.startswith("_")]), "docs": docs}))
"""


def test_stub_can_be_executed_by_documentation_tools():
    # Sphinx >= 9 documents a native module from the .pyi beside it (same name without the extension suffix)
    # by executing it as the module: the stub carries the module's docstrings and plain defaults.
    import importlib.machinery
    import inspect
    import json
    suffix = next(s for s in importlib.machinery.EXTENSION_SUFFIXES if rbd.__file__.endswith(s))
    installed = rbd.__file__[:-len(suffix)] + ".pyi"
    result = subprocess.run([sys.executable, "-c", STUB_AS_MODULE, installed], capture_output=True, text=True,
                            cwd="/")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["signature"] == "(self, offset: 'int', length: 'int', fadvise_flags: 'int' = 0) -> 'bytes'"
    # One stub for every release: it also has the members this release's module lacks (release-only ones).
    hidden = [m for m in rbd._RELEASE_ONLY_MEMBERS if m.startswith("Image.") and not hasattr(rbd.Image, m[6:])]
    assert found["methods"] == len([n for n in vars(rbd.Image) if not n.startswith("_")]) + len(hidden)
    docs = found["docs"]
    assert inspect.cleandoc(docs[""]) == inspect.cleandoc(rbd.__doc__)
    assert "Type stubs" not in docs[""]
    assert inspect.cleandoc(docs["Image"]).startswith("An open RBD image")
    assert inspect.cleandoc(docs["RBD"]) == inspect.cleandoc(rbd.RBD.__doc__)
    checked = 0
    for name in ("RBD", "Image", "SnapIterator", "MirrorImageStatusIterator"):
        cls = getattr(rbd, name)
        for attr, value in vars(cls).items():
            if not attr.startswith("_") and callable(value):
                if (name, attr) == ("RBD", "clone") and "p_snapname" in inspect.signature(value).parameters:
                    continue   # the stub documents the newest release's clone (p_snapshot); both are overloads
                assert inspect.cleandoc(docs[name + "." + attr]) == inspect.cleandoc(value.__doc__), attr
                checked += 1
    assert checked > 160  # every public method of RBD and Image has its docstring in the stub
