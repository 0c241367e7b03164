# Image and pool metadata: get/set/remove, MetadataIterator and PoolMetadataIterator (paged).
#
# A missing key raises KeyError (not ImageNotFound), as upstream. Keys and values are strings (str or bytes in,
# str out). The `conf_` keys are configuration overrides (see config.pxi).

cdef uint64_t METADATA_CHUNK = 32        # pairs per rbd_metadata_list call
cdef size_t METADATA_BUFFER = 4096       # first size of each list buffer; grown on -ERANGE


cdef class Image:  # part of rbd.Image (tools/assemble.py joins the parts)

    cdef str _get_metadata(self, bytes key, str missing):
        """The value of `key`; KeyError(missing) if there is none."""
        cdef const char *c_key = key
        cdef int ret = 0
        cdef bytes filled
        cdef rbd_image_t image = self._begin_call()
        try:
            filled = fill_key_growing(<fill_key_fn>rbd_metadata_get, NULL, image, c_key, 256, &ret)
        finally:
            self._end_call()
        if ret == -C_ENOENT:
            raise KeyError(missing)
        if ret < 0:
            raise make_ex(ret, "error getting metadata %s for image %s" % (image_label(key),
                                                                           self.name))
        return first_c_string(filled)

    cdef int _set_metadata(self, bytes key, bytes value, str what) except -1:
        cdef const char *c_key = key
        cdef const char *c_value = value
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_metadata_set(image, c_key, c_value)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error setting %s for image %s" % (what, image_label(self.name)))
        return 0

    cdef int _remove_metadata(self, bytes key, str missing, str what) except -1:
        cdef const char *c_key = key
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_metadata_remove(image, c_key)
        self._end_call()
        if ret == -C_ENOENT:
            raise KeyError(missing)
        if ret < 0:
            raise make_ex(ret, "error removing %s for image %s" % (what, image_label(self.name)))
        return 0

    def metadata_get(self, key):
        """The value of the image metadata `key`.

        :param key: the metadata key
        :type key: str or bytes
        :returns: the value stored under `key`
        :rtype: str
        :raises KeyError: the image has no metadata `key`
        :raises InvalidArgument: `key` is not str or bytes or holds a NUL byte, or the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises UnicodeDecodeError: the stored value is not valid UTF-8
        """
        cdef bytes key_bytes = cstr(key, "key")
        return self._get_metadata(key_bytes, "no metadata %s for image %s" % (image_label(key), image_label(self.name)))

    def metadata_set(self, key, value):
        """Set the image metadata `key` to `value` (both str or bytes), replacing any value it had.

        Keys beginning with `conf_` are configuration overrides (see config_set): librbd checks the option name and
        value of those.

        :param key: the metadata key
        :type key: str or bytes
        :param value: the value to store
        :type value: str or bytes
        :rtype: None
        :raises ReadOnlyImage: the image was opened read-only
        :raises InvalidArgument: `key` or `value` is not str or bytes or holds a NUL byte, the image is closed, or a
            `conf_` key names an unknown option or holds a value that option does not accept
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef bytes key_bytes = cstr(key, "key")
        cdef bytes value_bytes = cstr(value, "value")
        self._set_metadata(key_bytes, value_bytes, "metadata %s" % (image_label(key),))

    def metadata_remove(self, key):
        """Remove the image metadata `key`.

        :param key: the metadata key
        :type key: str or bytes
        :rtype: None
        :raises KeyError: the image has no metadata `key`
        :raises ReadOnlyImage: the image was opened read-only
        :raises InvalidArgument: `key` is not str or bytes or holds a NUL byte, or the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef bytes key_bytes = cstr(key, "key")
        self._remove_metadata(key_bytes, "no metadata %s for image %s" % (image_label(key), image_label(self.name)), "metadata %s" % (image_label(key),))

    def metadata_list(self):
        """The image's metadata: a MetadataIterator of (key, value) pairs (str), in key order, fetched page by page.

        The first page is read now; the iterator keeps the image alive and reads the next pages through it.

        :returns: an iterator over the (key, value) pairs
        :rtype: MetadataIterator
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises UnicodeDecodeError: a key or value is not valid UTF-8
        """
        return MetadataIterator(self)


cdef class _MetadataPages:
    """The paging shared by MetadataIterator and PoolMetadataIterator: `_fetch_next()` fetches the next
    METADATA_CHUNK pairs after the last key read; iterating walks the pages to the end, and iterating again after
    the end starts over from the first key (upstream re-yields only the last page)."""
    cdef bytes last_read
    cdef uint64_t max_read
    cdef list next_chunk
    cdef bint at_end
    cdef bint initialised   # set by the subclass's __init__ once its image or ioctx is set

    def __cinit__(self, *args, **kwargs):
        self.last_read = b""
        self.max_read = METADATA_CHUNK
        self.next_chunk = []
        self.at_end = False

    cdef int _list(self, const char *start, _OutBuffers out) except? -1:
        """Run the list call for the page after `start` into `out`; return its result."""
        raise NotImplementedError

    cdef int _fetch_next(self) except -1:
        """Fetch the next page of (key, value) pairs, after the last key fetched so far."""
        cdef _OutBuffers out = _OutBuffers(2, METADATA_BUFFER)
        cdef const char *start = self.last_read
        cdef int ret
        if not self.initialised:
            raise not_initialised(self)
        while True:
            out.prepare()
            ret = self._list(start, out)
            if ret != -C_ERANGE:
                break
            out.grow()
        if ret < 0:
            raise make_ex(ret, self._error_message())
        keys = out.strings(0, out.sizes[0])
        values = out.strings(1, out.sizes[1])
        if len(keys) != len(values):
            raise LogicError("librbd listed %d metadata keys but %d values" % (len(keys), len(values)))
        self.next_chunk = list(zip(keys, values))
        if self.next_chunk:
            self.last_read = keys[-1].encode("utf-8")
        return 0

    cdef str _error_message(self):
        return "error listing metadata"

    def __iter__(self):
        if not self.initialised:
            raise not_initialised(self)
        if self.at_end:
            self.at_end = False
            self.last_read = b""
            self._fetch_next()
        while True:
            chunk = self.next_chunk
            yield from chunk
            if <uint64_t>len(chunk) < self.max_read:
                self.at_end = True
                return
            self._fetch_next()


cdef class MetadataIterator(_MetadataPages):
    """MetadataIterator(image)
--

Iterates over the (key, value) pairs of an image's metadata, in key order, one page at a time (the first
    page is fetched when the iterator is created). It keeps the image alive."""
    cdef Image image

    def __init__(self, Image image not None):
        self.image = image
        self.initialised = True
        self._fetch_next()

    def get_next_chunk(self):
        """Fetch the next page of (key, value) pairs (after the last key fetched); iterating continues from it.

        Iterating fetches the pages for you; this is upstream's manual paging.

        :rtype: None
        :raises InvalidArgument: the image is closed, or the iterator was made without running its ``__init__``
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises LogicError: librbd listed a different number of keys and values
        :raises UnicodeDecodeError: a key or value is not valid UTF-8
        """
        self._fetch_next()

    cdef int _list(self, const char *start, _OutBuffers out) except? -1:
        cdef int ret
        cdef uint64_t max_read = self.max_read
        cdef rbd_image_t handle = self.image._begin_call()
        with nogil:
            ret = rbd_metadata_list(handle, start, max_read, out.bufs[0], &out.sizes[0], out.bufs[1],
                                    &out.sizes[1])
        self.image._end_call()
        return ret

    cdef str _error_message(self):
        return "error listing metadata for image %s" % (image_label(self.image.name),)


cdef class PoolMetadataIterator(_MetadataPages):
    """PoolMetadataIterator(ioctx)
--

Iterates over the (key, value) pairs of a pool's metadata, in key order, one page at a time (the first
    page is fetched when the iterator is created). It keeps the ioctx alive; a closed ioctx raises."""
    cdef object ioctx

    def __init__(self, ioctx):
        ioctx_handle(ioctx)
        self.ioctx = ioctx
        self.initialised = True
        self._fetch_next()

    def get_next_chunk(self):
        """Fetch the next page of (key, value) pairs (after the last key fetched); iterating continues from it.

        Iterating fetches the pages for you; this is upstream's manual paging.

        :rtype: None
        :raises InvalidArgument: the ioctx was closed or its rados.Rados shut down, or the iterator was made without
            running its ``__init__``
        :raises LogicError: librbd listed a different number of keys and values
        :raises UnicodeDecodeError: a key or value is not valid UTF-8
        """
        self._fetch_next()

    cdef int _list(self, const char *start, _OutBuffers out) except? -1:
        cdef int ret
        cdef uint64_t max_read = self.max_read
        cdef rados_ioctx_t io = ioctx_handle(self.ioctx)
        with nogil:
            ret = rbd_pool_metadata_list(io, start, max_read, out.bufs[0], &out.sizes[0], out.bufs[1],
                                         &out.sizes[1])
        return ret

    cdef str _error_message(self):
        return "error listing metadata for pool %s" % (self.ioctx.name,)


cdef str _pool_metadata_get(object ioctx, bytes key, str missing):
    """The value of the pool metadata `key`; KeyError(missing) if there is none."""
    cdef rados_ioctx_t io = ioctx_handle(ioctx)
    cdef const char *c_key = key
    cdef int ret = 0
    filled = fill_key_growing(<fill_key_fn>rbd_pool_metadata_get, NULL, io, c_key, 256, &ret)
    if ret == -C_ENOENT:
        raise KeyError(missing)
    if ret < 0:
        raise make_ex(ret, "error getting metadata %s for pool %s" % (image_label(key), ioctx.name))
    return first_c_string(filled)


cdef int _pool_metadata_set(object ioctx, bytes key, bytes value, str what) except -1:
    cdef rados_ioctx_t io = ioctx_handle(ioctx)
    cdef const char *c_key = key
    cdef const char *c_value = value
    cdef int ret
    with nogil:
        ret = rbd_pool_metadata_set(io, c_key, c_value)
    if ret < 0:
        raise make_ex(ret, "error setting %s for pool %s" % (what, ioctx.name))
    return 0


cdef int _pool_metadata_remove(object ioctx, bytes key, str missing, str what) except -1:
    cdef rados_ioctx_t io = ioctx_handle(ioctx)
    cdef const char *c_key = key
    cdef int ret
    with nogil:
        ret = rbd_pool_metadata_remove(io, c_key)
    if ret == -C_ENOENT:
        raise KeyError(missing)
    if ret < 0:
        raise make_ex(ret, "error removing %s for pool %s" % (what, ioctx.name))
    return 0


class RBD:  # part of rbd.RBD (tools/assemble.py joins the parts)
    """RBD methods for pool metadata."""

    def pool_metadata_get(self, ioctx, key):
        """The value of the pool metadata `key`.

        :param ioctx: the pool
        :type ioctx: rados.Ioctx
        :param key: the metadata key
        :type key: str or bytes
        :returns: the value stored under `key`
        :rtype: str
        :raises KeyError: the pool has no metadata `key`
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or `key` is not str or bytes or holds a NUL byte
        :raises UnicodeDecodeError: the stored value is not valid UTF-8
        """
        ioctx_handle(ioctx)
        cdef bytes key_bytes = cstr(key, "key")
        return _pool_metadata_get(ioctx, key_bytes, "no metadata %s for pool %s" % (image_label(key), ioctx.name))

    def pool_metadata_set(self, ioctx, key, value):
        """Set the pool metadata `key` to `value` (both str or bytes), replacing any value it had.

        Keys beginning with `conf_` are configuration overrides for the pool's images (see RBD.config_set): librbd
        checks the option name and value of those.

        :param ioctx: the pool
        :type ioctx: rados.Ioctx
        :param key: the metadata key
        :type key: str or bytes
        :param value: the value to store
        :type value: str or bytes
        :rtype: None
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, `key` or `value` is not str or bytes or holds a NUL byte, or a
            `conf_` key names an unknown option or holds a value that option does not accept
        """
        ioctx_handle(ioctx)
        cdef bytes key_bytes = cstr(key, "key")
        cdef bytes value_bytes = cstr(value, "value")
        _pool_metadata_set(ioctx, key_bytes, value_bytes, "metadata %s" % (image_label(key),))

    def pool_metadata_remove(self, ioctx, key):
        """Remove the pool metadata `key`.

        :param ioctx: the pool
        :type ioctx: rados.Ioctx
        :param key: the metadata key
        :type key: str or bytes
        :rtype: None
        :raises KeyError: the pool has no metadata `key`
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or `key` is not str or bytes or holds a NUL byte
        """
        ioctx_handle(ioctx)
        cdef bytes key_bytes = cstr(key, "key")
        _pool_metadata_remove(ioctx, key_bytes, "no metadata %s for pool %s" % (image_label(key), ioctx.name),
                             "metadata %s" % (image_label(key),))

    def pool_metadata_list(self, ioctx):
        """The pool's metadata: a PoolMetadataIterator of (key, value) pairs (str), in key order, fetched page by page.

        The first page is read now; the iterator keeps `ioctx` alive and reads the next pages through it (a closed
        ioctx then raises InvalidArgument).

        :param ioctx: the pool
        :type ioctx: rados.Ioctx
        :returns: an iterator over the (key, value) pairs
        :rtype: PoolMetadataIterator
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed
        :raises UnicodeDecodeError: a key or value is not valid UTF-8
        """
        return PoolMetadataIterator(ioctx)
