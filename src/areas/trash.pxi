# Trash: move, get, list (TrashIterator), remove, purge, restore.
#
# Entries are dicts {id, name, source, deletion_time, deferment_end_time}; times are datetimes in UTC (aware from
# librbd 1.20, naive before, as upstream) and `source` is the name of the RBD_TRASH_IMAGE_SOURCE_* value.
# Upstream's TrashIterator knew only USER and MIRRORING and raised IndexError on other sources (e.g. the source
# image of a migration); every source maps here.

# Taken once at import (see helpers/interpreters.pxi).
cdef object _mktime = time.mktime
cdef object _time_now = time.time

cdef dict _TRASH_SOURCES = {
    RBD_TRASH_IMAGE_SOURCE_USER: "USER",
    RBD_TRASH_IMAGE_SOURCE_MIRRORING: "MIRRORING",
    RBD_TRASH_IMAGE_SOURCE_MIGRATION: "MIGRATION",
    RBD_TRASH_IMAGE_SOURCE_REMOVING: "REMOVING",
    RBD_TRASH_IMAGE_SOURCE_USER_PARENT: "USER_PARENT",
}


cdef object _timegm(object utc):
    """Seconds since the epoch of a UTC datetime, naive or aware."""
    from datetime import timezone   # the calling interpreter's (utc_timestamp, areas/image.pxi)
    return int(utc.replace(tzinfo=timezone.utc).timestamp())


cdef dict trash_entry(rbd_trash_image_info_t *info):
    """The Python dict of one trash entry. A source this build does not know is returned as its number."""
    return {
        "id": decode_c(info.id),
        "name": decode_c(info.name),
        "source": _TRASH_SOURCES.get(<int>info.source, <int>info.source),
        "deletion_time": utc_timestamp(info.deletion_time),
        "deferment_end_time": utc_timestamp(info.deferment_end_time),
    }


class RBD:  # part of rbd.RBD (tools/assemble.py joins the parts)
    """RBD methods that move images to the trash, list, restore and delete them."""

    def trash_move(self, ioctx, name, delay=0):
        """Move image `name` to the trash; it cannot be removed from there for `delay` seconds (unless forced).

        ImageBusy while the image is locked with an advisory lock (librbd would wait forever for its exclusive
        lock).

        :param ioctx: the pool (and namespace) of the image
        :type ioctx: rados.Ioctx
        :param name: the image's name
        :type name: str or bytes
        :param delay: seconds during which trash_remove refuses the image without `force` (0: none)
        :type delay: int
        :rtype: None
        :raises ImageNotFound: there is no image `name`
        :raises ImageBusy: the image is locked with an advisory lock (or librbd reports it busy)
        :raises TypeError: `ioctx` is not a rados.Ioctx, or `delay` is not an int
        :raises OverflowError: `delay` is negative or not below ``2**64``
        :raises InvalidArgument: `ioctx` is closed, or `name` is not str or bytes or holds a NUL byte
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_name = name_bytes
        cdef uint64_t c_delay = delay
        cdef int ret
        refuse_if_advisory_locked(io, name_bytes, None, "move it to the trash")
        with nogil:
            ret = rbd_trash_move(io, c_name, c_delay)
        if ret < 0:
            raise make_ex(ret, "error moving image %s to trash" % (image_label(name),))

    def trash_get(self, ioctx, image_id):
        """The trash entry of `image_id`.

        A dict {id, name, source, deletion_time, deferment_end_time}: `id` and `name` are str, `source` the name of the
        RBD_TRASH_IMAGE_SOURCE_* value ('USER', 'MIRRORING', 'MIGRATION', 'REMOVING' or 'USER_PARENT'; a source
        this build does not know stays a number), and the times are datetimes in UTC: naive before librbd 1.20,
        aware from librbd 1.20 (as upstream).

        :param ioctx: the pool (and namespace) whose trash holds the image
        :type ioctx: rados.Ioctx
        :param image_id: the image's id (as Image.id gives it, or as trash_list lists it)
        :type image_id: str or bytes
        :returns: the entry
        :rtype: dict
        :raises ImageNotFound: the trash holds no image `image_id`
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, or `image_id` is not str or bytes or holds a NUL byte
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes id_bytes = cstr(image_id, "image_id")
        cdef const char *c_id = id_bytes
        cdef rbd_trash_image_info_t info
        cdef int ret
        memset(&info, 0, sizeof(info))
        with nogil:
            ret = rbd_trash_get(io, c_id, &info)
        if ret < 0:
            raise make_ex(ret, "error retrieving image %s from trash" % (image_label(image_id),))
        try:
            return trash_entry(&info)
        finally:
            rbd_trash_get_cleanup(&info)

    def trash_list(self, ioctx):
        """The trash entries of the pool (and namespace) of `ioctx`, as a TrashIterator (the list is read now).

        Each entry is a dict {id, name, source, deletion_time, deferment_end_time}, as trash_get gives it. Every
        source is named here; upstream's module raised IndexError on sources other than USER and MIRRORING.

        :param ioctx: the pool (and namespace) whose trash to list
        :type ioctx: rados.Ioctx
        :returns: an iterator over the entries
        :rtype: TrashIterator
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed
        """
        return TrashIterator(ioctx)

    def trash_remove(self, ioctx, image_id, force=False, on_progress=None):
        """Delete image `image_id` from the trash for good.

        Before its deferment ends this raises PermissionError, unless `force`. `on_progress(offset, total)` is
        called as data is removed; a non-zero return value cancels the removal (an exception it raises is reported
        through sys.unraisablehook). ImageBusy while the
        image is locked with an advisory lock (librbd would wait forever for its exclusive lock).

        :param ioctx: the pool (and namespace) whose trash holds the image
        :type ioctx: rados.Ioctx
        :param image_id: the image's id
        :type image_id: str or bytes
        :param force: delete it even before its deferment ends
        :type force: bool
        :param on_progress: called as `on_progress(offset, total)` while the data is removed; None: no calls
        :type on_progress: callable or None
        :rtype: None
        :raises ImageNotFound: the trash holds no image `image_id`
        :raises PermissionError: the deferment has not ended and `force` is false
        :raises ImageBusy: the image is locked with an advisory lock, is still open, or is being restored
        :raises ImageHasSnapshots: the image still has snapshots
        :raises OperationCanceled: `on_progress` returned a non-zero value
        :raises TypeError: `ioctx` is not a rados.Ioctx, or `on_progress` is neither callable nor None
        :raises InvalidArgument: `ioctx` is closed, or `image_id` is not str or bytes or holds a NUL byte
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes id_bytes = cstr(image_id, "image_id")
        cdef const char *c_id = id_bytes
        cdef c_bool c_force = bool(force)
        refuse_if_advisory_locked(io, None, id_bytes, "remove it")
        cdef _ProgressCallback progress = _ProgressCallback(on_progress)
        cdef librbd_progress_fn_t fn = progress.c_function()
        cdef void *arg = progress.c_arg()
        cdef int ret
        with nogil:
            ret = rbd_trash_remove_with_progress(io, c_id, c_force, fn, arg)
        if ret < 0:
            raise make_ex(ret, "error deleting image %s from trash" % (image_label(image_id),))

    def trash_purge(self, ioctx, expire_ts=None, threshold=-1):
        """Delete the trashed images whose deferment ended by `expire_ts` (a datetime; None: now).

        As upstream, `expire_ts` is converted with time.mktime(expire_ts.timetuple()), i.e. a naive datetime is
        read as local time. `threshold` (0..1) makes librbd delete images until the pool is below that fraction
        of its capacity; -1 disables it. librbd only purges images moved to the trash by a user (source 'USER'),
        and stops at the first image it cannot delete.

        ImageBusy, and nothing deleted, while one of the images it could delete (deferment ended by `expire_ts`;
        with a threshold, any) is locked with an advisory lock: librbd would wait forever for its exclusive lock.

        :param ioctx: the pool (and namespace) whose trash to purge
        :type ioctx: rados.Ioctx
        :param expire_ts: delete the images whose deferment ended by then (None: now)
        :type expire_ts: datetime.datetime or None
        :param threshold: a fraction of the pool's capacity (0 to 1) to bring its usage below; -1: none
        :type threshold: float
        :rtype: None
        :raises ImageBusy: an image it could delete is locked with an advisory lock, or is still open elsewhere
        :raises ImageHasSnapshots: an image due for deletion still has snapshots
        :raises TypeError: `ioctx` is not a rados.Ioctx, `expire_ts` is not a datetime or None, or `threshold` is
            not a number
        :raises InvalidArgument: `ioctx` is closed, or `threshold` is neither -1 nor between 0 and 1
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef time_t c_expire = 0
        if expire_ts is not None:
            if not isinstance(expire_ts, datetime):
                raise TypeError("expire_ts must be a datetime or None, not %s" % type(expire_ts).__name__)
            c_expire = <time_t>int(_mktime(expire_ts.timetuple()))
        cdef float c_threshold = threshold
        cdef int ret
        cdef time_t limit = c_expire if expire_ts is not None else <time_t>int(_time_now())
        for entry in TrashIterator(ioctx):
            if c_threshold < 0 and _timegm(entry["deferment_end_time"]) > limit:
                continue  # not due: librbd leaves it alone
            refuse_if_advisory_locked(io, None, entry["id"].encode(), "remove it")
        with nogil:
            ret = rbd_trash_purge(io, c_expire, c_threshold)
        if ret < 0:
            raise make_ex(ret, "error purging images from trash")

    def trash_restore(self, ioctx, image_id, name):
        """Bring image `image_id` back from the trash under the name `name`.

        :param ioctx: the pool (and namespace) whose trash holds the image
        :type ioctx: rados.Ioctx
        :param image_id: the image's id
        :type image_id: str or bytes
        :param name: the name the restored image gets
        :type name: str or bytes
        :rtype: None
        :raises ImageNotFound: the trash holds no image `image_id`
        :raises ImageExists: another image is already called `name`
        :raises ImageBusy: the image is being deleted from the trash
        :raises InvalidArgument: librbd does not restore entries of that source (e.g. the source of a migration),
            `ioctx` is closed, or `image_id` or `name` is not str or bytes or holds a NUL byte
        :raises TypeError: `ioctx` is not a rados.Ioctx
        """
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes id_bytes = cstr(image_id, "image_id")
        cdef bytes name_bytes = cstr(name, "name")
        cdef const char *c_id = id_bytes
        cdef const char *c_name = name_bytes
        cdef int ret
        with nogil:
            ret = rbd_trash_restore(io, c_id, c_name)
        if ret < 0:
            raise make_ex(ret, "error restoring image %s from trash as %s" % (image_label(image_id), image_label(name)))


cdef class TrashIterator:
    """TrashIterator(ioctx)
--

    Iterates over the trash entries of a pool, {id, name, source, deletion_time, deferment_end_time}; the list is
    fetched when the iterator is created.
    """
    cdef object ioctx
    cdef list entries

    def __init__(self, ioctx):
        cdef size_t i
        cdef _Listed found = list_growing(<list_call>rbd_trash_list, ioctx_handle(ioctx),
                                          sizeof(rbd_trash_image_info_t), 64)
        self.ioctx = ioctx
        if found.ret < 0:
            raise make_ex(found.ret, "error listing trash entries")
        cdef rbd_trash_image_info_t *entries = <rbd_trash_image_info_t *>found.items
        try:
            self.entries = [trash_entry(&entries[i]) for i in range(found.count)]
        finally:
            rbd_trash_list_cleanup(entries, found.count)

    def __iter__(self):
        return iter_entries(self, self.entries)
