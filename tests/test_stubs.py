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


def test_stub_is_installed_in_the_typed_package():
    package = os.path.dirname(rbd.__file__)
    assert os.path.basename(rbd.__file__).startswith("__init__.")
    assert os.path.exists(os.path.join(package, "py.typed"))  # PEP 561: type checkers read rbd/__init__.pyi
    installed = os.path.join(package, "__init__.pyi")
    with open(installed) as a, open(os.path.join(ROOT, "src", "rbd.pyi")) as b:
        assert a.read() == b.read()


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
