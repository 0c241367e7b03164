# The object layouts of python3-rados' `Rados` and `Ioctx` extension types (Ceph 16.2.15, Nautilus and later).
#
# Debian ships no .pxd for the rados module, so we declare the two types ourselves. Only the field order and
# C types matter: Cython reads `Ioctx.io` and `Rados.cluster` straight from the object structs, as upstream's
# binding does. At import time Cython refuses a runtime type smaller than these structs; the rest of a layout
# mismatch is caught by `interop.pxi`, which compares neighbouring fields with their Python-visible values
# before trusting the pointer.
from c_rbd cimport rados_t, rados_ioctx_t

cdef class Rados:
    cdef rados_t cluster
    cdef public object state
    cdef public object monitor_callback
    cdef public object monitor_callback2
    cdef public object parsed_args
    cdef public object conf_defaults
    cdef public object conffile
    cdef public object rados_id

cdef class Ioctx:
    cdef object rados
    cdef rados_ioctx_t io
    cdef public object name
    cdef public object state
    cdef public object locator_key
    cdef public object nspace
    cdef public object safe_completions
    cdef public object complete_completions
    cdef public object lock
