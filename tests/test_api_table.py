"""The API table (docs/api-table.md) is current, names only C functions of the installed librbd.h, has a row for
every upstream 16.2.15 method, and src/c_rbd.pxd declares every function of the header."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_api_table_is_current_and_matches_the_header():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "api_table.py"), "--check"],
                            capture_output=True, text=True)
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr


def test_module_surface_covers_upstream():
    import rbd  # noqa: F401  (the installed module, not the source tree)
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "surface_check.py")],
                            capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stdout + result.stderr
