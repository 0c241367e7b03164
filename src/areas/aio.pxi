# Asynchronous I/O: Completion, Image.aio_* and RBD.aio_open_image.

cdef class _ImageAio(_ImageMigration):
    pass


class _RBDAio:
    pass
