"""Build the `rbd` extension module against the installed librbd and librados.

Before compiling anything, a tiny C program is built and linked against the Ceph headers and libraries so that a
missing `-dev` package stops the build with one line that names the Debian package to install, instead of a page
of compiler errors.
"""
import os
import subprocess
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HEADER_PROBES = [
    # (header, library, Debian package that ships both)
    ("rados/librados.h", "rados", "librados-dev"),
    ("rbd/librbd.h", "rbd", "librbd-dev"),
]


def compiler():
    return os.environ.get("CC", "cc")


def probe(header, library):
    """Return None when `header` compiles and `-l<library>` links, else the compiler's complaint."""
    source = f"#include <{header}>\nint main(void) {{ return 0; }}\n"
    with tempfile.TemporaryDirectory() as tmp:
        c_file = os.path.join(tmp, "probe.c")
        with open(c_file, "w") as f:
            f.write(source)
        cmd = compiler().split() + ["-D_FILE_OFFSET_BITS=64", c_file, "-o", os.path.join(tmp, "probe"),
                                    f"-l{library}"]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True)
        except FileNotFoundError:
            return f"no C compiler ({compiler()}) found"
        return None if result.returncode == 0 else result.stderr


def metadata_only():
    """True for the commands that build nothing (they need no compiler, header or Cython run)."""
    return any(arg in sys.argv for arg in ("egg_info", "sdist", "--help", "clean", "--version"))


def check_native_dependencies():
    if metadata_only():
        return
    for header, library, package in HEADER_PROBES:
        problem = probe(header, library)
        if problem is not None:
            what = "a C compiler" if problem.startswith("no C compiler") else f"<{header}> or -l{library}"
            sys.exit(f"error: cannot build rbd: {what} is missing; install it with: apt-get install {package} gcc")


# Built for Python's stable ABI (the limited API of Python 3.11, Cython's limited-API mode): one
# rbd/__init__.abi3.so, in a wheel tagged cp311-abi3, for every CPython from 3.11 on (the buffer protocol entered
# the limited API in 3.11). On an older Python, or with RBD_LIMITED_API=0, the module is built for the running
# Python only, with the full C API (same behaviour; tests/test_build.py).
LIMITED_API = sys.version_info >= (3, 11) and \
    os.environ.get("RBD_LIMITED_API", "1").strip().lower() not in ("", "0", "no", "false", "off")
LIMITED_API_VERSION = 0x030B0000   # Python 3.11: the oldest Python the project supports that has everything used
LIMITED_API_TAG = "cp311"

GENERATED = os.path.join("build", "generated")


def tool(name):
    """The module tools/<name>.py (the build's code generators)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
    try:
        return __import__(name)
    finally:
        del sys.path[0]


def bind_calls():
    """build/generated/librbd_bound.{h,c}: the module's librbd 1.16 and librados calls, bound when it is
    imported instead of linked (see tools/bind_calls.py); returns the C source to compile in."""
    return tool("bind_calls").write()


def assemble_classes():
    """build/generated/assembled/: Image and RBD each joined into one class from their parts in the area files,
    and the area files without those parts (src/rbd.pyx includes these; see tools/assemble.py)."""
    assemble = tool("assemble")
    try:
        assemble.write()
    except assemble.AssemblyError as e:
        sys.exit("error: cannot build rbd: %s" % e)


def extensions():
    from Cython.Build import cythonize

    module = Extension(
        "rbd",
        # module_init.c holds PyInit_rbd: it gives each interpreter a module object of its own over the shared
        # module Cython initialises (as rbd_PyInit_shared, renamed below).
        # librbd_bound.c (generated) binds the librbd and librados calls at import: the module links neither.
        sources=["src/rbd.pyx", "src/module_init.c", os.path.join(GENERATED, "librbd_bound.c")],
        include_dirs=["src", GENERATED],
        define_macros=[
            ("_FILE_OFFSET_BITS", "64"),
            # Single-phase initialisation, as upstream's: every sub-interpreter of a process can import the module
            # (ceph-mgr runs each of its modules in its own) and shares it. With Cython's default (multi-phase) the
            # second one gets "Interpreter change detected". See src/helpers/interpreters.pxi.
            ("CYTHON_PEP489_MULTI_PHASE_INIT", "0"),
            ("PyInit_rbd", "rbd_PyInit_shared"),
        ],
    )
    if LIMITED_API:
        # py_limited_api names the file __init__.abi3.so; Py_LIMITED_API hides everything outside the stable ABI
        # of that Python from both sources; Cython's limited-API mode follows Py_LIMITED_API (CYTHON_LIMITED_API is
        # implied by it in Cython 3.1+, set here too so that an older Cython fails loudly rather than quietly
        # using the full API).
        module.py_limited_api = True
        module.define_macros += [("Py_LIMITED_API", hex(LIMITED_API_VERSION)), ("CYTHON_LIMITED_API", "1")]
        # A function-like macro of the full API used in the limited build is an implicit declaration, an undefined
        # symbol and an ImportError at run time (PyBytes_AS_STRING was): make it a compile error.
        module.extra_compile_args = ["-Werror=implicit-function-declaration"]
    if metadata_only():
        return [module]  # nothing is compiled: the release of the installed header does not matter yet
    bind_calls()
    assemble_classes()
    return cythonize(
        [module],
        include_path=["src", GENERATED],
        compiler_directives={
            "language_level": 3,
            "binding": True,
            "auto_pickle": False,  # iterators and handles are not picklable (no made-up state via unpickling)
        },
    )


STUB = os.path.join("src", "stubs", "rbd.pyi")   # one stub for every librbd release (tools/gen_stubs.py)


class build_ext_as_package_init(build_ext):
    """Build the extension module `rbd` as the package's `rbd/__init__.<suffix>`.

    The module keeps its name (`rbd`: `PyInit_rbd`, classes' `__module__ == "rbd"`, as upstream's), and being a
    package lets pure-Python parts live beside it (`python -m rbd` needs `rbd/__main__.py`).
    """

    def get_ext_filename(self, fullname):
        filename = super().get_ext_filename(fullname)
        if fullname == "rbd":
            return os.path.join("rbd", "__init__" + filename[len("rbd"):])
        return filename


class build_py_with_stub(build_py):
    """Install the type stubs (every release's API; release-only members say so) as rbd/__init__.pyi, beside the extension and the
    py.typed marker."""

    def run(self):
        super().run()
        self.copy_file(STUB, os.path.join(self.build_lib, "rbd", "__init__.pyi"))


check_native_dependencies()
setup(
    name="rbd",
    version="2.1.0",
    description="Python binding to Ceph's librbd: a drop-in replacement for Ceph's own rbd module",
    long_description=open("README.md").read() if os.path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    license="LGPL-2.1-or-later",
    # The abi3 wheel needs 3.11; a build from source on an older Python uses the full C API.
    python_requires=">=3.11" if LIMITED_API else ">=3.9",
    ext_modules=extensions(),
    cmdclass={"build_ext": build_ext_as_package_init, "build_py": build_py_with_stub},
    packages=["rbd"],
    package_dir={"rbd": "src/rbd"},
    package_data={"rbd": ["py.typed"]},
    zip_safe=False,
    # The wheel's tag: cp311-abi3 for the limited-API build (bdist_wheel's own option; `pip wheel` and
    # `pip install` go through it).
    options={"bdist_wheel": {"py_limited_api": LIMITED_API_TAG}} if LIMITED_API else {},
)
