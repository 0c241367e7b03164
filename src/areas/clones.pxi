# Clones and copies: RBD.clone, parent info, flatten, children (ChildIterator), copy, deep_copy, sparsify.

cdef class _ImageClones(_ImageSnapshots):
    pass


class _RBDClones:
    pass
