# Live migration: prepare (also from an import spec), execute, commit, abort, status.
#
# prepare links a new destination image to the source (which goes to the trash with source MIGRATION); clients
# can use the destination at once. execute copies the data, commit removes the source, abort goes back.
# `migration_status` fills `dest_pool_id` from the destination (upstream copied the source pool id there).


cdef class Image:  # part of rbd.Image (tools/assemble.py joins the parts)

    def migration_source_spec(self):
        """The migration source of this (destination) image, as a dict parsed from librbd's JSON spec.

        For a migration from another image: {'type': 'native', 'pool_id', 'pool_namespace', 'image_name',
        'image_id'}; for an import, the source spec given to RBD.migration_prepare_import.

        :returns: the source spec
        :rtype: dict
        :raises InvalidArgument: the image is not the destination of a migration in progress, or it is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        filled = fill_growing(<fill_fn>rbd_get_migration_source_spec, image, 512, &ret)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error retrieving migration source spec of image %s" % (image_label(self.name),))
        import json   # the calling interpreter's (helpers/interpreters.pxi)
        return json.loads(first_c_string(filled))


ctypedef int (*migration_step_fn)(rados_ioctx_t, const char *, librbd_progress_fn_t, void *) noexcept nogil


cdef migration_step(migration_step_fn step, ioctx, image_name, on_progress, str what):
    """Run one of the execute/commit/abort steps on the migration of `image_name`, with progress."""
    cdef rados_ioctx_t io = ioctx_handle(ioctx)
    cdef bytes name_bytes = cstr(image_name, "image_name")
    cdef const char *c_name = name_bytes
    cdef _ProgressCallback progress = _ProgressCallback(on_progress)
    cdef librbd_progress_fn_t fn = progress.c_function()
    cdef void *arg = progress.c_arg()
    cdef int ret
    with nogil:
        ret = step(io, c_name, fn, arg)
    if ret < 0:
        raise make_ex(ret, "error %s migration of image %s" % (what, image_label(image_name)))


class RBD:  # part of rbd.RBD (tools/assemble.py joins the parts)
    """RBD methods that move an image live to another pool, name or layout, or import it from another source."""

    def migration_prepare(self, ioctx, image_name, dest_ioctx, dest_image_name, features=None, order=None,
                          stripe_unit=None, stripe_count=None, data_pool=None, clone_format=None, flatten=False):
        """Start migrating image `image_name` to `dest_image_name` in the pool of `dest_ioctx`.

        The keywords set the destination's layout (None: as the source); `flatten` makes a clone independent of
        its parent. Then call migration_execute and migration_commit (or migration_abort). The source goes to the
        trash (source 'MIGRATION') and clients use the destination at once.

        Upstream's module has `clone_format` and `flatten` from librbd 1.18; this one takes them with librbd 1.16
        too. From librbd 1.18 the flatten option is always handed to librbd (0 or 1), as upstream; with 1.16 only
        when `flatten` is true.

        :param ioctx: the pool (and namespace) of the source image
        :type ioctx: rados.Ioctx
        :param image_name: the source image's name
        :type image_name: str or bytes
        :param dest_ioctx: the pool (and namespace) of the destination; may be `ioctx`
        :type dest_ioctx: rados.Ioctx
        :param dest_image_name: the destination image's name
        :type dest_image_name: str or bytes
        :param features: RBD_FEATURE_* bits of the destination (None: the source's)
        :type features: int or None
        :param order: log2 of the destination's object size (None: the source's)
        :type order: int or None
        :param stripe_unit: the destination's stripe unit in bytes (None: the source's)
        :type stripe_unit: int or None
        :param stripe_count: the destination's stripe count (None: the source's)
        :type stripe_count: int or None
        :param data_pool: the name of a pool for the destination's data (None: the source's)
        :type data_pool: str or None
        :param clone_format: the clone format (1 or 2) of a destination that is a clone (None: librbd's choice)
        :type clone_format: int or None
        :param flatten: copy the parent's data so that the destination is no longer a clone
        :type flatten: bool
        :rtype: None
        :raises ImageNotFound: there is no image `image_name`
        :raises ImageExists: an image `dest_image_name` already exists in the destination pool
        :raises ImageBusy: a client holds an advisory lock on the source (librbd would wait forever for its
            exclusive lock)
        :raises ArgumentOutOfRange: `order` is out of librbd's range
        :raises TypeError: `ioctx` or `dest_ioctx` is not a rados.Ioctx, or a layout option is not an int
        :raises OverflowError: a layout option is negative or not below ``2**64``
        :raises InvalidArgument: an ioctx is closed, a name or `data_pool` is not str or bytes or holds a NUL byte,
            or librbd refuses the layout
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef rados_ioctx_t dest_io = ioctx_handle(dest_ioctx)
        cdef bytes name_bytes = cstr(image_name, "image_name")
        cdef bytes dest_bytes = cstr(dest_image_name, "dest_image_name")
        cdef const char *c_name = name_bytes
        cdef const char *c_dest = dest_bytes
        cdef _CreationOptions options = build_image_options(format=None, features=features, order=order,
                                                        stripe_unit=stripe_unit, stripe_count=stripe_count,
                                                        data_pool=data_pool, clone_format=clone_format,
                                                        flatten=flatten)
        cdef int ret
        # Preparing takes the source's exclusive lock: under an advisory lock librbd would wait for it forever.
        refuse_if_advisory_locked(io, name_bytes, None, "prepare its migration")
        with nogil:
            ret = rbd_migration_prepare(io, c_name, dest_io, c_dest, options.handle)
        if ret < 0:
            raise make_ex(ret, "error preparing migration of image %s to %s"
                          % (image_label(image_name), image_label(dest_image_name)))

    def migration_prepare_import(self, source_spec, dest_ioctx, dest_image_name, features=None, order=None,
                                 stripe_unit=None, stripe_count=None, data_pool=None):
        """Start importing into new image `dest_image_name` from the source described by `source_spec`.

        `source_spec` is librbd's JSON source spec as a str, or a dict (serialised for you), e.g.
        {"type": "raw", "stream": {"type": "file", "file_path": "/path/disk.img"}}. Then call
        migration_execute and migration_commit (or migration_abort) on the destination. The destination can be
        read at once.

        :param source_spec: the source, as JSON text or as a dict serialisable to JSON
        :type source_spec: str or bytes or dict
        :param dest_ioctx: the pool (and namespace) of the new image
        :type dest_ioctx: rados.Ioctx
        :param dest_image_name: the new image's name
        :type dest_image_name: str or bytes
        :param features: RBD_FEATURE_* bits of the new image (None: the client's default)
        :type features: int or None
        :param order: log2 of the new image's object size (None: the default)
        :type order: int or None
        :param stripe_unit: stripe unit in bytes (None: the default)
        :type stripe_unit: int or None
        :param stripe_count: stripe count (None: the default)
        :type stripe_count: int or None
        :param data_pool: the name of a pool for the new image's data (None: `dest_ioctx`'s pool)
        :type data_pool: str or None
        :rtype: None
        :raises OSError: `source_spec` is not valid JSON (errno EBADMSG)
        :raises ImageNotFound: the source does not exist (e.g. a missing file)
        :raises ImageExists: an image `dest_image_name` already exists
        :raises InvalidArgument: librbd refuses the spec or the layout, `dest_ioctx` is closed, or `source_spec`,
            `dest_image_name` or `data_pool` is not of the types above or holds a NUL byte
        :raises TypeError: `dest_ioctx` is not a rados.Ioctx, a layout option is not an int, or a dict `source_spec`
            holds something JSON cannot serialise
        :raises OverflowError: a layout option is negative or not below ``2**64``
        """
        if isinstance(source_spec, dict):
            import json
            source_spec = json.dumps(source_spec)
        cdef bytes spec_bytes = cstr(source_spec, "source_spec")
        cdef rados_ioctx_t dest_io = ioctx_handle(dest_ioctx)
        cdef bytes dest_bytes = cstr(dest_image_name, "dest_image_name")
        cdef const char *c_spec = spec_bytes
        cdef const char *c_dest = dest_bytes
        cdef _CreationOptions options = build_image_options(format=None, features=features, order=order,
                                                        stripe_unit=stripe_unit, stripe_count=stripe_count,
                                                        data_pool=data_pool)
        cdef int ret
        with nogil:
            ret = rbd_migration_prepare_import(c_spec, dest_io, c_dest, options.handle)
        if ret < 0:
            raise make_ex(ret, "error preparing import into image %s" % (dest_image_name,))

    def migration_execute(self, ioctx, image_name, on_progress=None):
        """Copy the data of the migration of `image_name` (either side's name) to the destination.

        `on_progress(offset, total)` is called as data is copied; librbd goes on whatever it returns (an exception
        it raises is reported through sys.unraisablehook).

        :param ioctx: the pool (and namespace) of the source or the destination image
        :type ioctx: rados.Ioctx
        :param image_name: the source's or the destination's name
        :type image_name: str or bytes
        :param on_progress: called as `on_progress(offset, total)` while librbd works; None: no calls
        :type on_progress: callable or None
        :rtype: None
        :raises ImageNotFound: there is no image `image_name`
        :raises InvalidArgument: the image is not being migrated, `ioctx` is closed, or `image_name` is not str or
            bytes or holds a NUL byte
        :raises TypeError: `ioctx` is not a rados.Ioctx, or `on_progress` is neither callable nor None
        """
        migration_step(rbd_migration_execute_with_progress, ioctx, image_name, on_progress, "executing")

    def migration_commit(self, ioctx, image_name, on_progress=None):
        """Finish the executed migration of `image_name`: the source is deleted.

        `on_progress(offset, total)` follows the source's deletion; a non-zero return value cancels that deletion
        (OperationCanceled: the migration is committed, the source stays in the trash). An exception it raises is
        reported through sys.unraisablehook.

        :param ioctx: the pool (and namespace) of the source or the destination image
        :type ioctx: rados.Ioctx
        :param image_name: the source's or the destination's name
        :type image_name: str or bytes
        :param on_progress: called as `on_progress(offset, total)` while librbd works; None: no calls
        :type on_progress: callable or None
        :rtype: None
        :raises ImageNotFound: there is no image `image_name`
        :raises InvalidArgument: the image is not being migrated, or migration_execute has not finished; or `ioctx`
            is closed, or `image_name` is not str or bytes or holds a NUL byte
        :raises OperationCanceled: `on_progress` returned a non-zero value
        :raises TypeError: `ioctx` is not a rados.Ioctx, or `on_progress` is neither callable nor None
        """
        migration_step(rbd_migration_commit_with_progress, ioctx, image_name, on_progress, "committing")

    def migration_abort(self, ioctx, image_name, on_progress=None):
        """Cancel the migration of `image_name`: the destination is deleted and the source restored.

        What was written to the destination meanwhile is kept in the restored source. `on_progress(offset, total)`
        follows the deletion; a non-zero return value makes it fail with OperationCanceled before the source is
        restored (aborting again finishes). An exception it raises is reported through sys.unraisablehook.

        :param ioctx: the pool (and namespace) of the source or the destination image
        :type ioctx: rados.Ioctx
        :param image_name: the source's or the destination's name
        :type image_name: str or bytes
        :param on_progress: called as `on_progress(offset, total)` while librbd works; None: no calls
        :type on_progress: callable or None
        :rtype: None
        :raises ImageNotFound: there is no image `image_name`
        :raises InvalidArgument: the image is not being migrated, `ioctx` is closed, or `image_name` is not str or
            bytes or holds a NUL byte
        :raises OperationCanceled: `on_progress` returned a non-zero value
        :raises TypeError: `ioctx` is not a rados.Ioctx, or `on_progress` is neither callable nor None
        """
        migration_step(rbd_migration_abort_with_progress, ioctx, image_name, on_progress, "aborting")

    def migration_status(self, ioctx, image_name):
        """The state of the migration of `image_name` (either side's name).

        A dict with source_pool_id, source_pool_namespace, source_image_name, source_image_id, dest_pool_id,
        dest_pool_namespace, dest_image_name, dest_image_id, state (RBD_IMAGE_MIGRATION_STATE_*) and
        state_description. For an import the source pool id is -1 and the source names are empty. `dest_pool_id` is
        the destination's pool (upstream's module reports the source's there).

        :param ioctx: the pool (and namespace) of the source or the destination image
        :type ioctx: rados.Ioctx
        :param image_name: the source's or the destination's name
        :type image_name: str or bytes
        :returns: the migration's state
        :rtype: dict
        :raises ImageNotFound: there is no image `image_name`
        :raises InvalidArgument: the image is not being migrated, `ioctx` is closed, or `image_name` is not str or
            bytes or holds a NUL byte
        :raises TypeError: `ioctx` is not a rados.Ioctx
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes name_bytes = cstr(image_name, "image_name")
        cdef const char *c_name = name_bytes
        cdef rbd_image_migration_status_t status
        cdef int ret
        memset(&status, 0, sizeof(status))
        with nogil:
            ret = rbd_migration_status(io, c_name, &status, sizeof(status))
        if ret < 0:
            raise make_ex(ret, "error getting migration status of image %s" % (image_label(image_name),))
        try:
            return {
                "source_pool_id": status.source_pool_id,
                "source_pool_namespace": decode_c(status.source_pool_namespace),
                "source_image_name": decode_c(status.source_image_name),
                "source_image_id": decode_c(status.source_image_id),
                "dest_pool_id": status.dest_pool_id,
                "dest_pool_namespace": decode_c(status.dest_pool_namespace),
                "dest_image_name": decode_c(status.dest_image_name),
                "dest_image_id": decode_c(status.dest_image_id),
                "state": <int>status.state,
                "state_description": decode_c(status.state_description),
            }
        finally:
            rbd_migration_status_cleanup(&status)
