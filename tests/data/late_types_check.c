/* Compares the project's declarations of librbd types and constants newer than 1.16 (src/librbd_later.h) with
 * the real header's, where the installed librbd.h has them (tests/test_late_types.py): a mismatch stops the
 * compile; the program prints the name of each declaration it compared. */
#include <stddef.h>
#include <stdio.h>
#include <rbd/librbd.h>
#include "librbd_later.h"

#define SAME_SIZE(ours, theirs) _Static_assert(sizeof(ours) == sizeof(theirs), #ours " size")
#define SAME_FIELD(ours, theirs, field) \
    _Static_assert(offsetof(ours, field) == offsetof(theirs, field), #ours "." #field " offset"); \
    _Static_assert(sizeof(((ours *)0)->field) == sizeof(((theirs *)0)->field), #ours "." #field " size")
#define SAME_VALUE(ours, theirs) _Static_assert((long)(ours) == (long)(theirs), #ours " value")

int main(void)
{
#ifdef LIBRBD_SUPPORTS_ENCRYPTION_LOAD2
    SAME_VALUE(RBDX_ENCRYPTION_FORMAT_LUKS, RBD_ENCRYPTION_FORMAT_LUKS);
    SAME_SIZE(rbdx_encryption_spec_t, rbd_encryption_spec_t);
    SAME_FIELD(rbdx_encryption_spec_t, rbd_encryption_spec_t, format);
    SAME_FIELD(rbdx_encryption_spec_t, rbd_encryption_spec_t, opts);
    SAME_FIELD(rbdx_encryption_spec_t, rbd_encryption_spec_t, opts_size);
    SAME_SIZE(rbdx_encryption_luks_format_options_t, rbd_encryption_luks_format_options_t);
    SAME_FIELD(rbdx_encryption_luks_format_options_t, rbd_encryption_luks_format_options_t, passphrase);
    SAME_FIELD(rbdx_encryption_luks_format_options_t, rbd_encryption_luks_format_options_t, passphrase_size);
    puts("rbd_encryption_spec_t rbd_encryption_luks_format_options_t RBD_ENCRYPTION_FORMAT_LUKS");
#endif
#ifdef LIBRBD_SUPPORTS_DIFF_ITERATE3
    SAME_VALUE(RBDX_DIFF_ITERATE_FLAG_INCLUDE_PARENT, RBD_DIFF_ITERATE_FLAG_INCLUDE_PARENT);
    SAME_VALUE(RBDX_DIFF_ITERATE_FLAG_WHOLE_OBJECT, RBD_DIFF_ITERATE_FLAG_WHOLE_OBJECT);
    puts("RBD_DIFF_ITERATE_FLAG_INCLUDE_PARENT RBD_DIFF_ITERATE_FLAG_WHOLE_OBJECT");
#endif
#ifdef LIBRBD_SUPPORTS_GROUP_SNAP_GET_INFO
    SAME_VALUE(RBDX_GROUP_SNAP_NAMESPACE_TYPE_USER, RBD_GROUP_SNAP_NAMESPACE_TYPE_USER);
    SAME_SIZE(rbdx_group_snap_namespace_type_t, rbd_group_snap_namespace_type_t);
    SAME_SIZE(rbdx_group_image_snap_info_t, rbd_group_image_snap_info_t);
    SAME_FIELD(rbdx_group_image_snap_info_t, rbd_group_image_snap_info_t, image_name);
    SAME_FIELD(rbdx_group_image_snap_info_t, rbd_group_image_snap_info_t, pool_id);
    SAME_FIELD(rbdx_group_image_snap_info_t, rbd_group_image_snap_info_t, snap_id);
    SAME_SIZE(rbdx_group_snap_info2_t, rbd_group_snap_info2_t);
    SAME_FIELD(rbdx_group_snap_info2_t, rbd_group_snap_info2_t, id);
    SAME_FIELD(rbdx_group_snap_info2_t, rbd_group_snap_info2_t, name);
    SAME_FIELD(rbdx_group_snap_info2_t, rbd_group_snap_info2_t, image_snap_name);
    SAME_FIELD(rbdx_group_snap_info2_t, rbd_group_snap_info2_t, state);
    SAME_FIELD(rbdx_group_snap_info2_t, rbd_group_snap_info2_t, namespace_type);
    SAME_FIELD(rbdx_group_snap_info2_t, rbd_group_snap_info2_t, image_snaps_count);
    SAME_FIELD(rbdx_group_snap_info2_t, rbd_group_snap_info2_t, image_snaps);
    puts("rbd_group_snap_info2_t rbd_group_image_snap_info_t RBD_GROUP_SNAP_NAMESPACE_TYPE_USER");
#endif
#if LIBRBD_VER_MINOR >= 20
    /* No feature macro: these arrived with 1.20 (Ceph 20.2) as far as the headers here show. */
    SAME_SIZE(rbdx_snap_trash_namespace_t, rbd_snap_trash_namespace_t);
    SAME_FIELD(rbdx_snap_trash_namespace_t, rbd_snap_trash_namespace_t, original_namespace_type);
    SAME_FIELD(rbdx_snap_trash_namespace_t, rbd_snap_trash_namespace_t, original_name);
    SAME_VALUE(RBDX_MIRROR_MODE_INIT_ONLY, RBD_MIRROR_MODE_INIT_ONLY);
    SAME_VALUE(RBDX_MIRROR_IMAGE_CREATING, RBD_MIRROR_IMAGE_CREATING);
    SAME_VALUE(RBDX_LOCK_MODE_EXCLUSIVE_TRANSIENT, RBD_LOCK_MODE_EXCLUSIVE_TRANSIENT);
    puts("rbd_snap_trash_namespace_t RBD_MIRROR_MODE_INIT_ONLY RBD_MIRROR_IMAGE_CREATING "
         "RBD_LOCK_MODE_EXCLUSIVE_TRANSIENT");
#endif
    return 0;
}
