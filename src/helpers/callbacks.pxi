# Progress callbacks: a Python `on_progress(offset, total)` behind librbd's `librbd_progress_fn_t`.
#
# librbd calls the C trampoline from its own threads; it takes the GIL only to call Python. A non-zero return
# value cancels the operation (librbd then fails it, usually with -ECANCELED -> OperationCanceled). An exception
# raised by the callback also cancels it, and is re-raised from the call that started the operation (upstream
# prints it and carries on, which hides the failure).

# How many of our callbacks are running on this thread. close() consults it: closing an image from inside a
# callback of a call that is still running on that image would wait for that call forever.
cdef extern from *:
    """
    static __thread int rbd_py_callback_depth = 0;
    """
    int callback_depth "rbd_py_callback_depth"


cdef int noop_progress(uint64_t offset, uint64_t total, void *arg) noexcept nogil:
    return 0


cdef int python_progress(uint64_t offset, uint64_t total, void *arg) noexcept with gil:
    cdef _ProgressCallback progress = <_ProgressCallback>arg
    cdef int code = 0
    if progress.error is not None:
        return -C_ECANCELED
    global callback_depth
    callback_depth += 1
    try:
        if progress.func(offset, total):
            code = -C_ECANCELED  # librbd only stops on a negative value, and reports that value
    except BaseException as exc:
        progress.error = exc
        code = -C_ECANCELED
    finally:
        callback_depth -= 1
    return code


cdef class _ProgressCallback:
    """Carries a Python progress callable, and any exception it raised, across a librbd call."""
    cdef object func
    cdef object error

    def __cinit__(self, func):
        if func is not None and not callable(func):
            raise TypeError("on_progress must be callable or None, not %s" % type(func).__name__)
        self.func = func
        self.error = None

    cdef librbd_progress_fn_t c_function(self):
        return noop_progress if self.func is None else python_progress

    cdef void *c_arg(self):
        return <void *>self

    cdef int raise_pending(self) except -1:
        """Re-raise the exception the callback raised, if any (call after librbd returned)."""
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return 0
