# Configuration overrides for an image or a pool, and ConfigImageIterator / ConfigPoolIterator.
#
# An override of option `x` is the metadata key `conf_x` (image metadata for an image, pool metadata for a
# pool); librbd checks the option name and value when it is set (InvalidArgument otherwise). The lists show every
# rbd_* option with its effective value and where it comes from (RBD_CONFIG_SOURCE_CONFIG/POOL/IMAGE).

cdef bytes config_key(object key):
    return b"conf_" + cstr(key, "key")


cdef class Image:  # part of rbd.Image (tools/assemble.py joins the parts)

    def config_list(self):
        """A ConfigImageIterator of {'name', 'value', 'source'} for every rbd option as this image sees it."""
        return ConfigImageIterator(self)

    def config_get(self, key):
        """The value (str) of this image's override of option `key`; KeyError if it has none."""
        cdef bytes conf_key = config_key(key)
        return self._get_metadata(conf_key, "no config %s for image %s" % (key, self.name))

    def config_set(self, key, value):
        """Override option `key` with `value` for this image (InvalidArgument for an unknown option or value)."""
        cdef bytes conf_key = config_key(key)
        cdef bytes value_bytes = cstr(value, "value")
        self._set_metadata(conf_key, value_bytes, "config %s" % (key,))

    def config_remove(self, key):
        """Remove this image's override of option `key`; KeyError if it has none."""
        cdef bytes conf_key = config_key(key)
        self._remove_metadata(conf_key, "no config %s for image %s" % (key, self.name), "config %s" % (key,))


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
        """A ConfigPoolIterator of {'name', 'value', 'source'} for every rbd option as the pool's images see it."""
        return ConfigPoolIterator(ioctx)

    def config_get(self, ioctx, key):
        """The value (str) of the pool's override of option `key`; KeyError if it has none."""
        ioctx_handle(ioctx)
        cdef bytes conf_key = config_key(key)
        return _pool_metadata_get(ioctx, conf_key, "no config %s for pool %s" % (key, ioctx.name))

    def config_set(self, ioctx, key, value):
        """Override option `key` with `value` for the pool's images (InvalidArgument for an unknown option)."""
        ioctx_handle(ioctx)
        cdef bytes conf_key = config_key(key)
        cdef bytes value_bytes = cstr(value, "value")
        _pool_metadata_set(ioctx, conf_key, value_bytes, "config %s" % (key,))

    def config_remove(self, ioctx, key):
        """Remove the pool's override of option `key`; KeyError if it has none."""
        ioctx_handle(ioctx)
        cdef bytes conf_key = config_key(key)
        _pool_metadata_remove(ioctx, conf_key, "no config %s for pool %s" % (key, ioctx.name), "config %s" % (key,))
