# Snapshots: create, remove, rename, protect, roll back, list (SnapIterator) and query snapshots.
#
# Snapshot names go through `cstr` (str or bytes, else InvalidArgument); snapshot ids and limits are C integers
# (TypeError / OverflowError from Cython). A missing snapshot is ImageNotFound, as in upstream.


cdef class Image:  # part of rbd.Image (tools/assemble.py joins the parts)

    def list_snaps(self):
        """A SnapIterator over this image's snapshots (all namespaces: user, group, trash, mirror)."""
        return SnapIterator(self)

    def create_snap(self, name, flags=0):
        """Create snapshot `name` of the image's current state.

        `flags`: RBD_SNAP_CREATE_SKIP_QUIESCE or RBD_SNAP_CREATE_IGNORE_QUIESCE_ERROR. Raises ImageExists if the
        name is taken, ReadOnlyImage on an image opened read-only.
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
            raise make_ex(ret, "error creating snapshot %s from %s" % (name, self.name))

    def rename_snap(self, srcname, dstname):
        """Rename snapshot `srcname` to `dstname` (ImageNotFound / ImageExists)."""
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
            raise make_ex(ret, "error renaming snapshot of %s from %s to %s" % (self.name, srcname, dstname))

    def remove_snap(self, name):
        """Delete snapshot `name`. A protected snapshot raises ImageBusy; a missing one ImageNotFound.

        A snapshot with clone v2 children moves to the trash namespace until the last child is gone.
        """
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_remove(image, c_name)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error removing snapshot %s from %s" % (name, self.name))

    def remove_snap2(self, name, flags, on_progress=None):
        """Delete snapshot `name` with `flags` (RBD_SNAP_REMOVE_UNPROTECT, _FLATTEN or _FORCE).

        `on_progress(offset, total)` (an extension of upstream's signature) is called after each child that
        RBD_SNAP_REMOVE_FLATTEN flattened (offset: children done, total: children). librbd cannot cancel here:
        the removal goes on whatever it returns, and an exception it raises is reported through sys.unraisablehook.
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
            raise make_ex(ret, "error removing snapshot %s from %s with flags %s" % (name, self.name, flags))

    def remove_snap_by_id(self, snap_id):
        """Delete the snapshot with id `snap_id` (ImageNotFound if there is none)."""
        cdef uint64_t c_id = snap_id
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_remove_by_id(image, c_id)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error removing snapshot %s from %s" % (snap_id, self.name))

    def rollback_to_snap(self, name, on_progress=None):
        """Revert the image's data to snapshot `name`.

        `on_progress(offset, total)` is called as objects are rolled back; a non-zero return value cancels the
        rollback (OperationCanceled), leaving the image partly rolled back. An exception it raises is reported
        through sys.unraisablehook and the rollback goes on.
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
            raise make_ex(ret, "error rolling back image %s to snapshot %s" % (self.name, name))

    def protect_snap(self, name):
        """Protect snapshot `name` from removal (needed to clone it in clone format 1). Already: ImageBusy."""
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_protect(image, c_name)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error protecting snapshot %s@%s" % (self.name, name))

    def unprotect_snap(self, name):
        """Unprotect snapshot `name`. ImageBusy while it has clone children; InvalidArgument if not protected."""
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_unprotect(image, c_name)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error unprotecting snapshot %s@%s" % (self.name, name))

    def is_protected_snap(self, name):
        """True if snapshot `name` is protected (ImageNotFound if there is no such snapshot)."""
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef int is_protected = 0
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_is_protected(image, c_name, &is_protected)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error checking if snapshot %s@%s is protected" % (self.name, name))
        return is_protected == 1

    def snap_exists(self, name):
        """True if the image has a snapshot called `name`."""
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef c_bool exists = False
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_exists(image, c_name, &exists)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error checking whether snapshot %s exists for image %s" % (name, self.name))
        return bool(exists)

    def get_snap_limit(self):
        """The most snapshots the image may have (2**64 - 1 when unlimited)."""
        cdef uint64_t limit
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_get_limit(image, &limit)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting snapshot limit for %s" % (self.name,))
        return limit

    def set_snap_limit(self, limit):
        """Allow at most `limit` snapshots (creating more raises an error). Returns 0, as upstream."""
        cdef uint64_t c_limit = limit
        cdef int ret
        # librbd waits forever for the exclusive lock under an advisory lock (docs/reliability.md)
        self._refuse_under_any_advisory_lock(-C_EROFS)
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_set_limit(image, c_limit)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error setting snapshot limit for %s" % (self.name,))
        return ret

    def remove_snap_limit(self):
        """Remove the snapshot limit. Returns 0, as upstream."""
        cdef uint64_t c_limit = <uint64_t>-1
        cdef int ret
        # librbd waits forever for the exclusive lock under an advisory lock (docs/reliability.md)
        self._refuse_under_any_advisory_lock(-C_EROFS)
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_set_limit(image, c_limit)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error removing snapshot limit for %s" % (self.name,))
        return ret

    def get_snap_timestamp(self, snap_id):
        """When snapshot `snap_id` was created: a datetime in UTC (naive before librbd 1.20, as upstream).

        A missing snapshot raises ImageNotFound (librbd itself aborts the process there; we check first).
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
            raise make_ex(ret, "error getting snapshot timestamp for image: %s, snap_id: %d" % (self.name, c_id))
        return utc_timestamp(value.tv_sec)

    def set_snap(self, name):
        """Read from snapshot `name` from now on (the image becomes read-only); None goes back to the head."""
        cdef bytes name_bytes = cstr(name, "name", opt=True)
        cdef const char *c_name = opt_str(name_bytes)
        cdef int ret
        self._settle()  # an aio still waiting for the lock would hang librbd's snapshot switch
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_set(image, c_name)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error setting image %s to snapshot %s" % (self.name, name))
        self.at_snapshot = name_bytes is not None

    def set_snap_by_id(self, snap_id):
        """Read from snapshot `snap_id` from now on; a false value (None, 0) goes back to the head."""
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
            raise make_ex(ret, "error setting image %s to snapshot %s" % (self.name, snap_id))
        self.at_snapshot = c_id != LIBRADOS_SNAP_HEAD

    def snap_get_name(self, snap_id):
        """The name (str) of snapshot `snap_id` (ImageNotFound if there is none)."""
        cdef uint64_t c_id = snap_id
        cdef size_t size = 64
        cdef size_t asked
        cdef char *buf = NULL
        cdef char *grown
        cdef int ret
        cdef rbd_image_t image
        try:
            while True:
                asked = size
                grown = <char *>realloc(buf, size)
                if grown == NULL:
                    raise MemoryError("cannot allocate %d bytes" % size)
                buf = grown
                image = self._begin_call()
                with nogil:
                    ret = rbd_snap_get_name(image, c_id, buf, &size)
                self._end_call()
                if ret != -C_ERANGE:
                    break
                if size <= asked:
                    size = asked * 2
                if size > MAX_FILL_SIZE:
                    raise MemoryError("librbd asked for a %d byte buffer" % size)
            if ret < 0:
                raise make_ex(ret, "error getting the name of snapshot %s of image %s" % (snap_id, self.name))
            return decode_c(buf)
        finally:
            free(buf)

    def snap_get_id(self, snap_name):
        """The id of snapshot `snap_name` (ImageNotFound if there is none)."""
        cdef bytes name_bytes = cstr(snap_name, "snap_name")
        cdef const char *c_name = name_bytes
        cdef uint64_t snap_id
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_get_id(image, c_name, &snap_id)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting the id of snapshot %s of image %s" % (snap_name, self.name))
        return snap_id

    def snap_get_namespace_type(self, snap_id):
        """The namespace of snapshot `snap_id`: RBD_SNAP_NAMESPACE_TYPE_USER, _GROUP, _TRASH or _MIRROR."""
        cdef uint64_t c_id = snap_id
        cdef rbd_snap_namespace_type_t namespace_type
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_snap_get_namespace_type(image, c_id, &namespace_type)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting snapshot namespace type for image: %s, snap_id: %d"
                          % (self.name, c_id))
        return namespace_type

    def snap_get_group_namespace(self, snap_id):
        """For a group snapshot: {'pool': group pool id, 'name': group name, 'snap_name': group snapshot name}.

        InvalidArgument if the snapshot is not in the group namespace, ImageNotFound if there is none.
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
                          % (self.name, c_id))
        try:
            return {
                "pool": info.group_pool,
                "name": decode_c(info.group_name),
                "snap_name": decode_c(info.group_snap_name),
            }
        finally:
            rbd_snap_group_namespace_cleanup(&info, sizeof(info))

    IF HAS_SNAP_TRASH_NAMESPACE2:
        def snap_get_trash_namespace(self, snap_id):
            """For a snapshot in the trash namespace: {'original_namespace_type': the RBD_SNAP_NAMESPACE_TYPE_* it
            had, 'original_name': its name before it was removed} (librbd 1.20; 'original_name' only before).

            InvalidArgument if the snapshot is not in the trash namespace, ImageNotFound if there is none.
            """
            cdef uint64_t c_id = snap_id
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
                              % (self.name, c_id))
            try:
                return {"original_namespace_type": <int>trash.original_namespace_type,
                        "original_name": decode_c(trash.original_name)}
            finally:
                late_rbd_snap_trash_namespace_cleanup(&trash, sizeof(trash))
    ELSE:
        def snap_get_trash_namespace(self, snap_id):
            """For a snapshot in the trash namespace: {'original_name': its name before it was removed}.

            InvalidArgument if the snapshot is not in the trash namespace, ImageNotFound if there is none.
            """
            cdef uint64_t c_id = snap_id
            cdef size_t size = 256
            cdef char *buf = NULL
            cdef char *grown
            cdef int ret
            cdef rbd_image_t image
            try:
                while True:
                    # The call answers -ERANGE without saying how much it needs: double.
                    grown = <char *>realloc(buf, size)
                    if grown == NULL:
                        raise MemoryError("cannot allocate %d bytes" % size)
                    buf = grown
                    image = self._begin_call()
                    with nogil:
                        ret = rbd_snap_get_trash_namespace(image, c_id, buf, size)
                    self._end_call()
                    if ret != -C_ERANGE or size >= MAX_FILL_SIZE:
                        break
                    size *= 2
                if ret < 0:
                    raise make_ex(ret, "error getting snapshot trash namespace image: %s, snap_id: %d"
                                  % (self.name, c_id))
                return {"original_name": decode_c(buf)}
            finally:
                free(buf)

    def snap_get_mirror_namespace(self, snap_id):
        """For a mirror snapshot: a dict with state (RBD_SNAP_MIRROR_STATE_*), mirror_peer_uuids (list),
        complete (bool), primary_mirror_uuid, primary_snap_id and last_copied_object_number.

        InvalidArgument if the snapshot is not in the mirror namespace, ImageNotFound if there is none.
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
                          % (self.name, c_id))
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
