# Clones and copies: RBD.clone, parent info, flatten, children (ChildIterator), copy, deep_copy, sparsify.


cdef class Image:  # part of rbd.Image (tools/assemble.py joins the parts)

    def get_parent_image_spec(self):
        """Where this clone's parent is: the image and snapshot it was cloned from.

        Before librbd 1.20 the dict has 'pool_name', 'pool_namespace', 'image_name' and 'snap_name'; from librbd 1.20
        also 'pool_id', 'image_id', 'trash', 'snap_id' and 'snap_namespace_type' (upstream's keys and order of each
        release).

        :returns: {'pool_name': str, 'pool_namespace': str, 'image_name': str, 'snap_name': str}, and from librbd 1.20
            {'pool_id', 'pool_name', 'pool_namespace', 'image_id', 'image_name', 'trash', 'snap_id',
            'snap_namespace_type', 'snap_name'}
        :rtype: dict
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageNotFound: the image has no parent
        """
        cdef rbd_linked_image_spec_t parent
        cdef rbd_snap_spec_t snap
        cdef int ret
        memset(&parent, 0, sizeof(parent))
        memset(&snap, 0, sizeof(snap))
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_parent(image, &parent, &snap)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting parent info for image %s" % (image_label(self.name),))
        try:
            if HAS_TENTACLE_API:
                return {
                    "pool_id": parent.pool_id,
                    "pool_name": decode_c(parent.pool_name),
                    "pool_namespace": decode_c(parent.pool_namespace),
                    "image_id": decode_c(parent.image_id),
                    "image_name": decode_c(parent.image_name),
                    "trash": <bint>parent.trash,
                    "snap_id": snap.id,
                    "snap_namespace_type": <int>snap.namespace_type,
                    "snap_name": decode_c(snap.name),
                }
            else:
                return {
                    "pool_name": decode_c(parent.pool_name),
                    "pool_namespace": decode_c(parent.pool_namespace),
                    "image_name": decode_c(parent.image_name),
                    "snap_name": decode_c(snap.name),
                }
        finally:
            rbd_linked_image_spec_cleanup(&parent)
            rbd_snap_spec_cleanup(&snap)

    def parent_info(self):
        """The parent of this clone as a tuple; deprecated upstream in favour of get_parent_image_spec().

        :returns: (pool name, image name, snapshot name)
        :rtype: tuple of (str, str, str)
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageNotFound: the image has no parent
        """
        spec = self.get_parent_image_spec()
        return (spec["pool_name"], spec["image_name"], spec["snap_name"])

    def parent_id(self):
        """The image id of this clone's parent.

        :returns: the parent image's id
        :rtype: str
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageNotFound: the image has no parent
        """
        cdef rbd_linked_image_spec_t parent
        cdef rbd_snap_spec_t snap
        cdef int ret
        memset(&parent, 0, sizeof(parent))
        memset(&snap, 0, sizeof(snap))
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_get_parent(image, &parent, &snap)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting parent id for image %s" % (image_label(self.name),))
        try:
            return decode_c(parent.image_id)
        finally:
            rbd_linked_image_spec_cleanup(&parent)
            rbd_snap_spec_cleanup(&snap)

    def flatten(self, on_progress=None):
        """Copy the parent's data into this clone and detach it from its parent.

        `on_progress` is called as objects are copied; a non-zero return value cancels the flatten (OperationCanceled;
        the clone keeps its parent). An exception it raises is reported through sys.unraisablehook and the flatten goes
        on.

        :param on_progress: `on_progress(offset, total)`, the objects done and the objects in all; None: no progress
            reports
        :type on_progress: callable or None
        :rtype: None
        :raises InvalidArgument: the image is closed, or it has no parent
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `on_progress` is neither callable nor None
        :raises ReadOnlyImage: the image was opened read-only or is set to a snapshot, or has the
            exclusive-lock feature and a client holds an advisory lock on it
        :raises OperationCanceled: `on_progress` returned a non-zero value
        """
        cdef _ProgressCallback progress = _ProgressCallback(on_progress)
        cdef librbd_progress_fn_t fn = progress.c_function()
        cdef void *arg = progress.c_arg()
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_flatten_with_progress(image, fn, arg)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error flattening %s" % (image_label(self.name),))

    def list_children(self):
        """The clones of this image's snapshots (or of the snapshot the image is set to); children in the trash are left
        out.

        :returns: a (pool name, image name) tuple per child
        :rtype: list of (str, str)
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        return [(child["pool"], child["image"]) for child in _list_linked_images(self, False) if not child["trash"]]

    def list_children2(self):
        """List this image's clones, trashed ones included; read when the iterator is created.

        :returns: an iterator of dicts {'pool', 'pool_namespace', 'image', 'id', 'trash'}, one per child
        :rtype: ChildIterator
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        return ChildIterator(self)

    def list_descendants(self):
        """List this image's clones and, recursively, their clones; read when the iterator is created.

        :returns: an iterator of dicts {'pool', 'pool_namespace', 'image', 'id', 'trash'}, one per descendant
        :rtype: ChildIterator
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        return ChildIterator(self, descendants=True)

    def copy(self, dest_ioctx, dest_name, features=None, order=None, stripe_unit=None, stripe_count=None,
             data_pool=None):
        """Copy the image's data (at the snapshot it is set to) into a new image `dest_name` in `dest_ioctx`.

        Snapshots are not copied (see deep_copy). The options set up the new image as in RBD.create.

        :param dest_ioctx: the pool (and namespace) of the new image
        :type dest_ioctx: rados.Ioctx
        :param dest_name: name of the new image
        :type dest_name: str or bytes
        :param features: RBD_FEATURE_* mask of the new image; None: as the source
        :type features: int or None
        :param order: object size of the new image as a power of two (2**order bytes); None: as the source
        :type order: int or None
        :param stripe_unit: stripe unit in bytes; None: as the source
        :type stripe_unit: int or None
        :param stripe_count: objects a stripe spans; None: as the source
        :type stripe_count: int or None
        :param data_pool: pool for the new image's data objects; None: as the source
        :type data_pool: str or bytes or None
        :rtype: None
        :raises InvalidArgument: the image or `dest_ioctx` is closed, `dest_name` or `data_pool` is not str/bytes or
            holds a NUL byte, or librbd refuses an option
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `dest_ioctx` is not a rados.Ioctx, or an option is not an int
        :raises OverflowError: an option is negative or does not fit 64 bits
        :raises ImageExists: `dest_name` already exists
        :raises ImageBusy: this client holds an advisory lock on the image and its reads need the exclusive lock
            (journaling or copy-on-read), which librbd would wait for forever
        """
        self._refuse_reads_while_locked()
        cdef rados_ioctx_t io = ioctx_handle(dest_ioctx)
        cdef bytes name_bytes = cstr(dest_name, "dest_name")
        cdef const char *c_name = name_bytes
        cdef _CreationOptions options = build_image_options(format=None, features=features, order=order, stripe_unit=stripe_unit,
                                                        stripe_count=stripe_count, data_pool=data_pool)
        cdef rbd_image_options_t c_options = options.handle
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_copy3(image, io, c_name, c_options)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error copying image %s to %s" % (image_label(self.name), image_label(dest_name)))

    def deep_copy(self, dest_ioctx, dest_name, features=None, order=None, stripe_unit=None, stripe_count=None,
                  data_pool=None, clone_format=None, flatten=False):
        """Copy the image with its snapshots (and its parent link, unless `flatten`) into a new image.

        The options set up the new image as in RBD.create. `clone_format` and `flatten` are upstream keywords from
        librbd 1.18; this module takes them with every release.

        :param dest_ioctx: the pool (and namespace) of the new image
        :type dest_ioctx: rados.Ioctx
        :param dest_name: name of the new image
        :type dest_name: str or bytes
        :param features: RBD_FEATURE_* mask of the new image; None: as the source
        :type features: int or None
        :param order: object size of the new image as a power of two (2**order bytes); None: as the source
        :type order: int or None
        :param stripe_unit: stripe unit in bytes; None: as the source
        :type stripe_unit: int or None
        :param stripe_count: objects a stripe spans; None: as the source
        :type stripe_count: int or None
        :param data_pool: pool for the new image's data objects; None: as the source
        :type data_pool: str or bytes or None
        :param clone_format: clone format (1 or 2) of the copy when the source is a clone; None: librbd's default
        :type clone_format: int or None
        :param flatten: copy the parent's data into the new image instead of linking it to the parent
        :type flatten: bool
        :rtype: None
        :raises InvalidArgument: the image or `dest_ioctx` is closed, `dest_name` or `data_pool` is not str/bytes or
            holds a NUL byte, or librbd refuses an option
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `dest_ioctx` is not a rados.Ioctx, or an option is not an int
        :raises OverflowError: an option is negative or does not fit 64 bits
        :raises ImageExists: `dest_name` already exists
        """
        cdef rados_ioctx_t io = ioctx_handle(dest_ioctx)
        cdef bytes name_bytes = cstr(dest_name, "dest_name")
        cdef const char *c_name = name_bytes
        cdef _CreationOptions options = build_image_options(format=None, features=features, order=order, stripe_unit=stripe_unit,
                                                        stripe_count=stripe_count, data_pool=data_pool,
                                                        clone_format=clone_format, flatten=flatten)
        cdef rbd_image_options_t c_options = options.handle
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_deep_copy(image, io, c_name, c_options)
        self._end_call()
        if ret < 0:
            if HAS_REEF_API:
                raise make_ex(ret, "error deep copying image %s to %s" % (image_label(self.name), image_label(dest_name)))
            else:
                raise make_ex(ret, "error copying image %s to %s" % (image_label(self.name), image_label(dest_name)))

    def sparsify(self, sparse_size):
        """Deallocate the zero-filled runs of the image of at least `sparse_size` bytes.

        :param sparse_size: smallest run of zeroes to deallocate, in bytes: a power of two, at least 4096
        :type sparse_size: int
        :rtype: None
        :raises InvalidArgument: the image is closed, or `sparse_size` is not a power of two of at least 4096
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `sparse_size` is not an int
        :raises OverflowError: `sparse_size` is negative or does not fit a C size_t
        :raises ReadOnlyImage: the image was opened read-only or is set to a snapshot, or has the
            exclusive-lock feature and a client holds an advisory lock on it
        """
        cdef size_t c_size = sparse_size
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_sparsify(image, c_size)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error sparsifying %s" % (image_label(self.name),))


class RBD:  # part of rbd.RBD (tools/assemble.py joins the parts)
    """RBD method that clones an image from a snapshot."""

    # librbd 1.20's module takes a snapshot name or id, and renamed the third parameter (keyword callers use the
    # release's name).
    if HAS_CLONE4:
        def clone(self, p_ioctx, p_name, p_snapshot, c_ioctx, c_name, features=None, order=None,
                  stripe_unit=None, stripe_count=None, data_pool=None, clone_format=None):
            """Create image `c_name` in `c_ioctx` as a copy-on-write clone of a snapshot of image `p_name` in `p_ioctx`.

            The snapshot `p_snapshot` is given by name, or by id as an int (group and trash snapshots have only
            ids): with librbd 1.19 (Ceph 19.2) or newer (rbd_clone4), as upstream's module of Ceph 20.2, which
            renamed this parameter from `p_snapname` (keyword callers use the release's name).
            `clone_format` 1 needs a protected user snapshot, 2 does not. The other options are as in RBD.create.

            :param p_ioctx: the parent's pool (and namespace)
            :type p_ioctx: rados.Ioctx
            :param p_name: name of the parent image
            :type p_name: str or bytes
            :param p_snapshot: the parent's snapshot: its name, or its id
            :type p_snapshot: str or int
            :param c_ioctx: the pool (and namespace) of the new clone
            :type c_ioctx: rados.Ioctx
            :param c_name: name of the new clone
            :type c_name: str or bytes
            :param features: RBD_FEATURE_* mask of the clone; None: the parent's
            :type features: int or None
            :param order: object size of the clone as a power of two (2**order bytes); None: the parent's
            :type order: int or None
            :param stripe_unit: stripe unit in bytes; None: the parent's
            :type stripe_unit: int or None
            :param stripe_count: objects a stripe spans; None: the parent's
            :type stripe_count: int or None
            :param data_pool: pool for the clone's data objects; None: none of its own
            :type data_pool: str or bytes or None
            :param clone_format: 1 (the snapshot must be protected) or 2; None: the cluster's rbd_default_clone_format
            :type clone_format: int or None
            :rtype: None
            :raises InvalidArgument: an ioctx is closed, a name is not str/bytes or holds a NUL byte, or the
                snapshot is not protected with `clone_format` 1
            :raises TypeError: an ioctx is not a rados.Ioctx, `p_snapshot` is neither str nor int, or an option
                is not an int
            :raises OverflowError: an option or a snapshot id is negative or does not fit 64 bits
            :raises ImageNotFound: the parent image or its snapshot does not exist
            :raises ImageExists: `c_name` already exists
            :raises FunctionNotSupported: `p_snapshot` is an id and the librbd in use lacks rbd_clone4
            """
            clone_image(p_ioctx, p_name, p_snapshot, "p_snapshot", c_ioctx, c_name, features, order,
                        stripe_unit, stripe_count, data_pool, clone_format)
    else:
        def clone(self, p_ioctx, p_name, p_snapname, c_ioctx, c_name, features=None, order=None,
                  stripe_unit=None, stripe_count=None, data_pool=None, clone_format=None):
            """Create image `c_name` in `c_ioctx` as a copy-on-write clone of a snapshot of image `p_name` in `p_ioctx`.

            The snapshot is `p_snapname`. `clone_format` 1 needs a protected snapshot, 2 does not. The other options
            are as in RBD.create. With librbd 1.19 (Ceph 19.2) or newer the snapshot may be given by id too, and the
            parameter is called `p_snapshot`.

            :param p_ioctx: the parent's pool (and namespace)
            :type p_ioctx: rados.Ioctx
            :param p_name: name of the parent image
            :type p_name: str or bytes
            :param p_snapname: name of the parent's snapshot
            :type p_snapname: str or bytes
            :param c_ioctx: the pool (and namespace) of the new clone
            :type c_ioctx: rados.Ioctx
            :param c_name: name of the new clone
            :type c_name: str or bytes
            :param features: RBD_FEATURE_* mask of the clone; None: the parent's
            :type features: int or None
            :param order: object size of the clone as a power of two (2**order bytes); None: the parent's
            :type order: int or None
            :param stripe_unit: stripe unit in bytes; None: the parent's
            :type stripe_unit: int or None
            :param stripe_count: objects a stripe spans; None: the parent's
            :type stripe_count: int or None
            :param data_pool: pool for the clone's data objects; None: none of its own
            :type data_pool: str or bytes or None
            :param clone_format: 1 (the snapshot must be protected) or 2; None: the cluster's rbd_default_clone_format
            :type clone_format: int or None
            :rtype: None
            :raises InvalidArgument: an ioctx is closed, a name is not str/bytes or holds a NUL byte, or the
                snapshot is not protected with `clone_format` 1
            :raises TypeError: an ioctx is not a rados.Ioctx, or an option is not an int
            :raises OverflowError: an option is negative or does not fit 64 bits
            :raises ImageNotFound: the parent image or its snapshot does not exist
            :raises ImageExists: `c_name` already exists
            """
            clone_image(p_ioctx, p_name, p_snapname, "p_snapname", c_ioctx, c_name, features, order,
                        stripe_unit, stripe_count, data_pool, clone_format)


cdef clone_image(p_ioctx, p_name, snapshot, str snapshot_param, c_ioctx, c_name, features, order, stripe_unit,
                 stripe_count, data_pool, clone_format):
    """RBD.clone: by snapshot name (rbd_clone3) or, from librbd 1.20, by snapshot id (rbd_clone4)."""
    cdef rados_ioctx_t p_io = ioctx_handle(p_ioctx)
    cdef rados_ioctx_t c_io = ioctx_handle(c_ioctx)
    cdef bytes p_name_bytes = cstr(p_name, "p_name")
    cdef bytes c_name_bytes = cstr(c_name, "c_name")
    cdef bytes p_snap_bytes = None
    cdef uint64_t c_snap_id = 0
    if HAS_CLONE4:
        if isinstance(snapshot, str):
            p_snap_bytes = cstr(snapshot, snapshot_param)
        elif isinstance(snapshot, int):
            if late_rbd_clone4 == NULL:
                raise missing_librbd_call("rbd_clone4")
            c_snap_id = snapshot
        else:
            raise TypeError("p_snapshot must be a string or an integer")
    else:
        p_snap_bytes = cstr(snapshot, snapshot_param)
    cdef const char *c_p_name = p_name_bytes
    cdef const char *c_p_snap = opt_str(p_snap_bytes)
    cdef const char *c_c_name = c_name_bytes
    cdef _CreationOptions options = build_image_options(format=None, features=features, order=order,
                                                    stripe_unit=stripe_unit, stripe_count=stripe_count,
                                                    data_pool=data_pool, clone_format=clone_format)
    cdef rbd_image_options_t c_options = options.handle
    cdef int ret
    with nogil:
        if c_p_snap != NULL:
            ret = rbd_clone3(p_io, c_p_name, c_p_snap, c_io, c_c_name, c_options)
        else:
            if HAS_CLONE4:
                ret = late_rbd_clone4(p_io, c_p_name, c_snap_id, c_io, c_c_name, c_options)
            else:
                ret = -C_EINVAL
    if ret < 0:
        raise make_ex(ret, "error creating clone")


cdef class ChildIterator:
    """ChildIterator(image, descendants=False)
--

Iterates over an image's clones as dicts {'pool', 'pool_namespace', 'image', 'id', 'trash'}; with
    `descendants` true, over their clones too, recursively. The list is read when the iterator is created."""
    cdef object image
    cdef list entries

    def __init__(self, Image image not None, descendants=False):
        self.image = image
        self.entries = _list_linked_images(image, bool(descendants))

    def __iter__(self):
        return iter_entries(self, self.entries)


cdef list _list_linked_images(Image image, bint descendants):
    """The children (or all descendants) of `image`, from rbd_list_children3 / rbd_list_descendants."""
    cdef size_t i
    cdef _Listed found = image._list(<list_call>(rbd_list_descendants if descendants else rbd_list_children3),
                                     sizeof(rbd_linked_image_spec_t), 16)
    if found.ret < 0:
        raise make_ex(found.ret, "error listing %s of image %s"
                      % ("descendants" if descendants else "children", image_label(image.name)))
    cdef rbd_linked_image_spec_t *specs = <rbd_linked_image_spec_t *>found.items
    try:
        return [{
            "pool": decode_c(specs[i].pool_name),
            "pool_namespace": decode_c(specs[i].pool_namespace),
            "image": decode_c(specs[i].image_name),
            "id": decode_c(specs[i].image_id),
            "trash": bool(specs[i].trash),
        } for i in range(found.count)]
    finally:
        rbd_linked_image_spec_list_cleanup(specs, found.count)
