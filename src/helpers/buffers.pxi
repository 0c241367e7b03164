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


cdef str first_c_string(bytes filled):
    """The text before the first NUL of a filled buffer, decoded."""
    if filled is None:
        return None
    return filled.split(b"\0", 1)[0].decode("utf-8")


cdef class _OutBuffers:
    """Up to four growable char buffers for one librbd call that fills one or several strings at once.

    Such calls (rbd_list_lockers, rbd_metadata_list, rbd_pool_metadata_list; fill_growing for the one-string calls)
    answer -ERANGE and write the sizes they need into the size arguments: `prepare()` before each call, `grow()`
    after an -ERANGE. The buffers are freed with the object.
    """
    cdef char *bufs[4]
    cdef size_t sizes[4]      # in/out size arguments of the librbd call
    cdef size_t capacity[4]   # what is allocated
    cdef int count

    def __cinit__(self, int count, size_t initial):
        if count < 1 or count > 4:
            raise ValueError("_OutBuffers holds 1 to 4 buffers, not %d" % count)
        self.count = count
        cdef int i
        for i in range(4):
            self.bufs[i] = NULL
            self.capacity[i] = 0
            self.sizes[i] = max(initial, <size_t>8)

    def __dealloc__(self):
        cdef int i
        for i in range(4):
            free(self.bufs[i])
            self.bufs[i] = NULL

    cdef int prepare(self) except -1:
        """(Re)allocate every buffer to its wanted size, zero it, and set the size arguments to the capacity."""
        cdef int i
        cdef char *grown
        for i in range(self.count):
            if self.sizes[i] > MAX_FILL_SIZE:
                raise MemoryError("librbd asked for a %d byte buffer" % self.sizes[i])
            if self.sizes[i] > self.capacity[i] or self.bufs[i] == NULL:
                grown = <char *>realloc(self.bufs[i], self.sizes[i])
                if grown == NULL:
                    raise MemoryError("cannot allocate %d bytes" % self.sizes[i])
                self.bufs[i] = grown
                self.capacity[i] = self.sizes[i]
            memset(self.bufs[i], 0, self.capacity[i])
            self.sizes[i] = self.capacity[i]
        return 0

    cdef int grow(self) except -1:
        """After -ERANGE: take the sizes librbd asked for; if it asked for nothing bigger, double every buffer."""
        cdef int i
        cdef bint asked_more = False
        for i in range(self.count):
            if self.sizes[i] > self.capacity[i]:
                asked_more = True
        for i in range(self.count):
            if not asked_more:
                self.sizes[i] = self.capacity[i] * 2
            elif self.sizes[i] < self.capacity[i]:
                self.sizes[i] = self.capacity[i]
        return 0

    cdef list raw_strings(self, int i, size_t length):
        """The NUL-terminated strings in the first `length` bytes of buffer `i`, as bytes; empty strings kept."""
        if length == 0 or self.bufs[i] == NULL:
            return []
        length = min(length, self.capacity[i])
        cdef bytes raw = self.bufs[i][:length]
        if raw.endswith(b"\0"):
            raw = raw[:-1]
        return raw.split(b"\0")

    cdef list strings(self, int i, size_t length):
        """The NUL-terminated strings in the first `length` bytes of buffer `i`, decoded; empty strings kept."""
        return [item.decode("utf-8") for item in self.raw_strings(i, length)]


cdef bytes fill_growing(fill_fn fn, void *handle, size_t initial, int *ret):
    """Call `fn(handle, buf, &size)` until the buffer is big enough; the bytes it filled (None if *ret < 0)."""
    return fill_key_growing(NULL, fn, handle, NULL, initial, ret)


cdef bytes fill_key_growing(fill_key_fn key_fn, fill_fn fn, void *handle, const char *key, size_t initial,
                            int *ret):
    """As fill_growing, for calls that also take a key (`key_fn`), or none (`fn`, key_fn NULL)."""
    cdef _OutBuffers out = _OutBuffers(1, initial)
    while True:
        out.prepare()
        with nogil:
            if key_fn != NULL:
                ret[0] = key_fn(handle, key, out.bufs[0], &out.sizes[0])
            else:
                ret[0] = fn(handle, out.bufs[0], &out.sizes[0])
        if ret[0] != -C_ERANGE:
            break
        out.grow()
    if ret[0] < 0:
        return None
    return out.bufs[0][:min(out.sizes[0], out.capacity[0])]


cdef int refuse_wrapping_range(uint64_t offset, uint64_t length, str message) except -1:
    """InvalidArgument(message % (offset, length)) for a range whose end lies past 2**64 - 1, before librbd sees
    it: librbd never completes an aio discard or zeroing whose end wraps around (python3-rbd hangs there), and a
    synchronous zeroing of such a range allocates until the process dies (std::bad_alloc, or the OOM killer)."""
    if length > <uint64_t>0xFFFFFFFFFFFFFFFF - offset:
        raise make_ex(-C_EINVAL, message % (offset, length))
    return 0


cdef size_t next_capacity(size_t capacity, size_t needed) except 0:
    """The next array size after librbd answered -ERANGE asking for `needed` entries (it may not say: double)."""
    if needed <= capacity:
        needed = capacity * 2
    if needed > (1 << 24):
        raise MemoryError("librbd asked for %d entries" % needed)
    return needed


# Lists of structs: librbd calls of the shape `call(handle, T *items, size_t *count)`, which answer -ERANGE and the
# count they need (or not) when `count` is too small. Calls with other arguments (a group name, a lock mode, an
# int count) get a small adapter of this shape, with what they need behind `ctx`.
ctypedef int (*list_call)(void *ctx, void *items, size_t *count) noexcept nogil


cdef class _Listed:
    """The array a list call filled: `count` entries of `item_size` bytes at `items` (freed with the object) and
    the call's return value `ret`. Once it is read, the caller runs librbd's cleanup call on the entries (only
    when ret >= 0: librbd filled them)."""
    cdef void *items
    cdef size_t count
    cdef int ret

    def __dealloc__(self):
        free(self.items)


# Some list calls count in an int: `list_growing(counting_in_int, &int_count_call(call, handle), ...)`.
ctypedef int (*int_list_call)(void *handle, void *items, int *count) noexcept nogil

cdef struct int_count_call:
    int_list_call call
    void *handle


cdef int counting_in_int(void *ctx, void *items, size_t *count) noexcept nogil:
    """The list_call of an int_count_call."""
    cdef int_count_call *wrapped = <int_count_call *>ctx
    cdef int n = <int>min(count[0], <size_t>(1 << 30))
    cdef int ret = wrapped.call(wrapped.handle, items, &n)
    count[0] = n
    return ret


cdef _Listed list_growing(list_call call, void *ctx, size_t item_size, size_t initial):
    """Run `call(ctx, items, &count)` without the GIL on a zeroed array of `initial` entries, again on a larger one
    (what librbd asked for, or twice the size when it did not say) while it answers -ERANGE."""
    cdef _Listed out = _Listed()
    cdef size_t asked = initial
    cdef void *grown
    while True:
        grown = realloc(out.items, max(asked, <size_t>1) * item_size)
        if grown == NULL:
            raise MemoryError("cannot allocate a list of %d entries" % asked)
        out.items = grown
        memset(out.items, 0, max(asked, <size_t>1) * item_size)
        out.count = asked
        with nogil:
            out.ret = call(ctx, out.items, &out.count)
        if out.ret != -C_ERANGE:
            return out
        asked = next_capacity(asked, out.count)
