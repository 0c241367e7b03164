# Progress callbacks: a Python `on_progress(offset, total)` behind librbd's `librbd_progress_fn_t`.
#
# librbd calls the C trampoline from its own threads; it takes the GIL only to call Python. The contract is
# upstream's, on which callers rely (upstream's own tests remove an image with a callback that raises):
# - an exception raised by the callback is reported through sys.unraisablehook ("Exception ignored in ...")
#   and the operation goes on to the end;
# - a non-zero return value cancels the operation (librbd then fails it with -ECANCELED -> OperationCanceled
#   where it can cancel). None counts as 0. A value that is not an integer, or does not fit a C int, is
#   reported like an exception and the operation goes on (upstream's int conversion fails the same way).

# How many of our callbacks are running on this thread. close() consults it: closing an image from inside a
# callback of a call that is still running on that image would wait for that call forever.
cdef extern from *:
    """
    static __thread int rbd_py_callback_depth = 0;

    /* Hand `exc` (an exception instance) to sys.unraisablehook, naming `where` as the object it was raised in. */
    static void rbd_py_report_unraisable(PyObject *exc, PyObject *where) {
        PyObject *type = (PyObject *)Py_TYPE(exc);
        PyObject *traceback = PyException_GetTraceback(exc);  /* new reference, or NULL */
        Py_INCREF(type);
        Py_INCREF(exc);
        PyErr_Restore(type, exc, traceback);  /* steals all three */
        PyErr_WriteUnraisable(where);
    }
    """
    int callback_depth "rbd_py_callback_depth"
    void report_unraisable "rbd_py_report_unraisable"(object exc, object where)


cdef int noop_progress(uint64_t offset, uint64_t total, void *arg) noexcept nogil:
    return 0


cdef int python_progress(uint64_t offset, uint64_t total, void *arg) noexcept with gil:
    cdef _ProgressCallback progress = <_ProgressCallback>arg
    cdef int code = 0
    global callback_depth
    callback_depth += 1
    try:
        result = progress.func(offset, total)
        if result is not None:
            code = result  # TypeError / OverflowError for what upstream cannot convert either
    except BaseException as exc:
        report_unraisable(exc, progress.func)
        code = 0
    finally:
        callback_depth -= 1
    # librbd only stops on a negative value, and reports that value: any non-zero answer becomes -ECANCELED.
    return -C_ECANCELED if code != 0 else 0


cdef class _ProgressCallback:
    """Carries a Python progress callable across a librbd call."""
    cdef object func

    def __cinit__(self, func):
        if func is not None and not callable(func):
            raise TypeError("on_progress must be callable or None, not %s" % type(func).__name__)
        self.func = func

    cdef librbd_progress_fn_t c_function(self):
        return noop_progress if self.func is None else python_progress

    cdef void *c_arg(self):
        return <void *>self
