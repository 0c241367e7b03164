# Synchronous I/O: read, write, discard, write_zeroes, flush, invalidate_cache; and beyond upstream: readinto,
# readv, writev, writesame, compare_and_write, and from librbd 1.18 compare_and_writev.
#
# Reads go straight into the bytes object that is returned; writes read from the caller's buffer (any
# C-contiguous bytes-like object) without a copy. The GIL is released for the librbd call in both directions.

from libc.stdlib cimport calloc
from posix.uio cimport iovec


cdef extern from "<errno.h>":
    enum:
        C_EILSEQ "EILSEQ"

# librbd refuses more vectors than the system's IOV_MAX (1024 on Linux); say so before asking it.
cdef Py_ssize_t IOV_MAX_COUNT = 1024


cdef class _IoVectors:
    """The buffers of one vectored call, exported without a copy: `iov[i]` points into the i-th buffer.

    The exports are released by `release()` or when the object goes away, so an asynchronous call keeps it (in
    its Completion) until librbd finished with the memory.
    """
    cdef Py_buffer *views
    cdef iovec *iov
    cdef int count
    cdef Py_ssize_t acquired
    cdef Py_ssize_t total     # bytes in all buffers

    def __dealloc__(self):
        self.release()

    cdef void release(self) noexcept:
        cdef Py_ssize_t i
        for i in range(self.acquired):
            PyBuffer_Release(&self.views[i])
        self.acquired = 0
        free(self.views)
        free(self.iov)
        self.views = NULL
        self.iov = NULL


cdef _IoVectors acquire_vectors(object buffers, str what, bint writable, str verb):
    """`buffers` (a sequence of bytes-like objects; writable ones if `writable`) as an _IoVectors.

    TypeError for a single buffer instead of a sequence and for bad items (named `what`[i]); InvalidArgument for
    more than IOV_MAX_COUNT buffers (`verb`: what the call does with them, for the message).
    """
    if isinstance(buffers, (str, bytes, bytearray, memoryview)):
        raise TypeError("%s must be a sequence of bytes-like objects, not a single %s"
                        % (what, type(buffers).__name__))
    cdef list items = list(buffers)
    cdef Py_ssize_t count = len(items)
    if count > IOV_MAX_COUNT:
        raise InvalidArgument("at most %d buffers can be %s at once, not %d" % (IOV_MAX_COUNT, verb, count))
    cdef _IoVectors vectors = _IoVectors.__new__(_IoVectors)
    vectors.count = <int>count
    if count == 0:
        return vectors
    vectors.views = <Py_buffer *>calloc(count, sizeof(Py_buffer))
    vectors.iov = <iovec *>calloc(count, sizeof(iovec))
    if vectors.views == NULL or vectors.iov == NULL:
        raise MemoryError("cannot allocate %d I/O vectors" % count)
    cdef Py_ssize_t i
    for i in range(count):
        if writable:
            get_writable_buffer(items[i], &vectors.views[i], "%s[%d]" % (what, i))
        else:
            get_read_only_buffer(items[i], &vectors.views[i], "%s[%d]" % (what, i))
        vectors.acquired += 1
        vectors.iov[i].iov_base = vectors.views[i].buf
        vectors.iov[i].iov_len = <size_t>vectors.views[i].len
        vectors.total += vectors.views[i].len
    return vectors


class CompareMismatchError(OSError):
    """EILSEQ from compare_and_write: the image did not hold `cmp_data`, so nothing was written.

    `mismatch_offset` is the image offset of the first byte that differed.
    """
    prefix = "RBD compare mismatch"

    def __init__(self, message, errno=C_EILSEQ, mismatch_offset=None):
        super().__init__(message, errno=errno)
        self.mismatch_offset = mismatch_offset


cdef ssize_t wait_vectored(rbd_image_t image, const iovec *iov, int count, uint64_t offset,
                           bint write) noexcept nogil:
    """rbd_aio_readv / rbd_aio_writev, waited for (librbd 16 has no synchronous vectored calls)."""
    cdef rbd_completion_t completion
    cdef ssize_t ret = rbd_aio_create_completion(NULL, NULL, &completion)
    if ret < 0:
        return ret
    if write:
        ret = rbd_aio_writev(image, iov, count, offset, completion)
    else:
        ret = rbd_aio_readv(image, iov, count, offset, completion)
    if ret >= 0:
        rbd_aio_wait_for_complete(completion)
        ret = rbd_aio_get_return_value(completion)
    rbd_aio_release(completion)
    return ret


# fits_in_image's answer for a range that reaches past the end of the image (not an errno).
cdef enum:
    PAST_END = -1000000


cdef ssize_t fits_in_image(rbd_image_t image, uint64_t offset, uint64_t length, uint64_t *size) noexcept nogil:
    """0 if `length` bytes at `offset` lie within the image, PAST_END if not, or librbd's error."""
    cdef int ret = rbd_get_size(image, size)
    if ret < 0:
        return ret
    if offset > size[0] or length > size[0] - offset:
        return PAST_END
    return 0


cdef object past_end_error(object name, uint64_t offset, uint64_t length, uint64_t size):
    return InvalidArgument("cannot write %d bytes at offset %d of image %s: its size is %d bytes and images do "
                           "not grow by writing (resize it first); nothing was written"
                           % (length, offset, image_label(name), size))


cdef int _librbd_minor():
    cdef int major = 0, minor = 0, extra = 0
    rbd_version(&major, &minor, &extra)
    return minor if major == 1 else 1000


# librbd (1.16, 1.18 and 1.20 alike) reports a compare_and_write mismatch as the image offset of the *start of the
# object* plus the index of the differing byte in cmp_data, instead of the offset of that byte. We correct it for
# the layouts where that mapping is known (stripe count 1: every object holds one contiguous range of the image).
# A run-time check: it is the behaviour of the librbd the module runs with.
cdef bint MISMATCH_FROM_OBJECT_START = _librbd_minor() <= 20


cdef uint64_t image_mismatch_offset(uint64_t reported, uint64_t offset, uint64_t length, uint64_t object_size,
                                    uint64_t stripe_count):
    """The image offset of the first differing byte, from librbd's `reported` mismatch offset."""
    cdef uint64_t object_start
    if not MISMATCH_FROM_OBJECT_START or stripe_count != 1 or object_size == 0:
        return reported
    object_start = offset - offset % object_size
    if reported < object_start or reported - object_start >= length:
        return reported  # not the known pattern: hand it back untouched
    return offset + (reported - object_start)


cdef int image_layout(rbd_image_t image, uint64_t *object_size, uint64_t *stripe_count) noexcept nogil:
    """The object size and stripe count, to place a compare mismatch in the image (0 and 0 if librbd fails)."""
    cdef rbd_image_info_t info
    if rbd_get_stripe_count(image, stripe_count) < 0 or rbd_stat(image, &info, sizeof(info)) < 0:
        object_size[0] = 0
        stripe_count[0] = 0
        return -1
    object_size[0] = info.obj_size
    return 0


cdef object compare_error(ssize_t ret, object name, str what, uint64_t offset, uint64_t length, uint64_t mismatch,
                          uint64_t object_size, uint64_t stripe_count, uint64_t size):
    """The exception for a compare-and-write that returned `ret` < 0 (`what`: the compared data's name)."""
    if ret == -C_EILSEQ:
        mismatch = image_mismatch_offset(mismatch, offset, length, object_size, stripe_count)
        return CompareMismatchError("image %s differs from %s at offset %d; nothing written"
                                    % (image_label(name), what, mismatch), mismatch_offset=mismatch)
    if ret == PAST_END:
        return past_end_error(image_label(name), offset, length, size)
    return make_ex(ret, "error comparing and writing %s %d~%d" % (image_label(name), offset, length))


cdef int refuse_empty_compare(Py_ssize_t length) except -1:
    # librbd 1.16, 1.18 and 1.20 abort the whole process (a failed assertion) on an empty compare-and-write.
    if length == 0:
        raise InvalidArgument("nothing to compare: the data of a compare-and-write must not be empty")
    return 0


cdef class _CompareWrite:
    """One vectored compare-and-write (librbd >= 1.18): its buffers, and where librbd reports a mismatch.

    An asynchronous call keeps it in its Completion until librbd finished: librbd writes `mismatch` and reads the
    buffers until then.
    """
    cdef _IoVectors cmp
    cdef _IoVectors data
    cdef uint64_t offset
    cdef uint64_t length
    cdef uint64_t mismatch
    cdef uint64_t object_size
    cdef uint64_t stripe_count
    cdef uint64_t size

    cdef object error(self, ssize_t ret, object name):
        return compare_error(ret, name, "cmp_buffers", self.offset, self.length, self.mismatch, self.object_size,
                             self.stripe_count, self.size)


cdef _CompareWrite prepare_compare_writev(object offset, object cmp_buffers, object buffers):
    """The buffers of a vectored compare-and-write, checked: the same total length, not empty."""
    cdef _CompareWrite op = _CompareWrite.__new__(_CompareWrite)
    op.offset = offset
    op.cmp = acquire_vectors(cmp_buffers, "cmp_buffers", False, "compared")
    op.data = acquire_vectors(buffers, "buffers", False, "written")
    if op.cmp.total != op.data.total:
        raise InvalidArgument("cmp_buffers and buffers must hold the same number of bytes, not %d and %d"
                              % (op.cmp.total, op.data.total))
    refuse_empty_compare(op.data.total)
    op.length = <uint64_t>op.data.total
    return op


cdef ssize_t check_compare_range(rbd_image_t image, uint64_t offset, uint64_t length, uint64_t *size,
                                 uint64_t *object_size, uint64_t *stripe_count) noexcept nogil:
    """Before a compare-and-write: 0, PAST_END or librbd's error; fills in the layout for a mismatch.

    librbd alone compares and writes the part of a range that fits in the image and reports success.
    """
    cdef ssize_t ret = fits_in_image(image, offset, length, size)
    if ret == 0:
        image_layout(image, object_size, stripe_count)
    return ret


cdef ssize_t wait_compare_and_writev(rbd_image_t image, _CompareWrite op, int flags) noexcept:
    """rbd_aio_compare_and_writev, waited for (librbd has no synchronous form); the GIL released."""
    cdef rbd_completion_t completion
    cdef const iovec *cmp_iov = op.cmp.iov
    cdef int cmp_count = op.cmp.count
    cdef const iovec *iov = op.data.iov
    cdef int count = op.data.count
    cdef uint64_t *mismatch = &op.mismatch
    cdef ssize_t ret
    with nogil:
        ret = check_compare_range(image, op.offset, op.length, &op.size, &op.object_size, &op.stripe_count)
        if ret == 0:
            ret = rbd_aio_create_completion(NULL, NULL, &completion)
            if ret == 0:
                ret = late_rbd_aio_compare_and_writev(image, op.offset, cmp_iov, cmp_count, iov, count,
                                                     completion, mismatch, flags)
                if ret >= 0:
                    rbd_aio_wait_for_complete(completion)
                    ret = rbd_aio_get_return_value(completion)
                rbd_aio_release(completion)
    return ret


cdef class Image:  # part of rbd.Image (tools/assemble.py joins the parts)

    def read(self, offset, length, fadvise_flags=0):
        """Read `length` bytes at `offset`; fewer only at the end of the image. Past the end: InvalidArgument.

        A read of at least one byte that starts at or past the end of the image raises InvalidArgument; one that
        reaches past the end returns the bytes up to the end. The bytes land directly in the returned object.

        :param offset: byte offset in the image where reading starts
        :type offset: int
        :param length: number of bytes to read
        :type length: int
        :param fadvise_flags: RBD_IO_FADVISE_* hints for librbd (0: none)
        :type fadvise_flags: int
        :returns: the bytes read; fewer than `length` only at the end of the image
        :rtype: bytes
        :raises InvalidArgument: the image is closed, or the range starts at or past the end of the image
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageBusy: this client holds an advisory lock on the image, and the image has the journaling feature
            or copy-on-read configured (librbd would wait forever for its exclusive lock); never for a handle opened
            read-only or at a snapshot
        :raises OverflowError: `offset` or `length` is negative or too large, or `fadvise_flags` does not fit a C int
        :raises TypeError: an argument is not an integer
        :raises MemoryError: `length` bytes cannot be allocated
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        self._refuse_reads_while_locked()
        cdef uint64_t c_offset = offset
        cdef size_t c_length = length
        cdef int c_flags = fadvise_flags
        cdef bytes result = new_read_buffer(c_length)
        cdef char *buf = PyBytes_AS_STRING(result)
        cdef ssize_t ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_read2(image, c_offset, c_length, buf, c_flags)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error reading %s %d~%d" % (image_label(self.name), offset, length))
        if <size_t>ret != c_length:
            return result[:ret]  # short read at the end of the image: the only copy
        return result

    def write(self, data, offset, fadvise_flags=0):
        """Write `data` (any C-contiguous bytes-like object) at `offset`; returns the number of bytes written.

        Images do not grow by writing: a write that starts at or past the end raises InvalidArgument and writes
        nothing; one that reaches past the end writes the part that fits, then raises IncompleteWriteError (as
        upstream does; `writev`, `writesame` and `compare_and_write` refuse such a write whole). A str raises
        TypeError.

        :param data: the bytes to write
        :type data: bytes-like object
        :param offset: byte offset in the image where writing starts
        :type offset: int
        :param fadvise_flags: RBD_IO_FADVISE_* hints for librbd (0: none)
        :type fadvise_flags: int
        :returns: the number of bytes written: len(data) in bytes
        :rtype: int
        :raises TypeError: `data` is a str or not a bytes-like object, or `offset` is not an integer
        :raises ValueError: `data` is not C-contiguous
        :raises InvalidArgument: the image is closed, or a non-empty write starts at or past the end of the image
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ReadOnlyImage: the image was opened read-only or at a snapshot, or this client holds an advisory lock
            on it (lock_exclusive/lock_shared) and it has the exclusive-lock feature (librbd would wait forever for
            the exclusive lock a write needs)
        :raises IncompleteWriteError: the range reaches past the end of the image: only the part within it was written
        :raises OverflowError: `offset` is negative or too large, or `fadvise_flags` does not fit a C int
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        self._refuse_writes_while_locked()
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

    # Zero-copy and vectored I/O (not in upstream's module): reads land in the caller's buffers, writes read from
    # them; no intermediate bytes object either way.

    def readinto(self, buffer, offset, fadvise_flags=0):
        """Read into `buffer` at `offset`, without an intermediate copy; returns the number of bytes read.

        `buffer` is any writable C-contiguous buffer: bytearray, memoryview slice, numpy array, mmap, array.array.
        It reads the buffer's size in bytes (not items); fewer only at the end of the image, and the bytes of
        `buffer` past the returned count are left as they were. bytes, str, read-only or non-contiguous buffers
        raise TypeError; a read that starts at or past the end raises InvalidArgument, as read() does.

        :param buffer: where the bytes read are stored
        :type buffer: writable bytes-like object
        :param offset: byte offset in the image where reading starts
        :type offset: int
        :param fadvise_flags: RBD_IO_FADVISE_* hints for librbd (0: none)
        :type fadvise_flags: int
        :returns: the number of bytes read; fewer than the buffer's size only at the end of the image
        :rtype: int
        :raises TypeError: `buffer` is not a writable C-contiguous buffer, or an integer argument is not an integer
        :raises InvalidArgument: the image is closed, or the range starts at or past the end of the image
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageBusy: this client holds an advisory lock on the image, and the image has the journaling feature
            or copy-on-read configured (librbd would wait forever for its exclusive lock); never for a handle opened
            read-only or at a snapshot
        :raises OverflowError: `offset` is negative or too large, or `fadvise_flags` does not fit a C int
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        self._refuse_reads_while_locked()
        cdef uint64_t c_offset = offset
        cdef int c_flags = fadvise_flags
        cdef Py_buffer view
        cdef ssize_t ret
        cdef rbd_image_t image
        get_writable_buffer(buffer, &view, "buffer")
        try:
            image = self._begin_call()
            with nogil:
                ret = rbd_read2(image, c_offset, <size_t>view.len, <char *>view.buf, c_flags)
            self._end_call()
        finally:
            PyBuffer_Release(&view)
        if ret < 0:
            raise make_ex(ret, "error reading %s %d~%d" % (image_label(self.name), offset, view.len))
        return ret

    def readv(self, buffers, offset):
        """Read consecutive bytes at `offset` into each of `buffers` in turn, without a copy; returns the total.

        `buffers` is a sequence of writable C-contiguous buffers (at most 1024), filled in order. Fewer bytes only
        at the end of the image; then the buffers are filled in order up to that count. Read-only, non-contiguous or
        non-buffer items raise TypeError. An empty sequence reads nothing and returns 0.

        :param buffers: the buffers to fill, in image order
        :type buffers: sequence of writable bytes-like objects
        :param offset: byte offset in the image where reading starts
        :type offset: int
        :returns: the total number of bytes read
        :rtype: int
        :raises TypeError: `buffers` is a single buffer or not iterable, an item is not a writable C-contiguous
            buffer, or `offset` is not an integer
        :raises InvalidArgument: the image is closed, `buffers` holds more than 1024 buffers, or the range starts at
            or past the end of the image
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageBusy: this client holds an advisory lock on the image, and the image has the journaling feature
            or copy-on-read configured (librbd would wait forever for its exclusive lock); never for a handle opened
            read-only or at a snapshot
        :raises OverflowError: `offset` is negative or too large
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        self._refuse_reads_while_locked()
        cdef uint64_t c_offset = offset
        return self._vectored(buffers, c_offset, False)

    def writev(self, buffers, offset):
        """Write each of `buffers` back to back at `offset`, without copying them; returns the total written.

        `buffers` is a sequence of C-contiguous bytes-like objects (at most 1024). Images do not grow: a write
        reaching past the end raises InvalidArgument and writes nothing (librbd alone would drop the tail silently).
        An empty sequence writes nothing and returns 0.

        :param buffers: the data to write, in image order
        :type buffers: sequence of bytes-like objects
        :param offset: byte offset in the image where writing starts
        :type offset: int
        :returns: the total number of bytes written
        :rtype: int
        :raises TypeError: `buffers` is a single buffer or not iterable, an item is a str or not a bytes-like object,
            or `offset` is not an integer
        :raises ValueError: an item is not C-contiguous
        :raises InvalidArgument: the image is closed, `buffers` holds more than 1024 buffers, or the range reaches
            past the end of the image (nothing written)
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ReadOnlyImage: the image was opened read-only or at a snapshot, or this client holds an advisory lock
            on it (lock_exclusive/lock_shared) and it has the exclusive-lock feature (librbd would wait forever for
            the exclusive lock a write needs)
        :raises OverflowError: `offset` is negative or too large
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        self._refuse_writes_while_locked()
        cdef uint64_t c_offset = offset
        return self._vectored(buffers, c_offset, True)

    cdef object _vectored(self, object buffers, uint64_t c_offset, bint write):
        cdef _IoVectors vectors = acquire_vectors(buffers, "buffers", not write, "written" if write else "read")
        self.require_not_closed()
        if vectors.count == 0:
            return 0
        cdef Py_ssize_t total = vectors.total
        cdef ssize_t ret
        cdef uint64_t size = 0
        cdef rbd_image_t image
        try:
            image = self._begin_call()
            with nogil:
                if write:  # librbd would silently drop what lies past the end; refuse the whole write instead
                    ret = fits_in_image(image, c_offset, <uint64_t>total, &size)
                else:
                    ret = 0
                if ret == 0:
                    ret = wait_vectored(image, vectors.iov, vectors.count, c_offset, write)
            self._end_call()
        finally:
            vectors.release()
        if write:
            if ret == PAST_END:
                raise past_end_error(image_label(self.name), c_offset, total, size)
            if ret < 0:
                raise make_ex(ret, "error writing to %s at offset %d" % (image_label(self.name), c_offset))
            return total  # librbd reports 0 for a completed vectored write
        if ret < 0:
            raise make_ex(ret, "error reading %s %d~%d" % (image_label(self.name), c_offset, total))
        return ret

    def writesame(self, offset, length, data, fadvise_flags=0):
        """Fill `length` bytes at `offset` with copies of `data`; returns `length`.

        `data` is any C-contiguous bytes-like object, not empty, and `length` must be a multiple of its size
        (InvalidArgument otherwise). A range reaching past the end of the image raises InvalidArgument and writes
        nothing (librbd alone would write the part that fits).

        :param offset: byte offset in the image where writing starts
        :type offset: int
        :param length: number of bytes to fill
        :type length: int
        :param data: the pattern to repeat
        :type data: bytes-like object
        :param fadvise_flags: RBD_IO_FADVISE_* hints for librbd (0: none)
        :type fadvise_flags: int
        :returns: the number of bytes written: `length`
        :rtype: int
        :raises TypeError: `data` is a str or not a bytes-like object, or an integer argument is not an integer
        :raises ValueError: `data` is not C-contiguous
        :raises InvalidArgument: the image is closed, `data` is empty, `length` is not a multiple of its size, or the
            range reaches past the end of the image (nothing written)
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ReadOnlyImage: the image was opened read-only or at a snapshot, or this client holds an advisory lock
            on it (lock_exclusive/lock_shared) and it has the exclusive-lock feature (librbd would wait forever for
            the exclusive lock a write needs)
        :raises OverflowError: `offset` or `length` is negative or too large, or `fadvise_flags` does not fit a C int
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        self._refuse_writes_while_locked()
        cdef uint64_t c_offset = offset
        cdef size_t c_length = length
        cdef int c_flags = fadvise_flags
        cdef Py_buffer view
        cdef ssize_t ret
        cdef uint64_t size = 0
        cdef rbd_image_t image
        get_read_only_buffer(data, &view, "data")
        try:
            if view.len == 0:
                raise InvalidArgument("writesame data must not be empty")
            if c_length % <size_t>view.len != 0:
                raise InvalidArgument("writesame length %d is not a multiple of the data length %d"
                                      % (c_length, view.len))
            image = self._begin_call()
            with nogil:
                ret = fits_in_image(image, c_offset, c_length, &size)
                if ret == 0:
                    ret = rbd_writesame(image, c_offset, c_length, <const char *>view.buf, <size_t>view.len,
                                        c_flags)
            self._end_call()
        finally:
            PyBuffer_Release(&view)
        if ret == PAST_END:
            raise past_end_error(image_label(self.name), c_offset, c_length, size)
        if ret < 0:
            raise make_ex(ret, "error writing the same data to %s %d~%d"
                          % (image_label(self.name), c_offset, c_length))
        return ret

    def compare_and_write(self, offset, cmp_data, data, fadvise_flags=0):
        """Atomically write `data` at `offset` if the image holds exactly `cmp_data` there.

        Both are C-contiguous bytes-like objects of the same length, not empty (else InvalidArgument), and the
        range must lie within one object of the image (librbd's rule; else InvalidArgument) and within the image
        (else InvalidArgument, nothing written). When the image differs, nothing is written and
        CompareMismatchError is raised; its `mismatch_offset` is the image offset of the first byte that differs.

        :param offset: byte offset in the image where the comparison starts
        :type offset: int
        :param cmp_data: the bytes the image must hold at `offset`
        :type cmp_data: bytes-like object
        :param data: the bytes to write there
        :type data: bytes-like object
        :param fadvise_flags: RBD_IO_FADVISE_* hints for librbd (0: none)
        :type fadvise_flags: int
        :returns: the number of bytes written: len(data)
        :rtype: int
        :raises CompareMismatchError: the image does not hold `cmp_data`; nothing was written
        :raises TypeError: `cmp_data` or `data` is a str or not a bytes-like object, or an integer argument is not an
            integer
        :raises ValueError: `cmp_data` or `data` is not C-contiguous
        :raises InvalidArgument: the image is closed, the two lengths differ, the data is empty, or the range crosses
            an object boundary or reaches past the end of the image (nothing written)
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ReadOnlyImage: the image was opened read-only or at a snapshot, or this client holds an advisory lock
            on it (lock_exclusive/lock_shared) and it has the exclusive-lock feature (librbd would wait forever for
            the exclusive lock a write needs)
        :raises OverflowError: `offset` is negative or too large, or `fadvise_flags` does not fit a C int
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        self._refuse_writes_while_locked()
        cdef uint64_t c_offset = offset
        cdef int c_flags = fadvise_flags
        cdef uint64_t mismatch = 0
        cdef Py_buffer cmp_view
        cdef Py_buffer view
        cdef ssize_t ret
        cdef uint64_t size = 0
        cdef uint64_t object_size = 0
        cdef uint64_t stripe_count = 0
        cdef rbd_image_t image
        get_read_only_buffer(cmp_data, &cmp_view, "cmp_data")
        try:
            get_read_only_buffer(data, &view, "data")
            try:
                if cmp_view.len != view.len:
                    raise InvalidArgument("cmp_data and data must have the same length, not %d and %d"
                                          % (cmp_view.len, view.len))
                refuse_empty_compare(view.len)
                image = self._begin_call()
                with nogil:
                    ret = check_compare_range(image, c_offset, <uint64_t>view.len, &size, &object_size,
                                              &stripe_count)
                    if ret == 0:
                        ret = rbd_compare_and_write(image, c_offset, <size_t>view.len, <const char *>cmp_view.buf,
                                                    <const char *>view.buf, &mismatch, c_flags)
                self._end_call()
            finally:
                PyBuffer_Release(&view)
        finally:
            PyBuffer_Release(&cmp_view)
        if ret < 0:
            raise compare_error(ret, self.name, "cmp_data", c_offset, <uint64_t>view.len, mismatch, object_size,
                                stripe_count, size)
        return ret

    def compare_and_writev(self, offset, cmp_buffers, buffers, fadvise_flags=0):
        """Atomically write `buffers` back to back at `offset` if the image holds the bytes of `cmp_buffers`.

        Needs librbd 1.18 (Ceph 18.2) or newer.

        compare_and_write with sequences of C-contiguous bytes-like objects (at most 1024 each), used without a
        copy: both sequences hold the same number of bytes, not zero (else InvalidArgument); the range lies
        within one object of the image and within the image (else InvalidArgument, nothing written). When the
        image differs, nothing is written and CompareMismatchError is raised with the image offset of the first
        differing byte as `mismatch_offset`.

        :param offset: byte offset in the image where the comparison starts
        :type offset: int
        :param cmp_buffers: the bytes the image must hold at `offset`, in image order
        :type cmp_buffers: sequence of bytes-like objects
        :param buffers: the bytes to write there, in image order
        :type buffers: sequence of bytes-like objects
        :param fadvise_flags: RBD_IO_FADVISE_* hints for librbd (0: none)
        :type fadvise_flags: int
        :returns: the number of bytes written (the total size of `buffers`)
        :rtype: int
        :raises CompareMismatchError: the image does not hold the bytes of `cmp_buffers`; nothing was written
        :raises TypeError: a sequence is a single buffer or not iterable, an item is a str or not a bytes-like
            object, or an integer argument is not an integer
        :raises ValueError: an item is not C-contiguous
        :raises InvalidArgument: the image is closed, a sequence holds more than 1024 buffers, the totals
            differ or are zero, or the range crosses an object boundary or reaches past the end of the image
            (nothing written)
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ReadOnlyImage: the image was opened read-only or at a snapshot, or this client holds an
            advisory lock on it (lock_exclusive/lock_shared) and it has the exclusive-lock feature (librbd
            would wait forever for the exclusive lock a write needs)
        :raises FunctionNotSupported: the librbd the module runs with lacks rbd_aio_compare_and_writev (it is
            older than the one the module was built for)
        :raises OverflowError: `offset` is negative or too large, or `fadvise_flags` does not fit a C int
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        self._refuse_writes_while_locked()
        cdef int c_flags = fadvise_flags
        cdef _CompareWrite op = prepare_compare_writev(offset, cmp_buffers, buffers)
        if late_rbd_aio_compare_and_writev == NULL:
            raise missing_librbd_call("rbd_aio_compare_and_writev")
        cdef ssize_t ret
        cdef rbd_image_t image = self._begin_call()
        try:
            ret = wait_compare_and_writev(image, op, c_flags)
        finally:
            self._end_call()
            op.cmp.release()
            op.data.release()
        if ret < 0:
            raise op.error(ret, self.name)
        return op.length  # librbd reports 0 for a completed vectored compare-and-write

    def discard(self, offset, length):
        """Deallocate `length` bytes at `offset` (they then read as zeros).

        A range that reaches past the end of the image is cut at the end; one that starts at or past the end raises
        InvalidArgument.

        :param offset: byte offset in the image where the range starts
        :type offset: int
        :param length: number of bytes to discard
        :type length: int
        :rtype: None
        :raises InvalidArgument: the image is closed, or the range starts at or past the end of the image or ends
            past 2**64 - 1
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ReadOnlyImage: the image was opened read-only or at a snapshot, or this client holds an advisory lock
            on it (lock_exclusive/lock_shared) and it has the exclusive-lock feature (librbd would wait forever for
            the exclusive lock a write needs)
        :raises OverflowError: `offset` or `length` is negative or not below 2**64
        :raises TypeError: `offset` or `length` is not an integer
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        self._refuse_writes_while_locked()
        cdef uint64_t c_offset = offset
        cdef uint64_t c_length = length
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_discard(image, c_offset, c_length)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error discarding region %d~%d" % (offset, length))

    def write_zeroes(self, offset, length, zero_flags=0):
        """Zero `length` bytes at `offset`; RBD_WRITE_ZEROES_FLAG_THICK_PROVISION allocates them.

        Without the flag librbd may deallocate the range, as `discard` does. A range that reaches past the end of
        the image is cut at the end; one that starts at or past the end raises InvalidArgument.

        :param offset: byte offset in the image where the range starts
        :type offset: int
        :param length: number of bytes to zero
        :type length: int
        :param zero_flags: RBD_WRITE_ZEROES_FLAG_* bits (0: none)
        :type zero_flags: int
        :rtype: None
        :raises InvalidArgument: the image is closed, the range starts at or past the end of the image or ends past
            2**64 - 1, or `zero_flags` holds bits librbd does not know
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ReadOnlyImage: the image was opened read-only or at a snapshot, or this client holds an advisory lock
            on it (lock_exclusive/lock_shared) and it has the exclusive-lock feature (librbd would wait forever for
            the exclusive lock a write needs)
        :raises OverflowError: `offset` or `length` is negative or not below 2**64, or `zero_flags` does not fit a C
            int
        :raises TypeError: an argument is not an integer
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        self._refuse_writes_while_locked()
        cdef uint64_t c_offset = offset
        cdef uint64_t c_length = length
        cdef int c_flags = zero_flags
        cdef ssize_t ret
        refuse_wrapping_range(c_offset, c_length, "error zeroing region %d~%d")
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_write_zeroes(image, c_offset, c_length, c_flags, 0)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error zeroing region %d~%d" % (offset, length))

    def flush(self):
        """Wait until all writes so far are persistent.

        On a read-only handle there is nothing to flush: it returns at once.

        :rtype: None
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ReadOnlyImage: this client holds an advisory lock on the image and it has the exclusive-lock feature
            (librbd would wait forever for the exclusive lock)
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        self._refuse_writes_while_locked()
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_flush(image)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error flushing image")

    def invalidate_cache(self):
        """Drop the image's cached data.

        Later reads fetch the data from the cluster again.

        :rtype: None
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_invalidate_cache(image)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error invalidating cache")

    def diff_iterate(self, offset, length, from_snapshot, iterate_cb, include_parent=True, whole_object=False):
        """Call `iterate_cb(offset, length, exists)` for each extent that changed in `offset`~`length`.

        The extents are those that changed since snapshot `from_snapshot` (None: since the image was created);
        `exists` is False for discarded extents. From librbd 1.18 `from_snapshot` may also be a snapshot id (an
        int); anything but a str, an int or None is then a TypeError (as upstream 18).

        `include_parent` also reports data the image still shares with its parent; `whole_object` reports whole
        objects (with fast-diff, from the object map alone). An exception raised by the callback stops the
        iteration and is re-raised here; a negative int returned by it stops it too and raises the matching
        error (e.g. -errno.EIO -> IOError), also for codes librbd itself would ignore (-ENOENT). Positive return
        values are ignored, as in upstream.

        :param offset: byte offset in the image where the compared range starts
        :type offset: int
        :param length: number of bytes to compare
        :type length: int
        :param from_snapshot: the snapshot to compare with, by name (librbd 1.16 also takes bytes) or, from
            librbd 1.18, by id; None: the image's creation
        :type from_snapshot: str or int or None
        :param iterate_cb: called as `iterate_cb(offset, length, exists)` with two ints and a bool; may return None,
            0, or a negative errno to stop
        :type iterate_cb: callable
        :param include_parent: also report the extents the image shares with its parent
        :type include_parent: bool
        :param whole_object: report whole objects instead of exact extents
        :type whole_object: bool
        :rtype: None
        :raises TypeError: `iterate_cb` is not callable, `include_parent` or `whole_object` is not an int or bool,
            or (from librbd 1.18) `from_snapshot` is not a str, an int or None
        :raises InvalidArgument: the image is closed, the range starts at or past the end of the image (one that
            reaches past it is cut at the end), or (librbd 1.16) `from_snapshot` is neither a string nor None
        :raises ImageNotFound: there is no snapshot `from_snapshot`
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises FunctionNotSupported: (from librbd 1.18) `from_snapshot` is an int or None and the librbd the module
            runs with lacks rbd_diff_iterate3
        :raises OverflowError: `offset` or `length` is negative or not below 2**64
        :raises Exception: whatever `iterate_cb` raised
        :raises OSError: the error matching a negative value `iterate_cb` returned, or another error from librbd
        """
        cdef uint64_t c_offset = offset
        cdef uint64_t c_length = length
        cdef bytes snap_bytes = None
        cdef uint64_t c_snap_id = 0
        cdef bint by_id = False
        if HAS_DIFF_ITERATE3:
            if isinstance(from_snapshot, str):
                snap_bytes = cstr(from_snapshot, "from_snapshot")
            elif from_snapshot is None or isinstance(from_snapshot, int):
                by_id = True
                c_snap_id = from_snapshot or 0
            else:
                raise TypeError("from_snapshot must be a string or an integer")
        else:
            snap_bytes = cstr(from_snapshot, "from_snapshot", opt=True)
        cdef const char *c_snap = opt_str(snap_bytes)
        cdef uint8_t c_parent = include_parent  # ints and bools, as upstream (None is a TypeError)
        cdef uint8_t c_whole = whole_object
        cdef uint32_t c_flags = 0
        if HAS_DIFF_ITERATE3:
            if include_parent:
                c_flags |= RBD_DIFF_ITERATE_FLAG_INCLUDE_PARENT
            if whole_object:
                c_flags |= RBD_DIFF_ITERATE_FLAG_WHOLE_OBJECT
        if HAS_DIFF_ITERATE3:
            if by_id and late_rbd_diff_iterate3 == NULL:
                raise missing_librbd_call("rbd_diff_iterate3")
        cdef _DiffIterateCallback callback = _DiffIterateCallback(iterate_cb)
        cdef void *arg = <void *>callback
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            if not by_id:
                ret = rbd_diff_iterate2(image, c_snap, c_offset, c_length, c_parent, c_whole,
                                        diff_iterate_callback, arg)
            else:
                if HAS_DIFF_ITERATE3:
                    ret = late_rbd_diff_iterate3(image, c_snap_id, c_offset, c_length, c_flags,
                                                 diff_iterate_callback, arg)
                else:
                    ret = -C_EINVAL  # not reached: by_id needs rbd_diff_iterate3
        self._end_call()
        callback.raise_pending()
        if ret >= 0 and callback.stop_code < 0:
            ret = callback.stop_code  # librbd swallows some codes (e.g. -ENOENT); the callback asked to stop
        if ret < 0:
            if by_id:
                raise make_ex(ret, "error generating diff from snapshot id %d" % (c_snap_id,))
            raise make_ex(ret, "error generating diff from snapshot %s" % (from_snapshot,))


cdef object check_write_result(ssize_t ret, Py_ssize_t length, object name, object offset):
    """The byte count of a successful write, else the exception upstream raises for it."""
    if ret < 0:
        raise make_ex(ret, "error writing to %s at offset %s" % (image_label(name), offset))
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
    global callback_depth
    callback_depth += 1
    try:
        result = callback.func(offset, length, exists != 0)
        if result is not None:
            code = result
    except BaseException as exc:
        callback.error = exc
        callback.stop_code = -C_ECANCELED
        return callback.stop_code
    finally:
        callback_depth -= 1
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
