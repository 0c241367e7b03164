# Pool-level calls: pool_init and pool_stats_get.

class _RBDPool:
    pass
