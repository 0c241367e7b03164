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
        """Raise InvalidArgument if the image is closed."""
        if self.closed:
            raise InvalidArgument("image is closed")

    def close(self):
        """Release the image once its aio operations and the calls running in other threads finished.

        Closing twice does nothing. Calls made from now on raise InvalidArgument("image is closed").
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
        """The image size in bytes (at the snapshot the image is set to)."""
        cdef uint64_t size
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_size(image, &size)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting size for image %s" % (image_label(self.name),))
        return size

    def resize(self, size, allow_shrink=True):
        """Change the image size to `size` bytes; shrinking needs `allow_shrink` (else InvalidArgument)."""
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
        """A dict with size, obj_size, num_objs, order, block_name_prefix, parent_pool and parent_name."""
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
        """The image name (a str), also when it was opened by id."""
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        filled = fill_growing(<fill_fn>rbd_get_name, image, 64, &ret)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting name for image %s" % (image_label(self.name),))
        return first_c_string(filled)

    def id(self):
        """The image id (a str); format 1 images have none (ImageNotFound... as librbd reports)."""
        return self._fixed_string(rbd_get_id, "id")

    def block_name_prefix(self):
        """The prefix of the RADOS objects holding the image data."""
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
        """The id of the pool holding the image data (its own pool unless created with a data pool)."""
        cdef int64_t ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_data_pool_id(image)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting data pool id for image %s" % (image_label(self.name),))
        return ret

    def old_format(self):
        """True for a format 1 image."""
        cdef uint8_t old
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_old_format(image, &old)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting old_format for image %s" % (image_label(self.name),))
        return old != 0

    def overlap(self):
        """How many bytes of the parent the clone still shares (0 without a parent)."""
        cdef uint64_t overlap
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_overlap(image, &overlap)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting overlap for image %s" % (image_label(self.name),))
        return overlap

    def stripe_unit(self):
        """The stripe unit in bytes."""
        cdef uint64_t value
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_stripe_unit(image, &value)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting stripe unit for image %s" % (image_label(self.name),))
        return value

    def stripe_count(self):
        """The stripe count."""
        cdef uint64_t value
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_stripe_count(image, &value)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting stripe count for image %s" % (image_label(self.name),))
        return value

    def features(self):
        """The image's RBD_FEATURE_* bits."""
        cdef uint64_t value
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_features(image, &value)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting features for image %s" % (image_label(self.name),))
        return value

    def update_features(self, features, enabled):
        """Enable (`enabled` true) or disable the RBD_FEATURE_* bits in `features`."""
        cdef uint64_t c_features = features
        cdef uint8_t c_enabled = bool(enabled)
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_update_features(image, c_features, c_enabled)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error updating features for image %s" % (image_label(self.name),))

    def op_features(self):
        """The image's RBD_OPERATION_FEATURE_* bits."""
        cdef uint64_t value
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_op_features(image, &value)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting op features for image %s" % (image_label(self.name),))
        return value

    def flags(self):
        """The image's RBD_FLAG_* bits."""
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
        """When the image was created: a datetime in UTC (naive before librbd 1.20, as upstream)."""
        return utc_timestamp(self._timestamp(rbd_get_create_timestamp, "create").tv_sec)

    def access_timestamp(self):
        """When the image was last read: an aware UTC datetime from librbd 1.20, naive local time before."""
        return local_timestamp(self._timestamp(rbd_get_access_timestamp, "access").tv_sec)

    def modify_timestamp(self):
        """When the image was last written: an aware UTC datetime from librbd 1.20, naive local time before."""
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
IF HAS_AWARE_TIMESTAMPS:
    cdef object utc_timestamp(int64_t seconds):
        return datetime.fromtimestamp(seconds, _timezone.utc)

    cdef object local_timestamp(int64_t seconds):
        return datetime.fromtimestamp(seconds, _timezone.utc)
ELSE:
    cdef object utc_timestamp(int64_t seconds):
        return datetime.fromtimestamp(seconds, _timezone.utc).replace(tzinfo=None)

    cdef object local_timestamp(int64_t seconds):
        return datetime.fromtimestamp(seconds)


class RBD:  # part of rbd.RBD (tools/assemble.py joins the parts)
    """Pool-level operations: create, clone, list, remove and rename images; trash, namespaces, groups,
    migration, mirroring, pool metadata and configuration. It holds no state: one instance serves any pool."""
    # This area's part: create, remove, rename and list images.

    def version(self):
        """The librbd version as (major, minor, extra), e.g. (1, 16, 0) for Ceph 16 (not Ceph's version)."""
        cdef int major, minor, extra
        rbd_version(&major, &minor, &extra)
        return (major, minor, extra)

    def create(self, ioctx, name, size, order=None, old_format=False, features=None, stripe_unit=None,
               stripe_count=None, data_pool=None):
        """Create an image of `size` bytes.

        `order` sets the object size (2**order bytes). `old_format` makes a format 1 image (deprecated, needs
        RBD_FORCE_ALLOW_V1=1 in librbd's environment) and then takes no features, striping or data pool.
        `features` is a mask of RBD_FEATURE_* (None: the cluster default); `data_pool` puts data in another pool.
        Raises ImageExists if the name is taken.
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
        """Delete image `name` and its data. Fails with ImageHasSnapshots or ImageBusy (watched, or locked with an
        advisory lock: librbd would wait forever for its exclusive lock).

        `on_progress(offset, total)` is called once per object; a non-zero return value cancels the removal
        (OperationCanceled); an exception it raises is reported through sys.unraisablehook and the removal goes on.
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
        """Rename image `src` to `dest` in the same pool."""
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
        """The names (str) of the images in the pool (and namespace) of `ioctx`."""
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef int ret
        filled = fill_growing(<fill_fn>rbd_list, io, 512, &ret)
        if ret < 0:
            raise make_ex(ret, "error listing images")
        return split_nul_separated(filled, len(filled))

    def list2(self, ioctx):
        """An ImageIterator of {'id', 'name'} dicts for the images of `ioctx`."""
        return ImageIterator(ioctx)

    def features_to_string(self, features):
        """'layering,exclusive-lock,...' for a mask of RBD_FEATURE_* bits; unknown bits: InvalidArgument."""
        cdef uint64_t c_features = features
        cdef size_t size = 1024
        cdef char buf[1024]
        with nogil:
            ret = rbd_features_to_string(c_features, buf, &size)
        if ret < 0:
            raise make_ex(ret, "error converting features bitmask to str")
        return decode_c(buf)

    def features_from_string(self, str_features):
        """The RBD_FEATURE_* mask for 'layering,exclusive-lock,...'; unknown names: InvalidArgument."""
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

Iterates over {'id', 'name'} dicts, one per image of a pool; the list is fetched when created."""
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
