# Namespaces: create, remove, exists, list.
#
# A namespace splits one pool into separate sets of images (and trash, groups, ...); select one with
# `ioctx.set_namespace(name)` before passing the Ioctx to the other calls.

class RBD:  # part of rbd.RBD (tools/assemble.py joins the parts)
    """RBD methods that manage the namespaces of a pool."""

    def namespace_create(self, ioctx, name):
        """Create namespace `name` in the pool of `ioctx`; ImageExists if it exists.

        The namespace `ioctx` is set to does not matter: namespaces belong to the pool.

        :param ioctx: the pool to create the namespace in
        :type ioctx: rados.Ioctx
        :param name: the new namespace's name
        :type name: str or bytes
        :rtype: None
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed or its rados.Rados is not connected, or `name` is not a string or
            holds a NUL byte
        :raises ImageExists: the namespace exists already
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef int ret
        with nogil:
            ret = rbd_namespace_create(io, c_name)
        if ret < 0:
            raise make_ex(ret, "error creating namespace %s" % (image_label(name),))

    def namespace_remove(self, ioctx, name):
        """Remove namespace `name`; ImageNotFound if missing, ImageBusy while it still holds images.

        :param ioctx: the pool holding the namespace
        :type ioctx: rados.Ioctx
        :param name: the namespace's name
        :type name: str or bytes
        :rtype: None
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed or its rados.Rados is not connected, or `name` is not a string or
            holds a NUL byte
        :raises ImageNotFound: there is no namespace `name`
        :raises ImageBusy: the namespace still holds images (or images in its trash)
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef int ret
        with nogil:
            ret = rbd_namespace_remove(io, c_name)
        if ret < 0:
            raise make_ex(ret, "error removing namespace %s" % (image_label(name),))

    def namespace_exists(self, ioctx, name):
        """True if namespace `name` exists in the pool of `ioctx`.

        :param ioctx: the pool to look in
        :type ioctx: rados.Ioctx
        :param name: the namespace's name
        :type name: str or bytes
        :returns: whether the namespace exists
        :rtype: bool
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed or its rados.Rados is not connected, or `name` is not a string or
            holds a NUL byte
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
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
        """The names (str) of the namespaces of the pool of `ioctx`.

        The default namespace ("") is not listed.

        :param ioctx: the pool to list
        :type ioctx: rados.Ioctx
        :returns: the namespace names
        :rtype: list of str
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or its rados.Rados is not connected
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef int ret
        filled = fill_growing(<fill_fn>rbd_namespace_list, io, 256, &ret)
        if ret < 0:
            raise make_ex(ret, "error listing namespaces")
        return split_nul_separated(filled, len(filled))
