"""The build: a missing native dependency stops it with one line that names the Debian package to install."""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_missing_header_names_the_debian_package(tmp_path):
    # A compiler that sees no system headers stands in for a machine without librados-dev / librbd-dev.
    shutil.copy(os.path.join(ROOT, "setup.py"), tmp_path)
    env = dict(os.environ, CC="cc -nostdinc")
    result = subprocess.run([sys.executable, "setup.py", "build_ext"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["error: cannot build rbd: <rados/librados.h> or -lrados is missing; install it with: "
                     "apt-get install librados-dev gcc"]


def test_missing_compiler_is_named(tmp_path):
    shutil.copy(os.path.join(ROOT, "setup.py"), tmp_path)
    env = dict(os.environ, CC="/nonexistent/cc")
    result = subprocess.run([sys.executable, "setup.py", "build_ext"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "a C compiler is missing" in result.stderr
