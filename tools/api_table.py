#!/usr/bin/env python3
"""The API table: Python API -> librbd C function(s) -> where the Python API comes from, and its checks.

    tools/api_table.py --write   regenerate docs/api-table.md from the sources
    tools/api_table.py --check   fail if docs/api-table.md is stale, if a C function the sources call is not in
                                 the installed librbd.h (unless it first arrived in a later release), if
                                 src/c_rbd.pxd does not declare exactly the header's functions, or if an
                                 upstream name of that release has no row; print the header coverage

The table is derived from the sources (each `def` in src/areas/*.pxi and the `rbd_*` calls in its body), so it
cannot drift from the code; it covers every release (the sources hold every release's code; the module picks
at import what the loaded librbd has) and says where each Python API and each newer C function first appears. The check compares it with the
installed header, as go-ceph's `implements` does. Stdlib only.
"""
import argparse
import json
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
from assemble import area_order  # noqa: E402
from check_pxd_coverage import (DEFAULT_HEADER, FIRST_RELEASE, header_functions, header_macros,  # noqa: E402
                                pxd_functions)

AREAS = os.path.join(REPO, "src", "areas")
HELPERS = os.path.join(REPO, "src", "helpers")
# Helpers that call librbd only to word an error message (rbd_version): not part of what an API calls.
MESSAGE_HELPERS = {"missing_librbd_call"}
TABLE = os.path.join(REPO, "docs", "api-table.md")
DATA = os.path.join(REPO, "tests", "data")
RELEASES = ("16.2.15", "18.2.7", "20.2.4")  # tests/data/rbd-<release>.json: upstream's surface of each
CLASS_RE = re.compile(r"^(?:cdef )?class (\w+)(?:\((\w+))?")
BASES = {}  # class -> its first base, as written in the sources (for methods inherited from a private base)
DEF_RE = re.compile(r"^    (?:    )?(?:async )?def (\w+)\(")  # deeper when inside an `IF HAS_...:` block
HELPER_RE = re.compile(r"^(?:    )?cdef (?:[\w *]+ )?\*?(\w+)\(")  # module-level cdef helpers (maybe under IF)
CALL_RE = re.compile(r"(?<![A-Za-z0-9])(rbd_\w+)\b")  # also in late_rbd_* (helpers/late_calls.pxi)


def area_files():
    """(area, path) in the order src/rbd.pyx includes them (tools/assemble.py joins their class parts)."""
    return [(name, os.path.join(AREAS, name + ".pxi")) for name in area_order()]


def scan(path, c_functions):
    """[(class, method, [C functions], [classes it hands off to])] for one area file. A method that calls a
    module-level cdef helper of the same file gets the helper's C functions too."""
    rows, current_class, current = [], None, None
    # The shared helpers (src/helpers/*.pxi) first, so that an area method calling one of them (open_image_handle,
    # refuse_if_advisory_locked, ...) gets its C functions too; the rows found there are dropped (None marks
    # where the area file starts).
    lines = []
    for name in sorted(os.listdir(HELPERS)):
        if name.endswith(".pxi"):
            with open(os.path.join(HELPERS, name)) as f:
                lines += f.readlines()
    lines.append(None)
    with open(path) as f:
        lines += f.readlines()
    helpers, helper = {}, None
    for line in lines:
        m = HELPER_RE.match(line or "")
        if m and m.group(1) not in MESSAGE_HELPERS:
            helpers[m.group(1)] = []
    in_string = False
    for line in lines:
        if line is None:
            rows, current_class, current, helper, in_string = [], None, None, None, False
            continue
        was_in_string = in_string
        if line.count('"""') % 2:
            in_string = not in_string
        if was_in_string:
            continue  # docstring text may start at column 0 (the "Name(args)\n--" signature headers)
        m = CLASS_RE.match(line)
        if m:
            current_class, current, helper = m.group(1), None, None
            if m.group(2):
                BASES[m.group(1)] = m.group(2)
            continue
        m = HELPER_RE.match(line)
        if m and current_class is None or m and not line.startswith("    "):
            current_class, current, helper = None, None, helpers.get(m.group(1))
            continue
        if line.strip() and not line[0].isspace() and not line.startswith(("#", "@")):
            current_class, current, helper = None, None, None  # module-level code ends a class or helper
            continue
        m = DEF_RE.match(line)
        if m and current_class:
            current = [current_class, m.group(1), [], []]
            rows.append(current)
            continue
        code = line.split("#", 1)[0]
        if helper is not None:
            helper.extend(n for n in CALL_RE.findall(code) if n in c_functions and n not in helper)
            helper.extend("helper:" + n for n in re.findall(r"\b(\w+)\b", code)
                          if n in helpers and "helper:" + n not in helper)
        if current is not None:
            for name in CALL_RE.findall(code):
                if name in c_functions and name not in current[2]:
                    current[2].append(name)
            for name in re.findall(r"\b(\w+)\b", code):
                if name in helpers:
                    current[3].append("helper:" + name)
            for name in re.findall(r"\b([A-Z]\w*Iterator)\(", code):
                if name not in current[3]:
                    current[3].append(name)
    def helper_functions(name, seen):
        """The C functions of helper `name` and of the helpers it calls, in order of appearance."""
        found = []
        for entry in helpers.get(name, ()):
            if entry.startswith("helper:"):
                if entry not in seen:
                    seen.add(entry)
                    found += helper_functions(entry[len("helper:"):], seen)
            else:
                found.append(entry)
        return found

    for row in rows:
        for entry in [h for h in row[3] if h.startswith("helper:")]:
            row[3].remove(entry)
            for name in helper_functions(entry[len("helper:"):], {entry}):
                if name not in row[2]:
                    row[2].append(name)
    return rows


def is_public(method):
    return not method.startswith("_") or method in ("__init__", "__iter__", "__enter__", "__exit__", "__repr__")


def build_table(c_functions, upstream):
    out = ["# API table", "",
           "Generated by `tools/api_table.py --write` from the sources; `tools/api_table.py --check` (run by the",
           "test suite) keeps it in step with them and with the installed `librbd.h`.", "",
           "Origin: the first of upstream's Python modules of Ceph **16.2.15** (Pacific, librbd 1.16), **18.2.7**",
           "(Reef, 1.18) and **20.2.4** (Tentacle, 1.20) that has the API (the module running on a release has",
           "exactly that release's upstream API); **added** = ours, on every release. A C function newer than",
           "librbd 1.16 carries the librbd version that first has it, e.g. `rbd_clone4` (1.20).", ""]
    seen = set()
    for area, path in area_files():
        rows = [r for r in scan(path, c_functions) if is_public(r[1])]
        if not rows:
            continue
        out += ["## %s (`src/areas/%s.pxi`)" % (area, area), "", "| Python API | librbd C function(s) | Origin |",
                "|---|---|---|"]
        merged = {}
        for cls, method, calls, handoffs in rows:  # a method defined per release (IF/ELSE) is one row
            key = "%s.%s" % (cls, method)
            if key in merged:
                merged[key][2].extend(c for c in calls if c not in merged[key][2])
            else:
                merged[key] = [cls, method, list(calls), handoffs]
        for cls, method, calls, handoffs in merged.values():
            key = "%s.%s" % (cls, method)
            if key in seen:
                continue
            seen.add(key)
            parts = ["`%s`%s" % (c, " (1.%d)" % FIRST_RELEASE[c] if c in FIRST_RELEASE else "") for c in calls] \
                + ["via `%s`" % h for h in handoffs if h != cls]
            origin = next((release for release in RELEASES if method in upstream[release].get(cls, ()) or (
                method in ("__iter__", "__init__") and cls in upstream[release])), "added")
            out.append("| `%s` | %s | %s |" % (key, ", ".join(parts) or "-", origin))
        out.append("")
    return "\n".join(out), seen


def load_upstream():
    """{release: {class: {method names}}} from each release's surface."""
    upstream = {}
    for release in RELEASES:
        with open(os.path.join(DATA, "rbd-%s.json" % release)) as f:
            names = json.load(f)["names"]
        upstream[release] = {cls: set(entry["members"]) for cls, entry in names.items()
                             if entry.get("members") and not entry.get("is_exception")}
    return upstream


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--header", default=DEFAULT_HEADER)
    args = parser.parse_args()
    header = header_functions(args.header)
    minor = header_macros(args.header).get("LIBRBD_VER_MINOR", 0)
    upstream = load_upstream()
    # Every release's C functions, so that the table is the same whichever header is installed.
    text, rows = build_table(set(header) | set(FIRST_RELEASE), upstream)
    release = next((r for r in RELEASES if int(r.split(".")[0]) == minor), RELEASES[-1])
    if args.write:
        with open(TABLE, "w") as f:
            f.write(text)
        print("wrote", TABLE)
    problems = []
    if args.check:
        if not os.path.exists(TABLE) or open(TABLE).read() != text:
            problems.append("docs/api-table.md is stale: run tools/api_table.py --write")
        declared = pxd_functions(minor=minor)
        missing_decl = sorted(n for n, deprecated in header.items() if not deprecated and n not in declared)
        if missing_decl:
            problems.append("src/c_rbd.pxd lacks: %s" % ", ".join(missing_decl))
        extra_decl = sorted(n for n in declared if n.startswith("rbd_") and n not in header)
        if extra_decl:
            problems.append("src/c_rbd.pxd declares for this header what it lacks: %s" % ", ".join(extra_decl))
        for name, first in sorted(FIRST_RELEASE.items()):
            if (first <= minor) != (name in header):
                problems.append("%s: FIRST_RELEASE says librbd 1.%d, the header (1.%d) disagrees"
                                % (name, first, minor))
        for cls, methods in upstream[release].items():
            for method in methods:
                owner = cls
                while "%s.%s" % (owner, method) not in rows and owner in BASES:
                    owner = BASES[owner]
                if is_public(method) and method not in ("__iter__",) and "%s.%s" % (owner, method) not in rows:
                    if cls in ("Image", "RBD", "Group", "Completion") or method == "get_next_chunk":
                        problems.append("no table row for upstream %s.%s" % (cls, method))
    used = set()
    for _, path in area_files():
        with open(path) as f:
            used |= {n for n in CALL_RE.findall(f.read()) if n in header}
    live = {n for n, deprecated in header.items() if not deprecated}
    print("librbd functions called: %d of %d non-deprecated in %s (librbd 1.%d, %.0f%%)"
          % (len(used & live), len(live), args.header, minor, 100.0 * len(used & live) / len(live)))
    for problem in problems:
        print("error:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
