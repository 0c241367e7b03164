# cython: language_level=3, binding=True
"""Python binding to librbd, Ceph's block device library: a drop-in replacement for Ceph's own `rbd` module.

`RBD` works on a pool (create, list, remove, clone, trash, groups, mirroring, ...), `Image` on one image (I/O,
snapshots, locks, metadata, ...). Both take an `Ioctx` from python3-rados (`rados.Rados(...).open_ioctx(pool)`).

Errors from librbd are raised as subclasses of `Error` (mostly `OSError` with an `errno`). Every librbd call
runs without the GIL, so other Python threads keep running while the cluster works.
"""

from cpython.buffer cimport PyObject_CheckBuffer, PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, \
    PyBUF_WRITABLE
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.pyport cimport PY_SSIZE_T_MAX
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport strlen, memset
from libc.time cimport timespec
from posix.unistd cimport usleep

from c_rbd cimport *
cimport cython
cimport rados

# The bytes of a bytes object (one the module made: no type check is needed). PyBytes_AS_STRING is a macro outside
# the limited API (setup.py, RBD_LIMITED_API): there the stable ABI's function does the same, with a type check.
cdef extern from *:
    """
    #ifdef Py_LIMITED_API
    #define rbd_py_bytes_data(o) PyBytes_AsString(o)
    #else
    #define rbd_py_bytes_data(o) PyBytes_AS_STRING(o)
    #endif
    """
    char *PyBytes_AS_STRING "rbd_py_bytes_data"(object) noexcept

# Names upstream's module exposes as a side effect of its imports; kept because callers may use them.
import errno
import json
import sys
import time
from collections.abc import Iterable
from datetime import datetime, timezone as _timezone
from itertools import chain

import functools as _functools
import weakref as _weakref

# Which API needs which librbd release (run-time flags from the loaded librbd).
include "helpers/releases.pxi"

if HAS_AWARE_TIMESTAMPS:
    from datetime import timezone  # upstream 20's module exposes it as a side effect of its imports, too

# The shared helpers every area uses.
include "helpers/errors.pxi"
include "helpers/strings.pxi"
include "helpers/interop.pxi"
include "helpers/buffers.pxi"
include "helpers/options.pxi"
include "helpers/callbacks.pxi"
include "helpers/late_calls.pxi"
include "helpers/constants.pxi"
include "helpers/interpreters.pxi"
include "helpers/handles.pxi"

# The areas, one file each (src/areas/<area>.pxi). Each defines its part of `Image` and of `RBD` under a header
# `cdef class Image:  # part of rbd.Image` / `class RBD:  # part of rbd.RBD`: Cython cannot split a class across
# files, so tools/assemble.py (run by setup.py before Cython) writes into build/generated/assembled/ each area
# file without its parts, and one class_Image.pxi and one class_RBD.pxi joining the parts in this order.
include "assembled/image.pxi"
include "assembled/io.pxi"
include "assembled/snapshots.pxi"
include "assembled/clones.pxi"
include "assembled/locks.pxi"
include "assembled/metadata.pxi"
include "assembled/config.pxi"
include "assembled/encryption.pxi"
include "assembled/mirroring.pxi"
include "assembled/groups.pxi"
include "assembled/migration.pxi"
include "assembled/trash.pxi"
include "assembled/namespaces.pxi"
include "assembled/pool.pxi"
include "assembled/aio.pxi"
include "assembled/fileobj.pxi"


def requires_not_closed(f):
    """Decorator for Image methods: raise InvalidArgument("image is closed") before calling `f` on a closed image.

    Kept for compatibility (upstream wraps every Image method with it); unlike upstream it keeps the wrapped
    function's name, docstring and signature. The wrapper calls `self.require_not_closed()`, so it suits any
    object with that method.

    :param f: the method to wrap, taking the image as its first argument
    :type f: callable
    :returns: the wrapper, which checks the image and then calls `f` with the same arguments
    :rtype: callable
    :raises InvalidArgument: not by the decorator itself: the wrapper raises it when called on a closed image
    """
    import functools   # the calling interpreter's (helpers/interpreters.pxi)

    @functools.wraps(f)
    def wrapper(self, *args, **kwargs):
        self.require_not_closed()
        return f(self, *args, **kwargs)
    return wrapper


# The two public classes, each one class made of every area's part (see above).
include "assembled/class_Image.pxi"
include "assembled/class_RBD.pxi"


# The members only some releases have, removed from their classes when the loaded librbd lacks what they need
# (the table is RELEASE_ONLY_MEMBERS in helpers/releases.pxi).
cdef extern from *:
    """
    /* Remove attribute `name` from class `type`, which may be a static (immutable) extension type: its dict is
     * changed directly, as only the module's own import does, before any caller saw the class. */
    static int rbd_remove_class_member(PyObject *type, PyObject *name)
    {
    #if CYTHON_COMPILING_IN_LIMITED_API
        return PyObject_DelAttr(type, name);
    #else
        if (PyDict_DelItem(((PyTypeObject *)type)->tp_dict, name) < 0)
            return -1;
        PyType_Modified((PyTypeObject *)type);
        return 0;
    #endif
    }
    """
    int rbd_remove_class_member(object cls, object name) except -1


cdef hide_release_only_members():
    for class_name, member, available in RELEASE_ONLY_MEMBERS:
        if not available:
            rbd_remove_class_member(globals()[class_name], member)


hide_release_only_members()
