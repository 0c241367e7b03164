# Namespaces: create, remove, exists, list.
#
# A namespace splits one pool into separate sets of images (and trash, groups, ...); select one with
# `ioctx.set_namespace(name)` before passing the Ioctx to the other calls.

class RBD:  # part of rbd.RBD (tools/assemble.py joins the parts)
    """RBD methods that manage the namespaces of a pool."""

    def namespace_create(self, ioctx, name):
        """Create namespace `name` in the pool of `ioctx`; ImageExists if it exists."""
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef int ret
        with nogil:
            ret = rbd_namespace_create(io, c_name)
        if ret < 0:
            raise make_ex(ret, "error creating namespace %s" % (image_label(name),))

    def namespace_remove(self, ioctx, name):
        """Remove namespace `name`; ImageNotFound if missing, ImageBusy while it still holds images."""
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef int ret
        with nogil:
            ret = rbd_namespace_remove(io, c_name)
        if ret < 0:
            raise make_ex(ret, "error removing namespace %s" % (image_label(name),))

    def namespace_exists(self, ioctx, name):
        """True if namespace `name` exists in the pool of `ioctx`."""
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef c_bool exists = False
        cdef int ret
        with nogil:
            ret = rbd_namespace_exists(io, c_name, &exists)
        if ret < 0:
            raise make_ex(ret, "error verifying namespace %s" % (image_label(name),))
        return bool(exists)

    def namespace_list(self, ioctx):
        """The names (str) of the namespaces of the pool of `ioctx`."""
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef int ret
        filled = fill_growing(<fill_fn>rbd_namespace_list, io, 256, &ret)
        if ret < 0:
            raise make_ex(ret, "error listing namespaces")
        return split_nul_separated(filled, len(filled))
