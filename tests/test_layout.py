"""`Image` and `RBD` are one class each, with every method of their own, assembled at build time from their parts in
the area files (tools/assemble.py); and the assembler keeps line numbers, names each part's source and refuses a
name two parts define."""
import os
import pickle
import pydoc
import subprocess
import sys
import textwrap
import weakref

import pytest

import rbd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import assemble  # noqa: E402


def public_callables(cls, names):
    return sorted(n for n in names if not n.startswith("_") and callable(getattr(cls, n)))


def test_image_and_rbd_are_one_class_each():
    assert rbd.Image.__mro__ == (rbd.Image, object)
    assert rbd.RBD.__mro__ == (rbd.RBD, object)
    for cls in (rbd.Image, rbd.RBD):
        own = public_callables(cls, vars(cls))
        assert own == public_callables(cls, dir(cls))
        assert len(own) > 50


def test_every_public_class_holds_its_public_methods():
    for name, cls in vars(rbd).items():
        if name.startswith("_") or not isinstance(cls, type) or cls.__module__ != "rbd" or \
                issubclass(cls, BaseException) or cls is rbd.ImageFile:   # ImageFile: io.RawIOBase's are io's
            continue
        assert public_callables(cls, vars(cls)) == public_callables(cls, dir(cls)), name


def test_no_private_area_classes_are_left():
    assert [n for n in dir(rbd) if n.startswith(("_Image", "_RBD"))] == []
    for cls in (rbd.Image, rbd.RBD):
        text = pydoc.render_doc(cls, renderer=pydoc.plaintext)
        assert "_Image" not in text and "_RBD" not in text
        assert "Method resolution order" not in text   # nothing but the class and object


def test_image_stays_subclassable_weakly_referencable_and_unpicklable():
    class MyImage(rbd.Image):
        pass
    image = MyImage.__new__(MyImage)   # not opened: closed
    assert weakref.ref(image)() is image
    with pytest.raises(TypeError):
        pickle.dumps(image)
    with pytest.raises(rbd.InvalidArgument):
        image.size()


def test_generated_classes_are_current():
    # The built module comes from build/generated/assembled/, which setup.py writes from the area files.
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "assemble.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, "rebuild (ci/setup.sh): " + result.stdout + result.stderr


def make_tree(tmp_path, areas):
    """A source tree with src/rbd.pyx including `areas` ({name: text}) and the two classes."""
    (tmp_path / "src" / "areas").mkdir(parents=True)
    includes = "".join('include "assembled/%s.pxi"\n' % name for name in areas)
    (tmp_path / "src" / "rbd.pyx").write_text(includes + 'include "assembled/class_Image.pxi"\n'
                                              'include "assembled/class_RBD.pxi"\n')
    for name, text in areas.items():
        (tmp_path / "src" / "areas" / (name + ".pxi")).write_text(textwrap.dedent(text).lstrip("\n"))
    return str(tmp_path)


AREA_ONE = '''
    cdef int helper():
        return 1


    @cython.no_gc_clear
    cdef class Image:  # part of rbd.Image
        """Image(ioctx)
    --

    A docstring whose lines start at column 0 does not end the part.
        """
        cdef int handle

        def first(self):
            return helper()


    class RBD:  # part of rbd.RBD
        """The pool calls."""

        def one(self):
            pass


    cdef int after():
        return 2
'''

AREA_TWO = '''
    cdef class Image:  # part of rbd.Image
        def second(self):
            return 2


    cdef int helper_two():
        return 3


    class RBD:  # part of rbd.RBD
        """Part two."""

        if HAS_X:
            def two(self):
                pass
        else:
            def two(self, other):
                pass
'''


def test_assembler_joins_parts_in_area_order_and_keeps_line_numbers(tmp_path):
    root = make_tree(tmp_path, {"one": AREA_ONE, "two": AREA_TWO})
    out = assemble.assemble(root)
    image = out[os.path.join("build", "generated", "assembled", "class_Image.pxi")]
    lines = image.splitlines()
    # The first part brings its decorator, header and docstring; each part follows a comment naming its source.
    start = lines.index("# ---- src/areas/one.pxi, from line 5 ----")
    assert lines[start + 1:start + 3] == ["@cython.no_gc_clear", "cdef class Image:  # part of rbd.Image"]
    assert "A docstring whose lines start at column 0 does not end the part." in lines
    second = lines.index("    # ---- src/areas/two.pxi, from line 2 ----")
    assert lines[second + 1] == "    def second(self):"
    assert image.index("def first") < image.index("def second")
    assert image.count("cdef class Image") == 1 and "after()" not in image and "helper_two" not in image
    rbd_class = out[os.path.join("build", "generated", "assembled", "class_RBD.pxi")]
    assert rbd_class.count("\nclass RBD") == 1
    assert rbd_class.index('"""The pool calls."""') < rbd_class.index("def one") < rbd_class.index("def two")
    assert "    if HAS_X:" in rbd_class.splitlines()  # a Python class's run-time alternatives: one name, twice
    # The rest of each area keeps its line numbers; the parts are gone.
    for name, text in (("one", AREA_ONE), ("two", AREA_TWO)):
        source = textwrap.dedent(text).lstrip("\n").splitlines()
        rest = out[os.path.join("build", "generated", "assembled", name + ".pxi")].splitlines()
        for number, line in enumerate(source):
            if line.startswith("cdef int "):
                assert rest[number] == line
        assert "def first" not in "\n".join(rest) and "def two" not in "\n".join(rest)


def test_assembler_refuses_a_name_two_parts_define(tmp_path):
    clash = AREA_TWO.replace("    cdef class Image:  # part of rbd.Image\n",
                          "    cdef class Image:  # part of rbd.Image\n        def first(self):\n"
                          "            return 0\n\n")
    root = make_tree(tmp_path, {"one": AREA_ONE, "two": clash})
    with pytest.raises(assemble.AssemblyError, match=r"Image\.first is defined twice: src/areas/one\.pxi:\d+ and "
                                                     r"src/areas/two\.pxi:\d+"):
        assemble.assemble(root)


def test_assembler_refuses_decorators_on_a_later_part(tmp_path):
    root = make_tree(tmp_path, {"one": AREA_ONE, "two": AREA_TWO.replace(
        "    cdef class Image:", "    @cython.final\n    cdef class Image:", 1)})
    with pytest.raises(assemble.AssemblyError, match="only the first part of Image"):
        assemble.assemble(root)
