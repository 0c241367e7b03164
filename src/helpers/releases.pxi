# Which Python API needs which librbd: the one table, read when the module is imported.
#
# The module is the same binary on every Ceph release (built once, against any librbd.h >= 1.16): at import it
# reads the loaded librbd's version (rbd_version) and which calls it has, and from those alone decides every
# release difference of python3-rbd: names present or absent, signatures, constants, exception classes and
# behaviours. Each difference in the module is an `if HAS_...:` on one of the flags below, or an entry of
# RELEASE_ONLY_MEMBERS at the end of this file.
#
# librbd 1.16 = Ceph 16.2 (Pacific), 1.17 = 17.2 (Quincy), 1.18 = 18.2 (Reef), 1.19 = 19.2 (Squid),
# 1.20 = 20.2 (Tentacle). Proven here against each release's python3-rbd: 16.2.15, 18.2.7, 20.2.4. Ceph 17 and
# 19 are not run here: they follow from this table alone (README, "Releases"). Where a call exists for a
# difference, the flag follows the call (so 17 and 19 get every call their librbd has, whatever point release);
# otherwise it follows the version, and a minor version the table does not know behaves as the nearest lower
# known release (a later 1.2x as 1.20).

from c_rbd cimport rbd_version

cdef extern from "librbd_bound.h" nogil:
    # build/generated/librbd_bound.c: the address of librbd function `name` in the librbd that src/module_init.c
    # loaded before the module's code ran, or NULL if it lacks it.
    void *librbd_symbol "rbd_binding_librbd_symbol"(const char *name)


cdef bint has_call(const char *name) noexcept:
    return librbd_symbol(name) != NULL


cdef int _major = 0, _minor = 0, _extra = 0
rbd_version(&_major, &_minor, &_extra)
# The librbd releases whose python3-rbd this table describes (by librbd minor version).
cdef tuple KNOWN_MINORS = (16, 17, 18, 19, 20)
# The release the module behaves as: the loaded librbd's, or the nearest lower known one.
cdef int RELEASE = max([minor for minor in KNOWN_MINORS if minor <= _minor] or [KNOWN_MINORS[0]])

# --- Ceph 17.2.8 -------------------------------------------------------------------------------------------------
# Constants RBD_IMAGE_OPTION_FLATTEN / RBD_IMAGE_OPTION_CLONE_FORMAT (with the clone_format=/flatten= keywords,
# which the module accepts on every release). 17.2.0-17.2.7 cannot be told from 17.2.8 (same librbd 1.17): they
# get the two constants too.
cdef bint HAS_CLONE_FORMAT_CONSTANTS = RELEASE >= 17
# Image.compare_and_writev, Image.aio_compare_and_writev (ours; upstream's module does not wrap it): 17.2.6+.
cdef bint HAS_COMPARE_AND_WRITEV = has_call("rbd_aio_compare_and_writev")
# Image.encryption_load2(specs), RBD_ENCRYPTION_FORMAT_LUKS (auto-detect) in encryption_load.
cdef bint HAS_ENCRYPTION_LOAD2 = has_call("rbd_encryption_load2")

# --- Ceph 18.2 ---------------------------------------------------------------------------------------------------
# deep_copy and migration_prepare always set the flatten option; deep_copy's "error deep copying" message;
# Image.data_pool_id raises; aio_mirror_image_get_info passes None on failure.
cdef bint HAS_REEF_API = RELEASE >= 18
# Image.diff_iterate(from_snapshot=<snapshot id>|None): rbd_diff_iterate3 (18.2.x, later 19.2.x).
cdef bint HAS_DIFF_ITERATE3 = has_call("rbd_diff_iterate3")

# --- Ceph 19.2 ---------------------------------------------------------------------------------------------------
# RBD.clone(p_ioctx, p_name, p_snapshot, ...): a snapshot name or id, the third parameter renamed: rbd_clone4.
cdef bint HAS_CLONE4 = has_call("rbd_clone4")
# Image.snap_get_trash_namespace's original_namespace_type: rbd_snap_get_trash_namespace2.
cdef bint HAS_SNAP_TRASH_NAMESPACE2 = has_call("rbd_snap_get_trash_namespace2")

# --- Ceph 20.2 ---------------------------------------------------------------------------------------------------
# Aware UTC datetimes from every timestamp (create/access/modify_timestamp, get_snap_timestamp, trash_get and
# TrashIterator, mirror image status last_update).
cdef bint HAS_AWARE_TIMESTAMPS = RELEASE >= 20
# Group.get_snap_info, six-key Group.list_snaps dicts, RBD_GROUP_SNAP_NAMESPACE_TYPE_USER: rbd_group_snap_get_info,
# rbd_group_snap_list2.
cdef bint HAS_GROUP_SNAP_INFO2 = has_call("rbd_group_snap_get_info") and has_call("rbd_group_snap_list2")
# Group.id: rbd_group_get_id.
cdef bint HAS_GROUP_GET_ID = has_call("rbd_group_get_id")
# RBD.mirror_remote_namespace_get/set, RBD_MIRROR_MODE_INIT_ONLY: rbd_mirror_remote_namespace_get/set.
cdef bint HAS_MIRROR_REMOTE_NAMESPACE = has_call("rbd_mirror_remote_namespace_get")
# Image.get_parent_image_spec's nine keys (pool_id, image_id, trash, snap_id, snap_namespace_type), ImageMemberOfGroup
# for EMLINK, constants RBD_MIRROR_IMAGE_CREATING and RBD_LOCK_MODE_EXCLUSIVE_TRANSIENT (which later 19.2.x have
# too: not told apart from 19.2.0, so 19 gets neither).
cdef bint HAS_TENTACLE_API = RELEASE >= 20

# --- librbd bugs the binding steers around -----------------------------------------------------------------------
# Image(..., snapshot=s, read_only=True) (also by image_id, and AsyncImage): opening read-only *at a snapshot*
# (rbd_open_read_only & co. with a snapshot name) on an image with the object-map feature leaves librbd work on a
# librados thread that uses the image after rbd_close freed it: a loop of such opens + closes aborts the process
# (std::system_error from a freed mutex) or hangs. librbd 1.20 (20.2.4) does so within ~20 rounds with glibc's
# defaults; 1.16 (16.2.15) under MALLOC_PERTURB_ (docs/reliability.md). Opening read-only at the head and then
# rbd_snap_set gives the same handle without it. Every release up to 1.20, and so later ones until re-checked.
cdef bint OPEN_READ_ONLY_AT_HEAD_THEN_SNAP_SET = True

# Members that only some releases have: each is defined in its class, and removed from it at import (by
# hide_release_only_members, at the end of src/rbd.pyx) when the loaded librbd lacks what it needs.
cdef list RELEASE_ONLY_MEMBERS = [
    ("Image", "encryption_load2", HAS_ENCRYPTION_LOAD2),
    ("Image", "compare_and_writev", HAS_COMPARE_AND_WRITEV),
    ("Image", "aio_compare_and_writev", HAS_COMPARE_AND_WRITEV),
    ("Group", "get_snap_info", HAS_GROUP_SNAP_INFO2),
    ("Group", "id", HAS_GROUP_GET_ID),
    ("RBD", "mirror_remote_namespace_get", HAS_MIRROR_REMOTE_NAMESPACE),
    ("RBD", "mirror_remote_namespace_set", HAS_MIRROR_REMOTE_NAMESPACE),
]

# For the tests and documentation checks: which members are release-only.
_RELEASE_ONLY_MEMBERS = tuple("%s.%s" % (class_name, member) for class_name, member, _ in RELEASE_ONLY_MEMBERS)

# The librbd release the module behaves as (python3-rbd of that release), and the one loaded: RBD().version().
_LIBRBD_MODEL = (1, RELEASE, 0)
