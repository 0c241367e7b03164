# Configuration overrides for an image or a pool, and ConfigImageIterator / ConfigPoolIterator.
#
# An override of option `x` is the metadata key `conf_x` (image metadata for an image, pool metadata for a
# pool); librbd checks the option name and value when it is set (InvalidArgument otherwise). The lists show every
# rbd_* option with its effective value and where it comes from (RBD_CONFIG_SOURCE_CONFIG/POOL/IMAGE).

cdef bytes config_key(object key):
    return b"conf_" + cstr(key, "key")


cdef class Image:  # part of rbd.Image (tools/assemble.py joins the parts)

    def config_list(self):
        """Every rbd_* option as this image sees it: a ConfigImageIterator of {'name', 'value', 'source'} dicts.

        `value` is the effective value (str); `source` says where it comes from: RBD_CONFIG_SOURCE_CONFIG (the
        client's configuration), RBD_CONFIG_SOURCE_POOL (an override of the pool) or RBD_CONFIG_SOURCE_IMAGE (an
        override of this image). The list is read now.

        :returns: an iterator over one dict per option
        :rtype: ConfigImageIterator
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        return ConfigImageIterator(self)

    def config_get(self, key):
        """The value of this image's own override of option `key` (stored as the image metadata `conf_<key>`).

        An option the image does not override, or an unknown one, raises KeyError; config_list gives effective
        values.

        :param key: the option's name, e.g. 'rbd_cache'
        :type key: str or bytes
        :returns: the overriding value
        :rtype: str
        :raises KeyError: the image does not override `key`
        :raises InvalidArgument: `key` is not str or bytes or holds a NUL byte, or the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef bytes conf_key = config_key(key)
        return self._get_metadata(conf_key, "no config %s for image %s" % (image_label(key), image_label(self.name)))

    def config_set(self, key, value):
        """Override option `key` with `value` for this image (stored as the image metadata `conf_<key>`).

        librbd checks the option: an unknown option or a value it does not accept raises InvalidArgument.

        :param key: the option's name, e.g. 'rbd_cache'
        :type key: str or bytes
        :param value: the value, as text (e.g. 'false', '65536')
        :type value: str or bytes
        :rtype: None
        :raises InvalidArgument: `key` is not an rbd option, `value` is not valid for it, either is not str or bytes
            or holds a NUL byte, or the image is closed
        :raises ReadOnlyImage: the image was opened read-only
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef bytes conf_key = config_key(key)
        cdef bytes value_bytes = cstr(value, "value")
        self._set_metadata(conf_key, value_bytes, "config %s" % (image_label(key),))

    def config_remove(self, key):
        """Remove this image's override of option `key`: the pool's override or the client's value applies again.

        :param key: the option's name, e.g. 'rbd_cache'
        :type key: str or bytes
        :rtype: None
        :raises KeyError: the image does not override `key`
        :raises ReadOnlyImage: the image was opened read-only
        :raises InvalidArgument: `key` is not str or bytes or holds a NUL byte, or the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef bytes conf_key = config_key(key)
        self._remove_metadata(conf_key, "no config %s for image %s" % (image_label(key), image_label(self.name)), "config %s" % (image_label(key),))


cdef list config_options(rbd_config_option_t *options, int count):
    return [{"name": decode_c(options[i].name), "value": decode_c(options[i].value),
             "source": <int>options[i].source} for i in range(count)]


cdef class ConfigImageIterator:
    """ConfigImageIterator(image)
--

Iterates over {'name': str, 'value': str, 'source': RBD_CONFIG_SOURCE_*}, one per rbd option, as an image
    sees them. The list is fetched when the iterator is created."""
    cdef list entries

    def __init__(self, Image image not None):
        cdef _Listed found = image._list(NULL, sizeof(rbd_config_option_t), 128, <int_list_call>rbd_config_image_list)
        if found.ret < 0:
            raise make_ex(found.ret, "error listing config options of image %s" % (image_label(image.name),))
        try:
            self.entries = config_options(<rbd_config_option_t *>found.items, found.count)
        finally:
            rbd_config_image_list_cleanup(<rbd_config_option_t *>found.items, found.count)

    def __iter__(self):
        return iter_entries(self, self.entries)


cdef class ConfigPoolIterator:
    """ConfigPoolIterator(ioctx)
--

Iterates over {'name': str, 'value': str, 'source': RBD_CONFIG_SOURCE_*}, one per rbd option, as images of
    a pool see them. The list is fetched when the iterator is created."""
    cdef list entries

    def __init__(self, ioctx):
        cdef int_count_call call = int_count_call(<int_list_call>rbd_config_pool_list, ioctx_handle(ioctx))
        cdef _Listed found = list_growing(counting_in_int, &call, sizeof(rbd_config_option_t), 128)
        if found.ret < 0:
            raise make_ex(found.ret, "error listing config options of pool %s" % (ioctx.name,))
        try:
            self.entries = config_options(<rbd_config_option_t *>found.items, found.count)
        finally:
            rbd_config_pool_list_cleanup(<rbd_config_option_t *>found.items, found.count)

    def __iter__(self):
        return iter_entries(self, self.entries)


class RBD:  # part of rbd.RBD (tools/assemble.py joins the parts)
    """RBD methods for a pool's configuration overrides."""

    def config_list(self, ioctx):
        """Every rbd_* option as the pool's images see it: a ConfigPoolIterator of {'name', 'value', 'source'} dicts.

        `value` is the effective value (str); `source` is RBD_CONFIG_SOURCE_CONFIG (the client's configuration) or
        RBD_CONFIG_SOURCE_POOL (an override of the pool). The list is read now.

        :param ioctx: the pool
        :type ioctx: rados.Ioctx
        :returns: an iterator over one dict per option
        :rtype: ConfigPoolIterator
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed
        """
        return ConfigPoolIterator(ioctx)

    def config_get(self, ioctx, key):
        """The value of the pool's override of option `key` (stored as the pool metadata `conf_<key>`).

        An option the pool does not override, or an unknown one, raises KeyError; config_list gives effective values.

        :param ioctx: the pool
        :type ioctx: rados.Ioctx
        :param key: the option's name, e.g. 'rbd_cache'
        :type key: str or bytes
        :returns: the overriding value
        :rtype: str
        :raises KeyError: the pool does not override `key`
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or `key` is not str or bytes or holds a NUL byte
        """
        ioctx_handle(ioctx)
        cdef bytes conf_key = config_key(key)
        return _pool_metadata_get(ioctx, conf_key, "no config %s for pool %s" % (image_label(key), ioctx.name))

    def config_set(self, ioctx, key, value):
        """Override option `key` with `value` for the pool's images (stored as the pool metadata `conf_<key>`).

        An image's own override (Image.config_set) still wins over the pool's. librbd checks the option: an unknown
        option or a value it does not accept raises InvalidArgument.

        :param ioctx: the pool
        :type ioctx: rados.Ioctx
        :param key: the option's name, e.g. 'rbd_cache'
        :type key: str or bytes
        :param value: the value, as text (e.g. 'false', '65536')
        :type value: str or bytes
        :rtype: None
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `key` is not an rbd option, `value` is not valid for it, either is not str or bytes
            or holds a NUL byte, or `ioctx` is closed
        """
        ioctx_handle(ioctx)
        cdef bytes conf_key = config_key(key)
        cdef bytes value_bytes = cstr(value, "value")
        _pool_metadata_set(ioctx, conf_key, value_bytes, "config %s" % (image_label(key),))

    def config_remove(self, ioctx, key):
        """Remove the pool's override of option `key`: the client's value applies again to the pool's images.

        :param ioctx: the pool
        :type ioctx: rados.Ioctx
        :param key: the option's name, e.g. 'rbd_cache'
        :type key: str or bytes
        :rtype: None
        :raises KeyError: the pool does not override `key`
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or `key` is not str or bytes or holds a NUL byte
        """
        ioctx_handle(ioctx)
        cdef bytes conf_key = config_key(key)
        _pool_metadata_remove(ioctx, conf_key, "no config %s for pool %s" % (image_label(key), ioctx.name), "config %s" % (image_label(key),))
