# Image and pool metadata: get/set/remove, MetadataIterator and PoolMetadataIterator (paged).

cdef class _ImageMetadata(_ImageLocks):
    pass


class _RBDMetadata:
    pass
