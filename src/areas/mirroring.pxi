# Mirroring: pool mode, site name, peers, bootstrap tokens and image status lists (RBD); per-image enable,
# disable, promote, demote, resync, mirror snapshots, info, mode and status (Image).
#
# The pool-wide image lists are paged: librbd hands out at most `max_read` entries per call, starting after a
# given image id. Each page is turned into Python objects as soon as it arrives and its C arrays are freed right
# away, so no C memory outlives a call and nothing breaks when an iterator is used from two threads. The paged
# iterators keep their Ioctx object alive (upstream keeps only its raw handle) and check that it is still open
# before each page.

cdef size_t MAX_MIRROR_PAGE_SIZE = 1 << 20


cdef void *zero_alloc(size_t count, size_t size) except NULL:
    """`count * size` zeroed bytes (at least one), or MemoryError; the caller frees them."""
    if size != 0 and count > (<size_t>-1) // size:
        raise MemoryError("cannot allocate %d entries of %d bytes" % (count, size))
    cdef size_t total = max(count * size, <size_t>1)
    cdef void *mem = malloc(total)
    if mem == NULL:
        raise MemoryError("cannot allocate %d bytes" % total)
    memset(mem, 0, total)
    return mem


cdef dict mirror_image_info_dict(rbd_mirror_image_info_t *info, bint with_primary):
    """{'global_id', 'state'[, 'primary']} for an rbd_mirror_image_info_t."""
    result = {
        "global_id": decode_c(info.global_id),
        "state": <int>info.state,
    }
    if with_primary:
        result["primary"] = <bint>info.primary
    return result


cdef dict mirror_global_status_dict(rbd_mirror_image_global_status_t *status, str image_id, bint with_primary):
    """Upstream's status dict: name, id, info, remote_statuses (sites with a mirror uuid), and the local site's
    state, description, last_update and up merged at the top level (when librbd reports a local status)."""
    cdef rbd_mirror_image_site_status_t *site
    cdef uint32_t i
    local_status = None
    remote_statuses = []
    for i in range(status.site_statuses_count):
        site = &status.site_statuses[i]
        site_status = {
            "state": <int>site.state,
            "description": decode_c(site.description),
            "last_update": utc_timestamp(site.last_update),
            "up": <bint>site.up,
        }
        mirror_uuid = decode_c(site.mirror_uuid)
        if not mirror_uuid:
            local_status = site_status
        else:
            site_status["mirror_uuid"] = mirror_uuid
            remote_statuses.append(site_status)
    result = {
        "name": decode_c(status.name),
        "id": image_id,
        "info": mirror_image_info_dict(&status.info, with_primary),
        "remote_statuses": remote_statuses,
    }
    if local_status is not None:
        result.update(local_status)
    return result


cdef size_t mirror_page_size(object max_read) except 0:
    cdef size_t size
    try:
        size = max_read
    except (OverflowError, TypeError):
        raise InvalidArgument("max_read must be an integer from 1 to %d, not %r"
                              % (MAX_MIRROR_PAGE_SIZE, max_read)) from None
    if size < 1 or size > MAX_MIRROR_PAGE_SIZE:
        raise InvalidArgument("max_read must be an integer from 1 to %d, not %r" % (MAX_MIRROR_PAGE_SIZE, max_read))
    return size


cdef class Image:  # part of rbd.Image (tools/assemble.py joins the parts)

    def mirror_image_enable(self, mode=RBD_MIRROR_IMAGE_MODE_JOURNAL):
        """Enable mirroring of this image in `mode` (RBD_MIRROR_IMAGE_MODE_JOURNAL or _SNAPSHOT).

        The pool must be in RBD_MIRROR_MODE_IMAGE mode (else InvalidArgument). Journal mode uses the journaling
        feature (librbd turns it on if missing, and off again when mirroring is disabled). Enabling again in the
        same mode does nothing; in the other mode it raises InvalidArgument. Snapshot mode takes a first mirror
        snapshot.

        Waits first for this handle's calls and aio still in flight (librbd can abort the process when a mirroring
        change races with them).

        :param mode: RBD_MIRROR_IMAGE_MODE_JOURNAL or RBD_MIRROR_IMAGE_MODE_SNAPSHOT
        :type mode: int
        :rtype: None
        :raises InvalidArgument: the pool is not in image mirror mode, the image is mirrored in the other mode, or
            the image is closed
        :raises ImageNotFound: `mode` is not a mirror image mode (librbd's answer)
        :raises TypeError: `mode` is not an int
        :raises OverflowError: `mode` is negative or too large
        :raises ImageBusy: called from a progress or diff_iterate callback of a call still running on this image
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef rbd_mirror_image_mode_t c_mode = mode
        cdef int ret
        self._settle()
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_mirror_image_enable2(image, c_mode)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error enabling mirroring for image %s" % (image_label(self.name),))

    def mirror_image_disable(self, force):
        """Disable mirroring of this image; `force` also disables it on a non-primary image.

        Disabling an image that is not mirrored does nothing. Snapshot mode's mirror snapshots are removed.

        Waits first for this handle's calls and aio still in flight (librbd can abort the process when a mirroring
        change races with them).

        :param force: disable it even though the image is not primary
        :type force: bool
        :rtype: None
        :raises InvalidArgument: the pool's mirroring is disabled or in pool mode (images are not disabled one by
            one there), the image is not primary and `force` is false, or the image is closed
        :raises ImageBusy: called from a progress or diff_iterate callback of a call still running on this image
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef c_bool c_force = bool(force)
        cdef int ret
        self._settle()
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_mirror_image_disable(image, c_force)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error disabling mirroring for image %s" % (image_label(self.name),))

    def mirror_image_promote(self, force):
        """Make this mirrored image primary; `force` promotes even if the peer could not be demoted.

        Raises InvalidArgument if it already is primary; ImageNotFound if it is not mirrored (from librbd 1.20:
        InvalidArgument).

        Waits first for this handle's calls and aio still in flight (librbd can abort the process when a mirroring
        change races with them).

        :param force: promote even though the remote image was not demoted (or cannot be reached)
        :type force: bool
        :rtype: None
        :raises InvalidArgument: the image is primary already, or it is closed (from librbd 1.20 also: it is not
            mirrored)
        :raises ImageNotFound: the image is not mirrored (before librbd 1.20)
        :raises ImageBusy: without `force`, a remote site's image is primary or its demotion has not reached this
            site yet; or called from a progress or diff_iterate callback of a call still running on this image
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef c_bool c_force = bool(force)
        cdef int ret
        self._settle()
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_mirror_image_promote(image, c_force)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error promoting image %s to primary" % (image_label(self.name),))

    def mirror_image_demote(self):
        """Make this primary mirrored image non-primary (read-only). Not primary: InvalidArgument.

        Writes then raise ReadOnlyImage until the image is promoted again.

        Waits first for this handle's calls and aio still in flight (librbd can abort the process when a mirroring
        change races with them).

        :rtype: None
        :raises InvalidArgument: the image is not mirrored or not primary, or it is closed
        :raises ImageBusy: called from a progress or diff_iterate callback of a call still running on this image
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef int ret
        self._settle()
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_mirror_image_demote(image)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error demoting image %s to secondary" % (image_label(self.name),))

    def mirror_image_resync(self):
        """Flag this non-primary image for a full resync from the primary (primary: InvalidArgument).

        rbd-mirror then replaces the image's data with the primary's.

        Waits first for this handle's calls and aio still in flight (librbd can abort the process when a mirroring
        change races with them).

        :rtype: None
        :raises InvalidArgument: the image is primary, or it is closed (from librbd 1.20 also: it is not mirrored)
        :raises ImageNotFound: the image is not mirrored (before librbd 1.20)
        :raises ImageBusy: called from a progress or diff_iterate callback of a call still running on this image
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef int ret
        self._settle()
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_mirror_image_resync(image)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error to resync image %s" % (image_label(self.name),))

    def mirror_image_create_snapshot(self, flags=0):
        """Create a mirror snapshot of this snapshot-mirrored primary image and return its snapshot id.

        `flags` takes RBD_SNAP_CREATE_SKIP_QUIESCE / _IGNORE_QUIESCE_ERROR. librbd raises InvalidArgument when
        the image is not snapshot-mirrored, not primary, or the pool has no peer to send to.

        :param flags: RBD_SNAP_CREATE_* bits (0: none)
        :type flags: int
        :returns: the id of the new mirror snapshot
        :rtype: int
        :raises InvalidArgument: the image is not mirrored in snapshot mode or not primary, the pool has no peer,
            `flags` holds unknown bits, or the image is closed
        :raises TypeError: `flags` is not an int
        :raises OverflowError: `flags` is negative or not below ``2**32``
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef uint32_t c_flags = flags
        cdef uint64_t snap_id = 0
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_mirror_image_create_snapshot2(image, c_flags, &snap_id)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error creating mirror snapshot for image %s" % (image_label(self.name),))
        return snap_id

    def mirror_image_get_info(self):
        """The image's mirroring info: {'global_id': str, 'state': RBD_MIRROR_IMAGE_*, 'primary': bool}.

        For an image that is not mirrored: global_id '', state RBD_MIRROR_IMAGE_DISABLED and primary False.

        :returns: the info
        :rtype: dict
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef rbd_mirror_image_info_t info
        cdef int ret
        memset(&info, 0, sizeof(info))
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_mirror_image_get_info(image, &info, sizeof(info))
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting mirror info for image %s" % (image_label(self.name),))
        try:
            return mirror_image_info_dict(&info, True)
        finally:
            rbd_mirror_image_get_info_cleanup(&info)

    def mirror_image_get_mode(self):
        """The image's mirror mode: RBD_MIRROR_IMAGE_MODE_JOURNAL or _SNAPSHOT.

        For an image that is not mirrored: RBD_MIRROR_IMAGE_MODE_JOURNAL before librbd 1.20, InvalidArgument from
        librbd 1.20.

        :returns: the mode
        :rtype: int
        :raises InvalidArgument: the image is closed (from librbd 1.20 also: it is not mirrored)
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef rbd_mirror_image_mode_t mode = RBD_MIRROR_IMAGE_MODE_JOURNAL
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_mirror_image_get_mode(image, &mode)
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting mirror mode for image %s" % (image_label(self.name),))
        return <int>mode

    def mirror_image_get_status(self):
        """The image's mirroring status as a dict.

        Keys: name, id, info ({global_id, state, primary}), remote_statuses (a list of {state, description,
        last_update, up, mirror_uuid} per remote site), and the local site's state (MIRROR_IMAGE_STATUS_STATE_*),
        description, last_update and up when the local site reported one. The last_update times are UTC
        datetimes: naive before librbd 1.20, aware from librbd 1.20. Without an rbd-mirror daemon the local state
        is MIRROR_IMAGE_STATUS_STATE_UNKNOWN ('status not found').

        :returns: the status
        :rtype: dict
        :raises InvalidArgument: the image is closed
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef rbd_mirror_image_global_status_t status
        cdef int ret
        memset(&status, 0, sizeof(status))
        cdef rbd_image_t image = self._begin_call()
        with nogil:
            ret = rbd_mirror_image_get_global_status(image, &status, sizeof(status))
        self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting mirror status for image %s" % (image_label(self.name),))
        try:
            image_id = self.id()
            return mirror_global_status_dict(&status, image_id, True)
        finally:
            rbd_mirror_image_global_status_cleanup(&status)

    def mirror_image_get_instance_id(self):
        """The id of the rbd-mirror instance replaying this image.

        Not mirrored: InvalidArgument; mirrored but no rbd-mirror daemon has claimed it: ImageNotFound.

        :returns: the instance id
        :rtype: str
        :raises InvalidArgument: the image is not mirrored, or it is closed
        :raises ImageNotFound: no rbd-mirror daemon has claimed the image
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef int ret
        cdef rbd_image_t image = self._begin_call()
        try:
            filled = fill_growing(<fill_fn>rbd_mirror_image_get_instance_id, image, 32, &ret)
        finally:
            self._end_call()
        if ret < 0:
            raise make_ex(ret, "error getting mirror instance id for image %s" % (image_label(self.name),))
        return first_c_string(filled)


class RBD:  # part of rbd.RBD (tools/assemble.py joins the parts)
    """RBD methods for pool mirroring: mode, site name, peers, bootstrap tokens and image status lists."""

    def mirror_site_name_get(self, rados):
        """The local site name used for mirroring (the cluster fsid unless set); takes a rados.Rados.

        :param rados: the connected cluster
        :type rados: rados.Rados
        :returns: the site name
        :rtype: str
        :raises TypeError: `rados` is not a rados.Rados (e.g. an Ioctx)
        :raises InvalidArgument: `rados` is not connected
        """
        cdef rados_t cluster = rados_handle(rados)
        cdef int ret
        filled = fill_growing(<fill_fn>rbd_mirror_site_name_get, cluster, 512, &ret)
        if ret < 0:
            raise make_ex(ret, "error retrieving site name")
        return first_c_string(filled)

    def mirror_site_name_set(self, rados, site_name):
        """Set the cluster-wide local mirroring site name ('' restores the default, the fsid).

        :param rados: the connected cluster
        :type rados: rados.Rados
        :param site_name: the new site name ('' for the default)
        :type site_name: str or bytes
        :rtype: None
        :raises TypeError: `rados` is not a rados.Rados
        :raises InvalidArgument: `rados` is not connected, or `site_name` is not str or bytes or holds a NUL byte
        """
        cdef rados_t cluster = rados_handle(rados)
        cdef bytes name_bytes = cstr(site_name, "site_name")
        cdef const char *c_name = name_bytes
        cdef int ret
        with nogil:
            ret = rbd_mirror_site_name_set(cluster, c_name)
        if ret < 0:
            raise make_ex(ret, "error setting mirror site name")

    def mirror_mode_get(self, ioctx):
        """The pool's mirror mode: RBD_MIRROR_MODE_DISABLED, _IMAGE or _POOL.

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :returns: the mode
        :rtype: int
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef rbd_mirror_mode_t mode = RBD_MIRROR_MODE_DISABLED
        cdef int ret
        with nogil:
            ret = rbd_mirror_mode_get(io, &mode)
        if ret < 0:
            raise make_ex(ret, "error getting mirror mode")
        return <int>mode

    def mirror_mode_set(self, ioctx, mirror_mode):
        """Set the pool's mirror mode (RBD_MIRROR_MODE_*).

        Disabling fails with ImageBusy while peers exist and InvalidArgument while images are mirrored. Each time
        mirroring is enabled the pool gets a new mirror uuid.

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :param mirror_mode: RBD_MIRROR_MODE_DISABLED, RBD_MIRROR_MODE_IMAGE or RBD_MIRROR_MODE_POOL
        :type mirror_mode: int
        :rtype: None
        :raises ImageBusy: disabling while the pool has peers
        :raises InvalidArgument: disabling while images are mirrored, an unknown mode, or `ioctx` is closed
        :raises TypeError: `ioctx` is not a rados.Ioctx, or `mirror_mode` is not an int
        :raises OverflowError: `mirror_mode` is negative or too large
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef rbd_mirror_mode_t mode = mirror_mode
        cdef int ret
        with nogil:
            ret = rbd_mirror_mode_set(io, mode)
        if ret < 0:
            raise make_ex(ret, "error setting mirror mode")

    def mirror_remote_namespace_get(self, ioctx):
        """The namespace of the remote pool that the namespace of `ioctx` mirrors to.

        By default its own name ('' for the default namespace). Needs librbd 1.20 (Ceph 20.2) or newer.

        :param ioctx: the pool and namespace
        :type ioctx: rados.Ioctx
        :returns: the remote namespace
        :rtype: str
        :raises FunctionNotSupported: the librbd in use is older than the one the module was built for and lacks
            the call
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef int ret
        if late_rbd_mirror_remote_namespace_get == NULL:
            raise missing_librbd_call("rbd_mirror_remote_namespace_get")
        filled = fill_growing(late_rbd_mirror_remote_namespace_get, io, 512, &ret)
        if ret < 0:
            raise make_ex(ret, "error retrieving remote namespace")
        return first_c_string(filled)

    def mirror_remote_namespace_set(self, ioctx, remote_namespace):
        """Mirror the namespace of `ioctx` to `remote_namespace` of the remote pool.

        Only while mirroring is disabled there (or RBD_MIRROR_MODE_INIT_ONLY on the default namespace), else
        InvalidArgument; disabling mirroring resets it. Needs librbd 1.20 (Ceph 20.2) or newer.

        :param ioctx: the pool and namespace
        :type ioctx: rados.Ioctx
        :param remote_namespace: the remote namespace's name
        :type remote_namespace: str or bytes
        :rtype: None
        :raises InvalidArgument: mirroring of the namespace is not disabled (nor in init-only mode), `ioctx` is
            closed, or `remote_namespace` is not str or bytes or holds a NUL byte
        :raises FunctionNotSupported: the librbd in use is older than the one the module was built for and lacks
            the call
        :raises TypeError: `ioctx` is not a rados.Ioctx
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes namespace_bytes = cstr(remote_namespace, "remote_namespace")
        cdef const char *c_namespace = namespace_bytes
        cdef int ret
        if late_rbd_mirror_remote_namespace_set == NULL:
            raise missing_librbd_call("rbd_mirror_remote_namespace_set")
        with nogil:
            ret = late_rbd_mirror_remote_namespace_set(io, c_namespace)
        if ret < 0:
            raise make_ex(ret, "error setting remote namespace")

    def mirror_uuid_get(self, ioctx):
        """The pool's mirror uuid (ImageNotFound while mirroring is disabled).

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :returns: the uuid
        :rtype: str
        :raises ImageNotFound: mirroring is disabled on the pool
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef int ret
        filled = fill_growing(<fill_fn>rbd_mirror_uuid_get, io, 512, &ret)
        if ret < 0:
            raise make_ex(ret, "error retrieving mirror uuid")
        return first_c_string(filled)

    def mirror_peer_bootstrap_create(self, ioctx):
        """A bootstrap token (str) for a peer cluster to import.

        It is base64 JSON with fsid, client_id, key and mon_host. Mirroring must be enabled on the pool.

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :returns: the token
        :rtype: str
        :raises InvalidArgument: mirroring is disabled on the pool, or `ioctx` is closed
        :raises TypeError: `ioctx` is not a rados.Ioctx
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef int ret
        filled = fill_growing(<fill_fn>rbd_mirror_peer_bootstrap_create, io, 512, &ret)
        if ret < 0:
            raise make_ex(ret, "error creating bootstrap token")
        return first_c_string(filled)

    def mirror_peer_bootstrap_import(self, ioctx, direction, token):
        """Add the peer described by a bootstrap `token` from another cluster (RBD_MIRROR_PEER_DIRECTION_*).

        A malformed token, or one from this same cluster, raises InvalidArgument.

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :param direction: RBD_MIRROR_PEER_DIRECTION_RX or RBD_MIRROR_PEER_DIRECTION_RX_TX
        :type direction: int
        :param token: the token mirror_peer_bootstrap_create gave on the other cluster
        :type token: str or bytes
        :rtype: None
        :raises InvalidArgument: the token is malformed or comes from this cluster, `direction` is not valid,
            `ioctx` is closed, or `token` is not str or bytes or holds a NUL byte
        :raises TypeError: `ioctx` is not a rados.Ioctx, or `direction` is not an int
        :raises OverflowError: `direction` is negative or too large
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef rbd_mirror_peer_direction_t c_direction = direction
        cdef bytes token_bytes = cstr(token, "token")
        cdef const char *c_token = token_bytes
        cdef int ret
        with nogil:
            ret = rbd_mirror_peer_bootstrap_import(io, c_direction, c_token)
        if ret < 0:
            raise make_ex(ret, "error importing bootstrap token")

    def mirror_peer_add(self, ioctx, site_name, client_name, direction=RBD_MIRROR_PEER_DIRECTION_RX_TX):
        """Add a mirroring peer `site_name` reached as `client_name`; returns its uuid.

        The direction is RX or RX_TX (TX alone: InvalidArgument); a site name already used raises ImageExists.

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :param site_name: the peer site's name
        :type site_name: str or bytes
        :param client_name: the client the peer is reached as, e.g. 'client.rbd-mirror-peer'
        :type client_name: str or bytes
        :param direction: RBD_MIRROR_PEER_DIRECTION_RX or RBD_MIRROR_PEER_DIRECTION_RX_TX
        :type direction: int
        :returns: the new peer's uuid
        :rtype: str
        :raises ImageExists: a peer with `site_name` exists already
        :raises InvalidArgument: mirroring is disabled on the pool, `direction` is TX or not valid, `ioctx` is
            closed, or a name is not str or bytes or holds a NUL byte
        :raises TypeError: `ioctx` is not a rados.Ioctx, or `direction` is not an int
        :raises OverflowError: `direction` is negative or too large
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes site_bytes = cstr(site_name, "site_name")
        cdef bytes client_bytes = cstr(client_name, "client_name")
        cdef const char *c_site = site_bytes
        cdef const char *c_client = client_bytes
        cdef rbd_mirror_peer_direction_t c_direction = direction
        cdef char uuid[512]
        cdef int ret
        memset(uuid, 0, sizeof(uuid))
        with nogil:
            ret = rbd_mirror_peer_site_add(io, uuid, sizeof(uuid), c_direction, c_site, c_client)
        if ret < 0:
            raise make_ex(ret, "error adding mirror peer")
        return decode_c(uuid)

    def mirror_peer_remove(self, ioctx, uuid):
        """Remove the peer with `uuid` (an unknown uuid is not an error).

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :param uuid: the peer's uuid
        :type uuid: str or bytes
        :rtype: None
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or `uuid` is not str or bytes or holds a NUL byte
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes uuid_bytes = cstr(uuid, "uuid")
        cdef const char *c_uuid = uuid_bytes
        cdef int ret
        with nogil:
            ret = rbd_mirror_peer_site_remove(io, c_uuid)
        if ret < 0:
            raise make_ex(ret, "error removing mirror peer")

    def mirror_peer_list(self, ioctx):
        """The pool's mirroring peers, as a MirrorPeerIterator (the list is read now).

        Each peer is a dict: uuid, direction, site_name, cluster_name (the same as site_name), mirror_uuid and
        client_name.

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :returns: an iterator over the peers
        :rtype: MirrorPeerIterator
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed
        """
        return MirrorPeerIterator(ioctx)

    def mirror_peer_set_client(self, ioctx, uuid, client_name):
        """Set the client name used to reach peer `uuid` (unknown uuid: ImageNotFound).

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :param uuid: the peer's uuid
        :type uuid: str or bytes
        :param client_name: the new client name
        :type client_name: str or bytes
        :rtype: None
        :raises ImageNotFound: there is no peer `uuid`
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or `uuid` or `client_name` is not str or bytes or holds a NUL
            byte
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes uuid_bytes = cstr(uuid, "uuid")
        cdef bytes client_bytes = cstr(client_name, "client_name")
        cdef const char *c_uuid = uuid_bytes
        cdef const char *c_client = client_bytes
        cdef int ret
        with nogil:
            ret = rbd_mirror_peer_site_set_client_name(io, c_uuid, c_client)
        if ret < 0:
            raise make_ex(ret, "error setting mirror peer client name")

    def mirror_peer_set_name(self, ioctx, uuid, site_name):
        """Rename peer `uuid` to `site_name` (unknown uuid: ImageNotFound; name in use: ImageExists).

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :param uuid: the peer's uuid
        :type uuid: str or bytes
        :param site_name: the new site name
        :type site_name: str or bytes
        :rtype: None
        :raises ImageNotFound: there is no peer `uuid`
        :raises ImageExists: another peer is called `site_name`
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or `uuid` or `site_name` is not str or bytes or holds a NUL byte
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes uuid_bytes = cstr(uuid, "uuid")
        cdef bytes site_bytes = cstr(site_name, "site_name")
        cdef const char *c_uuid = uuid_bytes
        cdef const char *c_site = site_bytes
        cdef int ret
        with nogil:
            ret = rbd_mirror_peer_site_set_name(io, c_uuid, c_site)
        if ret < 0:
            raise make_ex(ret, "error setting mirror peer site name")

    def mirror_peer_set_cluster(self, ioctx, uuid, cluster_name):
        """Old name of mirror_peer_set_name: rename peer `uuid` to `cluster_name`.

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :param uuid: the peer's uuid
        :type uuid: str or bytes
        :param cluster_name: the new site name
        :type cluster_name: str or bytes
        :rtype: None
        :raises ImageNotFound: there is no peer `uuid`
        :raises ImageExists: another peer is called `cluster_name`
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or `uuid` or `cluster_name` is not str or bytes or holds a NUL
            byte
        """
        self.mirror_peer_set_name(ioctx, uuid, cluster_name)

    def mirror_peer_get_attributes(self, ioctx, uuid):
        """The peer's attributes as a dict of str, e.g. {'mon_host': ..., 'key': ...}.

        ImageNotFound when the peer does not exist or has never had attributes set.

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :param uuid: the peer's uuid
        :type uuid: str or bytes
        :returns: the attributes (RBD_MIRROR_PEER_ATTRIBUTE_NAME_MON_HOST, _KEY, ...)
        :rtype: dict
        :raises ImageNotFound: there is no peer `uuid`, or it has no attributes
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or `uuid` is not str or bytes or holds a NUL byte
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes uuid_bytes = cstr(uuid, "uuid")
        cdef const char *c_uuid = uuid_bytes
        cdef size_t keys_size = 512
        cdef size_t vals_size = 512
        cdef size_t keys_asked, vals_asked
        cdef size_t count = 0
        cdef char *keys = NULL
        cdef char *vals = NULL
        cdef int ret
        try:
            while True:
                free(keys)
                free(vals)
                keys = vals = NULL
                keys = <char *>zero_alloc(keys_size, 1)
                vals = <char *>zero_alloc(vals_size, 1)
                keys_asked, vals_asked = keys_size, vals_size
                with nogil:
                    ret = rbd_mirror_peer_site_get_attributes(io, c_uuid, keys, &keys_size, vals, &vals_size,
                                                              &count)
                if ret != -C_ERANGE:
                    break
                # Grow whatever librbd asked for; double both if it did not say.
                if keys_size <= keys_asked and vals_size <= vals_asked:
                    keys_size, vals_size = keys_asked * 2, vals_asked * 2
                keys_size = max(keys_size, keys_asked)
                vals_size = max(vals_size, vals_asked)
                if keys_size > MAX_FILL_SIZE or vals_size > MAX_FILL_SIZE:
                    raise MemoryError("librbd asked for too large a buffer for peer attributes")
            if ret < 0:
                raise make_ex(ret, "error getting mirror peer attributes")
            names = keys[:min(keys_size, keys_asked)].split(b"\0")[:count]
            values = vals[:min(vals_size, vals_asked)].split(b"\0")[:count]
            return {decode_cstr(k): decode_cstr(v) for k, v in zip(names, values)}
        finally:
            free(keys)
            free(vals)

    def mirror_peer_set_attributes(self, ioctx, uuid, attributes):
        """Replace the attributes of peer `uuid` with the dict `attributes` of str (an empty dict clears them).

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :param uuid: the peer's uuid
        :type uuid: str or bytes
        :param attributes: the attributes, e.g. {RBD_MIRROR_PEER_ATTRIBUTE_NAME_MON_HOST: ..., ..._KEY: ...}
        :type attributes: dict
        :rtype: None
        :raises ImageNotFound: there is no peer `uuid`
        :raises TypeError: `ioctx` is not a rados.Ioctx, or `attributes` is not a dict
        :raises InvalidArgument: `ioctx` is closed, or `uuid` or a key or value of `attributes` is not str or bytes
            or holds a NUL byte
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes uuid_bytes = cstr(uuid, "uuid")
        if not isinstance(attributes, dict):
            raise TypeError("attributes must be a dict of str, not %s" % type(attributes).__name__)
        items = list(attributes.items())
        cdef bytes keys_bytes = b"\0".join([cstr(key, "key") for key, _ in items])
        cdef bytes vals_bytes = b"\0".join([cstr(value, "value") for _, value in items])
        cdef const char *c_uuid = uuid_bytes
        cdef const char *c_keys = keys_bytes
        cdef const char *c_vals = vals_bytes
        cdef size_t count = len(items)
        cdef int ret
        with nogil:
            ret = rbd_mirror_peer_site_set_attributes(io, c_uuid, c_keys, c_vals, count)
        if ret < 0:
            raise make_ex(ret, "error setting mirror peer attributes")

    def mirror_image_status_list(self, ioctx):
        """The status dicts of the pool's mirrored images, as a MirrorImageStatusIterator (1024 per page).

        Each dict is shaped as Image.mirror_image_get_status gives it, except that `info` has no 'primary'. The
        first page is read now.

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :returns: an iterator over the status dicts
        :rtype: MirrorImageStatusIterator
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed
        """
        return MirrorImageStatusIterator(ioctx)

    def mirror_image_status_summary(self, ioctx):
        """[(MIRROR_IMAGE_STATUS_STATE_*, number of mirrored images in that state), ...] for the pool.

        States no image is in are left out ([] when nothing is mirrored).

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :returns: (state, count) pairs
        :rtype: list of (int, int)
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef size_t maxlen = 32
        cdef size_t asked
        cdef rbd_mirror_image_status_state_t *states = NULL
        cdef int *counts = NULL
        cdef int ret
        try:
            while True:
                free(states)
                free(counts)
                states = NULL
                counts = NULL
                states = <rbd_mirror_image_status_state_t *>zero_alloc(maxlen, sizeof(states[0]))
                counts = <int *>zero_alloc(maxlen, sizeof(int))
                asked = maxlen
                with nogil:
                    ret = rbd_mirror_image_status_summary(io, states, counts, &maxlen)
                if ret != -C_ERANGE:
                    break
                maxlen = max(maxlen, asked * 2)
                if maxlen > 4096:
                    raise MemoryError("librbd reported too many mirror image states")
            if ret < 0:
                raise make_ex(ret, "error getting mirror image status summary")
            return [(<int>states[i], counts[i]) for i in range(min(maxlen, asked))]
        finally:
            free(states)
            free(counts)

    def mirror_image_instance_id_list(self, ioctx):
        """(image_id, instance_id) of images claimed by rbd-mirror, as a MirrorImageInstanceIdIterator.

        Empty when no rbd-mirror daemon runs. 1024 per page; the first page is read now.

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :returns: an iterator over (image_id, instance_id) pairs of str
        :rtype: MirrorImageInstanceIdIterator
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed
        """
        return MirrorImageInstanceIdIterator(ioctx)

    def mirror_image_info_list(self, ioctx, mode_filter=None):
        """(image_id, {mode, global_id, state, primary}) of mirrored images, as a MirrorImageInfoIterator.

        `mode_filter` (RBD_MIRROR_IMAGE_MODE_*) keeps only images mirrored in that mode; None keeps all (an
        unknown mode matches nothing). 1024 per page; the first page is read now.

        :param ioctx: the pool (and namespace)
        :type ioctx: rados.Ioctx
        :param mode_filter: RBD_MIRROR_IMAGE_MODE_JOURNAL or RBD_MIRROR_IMAGE_MODE_SNAPSHOT; None: all modes
        :type mode_filter: int or None
        :returns: an iterator over (image_id, info dict) pairs
        :rtype: MirrorImageInfoIterator
        :raises TypeError: `ioctx` is not a rados.Ioctx, or `mode_filter` is neither an int nor None
        :raises OverflowError: `mode_filter` is negative or too large
        :raises InvalidArgument: `ioctx` is closed
        """
        return MirrorImageInfoIterator(ioctx, mode_filter)


cdef class MirrorPeerIterator:
    """MirrorPeerIterator(ioctx)
--

Iterates over the pool's mirroring peers as dicts: uuid, direction, site_name, cluster_name (the same
    as site_name, for old callers), mirror_uuid and client_name. The list is fetched when created."""
    cdef list entries

    def __init__(self, ioctx):
        cdef size_t i
        cdef int_count_call call = int_count_call(<int_list_call>rbd_mirror_peer_site_list, ioctx_handle(ioctx))
        cdef _Listed found = list_growing(counting_in_int, &call, sizeof(rbd_mirror_peer_site_t), 10)
        if found.ret < 0:
            raise make_ex(found.ret, "error listing peers")
        cdef rbd_mirror_peer_site_t *peers = <rbd_mirror_peer_site_t *>found.items
        try:
            self.entries = [
                {
                    "uuid": decode_c(peers[i].uuid),
                    "direction": <int>peers[i].direction,
                    "site_name": decode_c(peers[i].site_name),
                    "cluster_name": decode_c(peers[i].site_name),
                    "mirror_uuid": decode_c(peers[i].mirror_uuid),
                    "client_name": decode_c(peers[i].client_name),
                }
                for i in range(found.count)
            ]
        finally:
            rbd_mirror_peer_site_list_cleanup(peers, found.count)

    def __iter__(self):
        return iter_entries(self, self.entries)


cdef class _MirrorPagedIterator:
    """Shared paging of the mirror image lists.

    Iterating yields the current page and fetches the following ones while pages come back full (as upstream).
    Once an iteration has gone past the first page, the next one starts over from the first page (upstream
    would yield only the last page again). `get_next_chunk()` fetches the page after the current one; after an
    empty page it starts over from the beginning.
    """
    cdef object ioctx
    cdef size_t max_read
    cdef bytes next_start
    cdef list entries
    cdef bint rewind

    cdef int _start_paging(self, ioctx, max_read) except -1:
        ioctx_handle(ioctx)
        self.ioctx = ioctx
        self.max_read = mirror_page_size(max_read)
        self.next_start = b""
        self.entries = []
        self.rewind = False
        self._next_chunk()
        return 0

    cdef tuple _fetch(self, rados_ioctx_t io, const char *start):
        """(list of entries, id of the last image or None) for the page after image id `start`."""
        raise NotImplementedError

    cdef int _next_chunk(self) except -1:
        """get_next_chunk() of the public iterators (defined in each, so that each documents it)."""
        if self.ioctx is None:
            raise not_initialised(self)
        cdef rados_ioctx_t io = ioctx_handle(self.ioctx)
        cdef bytes start = self.next_start
        entries, last_id = self._fetch(io, start)
        self.entries = entries
        self.next_start = last_id if entries else b""
        return 0

    def __iter__(self):
        if self.ioctx is None:
            raise not_initialised(self)
        if self.rewind:
            self.rewind = False
            self.next_start = b""
            self._next_chunk()
        moved = False
        while self.entries:
            entries = self.entries
            yield from entries
            if <size_t>len(entries) < self.max_read:
                break
            self._next_chunk()
            moved = True
        if moved:
            self.rewind = True


cdef class MirrorImageStatusIterator(_MirrorPagedIterator):
    """MirrorImageStatusIterator(ioctx, *, max_read=1024)
--

Iterates over the status dicts of the pool's mirrored images, fetched `max_read` at a time.

    Each dict has name, id, info ({global_id, state}), remote_statuses, and the local site's state,
    description, last_update and up merged at the top level (see Image.mirror_image_get_status).
    """

    def __init__(self, ioctx, *, max_read=1024):
        self._start_paging(ioctx, max_read)

    cdef tuple _fetch(self, rados_ioctx_t io, const char *start):
        cdef size_t max_read = self.max_read
        cdef size_t count = 0
        cdef size_t i
        cdef char **image_ids = NULL
        cdef rbd_mirror_image_global_status_t *images = NULL
        cdef int ret
        try:
            image_ids = <char **>zero_alloc(max_read, sizeof(char *))
            images = <rbd_mirror_image_global_status_t *>zero_alloc(max_read, sizeof(images[0]))
            with nogil:
                ret = rbd_mirror_image_global_status_list(io, start, max_read, image_ids, images, &count)
            if ret < 0:
                raise make_ex(ret, "error listing mirror images status")
            try:
                entries = [mirror_global_status_dict(&images[i], decode_c(image_ids[i]), False)
                           for i in range(count)]
                last_id = <bytes>image_ids[count - 1] if count > 0 else None
            finally:
                rbd_mirror_image_global_status_list_cleanup(image_ids, images, count)
            return entries, last_id
        finally:
            free(image_ids)
            free(images)

    def get_next_chunk(self):
        """Fetch the next page of at most `max_read` entries (upstream's paging; iteration calls it for you).

        After an empty page the next call starts over from the first image.

        :rtype: None
        :raises InvalidArgument: the ioctx was closed or its rados.Rados shut down, or the iterator was made without
            running its ``__init__``
        """
        self._next_chunk()


cdef class MirrorImageInstanceIdIterator(_MirrorPagedIterator):
    """MirrorImageInstanceIdIterator(ioctx, *, max_read=1024)
--

Iterates over (image_id, instance_id) for the images an rbd-mirror instance replays, `max_read` at a
    time (empty when no rbd-mirror daemon runs)."""

    def __init__(self, ioctx, *, max_read=1024):
        self._start_paging(ioctx, max_read)

    cdef tuple _fetch(self, rados_ioctx_t io, const char *start):
        cdef size_t max_read = self.max_read
        cdef size_t count = 0
        cdef size_t i
        cdef char **image_ids = NULL
        cdef char **instance_ids = NULL
        cdef int ret
        try:
            image_ids = <char **>zero_alloc(max_read, sizeof(char *))
            instance_ids = <char **>zero_alloc(max_read, sizeof(char *))
            with nogil:
                ret = rbd_mirror_image_instance_id_list(io, start, max_read, image_ids, instance_ids, &count)
            if ret < 0:
                raise make_ex(ret, "error listing mirror images instance ids")
            try:
                entries = [(decode_c(image_ids[i]), decode_c(instance_ids[i])) for i in range(count)]
                last_id = <bytes>image_ids[count - 1] if count > 0 else None
            finally:
                rbd_mirror_image_instance_id_list_cleanup(image_ids, instance_ids, count)
            return entries, last_id
        finally:
            free(image_ids)
            free(instance_ids)

    def get_next_chunk(self):
        """Fetch the next page of at most `max_read` entries (upstream's paging; iteration calls it for you).

        After an empty page the next call starts over from the first image.

        :rtype: None
        :raises InvalidArgument: the ioctx was closed or its rados.Rados shut down, or the iterator was made without
            running its ``__init__``
        """
        self._next_chunk()


cdef class MirrorImageInfoIterator(_MirrorPagedIterator):
    """MirrorImageInfoIterator(ioctx, mode_filter, *, max_read=1024)
--

Iterates over (image_id, {'mode', 'global_id', 'state', 'primary'}) for the pool's mirrored images,
    `max_read` at a time; `mode_filter` (RBD_MIRROR_IMAGE_MODE_*, or None for all) keeps one mode."""
    cdef rbd_mirror_image_mode_t mode_filter
    cdef bint has_filter

    def __init__(self, ioctx, mode_filter, *, max_read=1024):
        self.has_filter = mode_filter is not None
        if self.has_filter:
            self.mode_filter = mode_filter
        self._start_paging(ioctx, max_read)

    cdef tuple _fetch(self, rados_ioctx_t io, const char *start):
        cdef size_t max_read = self.max_read
        cdef size_t count = 0
        cdef size_t i
        cdef rbd_mirror_image_mode_t *c_filter = &self.mode_filter if self.has_filter else NULL
        cdef char **image_ids = NULL
        cdef rbd_mirror_image_mode_t *modes = NULL
        cdef rbd_mirror_image_info_t *infos = NULL
        cdef int ret
        try:
            image_ids = <char **>zero_alloc(max_read, sizeof(char *))
            modes = <rbd_mirror_image_mode_t *>zero_alloc(max_read, sizeof(modes[0]))
            infos = <rbd_mirror_image_info_t *>zero_alloc(max_read, sizeof(infos[0]))
            with nogil:
                ret = rbd_mirror_image_info_list(io, c_filter, start, max_read, image_ids, modes, infos, &count)
            if ret < 0:
                raise make_ex(ret, "error listing mirror image info")
            try:
                entries = []
                for i in range(count):
                    info = mirror_image_info_dict(&infos[i], True)
                    entries.append((decode_c(image_ids[i]), {"mode": <int>modes[i], **info}))
                last_id = <bytes>image_ids[count - 1] if count > 0 else None
            finally:
                rbd_mirror_image_info_list_cleanup(image_ids, infos, count)
            return entries, last_id
        finally:
            free(image_ids)
            free(modes)
            free(infos)

    def get_next_chunk(self):
        """Fetch the next page of at most `max_read` entries (upstream's paging; iteration calls it for you).

        After an empty page the next call starts over from the first image.

        :rtype: None
        :raises InvalidArgument: the ioctx was closed or its rados.Rados shut down, or the iterator was made without
            running its ``__init__``
        """
        self._next_chunk()
