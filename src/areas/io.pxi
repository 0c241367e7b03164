# Synchronous I/O: read, write, discard, write_zeroes, flush, invalidate_cache.
#
# Reads go straight into the bytes object that is returned; writes read from the caller's buffer (any
# C-contiguous bytes-like object) without a copy. The GIL is released for the librbd call in both directions.


cdef class _ImageIO(_ImageBase):

    def read(self, offset, length, fadvise_flags=0):
        """Read `length` bytes at `offset`; fewer only at the end of the image. Past the end: InvalidArgument."""
        cdef uint64_t c_offset = offset
        cdef size_t c_length = length
        cdef int c_flags = fadvise_flags
        cdef bytes result = PyBytes_FromStringAndSize(NULL, c_length)
        cdef char *buf = PyBytes_AS_STRING(result)
        cdef ssize_t ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_read2(image, c_offset, c_length, buf, c_flags)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error reading %s %d~%d" % (self.name, offset, length))
        if <size_t>ret != c_length:
            return result[:ret]  # short read at the end of the image: the only copy
        return result

    def write(self, data, offset, fadvise_flags=0):
        """Write `data` (any C-contiguous bytes-like object) at `offset`; returns the number of bytes written.

        Images do not grow by writing: past the end raises InvalidArgument. A str raises TypeError.
        """
        cdef uint64_t c_offset = offset
        cdef int c_flags = fadvise_flags
        cdef Py_buffer view
        cdef ssize_t ret
        cdef rbd_image_t image
        get_read_only_buffer(data, &view, "data")
        try:
            image = self._begin_call()
            with nogil:
                ret = rbd_write2(image, c_offset, <size_t>view.len, <const char *>view.buf, c_flags)
            self._end_call()
        finally:
            PyBuffer_Release(&view)
        return check_write_result(ret, view.len, self.name, offset)

    def discard(self, offset, length):
        """Deallocate `length` bytes at `offset` (they then read as zeros)."""
        cdef uint64_t c_offset = offset
        cdef uint64_t c_length = length
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_discard(image, c_offset, c_length)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error discarding region %d~%d" % (offset, length))

    def write_zeroes(self, offset, length, zero_flags=0):
        """Zero `length` bytes at `offset`; RBD_WRITE_ZEROES_FLAG_THICK_PROVISION allocates them."""
        cdef uint64_t c_offset = offset
        cdef uint64_t c_length = length
        cdef int c_flags = zero_flags
        cdef ssize_t ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_write_zeroes(image, c_offset, c_length, c_flags, 0)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error zeroing region %d~%d" % (offset, length))

    def flush(self):
        """Wait until all writes so far are persistent."""
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_flush(image)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error flushing image")

    def invalidate_cache(self):
        """Drop the image's cached data."""
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_invalidate_cache(image)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error invalidating cache")

    def diff_iterate(self, offset, length, from_snapshot, iterate_cb, include_parent=True, whole_object=False):
        """Call `iterate_cb(offset, length, exists)` for each extent in `offset`~`length` that changed since
        snapshot `from_snapshot` (None: since the image was created); `exists` is False for discarded extents.

        `include_parent` also reports data the image still shares with its parent; `whole_object` reports whole
        objects (with fast-diff, from the object map alone). An exception raised by the callback stops the
        iteration and is re-raised here; a negative int returned by it stops it too and raises the matching
        error (e.g. -errno.EIO -> IOError), also for codes librbd itself would ignore (-ENOENT). Positive return
        values are ignored, as in upstream.
        """
        cdef uint64_t c_offset = offset
        cdef uint64_t c_length = length
        cdef bytes snap_bytes = cstr(from_snapshot, "from_snapshot", opt=True)
        cdef const char *c_snap = opt_str(snap_bytes)
        cdef uint8_t c_parent = include_parent  # ints and bools, as upstream (None is a TypeError)
        cdef uint8_t c_whole = whole_object
        cdef _DiffIterateCallback callback = _DiffIterateCallback(iterate_cb)
        cdef void *arg = <void *>callback
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_diff_iterate2(image, c_snap, c_offset, c_length, c_parent, c_whole, diff_iterate_callback,
                                    arg)
        self._end_call()
        callback.raise_pending()
        if ret >= 0 and callback.stop_code < 0:
            ret = callback.stop_code  # librbd swallows some codes (e.g. -ENOENT); the callback asked to stop
        if ret < 0:
            raise make_ex(ret, "error generating diff from snapshot %s" % (from_snapshot,))


cdef object check_write_result(ssize_t ret, Py_ssize_t length, object name, object offset):
    """The byte count of a successful write, else the exception upstream raises for it."""
    if ret < 0:
        raise make_ex(ret, "error writing to %s at offset %s" % (name, offset))
    if ret < length:
        raise IncompleteWriteError("Wrote only %d out of %d bytes" % (ret, length))
    if ret > length:
        raise LogicError("Wrote %d bytes, but only %d were given" % (ret, length))
    return ret


# diff_iterate's callback: librbd calls the C trampoline (possibly from its own threads); it takes the GIL only
# to call Python. After a Python exception or a negative return it calls no more Python and returns the
# stop code, so librbd ends the iteration with it; the exception is re-raised by diff_iterate.

cdef int diff_iterate_callback(uint64_t offset, size_t length, int exists, void *arg) noexcept with gil:
    cdef _DiffIterateCallback callback = <_DiffIterateCallback>arg
    cdef int code = 0
    if callback.stop_code != 0:
        return callback.stop_code
    try:
        result = callback.func(offset, length, exists != 0)
        if result is not None:
            code = result
    except BaseException as exc:
        callback.error = exc
        callback.stop_code = -C_ECANCELED
        return callback.stop_code
    if code < 0:
        callback.stop_code = code
    return code


cdef class _DiffIterateCallback:
    """Carries diff_iterate's Python callback, and any exception it raised, across rbd_diff_iterate2."""
    cdef object func
    cdef object error
    cdef int stop_code

    def __cinit__(self, func):
        if not callable(func):
            raise TypeError("iterate_cb must be callable, not %s" % type(func).__name__)
        self.func = func
        self.error = None
        self.stop_code = 0

    cdef int raise_pending(self) except -1:
        """Re-raise the exception the callback raised, if any (call after librbd returned)."""
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return 0
