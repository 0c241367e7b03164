"""The project's declarations of librbd types and constants newer than 1.16 (src/librbd_later.h) against the real
header of each release that has them: sizes, field offsets and values (tests/data/late_types_check.c).

A test of the source build: it runs where the build runs (the host: librbd 1.16, whose header has none of them;
the Debian 13 root: 1.18; the sid root: 1.20), each time checking what that header has.
"""
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")

# What each release's header has, by librbd minor version: the declarations the check must have compared there.
COMPARED = {
    16: set(),
    18: {"rbd_encryption_spec_t", "rbd_encryption_luks_format_options_t", "RBD_ENCRYPTION_FORMAT_LUKS",
         "RBD_DIFF_ITERATE_FLAG_INCLUDE_PARENT", "RBD_DIFF_ITERATE_FLAG_WHOLE_OBJECT"},
}
COMPARED[20] = COMPARED[18] | {"rbd_group_snap_info2_t", "rbd_group_image_snap_info_t",
                               "RBD_GROUP_SNAP_NAMESPACE_TYPE_USER", "rbd_snap_trash_namespace_t",
                               "RBD_MIRROR_MODE_INIT_ONLY", "RBD_MIRROR_IMAGE_CREATING",
                               "RBD_LOCK_MODE_EXCLUSIVE_TRANSIENT"}


def header_minor(cc):
    out = subprocess.run([cc, "-E", "-dM", "-x", "c", "-"], input="#include <rbd/librbd.h>\n", text=True,
                         capture_output=True, check=True).stdout
    return int(next(line.split()[2] for line in out.splitlines() if line.startswith("#define LIBRBD_VER_MINOR ")))


def test_later_declarations_match_the_real_header(tmp_path):
    cc = shutil.which(os.environ.get("CC", "cc"))
    assert cc, "the source build's host has a C compiler"
    program = tmp_path / "check"
    build = subprocess.run([cc, "-std=c11", "-Wall", "-Werror", "-I", SRC, "-o", str(program),
                            os.path.join(HERE, "data", "late_types_check.c")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr   # a _Static_assert names the declaration that differs
    compared = set(subprocess.run([str(program)], capture_output=True, text=True, check=True).stdout.split())
    assert compared == COMPARED[header_minor(cc)]
