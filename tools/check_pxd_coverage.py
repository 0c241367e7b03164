#!/usr/bin/env python3
"""Check that src/c_rbd.pxd declares exactly the CEPH_RBD_API functions of the installed librbd.h.

Usage: tools/check_pxd_coverage.py [--header PATH] [--pxd PATH] [-v]

Declarations in the `cdef extern from "librbd_later.h"` block (calls newer than librbd 1.16, looked up at import)
count only when FIRST_RELEASE says the header's release has them. Exit status is 1 if
any non-deprecated CEPH_RBD_API function of the header is missing from the .pxd, or if the .pxd declares for
this header a function the header lacks, or if FIRST_RELEASE disagrees with the header; 0 otherwise. Missing
deprecated functions (CEPH_RBD_DEPRECATED) are reported but do not fail the check.

Stdlib only.  The parsing helpers are meant to be reused (e.g. to compare
against the functions actually called by the .pyx sources):

    header_functions(path) -> dict[name, deprecated_bool]
    pxd_functions(path, minor=None) -> set[name] (all, or those librbd 1.<minor> has)
    pxd_blocks(path)       -> dict[name, header of the `cdef extern from` block declaring it]
"""

import argparse
import os
import re
import sys

DEFAULT_HEADER = "/usr/include/rbd/librbd.h"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PXD = os.path.join(REPO, "src", "c_rbd.pxd")
RELEASES = os.path.join(REPO, "src", "helpers", "releases.pxi")

# The librbd minor version (Ceph release) that first has each function newer than 1.16 (Ceph 16), as the
# headers of Ceph 18.2.7 and 20.2.4 show. The API table prints it; the check compares it with the header.
FIRST_RELEASE = {
    "rbd_diff_iterate3": 18, "rbd_encryption_load2": 18, "rbd_aio_compare_and_writev": 18,
    "rbd_clone4": 20, "rbd_mirror_remote_namespace_get": 20, "rbd_mirror_remote_namespace_set": 20,
    "rbd_snap_get_trash_namespace2": 20, "rbd_snap_trash_namespace_cleanup": 20, "rbd_group_get_id": 20,
    "rbd_group_snap_list2": 20, "rbd_group_snap_list2_cleanup": 20, "rbd_group_snap_get_info": 20,
    "rbd_group_snap_get_info_cleanup": 20, "rbd_aio_write_with_crc32c": 20,
}

_C_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
# name immediately followed by '(' -- the first such identifier in a
# declaration is the function name (return types here are never function
# pointers, and parameter lists come after the name).
_CALL_NAME = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def _strip_c(text):
    text = _C_COMMENT.sub(" ", text)
    # drop preprocessor lines (handles backslash continuations)
    text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
    return text


def header_functions(path=DEFAULT_HEADER):
    """Return {function_name: is_deprecated} for every CEPH_RBD_API
    declaration of the C header at *path* (multi-line prototypes OK)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = _strip_c(f.read())
    funcs = {}
    # Each declaration starts at CEPH_RBD_API and ends at the next ';'.
    for m in re.finditer(r"\bCEPH_RBD_API\b([^;]*);", text):
        decl = m.group(1)
        name = _CALL_NAME.search(decl)
        if not name:
            continue
        funcs[name.group(1)] = "CEPH_RBD_DEPRECATED" in decl
    return funcs


def header_macros(path=DEFAULT_HEADER):
    """{name: int} of the header's numeric LIBRBD_* macros (version and feature macros)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return {m.group(1): int(m.group(2))
                for m in re.finditer(r"^#define\s+(LIBRBD_\w+)\s+(\d+)\s*$", f.read(), re.M)}


LATER_BLOCK = "librbd_later.h"


def pxd_functions(path=DEFAULT_PXD, minor=None):
    """Return the set of function names declared inside `cdef extern from` blocks of the .pxd at *path*
    (multi-line declarations OK); with *minor*, only those librbd 1.<minor> has (the newer calls of the
    librbd_later.h block by FIRST_RELEASE)."""
    return {name for name, block in pxd_blocks(path).items()
            if minor is None or block != LATER_BLOCK or FIRST_RELEASE[name] <= minor}


def pxd_blocks(path=DEFAULT_PXD):
    """{function name: the header named by the `cdef extern from` block that declares it}."""
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    names = {}
    block = None
    buf = ""
    depth = 0
    for raw in lines:
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indented = line[0] in " \t"
        if not indented and depth == 0:
            m = re.match(r'cdef extern from "([^"]+)"', line)
            block = m.group(1) if m else None
            continue
        if block is None:
            continue
        buf += " " + line.strip()
        depth += line.count("(") - line.count(")")
        if depth > 0:
            continue  # declaration continues on the next line
        stmt, buf, depth = buf.strip(), "", 0
        if stmt.startswith(("ctypedef", "cdef struct", "struct", "enum",
                            "cdef enum")) or stmt.endswith(":"):
            continue
        m = _CALL_NAME.search(stmt)
        # skip function-pointer variables: `int (*name)(...)`
        if m and not re.match(r"[^(]*\(\s*\*", stmt):
            names[m.group(1)] = block
    return names


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--header", default=DEFAULT_HEADER)
    ap.add_argument("--pxd", default=DEFAULT_PXD)
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="also list declared names not found in the header")
    args = ap.parse_args(argv)

    hdr = header_functions(args.header)
    minor = header_macros(args.header).get("LIBRBD_VER_MINOR", 0)
    pxd = pxd_functions(args.pxd, minor)
    missing = sorted(n for n in hdr if n not in pxd)
    not_in_header = sorted(n for n in pxd if n.startswith("rbd_") and n not in hdr)
    wrong_release = sorted(n for n, first in FIRST_RELEASE.items() if (first <= minor) != (n in hdr))
    missing_live = [n for n in missing if not hdr[n]]
    missing_depr = [n for n in missing if hdr[n]]
    n_depr = sum(hdr.values())

    print("header: %d CEPH_RBD_API functions (%d deprecated) in %s"
          % (len(hdr), n_depr, args.header))
    print("pxd:    %d functions declared in %s" % (len(pxd), args.pxd))
    print("missing: %d (%d non-deprecated, %d deprecated)"
          % (len(missing), len(missing_live), len(missing_depr)))
    for n in missing_live:
        print("  MISSING %s" % n)
    for n in missing_depr:
        print("  missing (deprecated) %s" % n)
    for n in not_in_header:
        print("  DECLARED for this header but not in it: %s" % n)
    for n in wrong_release:
        print("  FIRST_RELEASE says %s arrived in 1.%d: disagrees with this header (1.%d)"
              % (n, FIRST_RELEASE[n], minor))
    if args.verbose:
        extra = sorted(n for n in pxd if n not in hdr)
        print("declared but not CEPH_RBD_API in librbd.h: %d" % len(extra))
        for n in extra:
            print("  extra %s" % n)
    return 1 if missing_live or not_in_header or wrong_release else 0


if __name__ == "__main__":
    sys.exit(main())
