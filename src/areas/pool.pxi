# Pool-level calls: pool_init and pool_stats_get.

class RBD:  # part of rbd.RBD (tools/assemble.py joins the parts)
    """RBD methods that prepare a pool for RBD and report its usage."""

    def pool_init(self, ioctx, force):
        """Prepare the pool of `ioctx` for RBD (enables the 'rbd' application); `force` skips the pool checks.

        :param ioctx: the pool to prepare
        :type ioctx: rados.Ioctx
        :param force: skip librbd's checks that the pool suits RBD (e.g. that it supports self-managed snapshots)
        :type force: bool
        :rtype: None
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed or its rados.Rados is not connected, or (without `force`) the
            pool cannot take self-managed snapshots (it has pool snapshots)
        :raises PermissionError: the client may not change the pool
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef c_bool c_force = bool(force)
        cdef int ret
        with nogil:
            ret = rbd_pool_init(io, c_force)
        if ret < 0:
            raise make_ex(ret, "error initializing pool %s" % (ioctx.name,))

    def pool_stats_get(self, ioctx):
        """A dict of the pool's RBD usage.

        Keys, all ints: image_count, image_provisioned_bytes, image_max_provisioned_bytes, image_snap_count,
        trash_count, trash_provisioned_bytes, trash_max_provisioned_bytes, trash_snap_count. They cover the namespace
        `ioctx` is set to.

        :param ioctx: the pool (and namespace) to report on
        :type ioctx: rados.Ioctx
        :returns: {'image_count': int, 'image_provisioned_bytes': int, 'image_max_provisioned_bytes': int,
            'image_snap_count': int, 'trash_count': int, 'trash_provisioned_bytes': int,
            'trash_max_provisioned_bytes': int, 'trash_snap_count': int}
        :rtype: dict
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or its rados.Rados is not connected
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef rbd_pool_stats_t stats = NULL
        cdef uint64_t values[8]
        cdef int options[8]
        cdef int ret = 0
        cdef int i
        options[:] = [RBD_POOL_STAT_OPTION_IMAGES, RBD_POOL_STAT_OPTION_IMAGE_PROVISIONED_BYTES,
                      RBD_POOL_STAT_OPTION_IMAGE_MAX_PROVISIONED_BYTES, RBD_POOL_STAT_OPTION_IMAGE_SNAPSHOTS,
                      RBD_POOL_STAT_OPTION_TRASH_IMAGES, RBD_POOL_STAT_OPTION_TRASH_PROVISIONED_BYTES,
                      RBD_POOL_STAT_OPTION_TRASH_MAX_PROVISIONED_BYTES, RBD_POOL_STAT_OPTION_TRASH_SNAPSHOTS]
        memset(values, 0, sizeof(values))
        rbd_pool_stats_create(&stats)
        try:
            for i in range(8):
                ret = rbd_pool_stats_option_add_uint64(stats, options[i], &values[i])
                if ret < 0:
                    raise make_ex(ret, "error preparing pool stats for pool %s" % (ioctx.name,))
            with nogil:
                ret = rbd_pool_stats_get(io, stats)
        finally:
            rbd_pool_stats_destroy(stats)
        if ret < 0:
            raise make_ex(ret, "error getting pool stats for pool %s" % (ioctx.name,))
        return {
            "image_count": values[0],
            "image_provisioned_bytes": values[1],
            "image_max_provisioned_bytes": values[2],
            "image_snap_count": values[3],
            "trash_count": values[4],
            "trash_provisioned_bytes": values[5],
            "trash_max_provisioned_bytes": values[6],
            "trash_snap_count": values[7],
        }
