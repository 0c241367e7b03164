# Groups: RBD.group_*, the Group class with its iterators, and Image.group().

cdef class _ImageGroups(_ImageMirroring):
    pass


class _RBDGroups:
    pass
