# Image options: the one place that turns create/clone/copy/deep_copy/migration keywords into an
# `rbd_image_options_t` (upstream writes this block out five times).

cdef class _CreationOptions:
    """Owns an `rbd_image_options_t`; destroyed with the object, also when building it failed half-way."""
    cdef rbd_image_options_t handle

    def __cinit__(self):
        rbd_image_options_create(&self.handle)

    def __dealloc__(self):
        if self.handle != NULL:
            rbd_image_options_destroy(self.handle)

    cdef int set_uint64(self, int option, object value, str name) except -1:
        cdef uint64_t number
        try:
            number = value
        except OverflowError:
            raise OverflowError("%s must be a non-negative integer below 2**64, not %r" % (name, value)) from None
        except TypeError:
            raise TypeError("%s must be an integer, not %s" % (name, type(value).__name__)) from None
        cdef int ret = rbd_image_options_set_uint64(self.handle, option, number)
        if ret < 0:
            raise make_ex(ret, "cannot set image option %s to %r" % (name, value))
        return 0

    cdef int set_string(self, int option, object value, str name) except -1:
        cdef bytes encoded = cstr(value, name)
        cdef int ret = rbd_image_options_set_string(self.handle, option, encoded)
        if ret < 0:
            raise make_ex(ret, "cannot set image option %s to %r" % (name, value))
        return 0


cdef _CreationOptions build_image_options(format=None, features=None, order=None, stripe_unit=None,
                                      stripe_count=None, data_pool=None, clone_format=None, flatten=None):
    """Image options from the keywords shared by create, clone, copy, deep_copy and migration (None = unset)."""
    cdef _CreationOptions options = _CreationOptions()
    if format is not None:
        options.set_uint64(RBD_IMAGE_OPTION_FORMAT, format, "format")
    if features is not None:
        options.set_uint64(RBD_IMAGE_OPTION_FEATURES, features, "features")
    if order is not None:
        options.set_uint64(RBD_IMAGE_OPTION_ORDER, order, "order")
    if stripe_unit is not None:
        options.set_uint64(RBD_IMAGE_OPTION_STRIPE_UNIT, stripe_unit, "stripe_unit")
    if stripe_count is not None:
        options.set_uint64(RBD_IMAGE_OPTION_STRIPE_COUNT, stripe_count, "stripe_count")
    if data_pool is not None:
        options.set_string(RBD_IMAGE_OPTION_DATA_POOL, data_pool, "data_pool")
    if clone_format is not None:
        options.set_uint64(RBD_IMAGE_OPTION_CLONE_FORMAT, clone_format, "clone_format")
    if HAS_REEF_API:
        if flatten is not None:  # deep_copy and migration_prepare set it every time, 0 or 1 (as upstream 18)
            options.set_uint64(RBD_IMAGE_OPTION_FLATTEN, 1 if flatten else 0, "flatten")
    else:
        if flatten:  # our keyword on 16 (upstream 16 has none): set only when asked for
            options.set_uint64(RBD_IMAGE_OPTION_FLATTEN, 1, "flatten")
    return options
