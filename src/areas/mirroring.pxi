# Mirroring: pool mode, peers, bootstrap, image status lists (RBD); per-image enable/promote/... (Image).

cdef class _ImageMirroring(_ImageEncryption):
    pass


class _RBDMirroring:
    pass
