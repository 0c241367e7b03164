# Configuration overrides for an image or a pool, and ConfigImageIterator / ConfigPoolIterator.

cdef class _ImageConfig(_ImageMetadata):
    pass


class _RBDConfig:
    pass
