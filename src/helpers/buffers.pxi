# Buffers: any C-contiguous bytes-like object in, without copying.

cdef int get_read_only_buffer(object data, Py_buffer *view, str what) except -1:
    """Fill `view` with the bytes of `data` (bytes, bytearray, memoryview, array, mmap, numpy, ...).

    The caller must PyBuffer_Release(view). Raises TypeError with a hint for str and non-buffers, and
    BufferError-free ValueError for non-contiguous views.
    """
    if isinstance(data, str):
        raise TypeError("%s must be a bytes-like object, not str: encode it first (e.g. data.encode())" % what)
    if not PyObject_CheckBuffer(data):
        raise TypeError("%s must be a bytes-like object, not %s" % (what, type(data).__name__))
    try:
        PyObject_GetBuffer(data, view, PyBUF_SIMPLE)
    except BufferError as exc:
        raise ValueError("%s must be a C-contiguous buffer: %s" % (what, exc)) from None
    return 0


cdef bytes new_read_buffer(size_t length):
    """An uninitialised bytes object of `length` bytes for a read to fill.

    OverflowError if no Python object can be that large (PyBytes would see a negative size and raise
    SystemError); MemoryError if it cannot be allocated.
    """
    if length > <size_t>PY_SSIZE_T_MAX:
        raise OverflowError("read length %d is larger than the largest possible buffer (%d)"
                            % (length, PY_SSIZE_T_MAX))
    return PyBytes_FromStringAndSize(NULL, <Py_ssize_t>length)


cdef int get_writable_buffer(object buffer, Py_buffer *view, str what) except -1:
    """Fill `view` with the writable bytes of `buffer` (bytearray, memoryview, mmap, numpy, ...)."""
    if not PyObject_CheckBuffer(buffer):
        raise TypeError("%s must be a writable bytes-like object, not %s" % (what, type(buffer).__name__))
    try:
        PyObject_GetBuffer(buffer, view, PyBUF_WRITABLE)
    except (BufferError, ValueError) as exc:  # numpy refuses read-only or strided exports with ValueError
        raise TypeError("%s must be a writable C-contiguous buffer: %s" % (what, exc)) from None
    return 0


# Output strings of unknown length: librbd returns -ERANGE and the size it needs; we grow and call again.
# The shapes below cover every such call (a `void *` handle is an rbd_image_t, rados_ioctx_t or rados_t).
cdef size_t MAX_FILL_SIZE = 1 << 30
ctypedef int (*fill_fn)(void *handle, char *buf, size_t *size) noexcept nogil
ctypedef int (*fill_key_fn)(void *handle, const char *key, char *buf, size_t *size) noexcept nogil


cdef bytes fill_growing(fill_fn fn, void *handle, size_t initial, int *ret):
    """Call `fn(handle, buf, &size)` until the buffer is big enough; the bytes it filled (None if *ret < 0)."""
    return fill_key_growing(NULL, fn, handle, NULL, initial, ret)


cdef bytes fill_key_growing(fill_key_fn key_fn, fill_fn fn, void *handle, const char *key, size_t initial,
                            int *ret):
    """As fill_growing, for calls that also take a key (`key_fn`), or none (`fn`, key_fn NULL)."""
    cdef size_t size = max(initial, <size_t>8)
    cdef size_t asked
    cdef char *buf = NULL
    cdef char *grown
    try:
        while True:
            asked = size
            grown = <char *>realloc(buf, size)
            if grown == NULL:
                raise MemoryError("cannot allocate %d bytes" % size)
            buf = grown
            memset(buf, 0, size)  # some calls (rbd_list) do not report the length they filled
            with nogil:
                if key_fn != NULL:
                    ret[0] = key_fn(handle, key, buf, &size)
                else:
                    ret[0] = fn(handle, buf, &size)
            if ret[0] != -C_ERANGE:
                break
            if size <= asked:  # librbd did not say how much it needs: double
                size = asked * 2
            if size > MAX_FILL_SIZE:
                raise MemoryError("librbd asked for a %d byte buffer" % size)
        if ret[0] < 0:
            return None
        return buf[:size]
    finally:
        free(buf)


cdef str first_c_string(bytes filled):
    """The text before the first NUL of a filled buffer, decoded."""
    if filled is None:
        return None
    return filled.split(b"\0", 1)[0].decode("utf-8")
