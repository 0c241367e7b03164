# Encryption: LUKS1/LUKS2 format and load.

cdef class _ImageEncryption(_ImageConfig):
    pass


