#!/usr/bin/env python3
"""Assemble `Image` and `RBD`, each one class, from their parts in the area files (setup.py runs this first).

Cython cannot split a class across files and allows `include` only at module level, yet each area keeps its
methods of `Image` and `RBD` in its own file (src/areas/<area>.pxi). There they sit under a header that names
the public class they belong to, marked with a comment:

    cdef class Image:  # part of rbd.Image (tools/assemble.py joins the parts)
    class RBD:  # part of rbd.RBD (tools/assemble.py joins the parts)

A part runs from that header (and the decorators right above it) to the next line of code at column 0; it is
copied, not parsed, so `if HAS_...:` blocks inside it are just text. This script writes, into the git-ignored
build/generated/assembled/ (on Cython's include path):

- `<area>.pxi` for each area: the area file with its parts blanked out (every other line keeps its number, so
  a traceback into module-level code of an area names the right line);
- `class_<Name>.pxi` for each class: the parts in area order (the order of src/rbd.pyx's includes), each
  after a comment naming its file and first line. The first part supplies the decorators, the header and the
  class docstring; the others only their bodies.

It refuses a name (method or attribute) that two parts both define, outside alternative branches of one
`if`/`else` (of a Python class body): in one class the later definition would silently replace the earlier one.

usage: tools/assemble.py [--check]   (--check: exit 1 if the generated files are stale; writes nothing)
"""
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = os.path.join("src", "rbd.pyx")   # relative to the repository, as every path below
OUT_DIR = os.path.join("build", "generated", "assembled")   # relative to the repository; on the include path
INCLUDE_RE = re.compile(r'^include "assembled/(\w+)\.pxi"', re.M)
CLASS_FILE = "class_%s"
HEADER_RE = re.compile(r"^(?:cdef\s+)?class\s+(\w+)\s*:\s*#\s*part of rbd\.(\w+)\b")
MEMBER_RE = re.compile(r"^(?:async\s+def|def|cpdef|cdef)\b[^(=]*?\b(\w+)\s*\(")
ATTRIBUTE_RE = re.compile(r"^cdef\s+(?:public\s+|readonly\s+)?[\w.]+[\s*]+(\w+)\s*(?:#.*)?$")
BRANCH_RE = re.compile(r"^(if|elif|else)\b")   # run-time alternatives in a Python class body (RBD)


class AssemblyError(Exception):
    pass


def area_order(root=REPO):
    """The area names in the order src/rbd.pyx includes them (the classes' own files excluded)."""
    with open(os.path.join(root, MODULE)) as f:
        names = INCLUDE_RE.findall(f.read())
    return [name for name in names if not name.startswith(CLASS_FILE % "")]


def string_states(lines):
    """For each line, True when it starts inside a triple-quoted string (a docstring's continuation)."""
    states, quote = [], None
    for line in lines:
        states.append(quote is not None)
        i = 0
        while i < len(line):
            if quote is not None:
                if line[i] == "\\":
                    i += 2
                    continue
                if line.startswith(quote, i):
                    i += len(quote)
                    quote = None
                    continue
                if len(quote) == 1 and line[i] == "\n":
                    quote = None
                i += 1
                continue
            char = line[i]
            if char == "#":
                break
            if char in "\"'":
                quote = char * 3 if line.startswith(char * 3, i) else char
                i += len(quote)
                continue
            i += 1
        if quote is not None and len(quote) == 1:
            quote = None  # a one-quote string ends with its line
    return states


class Part:
    def __init__(self, path, name, start, header, end, lines):
        self.path = path              # relative to the repository
        self.name = name              # the public class
        self.start = start            # index of its first line (a decorator, or the header)
        self.header = header          # index of the `class` line
        self.end = end                # index after its last line
        self.lines = lines            # the whole file

    @property
    def decorators(self):
        return self.lines[self.start:self.header]

    @property
    def body(self):
        return self.lines[self.header + 1:self.end]


def find_parts(path, lines):
    """The class parts of one file, in order."""
    inside = string_states(lines)
    parts = []
    i = 0
    while i < len(lines):
        m = None if inside[i] else HEADER_RE.match(lines[i])
        if not m:
            i += 1
            continue
        if m.group(1) != m.group(2):
            raise AssemblyError("%s:%d: a part of rbd.%s must be headed `class %s`"
                                % (path, i + 1, m.group(2), m.group(2)))
        start = i
        while start > 0 and lines[start - 1].startswith("@"):
            start -= 1
        end = i + 1
        while end < len(lines) and (inside[end] or not lines[end].strip() or lines[end][0] in " \t#"):
            end += 1
        while end > i + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
            end -= 1   # blank lines and column-0 comments after the part belong to what follows it
        parts.append(Part(path, m.group(1), start, i, end, lines))
        i = end
    return parts


def defined_names(part):
    """[(name, branch, line number)] of the methods and attributes a part defines at class level; `branch` is
    (line of its `if`, index of the if/elif/else branch) for those inside a conditional of the class body (a Python
    class's run-time alternatives: helpers/releases.pxi), else None."""
    found, branch, if_line, index = [], None, None, 0
    inside = string_states(part.lines)
    for offset, line in enumerate(part.body):
        number = part.header + 2 + offset
        if inside[number - 1] or not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        if indent == 4:
            m = BRANCH_RE.match(text)
            if m:
                if m.group(1) == "if":
                    if_line, index = number, 0
                else:
                    index += 1
                branch = (if_line, index)
                continue
            branch = None
        elif indent != 8 or branch is None:
            continue
        m = MEMBER_RE.match(text) or ATTRIBUTE_RE.match(text)
        if m:
            found.append((m.group(1), branch, number))
    return found


def check_duplicates(name, parts):
    seen = {}
    for part in parts:
        for member, branch, number in defined_names(part):
            for other_part, other_branch, other_number in seen.get(member, []):
                alternatives = branch is not None and other_branch is not None and \
                    branch[0] == other_branch[0] and other_part is part and branch[1] != other_branch[1]
                if not alternatives:
                    raise AssemblyError("%s.%s is defined twice: %s:%d and %s:%d (one class now: keep one)"
                                        % (name, member, other_part.path, other_number, part.path, number))
            seen.setdefault(member, []).append((part, branch, number))


def class_text(name, parts):
    out = ["# Generated by tools/assemble.py: class %s, joined from its parts in src/areas/ (do not edit: edit those)."
           % name,
           "# Each part follows a comment naming its file and the line its first line comes from.", ""]
    for n, part in enumerate(parts):
        if n == 0:
            out.append("# ---- %s, from line %d ----\n" % (part.path, part.start + 1))
            out += part.decorators
            out.append(part.lines[part.header])
        else:
            if part.decorators:
                raise AssemblyError("%s:%d: only the first part of %s (%s) may carry decorators"
                                    % (part.path, part.start + 1, name, parts[0].path))
            out.append("\n")
            out.append("    # ---- %s, from line %d ----\n" % (part.path, part.header + 2))
        out += part.body
    return "".join(line if line.endswith("\n") else line + "\n" for line in out if isinstance(line, str))


def assemble(root=REPO):
    """{relative output path: text} of every generated file, for the sources under `root`."""
    classes, outputs = {}, {}
    for area in area_order(root):
        relative = os.path.join("src", "areas", area + ".pxi")
        with open(os.path.join(root, relative)) as f:
            lines = f.readlines()
        remainder = list(lines)
        for part in find_parts(relative, lines):
            classes.setdefault(part.name, []).append(part)
            for i in range(part.start, part.end):
                remainder[i] = "\n"
            remainder[part.header] = "# (its part of class %s: build/generated/assembled/%s.pxi)\n" % (
                part.name, CLASS_FILE % part.name)
        remainder.append("\n# Generated by tools/assemble.py from %s, its class parts blanked out so that every line"
                         " keeps its number (do not edit: edit that file).\n" % relative)
        outputs[os.path.join(OUT_DIR, area + ".pxi")] = "".join(remainder)
    with open(os.path.join(root, MODULE)) as f:
        wanted = [n[len(CLASS_FILE % ""):] for n in INCLUDE_RE.findall(f.read())
                  if n.startswith(CLASS_FILE % "")]
    for name in wanted:
        if name not in classes:
            raise AssemblyError("src/rbd.pyx includes %s.pxi but no area has a part of %s"
                                % (CLASS_FILE % name, name))
    for name, parts in classes.items():
        if name not in wanted:
            raise AssemblyError("%s:%d: a part of %s, but src/rbd.pyx does not include %s.pxi"
                                % (parts[0].path, parts[0].header + 1, name, CLASS_FILE % name))
        check_duplicates(name, parts)
        outputs[os.path.join(OUT_DIR, CLASS_FILE % name + ".pxi")] = class_text(name, parts)
    return outputs


def write(root=REPO):
    """Write the generated files under `root` (only those that changed, so Cython rebuilds only when needed)."""
    for relative, text in assemble(root).items():
        target = os.path.join(root, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.exists(target):
            with open(target) as f:
                if f.read() == text:
                    continue
        with open(target, "w") as f:
            f.write(text)


def main():
    try:
        outputs = assemble()
    except AssemblyError as e:
        print("assemble: error: %s" % e, file=sys.stderr)
        return 1
    if "--check" in sys.argv:
        stale = [p for p, text in outputs.items() if not os.path.exists(os.path.join(REPO, p))
                 or open(os.path.join(REPO, p)).read() != text]
        for path in stale:
            print("stale:", path)
        return 1 if stale else 0
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
