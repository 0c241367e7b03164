# Encryption: LUKS1/LUKS2 format and load.
#
# The passphrase (str, or any C-contiguous bytes-like object) is handed to librbd in place: a str through its
# UTF-8 form (which CPython keeps inside the str object), a bytes-like object through its buffer. No copy is made
# and nothing keeps a reference to it after the call, so wiping a bytearray afterwards wipes the only copy the
# binding ever saw.

from cpython.unicode cimport PyUnicode_AsUTF8AndSize


cdef class _Passphrase:
    """The bytes of a passphrase for the duration of one librbd call; `release()` gives the buffer back."""
    cdef Py_buffer view
    cdef bint has_view
    cdef const char *data
    cdef size_t size

    def __cinit__(self, passphrase):
        cdef Py_ssize_t length = 0
        self.has_view = False
        self.data = NULL
        self.size = 0
        if isinstance(passphrase, str):
            self.data = PyUnicode_AsUTF8AndSize(passphrase, &length)
            self.size = <size_t>length
        elif PyObject_CheckBuffer(passphrase):
            try:
                PyObject_GetBuffer(passphrase, &self.view, PyBUF_SIMPLE)
            except BufferError as exc:
                raise InvalidArgument("passphrase must be a contiguous buffer: %s" % (exc,)) from None
            self.has_view = True
            self.data = <const char *>self.view.buf
            self.size = <size_t>self.view.len
        else:
            raise InvalidArgument("passphrase must be a string or a bytes-like object")

    cdef void release(self) noexcept:
        self.data = NULL
        self.size = 0
        if self.has_view:
            self.has_view = False
            PyBuffer_Release(&self.view)

    def __dealloc__(self):
        self.release()


cdef str encryption_format_name(int format):
    if format == RBD_ENCRYPTION_FORMAT_LUKS1:
        return "luks1"
    if format == RBD_ENCRYPTION_FORMAT_LUKS2:
        return "luks2"
    return str(format)


cdef class _ImageEncryption(_ImageConfig):

    def encryption_format(self, format, passphrase, cipher_alg=RBD_ENCRYPTION_ALGORITHM_AES256):
        """Format the image for encryption with `format` (RBD_ENCRYPTION_FORMAT_LUKS1 or _LUKS2), protected by
        `passphrase` (str or bytes-like), with `cipher_alg` (RBD_ENCRYPTION_ALGORITHM_AES128 or _AES256).

        The LUKS header takes space at the start of the image, so the usable size shrinks; this handle then reads
        and writes plaintext. Other formats raise OperationNotSupported; a read-only image ReadOnlyImage.
        """
        cdef rbd_encryption_format_t c_format = format
        cdef rbd_encryption_algorithm_t c_alg = cipher_alg
        cdef rbd_encryption_luks1_format_options_t luks1
        cdef rbd_encryption_luks2_format_options_t luks2
        cdef rbd_encryption_options_t opts
        cdef size_t opts_size
        cdef int ret = 0
        cdef rbd_image_t image
        if c_format != RBD_ENCRYPTION_FORMAT_LUKS1 and c_format != RBD_ENCRYPTION_FORMAT_LUKS2:
            raise make_ex(-C_ENOTSUP, "Unsupported encryption format")
        cdef _Passphrase secret = _Passphrase(passphrase)
        try:
            if c_format == RBD_ENCRYPTION_FORMAT_LUKS1:
                luks1.alg = c_alg
                luks1.passphrase = secret.data
                luks1.passphrase_size = secret.size
                opts = <rbd_encryption_options_t>&luks1
                opts_size = sizeof(luks1)
            else:
                luks2.alg = c_alg
                luks2.passphrase = secret.data
                luks2.passphrase_size = secret.size
                opts = <rbd_encryption_options_t>&luks2
                opts_size = sizeof(luks2)
            image = self._begin_call()
            with nogil:
                ret = rbd_encryption_format(image, c_format, opts, opts_size)
            self._end_call()
        finally:
            luks1.passphrase = NULL
            luks2.passphrase = NULL
            secret.release()
        if ret < 0:
            raise make_ex(ret, "error formatting image %s with format %s"
                          % (self.name, encryption_format_name(c_format)))

    def encryption_load(self, format, passphrase):
        """Open the image's encryption (`format` RBD_ENCRYPTION_FORMAT_LUKS1 or _LUKS2) with `passphrase` (str or
        bytes-like): afterwards this handle reads and writes plaintext, and `size()` excludes the header.

        A wrong passphrase raises PermissionError, a wrong format InvalidArgument, loading twice ImageExists;
        other formats OperationNotSupported.
        """
        cdef rbd_encryption_format_t c_format = format
        cdef rbd_encryption_luks1_format_options_t luks1
        cdef rbd_encryption_luks2_format_options_t luks2
        cdef rbd_encryption_options_t opts
        cdef size_t opts_size
        cdef int ret = 0
        cdef rbd_image_t image
        if c_format != RBD_ENCRYPTION_FORMAT_LUKS1 and c_format != RBD_ENCRYPTION_FORMAT_LUKS2:
            raise make_ex(-C_ENOTSUP, "Unsupported encryption format")
        cdef _Passphrase secret = _Passphrase(passphrase)
        try:
            # librbd ignores the algorithm when loading: the LUKS header names it.
            if c_format == RBD_ENCRYPTION_FORMAT_LUKS1:
                luks1.alg = RBD_ENCRYPTION_ALGORITHM_AES256
                luks1.passphrase = secret.data
                luks1.passphrase_size = secret.size
                opts = <rbd_encryption_options_t>&luks1
                opts_size = sizeof(luks1)
            else:
                luks2.alg = RBD_ENCRYPTION_ALGORITHM_AES256
                luks2.passphrase = secret.data
                luks2.passphrase_size = secret.size
                opts = <rbd_encryption_options_t>&luks2
                opts_size = sizeof(luks2)
            image = self._begin_call()
            with nogil:
                ret = rbd_encryption_load(image, c_format, opts, opts_size)
            self._end_call()
        finally:
            luks1.passphrase = NULL
            luks2.passphrase = NULL
            secret.release()
        if ret < 0:
            raise make_ex(ret, "error loading encryption on image %s with format %s"
                          % (self.name, encryption_format_name(c_format)))
