# librbd calls newer than 1.16, looked up in the loaded librbd when the module is imported (librbd_symbol:
# helpers/releases.pxi). A pointer is NULL when the library lacks the call; the flags of releases.pxi, which
# follow the same symbols, keep the API that needs it away (absent, or behaving as the release without it).
# Each pointer is named late_<C name>; the C declarations are in c_rbd.pxd (its librbd_later.h block) for the API
# table and the header check.

from posix.uio cimport iovec


cdef object missing_librbd_call(str name):
    """The exception for an API whose librbd call the running library lacks."""
    cdef int major = 0, minor = 0, extra = 0
    rbd_version(&major, &minor, &extra)
    return FunctionNotSupported("the librbd in use (%d.%d.%d) lacks %s, which this API needs: update librbd1"
                                % (major, minor, extra, name), errno=errno.ENOSYS)


ctypedef int (*_diff_iterate3_fn)(rbd_image_t, uint64_t, uint64_t, uint64_t, uint32_t, rbd_diff_iterate_cb_t,
                                  void *) noexcept nogil
cdef _diff_iterate3_fn late_rbd_diff_iterate3 = <_diff_iterate3_fn>librbd_symbol("rbd_diff_iterate3")

ctypedef ssize_t (*_aio_compare_and_writev_fn)(rbd_image_t, uint64_t, const iovec *, int, const iovec *, int,
                                               rbd_completion_t, uint64_t *, int) noexcept nogil
cdef _aio_compare_and_writev_fn late_rbd_aio_compare_and_writev = \
    <_aio_compare_and_writev_fn>librbd_symbol("rbd_aio_compare_and_writev")

ctypedef int (*_encryption_load2_fn)(rbd_image_t, const rbd_encryption_spec_t *, size_t) noexcept nogil
cdef _encryption_load2_fn late_rbd_encryption_load2 = \
    <_encryption_load2_fn>librbd_symbol("rbd_encryption_load2")

ctypedef int (*_clone4_fn)(rados_ioctx_t, const char *, uint64_t, rados_ioctx_t, const char *,
                           rbd_image_options_t) noexcept nogil
cdef _clone4_fn late_rbd_clone4 = <_clone4_fn>librbd_symbol("rbd_clone4")

ctypedef int (*_remote_namespace_set_fn)(rados_ioctx_t, const char *) noexcept nogil
cdef fill_fn late_rbd_mirror_remote_namespace_get = \
    <fill_fn>librbd_symbol("rbd_mirror_remote_namespace_get")
cdef _remote_namespace_set_fn late_rbd_mirror_remote_namespace_set = \
    <_remote_namespace_set_fn>librbd_symbol("rbd_mirror_remote_namespace_set")

ctypedef int (*_trash_namespace2_fn)(rbd_image_t, uint64_t, rbd_snap_trash_namespace_t *,
                                     size_t) noexcept nogil
ctypedef int (*_trash_namespace_cleanup_fn)(rbd_snap_trash_namespace_t *, size_t) noexcept nogil
cdef _trash_namespace2_fn late_rbd_snap_get_trash_namespace2 = \
    <_trash_namespace2_fn>librbd_symbol("rbd_snap_get_trash_namespace2")
cdef _trash_namespace_cleanup_fn late_rbd_snap_trash_namespace_cleanup = \
    <_trash_namespace_cleanup_fn>librbd_symbol("rbd_snap_trash_namespace_cleanup")

cdef fill_key_fn late_rbd_group_get_id = <fill_key_fn>librbd_symbol("rbd_group_get_id")

ctypedef int (*_group_snap_list2_fn)(rados_ioctx_t, const char *, rbd_group_snap_info2_t *,
                                     size_t *) noexcept nogil
ctypedef void (*_group_snap_list2_cleanup_fn)(rbd_group_snap_info2_t *, size_t) noexcept nogil
ctypedef int (*_group_snap_get_info_fn)(rados_ioctx_t, const char *, const char *,
                                        rbd_group_snap_info2_t *) noexcept nogil
ctypedef void (*_group_snap_get_info_cleanup_fn)(rbd_group_snap_info2_t *) noexcept nogil
cdef _group_snap_list2_fn late_rbd_group_snap_list2 = \
    <_group_snap_list2_fn>librbd_symbol("rbd_group_snap_list2")
cdef _group_snap_list2_cleanup_fn late_rbd_group_snap_list2_cleanup = \
    <_group_snap_list2_cleanup_fn>librbd_symbol("rbd_group_snap_list2_cleanup")
cdef _group_snap_get_info_fn late_rbd_group_snap_get_info = \
    <_group_snap_get_info_fn>librbd_symbol("rbd_group_snap_get_info")
cdef _group_snap_get_info_cleanup_fn late_rbd_group_snap_get_info_cleanup = \
    <_group_snap_get_info_cleanup_fn>librbd_symbol("rbd_group_snap_get_info_cleanup")
