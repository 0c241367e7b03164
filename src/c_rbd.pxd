# Cython declarations for librbd's C API as of Ceph 16.2.15 (LIBRBD 1.16.0), the oldest release the module runs
# with, and, at the end, what 18.2.7 (1.18) and 20.2.4 (1.20) add.
#
# Every module build is the same whatever librbd.h the build host has: the 1.16 calls below are bound when the
# module is imported (tools/bind_calls.py generates librbd_bound.h, which maps each name to a pointer found in the
# loaded librbd.so.1 or librados.so.2), and the newer ones are looked up one by one (helpers/late_calls.pxi). The
# types and constants of newer releases come from the project's own src/librbd_later.h, so a 1.16 header suffices.
#
# Written from /usr/include/rbd/librbd.h and /usr/include/rbd/features.h.
# Declarations follow the order and grouping of the C headers.  Struct
# layouts are taken from the real headers (Cython only needs the field
# names and types we access), so no padding is declared here.
#
# Conventions:
#   * int-valued macros and anonymous enums are declared as `enum:` so they
#     can be used as compile-time constants (e.g. array sizes);
#   * 64-bit feature bit macros (1ULL<<n) are declared `const uint64_t`;
#   * string macros are declared `const char *`;
#   * function-pointer types declared in this `nogil` extern block are
#     `noexcept nogil`: callbacks must be `cdef ... noexcept nogil` (or
#     `noexcept with gil`), since librbd may invoke them from its own threads;
#   * C `bool` (<stdbool.h>, 1 byte) is Cython's libc.stdbool.bool, cimported
#     here under the name `c_bool` so that `from c_rbd cimport *` does not
#     shadow Python's builtin `bool`.  Pass `&flag` with `cdef c_bool flag`
#     (NOT bint/int, which are the wrong size) to the `bool *` out-params;
#   * functions marked CEPH_RBD_DEPRECATED in the header carry a trailing
#     `# deprecated` comment (using them from C triggers
#     -Wdeprecated-declarations).

from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.stddef cimport size_t
from libc.stdbool cimport bool as c_bool   # C99 bool (1 byte); see above
from libc.time cimport time_t, timespec
from posix.uio cimport iovec


# ---------------------------------------------------------------------------
# librados: the few declarations librbd's API needs
# ---------------------------------------------------------------------------

cdef extern from "librbd_bound.h" nogil:   # rados/librados.h, calls bound at import
    const uint64_t LIBRADOS_SNAP_HEAD

    ctypedef void *rados_t
    ctypedef void *rados_ioctx_t

    uint64_t rados_get_instance_id(rados_t cluster)
    int64_t rados_ioctx_get_id(rados_ioctx_t io)
    int rados_ioctx_get_namespace(rados_ioctx_t io, char *buf,
                                  unsigned maxlen)


# ---------------------------------------------------------------------------
# rbd/features.h
# ---------------------------------------------------------------------------

cdef extern from "rbd/features.h":
    const uint64_t RBD_FEATURE_LAYERING
    const uint64_t RBD_FEATURE_STRIPINGV2
    const uint64_t RBD_FEATURE_EXCLUSIVE_LOCK
    const uint64_t RBD_FEATURE_OBJECT_MAP
    const uint64_t RBD_FEATURE_FAST_DIFF
    const uint64_t RBD_FEATURE_DEEP_FLATTEN
    const uint64_t RBD_FEATURE_JOURNALING
    const uint64_t RBD_FEATURE_DATA_POOL
    const uint64_t RBD_FEATURE_OPERATIONS
    const uint64_t RBD_FEATURE_MIGRATING
    const uint64_t RBD_FEATURE_NON_PRIMARY
    const uint64_t RBD_FEATURE_DIRTY_CACHE

    const uint64_t RBD_FEATURES_DEFAULT

    const char *RBD_FEATURE_NAME_LAYERING
    const char *RBD_FEATURE_NAME_STRIPINGV2
    const char *RBD_FEATURE_NAME_EXCLUSIVE_LOCK
    const char *RBD_FEATURE_NAME_OBJECT_MAP
    const char *RBD_FEATURE_NAME_FAST_DIFF
    const char *RBD_FEATURE_NAME_DEEP_FLATTEN
    const char *RBD_FEATURE_NAME_JOURNALING
    const char *RBD_FEATURE_NAME_DATA_POOL
    const char *RBD_FEATURE_NAME_OPERATIONS
    const char *RBD_FEATURE_NAME_MIGRATING
    const char *RBD_FEATURE_NAME_NON_PRIMARY
    const char *RBD_FEATURE_NAME_DIRTY_CACHE

    # features that make an image inaccessible for read or write by
    # clients that don't understand them
    const uint64_t RBD_FEATURES_INCOMPATIBLE
    # features that make an image unwritable by clients that don't
    # understand them
    const uint64_t RBD_FEATURES_RW_INCOMPATIBLE
    const uint64_t RBD_FEATURES_ALL
    # features that may be dynamically enabled or disabled
    const uint64_t RBD_FEATURES_MUTABLE
    const uint64_t RBD_FEATURES_MUTABLE_INTERNAL
    # features that may be dynamically disabled
    const uint64_t RBD_FEATURES_DISABLE_ONLY
    # features that only work when used with a single client using the
    # image for writes
    const uint64_t RBD_FEATURES_SINGLE_CLIENT
    # features that will be implicitly enabled
    const uint64_t RBD_FEATURES_IMPLICIT_ENABLE
    # features that cannot be controlled by the user
    const uint64_t RBD_FEATURES_INTERNAL

    const uint64_t RBD_OPERATION_FEATURE_CLONE_PARENT
    const uint64_t RBD_OPERATION_FEATURE_CLONE_CHILD
    const uint64_t RBD_OPERATION_FEATURE_GROUP
    const uint64_t RBD_OPERATION_FEATURE_SNAP_TRASH

    const char *RBD_OPERATION_FEATURE_NAME_CLONE_PARENT
    const char *RBD_OPERATION_FEATURE_NAME_CLONE_CHILD
    const char *RBD_OPERATION_FEATURE_NAME_GROUP
    const char *RBD_OPERATION_FEATURE_NAME_SNAP_TRASH

    # all valid operation features
    const uint64_t RBD_OPERATION_FEATURES_ALL


# ---------------------------------------------------------------------------
# rbd/librbd.h
# ---------------------------------------------------------------------------

cdef extern from "librbd_bound.h" nogil:   # rbd/librbd.h, calls bound at import

    # --- version ----------------------------------------------------------

    enum:
        LIBRBD_VER_MAJOR
        LIBRBD_VER_MINOR
        LIBRBD_VER_EXTRA

    int LIBRBD_VERSION(int maj, int min, int extra)    # function-like macro

    enum:
        LIBRBD_VERSION_CODE

    enum:
        LIBRBD_SUPPORTS_AIO_FLUSH
        LIBRBD_SUPPORTS_AIO_OPEN
        LIBRBD_SUPPORTS_COMPARE_AND_WRITE
        LIBRBD_SUPPORTS_LOCKING
        LIBRBD_SUPPORTS_INVALIDATE
        LIBRBD_SUPPORTS_IOVEC
        LIBRBD_SUPPORTS_WATCH
        LIBRBD_SUPPORTS_WRITESAME
        LIBRBD_SUPPORTS_WRITE_ZEROES
        LIBRBD_SUPPORTS_ENCRYPTION

    # --- flags, handles, callbacks ----------------------------------------

    enum:
        RBD_FLAG_OBJECT_MAP_INVALID
        RBD_FLAG_FAST_DIFF_INVALID

    const char *RBD_MIRROR_IMAGE_STATUS_LOCAL_MIRROR_UUID

    ctypedef void *rbd_image_t
    ctypedef void *rbd_image_options_t
    ctypedef void *rbd_pool_stats_t

    ctypedef void *rbd_completion_t
    ctypedef void (*rbd_callback_t)(rbd_completion_t cb, void *arg)

    ctypedef int (*librbd_progress_fn_t)(uint64_t offset, uint64_t total,
                                         void *ptr)

    ctypedef void (*rbd_update_callback_t)(void *arg)

    # --- snapshot namespaces, image / snap specs --------------------------

    ctypedef enum rbd_snap_namespace_type_t:
        RBD_SNAP_NAMESPACE_TYPE_USER = 0
        RBD_SNAP_NAMESPACE_TYPE_GROUP = 1
        RBD_SNAP_NAMESPACE_TYPE_TRASH = 2
        RBD_SNAP_NAMESPACE_TYPE_MIRROR = 3

    ctypedef struct rbd_image_spec_t:
        char *id
        char *name

    ctypedef struct rbd_linked_image_spec_t:
        int64_t pool_id
        char *pool_name
        char *pool_namespace
        char *image_id
        char *image_name
        c_bool trash

    ctypedef struct rbd_snap_spec_t:
        uint64_t id
        rbd_snap_namespace_type_t namespace_type
        char *name

    ctypedef struct rbd_snap_info_t:
        uint64_t id
        uint64_t size
        const char *name

    ctypedef struct rbd_child_info_t:
        const char *pool_name
        const char *image_name
        const char *image_id
        c_bool trash

    enum:
        RBD_MAX_IMAGE_NAME_SIZE
        RBD_MAX_BLOCK_NAME_SIZE

    enum:
        RBD_SNAP_CREATE_SKIP_QUIESCE
        RBD_SNAP_CREATE_IGNORE_QUIESCE_ERROR

    enum:
        RBD_SNAP_REMOVE_UNPROTECT
        RBD_SNAP_REMOVE_FLATTEN
        RBD_SNAP_REMOVE_FORCE

    # event socket types for rbd_set_image_notification()
    enum:
        EVENT_TYPE_PIPE = 1
        EVENT_TYPE_EVENTFD = 2

    ctypedef struct rbd_image_info_t:
        uint64_t size
        uint64_t obj_size
        uint64_t num_objs
        int order
        char block_name_prefix[RBD_MAX_BLOCK_NAME_SIZE]     # deprecated
        int64_t parent_pool                                 # deprecated
        char parent_name[RBD_MAX_IMAGE_NAME_SIZE]           # deprecated

    # --- mirroring types --------------------------------------------------

    ctypedef enum rbd_mirror_mode_t:
        RBD_MIRROR_MODE_DISABLED    # mirroring is disabled
        RBD_MIRROR_MODE_IMAGE       # mirroring enabled on a per-image basis
        RBD_MIRROR_MODE_POOL        # mirroring enabled on all journaled images

    ctypedef enum rbd_mirror_peer_direction_t:
        RBD_MIRROR_PEER_DIRECTION_RX = 0
        RBD_MIRROR_PEER_DIRECTION_TX = 1
        RBD_MIRROR_PEER_DIRECTION_RX_TX = 2

    ctypedef struct rbd_mirror_peer_t:                      # deprecated
        char *uuid
        char *cluster_name
        char *client_name

    ctypedef struct rbd_mirror_peer_site_t:
        char *uuid
        rbd_mirror_peer_direction_t direction
        char *site_name
        char *mirror_uuid
        char *client_name
        time_t last_seen

    const char *RBD_MIRROR_PEER_ATTRIBUTE_NAME_MON_HOST
    const char *RBD_MIRROR_PEER_ATTRIBUTE_NAME_KEY

    ctypedef enum rbd_mirror_image_mode_t:
        RBD_MIRROR_IMAGE_MODE_JOURNAL = 0
        RBD_MIRROR_IMAGE_MODE_SNAPSHOT = 1

    ctypedef enum rbd_mirror_image_state_t:
        RBD_MIRROR_IMAGE_DISABLING = 0
        RBD_MIRROR_IMAGE_ENABLED = 1
        RBD_MIRROR_IMAGE_DISABLED = 2

    ctypedef struct rbd_mirror_image_info_t:
        char *global_id
        rbd_mirror_image_state_t state
        c_bool primary

    ctypedef enum rbd_mirror_image_status_state_t:
        MIRROR_IMAGE_STATUS_STATE_UNKNOWN = 0
        MIRROR_IMAGE_STATUS_STATE_ERROR = 1
        MIRROR_IMAGE_STATUS_STATE_SYNCING = 2
        MIRROR_IMAGE_STATUS_STATE_STARTING_REPLAY = 3
        MIRROR_IMAGE_STATUS_STATE_REPLAYING = 4
        MIRROR_IMAGE_STATUS_STATE_STOPPING_REPLAY = 5
        MIRROR_IMAGE_STATUS_STATE_STOPPED = 6

    ctypedef struct rbd_mirror_image_status_t:              # deprecated
        char *name
        rbd_mirror_image_info_t info
        rbd_mirror_image_status_state_t state
        char *description
        time_t last_update
        c_bool up

    ctypedef struct rbd_mirror_image_site_status_t:
        char *mirror_uuid
        rbd_mirror_image_status_state_t state
        char *description
        time_t last_update
        c_bool up

    ctypedef struct rbd_mirror_image_global_status_t:
        char *name
        rbd_mirror_image_info_t info
        uint32_t site_statuses_count
        rbd_mirror_image_site_status_t *site_statuses

    # --- group types ------------------------------------------------------

    ctypedef enum rbd_group_image_state_t:
        RBD_GROUP_IMAGE_STATE_ATTACHED
        RBD_GROUP_IMAGE_STATE_INCOMPLETE

    ctypedef struct rbd_group_image_info_t:
        char *name
        int64_t pool
        rbd_group_image_state_t state

    ctypedef struct rbd_group_info_t:
        char *name
        int64_t pool

    ctypedef enum rbd_group_snap_state_t:
        RBD_GROUP_SNAP_STATE_INCOMPLETE
        RBD_GROUP_SNAP_STATE_COMPLETE

    ctypedef struct rbd_group_snap_info_t:
        char *name
        rbd_group_snap_state_t state


    ctypedef struct rbd_snap_group_namespace_t:
        int64_t group_pool
        char *group_name
        char *group_snap_name

    ctypedef enum rbd_snap_mirror_state_t:
        RBD_SNAP_MIRROR_STATE_PRIMARY
        RBD_SNAP_MIRROR_STATE_PRIMARY_DEMOTED
        RBD_SNAP_MIRROR_STATE_NON_PRIMARY
        RBD_SNAP_MIRROR_STATE_NON_PRIMARY_DEMOTED

    ctypedef struct rbd_snap_mirror_namespace_t:
        rbd_snap_mirror_state_t state
        size_t mirror_peer_uuids_count
        char *mirror_peer_uuids
        c_bool complete
        char *primary_mirror_uuid
        uint64_t primary_snap_id
        uint64_t last_copied_object_number


    ctypedef enum rbd_lock_mode_t:
        RBD_LOCK_MODE_EXCLUSIVE = 0
        RBD_LOCK_MODE_SHARED = 1

    void rbd_version(int *major, int *minor, int *extra)

    # --- image options ----------------------------------------------------

    enum:
        RBD_IMAGE_OPTION_FORMAT = 0
        RBD_IMAGE_OPTION_FEATURES = 1
        RBD_IMAGE_OPTION_ORDER = 2
        RBD_IMAGE_OPTION_STRIPE_UNIT = 3
        RBD_IMAGE_OPTION_STRIPE_COUNT = 4
        RBD_IMAGE_OPTION_JOURNAL_ORDER = 5
        RBD_IMAGE_OPTION_JOURNAL_SPLAY_WIDTH = 6
        RBD_IMAGE_OPTION_JOURNAL_POOL = 7
        RBD_IMAGE_OPTION_FEATURES_SET = 8
        RBD_IMAGE_OPTION_FEATURES_CLEAR = 9
        RBD_IMAGE_OPTION_DATA_POOL = 10
        RBD_IMAGE_OPTION_FLATTEN = 11
        RBD_IMAGE_OPTION_CLONE_FORMAT = 12
        RBD_IMAGE_OPTION_MIRROR_IMAGE_MODE = 13

    ctypedef enum rbd_trash_image_source_t:
        RBD_TRASH_IMAGE_SOURCE_USER = 0
        RBD_TRASH_IMAGE_SOURCE_MIRRORING = 1
        RBD_TRASH_IMAGE_SOURCE_MIGRATION = 2
        RBD_TRASH_IMAGE_SOURCE_REMOVING = 3
        RBD_TRASH_IMAGE_SOURCE_USER_PARENT = 4

    ctypedef struct rbd_trash_image_info_t:
        char *id
        char *name
        rbd_trash_image_source_t source
        time_t deletion_time
        time_t deferment_end_time

    ctypedef struct rbd_image_watcher_t:
        char *addr
        int64_t id
        uint64_t cookie

    ctypedef enum rbd_image_migration_state_t:
        RBD_IMAGE_MIGRATION_STATE_UNKNOWN = -1
        RBD_IMAGE_MIGRATION_STATE_ERROR = 0
        RBD_IMAGE_MIGRATION_STATE_PREPARING = 1
        RBD_IMAGE_MIGRATION_STATE_PREPARED = 2
        RBD_IMAGE_MIGRATION_STATE_EXECUTING = 3
        RBD_IMAGE_MIGRATION_STATE_EXECUTED = 4
        RBD_IMAGE_MIGRATION_STATE_ABORTING = 5

    ctypedef struct rbd_image_migration_status_t:
        int64_t source_pool_id
        char *source_pool_namespace
        char *source_image_name
        char *source_image_id
        int64_t dest_pool_id
        char *dest_pool_namespace
        char *dest_image_name
        char *dest_image_id
        rbd_image_migration_state_t state
        char *state_description

    ctypedef enum rbd_config_source_t:
        RBD_CONFIG_SOURCE_CONFIG = 0
        RBD_CONFIG_SOURCE_POOL = 1
        RBD_CONFIG_SOURCE_IMAGE = 2

    ctypedef struct rbd_config_option_t:
        char *name
        char *value
        rbd_config_source_t source

    ctypedef enum rbd_pool_stat_option_t:
        RBD_POOL_STAT_OPTION_IMAGES
        RBD_POOL_STAT_OPTION_IMAGE_PROVISIONED_BYTES
        RBD_POOL_STAT_OPTION_IMAGE_MAX_PROVISIONED_BYTES
        RBD_POOL_STAT_OPTION_IMAGE_SNAPSHOTS
        RBD_POOL_STAT_OPTION_TRASH_IMAGES
        RBD_POOL_STAT_OPTION_TRASH_PROVISIONED_BYTES
        RBD_POOL_STAT_OPTION_TRASH_MAX_PROVISIONED_BYTES
        RBD_POOL_STAT_OPTION_TRASH_SNAPSHOTS

    # rbd_write_zeroes / rbd_aio_write_zeroes flags
    enum:
        RBD_WRITE_ZEROES_FLAG_THICK_PROVISION   # fully allocated zeroed extent

    # --- encryption types -------------------------------------------------

    ctypedef enum rbd_encryption_format_t:
        RBD_ENCRYPTION_FORMAT_LUKS1 = 0
        RBD_ENCRYPTION_FORMAT_LUKS2 = 1

    ctypedef enum rbd_encryption_algorithm_t:
        RBD_ENCRYPTION_ALGORITHM_AES128 = 0
        RBD_ENCRYPTION_ALGORITHM_AES256 = 1

    ctypedef void *rbd_encryption_options_t

    ctypedef struct rbd_encryption_luks1_format_options_t:
        rbd_encryption_algorithm_t alg
        const char *passphrase
        size_t passphrase_size

    ctypedef struct rbd_encryption_luks2_format_options_t:
        rbd_encryption_algorithm_t alg
        const char *passphrase
        size_t passphrase_size


    # --- image options functions ------------------------------------------

    void rbd_image_options_create(rbd_image_options_t *opts)
    void rbd_image_options_destroy(rbd_image_options_t opts)
    int rbd_image_options_set_string(rbd_image_options_t opts,
                                     int optname, const char *optval)
    int rbd_image_options_set_uint64(rbd_image_options_t opts,
                                     int optname, uint64_t optval)
    int rbd_image_options_get_string(rbd_image_options_t opts,
                                     int optname, char *optval,
                                     size_t maxlen)
    int rbd_image_options_get_uint64(rbd_image_options_t opts,
                                     int optname, uint64_t *optval)
    int rbd_image_options_is_set(rbd_image_options_t opts,
                                 int optname, c_bool *is_set)
    int rbd_image_options_unset(rbd_image_options_t opts, int optname)
    void rbd_image_options_clear(rbd_image_options_t opts)
    int rbd_image_options_is_empty(rbd_image_options_t opts)

    # --- helpers ----------------------------------------------------------

    void rbd_image_spec_cleanup(rbd_image_spec_t *image)
    void rbd_image_spec_list_cleanup(rbd_image_spec_t *images,
                                     size_t num_images)
    void rbd_linked_image_spec_cleanup(rbd_linked_image_spec_t *image)
    void rbd_linked_image_spec_list_cleanup(rbd_linked_image_spec_t *images,
                                            size_t num_images)
    void rbd_snap_spec_cleanup(rbd_snap_spec_t *snap)

    # --- images -----------------------------------------------------------

    int rbd_list(rados_ioctx_t io, char *names, size_t *size)  # deprecated
    int rbd_list2(rados_ioctx_t io, rbd_image_spec_t *images,
                  size_t *max_images)

    int rbd_create(rados_ioctx_t io, const char *name, uint64_t size,
                   int *order)
    int rbd_create2(rados_ioctx_t io, const char *name, uint64_t size,
                    uint64_t features, int *order)
    int rbd_create3(rados_ioctx_t io, const char *name, uint64_t size,
                    uint64_t features, int *order,
                    uint64_t stripe_unit, uint64_t stripe_count)
    int rbd_create4(rados_ioctx_t io, const char *name, uint64_t size,
                    rbd_image_options_t opts)
    int rbd_clone(rados_ioctx_t p_ioctx, const char *p_name,
                  const char *p_snapname, rados_ioctx_t c_ioctx,
                  const char *c_name, uint64_t features, int *c_order)
    int rbd_clone2(rados_ioctx_t p_ioctx, const char *p_name,
                   const char *p_snapname, rados_ioctx_t c_ioctx,
                   const char *c_name, uint64_t features, int *c_order,
                   uint64_t stripe_unit, int stripe_count)
    int rbd_clone3(rados_ioctx_t p_ioctx, const char *p_name,
                   const char *p_snapname, rados_ioctx_t c_ioctx,
                   const char *c_name, rbd_image_options_t c_opts)
    int rbd_remove(rados_ioctx_t io, const char *name)
    int rbd_remove_with_progress(rados_ioctx_t io, const char *name,
                                 librbd_progress_fn_t cb, void *cbdata)
    int rbd_rename(rados_ioctx_t src_io_ctx, const char *srcname,
                   const char *destname)

    # --- trash ------------------------------------------------------------

    int rbd_trash_move(rados_ioctx_t io, const char *name, uint64_t delay)
    int rbd_trash_get(rados_ioctx_t io, const char *id,
                      rbd_trash_image_info_t *info)
    void rbd_trash_get_cleanup(rbd_trash_image_info_t *info)
    int rbd_trash_list(rados_ioctx_t io,
                       rbd_trash_image_info_t *trash_entries,
                       size_t *num_entries)
    void rbd_trash_list_cleanup(rbd_trash_image_info_t *trash_entries,
                                size_t num_entries)
    int rbd_trash_purge(rados_ioctx_t io, time_t expire_ts, float threshold)
    int rbd_trash_purge_with_progress(rados_ioctx_t io, time_t expire_ts,
                                      float threshold,
                                      librbd_progress_fn_t cb, void *cbdata)
    int rbd_trash_remove(rados_ioctx_t io, const char *id, c_bool force)
    int rbd_trash_remove_with_progress(rados_ioctx_t io, const char *id,
                                       c_bool force, librbd_progress_fn_t cb,
                                       void *cbdata)
    int rbd_trash_restore(rados_ioctx_t io, const char *id,
                          const char *name)

    # --- migration --------------------------------------------------------

    int rbd_migration_prepare(rados_ioctx_t ioctx, const char *image_name,
                              rados_ioctx_t dest_ioctx,
                              const char *dest_image_name,
                              rbd_image_options_t opts)
    int rbd_migration_prepare_import(const char *source_spec,
                                     rados_ioctx_t dest_ioctx,
                                     const char *dest_image_name,
                                     rbd_image_options_t opts)
    int rbd_migration_execute(rados_ioctx_t ioctx, const char *image_name)
    int rbd_migration_execute_with_progress(rados_ioctx_t ioctx,
                                            const char *image_name,
                                            librbd_progress_fn_t cb,
                                            void *cbdata)
    int rbd_migration_abort(rados_ioctx_t ioctx, const char *image_name)
    int rbd_migration_abort_with_progress(rados_ioctx_t ioctx,
                                          const char *image_name,
                                          librbd_progress_fn_t cb,
                                          void *cbdata)
    int rbd_migration_commit(rados_ioctx_t ioctx, const char *image_name)
    int rbd_migration_commit_with_progress(rados_ioctx_t ioctx,
                                           const char *image_name,
                                           librbd_progress_fn_t cb,
                                           void *cbdata)
    int rbd_migration_status(rados_ioctx_t ioctx, const char *image_name,
                             rbd_image_migration_status_t *status,
                             size_t status_size)
    void rbd_migration_status_cleanup(rbd_image_migration_status_t *status)

    # --- pool mirroring ---------------------------------------------------

    int rbd_mirror_site_name_get(rados_t cluster, char *name,
                                 size_t *max_len)
    int rbd_mirror_site_name_set(rados_t cluster, const char *name)

    int rbd_mirror_mode_get(rados_ioctx_t io_ctx,
                            rbd_mirror_mode_t *mirror_mode)
    int rbd_mirror_mode_set(rados_ioctx_t io_ctx,
                            rbd_mirror_mode_t mirror_mode)

    int rbd_mirror_uuid_get(rados_ioctx_t io_ctx, char *uuid,
                            size_t *max_len)

    int rbd_mirror_peer_bootstrap_create(rados_ioctx_t io_ctx, char *token,
                                         size_t *max_len)
    int rbd_mirror_peer_bootstrap_import(rados_ioctx_t io_ctx,
                                         rbd_mirror_peer_direction_t direction,
                                         const char *token)

    int rbd_mirror_peer_site_add(rados_ioctx_t io_ctx, char *uuid,
                                 size_t uuid_max_length,
                                 rbd_mirror_peer_direction_t direction,
                                 const char *site_name,
                                 const char *client_name)
    int rbd_mirror_peer_site_set_name(rados_ioctx_t io_ctx, const char *uuid,
                                      const char *site_name)
    int rbd_mirror_peer_site_set_client_name(rados_ioctx_t io_ctx,
                                             const char *uuid,
                                             const char *client_name)
    int rbd_mirror_peer_site_set_direction(rados_ioctx_t io_ctx,
                                           const char *uuid,
                                           rbd_mirror_peer_direction_t direction)
    int rbd_mirror_peer_site_remove(rados_ioctx_t io_ctx, const char *uuid)
    int rbd_mirror_peer_site_list(rados_ioctx_t io_ctx,
                                  rbd_mirror_peer_site_t *peers,
                                  int *max_peers)
    void rbd_mirror_peer_site_list_cleanup(rbd_mirror_peer_site_t *peers,
                                           int max_peers)
    int rbd_mirror_peer_site_get_attributes(rados_ioctx_t p, const char *uuid,
                                            char *keys, size_t *max_key_len,
                                            char *values,
                                            size_t *max_value_len,
                                            size_t *key_value_count)
    int rbd_mirror_peer_site_set_attributes(rados_ioctx_t p, const char *uuid,
                                            const char *keys,
                                            const char *values,
                                            size_t key_value_count)

    int rbd_mirror_image_global_status_list(
        rados_ioctx_t io_ctx, const char *start_id, size_t max,
        char **image_ids, rbd_mirror_image_global_status_t *images,
        size_t *len)
    void rbd_mirror_image_global_status_list_cleanup(
        char **image_ids, rbd_mirror_image_global_status_t *images,
        size_t len)

    # rbd_mirror_peer_ commands are deprecated to rbd_mirror_peer_site_
    # equivalents
    int rbd_mirror_peer_add(rados_ioctx_t io_ctx, char *uuid,
                            size_t uuid_max_length,
                            const char *cluster_name,
                            const char *client_name)               # deprecated
    int rbd_mirror_peer_remove(rados_ioctx_t io_ctx,
                               const char *uuid)                   # deprecated
    int rbd_mirror_peer_list(rados_ioctx_t io_ctx, rbd_mirror_peer_t *peers,
                             int *max_peers)                       # deprecated
    void rbd_mirror_peer_list_cleanup(rbd_mirror_peer_t *peers,
                                      int max_peers)               # deprecated
    int rbd_mirror_peer_set_client(rados_ioctx_t io_ctx, const char *uuid,
                                   const char *client_name)        # deprecated
    int rbd_mirror_peer_set_cluster(rados_ioctx_t io_ctx, const char *uuid,
                                    const char *cluster_name)      # deprecated
    int rbd_mirror_peer_get_attributes(rados_ioctx_t p, const char *uuid,
                                       char *keys, size_t *max_key_len,
                                       char *values, size_t *max_value_len,
                                       size_t *key_value_count)    # deprecated
    int rbd_mirror_peer_set_attributes(rados_ioctx_t p, const char *uuid,
                                       const char *keys, const char *values,
                                       size_t key_value_count)     # deprecated

    # rbd_mirror_image_status_list_ commands are deprecated to
    # rbd_mirror_image_global_status_list_ commands
    int rbd_mirror_image_status_list(rados_ioctx_t io_ctx,
                                     const char *start_id, size_t max,
                                     char **image_ids,
                                     rbd_mirror_image_status_t *images,
                                     size_t *len)                  # deprecated
    void rbd_mirror_image_status_list_cleanup(
        char **image_ids, rbd_mirror_image_status_t *images,
        size_t len)                                                # deprecated

    int rbd_mirror_image_status_summary(
        rados_ioctx_t io_ctx, rbd_mirror_image_status_state_t *states,
        int *counts, size_t *maxlen)

    int rbd_mirror_image_instance_id_list(rados_ioctx_t io_ctx,
                                          const char *start_id, size_t max,
                                          char **image_ids,
                                          char **instance_ids, size_t *len)
    void rbd_mirror_image_instance_id_list_cleanup(char **image_ids,
                                                   char **instance_ids,
                                                   size_t len)
    int rbd_mirror_image_info_list(rados_ioctx_t io_ctx,
                                   rbd_mirror_image_mode_t *mode_filter,
                                   const char *start_id, size_t max,
                                   char **image_ids,
                                   rbd_mirror_image_mode_t *mode_entries,
                                   rbd_mirror_image_info_t *info_entries,
                                   size_t *num_entries)
    void rbd_mirror_image_info_list_cleanup(
        char **image_ids, rbd_mirror_image_info_t *info_entries,
        size_t num_entries)

    # --- pool metadata ----------------------------------------------------

    int rbd_pool_metadata_get(rados_ioctx_t io_ctx, const char *key,
                              char *value, size_t *val_len)
    int rbd_pool_metadata_set(rados_ioctx_t io_ctx, const char *key,
                              const char *value)
    int rbd_pool_metadata_remove(rados_ioctx_t io_ctx, const char *key)
    int rbd_pool_metadata_list(rados_ioctx_t io_ctx, const char *start,
                               uint64_t max, char *keys, size_t *key_len,
                               char *values, size_t *vals_len)

    int rbd_config_pool_list(rados_ioctx_t io_ctx,
                             rbd_config_option_t *options, int *max_options)
    void rbd_config_pool_list_cleanup(rbd_config_option_t *options,
                                      int max_options)

    # --- open / close -----------------------------------------------------

    int rbd_open(rados_ioctx_t io, const char *name, rbd_image_t *image,
                 const char *snap_name)
    int rbd_open_by_id(rados_ioctx_t io, const char *id, rbd_image_t *image,
                       const char *snap_name)

    int rbd_aio_open(rados_ioctx_t io, const char *name, rbd_image_t *image,
                     const char *snap_name, rbd_completion_t c)
    int rbd_aio_open_by_id(rados_ioctx_t io, const char *id,
                           rbd_image_t *image, const char *snap_name,
                           rbd_completion_t c)

    int rbd_open_read_only(rados_ioctx_t io, const char *name,
                           rbd_image_t *image, const char *snap_name)
    int rbd_open_by_id_read_only(rados_ioctx_t io, const char *id,
                                 rbd_image_t *image, const char *snap_name)
    int rbd_aio_open_read_only(rados_ioctx_t io, const char *name,
                               rbd_image_t *image, const char *snap_name,
                               rbd_completion_t c)
    int rbd_aio_open_by_id_read_only(rados_ioctx_t io, const char *id,
                                     rbd_image_t *image,
                                     const char *snap_name,
                                     rbd_completion_t c)
    int rbd_features_to_string(uint64_t features, char *str_features,
                               size_t *size)
    int rbd_features_from_string(const char *str_features,
                                 uint64_t *features)
    int rbd_close(rbd_image_t image)
    int rbd_aio_close(rbd_image_t image, rbd_completion_t c)

    # --- image properties -------------------------------------------------

    int rbd_resize(rbd_image_t image, uint64_t size)
    int rbd_resize2(rbd_image_t image, uint64_t size, c_bool allow_shrink,
                    librbd_progress_fn_t cb, void *cbdata)
    int rbd_resize_with_progress(rbd_image_t image, uint64_t size,
                                 librbd_progress_fn_t cb, void *cbdata)
    int rbd_stat(rbd_image_t image, rbd_image_info_t *info, size_t infosize)
    int rbd_get_old_format(rbd_image_t image, uint8_t *old)
    int rbd_get_size(rbd_image_t image, uint64_t *size)
    int rbd_get_features(rbd_image_t image, uint64_t *features)
    int rbd_update_features(rbd_image_t image, uint64_t features,
                            uint8_t enabled)
    int rbd_get_op_features(rbd_image_t image, uint64_t *op_features)
    int rbd_get_stripe_unit(rbd_image_t image, uint64_t *stripe_unit)
    int rbd_get_stripe_count(rbd_image_t image, uint64_t *stripe_count)

    int rbd_get_create_timestamp(rbd_image_t image, timespec *timestamp)
    int rbd_get_access_timestamp(rbd_image_t image, timespec *timestamp)
    int rbd_get_modify_timestamp(rbd_image_t image, timespec *timestamp)

    int rbd_get_overlap(rbd_image_t image, uint64_t *overlap)
    int rbd_get_name(rbd_image_t image, char *name, size_t *name_len)
    int rbd_get_id(rbd_image_t image, char *id, size_t id_len)
    int rbd_get_block_name_prefix(rbd_image_t image, char *prefix,
                                  size_t prefix_len)
    int64_t rbd_get_data_pool_id(rbd_image_t image)

    int rbd_get_parent_info(rbd_image_t image,
                            char *parent_poolname, size_t ppoolnamelen,
                            char *parent_name, size_t pnamelen,
                            char *parent_snapname,
                            size_t psnapnamelen)                   # deprecated
    int rbd_get_parent_info2(rbd_image_t image,
                             char *parent_poolname, size_t ppoolnamelen,
                             char *parent_name, size_t pnamelen,
                             char *parent_id, size_t pidlen,
                             char *parent_snapname,
                             size_t psnapnamelen)                  # deprecated
    int rbd_get_parent(rbd_image_t image,
                       rbd_linked_image_spec_t *parent_image,
                       rbd_snap_spec_t *parent_snap)

    int rbd_get_migration_source_spec(rbd_image_t image, char *source_spec,
                                      size_t *max_len)

    int rbd_get_flags(rbd_image_t image, uint64_t *flags)
    int rbd_get_group(rbd_image_t image, rbd_group_info_t *group_info,
                      size_t group_info_size)
    int rbd_set_image_notification(rbd_image_t image, int fd, int type)

    # --- exclusive lock feature -------------------------------------------

    int rbd_is_exclusive_lock_owner(rbd_image_t image, int *is_owner)
    int rbd_lock_acquire(rbd_image_t image, rbd_lock_mode_t lock_mode)
    int rbd_lock_release(rbd_image_t image)
    int rbd_lock_get_owners(rbd_image_t image, rbd_lock_mode_t *lock_mode,
                            char **lock_owners, size_t *max_lock_owners)
    void rbd_lock_get_owners_cleanup(char **lock_owners,
                                     size_t lock_owner_count)
    int rbd_lock_break(rbd_image_t image, rbd_lock_mode_t lock_mode,
                       const char *lock_owner)

    # --- object map feature -----------------------------------------------

    int rbd_rebuild_object_map(rbd_image_t image, librbd_progress_fn_t cb,
                               void *cbdata)

    # --- copy -------------------------------------------------------------

    int rbd_copy(rbd_image_t image, rados_ioctx_t dest_io_ctx,
                 const char *destname)
    int rbd_copy2(rbd_image_t src, rbd_image_t dest)
    int rbd_copy3(rbd_image_t src, rados_ioctx_t dest_io_ctx,
                  const char *destname, rbd_image_options_t dest_opts)
    int rbd_copy4(rbd_image_t src, rados_ioctx_t dest_io_ctx,
                  const char *destname, rbd_image_options_t dest_opts,
                  size_t sparse_size)
    int rbd_copy_with_progress(rbd_image_t image, rados_ioctx_t dest_p,
                               const char *destname,
                               librbd_progress_fn_t cb, void *cbdata)
    int rbd_copy_with_progress2(rbd_image_t src, rbd_image_t dest,
                                librbd_progress_fn_t cb, void *cbdata)
    int rbd_copy_with_progress3(rbd_image_t image, rados_ioctx_t dest_p,
                                const char *destname,
                                rbd_image_options_t dest_opts,
                                librbd_progress_fn_t cb, void *cbdata)
    int rbd_copy_with_progress4(rbd_image_t image, rados_ioctx_t dest_p,
                                const char *destname,
                                rbd_image_options_t dest_opts,
                                librbd_progress_fn_t cb, void *cbdata,
                                size_t sparse_size)

    # --- deep copy --------------------------------------------------------

    int rbd_deep_copy(rbd_image_t src, rados_ioctx_t dest_io_ctx,
                      const char *destname, rbd_image_options_t dest_opts)
    int rbd_deep_copy_with_progress(rbd_image_t image,
                                    rados_ioctx_t dest_io_ctx,
                                    const char *destname,
                                    rbd_image_options_t dest_opts,
                                    librbd_progress_fn_t cb, void *cbdata)

    # --- encryption -------------------------------------------------------

    int rbd_encryption_format(rbd_image_t image,
                              rbd_encryption_format_t format,
                              rbd_encryption_options_t opts,
                              size_t opts_size)
    int rbd_encryption_load(rbd_image_t image,
                            rbd_encryption_format_t format,
                            rbd_encryption_options_t opts,
                            size_t opts_size)

    # --- snapshots --------------------------------------------------------

    int rbd_snap_list(rbd_image_t image, rbd_snap_info_t *snaps,
                      int *max_snaps)
    void rbd_snap_list_end(rbd_snap_info_t *snaps)
    int rbd_snap_exists(rbd_image_t image, const char *snapname,
                        c_bool *exists)
    int rbd_snap_create(rbd_image_t image, const char *snapname)
    int rbd_snap_create2(rbd_image_t image, const char *snap_name,
                         uint32_t flags, librbd_progress_fn_t cb,
                         void *cbdata)
    int rbd_snap_remove(rbd_image_t image, const char *snapname)
    int rbd_snap_remove2(rbd_image_t image, const char *snap_name,
                         uint32_t flags, librbd_progress_fn_t cb,
                         void *cbdata)
    int rbd_snap_remove_by_id(rbd_image_t image, uint64_t snap_id)
    int rbd_snap_rollback(rbd_image_t image, const char *snapname)
    int rbd_snap_rollback_with_progress(rbd_image_t image,
                                        const char *snapname,
                                        librbd_progress_fn_t cb,
                                        void *cbdata)
    int rbd_snap_rename(rbd_image_t image, const char *snapname,
                        const char *dstsnapsname)
    int rbd_snap_protect(rbd_image_t image, const char *snap_name)
    int rbd_snap_unprotect(rbd_image_t image, const char *snap_name)
    int rbd_snap_is_protected(rbd_image_t image, const char *snap_name,
                              int *is_protected)
    int rbd_snap_get_limit(rbd_image_t image, uint64_t *limit)
    int rbd_snap_set_limit(rbd_image_t image, uint64_t limit)
    int rbd_snap_get_timestamp(rbd_image_t image, uint64_t snap_id,
                               timespec *timestamp)

    int rbd_snap_set(rbd_image_t image, const char *snapname)
    int rbd_snap_set_by_id(rbd_image_t image, uint64_t snap_id)
    int rbd_snap_get_name(rbd_image_t image, uint64_t snap_id,
                          char *snapname, size_t *name_len)
    int rbd_snap_get_id(rbd_image_t image, const char *snapname,
                        uint64_t *snap_id)

    int rbd_snap_get_namespace_type(rbd_image_t image, uint64_t snap_id,
                                    rbd_snap_namespace_type_t *namespace_type)
    int rbd_snap_get_group_namespace(rbd_image_t image, uint64_t snap_id,
                                     rbd_snap_group_namespace_t *group_snap,
                                     size_t group_snap_size)
    int rbd_snap_group_namespace_cleanup(
        rbd_snap_group_namespace_t *group_snap, size_t group_snap_size)
    int rbd_snap_get_trash_namespace(rbd_image_t image, uint64_t snap_id,
                                     char *original_name, size_t max_length)
    int rbd_snap_get_mirror_namespace(
        rbd_image_t image, uint64_t snap_id,
        rbd_snap_mirror_namespace_t *mirror_snap, size_t mirror_snap_size)
    int rbd_snap_mirror_namespace_cleanup(
        rbd_snap_mirror_namespace_t *mirror_snap, size_t mirror_snap_size)

    # --- flatten / sparsify -----------------------------------------------

    int rbd_flatten(rbd_image_t image)
    int rbd_flatten_with_progress(rbd_image_t image, librbd_progress_fn_t cb,
                                  void *cbdata)

    int rbd_sparsify(rbd_image_t image, size_t sparse_size)
    int rbd_sparsify_with_progress(rbd_image_t image, size_t sparse_size,
                                   librbd_progress_fn_t cb, void *cbdata)

    # --- children ---------------------------------------------------------

    ssize_t rbd_list_children(rbd_image_t image, char *pools,
                              size_t *pools_len, char *images,
                              size_t *images_len)                  # deprecated
    int rbd_list_children2(rbd_image_t image, rbd_child_info_t *children,
                           int *max_children)                      # deprecated
    void rbd_list_child_cleanup(rbd_child_info_t *child)           # deprecated
    void rbd_list_children_cleanup(rbd_child_info_t *children,
                                   size_t num_children)            # deprecated

    int rbd_list_children3(rbd_image_t image,
                           rbd_linked_image_spec_t *images,
                           size_t *max_images)
    int rbd_list_descendants(rbd_image_t image,
                             rbd_linked_image_spec_t *images,
                             size_t *max_images)

    # --- advisory locking -------------------------------------------------

    ssize_t rbd_list_lockers(rbd_image_t image, int *exclusive,
                             char *tag, size_t *tag_len,
                             char *clients, size_t *clients_len,
                             char *cookies, size_t *cookies_len,
                             char *addrs, size_t *addrs_len)
    int rbd_lock_exclusive(rbd_image_t image, const char *cookie)
    int rbd_lock_shared(rbd_image_t image, const char *cookie,
                        const char *tag)
    int rbd_unlock(rbd_image_t image, const char *cookie)
    int rbd_break_lock(rbd_image_t image, const char *client,
                       const char *cookie)

    # --- I/O --------------------------------------------------------------

    ssize_t rbd_read(rbd_image_t image, uint64_t ofs, size_t len, char *buf)
    # op_flags: see librados.h constants beginning with LIBRADOS_OP_FLAG
    ssize_t rbd_read2(rbd_image_t image, uint64_t ofs, size_t len,
                      char *buf, int op_flags)
    # DEPRECATED (by comment only, not CEPH_RBD_DEPRECATED);
    # use rbd_read_iterate2
    int64_t rbd_read_iterate(rbd_image_t image, uint64_t ofs, size_t len,
                             int (*cb)(uint64_t, size_t, const char *, void *),
                             void *arg)
    int rbd_read_iterate2(rbd_image_t image, uint64_t ofs, uint64_t len,
                          int (*cb)(uint64_t, size_t, const char *, void *),
                          void *arg)
    int rbd_diff_iterate(rbd_image_t image, const char *fromsnapname,
                         uint64_t ofs, uint64_t len,
                         int (*cb)(uint64_t, size_t, int, void *),
                         void *arg)
    int rbd_diff_iterate2(rbd_image_t image, const char *fromsnapname,
                          uint64_t ofs, uint64_t len,
                          uint8_t include_parent, uint8_t whole_object,
                          int (*cb)(uint64_t, size_t, int, void *),
                          void *arg)
    ssize_t rbd_write(rbd_image_t image, uint64_t ofs, size_t len,
                      const char *buf)
    # op_flags: see librados.h constants beginning with LIBRADOS_OP_FLAG
    ssize_t rbd_write2(rbd_image_t image, uint64_t ofs, size_t len,
                       const char *buf, int op_flags)
    int rbd_discard(rbd_image_t image, uint64_t ofs, uint64_t len)
    ssize_t rbd_writesame(rbd_image_t image, uint64_t ofs, size_t len,
                          const char *buf, size_t data_len, int op_flags)
    ssize_t rbd_write_zeroes(rbd_image_t image, uint64_t ofs, size_t len,
                             int zero_flags, int op_flags)
    ssize_t rbd_compare_and_write(rbd_image_t image, uint64_t ofs,
                                  size_t len, const char *cmp_buf,
                                  const char *buf, uint64_t *mismatch_off,
                                  int op_flags)

    int rbd_aio_write(rbd_image_t image, uint64_t off, size_t len,
                      const char *buf, rbd_completion_t c)
    # op_flags: see librados.h constants beginning with LIBRADOS_OP_FLAG
    int rbd_aio_write2(rbd_image_t image, uint64_t off, size_t len,
                       const char *buf, rbd_completion_t c, int op_flags)
    int rbd_aio_writev(rbd_image_t image, const iovec *iov, int iovcnt,
                       uint64_t off, rbd_completion_t c)
    int rbd_aio_read(rbd_image_t image, uint64_t off, size_t len, char *buf,
                     rbd_completion_t c)
    # op_flags: see librados.h constants beginning with LIBRADOS_OP_FLAG
    int rbd_aio_read2(rbd_image_t image, uint64_t off, size_t len,
                      char *buf, rbd_completion_t c, int op_flags)
    int rbd_aio_readv(rbd_image_t image, const iovec *iov, int iovcnt,
                      uint64_t off, rbd_completion_t c)
    int rbd_aio_discard(rbd_image_t image, uint64_t off, uint64_t len,
                        rbd_completion_t c)
    int rbd_aio_writesame(rbd_image_t image, uint64_t off, size_t len,
                          const char *buf, size_t data_len,
                          rbd_completion_t c, int op_flags)
    int rbd_aio_write_zeroes(rbd_image_t image, uint64_t off, size_t len,
                             rbd_completion_t c, int zero_flags,
                             int op_flags)
    ssize_t rbd_aio_compare_and_write(rbd_image_t image, uint64_t off,
                                      size_t len, const char *cmp_buf,
                                      const char *buf, rbd_completion_t c,
                                      uint64_t *mismatch_off, int op_flags)

    # --- aio completions --------------------------------------------------

    int rbd_aio_create_completion(void *cb_arg, rbd_callback_t complete_cb,
                                  rbd_completion_t *c)
    int rbd_aio_is_complete(rbd_completion_t c)
    int rbd_aio_wait_for_complete(rbd_completion_t c)
    ssize_t rbd_aio_get_return_value(rbd_completion_t c)
    void *rbd_aio_get_arg(rbd_completion_t c)
    void rbd_aio_release(rbd_completion_t c)
    int rbd_flush(rbd_image_t image)
    int rbd_aio_flush(rbd_image_t image, rbd_completion_t c)
    int rbd_invalidate_cache(rbd_image_t image)

    int rbd_poll_io_events(rbd_image_t image, rbd_completion_t *comps,
                           int numcomp)

    # --- image metadata ---------------------------------------------------

    int rbd_metadata_get(rbd_image_t image, const char *key, char *value,
                         size_t *val_len)
    int rbd_metadata_set(rbd_image_t image, const char *key,
                         const char *value)
    int rbd_metadata_remove(rbd_image_t image, const char *key)
    int rbd_metadata_list(rbd_image_t image, const char *start, uint64_t max,
                          char *keys, size_t *key_len, char *values,
                          size_t *vals_len)

    # --- RBD image mirroring support functions ----------------------------

    int rbd_mirror_image_enable(rbd_image_t image)                 # deprecated
    int rbd_mirror_image_enable2(rbd_image_t image,
                                 rbd_mirror_image_mode_t mode)
    int rbd_mirror_image_disable(rbd_image_t image, c_bool force)
    int rbd_mirror_image_promote(rbd_image_t image, c_bool force)
    int rbd_mirror_image_demote(rbd_image_t image)
    int rbd_mirror_image_resync(rbd_image_t image)
    int rbd_mirror_image_create_snapshot(rbd_image_t image,
                                         uint64_t *snap_id)
    int rbd_mirror_image_create_snapshot2(rbd_image_t image, uint32_t flags,
                                          uint64_t *snap_id)
    int rbd_mirror_image_get_info(rbd_image_t image,
                                  rbd_mirror_image_info_t *mirror_image_info,
                                  size_t info_size)
    void rbd_mirror_image_get_info_cleanup(
        rbd_mirror_image_info_t *mirror_image_info)
    int rbd_mirror_image_get_mode(rbd_image_t image,
                                  rbd_mirror_image_mode_t *mode)

    int rbd_mirror_image_get_global_status(
        rbd_image_t image,
        rbd_mirror_image_global_status_t *mirror_image_global_status,
        size_t status_size)
    void rbd_mirror_image_global_status_cleanup(
        rbd_mirror_image_global_status_t *mirror_image_global_status)

    int rbd_mirror_image_get_status(
        rbd_image_t image, rbd_mirror_image_status_t *mirror_image_status,
        size_t status_size)                                        # deprecated

    int rbd_mirror_image_get_instance_id(rbd_image_t image,
                                         char *instance_id,
                                         size_t *id_max_length)
    int rbd_aio_mirror_image_promote(rbd_image_t image, c_bool force,
                                     rbd_completion_t c)
    int rbd_aio_mirror_image_demote(rbd_image_t image, rbd_completion_t c)
    int rbd_aio_mirror_image_get_info(
        rbd_image_t image, rbd_mirror_image_info_t *mirror_image_info,
        size_t info_size, rbd_completion_t c)
    int rbd_aio_mirror_image_get_mode(rbd_image_t image,
                                      rbd_mirror_image_mode_t *mode,
                                      rbd_completion_t c)

    int rbd_aio_mirror_image_get_global_status(
        rbd_image_t image,
        rbd_mirror_image_global_status_t *mirror_global_image_status,
        size_t status_size, rbd_completion_t c)
    int rbd_aio_mirror_image_get_status(
        rbd_image_t image, rbd_mirror_image_status_t *mirror_image_status,
        size_t status_size, rbd_completion_t c)                    # deprecated

    int rbd_aio_mirror_image_create_snapshot(rbd_image_t image,
                                             uint32_t flags,
                                             uint64_t *snap_id,
                                             rbd_completion_t c)

    # --- RBD groups support functions -------------------------------------

    int rbd_group_create(rados_ioctx_t p, const char *name)
    int rbd_group_remove(rados_ioctx_t p, const char *name)
    int rbd_group_list(rados_ioctx_t p, char *names, size_t *size)
    int rbd_group_rename(rados_ioctx_t p, const char *src_name,
                         const char *dest_name)
    int rbd_group_info_cleanup(rbd_group_info_t *group_info,
                               size_t group_info_size)

    # --- update watchers --------------------------------------------------

    int rbd_update_watch(rbd_image_t image, uint64_t *handle,
                         rbd_update_callback_t watch_cb, void *arg)
    int rbd_update_unwatch(rbd_image_t image, uint64_t handle)

    int rbd_watchers_list(rbd_image_t image, rbd_image_watcher_t *watchers,
                          size_t *max_watchers)
    void rbd_watchers_list_cleanup(rbd_image_watcher_t *watchers,
                                   size_t num_watchers)

    int rbd_config_image_list(rbd_image_t image,
                              rbd_config_option_t *options,
                              int *max_options)
    void rbd_config_image_list_cleanup(rbd_config_option_t *options,
                                       int max_options)

    # --- group images / group snapshots -----------------------------------

    int rbd_group_image_add(rados_ioctx_t group_p, const char *group_name,
                            rados_ioctx_t image_p, const char *image_name)
    int rbd_group_image_remove(rados_ioctx_t group_p, const char *group_name,
                               rados_ioctx_t image_p, const char *image_name)
    int rbd_group_image_remove_by_id(rados_ioctx_t group_p,
                                     const char *group_name,
                                     rados_ioctx_t image_p,
                                     const char *image_id)
    int rbd_group_image_list(rados_ioctx_t group_p, const char *group_name,
                             rbd_group_image_info_t *images,
                             size_t group_image_info_size,
                             size_t *num_entries)
    int rbd_group_image_list_cleanup(rbd_group_image_info_t *images,
                                     size_t group_image_info_size,
                                     size_t num_entries)

    int rbd_group_snap_create(rados_ioctx_t group_p, const char *group_name,
                              const char *snap_name)
    int rbd_group_snap_create2(rados_ioctx_t group_p, const char *group_name,
                               const char *snap_name, uint32_t flags)
    int rbd_group_snap_remove(rados_ioctx_t group_p, const char *group_name,
                              const char *snap_name)
    int rbd_group_snap_rename(rados_ioctx_t group_p, const char *group_name,
                              const char *old_snap_name,
                              const char *new_snap_name)
    int rbd_group_snap_list(rados_ioctx_t group_p, const char *group_name,
                            rbd_group_snap_info_t *snaps,
                            size_t group_snap_info_size,
                            size_t *num_entries)
    int rbd_group_snap_list_cleanup(rbd_group_snap_info_t *snaps,
                                    size_t group_snap_info_size,
                                    size_t num_entries)
    int rbd_group_snap_rollback(rados_ioctx_t group_p,
                                const char *group_name,
                                const char *snap_name)
    int rbd_group_snap_rollback_with_progress(rados_ioctx_t group_p,
                                              const char *group_name,
                                              const char *snap_name,
                                              librbd_progress_fn_t cb,
                                              void *cbdata)

    # --- namespaces -------------------------------------------------------

    int rbd_namespace_create(rados_ioctx_t io, const char *namespace_name)
    int rbd_namespace_remove(rados_ioctx_t io, const char *namespace_name)
    int rbd_namespace_list(rados_ioctx_t io, char *namespace_names,
                           size_t *size)
    int rbd_namespace_exists(rados_ioctx_t io, const char *namespace_name,
                             c_bool *exists)

    # --- pool init / pool stats -------------------------------------------

    int rbd_pool_init(rados_ioctx_t io, c_bool force)

    void rbd_pool_stats_create(rbd_pool_stats_t *stats)
    void rbd_pool_stats_destroy(rbd_pool_stats_t stats)
    int rbd_pool_stats_option_add_uint64(rbd_pool_stats_t stats,
                                         int stat_option,
                                         uint64_t *stat_val)
    int rbd_pool_stats_get(rados_ioctx_t io, rbd_pool_stats_t stats)

    # --- quiesce watchers -------------------------------------------------

    int rbd_quiesce_watch(rbd_image_t image,
                          rbd_update_callback_t quiesce_cb,
                          rbd_update_callback_t unquiesce_cb,
                          void *arg, uint64_t *handle)
    void rbd_quiesce_complete(rbd_image_t image, uint64_t handle, int r)
    int rbd_quiesce_unwatch(rbd_image_t image, uint64_t handle)


# ---------------------------------------------------------------------------
# Convenience callback typedefs -- NOT part of the C header (which spells
# these function-pointer types inline in the rbd_read_iterate*/
# rbd_diff_iterate* prototypes).  They are identical to the inline types
# (noexcept nogil), so a variable of these types can be passed directly.
# ---------------------------------------------------------------------------

# rbd_read_iterate / rbd_read_iterate2 callback:
#   (offset, length, buf or NULL for a hole, arg)
ctypedef int (*rbd_read_iterate_cb_t)(uint64_t, size_t, const char *,
                                      void *) noexcept nogil
# rbd_diff_iterate / rbd_diff_iterate2 callback:
#   (offset, length, exists, arg)
ctypedef int (*rbd_diff_iterate_cb_t)(uint64_t, size_t, int,
                                      void *) noexcept nogil


# ---------------------------------------------------------------------------
# Newer than librbd 1.16: the project's declarations (src/librbd_later.h, checked against the real headers by
# tests/test_late_types.py). The functions are declared for the API table and the header check only: the module
# calls them through the pointers of helpers/late_calls.pxi, when the loaded librbd has them.
# ---------------------------------------------------------------------------

cdef extern from "librbd_later.h" nogil:
    enum:
        RBD_ENCRYPTION_FORMAT_LUKS "RBDX_ENCRYPTION_FORMAT_LUKS"                  # 1.18
        RBD_DIFF_ITERATE_FLAG_INCLUDE_PARENT "RBDX_DIFF_ITERATE_FLAG_INCLUDE_PARENT"  # 1.18
        RBD_DIFF_ITERATE_FLAG_WHOLE_OBJECT "RBDX_DIFF_ITERATE_FLAG_WHOLE_OBJECT"  # 1.18
        RBD_MIRROR_MODE_INIT_ONLY "RBDX_MIRROR_MODE_INIT_ONLY"                    # 1.20
        RBD_MIRROR_IMAGE_CREATING "RBDX_MIRROR_IMAGE_CREATING"                    # 1.20
        RBD_LOCK_MODE_EXCLUSIVE_TRANSIENT "RBDX_LOCK_MODE_EXCLUSIVE_TRANSIENT"    # 1.20
        RBD_GROUP_SNAP_NAMESPACE_TYPE_USER "RBDX_GROUP_SNAP_NAMESPACE_TYPE_USER"  # 1.20

    # 1.18
    ctypedef struct rbd_encryption_spec_t "rbdx_encryption_spec_t":
        rbd_encryption_format_t format
        rbd_encryption_options_t opts
        size_t opts_size

    ctypedef struct rbd_encryption_luks_format_options_t "rbdx_encryption_luks_format_options_t":
        const char *passphrase
        size_t passphrase_size

    # 1.20
    ctypedef struct rbd_snap_trash_namespace_t "rbdx_snap_trash_namespace_t":
        rbd_snap_namespace_type_t original_namespace_type
        char *original_name

    ctypedef int rbd_group_snap_namespace_type_t "rbdx_group_snap_namespace_type_t"

    ctypedef struct rbd_group_image_snap_info_t "rbdx_group_image_snap_info_t":
        char *image_name
        int64_t pool_id
        uint64_t snap_id

    ctypedef struct rbd_group_snap_info2_t "rbdx_group_snap_info2_t":
        char *id
        char *name
        char *image_snap_name
        rbd_group_snap_state_t state
        rbd_group_snap_namespace_type_t namespace_type
        size_t image_snaps_count
        rbd_group_image_snap_info_t *image_snaps

    # 1.18
    int rbd_diff_iterate3(rbd_image_t image, uint64_t from_snap_id,
                          uint64_t ofs, uint64_t len, uint32_t flags,
                          int (*cb)(uint64_t, size_t, int, void *),
                          void *arg)
    int rbd_encryption_load2(rbd_image_t image,
                             const rbd_encryption_spec_t *specs,
                             size_t spec_count)
    ssize_t rbd_aio_compare_and_writev(rbd_image_t image, uint64_t off,
                                       const iovec *cmp_iov,
                                       int cmp_iovcnt,
                                       const iovec *iov, int iovcnt,
                                       rbd_completion_t c,
                                       uint64_t *mismatch_off,
                                       int op_flags)
    # 1.20
    int rbd_clone4(rados_ioctx_t p_ioctx, const char *p_name,
                   uint64_t p_snap_id, rados_ioctx_t c_ioctx,
                   const char *c_name, rbd_image_options_t c_opts)
    int rbd_mirror_remote_namespace_get(rados_ioctx_t io_ctx,
                                        char *remote_namespace,
                                        size_t *max_len)
    int rbd_mirror_remote_namespace_set(rados_ioctx_t io_ctx,
                                        const char *remote_namespace)
    int rbd_snap_get_trash_namespace2(
        rbd_image_t image, uint64_t snap_id,
        rbd_snap_trash_namespace_t *trash_snap, size_t trash_snap_size)
    int rbd_snap_trash_namespace_cleanup(
        rbd_snap_trash_namespace_t *trash_snap, size_t trash_snap_size)
    int rbd_group_get_id(rados_ioctx_t p, const char *group_name,
                         char *group_id, size_t *size)
    int rbd_group_snap_list2(rados_ioctx_t group_p,
                             const char *group_name,
                             rbd_group_snap_info2_t *snaps,
                             size_t *num_entries)
    void rbd_group_snap_list2_cleanup(rbd_group_snap_info2_t *snaps,
                                      size_t num_entries)
    int rbd_group_snap_get_info(rados_ioctx_t group_p,
                                const char *group_name,
                                const char *snap_name,
                                rbd_group_snap_info2_t *group_snap)
    void rbd_group_snap_get_info_cleanup(
        rbd_group_snap_info2_t *group_snap)
    # Declared only, deliberately not wrapped: a wrong checksum makes librbd resend the write forever
    # (docs/compatibility.md).
    int rbd_aio_write_with_crc32c(rbd_image_t image, uint64_t off,
                                  size_t len, const char *buf,
                                  uint32_t precomputed_crc32c,
                                  rbd_completion_t c, int op_flags)
