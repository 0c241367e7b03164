# cython: language_level=3, binding=True
"""Python binding to librbd, Ceph's block device library: a drop-in replacement for Ceph's own `rbd` module.

`RBD` works on a pool (create, list, remove, clone, trash, groups, mirroring, ...), `Image` on one image (I/O,
snapshots, locks, metadata, ...). Both take an `Ioctx` from python3-rados (`rados.Rados(...).open_ioctx(pool)`).

Errors from librbd are raised as subclasses of `Error` (mostly `OSError` with an `errno`). Every librbd call
runs without the GIL, so other Python threads keep running while the cluster works.
"""

from cpython.buffer cimport PyObject_CheckBuffer, PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, \
    PyBUF_WRITABLE
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING
from cpython.pyport cimport PY_SSIZE_T_MAX
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport strlen, memset
from libc.time cimport timespec
from posix.unistd cimport usleep

from c_rbd cimport *
cimport cython
cimport rados

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

# Which API needs which librbd release (compile-time flags from the installed header).
include "helpers/releases.pxi"

# The librbd release the module was built for; RBD().version() is the one it runs with.
_LIBRBD_BUILT_FOR = (LIBRBD_VER_MAJOR, LIBRBD_VER_MINOR, LIBRBD_VER_EXTRA)
IF HAS_AWARE_TIMESTAMPS:
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

# The areas. `Image` is built as one chain of classes, one link per area (Cython cannot split a class across
# files), and `RBD` from one mixin per area.
include "areas/image.pxi"
include "areas/io.pxi"
include "areas/snapshots.pxi"
include "areas/clones.pxi"
include "areas/locks.pxi"
include "areas/metadata.pxi"
include "areas/config.pxi"
include "areas/encryption.pxi"
include "areas/mirroring.pxi"
include "areas/groups.pxi"
include "areas/migration.pxi"
include "areas/trash.pxi"
include "areas/namespaces.pxi"
include "areas/pool.pxi"
include "areas/aio.pxi"
include "areas/fileobj.pxi"


def requires_not_closed(f):
    """Decorator for Image methods: raise InvalidArgument("image is closed") before calling `f` on a closed image.

    Kept for compatibility (upstream wraps every Image method with it); unlike upstream it keeps the wrapped
    function's name, docstring and signature.
    """
    import functools   # the calling interpreter's (helpers/interpreters.pxi)

    @functools.wraps(f)
    def wrapper(self, *args, **kwargs):
        self.require_not_closed()
        return f(self, *args, **kwargs)
    return wrapper


cdef class Image(_ImageAio):
    """Image(ioctx, name=None, snapshot=None, read_only=False, image_id=None, _oncomplete=None)
--

    An open RBD image: I/O, snapshots, clones, locks, metadata, mirroring. Open it by `name` or by `image_id`,
    optionally at `snapshot` (then read-only), and close it with `close()` or a `with` block. Every method of a
    closed image raises InvalidArgument("image is closed").
    """


class RBD(_RBDImages, _RBDClones, _RBDMetadata, _RBDConfig, _RBDMirroring, _RBDGroups, _RBDMigration,
          _RBDTrash, _RBDNamespaces, _RBDPool, _RBDAio):
    """Pool-level operations: create, clone, list, remove and rename images; trash, namespaces, groups,
    migration, mirroring, pool metadata and configuration. It holds no state: one instance serves any pool."""
