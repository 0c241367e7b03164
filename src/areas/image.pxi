# Image lifecycle and properties: open/close, size, stat, names and ids, features and flags, timestamps;
# and the pool-level calls that create, remove, rename and list images.
#
# `Image` holds the librbd handle. Every method goes through `_begin_call()` / `_end_call()`: the first
# raises upstream's InvalidArgument("image is closed") and counts the call in flight, so that `close()` from
# another thread waits for calls already inside librbd instead of freeing the handle under them.


# Handles still open when the interpreter exits are closed by an atexit hook (helpers/interpreters.pxi: each
# interpreter closes those it opened). Otherwise librbd's threads may still be completing operations (aio in
# flight, or an image kept alive by a reference cycle) while the process runs the C++ static destructors of
# libceph-common, and crash there (seen: a config lookup on a destroyed table).


@cython.no_gc_clear  # __dealloc__ needs `cluster` to decide whether rbd_close is still safe
cdef class Image:  # part of rbd.Image (tools/assemble.py joins the parts)
    """Image(ioctx, name=None, snapshot=None, read_only=False, image_id=None, _oncomplete=None)
--

    An open RBD image: I/O, snapshots, clones, locks, metadata, mirroring. Open it by `name` or by `image_id`,
    optionally at `snapshot` (then read-only), and close it with `close()` or a `with` block. Every method of a
    closed image raises InvalidArgument("image is closed").

    :param ioctx: the pool (and namespace) holding the image; the image keeps it alive
    :type ioctx: rados.Ioctx
    :param name: the image's name; give it or `image_id`, not both
    :type name: str or bytes or None
    :param snapshot: the name of the snapshot to open the image at (None: the head)
    :type snapshot: str or bytes or None
    :param read_only: open without taking the exclusive lock; writes then raise ReadOnlyImage
    :type read_only: bool
    :param image_id: the image's id, instead of `name`
    :type image_id: str or bytes or None
    :param _oncomplete: private: `RBD.aio_open_image` opens the image asynchronously through it
    :type _oncomplete: callable or None
    :raises TypeError: `ioctx` is not a rados.Ioctx
    :raises InvalidArgument: neither or both of `name` and `image_id` are given, a name or id is not a string or
        holds a NUL byte, or `ioctx` is closed or its rados.Rados is not connected
    :raises ImageNotFound: there is no such image, or no such snapshot
    :raises OSError: another error from librbd, as the subclass its errno maps to
    """
    # The handle's state, which every area's methods use (aio.pxi adds `aio_in_flight`).
    cdef rbd_image_t image
    cdef bint closed
    cdef object ioctx
    cdef rados.Rados cluster
    cdef object name
    cdef int in_flight
    cdef object _open_completion
    # (client instance id, pool id, image id), computed when first needed: the key of _advisory_locks (locks.pxi).
    cdef object lock_key
    cdef int64_t pool_id        # the ioctx's pool, kept: the caller may close the ioctx while the image is open
    # Opened read-only / set to a snapshot: librbd then reads without the exclusive lock (see locks.pxi).
    cdef bint read_only
    cdef bint at_snapshot
    cdef object __weakref__

    def __cinit__(self):
        self.closed = True
        self.image = NULL
        self.in_flight = 0

    def __init__(self, ioctx, name=None, snapshot=None, read_only=False, image_id=None, _oncomplete=None):
        """Open an image by `name` or by `image_id` (exactly one), at `snapshot` (a name) or at the head.

        `read_only` opens it without taking the exclusive lock. The image keeps `ioctx` alive.
        `_oncomplete` is private: `RBD.aio_open_image` uses it to open asynchronously.
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        if (name is None) == (image_id is None):
            raise InvalidArgument("image name or image id was not specified" if name is None else
                                  "both image name and image id were specified")
        self.ioctx = ioctx
        self.pool_id = rados_ioctx_get_id(io)
        self.cluster = cluster_of(ioctx)
        self.name = cstr(name, "name", opt=True)
        cdef bytes id_bytes = cstr(image_id, "image_id", opt=True)
        cdef bytes snap_bytes = cstr(snapshot, "snapshot", opt=True)
        self.read_only = read_only
        self.at_snapshot = snap_bytes is not None
        if _oncomplete is not None:
            self._open_async(_oncomplete, ioctx, id_bytes, snap_bytes, read_only)
            return
        cdef const char *c_name = opt_str(self.name)
        cdef const char *c_id = opt_str(id_bytes)
        cdef const char *c_snap = opt_str(snap_bytes)
        cdef bint c_read_only = read_only
        cdef int ret
        with nogil:
            ret = open_image_handle(io, c_name, c_id, c_snap, c_read_only, &self.image)
        if ret < 0:
            self.image = NULL
            label = image_label(self.name if id_bytes is None else b"with id " + id_bytes)
            raise make_ex(ret, "error opening image %s at snapshot %s" % (label, image_label(snapshot)))
        self.closed = False
        track_open_handle(self)
        if id_bytes is not None:
            self.name = self.get_name()

    def _close_at_exit(self, double deadline):
        # Bounded: an operation that never finishes (unreachable cluster) must not keep the process from exiting.
        self._close(deadline)

    def __dealloc__(self):
        # No Python calls here: the object is half torn down. In-flight calls hold a reference, so none remain.
        if not self.closed and self.image != NULL and cluster_connected(self.cluster):
            with nogil:
                rbd_close(self.image)
        self.closed = True

    cdef int _check_usable(self) except -1:
        """InvalidArgument if the image is closed, ConnectionShutdown once its rados.Rados was shut down."""
        if self.closed:
            raise InvalidArgument("image is closed")
        if not cluster_connected(self.cluster):
            raise self._shut_down_error()
        return 0

    cdef object _shut_down_error(self):
        return ConnectionShutdown("the rados.Rados of image %s was shut down" % (image_label(self.name),),
                                  errno=C_ESHUTDOWN)

    cdef rbd_image_t _begin_call(self) except NULL:
        """The handle for one librbd call; raises if the image is closed. Pair with `_end_call()`."""
        self._check_usable()
        self.in_flight += 1
        return self.image

    cdef inline void _end_call(self) noexcept:
        self.in_flight -= 1

    cdef _Listed _list(self, list_call call, size_t item_size, size_t initial, int_list_call int_call=NULL):
        """list_growing() of a list call on this image's handle: `call(image, items, &count)`, or
        `int_call(image, items, &int_count)` for the calls that count in an int."""
        cdef int_count_call wrapped = int_count_call(int_call, NULL)
        wrapped.handle = self._begin_call()
        try:
            if int_call != NULL:
                return list_growing(counting_in_int, &wrapped, item_size, initial)
            return list_growing(call, wrapped.handle, item_size, initial)
        finally:
            self._end_call()

    cdef int _refuse_close_from_own_callback(self) except -1:
        # A progress or diff_iterate callback runs while its call is in flight: waiting for that call would hang.
        if callback_depth > 0 and self.in_flight > 0:
            raise ImageBusy("cannot close image %s from inside a callback while a call on it is running"
                            % (image_label(self.name),), errno=C_EBUSY)
        return 0

    cdef bint _worth_waiting(self, double deadline) except -1:
        """Whether waiting for this handle's calls or aio in flight can still end: not once its rados.Rados is
        shut down (librbd then never finishes them), nor past `deadline` (monotonic_seconds(); 0: none)."""
        if not cluster_connected(self.cluster):
            return False
        return deadline == 0 or monotonic_seconds() < deadline

    cdef bint _wait_for_calls_in_flight(self, double deadline) except -1:
        """Wait until no other thread is inside a librbd call on this handle; False if that cannot happen."""
        # Other threads only change `in_flight` while holding the GIL, so sleeping without it lets them finish.
        while self.in_flight > 0:
            if not self._worth_waiting(deadline):
                return False
            with nogil:
                usleep(1000)
        return True

    # Defined by other areas: _open_async and _wait_for_aio (aio.pxi), which also declares `aio_in_flight`;
    # _refuse_writes_while_locked, _refuse_reads_while_locked and _refuse_under_any_advisory_lock (locks.pxi).

    cdef int _settle(self) except -1:
        """Wait for this handle's calls and aio still in flight, before a call that librbd cannot run beside them.

        - set_snap/set_snap_by_id: switching the snapshot blocks writes and waits for the in-flight ones; an
          aio_flush/aio_write still waiting for the exclusive lock then never completes and both hang forever.
        - mirroring state changes: each write or flush of a journaled image that is not primary makes librbd
          try (and fail) to take the exclusive lock, opening the journal meanwhile; a mirroring change racing
          with that attempt makes librbd abort the process (DisableRequest.cc:132, PostAcquireRequest.cc:332).
        python3-rbd hangs and crashes the same way. See docs/reliability.md.
        From inside a progress/diff_iterate callback of a call still running on the image, waiting would hang:
        ImageBusy instead.
        """
        if callback_depth > 0 and self.in_flight > 0:
            raise ImageBusy("cannot do this on image %s from inside a callback while a call on it is running"
                            % (image_label(self.name),), errno=C_EBUSY)
        self._wait_for_calls_in_flight(0)
        self._wait_for_aio(0)
        return 0

    def __enter__(self):
        return self

    def __exit__(self, type_, value, traceback):
        """Close the image; exceptions propagate."""
        self.close()
        return False

    def __repr__(self):
        return "rbd.Image(ioctx, %r)" % (self.name,)

    def require_not_closed(self):
        """Raise InvalidArgument if the image is closed; do nothing otherwise.

        Only `close()` counts: a shut-down rados.Rados is reported by the calls themselves (ConnectionShutdown).

        :rtype: None
        :raises InvalidArgument: the image is closed
        """
        if self.closed:
            raise InvalidArgument("image is closed")

    def close(self):
        """Release the image once its aio operations and the calls running in other threads finished.

        Closing twice does nothing. Calls made from now on raise InvalidArgument("image is closed"). Once the
        image's rados.Rados is shut down, librbd cannot be called any more: the handle is then given up without
        waiting and without an error.

        :rtype: None
        :raises ImageBusy: called from a progress or diff_iterate callback of a call still running on this image
            (waiting for that call would never end); the image stays open
        :raises OSError: librbd failed to close the handle (the subclass its errno maps to); the image counts as
            closed all the same
        """
        self._close(0)

    cdef int _close(self, double deadline) except -1:
        """close(), waiting for calls and aio in flight until `deadline` (monotonic_seconds(); 0: no limit)."""
        if self.closed:
            return 0
        self._refuse_close_from_own_callback()
        self.closed = True
        # Calls in flight include aio submissions still inside their librbd call.
        cdef bint idle = self._wait_for_calls_in_flight(deadline) and self._wait_for_aio(deadline)
        cdef int ret = 0
        if idle and cluster_connected(self.cluster):
            with nogil:
                ret = rbd_close(self.image)
        # else: the cluster handle was shut down under the image (rbd_close would hang or crash), or operations
        # still in flight at exit would make it wait forever: the handle is leaked.
        self.image = NULL
        if ret < 0:
            raise make_ex(ret, "error while closing image %s" % (image_label(self.name),))
        return 0

    def size(self):
        """The image size in bytes (at the snapshot the image is set to).

        Once encryption is loaded (`encryption_load`), the size of the plaintext: the LUKS header is not counted.

        :returns: the size in bytes
        :rtype: int
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef uint64_t size
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_size(image, &size)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting size for image %s" % (image_label(self.name),))
        return size

    def resize(self, size, allow_shrink=True):
        """Change the image size to `size` bytes; shrinking needs `allow_shrink` (else InvalidArgument).

        Nothing is done when the size stays the same. Shrinking drops the data past the new end.

        :param size: the new size in bytes
        :type size: int
        :param allow_shrink: whether the image may get smaller
        :type allow_shrink: bool
        :rtype: None
        :raises InvalidArgument: the image is closed, or `size` is below the current size and `allow_shrink` is
            false
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ReadOnlyImage: the image was opened read-only or at a snapshot, or this client holds an advisory lock
            on it (lock_exclusive/lock_shared) and it has the exclusive-lock feature
        :raises OverflowError: `size` is negative or not below 2**64
        :raises TypeError: `size` is not an integer
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef uint64_t new_size = size
        cdef bint shrink = allow_shrink
        cdef uint64_t old_size = self.size()
        if old_size == new_size:
            return
        if not shrink and old_size > new_size:
            raise InvalidArgument("error allow_shrink is False but old_size > new_size")
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_resize2(image, new_size, shrink, noop_progress, NULL)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error resizing image %s" % (image_label(self.name),))

    def stat(self):
        """The image's basic layout, as a dict.

        Keys: size (bytes), obj_size (bytes per object), num_objs (objects for the whole size), order (obj_size is
        2**order bytes), block_name_prefix (str), parent_pool and parent_name. librbd no longer fills the last two:
        parent_pool is always 2**64 - 1 and parent_name always b"" (kept as upstream has them; see `parent_info()`).

        :returns: {'size': int, 'obj_size': int, 'num_objs': int, 'order': int, 'block_name_prefix': str,
            'parent_pool': int, 'parent_name': bytes}
        :rtype: dict
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef rbd_image_info_t info
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_stat(image, &info, sizeof(info))
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting info for image %s" % (image_label(self.name),))
        return {
            "size": info.size,
            "obj_size": info.obj_size,
            "num_objs": info.num_objs,
            "order": info.order,
            "block_name_prefix": decode_c(info.block_name_prefix),
            # Upstream declares this field unsigned, so "no parent" reads as 2**64 - 1; callers may compare.
            "parent_pool": <uint64_t>info.parent_pool,
            # Upstream returns the raw char array here, and callers compare it with bytes.
            "parent_name": <bytes>info.parent_name,
        }

    def get_name(self):
        """The image name, also when the image was opened by id.

        :returns: the image's name
        :rtype: str
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        filled = fill_growing(<fill_fn>rbd_get_name, image, 64, &ret)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting name for image %s" % (image_label(self.name),))
        return first_c_string(filled)

    def id(self):
        """The image id: its pool-unique name, which stays the same across renames.

        Trash, migration and `Image(image_id=...)` name images by it.

        :returns: the image id
        :rtype: str
        :raises InvalidArgument: the image is closed, or it is a format 1 image (which has no id)
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        return self._fixed_string(rbd_get_id, "id")

    def block_name_prefix(self):
        """The prefix of the RADOS objects holding the image data.

        For a format 2 image it is "rbd_data." followed by the image id.

        :returns: the prefix of the data objects' names
        :rtype: str
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        return self._fixed_string(rbd_get_block_name_prefix, "block name prefix")

    cdef str _fixed_string(self, int (*getter)(rbd_image_t, char *, size_t) noexcept nogil, str what):
        # These getters take a plain length and answer -ERANGE without saying how much they need: double up to
        # 4096 bytes, as upstream does.
        cdef size_t size = 32
        cdef char buf[4096]
        cdef int ret = -C_ERANGE
        cdef rbd_image_t image = self._begin_call()
        while ret == -C_ERANGE and size <= sizeof(buf):
            with nogil:
                ret = getter(image, buf, size)
            size *= 2
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting %s for image %s" % (what, image_label(self.name)))
        return decode_c(buf)

    def data_pool_id(self):
        """The id of the pool holding the image data (its own pool unless created with a data pool).

        :returns: the data pool's id
        :rtype: int
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef int64_t ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_data_pool_id(image)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting data pool id for image %s" % (image_label(self.name),))
        return ret

    def old_format(self):
        """True for a format 1 image.

        :returns: whether the image is in the deprecated format 1
        :rtype: bool
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef uint8_t old
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_old_format(image, &old)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting old_format for image %s" % (image_label(self.name),))
        return old != 0

    def overlap(self):
        """How many bytes of the parent the clone still shares (0 without a parent).

        :returns: the parent overlap in bytes
        :rtype: int
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef uint64_t overlap
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_overlap(image, &overlap)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting overlap for image %s" % (image_label(self.name),))
        return overlap

    def stripe_unit(self):
        """The stripe unit in bytes.

        :returns: the stripe unit in bytes (the object size unless the image was created with fancy striping)
        :rtype: int
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef uint64_t value
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_stripe_unit(image, &value)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting stripe unit for image %s" % (image_label(self.name),))
        return value

    def stripe_count(self):
        """The stripe count.

        :returns: how many objects a stripe spans (1 unless the image was created with fancy striping)
        :rtype: int
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef uint64_t value
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_stripe_count(image, &value)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting stripe count for image %s" % (image_label(self.name),))
        return value

    def features(self):
        """The image's RBD_FEATURE_* bits.

        :returns: the mask of the features the image has
        :rtype: int
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef uint64_t value
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_features(image, &value)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting features for image %s" % (image_label(self.name),))
        return value

    def update_features(self, features, enabled):
        """Enable (`enabled` true) or disable the RBD_FEATURE_* bits in `features`.

        Only some features can change on an existing image (exclusive-lock, object-map, fast-diff, journaling, ...),
        and librbd checks their dependencies (object-map needs exclusive-lock, fast-diff needs object-map).

        :param features: mask of the RBD_FEATURE_* bits to change
        :type features: int
        :param enabled: True to enable them, False to disable them
        :type enabled: bool
        :rtype: None
        :raises InvalidArgument: the image is closed, or librbd refuses the change (a feature that cannot change on
            an existing image, a dependency missing or still in use, unknown bits)
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ReadOnlyImage: the image was opened read-only or at a snapshot, or this client holds an advisory lock
            on it and it has the exclusive-lock feature
        :raises OverflowError: `features` is negative or not below 2**64
        :raises TypeError: `features` is not an integer
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef uint64_t c_features = features
        cdef uint8_t c_enabled = bool(enabled)
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_update_features(image, c_features, c_enabled)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error updating features for image %s" % (image_label(self.name),))

    def op_features(self):
        """The image's RBD_OPERATION_FEATURE_* bits.

        :returns: the mask of the operation features in use (clone parent, clone child, group, snap trash, ...)
        :rtype: int
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef uint64_t value
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_op_features(image, &value)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting op features for image %s" % (image_label(self.name),))
        return value

    def flags(self):
        """The image's RBD_FLAG_* bits.

        :returns: the mask of the flags set (e.g. RBD_FLAG_OBJECT_MAP_INVALID, RBD_FLAG_FAST_DIFF_INVALID)
        :rtype: int
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef uint64_t value
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_flags(image, &value)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting flags for image %s" % (image_label(self.name),))
        return value

    def rebuild_object_map(self, on_progress=None):
        """Rebuild the object map (needs the object-map feature).

        `on_progress(offset, total)` is called as objects are checked; a non-zero return value cancels
        (OperationCanceled); an exception it raises is reported through sys.unraisablehook.

        :param on_progress: progress callback, called as `on_progress(offset, total)`; None for none
        :type on_progress: callable or None
        :rtype: None
        :raises TypeError: `on_progress` is neither callable nor None
        :raises InvalidArgument: the image is closed, or it does not have the object-map feature
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ReadOnlyImage: the image was opened read-only or at a snapshot, or this client holds an advisory lock
            on it and it has the exclusive-lock feature
        :raises OperationCanceled: `on_progress` returned a non-zero value
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef _ProgressCallback progress = _ProgressCallback(on_progress)
        cdef librbd_progress_fn_t fn = progress.c_function()
        cdef void *arg = progress.c_arg()
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_rebuild_object_map(image, fn, arg)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error rebuilding object map for image %s" % (image_label(self.name),))

    def create_timestamp(self):
        """When the image was created: a datetime in UTC (naive before librbd 1.20, as upstream).

        From librbd 1.20 the datetime is aware (tzinfo UTC); before, it is naive and holds UTC. Format 1 images
        record no time: the epoch (1970-01-01).

        :returns: the creation time
        :rtype: datetime.datetime
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        return utc_timestamp(self._timestamp(rbd_get_create_timestamp, "create").tv_sec)

    def access_timestamp(self):
        """When the image was last read: an aware UTC datetime from librbd 1.20, naive local time before.

        librbd updates it at most every rbd_atime_update_interval seconds (default 60).

        :returns: the last access time
        :rtype: datetime.datetime
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        return local_timestamp(self._timestamp(rbd_get_access_timestamp, "access").tv_sec)

    def modify_timestamp(self):
        """When the image was last written: an aware UTC datetime from librbd 1.20, naive local time before.

        librbd updates it at most every rbd_mtime_update_interval seconds (default 60).

        :returns: the last modification time
        :rtype: datetime.datetime
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        return local_timestamp(self._timestamp(rbd_get_modify_timestamp, "modify").tv_sec)

    cdef timespec _timestamp(self, int (*getter)(rbd_image_t, timespec *) noexcept nogil, str what) except *:
        cdef timespec value
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = getter(image, &value)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting %s timestamp for image %s" % (what, image_label(self.name)))
        return value


# librbd's times as upstream's module of the same release gives them; every area uses these. librbd 1.20's
# module returns aware datetimes in UTC everywhere; 1.16/1.18 return naive UTC (without utcfromtimestamp's
# DeprecationWarning), except access/modify_timestamp, which are naive local time there.
# The calling interpreter's datetime module is imported where a time is made: from Python 3.13 the datetime types
# use the state of the datetime module of the interpreter that calls them, and an interpreter that imported rbd
# after another one did has not necessarily imported datetime (it crashed there: helpers/interpreters.pxi).
cdef object utc_timestamp(int64_t seconds):
    from datetime import datetime, timezone
    if HAS_AWARE_TIMESTAMPS:
        return datetime.fromtimestamp(seconds, timezone.utc)
    return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)


cdef object local_timestamp(int64_t seconds):
    from datetime import datetime, timezone
    if HAS_AWARE_TIMESTAMPS:
        return datetime.fromtimestamp(seconds, timezone.utc)
    return datetime.fromtimestamp(seconds)


class RBD:  # part of rbd.RBD (tools/assemble.py joins the parts)
    """Pool-level operations: create, clone, list, remove and rename images; trash, namespaces, groups,
    migration, mirroring, pool metadata and configuration. It holds no state: one instance serves any pool."""
    # This area's part: create, remove, rename and list images.

    def version(self):
        """The librbd version as (major, minor, extra), e.g. (1, 16, 0) for Ceph 16 (not Ceph's version).

        It is the librbd the module runs with, which may be newer than the one it was built for.

        :returns: (major, minor, extra)
        :rtype: tuple of (int, int, int)
        """
        cdef int major, minor, extra
        rbd_version(&major, &minor, &extra)
        return (major, minor, extra)

    def create(self, ioctx, name, size, order=None, old_format=False, features=None, stripe_unit=None,
               stripe_count=None, data_pool=None):
        """Create an image of `size` bytes.

        `order` sets the object size (2**order bytes). `features` is a mask of RBD_FEATURE_* (None: the cluster
        default); `data_pool` puts data in another pool; `stripe_unit` and `stripe_count` set fancy striping.
        `old_format` true takes librbd's legacy create call (as upstream does), which takes no features, striping or
        data pool: it makes a format 1 image (deprecated) only where librbd's rbd_default_format option is 1 (and
        RBD_FORCE_ALLOW_V1=1 is in librbd's environment); otherwise a format 2 image with the default features.
        Raises ImageExists if the name is taken.

        :param ioctx: the pool (and namespace) to create the image in
        :type ioctx: rados.Ioctx
        :param name: the new image's name
        :type name: str or bytes
        :param size: the image size in bytes
        :type size: int
        :param order: log2 of the object size, 12 to 25 (None: the default, 22: 4 MiB objects)
        :type order: int or None
        :param old_format: use librbd's legacy create call (see above)
        :type old_format: bool
        :param features: mask of RBD_FEATURE_* bits (None: the rbd_default_features option)
        :type features: int or None
        :param stripe_unit: bytes per stripe unit (None: the object size)
        :type stripe_unit: int or None
        :param stripe_count: objects a stripe spans (None: 1)
        :type stripe_count: int or None
        :param data_pool: name of the pool that holds the image's data (None: the image's own pool)
        :type data_pool: str or bytes or None
        :rtype: None
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or its rados.Rados is not connected
        :raises InvalidArgument: `name` or `data_pool` is not a string or holds a NUL byte; `old_format` with
            features, striping or a data pool; or librbd refuses the layout (e.g. a stripe unit that does not divide the
            object size)
        :raises ImageExists: an image named `name` exists already
        :raises ImageNotFound: the pool `data_pool` does not exist
        :raises ArgumentOutOfRange: `order` is outside 12 to 25
        :raises FunctionNotSupported: `features` holds bits librbd does not know
        :raises OverflowError: `size` or an option is negative or too large
        :raises TypeError: `size` or an option is not an integer
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef uint64_t c_size = size
        cdef int c_order = 0
        cdef int ret
        cdef _CreationOptions options
        if old_format:
            if features or stripe_unit or stripe_count or data_pool is not None:
                raise InvalidArgument("format 1 images do not support feature masks, non-default striping, "
                                      "nor data pool")
            if order is not None:
                c_order = order
            with nogil:
                ret = rbd_create(io, c_name, c_size, &c_order)
        else:
            options = build_image_options(format=2, features=features, order=order, stripe_unit=stripe_unit,
                                          stripe_count=stripe_count, data_pool=data_pool)
            with nogil:
                ret = rbd_create4(io, c_name, c_size, options.handle)
        if ret < 0:
            raise make_ex(ret, "error creating image")

    def remove(self, ioctx, name, on_progress=None):
        """Delete image `name` and its data.

        Fails with ImageHasSnapshots or ImageBusy (watched, or locked with an advisory lock: librbd would wait forever
        for its exclusive lock).

        `on_progress(offset, total)` is called once per object; a non-zero return value cancels the removal
        (OperationCanceled); an exception it raises is reported through sys.unraisablehook and the removal goes on.

        :param ioctx: the pool (and namespace) holding the image
        :type ioctx: rados.Ioctx
        :param name: the name of the image to delete
        :type name: str or bytes
        :param on_progress: progress callback, called as `on_progress(offset, total)`; None for none
        :type on_progress: callable or None
        :rtype: None
        :raises TypeError: `ioctx` is not a rados.Ioctx, or `on_progress` is neither callable nor None
        :raises InvalidArgument: `ioctx` is closed or its rados.Rados is not connected, or `name` is not a string or
            holds a NUL byte
        :raises ImageNotFound: there is no image named `name`
        :raises ImageHasSnapshots: the image still has snapshots
        :raises ImageBusy: the image is open elsewhere (it has watchers), or some client holds an advisory lock on it
            and it has the exclusive-lock feature
        :raises OperationCanceled: `on_progress` returned a non-zero value
        :raises ImageMemberOfGroup: the image belongs to a group (librbd 1.20; OSError with errno EMLINK before)
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef int ret
        refuse_if_advisory_locked(io, name_bytes, None, "remove it")
        cdef _ProgressCallback progress = _ProgressCallback(on_progress)
        cdef librbd_progress_fn_t fn = progress.c_function()
        cdef void *arg = progress.c_arg()
        with nogil:
            ret = rbd_remove_with_progress(io, c_name, fn, arg)
        if ret < 0:
            raise make_ex(ret, "error removing image")

    def rename(self, ioctx, src, dest):
        """Rename image `src` to `dest` in the same pool.

        :param ioctx: the pool (and namespace) holding the image
        :type ioctx: rados.Ioctx
        :param src: the image's current name
        :type src: str or bytes
        :param dest: its new name
        :type dest: str or bytes
        :rtype: None
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed or its rados.Rados is not connected, or a name is not a string or
            holds a NUL byte
        :raises ImageNotFound: there is no image named `src`
        :raises ImageExists: an image named `dest` exists already
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes src_bytes = cstr(src, "src")
        cdef bytes dest_bytes = cstr(dest, "dest")
        cdef const char *c_src = src_bytes
        cdef const char *c_dest = dest_bytes
        cdef int ret
        with nogil:
            ret = rbd_rename(io, c_src, c_dest)
        if ret < 0:
            raise make_ex(ret, "error renaming image")

    def list(self, ioctx):
        """The names (str) of the images in the pool (and namespace) of `ioctx`.

        :param ioctx: the pool (and namespace) to list
        :type ioctx: rados.Ioctx
        :returns: the image names
        :rtype: list of str
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or its rados.Rados is not connected
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef int ret
        filled = fill_growing(<fill_fn>rbd_list, io, 512, &ret)
        if ret < 0:
            raise make_ex(ret, "error listing images")
        return split_nul_separated(filled, len(filled))

    def list2(self, ioctx):
        """An ImageIterator of {'id', 'name'} dicts for the images of `ioctx`.

        The list is read from librbd at once, when this is called.

        :param ioctx: the pool (and namespace) to list
        :type ioctx: rados.Ioctx
        :returns: an iterator over one {'id': str, 'name': str} dict per image
        :rtype: ImageIterator
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or its rados.Rados is not connected
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        return ImageIterator(ioctx)

    def features_to_string(self, features):
        """'layering,exclusive-lock,...' for a mask of RBD_FEATURE_* bits; unknown bits: InvalidArgument.

        :param features: mask of RBD_FEATURE_* bits
        :type features: int
        :returns: the feature names, comma-separated ("" for 0)
        :rtype: str
        :raises InvalidArgument: `features` holds bits librbd does not know
        :raises OverflowError: `features` is negative or not below 2**64
        :raises TypeError: `features` is not an integer
        """
        cdef uint64_t c_features = features
        cdef size_t size = 1024
        cdef char buf[1024]
        with nogil:
            ret = rbd_features_to_string(c_features, buf, &size)
        if ret < 0:
            raise make_ex(ret, "error converting features bitmask to str")
        return decode_c(buf)

    def features_from_string(self, str_features):
        """The RBD_FEATURE_* mask for 'layering,exclusive-lock,...'; unknown names: InvalidArgument.

        :param str_features: feature names, comma-separated
        :type str_features: str or bytes
        :returns: the mask of RBD_FEATURE_* bits
        :rtype: int
        :raises InvalidArgument: `str_features` is not a string, holds a NUL byte, or names a feature librbd does not
            know
        """
        cdef bytes features_bytes = cstr(str_features, "str_features")
        cdef const char *c_features = features_bytes
        cdef uint64_t features
        cdef int ret
        with nogil:
            ret = rbd_features_from_string(c_features, &features)
        if ret < 0:
            raise make_ex(ret, "error converting %r to features" % (str_features,))
        return features


cdef class ImageIterator:
    """ImageIterator(ioctx)
--

Iterates over {'id', 'name'} dicts, one per image of a pool; the list is fetched when created.

:param ioctx: the pool (and namespace) to list
:type ioctx: rados.Ioctx
:raises TypeError: `ioctx` is not a rados.Ioctx
:raises InvalidArgument: `ioctx` is closed, or its rados.Rados is not connected
:raises OSError: another error from librbd, as the subclass its errno maps to
"""
    cdef list entries

    def __init__(self, ioctx):
        cdef size_t i
        cdef _Listed found = list_growing(<list_call>rbd_list2, ioctx_handle(ioctx), sizeof(rbd_image_spec_t), 32)
        if found.ret < 0:
            raise make_ex(found.ret, "error listing images")
        cdef rbd_image_spec_t *specs = <rbd_image_spec_t *>found.items
        try:
            self.entries = [{"id": decode_c(specs[i].id), "name": decode_c(specs[i].name)}
                            for i in range(found.count)]
        finally:
            rbd_image_spec_list_cleanup(specs, found.count)

    def __iter__(self):
        return iter_entries(self, self.entries)
