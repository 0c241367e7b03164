# Sub-interpreters (ceph-mgr runs each of its Python modules in its own, made by Py_NewInterpreter).
#
# The model: one module shared by every interpreter of the process, as upstream's. setup.py builds it with
# single-phase initialisation, so the module body runs once, into one dict (Cython's module globals, which all
# the code uses); every interpreter that imports it gets a module object of its own holding the same classes,
# functions and exceptions (src/module_init.c).
#
# Two things must nevertheless belong to one interpreter, and are kept here per interpreter:
# - the images it opened, closed by an atexit hook registered in that interpreter when it ends (and only those:
#   another interpreter's images may be in use, and its objects must not be touched from this one's teardown);
# - the aio dispatcher thread (aio.pxi): a Python thread belongs to one interpreter, runs that interpreter's
#   callbacks, and must be gone before Py_EndInterpreter ("not the last thread" is a fatal error).
# The hook is registered in an interpreter when it first opens an image or starts an aio operation.
#
# This state lives in C-level variables (`cdef`), out of any module dict: no interpreter's teardown clears it.
#
# For the same reason, code that runs after import never reaches through a module object imported at start-up
# (`json.loads`, `time.time`, `sys.exc_info`, `_io.SEEK_SET`, ...): those modules belong to the interpreter that
# imported rbd first, and its end clears their dicts (and a pure-Python function of theirs runs on its module's
# dict). What is needed is either taken once at import (a C function, a class or a constant: they work from any
# interpreter) or imported where it is used (a local `import` finds the calling interpreter's module). Classes of
# C modules that keep per-interpreter state are imported where used too: Python 3.13's datetime types crash in an
# interpreter whose own datetime module was never imported (areas/image.pxi, utc_timestamp).

from cpython.weakref cimport PyWeakref_NewRef
from posix.time cimport clock_gettime, CLOCK_MONOTONIC, CLOCK_REALTIME

# How long an interpreter's exit waits, in all, for the calls and aio still in flight on the images it opened
# before it leaks their handles: an operation on an unreachable cluster never finishes, and the process must be
# able to exit all the same. Once a handle's rados.Rados is shut down nothing is waited for (nothing can finish).
cdef double EXIT_WAIT_SECONDS = 30.0


cdef double monotonic_seconds() noexcept nogil:
    cdef timespec now
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec + now.tv_nsec * 1e-9


cdef extern from "Python.h":
    ctypedef struct PyInterpreterState:
        pass
    PyInterpreterState *PyInterpreterState_Get()
    int64_t PyInterpreterState_GetID(PyInterpreterState *)


cdef class _Interpreter:
    """What belongs to one interpreter: its open images, its aio dispatcher, and whether it is exiting."""
    cdef readonly int64_t id
    cdef dict open_handles      # weak references to the images and AsyncImages opened here (-> None)
    cdef object dispatcher      # its _AioDispatcher (aio.pxi), started on the first aio operation
    cdef bint exiting

    def __cinit__(self, int64_t interpreter_id):
        self.id = interpreter_id
        self.open_handles = {}
        self.dispatcher = None
        self.exiting = False

    def _forget(self, ref):
        """The callback of a weak reference in open_handles: its image is gone."""
        self.open_handles.pop(ref, None)

    def _at_exit(self):
        """This interpreter's atexit hook: close the images it opened, stop its dispatcher."""
        global _cached_interpreter, _cached_interpreter_id
        self.exiting = True
        cdef double deadline = monotonic_seconds() + EXIT_WAIT_SECONDS
        for ref in list(self.open_handles):
            handle = ref()
            if handle is None:
                continue
            try:
                handle._close_at_exit(deadline)
            except BaseException:
                pass
        if self.dispatcher is not None:
            (<_AioDispatcher>self.dispatcher).stop()
        del _interpreters[self.id]
        if _cached_interpreter_id == self.id:
            _cached_interpreter = None
            _cached_interpreter_id = -1


cdef dict _interpreters = {}                 # interpreter id -> _Interpreter (ids are never reused)
cdef _Interpreter _cached_interpreter = None  # the last one looked up: aio submissions ask on every call
cdef int64_t _cached_interpreter_id = -1


cdef _Interpreter current_interpreter():
    """The state of the calling interpreter; the first time, registers its exit hook (in that interpreter)."""
    global _cached_interpreter, _cached_interpreter_id
    cdef int64_t interpreter_id = PyInterpreterState_GetID(PyInterpreterState_Get())
    if interpreter_id == _cached_interpreter_id:
        return _cached_interpreter
    state = <_Interpreter>_interpreters.get(interpreter_id)
    if state is None:
        state = _Interpreter(interpreter_id)
        # This interpreter's own atexit module (the module global `_atexit` is the first interpreter's).
        import atexit
        atexit.register(state._at_exit)
        _interpreters[interpreter_id] = state
    _cached_interpreter = state
    _cached_interpreter_id = interpreter_id
    return state


cdef int track_open_handle(object handle) except -1:
    """Have `handle` (an open Image or AsyncImage) closed when the interpreter that opened it exits."""
    cdef _Interpreter interpreter = current_interpreter()
    # A weak reference from the C type (a weakref.WeakSet would run the first interpreter's Python code).
    interpreter.open_handles[PyWeakref_NewRef(handle, interpreter._forget)] = None
    return 0
