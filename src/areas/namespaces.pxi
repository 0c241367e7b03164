# Namespaces: create, remove, exists, list.

class _RBDNamespaces:
    pass
