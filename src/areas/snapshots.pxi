# Snapshots: create, remove, rename, protect, roll back, list (SnapIterator) and query snapshots.
#
# Snapshot names go through `cstr` (str or bytes, else InvalidArgument); snapshot ids and limits are C integers
# (TypeError / OverflowError from Cython). A missing snapshot is ImageNotFound, as in upstream.


cdef class Image:  # part of rbd.Image (tools/assemble.py joins the parts)

    def list_snaps(self):
        """List this image's snapshots, in every namespace (user, group, trash, mirror).

        The list is read at once: the iterator yields the same entries however often it is iterated.

        :returns: an iterator of dicts {'id', 'size', 'name', 'namespace'}, plus 'group', 'trash' or 'mirror' by
            namespace (see SnapIterator)
        :rtype: SnapIterator
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageNotFound: the image was removed meanwhile
        """
        return SnapIterator(self)

    def create_snap(self, name, flags=0):
        """Create snapshot `name` of the image's current state.

        :param name: name of the new snapshot
        :type name: str or bytes
        :param flags: 0, RBD_SNAP_CREATE_SKIP_QUIESCE or RBD_SNAP_CREATE_IGNORE_QUIESCE_ERROR
        :type flags: int
        :rtype: None
        :raises InvalidArgument: the image is closed, or `name` is not str/bytes or holds a NUL byte
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `flags` is not an int
        :raises OverflowError: `flags` is negative or does not fit 32 bits
        :raises ImageExists: the image already has a snapshot called `name`
        :raises ReadOnlyImage: the image was opened read-only or is set to a snapshot, or has the
            exclusive-lock feature and a client holds an advisory lock on it
        :raises DiskQuotaExceeded: the image already has as many snapshots as its limit (set_snap_limit) allows
        """
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef uint32_t c_flags = flags
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_create2(image, c_name, c_flags, noop_progress, NULL)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error creating snapshot %s from %s" % (image_label(name), image_label(self.name)))

    def rename_snap(self, srcname, dstname):
        """Rename snapshot `srcname` to `dstname`.

        :param srcname: current name of the snapshot
        :type srcname: str or bytes
        :param dstname: new name of the snapshot
        :type dstname: str or bytes
        :rtype: None
        :raises InvalidArgument: the image is closed, or a name is not str/bytes or holds a NUL byte
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageNotFound: the image has no snapshot `srcname`
        :raises ImageExists: the image already has a snapshot `dstname`
        :raises ReadOnlyImage: the image was opened read-only or is set to a snapshot, or has the
            exclusive-lock feature and a client holds an advisory lock on it
        """
        cdef bytes src_bytes = cstr(srcname, "srcname")
        cdef bytes dst_bytes = cstr(dstname, "dstname")
        cdef const char *c_src = src_bytes
        cdef const char *c_dst = dst_bytes
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_rename(image, c_src, c_dst)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error renaming snapshot of %s from %s to %s" % (image_label(self.name), image_label(srcname), image_label(dstname)))

    def remove_snap(self, name):
        """Delete snapshot `name`.

        A snapshot that still has clone v2 children moves to the trash namespace until the last child is gone.

        :param name: name of the snapshot to delete
        :type name: str or bytes
        :rtype: None
        :raises InvalidArgument: the image is closed, or `name` is not str/bytes or holds a NUL byte
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageNotFound: the image has no snapshot `name`
        :raises ImageBusy: the snapshot is protected
        :raises ReadOnlyImage: the image was opened read-only or is set to a snapshot, or has the
            exclusive-lock feature and a client holds an advisory lock on it
        """
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_remove(image, c_name)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error removing snapshot %s from %s" % (image_label(name), image_label(self.name)))

    def remove_snap2(self, name, flags, on_progress=None):
        """Delete snapshot `name`, with `flags` saying what to do about protection and children.

        `on_progress` is an extension of upstream's signature: it is called after each child that
        RBD_SNAP_REMOVE_FLATTEN flattened. librbd cannot cancel here: the removal goes on whatever it returns, and an
        exception it raises is reported through sys.unraisablehook.

        :param name: name of the snapshot to delete
        :type name: str or bytes
        :param flags: 0 or a combination of RBD_SNAP_REMOVE_UNPROTECT, RBD_SNAP_REMOVE_FLATTEN and
            RBD_SNAP_REMOVE_FORCE
        :type flags: int
        :param on_progress: `on_progress(offset, total)` with offset the children done and total the children to
            flatten; None: no progress reports
        :type on_progress: callable or None
        :rtype: None
        :raises InvalidArgument: the image is closed, or `name` is not str/bytes or holds a NUL byte
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `flags` is not an int, or `on_progress` is neither callable nor None
        :raises OverflowError: `flags` is negative or does not fit 32 bits
        :raises ImageNotFound: the image has no snapshot `name`
        :raises ImageBusy: the snapshot is protected (without RBD_SNAP_REMOVE_UNPROTECT) or has children that keep it
        :raises ReadOnlyImage: the image was opened read-only or is set to a snapshot, or has the
            exclusive-lock feature and a client holds an advisory lock on it
        """
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef uint32_t c_flags = flags
        cdef _ProgressCallback progress = _ProgressCallback(on_progress)
        cdef librbd_progress_fn_t fn = progress.c_function()
        cdef void *arg = progress.c_arg()
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_remove2(image, c_name, c_flags, fn, arg)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error removing snapshot %s from %s with flags %s" % (image_label(name), image_label(self.name), flags))

    def remove_snap_by_id(self, snap_id):
        """Delete the snapshot with id `snap_id` (useful for snapshots without a user name: group, trash, mirror).

        :param snap_id: id of the snapshot, as in the 'id' of list_snaps()
        :type snap_id: int
        :rtype: None
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `snap_id` is not an int
        :raises OverflowError: `snap_id` is negative or does not fit 64 bits
        :raises ImageNotFound: the image has no snapshot with that id
        :raises ImageBusy: the snapshot is protected
        :raises ReadOnlyImage: the image was opened read-only or is set to a snapshot, or has the
            exclusive-lock feature and a client holds an advisory lock on it
        """
        cdef uint64_t c_id = snap_id
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_remove_by_id(image, c_id)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error removing snapshot %s from %s" % (snap_id, image_label(self.name)))

    def rollback_to_snap(self, name, on_progress=None):
        """Revert the image's data to snapshot `name`.

        `on_progress` is called as objects are rolled back; a non-zero return value cancels the rollback
        (OperationCanceled), leaving the image partly rolled back. An exception it raises is reported through
        sys.unraisablehook and the rollback goes on.

        :param name: name of the snapshot to roll back to
        :type name: str or bytes
        :param on_progress: `on_progress(offset, total)`, the objects done and the objects in all; None: no
            progress reports
        :type on_progress: callable or None
        :rtype: None
        :raises InvalidArgument: the image is closed, or `name` is not str/bytes or holds a NUL byte
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `on_progress` is neither callable nor None
        :raises ImageNotFound: the image has no snapshot `name`
        :raises ReadOnlyImage: the image was opened read-only or is set to a snapshot, or has the
            exclusive-lock feature and a client holds an advisory lock on it
        :raises OperationCanceled: `on_progress` returned a non-zero value
        """
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef _ProgressCallback progress = _ProgressCallback(on_progress)
        cdef librbd_progress_fn_t fn = progress.c_function()
        cdef void *arg = progress.c_arg()
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_rollback_with_progress(image, c_name, fn, arg)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error rolling back image %s to snapshot %s" % (image_label(self.name), image_label(name)))

    def protect_snap(self, name):
        """Protect snapshot `name` from removal (needed to clone it in clone format 1).

        :param name: name of the snapshot
        :type name: str or bytes
        :rtype: None
        :raises InvalidArgument: the image is closed, or `name` is not str/bytes or holds a NUL byte
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageNotFound: the image has no snapshot `name`
        :raises ImageBusy: the snapshot is already protected
        :raises ReadOnlyImage: the image was opened read-only or is set to a snapshot, or has the
            exclusive-lock feature and a client holds an advisory lock on it
        """
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_protect(image, c_name)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error protecting snapshot %s@%s" % (image_label(self.name), image_label(name)))

    def unprotect_snap(self, name):
        """Unprotect snapshot `name`, so that it can be removed.

        :param name: name of the snapshot
        :type name: str or bytes
        :rtype: None
        :raises InvalidArgument: the image is closed, `name` is not str/bytes or holds a NUL byte, or the snapshot is
            not protected
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageNotFound: the image has no snapshot `name`
        :raises ImageBusy: the snapshot still has clone children
        :raises ReadOnlyImage: the image was opened read-only or is set to a snapshot, or has the
            exclusive-lock feature and a client holds an advisory lock on it
        """
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_unprotect(image, c_name)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error unprotecting snapshot %s@%s" % (image_label(self.name), image_label(name)))

    def is_protected_snap(self, name):
        """Whether snapshot `name` is protected.

        :param name: name of the snapshot
        :type name: str or bytes
        :returns: True if the snapshot is protected
        :rtype: bool
        :raises InvalidArgument: the image is closed, or `name` is not str/bytes or holds a NUL byte
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageNotFound: the image has no snapshot `name`
        """
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef int is_protected = 0
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_is_protected(image, c_name, &is_protected)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error checking if snapshot %s@%s is protected" % (image_label(self.name), image_label(name)))
        return is_protected == 1

    def snap_exists(self, name):
        """Whether the image has a snapshot called `name`.

        :param name: name of the snapshot
        :type name: str or bytes
        :returns: True if the snapshot exists
        :rtype: bool
        :raises InvalidArgument: the image is closed, or `name` is not str/bytes or holds a NUL byte
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef c_bool exists = False
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_exists(image, c_name, &exists)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error checking whether snapshot %s exists for image %s" % (image_label(name), image_label(self.name)))
        return bool(exists)

    def get_snap_limit(self):
        """The most snapshots the image may have.

        :returns: the limit; 2**64 - 1 when there is none
        :rtype: int
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef uint64_t limit
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_get_limit(image, &limit)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting snapshot limit for %s" % (image_label(self.name),))
        return limit

    def set_snap_limit(self, limit):
        """Allow the image at most `limit` snapshots: create_snap() then raises DiskQuotaExceeded past it.

        :param limit: the most snapshots the image may have
        :type limit: int
        :returns: 0, as upstream
        :rtype: int
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `limit` is not an int
        :raises OverflowError: `limit` is negative or does not fit 64 bits
        :raises ReadOnlyImage: the image has the exclusive-lock feature and a client holds an advisory lock on it
            (librbd would wait forever for the exclusive lock), or the image was opened read-only
        """
        cdef uint64_t c_limit = limit
        cdef int ret
        # librbd waits forever for the exclusive lock under an advisory lock (docs/reliability.md)
        self._refuse_under_any_advisory_lock(-C_EROFS)
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_set_limit(image, c_limit)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error setting snapshot limit for %s" % (image_label(self.name),))
        return ret

    def remove_snap_limit(self):
        """Remove the image's snapshot limit (get_snap_limit() then answers 2**64 - 1).

        :returns: 0, as upstream
        :rtype: int
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ReadOnlyImage: the image has the exclusive-lock feature and a client holds an advisory lock on it
            (librbd would wait forever for the exclusive lock), or the image was opened read-only
        """
        cdef uint64_t c_limit = <uint64_t>-1
        cdef int ret
        # librbd waits forever for the exclusive lock under an advisory lock (docs/reliability.md)
        self._refuse_under_any_advisory_lock(-C_EROFS)
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_set_limit(image, c_limit)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error removing snapshot limit for %s" % (image_label(self.name),))
        return ret

    def get_snap_timestamp(self, snap_id):
        """When snapshot `snap_id` was created.

        From librbd 1.20 the datetime is aware (UTC), before it is naive (in UTC), as upstream's module of each release.
        A missing snapshot raises ImageNotFound (librbd itself aborts the process there; we check first).

        :param snap_id: id of the snapshot
        :type snap_id: int
        :returns: the creation time of the snapshot
        :rtype: datetime.datetime
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `snap_id` is not an int
        :raises OverflowError: `snap_id` is negative or does not fit 64 bits
        :raises ImageNotFound: the image has no snapshot with that id
        """
        cdef uint64_t c_id = snap_id
        cdef timespec value
        cdef rbd_snap_namespace_type_t namespace_type
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            # rbd_snap_get_timestamp asserts that the snapshot exists: refresh and look it up first.
            ret = rbd_snap_get_namespace_type(image, c_id, &namespace_type)
            if ret == 0:
                ret = rbd_snap_get_timestamp(image, c_id, &value)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting snapshot timestamp for image: %s, snap_id: %d" % (image_label(self.name), c_id))
        return utc_timestamp(value.tv_sec)

    def set_snap(self, name):
        """Read from snapshot `name` from now on (the handle becomes read-only); None goes back to the head.

        Waits first for this handle's calls and aio operations in flight (librbd would hang switching under them).

        :param name: name of the snapshot, or None for the head
        :type name: str or bytes or None
        :rtype: None
        :raises InvalidArgument: the image is closed, or `name` is not str/bytes/None or holds a NUL byte
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageNotFound: the image has no snapshot `name`
        :raises ImageBusy: called from a progress or diff_iterate callback of a call still running on the image
        """
        cdef bytes name_bytes = cstr(name, "name", opt=True)
        cdef const char *c_name = opt_str(name_bytes)
        cdef int ret
        self._settle()  # an aio still waiting for the lock would hang librbd's snapshot switch
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_set(image, c_name)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error setting image %s to snapshot %s" % (image_label(self.name), image_label(name)))
        self.at_snapshot = name_bytes is not None

    def set_snap_by_id(self, snap_id):
        """Read from snapshot `snap_id` from now on; a false value (None, 0) goes back to the head.

        Waits first for this handle's calls and aio operations in flight (librbd would hang switching under them).

        :param snap_id: id of the snapshot, or None (or 0) for the head
        :type snap_id: int or None
        :rtype: None
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `snap_id` is neither an int nor a false value
        :raises OverflowError: `snap_id` is negative or does not fit 64 bits
        :raises ImageNotFound: the image has no snapshot with that id
        :raises ImageBusy: called from a progress or diff_iterate callback of a call still running on the image
        """
        cdef uint64_t c_id
        if not snap_id:
            c_id = LIBRADOS_SNAP_HEAD
        else:
            c_id = snap_id
        cdef int ret
        self._settle()  # an aio still waiting for the lock would hang librbd's snapshot switch
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_set_by_id(image, c_id)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error setting image %s to snapshot %s" % (image_label(self.name), snap_id))
        self.at_snapshot = c_id != LIBRADOS_SNAP_HEAD

    def snap_get_name(self, snap_id):
        """The name of snapshot `snap_id`.

        :param snap_id: id of the snapshot
        :type snap_id: int
        :returns: the snapshot's name
        :rtype: str
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `snap_id` is not an int
        :raises OverflowError: `snap_id` is negative or does not fit 64 bits
        :raises ImageNotFound: the image has no snapshot with that id
        """
        cdef int ret = 0
        cdef snap_fill_ctx ctx
        ctx.snap_id = snap_id
        ctx.image = self._begin_call()
        try:
            filled = fill_growing(_snap_get_name, &ctx, 64, &ret)
        finally:
            self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting the name of snapshot %s of image %s" % (snap_id, image_label(self.name)))
        return first_c_string(filled)

    def snap_get_id(self, snap_name):
        """The id of snapshot `snap_name`.

        :param snap_name: name of the snapshot
        :type snap_name: str or bytes
        :returns: the snapshot's id
        :rtype: int
        :raises InvalidArgument: the image is closed, or `snap_name` is not str/bytes or holds a NUL byte
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageNotFound: the image has no snapshot `snap_name`
        """
        cdef bytes name_bytes = cstr(snap_name, "snap_name")
        cdef const char *c_name = name_bytes
        cdef uint64_t snap_id
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_get_id(image, c_name, &snap_id)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting the id of snapshot %s of image %s" % (image_label(snap_name), image_label(self.name)))
        return snap_id

    def snap_get_namespace_type(self, snap_id):
        """The namespace snapshot `snap_id` belongs to.

        :param snap_id: id of the snapshot
        :type snap_id: int
        :returns: RBD_SNAP_NAMESPACE_TYPE_USER, _GROUP, _TRASH or _MIRROR
        :rtype: int
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `snap_id` is not an int
        :raises OverflowError: `snap_id` is negative or does not fit 64 bits
        :raises ImageNotFound: the image has no snapshot with that id
        """
        cdef uint64_t c_id = snap_id
        cdef rbd_snap_namespace_type_t namespace_type
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_get_namespace_type(image, c_id, &namespace_type)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting snapshot namespace type for image: %s, snap_id: %d"
                          % (image_label(self.name), c_id))
        return namespace_type

    def snap_get_group_namespace(self, snap_id):
        """Which group snapshot made snapshot `snap_id` (a snapshot in the group namespace).

        :param snap_id: id of the snapshot
        :type snap_id: int
        :returns: {'pool': the group's pool id, 'name': the group's name, 'snap_name': the group snapshot's name}
        :rtype: dict
        :raises InvalidArgument: the image is closed, or the snapshot is not in the group namespace
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `snap_id` is not an int
        :raises OverflowError: `snap_id` is negative or does not fit 64 bits
        :raises ImageNotFound: the image has no snapshot with that id
        """
        cdef uint64_t c_id = snap_id
        cdef rbd_snap_group_namespace_t info
        cdef int ret
        memset(&info, 0, sizeof(info))
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_get_group_namespace(image, c_id, &info, sizeof(info))
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting snapshot group namespace for image: %s, snap_id: %d"
                          % (image_label(self.name), c_id))
        try:
            return {
                "pool": info.group_pool,
                "name": decode_c(info.group_name),
                "snap_name": decode_c(info.group_snap_name),
            }
        finally:
            rbd_snap_group_namespace_cleanup(&info, sizeof(info))

    def snap_get_trash_namespace(self, snap_id):
        """What snapshot `snap_id` was before it moved to the trash namespace (removed while it had clone v2
        children).

        With librbd 1.19 (Ceph 19.2) or newer (rbd_snap_get_trash_namespace2) the dict also has
        'original_namespace_type', as upstream's module of Ceph 20.2 gives it.

        :param snap_id: id of the snapshot
        :type snap_id: int
        :returns: {'original_namespace_type': the RBD_SNAP_NAMESPACE_TYPE_* it had (librbd 1.19 or newer),
            'original_name': its name before it was removed}
        :rtype: dict
        :raises InvalidArgument: the image is closed, or the snapshot is not in the trash namespace
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `snap_id` is not an int
        :raises OverflowError: `snap_id` is negative or does not fit 64 bits
        :raises ImageNotFound: the image has no snapshot with that id
        """
        cdef uint64_t c_id = snap_id
        if HAS_SNAP_TRASH_NAMESPACE2:
            return self._snap_trash_namespace2(c_id)
        return self._snap_trash_namespace1(c_id)

    cdef dict _snap_trash_namespace2(self, uint64_t c_id):
        """snap_get_trash_namespace with rbd_snap_get_trash_namespace2."""
        cdef rbd_snap_trash_namespace_t trash
        cdef int ret
        memset(&trash, 0, sizeof(trash))
        if late_rbd_snap_get_trash_namespace2 == NULL or late_rbd_snap_trash_namespace_cleanup == NULL:
            raise missing_librbd_call("rbd_snap_get_trash_namespace2")
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = late_rbd_snap_get_trash_namespace2(image, c_id, &trash, sizeof(trash))
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting snapshot trash namespace for image: %s, snap_id: %d"
                          % (image_label(self.name), c_id))
        try:
            return {"original_namespace_type": <int>trash.original_namespace_type,
                    "original_name": decode_c(trash.original_name)}
        finally:
            late_rbd_snap_trash_namespace_cleanup(&trash, sizeof(trash))

    cdef dict _snap_trash_namespace1(self, uint64_t c_id):
        """snap_get_trash_namespace with rbd_snap_get_trash_namespace (no original_namespace_type)."""
        cdef int ret = 0
        cdef snap_fill_ctx ctx
        ctx.snap_id = c_id
        ctx.image = self._begin_call()
        try:
            filled = fill_growing(_snap_get_trash_namespace, &ctx, 256, &ret)
        finally:
            self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting snapshot trash namespace image: %s, snap_id: %d"
                          % (image_label(self.name), c_id))
        return {"original_name": first_c_string(filled)}

    def snap_get_mirror_namespace(self, snap_id):
        """The mirroring state of mirror snapshot `snap_id`.

        :param snap_id: id of the snapshot
        :type snap_id: int
        :returns: {'state': RBD_SNAP_MIRROR_STATE_*, 'mirror_peer_uuids': list of str, 'complete': bool,
            'primary_mirror_uuid': str, 'primary_snap_id': int, 'last_copied_object_number': int}
        :rtype: dict
        :raises InvalidArgument: the image is closed, or the snapshot is not in the mirror namespace
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `snap_id` is not an int
        :raises OverflowError: `snap_id` is negative or does not fit 64 bits
        :raises ImageNotFound: the image has no snapshot with that id
        """
        cdef uint64_t c_id = snap_id
        cdef rbd_snap_mirror_namespace_t info
        cdef const char *uuid
        cdef size_t i
        cdef int ret
        memset(&info, 0, sizeof(info))
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_get_mirror_namespace(image, c_id, &info, sizeof(info))
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting snapshot mirror namespace for image: %s, snap_id: %d"
                          % (image_label(self.name), c_id))
        try:
            peer_uuids = []
            uuid = info.mirror_peer_uuids
            for i in range(info.mirror_peer_uuids_count if uuid != NULL else 0):
                peer_uuids.append(decode_c(uuid))
                uuid += strlen(uuid) + 1
            return {
                "state": info.state,
                "mirror_peer_uuids": peer_uuids,
                "complete": bool(info.complete),
                "primary_mirror_uuid": decode_c(info.primary_mirror_uuid),
                "primary_snap_id": info.primary_snap_id,
                "last_copied_object_number": info.last_copied_object_number,
            }
        finally:
            rbd_snap_mirror_namespace_cleanup(&info, sizeof(info))


# The snapshot getters that take a snapshot id, as fill_fns (helpers/buffers.pxi).
cdef struct snap_fill_ctx:
    rbd_image_t image
    uint64_t snap_id


cdef int _snap_get_name(void *ctx, char *buf, size_t *size) noexcept nogil:
    cdef snap_fill_ctx *snap = <snap_fill_ctx *>ctx
    return rbd_snap_get_name(snap.image, snap.snap_id, buf, size)


cdef int _snap_get_trash_namespace(void *ctx, char *buf, size_t *size) noexcept nogil:
    """rbd_snap_get_trash_namespace takes a plain length: on -ERANGE `size` stays, and fill_growing doubles it."""
    cdef snap_fill_ctx *snap = <snap_fill_ctx *>ctx
    return rbd_snap_get_trash_namespace(snap.image, snap.snap_id, buf, size[0])


cdef class SnapIterator:
    """SnapIterator(image)
--

Iterates over an image's snapshots as dicts {'id', 'size', 'name', 'namespace'}, plus, by namespace,
    'group' (snap_get_group_namespace), 'trash' (snap_get_trash_namespace) or 'mirror'
    (snap_get_mirror_namespace); a detail that cannot be read is None.

    The list is read when the iterator is created; iterating again yields the same entries. A snapshot removed
    while the list is being read is left out.
    """
    cdef object image
    cdef list entries

    def __init__(self, Image image not None):
        self.image = image
        self.entries = []
        for snap_id, size, name in _list_snapshots(image):
            try:
                namespace = image.snap_get_namespace_type(snap_id)
            except ImageNotFound:
                continue  # removed since it was listed
            entry = {"id": snap_id, "size": size, "name": name, "namespace": namespace}
            if namespace == RBD_SNAP_NAMESPACE_TYPE_GROUP:
                entry["group"] = _namespace_or_none(image.snap_get_group_namespace, snap_id)
            elif namespace == RBD_SNAP_NAMESPACE_TYPE_TRASH:
                entry["trash"] = _namespace_or_none(image.snap_get_trash_namespace, snap_id)
            elif namespace == RBD_SNAP_NAMESPACE_TYPE_MIRROR:
                entry["mirror"] = _namespace_or_none(image.snap_get_mirror_namespace, snap_id)
            self.entries.append(entry)

    def __iter__(self):
        return iter_entries(self, self.entries)


cdef object _namespace_or_none(getter, snap_id):
    try:
        return getter(snap_id)
    except Error:
        return None


cdef list _list_snapshots(Image image):
    """[(id, size, name)] of every snapshot of `image`, from rbd_snap_list."""
    cdef int i
    # librbd fills `count` entries: the snapshots and a terminating entry with a NULL name; it returns how many
    # snapshots there are.
    cdef _Listed found = image._list(NULL, sizeof(rbd_snap_info_t), 32, <int_list_call>rbd_snap_list)
    if found.ret < 0:
        raise make_ex(found.ret, "error listing snapshots for image %s" % (image_label(image.name),))
    cdef rbd_snap_info_t *snaps = <rbd_snap_info_t *>found.items
    try:
        return [(snaps[i].id, snaps[i].size, decode_c(snaps[i].name)) for i in range(found.ret)]
    finally:
        rbd_snap_list_end(snaps)
