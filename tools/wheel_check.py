#!/usr/bin/env python3
"""Checks of a binary wheel for ci/wheel.sh (needs auditwheel, and the pyelftools it depends on).

usage: python tools/wheel_check.py verdict WHEEL [--exclude SONAME ...]
           auditwheel's analysis of WHEEL as `auditwheel show` makes it, but with the libraries that
           `auditwheel repair --exclude` leaves out (librbd, librados: the host's own, found at import) left out
           of it too: `auditwheel show` has no --exclude, and would judge librbd's own dependencies (libstdc++,
           boost, ...) instead of the module.  Prints the verdict; its last line is `policy NAME`.
       python tools/wheel_check.py contents WHEEL
           Lists the wheel's files; exit 1 if any of them is a Ceph library (librbd, librados, libceph-*).

The glibc floor printed by `verdict` is the newest GLIBC_x.y symbol version the wheel's own ELF files require,
with the symbols that require it: the reason the wheel needs that manylinux tag.
"""
import os
import re
import sys
import tempfile
import zipfile

CEPH_LIBRARY = re.compile(r"(^|/)lib(rbd|rados|ceph)[^/]*\.so(\.|$)")


def version_key(version):
    return tuple(int(part) for part in version.split("."))


def glibc_needs(path):
    """{symbol: 'x.y'} of the GLIBC-versioned symbols the ELF file `path` imports."""
    from elftools.elf.elffile import ELFFile
    found = {}
    with open(path, "rb") as f:
        elf = ELFFile(f)
        verneed, versym, dynsym = (elf.get_section_by_name(name)
                                   for name in (".gnu.version_r", ".gnu.version", ".dynsym"))
        if verneed is None or versym is None or dynsym is None:
            return found
        names = {}
        for _, auxiliaries in verneed.iter_versions():
            for aux in auxiliaries:
                names[aux["vna_other"]] = aux.name
        for index, symbol in enumerate(dynsym.iter_symbols()):
            if symbol["st_shndx"] != "SHN_UNDEF":
                continue
            ndx = versym.get_symbol(index)["ndx"]
            if isinstance(ndx, int):
                version = names.get(ndx & 0x7FFF, "")
                if version.startswith("GLIBC_"):
                    found[symbol.name] = version[len("GLIBC_"):]
    return found


def verdict(wheel, exclude):
    from pathlib import Path

    from auditwheel.wheel_abi import analyze_wheel_abi

    info = analyze_wheel_abi(None, None, Path(wheel), frozenset(exclude), disable_isa_ext_check=False,
                             allow_graft=True)
    print("auditwheel (excluding %s): platform tag %s; by symbol versions alone %s"
          % (", ".join(exclude) or "nothing", info.overall_policy.name, info.sym_policy.name))
    external = sorted(getattr(info.external_refs.get(info.overall_policy.name), "libs", None) or ())
    if external:
        print("libraries it would graft into the wheel: %s" % ", ".join(external))
    needs = {}
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if re.search(r"\.so(\.|$)", name):
                for symbol, version in glibc_needs(archive.extract(name, tmp)).items():
                    needs.setdefault(version, set()).add("%s (%s)" % (symbol, os.path.basename(name)))
    if needs:
        floor = max(needs, key=version_key)
        print("glibc floor %s: needed by %s" % (floor, ", ".join(sorted(needs[floor]))))
    else:
        print("glibc floor: none (no GLIBC-versioned symbol)")
    print("policy %s" % info.overall_policy.name)


def contents(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    for name in names:
        print("  " + name)
    bad = [name for name in names if CEPH_LIBRARY.search(name)]
    if bad:
        print("error: %s contains Ceph libraries (they must come from the host): %s"
              % (os.path.basename(wheel), ", ".join(bad)), file=sys.stderr)
        return 1
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "verdict":
        exclude = []
        rest = argv[2:]
        while rest:
            if rest[0] != "--exclude" or len(rest) < 2:
                sys.exit(__doc__)
            exclude.append(rest[1])
            rest = rest[2:]
        verdict(argv[1], exclude)
        return 0
    if len(argv) == 2 and argv[0] == "contents":
        return contents(argv[1])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
