# Clones and copies: RBD.clone, parent info, flatten, children (ChildIterator), copy, deep_copy, sparsify.


cdef class Image:  # part of rbd.Image (tools/assemble.py joins the parts)

    def get_parent_image_spec(self):
        """The parent of this clone: {'pool_name', 'pool_namespace', 'image_name', 'snap_name'}; from librbd 1.20
        {'pool_id', 'pool_name', 'pool_namespace', 'image_id', 'image_name', 'trash', 'snap_id',
        'snap_namespace_type', 'snap_name'} (upstream's keys and order of each release).

        Raises ImageNotFound when the image has no parent.
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
            raise make_ex(ret, "error getting parent info for image %s" % (self.name,))
        try:
            IF HAS_TENTACLE_API:
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
            ELSE:
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
        """The parent of this clone as a tuple (pool name, image name, snapshot name); deprecated upstream in
        favour of get_parent_image_spec(). Raises ImageNotFound when the image has no parent."""
        spec = self.get_parent_image_spec()
        return (spec["pool_name"], spec["image_name"], spec["snap_name"])

    def parent_id(self):
        """The image id (str) of this clone's parent. Raises ImageNotFound when the image has no parent."""
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
            raise make_ex(ret, "error getting parent id for image %s" % (self.name,))
        try:
            return decode_c(parent.image_id)
        finally:
            rbd_linked_image_spec_cleanup(&parent)
            rbd_snap_spec_cleanup(&snap)

    def flatten(self, on_progress=None):
        """Copy the parent's data into this clone and detach it from its parent (InvalidArgument if it has none).

        `on_progress(offset, total)` is called as objects are copied; a non-zero return value cancels the flatten
        (OperationCanceled; the clone keeps its parent). An exception it raises is reported through
        sys.unraisablehook and the flatten goes on.
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
            raise make_ex(ret, "error flattening %s" % (self.name,))

    def list_children(self):
        """The clones of this image's snapshots (or of the snapshot the image is set to) as a list of
        (pool name, image name) tuples; children in the trash are left out."""
        return [(child["pool"], child["image"]) for child in _list_linked_images(self, False) if not child["trash"]]

    def list_children2(self):
        """A ChildIterator over this image's clones, trashed ones included."""
        return ChildIterator(self)

    def list_descendants(self):
        """A ChildIterator over this image's clones and, recursively, their clones."""
        return ChildIterator(self, descendants=True)

    def copy(self, dest_ioctx, dest_name, features=None, order=None, stripe_unit=None, stripe_count=None,
             data_pool=None):
        """Copy the image's data (at the snapshot it is set to) into a new image `dest_name` in `dest_ioctx`.

        Snapshots are not copied (see deep_copy). `features`, `order`, `stripe_unit`, `stripe_count` and
        `data_pool` set up the new image as in RBD.create (None: like the source). ImageExists if it exists.
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
            raise make_ex(ret, "error copying image %s to %s" % (self.name, dest_name))

    def deep_copy(self, dest_ioctx, dest_name, features=None, order=None, stripe_unit=None, stripe_count=None,
                  data_pool=None, clone_format=None, flatten=False):
        """Copy the image with its snapshots (and its parent link, unless `flatten`) into a new image.

        The image options are as in copy(); `clone_format` (1 or 2) is the clone format of the copy when the
        source is a clone, and `flatten` copies the parent's data instead of linking to it. ImageExists if the
        destination exists.
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
            IF HAS_REEF_API:
                raise make_ex(ret, "error deep copying image %s to %s" % (self.name, dest_name))
            ELSE:
                raise make_ex(ret, "error copying image %s to %s" % (self.name, dest_name))

    def sparsify(self, sparse_size):
        """Deallocate the zero-filled runs of at least `sparse_size` bytes (a power of two, at least 4096, else
        InvalidArgument)."""
        cdef size_t c_size = sparse_size
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_sparsify(image, c_size)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error sparsifying %s" % (self.name,))


class RBD:  # part of rbd.RBD (tools/assemble.py joins the parts)
    """RBD method that clones an image from a snapshot."""

    # librbd 1.20's module takes a snapshot name or id, and renamed the third parameter (keyword callers use the
    # release's name).
    IF HAS_CLONE4:
        def clone(self, p_ioctx, p_name, p_snapshot, c_ioctx, c_name, features=None, order=None,
                  stripe_unit=None, stripe_count=None, data_pool=None, clone_format=None):
            """Create image `c_name` in `c_ioctx` as a copy-on-write clone of snapshot `p_snapshot` (its name, or
            its id as an int: group and trash snapshots have only ids) of image `p_name` in `p_ioctx`.

            `clone_format` 1 needs a protected user snapshot (else InvalidArgument), 2 does not; None follows
            the cluster's rbd_default_clone_format. The other options are as in RBD.create. A missing parent or
            snapshot raises ImageNotFound, an existing `c_name` ImageExists; a `p_snapshot` that is neither str
            nor int TypeError.
            """
            clone_image(p_ioctx, p_name, p_snapshot, "p_snapshot", c_ioctx, c_name, features, order,
                        stripe_unit, stripe_count, data_pool, clone_format)
    ELSE:
        def clone(self, p_ioctx, p_name, p_snapname, c_ioctx, c_name, features=None, order=None,
                  stripe_unit=None, stripe_count=None, data_pool=None, clone_format=None):
            """Create image `c_name` in `c_ioctx` as a copy-on-write clone of snapshot `p_snapname` of image
            `p_name` in `p_ioctx`.

            `clone_format` 1 needs a protected snapshot (else InvalidArgument), 2 does not; None follows the
            cluster's rbd_default_clone_format. The other options are as in RBD.create. A missing parent or
            snapshot raises ImageNotFound, an existing `c_name` ImageExists.
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
    IF HAS_CLONE4:
        if isinstance(snapshot, str):
            p_snap_bytes = cstr(snapshot, snapshot_param)
        elif isinstance(snapshot, int):
            if late_rbd_clone4 == NULL:
                raise missing_librbd_call("rbd_clone4")
            c_snap_id = snapshot
        else:
            raise TypeError("p_snapshot must be a string or an integer")
    ELSE:
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
            IF HAS_CLONE4:
                ret = late_rbd_clone4(p_io, c_p_name, c_snap_id, c_io, c_c_name, c_options)
            ELSE:
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
