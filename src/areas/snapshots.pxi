# Snapshots: create, remove, rename, protect, roll back, list (SnapIterator) and query snapshots.

cdef class _ImageSnapshots(_ImageIO):
    pass


