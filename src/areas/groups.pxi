# Groups: consistent snapshots of several images. RBD creates, removes, renames and lists groups; `Group` adds and
# removes images and takes, renames, lists and rolls back group snapshots; `Image.group()` says which group an
# image belongs to.
#
# Group calls report a missing or existing group as ObjectNotFound / ObjectExists (`group_errno_to_exception`),
# except `RBD.group_rename`, which uses the image map as upstream does. Unlike upstream, `Group` and its iterators
# keep the Ioctx object alive and check it on every call (a closed Ioctx raises InvalidArgument).


cdef class Image:  # part of rbd.Image (tools/assemble.py joins the parts)

    def group(self):
        """The group the image belongs to.

        :returns: {'pool': the group's pool id, 'name': the group's name}; {'pool': -1, 'name': ''} if none
        :rtype: dict
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef rbd_group_info_t info
        cdef int ret
        memset(&info, 0, sizeof(info))
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_group(image, &info, sizeof(info))
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting group for image %s" % (image_label(self.name),))
        try:
            return {"pool": info.pool, "name": decode_c(info.name)}
        finally:
            rbd_group_info_cleanup(&info, sizeof(info))


class RBD:  # part of rbd.RBD (tools/assemble.py joins the parts)
    """RBD methods that create, remove, rename and list groups."""

    def group_create(self, ioctx, name):
        """Create group `name` in the pool (and namespace) of `ioctx`.

        :param ioctx: the group's pool (and namespace)
        :type ioctx: rados.Ioctx
        :param name: name of the new group
        :type name: str or bytes
        :rtype: None
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or `name` is not str/bytes or holds a NUL byte
        :raises ObjectExists: the group already exists
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef int ret
        with nogil:
            ret = rbd_group_create(io, c_name)
        if ret < 0:
            raise make_ex(ret, "error creating group %s" % (image_label(name),), group_errno_to_exception)

    def group_remove(self, ioctx, name):
        """Remove group `name` with its group snapshots; its images stay. No error if the group does not exist.

        :param ioctx: the group's pool (and namespace)
        :type ioctx: rados.Ioctx
        :param name: name of the group
        :type name: str or bytes
        :rtype: None
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or `name` is not str/bytes or holds a NUL byte
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef int ret
        with nogil:
            ret = rbd_group_remove(io, c_name)
        if ret < 0:
            raise make_ex(ret, "error removing group %s" % (image_label(name),), group_errno_to_exception)

    def group_list(self, ioctx):
        """The groups in the pool (and namespace) of `ioctx`.

        :param ioctx: the pool (and namespace) to list
        :type ioctx: rados.Ioctx
        :returns: the group names
        :rtype: list of str
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef int ret
        filled = fill_growing(<fill_fn>rbd_group_list, io, 256, &ret)
        if ret < 0:
            raise make_ex(ret, "error listing groups", group_errno_to_exception)
        return split_nul_separated(filled, len(filled))

    def group_rename(self, ioctx, src, dest):
        """Rename group `src` to `dest`. As upstream, errors use the image classes (ImageNotFound, ImageExists).

        :param ioctx: the group's pool (and namespace)
        :type ioctx: rados.Ioctx
        :param src: current name of the group
        :type src: str or bytes
        :param dest: new name of the group
        :type dest: str or bytes
        :rtype: None
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or a name is not str/bytes or holds a NUL byte
        :raises ImageNotFound: there is no group `src`
        :raises ImageExists: a group `dest` already exists
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes src_bytes = cstr(src, "src")
        cdef bytes dest_bytes = cstr(dest, "dest")
        cdef const char *c_src = src_bytes
        cdef const char *c_dest = dest_bytes
        cdef int ret
        with nogil:
            ret = rbd_group_rename(io, c_src, c_dest)
        if ret < 0:
            raise make_ex(ret, "error renaming group %s to %s" % (src, image_label(dest)))


cdef class Group:
    """Group(ioctx, name)
--

    A group of images in the pool (and namespace) of `ioctx`. Creating the object does not check that the group
    exists; the calls do (ObjectNotFound). It keeps `ioctx` alive. Usable as a context manager (nothing to close).
    """
    cdef object ioctx
    cdef bytes name

    def __init__(self, ioctx, name):
        ioctx_handle(ioctx)
        self.name = cstr(name, "name")
        self.ioctx = ioctx

    cdef rados_ioctx_t _io(self) except NULL:
        """The group's ioctx handle; refuses a Group never initialised."""
        if self.name is None:
            raise not_initialised(self)
        return ioctx_handle(self.ioctx)

    def __enter__(self):
        """The group itself."""
        return self

    def __exit__(self, type_, value, traceback):
        """Nothing to release; exceptions propagate."""
        return False

    def __repr__(self):
        return "rbd.Group(ioctx, %r)" % (self.name,)

    def add_image(self, image_ioctx, image_name):
        """Add image `image_name` of the pool (and namespace) of `image_ioctx` to the group.

        :param image_ioctx: the image's pool (and namespace)
        :type image_ioctx: rados.Ioctx
        :param image_name: name of the image
        :type image_name: str or bytes
        :rtype: None
        :raises TypeError: `image_ioctx` is not a rados.Ioctx
        :raises InvalidArgument: the group's ioctx or `image_ioctx` is closed, or `image_name` is not str/bytes or
            holds a NUL byte
        :raises ObjectNotFound: the group or the image does not exist
        :raises ObjectExists: the image already belongs to a group
        """
        cdef rados_ioctx_t io = self._io()
        cdef rados_ioctx_t image_io = ioctx_handle(image_ioctx)
        cdef bytes image_bytes = cstr(image_name, "image_name")
        cdef const char *c_group = self.name
        cdef const char *c_image = image_bytes
        cdef int ret
        with nogil:
            ret = rbd_group_image_add(io, c_group, image_io, c_image)
        if ret < 0:
            raise make_ex(ret, "error adding image %s to group %s" % (image_label(image_name), image_label(self.name)),
                          group_errno_to_exception)

    def remove_image(self, image_ioctx, image_name):
        """Remove image `image_name` of the pool (and namespace) of `image_ioctx` from the group.

        :param image_ioctx: the image's pool (and namespace)
        :type image_ioctx: rados.Ioctx
        :param image_name: name of the image
        :type image_name: str or bytes
        :rtype: None
        :raises TypeError: `image_ioctx` is not a rados.Ioctx
        :raises InvalidArgument: the group's ioctx or `image_ioctx` is closed, or `image_name` is not str/bytes or
            holds a NUL byte
        :raises ObjectNotFound: the group does not exist, or the image is not in it
        """
        cdef rados_ioctx_t io = self._io()
        cdef rados_ioctx_t image_io = ioctx_handle(image_ioctx)
        cdef bytes image_bytes = cstr(image_name, "image_name")
        cdef const char *c_group = self.name
        cdef const char *c_image = image_bytes
        cdef int ret
        with nogil:
            ret = rbd_group_image_remove(io, c_group, image_io, c_image)
        if ret < 0:
            raise make_ex(ret, "error removing image %s from group %s" % (image_label(image_name), image_label(self.name)),
                          group_errno_to_exception)

    def list_images(self):
        """List the images of the group, read when the iterator is created.

        :returns: an iterator of dicts {'name': str, 'pool': pool id, 'state': RBD_GROUP_IMAGE_STATE_*}
        :rtype: GroupImageIterator
        :raises InvalidArgument: the group's ioctx is closed
        :raises ObjectNotFound: the group does not exist
        """
        return GroupImageIterator(self)

    def id(self):
        """The group's id. Needs librbd 1.20 (Ceph 20.2) or newer.

        :returns: the id of the group
        :rtype: str
        :raises InvalidArgument: the group's ioctx is closed
        :raises ObjectNotFound: the group does not exist
        :raises FunctionNotSupported: the librbd in use lacks rbd_group_get_id (older than the module's build)
        """
        cdef rados_ioctx_t io = self._io()
        cdef int ret
        if late_rbd_group_get_id == NULL:
            raise missing_librbd_call("rbd_group_get_id")
        filled = fill_key_growing(late_rbd_group_get_id, NULL, io, self.name, 32, &ret)
        if ret < 0:
            raise make_ex(ret, "error getting id for group %s" % (image_label(self.name),), group_errno_to_exception)
        return first_c_string(filled)

    def get_snap_info(self, snap_name):
        """Everything about group snapshot `snap_name`. Needs librbd 1.20 (Ceph 20.2) or newer.

        :param snap_name: name of the group snapshot
        :type snap_name: str or bytes
        :returns: {'id': str, 'name': str, 'state': RBD_GROUP_SNAP_STATE_*, 'namespace_type':
            RBD_GROUP_SNAP_NAMESPACE_TYPE_*, 'image_snap_name': str, 'image_snaps': a list of {'pool_id', 'snap_id',
            'image_name'}, one per image snapshot it made}
        :rtype: dict
        :raises InvalidArgument: the group's ioctx is closed, or `snap_name` is not str/bytes or holds a NUL byte
        :raises ObjectNotFound: the group or the group snapshot does not exist
        :raises FunctionNotSupported: the librbd in use lacks rbd_group_snap_get_info (older than the module's
            build)
        """
        cdef rados_ioctx_t io = self._io()
        cdef bytes snap_bytes = cstr(snap_name, "snap_name")
        cdef const char *c_group = self.name
        cdef const char *c_snap = snap_bytes
        cdef rbd_group_snap_info2_t info
        cdef int ret
        memset(&info, 0, sizeof(info))
        if late_rbd_group_snap_get_info == NULL or late_rbd_group_snap_get_info_cleanup == NULL:
            raise missing_librbd_call("rbd_group_snap_get_info")
        with nogil:
            ret = late_rbd_group_snap_get_info(io, c_group, c_snap, &info)
        if ret < 0:
            raise make_ex(ret, "error getting snapshot %s of group %s" % (image_label(snap_name), image_label(self.name)),
                          group_errno_to_exception)
        try:
            return group_snap_dict(&info)
        finally:
            late_rbd_group_snap_get_info_cleanup(&info)

    def create_snap(self, snap_name, flags=0):
        """Take a consistent snapshot `snap_name` of every image of the group.

        Each member image gets a snapshot in the group namespace. Refused with ImageBusy while a member image is locked
        with an advisory lock (librbd would wait forever for its exclusive lock): each member is opened read-only for a
        moment to check.

        :param snap_name: name of the group snapshot
        :type snap_name: str or bytes
        :param flags: 0, RBD_SNAP_CREATE_SKIP_QUIESCE or RBD_SNAP_CREATE_IGNORE_QUIESCE_ERROR
        :type flags: int
        :rtype: None
        :raises InvalidArgument: the group's ioctx is closed, or `snap_name` is not str/bytes or holds a NUL byte
        :raises TypeError: `flags` is not an int
        :raises OverflowError: `flags` is negative or does not fit 32 bits
        :raises ObjectNotFound: the group does not exist
        :raises ObjectExists: the group already has a snapshot `snap_name`
        :raises ImageBusy: a member image is locked with an advisory lock
        """
        cdef rados_ioctx_t io = self._io()
        cdef bytes snap_bytes = cstr(snap_name, "snap_name")
        cdef const char *c_group = self.name
        cdef const char *c_snap = snap_bytes
        cdef uint32_t c_flags = flags
        cdef int ret
        self._refuse_if_a_member_is_advisory_locked()
        with nogil:
            ret = rbd_group_snap_create2(io, c_group, c_snap, c_flags)
        if ret < 0:
            raise make_ex(ret, "error creating snapshot %s of group %s" % (image_label(snap_name), image_label(self.name)),
                          group_errno_to_exception)

    def _refuse_if_a_member_is_advisory_locked(self):
        # librbd takes every member's managed exclusive lock for a group snapshot; an advisory lock (same cls_lock
        # name, any client) makes it retry forever (python3-rbd hangs). One read-only open per member.
        cdef rados_ioctx_t io = self._io()
        pool_id = self.ioctx.get_pool_id()
        what = "snapshot it with group %s" % (image_label(self.name),)
        others = {}
        try:
            for name, pool, _ in raw_group_images(self):
                if name is None:
                    continue
                if pool == pool_id:
                    refuse_if_advisory_locked(io, name, None, what)
                    continue
                if pool not in others:
                    try:
                        other = cluster_of(self.ioctx).open_ioctx2(pool)
                    except Exception:
                        continue  # e.g. the pool is gone: librbd reports it
                    other.set_namespace(self.ioctx.get_namespace())
                    others[pool] = other
                refuse_if_advisory_locked(ioctx_handle(others[pool]), name, None, what)
        finally:
            for other in others.values():
                other.close()

    def remove_snap(self, snap_name):
        """Remove group snapshot `snap_name` and the image snapshots it made.

        :param snap_name: name of the group snapshot
        :type snap_name: str or bytes
        :rtype: None
        :raises InvalidArgument: the group's ioctx is closed, or `snap_name` is not str/bytes or holds a NUL byte
        :raises ObjectNotFound: the group or the group snapshot does not exist
        """
        cdef rados_ioctx_t io = self._io()
        cdef bytes snap_bytes = cstr(snap_name, "snap_name")
        cdef const char *c_group = self.name
        cdef const char *c_snap = snap_bytes
        cdef int ret
        with nogil:
            ret = rbd_group_snap_remove(io, c_group, c_snap)
        if ret < 0:
            raise make_ex(ret, "error removing snapshot %s of group %s" % (image_label(snap_name), image_label(self.name)),
                          group_errno_to_exception)

    def rename_snap(self, old_snap_name, new_snap_name):
        """Rename group snapshot `old_snap_name` to `new_snap_name`.

        :param old_snap_name: current name of the group snapshot
        :type old_snap_name: str or bytes
        :param new_snap_name: new name of the group snapshot
        :type new_snap_name: str or bytes
        :rtype: None
        :raises InvalidArgument: the group's ioctx is closed, or a name is not str/bytes or holds a NUL byte
        :raises ObjectNotFound: the group or the group snapshot does not exist
        :raises ObjectExists: the group already has a snapshot `new_snap_name`
        """
        cdef rados_ioctx_t io = self._io()
        cdef bytes old_bytes = cstr(old_snap_name, "old_snap_name")
        cdef bytes new_bytes = cstr(new_snap_name, "new_snap_name")
        cdef const char *c_group = self.name
        cdef const char *c_old = old_bytes
        cdef const char *c_new = new_bytes
        cdef int ret
        with nogil:
            ret = rbd_group_snap_rename(io, c_group, c_old, c_new)
        if ret < 0:
            raise make_ex(ret, "error renaming snapshot %s of group %s to %s"
                          % (image_label(old_snap_name), image_label(self.name), image_label(new_snap_name)), group_errno_to_exception)

    def list_snaps(self):
        """List the group's snapshots, read when the iterator is created.

        From librbd 1.20 each entry is the dict get_snap_info() gives.

        :returns: an iterator of dicts {'name': str, 'state': RBD_GROUP_SNAP_STATE_*}, one per group snapshot (from
            librbd 1.20 the six keys of get_snap_info())
        :rtype: GroupSnapIterator
        :raises InvalidArgument: the group's ioctx is closed
        :raises ObjectNotFound: the group does not exist
        :raises FunctionNotSupported: built for librbd 1.20, and the librbd in use lacks rbd_group_snap_list2
        """
        return GroupSnapIterator(self)

    def rollback_to_snap(self, name, on_progress=None):
        """Roll every image of the group back to group snapshot `name`.

        `on_progress` (an addition to upstream's signature) is called as images are rolled back; a non-zero return value
        cancels the rollback (OperationCanceled); an exception it raises is reported through sys.unraisablehook and the
        rollback goes on.

        :param name: name of the group snapshot
        :type name: str or bytes
        :param on_progress: `on_progress(offset, total)`, the progress of the rollback; None: no progress reports
        :type on_progress: callable or None
        :rtype: None
        :raises InvalidArgument: the group's ioctx is closed, or `name` is not str/bytes or holds a NUL byte
        :raises TypeError: `on_progress` is neither callable nor None
        :raises ObjectNotFound: the group or the group snapshot does not exist
        :raises OperationCanceled: `on_progress` returned a non-zero value
        """
        cdef rados_ioctx_t io = self._io()
        cdef bytes snap_bytes = cstr(name, "name")
        cdef const char *c_group = self.name
        cdef const char *c_snap = snap_bytes
        cdef _ProgressCallback progress = _ProgressCallback(on_progress)
        cdef librbd_progress_fn_t fn = progress.c_function()
        cdef void *arg = progress.c_arg()
        cdef int ret
        with nogil:
            ret = rbd_group_snap_rollback_with_progress(io, c_group, c_snap, fn, arg)
        if ret < 0:
            raise make_ex(ret, "error rolling back group %s to snapshot %s" % (image_label(self.name), image_label(name)),
                          group_errno_to_exception)


cdef struct group_list_ctx:
    rados_ioctx_t io
    const char *group


# The group list calls take the group's name and the struct size too: as list_calls (helpers/buffers.pxi).
cdef int _group_image_list(void *ctx, void *images, size_t *count) noexcept nogil:
    cdef group_list_ctx *group = <group_list_ctx *>ctx
    return rbd_group_image_list(group.io, group.group, <rbd_group_image_info_t *>images,
                                sizeof(rbd_group_image_info_t), count)


cdef list raw_group_images(Group group):
    """[(name as bytes, pool id, state)] of the images of `group`."""
    cdef size_t i
    cdef group_list_ctx ctx = group_list_ctx(group._io(), group.name)
    cdef _Listed found = list_growing(_group_image_list, &ctx, sizeof(rbd_group_image_info_t), 32)
    if found.ret < 0:
        raise make_ex(found.ret, "error listing images of group %s" % (image_label(group.name),),
                      group_errno_to_exception)
    cdef rbd_group_image_info_t *images = <rbd_group_image_info_t *>found.items
    try:
        return [(None if images[i].name == NULL else <bytes>images[i].name, images[i].pool, <int>images[i].state)
                for i in range(found.count)]
    finally:
        rbd_group_image_list_cleanup(images, sizeof(rbd_group_image_info_t), found.count)


cdef class GroupImageIterator:
    """GroupImageIterator(group)
--

    Iterates over {'name', 'pool', 'state'} dicts, one per image of `group` (state: RBD_GROUP_IMAGE_STATE_*);
    the list is fetched when the iterator is created.
    """
    cdef Group group
    cdef list entries

    def __init__(self, Group group not None):
        self.group = group
        self.entries = [{"name": decode_cstr(name), "pool": pool, "state": state}
                        for name, pool, state in raw_group_images(group)]

    def __iter__(self):
        return iter_entries(self, self.entries)


cdef dict group_snap_dict(rbd_group_snap_info2_t *info):
    """librbd 1.20's group snapshot dict (keys in upstream's order)."""
    cdef size_t i
    return {
        "id": decode_c(info.id),
        "name": decode_c(info.name),
        "state": <int>info.state,
        "namespace_type": <int>info.namespace_type,
        "image_snap_name": decode_c(info.image_snap_name),
        "image_snaps": [{"pool_id": info.image_snaps[i].pool_id,
                         "snap_id": info.image_snaps[i].snap_id,
                         "image_name": decode_c(info.image_snaps[i].image_name)}
                        for i in range(info.image_snaps_count)],
    }


cdef int _group_snap_list2(void *ctx, void *snaps, size_t *count) noexcept nogil:
    cdef group_list_ctx *group = <group_list_ctx *>ctx
    return late_rbd_group_snap_list2(group.io, group.group, <rbd_group_snap_info2_t *>snaps, count)


cdef list list_group_snaps2(Group group):
    """The snapshots of `group` as group_snap_dict()s (rbd_group_snap_list2)."""
    cdef size_t i
    if late_rbd_group_snap_list2 == NULL or late_rbd_group_snap_list2_cleanup == NULL:
        raise missing_librbd_call("rbd_group_snap_list2")
    cdef group_list_ctx ctx = group_list_ctx(group._io(), group.name)
    cdef _Listed found = list_growing(_group_snap_list2, &ctx, sizeof(rbd_group_snap_info2_t), 10)
    if found.ret < 0:
        raise make_ex(found.ret, "error listing snapshots of group %s" % (image_label(group.name),),
                      group_errno_to_exception)
    cdef rbd_group_snap_info2_t *snaps = <rbd_group_snap_info2_t *>found.items
    try:
        return [group_snap_dict(&snaps[i]) for i in range(found.count)]
    finally:
        late_rbd_group_snap_list2_cleanup(snaps, found.count)


cdef int _group_snap_list(void *ctx, void *snaps, size_t *count) noexcept nogil:
    cdef group_list_ctx *group = <group_list_ctx *>ctx
    return rbd_group_snap_list(group.io, group.group, <rbd_group_snap_info_t *>snaps,
                               sizeof(rbd_group_snap_info_t), count)


cdef list list_group_snaps1(Group group):
    """The snapshots of `group` as {'name', 'state'} dicts (rbd_group_snap_list)."""
    cdef size_t i
    cdef group_list_ctx ctx = group_list_ctx(group._io(), group.name)
    cdef _Listed found = list_growing(_group_snap_list, &ctx, sizeof(rbd_group_snap_info_t), 32)
    if found.ret < 0:
        raise make_ex(found.ret, "error listing snapshots of group %s" % (image_label(group.name),),
                      group_errno_to_exception)
    cdef rbd_group_snap_info_t *snaps = <rbd_group_snap_info_t *>found.items
    try:
        return [{"name": decode_c(snaps[i].name), "state": <int>snaps[i].state} for i in range(found.count)]
    finally:
        rbd_group_snap_list_cleanup(snaps, sizeof(rbd_group_snap_info_t), found.count)


cdef list list_group_snaps(Group group):
    """The snapshots of `group` as upstream's module of the release in use lists them."""
    return list_group_snaps2(group) if HAS_GROUP_SNAP_INFO2 else list_group_snaps1(group)


cdef class GroupSnapIterator:
    """GroupSnapIterator(group)
--

    Iterates over {'name', 'state'} dicts, one per snapshot of `group` (state: RBD_GROUP_SNAP_STATE_*); from
    librbd 1.20 over the dicts of Group.get_snap_info(). The list is fetched when the iterator is created.
    """
    cdef Group group
    cdef list entries

    def __init__(self, Group group not None):
        self.group = group
        self.entries = list_group_snaps(group)

    def __iter__(self):
        return iter_entries(self, self.entries)
