# Locks and watchers: exclusive lock (managed), advisory locks, LockOwnerIterator, WatcherIterator.
#
# The managed exclusive lock (lock_acquire/lock_release/lock_get_owners/lock_break) needs the exclusive-lock
# feature; the advisory locks (lock_exclusive/lock_shared/unlock/break_lock/list_lockers) are plain cls_lock
# locks on the image header that librbd does not enforce.


cdef class Image:  # part of rbd.Image (tools/assemble.py joins the parts)

    cdef object _lock_key(self):
        if self.lock_key is None:
            self._check_usable()
            self.lock_key = (self.cluster.get_instance_id(), self.pool_id, self.id())
        return self.lock_key

    cdef int _note_advisory_lock(self, bytes cookie) except -1:
        _advisory_locks.setdefault(self._lock_key(), set()).add(cookie)
        return 0

    cdef int _forget_advisory_lock(self, bytes cookie) except -1:
        key = self._lock_key()
        cookies = _advisory_locks.get(key)
        if cookies is not None:
            cookies.discard(cookie)
            if not cookies:
                del _advisory_locks[key]
        return 0

    cdef object _held_advisory_cookie(self, uint64_t *features):
        """The cookie (bytes) of an advisory lock this process took on the image and still holds, when the image
        has the exclusive-lock feature (else None); `features` receives the image's features. Costs nothing
        while the process holds no advisory lock on the image; else one features read and one lockers read (the
        lock may have been released or broken elsewhere: then it is forgotten)."""
        features[0] = 0
        if not _advisory_locks:
            return None
        self._check_usable()   # the image's own error first (closed, shut down), never a rados one
        key = self._lock_key()
        if key not in _advisory_locks:
            return None
        cdef rbd_image_t image = self._begin_call()
        try:
            return held_advisory_cookie(image, key, self.name, features)
        finally:
            self._end_call()

    cdef int _refuse_writes_while_locked(self) except -1:
        """ReadOnlyImage instead of a write or flush that librbd would never finish.

        An advisory lock (lock_exclusive/lock_shared) is a cls_lock on the image header under the same lock name
        as the managed exclusive lock. On an image with the exclusive-lock feature every write or flush first
        acquires the managed lock; while an advisory lock is held librbd retries that acquisition forever, so the
        write (and every later call that needs the lock, and close) hangs. python3-rbd hangs the same way (see
        docs/reliability.md). Only the locks this process took (through any handle, see _advisory_locks) are
        known: costs nothing while it holds none; while it holds one on this image, the image's lockers are read
        once per write to see whether the lock is still held (it may have been broken or released elsewhere).
        """
        cdef uint64_t features
        held = self._held_advisory_cookie(&features)
        if held is None:
            return 0
        raise write_under_own_lock_error(self.name, held)

    cdef int _refuse_reads_while_locked(self) except -1:
        """ImageBusy instead of a read (or copy) that librbd would never finish.

        Reads need the managed exclusive lock too when the image has the journaling feature or copy-on-read is
        configured (rbd_clone_copy_on_read, honoured even for an image without a parent): librbd then makes every
        read of a writable handle at the head wait for the lock, and under an advisory lock of this client it
        retries acquiring it forever, as for writes (python3-rbd hangs too; docs/reliability.md). Handles opened
        read-only or set to a snapshot read without the lock and are never refused. Cost: nothing while this
        process holds no advisory lock on the image; else a features read, a lockers read and, without
        journaling, the image's config list.
        """
        cdef uint64_t features
        if self.read_only or self.at_snapshot:
            return 0
        held = self._held_advisory_cookie(&features)
        if held is None:
            return 0
        if not features & RBD_FEATURE_JOURNALING:
            for option in ConfigImageIterator(self):
                if option["name"] == "rbd_clone_copy_on_read":
                    if option["value"] != "true":
                        return 0
                    break
            else:
                return 0
        raise make_ex(-C_EBUSY, "image %s %s and this client holds the advisory lock '%s': librbd would wait forever "
                      "for the exclusive lock its reads then need; unlock() first (or open it read-only)"
                      % (image_label(self.name), "has the journaling feature" if features & RBD_FEATURE_JOURNALING
                         else "is configured to copy on read", image_label(held)))

    cdef int _refuse_under_any_advisory_lock(self, int err) except -1:
        """Raise `err` (a negative errno) instead of a call that librbd would never finish: lock_acquire() and
        snap_set_limit wait forever for the managed exclusive lock while any client (this one included) holds an
        advisory lock (same cls_lock name); python3-rbd hangs. One round trip (the lockers list, which
        holds the managed lock too, told apart by its cookie); these calls are rare."""
        if not self._has_exclusive_lock_feature():
            return 0  # no managed lock to wait for
        clients, cookies = self._raw_lockers()
        # The managed lock is a locker too, with a cookie "auto <id>" (librbd tells them apart the same way).
        advisory = [(client, cookie) for client, cookie in zip(clients, cookies) if not cookie.startswith(b"auto ")]
        if advisory:
            clients, cookies = zip(*advisory)
            raise make_ex(err, "image %s is locked with the advisory lock '%s' of %s: librbd would wait forever "
                          "for the exclusive lock; unlock() or break_lock() first"
                          % (image_label(self.name), image_label(cookies[0]), image_label(clients[0])))
        return 0

    cdef bint _has_exclusive_lock_feature(self) except -1:
        return (self._features() & RBD_FEATURE_EXCLUSIVE_LOCK) != 0

    cdef uint64_t _features(self) except? 0:
        cdef uint64_t features = 0
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_features(image, &features)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting features for image %s" % (image_label(self.name),))
        return features

    cdef tuple _raw_lockers(self):
        """(clients, cookies) of the advisory lock holders, as bytes."""
        cdef rbd_image_t image = self._begin_call()
        try:
            return raw_lockers(image, self.name)
        finally:
            self._end_call()


    def is_exclusive_lock_owner(self):
        """Whether this image handle holds the managed exclusive lock (always False without the exclusive-lock feature).

        :returns: True if this handle owns the exclusive lock
        :rtype: bool
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef int owner = 0
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_is_exclusive_lock_owner(image, &owner)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting lock status for image %s" % (image_label(self.name),))
        return owner == 1

    def lock_acquire(self, lock_mode):
        """Take the managed exclusive lock and keep it: other clients' requests for it are refused (their writes get
        ReadOnlyImage) until `lock_release()` or `lock_break()`.

        Refused with ImageBusy while any client holds an advisory lock on the image (lock_exclusive/lock_shared): librbd
        would wait for the exclusive lock forever.

        :param lock_mode: RBD_LOCK_MODE_EXCLUSIVE (RBD_LOCK_MODE_SHARED is not supported by librbd)
        :type lock_mode: int
        :rtype: None
        :raises InvalidArgument: the image is closed, or it lacks the exclusive-lock feature (or was opened read-only)
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `lock_mode` is not an int
        :raises OverflowError: `lock_mode` does not fit a C int
        :raises OperationNotSupported: `lock_mode` is not RBD_LOCK_MODE_EXCLUSIVE
        :raises ImageBusy: a client holds an advisory lock on the image
        :raises ReadOnlyImage: another client holds the exclusive lock and does not give it up
        """
        cdef rbd_lock_mode_t c_mode = lock_mode
        cdef int ret
        self._refuse_under_any_advisory_lock(-C_EBUSY)
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_lock_acquire(image, c_mode)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error acquiring lock on image %s" % (image_label(self.name),))

    def lock_release(self):
        """Release the managed exclusive lock taken with `lock_acquire()`.

        :rtype: None
        :raises InvalidArgument: the image is closed, or this handle does not hold the lock
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_lock_release(image)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error releasing lock on image %s" % (image_label(self.name),))

    def lock_get_owners(self):
        """List the current owners of the managed exclusive lock (none when nobody holds it).

        The list is read when the iterator is created.

        :returns: an iterator of dicts {'mode': RBD_LOCK_MODE_*, 'owner': the owner's client address (str)}
        :rtype: LockOwnerIterator
        :raises InvalidArgument: the image is closed, or it lacks the exclusive-lock feature
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        return LockOwnerIterator(self)

    def lock_break(self, lock_mode, lock_owner):
        """Break the managed exclusive lock held by `lock_owner`; by default librbd also blocklists that client.

        :param lock_mode: RBD_LOCK_MODE_EXCLUSIVE, the mode the lock is held in
        :type lock_mode: int
        :param lock_owner: the owner, as the 'owner' of an entry of `lock_get_owners()`
        :type lock_owner: str or bytes
        :rtype: None
        :raises InvalidArgument: the image is closed, `lock_owner` is not str/bytes or holds a NUL byte, or the image
            lacks the exclusive-lock feature
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `lock_mode` is not an int
        :raises OverflowError: `lock_mode` does not fit a C int
        :raises OperationNotSupported: `lock_mode` is not RBD_LOCK_MODE_EXCLUSIVE
        :raises ImageBusy: `lock_owner` does not hold the lock
        """
        cdef rbd_lock_mode_t c_mode = lock_mode
        cdef bytes owner_bytes = cstr(lock_owner, "lock_owner")
        cdef const char *c_owner = owner_bytes
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_lock_break(image, c_mode, c_owner)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error breaking lock on image %s" % (image_label(self.name),))

    def lock_exclusive(self, cookie):
        """Take the advisory exclusive lock named `cookie`.

        Advisory locks are not enforced by librbd, but while this client holds one on an image with the exclusive-lock
        feature, writes and flushes of every handle of this process on the image raise ReadOnlyImage instead of waiting
        forever for the managed lock. Waits first for this handle's calls and aio operations in flight.

        :param cookie: the lock's name, which `unlock()` takes
        :type cookie: str or bytes
        :rtype: None
        :raises InvalidArgument: the image is closed, or `cookie` is not str/bytes or holds a NUL byte
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageExists: this client already holds the lock `cookie`
        :raises ImageBusy: another lock is held on the image, or called from a progress or diff_iterate callback of a
            call still running on the image
        """
        cdef bytes cookie_bytes = cstr(cookie, "cookie")
        cdef const char *c_cookie = cookie_bytes
        cdef int ret
        # A write or flush of this handle still in flight may be acquiring the managed exclusive lock: taking the
        # advisory lock under it would leave it (and close) waiting forever. Let it finish first.
        self._settle()
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_lock_exclusive(image, c_cookie)
        self._end_call()
        if ret == 0 or ret == -C_EEXIST:
            self._note_advisory_lock(cookie_bytes)
        if ret < 0:
            raise make_ex(ret, "error acquiring exclusive lock on image %s" % (image_label(self.name),))

    def lock_shared(self, cookie, tag):
        """Take an advisory shared lock named `cookie`; every shared holder must use the same `tag`.

        As for `lock_exclusive()`, writes of this process on an image with the exclusive-lock feature raise
        ReadOnlyImage while the lock is held. Waits first for this handle's calls and aio operations in flight.

        :param cookie: the lock's name, which `unlock()` takes
        :type cookie: str or bytes
        :param tag: the tag every shared holder of the image's lock uses
        :type tag: str or bytes
        :rtype: None
        :raises InvalidArgument: the image is closed, or `cookie` or `tag` is not str/bytes or holds a NUL byte
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageExists: this client already holds the lock `cookie`
        :raises ImageBusy: an exclusive lock or a shared lock with another tag is held, or called from a progress or
            diff_iterate callback of a call still running on the image
        """
        cdef bytes cookie_bytes = cstr(cookie, "cookie")
        cdef bytes tag_bytes = cstr(tag, "tag")
        cdef const char *c_cookie = cookie_bytes
        cdef const char *c_tag = tag_bytes
        cdef int ret
        self._settle()  # as in lock_exclusive
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_lock_shared(image, c_cookie, c_tag)
        self._end_call()
        if ret == 0 or ret == -C_EEXIST:
            self._note_advisory_lock(cookie_bytes)
        if ret < 0:
            raise make_ex(ret, "error acquiring shared lock on image %s" % (image_label(self.name),))

    def unlock(self, cookie):
        """Release this client's advisory lock `cookie`.

        :param cookie: the lock's name, as given to `lock_exclusive()` or `lock_shared()`
        :type cookie: str or bytes
        :rtype: None
        :raises InvalidArgument: the image is closed, or `cookie` is not str/bytes or holds a NUL byte
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageNotFound: this client holds no lock `cookie` on the image
        """
        cdef bytes cookie_bytes = cstr(cookie, "cookie")
        cdef const char *c_cookie = cookie_bytes
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_unlock(image, c_cookie)
        self._end_call()
        if (ret == 0 or ret == -C_ENOENT) and _advisory_locks:
            self._forget_advisory_lock(cookie_bytes)
        if ret < 0:
            raise make_ex(ret, "error unlocking image %s" % (image_label(self.name),))

    def break_lock(self, client, cookie):
        """Release the advisory lock `cookie` held by another client; librbd blocklists that client.

        :param client: the holder, as the client of an entry of `list_lockers()` (e.g. 'client.4154')
        :type client: str or bytes
        :param cookie: the lock's name, as the cookie of that entry
        :type cookie: str or bytes
        :rtype: None
        :raises InvalidArgument: the image is closed, `client` or `cookie` is not str/bytes or holds a NUL byte, or
            `client` is not a client name
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageNotFound: `client` holds no lock `cookie` on the image
        """
        cdef bytes client_bytes = cstr(client, "client")
        cdef bytes cookie_bytes = cstr(cookie, "cookie")
        cdef const char *c_client = client_bytes
        cdef const char *c_cookie = cookie_bytes
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_break_lock(image, c_client, c_cookie)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error breaking lock %s of %s on image %s" % (image_label(cookie), image_label(client), image_label(self.name)))

    def list_lockers(self):
        """The advisory lock holders of the image.

        :returns: [] when the image is not locked (as upstream), else {'tag': str, 'exclusive': bool, 'lockers': a list
            of (client, cookie, address) tuples of str}
        :rtype: dict or list
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef int exclusive = 0
        cdef _OutBuffers out
        cdef rbd_image_t image = self._begin_call()
        try:
            out = read_lockers(image, self.name, &exclusive)
        finally:
            self._end_call()
        if out is None:
            return []
        tag = out.strings(0, out.sizes[0])
        clients = out.strings(1, out.sizes[1])
        cookies = out.strings(2, out.sizes[2])
        addrs = out.strings(3, out.sizes[3])
        return {
            "tag": tag[0] if tag else "",
            "exclusive": exclusive == 1,
            "lockers": list(zip(clients, cookies, addrs)),
        }

    def watchers_list(self):
        """List the clients watching the image (its open handles), read when the iterator is created.

        :returns: an iterator of dicts {'addr': str, 'id': int, 'cookie': int}, one per watcher
        :rtype: WatcherIterator
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        return WatcherIterator(self)


cdef struct lock_owners_ctx:
    rbd_image_t image
    rbd_lock_mode_t mode


cdef int _lock_get_owners(void *ctx, void *owners, size_t *count) noexcept nogil:
    """rbd_lock_get_owners as a list_call (helpers/buffers.pxi): it also reports the lock mode."""
    cdef lock_owners_ctx *lock = <lock_owners_ctx *>ctx
    return rbd_lock_get_owners(lock.image, &lock.mode, <char **>owners, count)


cdef class LockOwnerIterator:
    """LockOwnerIterator(image)
--

Iterates over {'mode': RBD_LOCK_MODE_*, 'owner': str} for the owners of an image's exclusive lock
    (none when it is not held). The list is fetched when the iterator is created."""
    cdef list entries

    def __init__(self, Image image not None):
        cdef size_t i
        cdef _Listed found
        cdef lock_owners_ctx ctx
        ctx.mode = RBD_LOCK_MODE_EXCLUSIVE
        ctx.image = image._begin_call()
        try:
            found = list_growing(_lock_get_owners, &ctx, sizeof(char *), 8)
        finally:
            image._end_call()
        self.entries = []
        if found.ret == -C_ENOENT:
            return
        if found.ret < 0:
            raise make_ex(found.ret, "error listing lock owners for image %s" % (image_label(image.name),))
        cdef char **owners = <char **>found.items
        try:
            self.entries = [{"mode": <int>ctx.mode, "owner": decode_c(owners[i])} for i in range(found.count)]
        finally:
            rbd_lock_get_owners_cleanup(owners, found.count)

    def __iter__(self):
        return iter_entries(self, self.entries)


cdef class WatcherIterator:
    """WatcherIterator(image)
--

Iterates over {'addr': str, 'id': int, 'cookie': int}, one per client watching an image. The list is
    fetched when the iterator is created."""
    cdef list entries

    def __init__(self, Image image not None):
        cdef size_t i
        cdef _Listed found = image._list(<list_call>rbd_watchers_list, sizeof(rbd_image_watcher_t), 16)
        if found.ret < 0:
            raise make_ex(found.ret, "error listing watchers of image %s" % (image_label(image.name),))
        cdef rbd_image_watcher_t *watchers = <rbd_image_watcher_t *>found.items
        try:
            self.entries = [{"addr": decode_c(watchers[i].addr), "id": watchers[i].id,
                             "cookie": watchers[i].cookie} for i in range(found.count)]
        finally:
            rbd_watchers_list_cleanup(watchers, found.count)

    def __iter__(self):
        return iter_entries(self, self.entries)
