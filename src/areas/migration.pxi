# Live migration: prepare (also from an import spec), execute, commit, abort, status.

cdef class _ImageMigration(_ImageGroups):
    pass


class _RBDMigration:
    pass
