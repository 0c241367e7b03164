# Image handles shared by several areas: opening one (Image, AsyncImage, RBD.aio_open_image) and the advisory
# locks that would make librbd wait forever (Image writes and reads, RBD.remove, trash, group changes).


cdef int open_by_name_or_id(rados_ioctx_t io, const char *c_name, const char *c_id, const char *c_snap,
                            bint read_only, rbd_image_t *image) noexcept nogil:
    """The librbd open call for a name or an id (c_id != NULL), read-only or not, at c_snap (NULL: the head)."""
    if c_id != NULL:
        if read_only:
            return rbd_open_by_id_read_only(io, c_id, image, c_snap)
        return rbd_open_by_id(io, c_id, image, c_snap)
    if read_only:
        return rbd_open_read_only(io, c_name, image, c_snap)
    return rbd_open(io, c_name, image, c_snap)


cdef int open_image_handle(rados_ioctx_t io, const char *c_name, const char *c_id, const char *c_snap,
                           bint read_only, rbd_image_t *image) noexcept nogil:
    """Open an image handle; the librbd error code (< 0) on failure, when no handle remains open."""
    cdef int ret
    if OPEN_READ_ONLY_AT_HEAD_THEN_SNAP_SET:
        # librbd bug (releases.pxi): a read-only open *at a snapshot* leaves librbd work that uses the image
        # after rbd_close freed it. Opening read-only at the head and then moving to the snapshot gives the same
        # handle (read-only, at the snapshot, same errors for a missing snapshot) without it.
        if read_only and c_snap != NULL:
            ret = open_by_name_or_id(io, c_name, c_id, NULL, True, image)
            if ret < 0:
                return ret
            ret = rbd_snap_set(image[0], c_snap)
            if ret < 0:
                rbd_close(image[0])
                image[0] = NULL
            return ret
    return open_by_name_or_id(io, c_name, c_id, c_snap, read_only, image)


# The advisory locks taken through this module and not released through it: (client instance id, pool id, image
# id) -> set of cookies. An advisory lock belongs to the client, not to the handle: it outlives close(), and every
# handle of the client on that image is affected (see Image._refuse_writes_while_locked in areas/locks.pxi).
cdef dict _advisory_locks = {}


cdef _OutBuffers read_lockers(rbd_image_t image, object label, int *exclusive):
    """rbd_list_lockers of an open image into 4 buffers (tag, clients, cookies, addresses); None when the image
    has no locker. `label` names the image in the error."""
    cdef _OutBuffers out = _OutBuffers(4, 1024)
    cdef ssize_t ret
    while True:
        out.prepare()
        with nogil:
            ret = rbd_list_lockers(image, exclusive, out.bufs[0], &out.sizes[0], out.bufs[1], &out.sizes[1],
                                   out.bufs[2], &out.sizes[2], out.bufs[3], &out.sizes[3])
        if ret != -C_ERANGE:
            break
        out.grow()
    if ret < 0:
        raise make_ex(ret, "error listing lockers of image %s" % (image_label(label),))
    return out if ret > 0 else None


cdef tuple raw_lockers(rbd_image_t image, object label):
    """(clients, cookies) of the lock holders of an open image, as bytes (the managed exclusive lock included)."""
    cdef int exclusive = 0
    cdef _OutBuffers out = read_lockers(image, label, &exclusive)
    if out is None:
        return [], []
    return out.raw_strings(1, out.sizes[1]), out.raw_strings(2, out.sizes[2])


cdef tuple advisory_locker(rados_ioctx_t io, bytes name, bytes image_id):
    """(client, cookie) of an advisory lock on the image `name` (or `image_id`) of `io` when the image has the
    exclusive-lock feature, else None. Opens the image read-only for a moment (no lock taken, no watch kept).
    None too when it cannot be opened: the call being checked then reports that error itself."""
    cdef const char *c_name = opt_str(name)
    cdef const char *c_id = opt_str(image_id)
    cdef rbd_image_t image = NULL
    cdef uint64_t features = 0
    cdef int ret
    with nogil:
        if c_id != NULL:
            ret = rbd_open_by_id_read_only(io, c_id, &image, NULL)
        else:
            ret = rbd_open_read_only(io, c_name, &image, NULL)
    if ret < 0:
        return None
    try:
        with nogil:
            ret = rbd_get_features(image, &features)
        if ret < 0 or not features & RBD_FEATURE_EXCLUSIVE_LOCK:
            return None
        clients, cookies = raw_lockers(image, name if image_id is None else image_id)
    finally:
        with nogil:
            rbd_close(image)
    # The managed lock is a locker too, with a cookie "auto <id>" (librbd tells them apart the same way).
    for client, cookie in zip(clients, cookies):
        if not cookie.startswith(b"auto "):
            return client, cookie
    return None


cdef int refuse_if_advisory_locked(rados_ioctx_t io, bytes name, bytes image_id, what) except -1:
    """ImageBusy instead of removing or trashing an image under an advisory lock.

    Before deleting (remove, trash_remove, trash_purge) or trashing (trash_move) an image with the exclusive-lock
    feature, librbd acquires its managed exclusive lock; an advisory lock (lock_exclusive/lock_shared, of any
    client) holds the same cls_lock name, so librbd retries forever and the call never returns (python3-rbd
    hangs too; docs/reliability.md). One read-only open and lockers read of the image per call.
    """
    found = advisory_locker(io, name, image_id)
    if found is None:
        return 0
    client, cookie = found
    label = name if image_id is None else b"with id " + image_id
    raise make_ex(-C_EBUSY, "image %s is locked with the advisory lock '%s' of %s: librbd would wait forever for "
                  "its exclusive lock to %s; unlock() or break_lock() first"
                  % (image_label(label), image_label(cookie),
                     image_label(client), what))


cdef object held_advisory_cookie(rbd_image_t image, object key, object label, uint64_t *features):
    """The cookie (bytes) of an advisory lock this process took on the image (`key` in _advisory_locks) and still
    holds, when the image has the exclusive-lock feature; else None. `features` receives the image's features.
    One features read and one lockers read (the lock may have been released or broken elsewhere: then it is
    forgotten). Callers first check that _advisory_locks has `key` at all (the common case costs nothing)."""
    cdef int ret
    features[0] = 0
    mine = _advisory_locks.get(key)
    if not mine:
        return None
    with nogil:
        ret = rbd_get_features(image, features)
    if ret < 0:
        raise make_ex(ret, "error getting features for image %s" % (image_label(label),))
    if not features[0] & RBD_FEATURE_EXCLUSIVE_LOCK:
        return None
    me = ("client.%d" % key[0]).encode()
    clients, cookies = raw_lockers(image, label)
    held = [cookie for client, cookie in zip(clients, cookies) if client == me and cookie in mine]
    if not held:
        del _advisory_locks[key]  # released or broken elsewhere
        return None
    return held[0]


cdef object write_under_own_lock_error(object label, bytes cookie):
    """ReadOnlyImage for a write or flush that librbd would never finish under this client's advisory lock."""
    return make_ex(-C_EROFS, "image %s has the exclusive-lock feature and this client holds the advisory lock '%s': "
                   "librbd would wait forever for the exclusive lock a write needs; unlock() first"
                   % (image_label(label), image_label(cookie)))
