# Trash: move, get, list (TrashIterator), remove, purge, restore.

class _RBDTrash:
    pass
