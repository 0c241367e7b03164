#!/usr/bin/env python3
"""Check that src/c_rbd.pxd declares every CEPH_RBD_API function of librbd.h.

Usage: tools/check_pxd_coverage.py [--header PATH] [--pxd PATH] [-v]

Exit status is 1 if any non-deprecated CEPH_RBD_API function of the header
is missing from the .pxd, 0 otherwise.  Missing deprecated functions
(CEPH_RBD_DEPRECATED) are reported but do not fail the check.

Stdlib only.  The parsing helpers are meant to be reused (e.g. to compare
against the functions actually called by the .pyx sources):

    header_functions(path) -> dict[name, deprecated_bool]
    pxd_functions(path)    -> set[name]
"""

import argparse
import os
import re
import sys

DEFAULT_HEADER = "/usr/include/rbd/librbd.h"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PXD = os.path.join(REPO, "src", "c_rbd.pxd")

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


def pxd_functions(path=DEFAULT_PXD):
    """Return the set of function names declared inside `cdef extern from`
    blocks of the .pxd at *path* (multi-line declarations OK)."""
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    names = set()
    in_extern = False
    buf = ""
    depth = 0
    for raw in lines:
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indented = line[0] in " \t"
        if not indented and depth == 0:
            in_extern = line.startswith("cdef extern from")
            continue
        if not in_extern:
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
            names.add(m.group(1))
    return names


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--header", default=DEFAULT_HEADER)
    ap.add_argument("--pxd", default=DEFAULT_PXD)
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="also list declared names not found in the header")
    args = ap.parse_args(argv)

    hdr = header_functions(args.header)
    pxd = pxd_functions(args.pxd)
    missing = sorted(n for n in hdr if n not in pxd)
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
    if args.verbose:
        extra = sorted(n for n in pxd if n not in hdr)
        print("declared but not CEPH_RBD_API in librbd.h: %d" % len(extra))
        for n in extra:
            print("  extra %s" % n)
    return 1 if missing_live else 0


if __name__ == "__main__":
    sys.exit(main())
