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


cdef object check_write_result(ssize_t ret, Py_ssize_t length, object name, object offset):
    """The byte count of a successful write, else the exception upstream raises for it."""
    if ret < 0:
        raise make_ex(ret, "error writing to %s at offset %s" % (name, offset))
    if ret < length:
        raise IncompleteWriteError("Wrote only %d out of %d bytes" % (ret, length))
    if ret > length:
        raise LogicError("Wrote %d bytes, but only %d were given" % (ret, length))
    return ret
