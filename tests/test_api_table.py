"""The API table (docs/api-table.md) is current, agrees with the installed librbd.h about which C functions exist,
has a row for every upstream method of that release, and src/c_rbd.pxd declares exactly the header's functions;
the module's surface is that release's upstream surface plus our documented additions."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_api_table_is_current_and_matches_the_header():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "api_table.py"), "--check"],
                            capture_output=True, text=True)
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr


def test_module_surface_is_the_releases():
    import rbd  # noqa: F401  (the installed module, not the source tree)
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "surface_check.py")],
                            capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stdout + result.stderr
