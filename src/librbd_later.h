/* Types and constants of librbd releases newer than 1.16 (Ceph 16.2), the oldest this module runs with.
 *
 * The module is built once, against whatever librbd.h the build host has (1.16 for the wheel), and adapts to
 * the librbd it finds at import (src/helpers/releases.pxi). The newer calls it may use are looked up then
 * (src/helpers/late_calls.pxi); the types and constants they need are declared here, under the project's own
 * names (rbdx_ / RBDX_), so that they never clash with the same declarations of a newer build header.
 *
 * Each one mirrors the declaration of the release named beside it, field by field: tests/test_late_types.py
 * compiles a program that checks sizes, field offsets and values against the real header wherever a Debian
 * root has that release (Ceph 18.2.7: librbd 1.18; Ceph 20.2.4: librbd 1.20).
 */
#ifndef RBD_BINDING_LIBRBD_LATER_H
#define RBD_BINDING_LIBRBD_LATER_H

#include <stddef.h>
#include <stdint.h>
#include <rbd/librbd.h>

/* Values of enumerators newer than 1.16 (in enums 1.16 already has, so only the value is new). */
enum {
    RBDX_ENCRYPTION_FORMAT_LUKS = 2,            /* 1.18, rbd_encryption_format_t: LUKS1 or LUKS2, detected */
    RBDX_DIFF_ITERATE_FLAG_INCLUDE_PARENT = 1,  /* 1.18 (with rbd_diff_iterate3) */
    RBDX_DIFF_ITERATE_FLAG_WHOLE_OBJECT = 2,    /* 1.18 (with rbd_diff_iterate3) */
    RBDX_MIRROR_MODE_INIT_ONLY = 3,             /* 1.20, rbd_mirror_mode_t */
    RBDX_MIRROR_IMAGE_CREATING = 3,             /* 1.20, rbd_mirror_image_state_t */
    RBDX_LOCK_MODE_EXCLUSIVE_TRANSIENT = 2,     /* 1.20, rbd_lock_mode_t */
    RBDX_GROUP_SNAP_NAMESPACE_TYPE_USER = 0     /* 1.20, rbd_group_snap_namespace_type_t */
};

/* 1.18: rbd_encryption_load2's spec, and the LUKS (either version) format options. */
typedef struct {
    rbd_encryption_format_t format;
    rbd_encryption_options_t opts;
    size_t opts_size;
} rbdx_encryption_spec_t;

typedef struct {
    const char *passphrase;
    size_t passphrase_size;
} rbdx_encryption_luks_format_options_t;

/* 1.20: rbd_snap_get_trash_namespace2. */
typedef struct {
    rbd_snap_namespace_type_t original_namespace_type;
    char *original_name;
} rbdx_snap_trash_namespace_t;

/* 1.20: rbd_group_snap_get_info and rbd_group_snap_list2. */
typedef enum {
    RBDX_GROUP_SNAP_NAMESPACE_TYPE_USER_ = 0
} rbdx_group_snap_namespace_type_t;

typedef struct {
    char *image_name;
    int64_t pool_id;
    uint64_t snap_id;
} rbdx_group_image_snap_info_t;

typedef struct {
    char *id;
    char *name;
    char *image_snap_name;
    rbd_group_snap_state_t state;
    rbdx_group_snap_namespace_type_t namespace_type;
    size_t image_snaps_count;
    rbdx_group_image_snap_info_t *image_snaps;
} rbdx_group_snap_info2_t;

#endif
