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


def release_stub():
    """The committed stub of the librbd release the module was built for."""
    return os.path.join(ROOT, "src", "stubs", "librbd-%d.%d.pyi" % rbd._LIBRBD_BUILT_FOR[:2])


def test_stub_is_installed_beside_the_module():
    installed = os.path.join(os.path.dirname(rbd.__file__), "rbd.pyi")
    assert os.path.exists(installed)
    with open(installed) as a, open(release_stub()) as b:
        assert a.read() == b.read()


def test_stub_matches_the_release():
    # Names of one release only in that release's stub (e.g. Group.id from librbd 1.20).
    with open(release_stub()) as f:
        text = f.read()
    assert ("def id(self) -> str" in text.split("class Group", 1)[1].split("\nclass ", 1)[0]) == \
        (rbd._LIBRBD_BUILT_FOR[1] >= 20)
    assert ("def encryption_load2(" in text) == (rbd._LIBRBD_BUILT_FOR[1] >= 18)


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
