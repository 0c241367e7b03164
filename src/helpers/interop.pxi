# Interop with python3-rados: getting librados handles out of its `Ioctx` and `Rados` objects safely.
#
# We read the C fields through the layout declared in rados.pxd, as upstream does, but we do not trust it blindly:
# the first time, the fields next to the handle must be the very objects Python sees, and every time the handle's
# pool id must match what the Ioctx reports. A closed Ioctx or a shut-down Rados raises instead of handing librbd
# a dangling pointer (upstream segfaults there).

cdef bint _ioctx_layout_checked = False
cdef bint _rados_layout_checked = False


cdef rados_ioctx_t ioctx_handle(object ioctx) except NULL:
    """The `rados_ioctx_t` inside a python3-rados `Ioctx`, after checking that it is usable."""
    global _ioctx_layout_checked
    if not isinstance(ioctx, rados.Ioctx):
        raise TypeError("ioctx must be a rados.Ioctx, not %s" % type(ioctx).__name__)
    cdef rados.Ioctx typed = <rados.Ioctx>ioctx
    if not _ioctx_layout_checked:
        if typed.name is not getattr(ioctx, "name") or typed.state is not getattr(ioctx, "state"):
            raise ImportError("rados.Ioctx has an unexpected memory layout; this rbd build does not match "
                              "the installed python3-rados")
        _ioctx_layout_checked = True
    if typed.state != "open" or typed.io == NULL:
        raise InvalidArgument("ioctx is closed (state %r)" % (typed.state,))
    rados_handle(typed.rados)
    if rados_ioctx_get_id(typed.io) != ioctx.get_pool_id():
        raise ImportError("rados.Ioctx handle does not match its pool id; this rbd build does not match "
                          "the installed python3-rados")
    return typed.io


cdef rados_t rados_handle(object cluster) except NULL:
    """The `rados_t` inside a connected python3-rados `Rados`."""
    global _rados_layout_checked
    if not isinstance(cluster, rados.Rados):
        raise TypeError("rados must be a rados.Rados, not %s" % type(cluster).__name__)
    cdef rados.Rados typed = <rados.Rados>cluster
    if not _rados_layout_checked:
        if typed.state is not getattr(cluster, "state") or typed.rados_id is not getattr(cluster, "rados_id"):
            raise ImportError("rados.Rados has an unexpected memory layout; this rbd build does not match "
                              "the installed python3-rados")
        _rados_layout_checked = True
    if typed.state != "connected" or typed.cluster == NULL:
        raise InvalidArgument("the rados cluster handle is not connected (state %r)" % (typed.state,))
    return typed.cluster


cdef rados.Rados cluster_of(object ioctx):
    """The `Rados` an (already checked) Ioctx belongs to, so that users of the ioctx can watch for shutdown."""
    cdef object cluster = (<rados.Ioctx>ioctx).rados
    if not isinstance(cluster, rados.Rados):
        raise ImportError("rados.Ioctx has an unexpected memory layout; this rbd build does not match "
                          "the installed python3-rados")
    return <rados.Rados>cluster


cdef inline bint cluster_connected(rados.Rados cluster) noexcept:
    """False once the cluster handle is shut down (or gone at interpreter exit): librbd must not be called."""
    return cluster is not None and cluster.state == "connected"
