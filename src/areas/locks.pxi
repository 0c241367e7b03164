# Locks and watchers: exclusive lock (managed), advisory locks, LockOwnerIterator, WatcherIterator.

cdef class _ImageLocks(_ImageClones):
    pass


