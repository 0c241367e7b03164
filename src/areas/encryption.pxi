# Encryption: LUKS1/LUKS2 format and load; from librbd 1.18 also LUKS (either, detected on load) and
# encryption_load2 (one passphrase per image of a clone chain).
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

    def __cinit__(self, passphrase, str name="passphrase"):
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
                raise InvalidArgument("%s must be a contiguous buffer: %s" % (image_label(name), exc)) from None
            self.has_view = True
            self.data = <const char *>self.view.buf
            self.size = <size_t>self.view.len
        else:
            raise InvalidArgument("%s must be a string or a bytes-like object" % (image_label(name),))

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
    if HAS_ENCRYPTION_LOAD2:
        if format == RBD_ENCRYPTION_FORMAT_LUKS:
            return "luks"
    return str(format)


cdef bint loadable_format(int format) noexcept:
    """A format encryption_load accepts: LUKS1, LUKS2, and from librbd 1.18 LUKS (either, detected)."""
    if HAS_ENCRYPTION_LOAD2:
        if format == RBD_ENCRYPTION_FORMAT_LUKS:
            return True
    return format == RBD_ENCRYPTION_FORMAT_LUKS1 or format == RBD_ENCRYPTION_FORMAT_LUKS2


# The options of one loadable format; `opts`/`opts_size` point into the member that matches it. The algorithm is
# ignored when loading (the LUKS header names it).
cdef struct _LoadOptions:
    rbd_encryption_luks1_format_options_t luks1
    rbd_encryption_luks2_format_options_t luks2
    rbd_encryption_luks_format_options_t luks   # librbd 1.18's auto-detected LUKS
    rbd_encryption_options_t opts
    size_t opts_size


cdef void fill_load_options(_LoadOptions *options, int format, _Passphrase secret) noexcept:
    """Point `options` at `secret` for `format` (a loadable_format)."""
    memset(options, 0, sizeof(_LoadOptions))
    if format == RBD_ENCRYPTION_FORMAT_LUKS1:
        options.luks1.alg = RBD_ENCRYPTION_ALGORITHM_AES256
        options.luks1.passphrase = secret.data
        options.luks1.passphrase_size = secret.size
        options.opts = <rbd_encryption_options_t>&options.luks1
        options.opts_size = sizeof(options.luks1)
    elif format == RBD_ENCRYPTION_FORMAT_LUKS2:
        options.luks2.alg = RBD_ENCRYPTION_ALGORITHM_AES256
        options.luks2.passphrase = secret.data
        options.luks2.passphrase_size = secret.size
        options.opts = <rbd_encryption_options_t>&options.luks2
        options.opts_size = sizeof(options.luks2)
    else:
        if HAS_ENCRYPTION_LOAD2:
            options.luks.passphrase = secret.data
            options.luks.passphrase_size = secret.size
            options.opts = <rbd_encryption_options_t>&options.luks
            options.opts_size = sizeof(options.luks)


cdef class Image:  # part of rbd.Image (tools/assemble.py joins the parts)

    def encryption_format(self, format, passphrase, cipher_alg=RBD_ENCRYPTION_ALGORITHM_AES256):
        """Format the image for encryption with `format`, protected by `passphrase`, with `cipher_alg`.

        `format` is RBD_ENCRYPTION_FORMAT_LUKS1 or _LUKS2, `passphrase` a str or bytes-like object, `cipher_alg`
        RBD_ENCRYPTION_ALGORITHM_AES128 or _AES256. The LUKS header takes space at the start of the image, so the usable
        size shrinks; this handle then reads and writes plaintext. Other formats raise OperationNotSupported; a
        read-only image ReadOnlyImage. The passphrase is handed to librbd without a copy and not kept.

        :param format: RBD_ENCRYPTION_FORMAT_LUKS1 or RBD_ENCRYPTION_FORMAT_LUKS2
        :type format: int
        :param passphrase: the passphrase (a str is used as UTF-8)
        :type passphrase: str or bytes-like object
        :param cipher_alg: RBD_ENCRYPTION_ALGORITHM_AES128 or RBD_ENCRYPTION_ALGORITHM_AES256
        :type cipher_alg: int
        :rtype: None
        :raises OperationNotSupported: `format` is neither LUKS1 nor LUKS2
        :raises InvalidArgument: the image is closed, `passphrase` is neither a str nor a C-contiguous bytes-like
            object, or librbd refuses `cipher_alg`
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ReadOnlyImage: the image was opened read-only or at a snapshot, or this client holds an advisory
            lock on it (librbd would wait forever for the exclusive lock)
        :raises NoSpace: the image is too small to hold the LUKS header
        :raises OverflowError: `format` or `cipher_alg` does not fit a C int
        :raises TypeError: `format` or `cipher_alg` is not an integer
        :raises UnicodeEncodeError: `passphrase` is a str with lone surrogates (no UTF-8 form)
        :raises OSError: another error from librbd, as the subclass its errno maps to
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
        self._refuse_writes_while_locked()   # formatting writes the header: it would wait forever too
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
                          % (image_label(self.name), encryption_format_name(c_format)))

    def encryption_load(self, format, passphrase):
        """Open the image's encryption with `passphrase`: afterwards this handle reads and writes plaintext.

        `format` is RBD_ENCRYPTION_FORMAT_LUKS1 or _LUKS2, from librbd 1.18 also RBD_ENCRYPTION_FORMAT_LUKS (either,
        detected); `passphrase` is a str or bytes-like object, handed to librbd without a copy and not kept. Afterwards
        `size()` excludes the header.

        A wrong passphrase raises PermissionError, a wrong format InvalidArgument, loading twice ImageExists;
        other formats OperationNotSupported.

        :param format: RBD_ENCRYPTION_FORMAT_LUKS1, RBD_ENCRYPTION_FORMAT_LUKS2 or (from librbd 1.18)
            RBD_ENCRYPTION_FORMAT_LUKS
        :type format: int
        :param passphrase: the passphrase (a str is used as UTF-8)
        :type passphrase: str or bytes-like object
        :rtype: None
        :raises OperationNotSupported: `format` is not one of those above
        :raises InvalidArgument: the image is closed, `passphrase` is neither a str nor a C-contiguous bytes-like
            object, or the image is not formatted with `format` (or not encrypted at all)
        :raises PermissionError: the passphrase is wrong
        :raises ImageExists: encryption is loaded on this handle already
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises OverflowError: `format` does not fit a C int
        :raises TypeError: `format` is not an integer
        :raises UnicodeEncodeError: `passphrase` is a str with lone surrogates (no UTF-8 form)
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        cdef rbd_encryption_format_t c_format = format
        cdef _LoadOptions options
        cdef int ret = 0
        cdef rbd_image_t image
        if not loadable_format(c_format):
            raise make_ex(-C_ENOTSUP, "Unsupported encryption format")
        cdef _Passphrase secret = _Passphrase(passphrase)
        try:
            fill_load_options(&options, c_format, secret)
            image = self._begin_call()
            with nogil:
                ret = rbd_encryption_load(image, c_format, options.opts, options.opts_size)
            self._end_call()
        finally:
            memset(&options, 0, sizeof(options))
            secret.release()
        if ret < 0:
            raise make_ex(ret, "error loading encryption on image %s with format %s"
                          % (image_label(self.name), encryption_format_name(c_format)))

    def encryption_load2(self, specs):
        """Open the encryption of this image and its ancestors, one (format, passphrase) pair per image.

        Needs librbd 1.18 (Ceph 18.2) or newer.

        `specs` is a sequence of (format, passphrase) pairs, the first for this image, the next for its parent,
        and so on; librbd reuses the last one for deeper ancestors and reads ancestors that are not encrypted
        as plaintext. Formats are as in encryption_load; another one raises OperationNotSupported before
        anything is loaded. The passphrases are handed to librbd without a copy and not kept.

        :param specs: (format, passphrase) pairs, this image's first
        :type specs: sequence of (int, str or bytes-like object)
        :rtype: None
        :raises OperationNotSupported: a format is not one encryption_load takes
        :raises InvalidArgument: the image is closed, a passphrase is neither a str nor a C-contiguous
            bytes-like object, or an image is not formatted with the format given for it
        :raises PermissionError: a passphrase is wrong
        :raises ImageExists: encryption is loaded on this handle already
        :raises FunctionNotSupported: the librbd the module runs with lacks rbd_encryption_load2 (it is older
            than the one the module was built for)
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `specs` or one of its items is not iterable, or a format is not an integer
        :raises ValueError: an item is not a pair
        :raises OverflowError: a format does not fit a C int
        :raises UnicodeEncodeError: a passphrase is a str with lone surrogates (no UTF-8 form)
        :raises OSError: another error from librbd, as the subclass its errno maps to
        """
        if late_rbd_encryption_load2 == NULL:
            raise missing_librbd_call("rbd_encryption_load2")
        specs = list(specs)
        cdef size_t count = len(specs)
        cdef size_t i
        cdef int ret = 0
        cdef int c_format
        cdef rbd_image_t image
        cdef list secrets = []
        cdef _Passphrase secret
        cdef _LoadOptions *options = <_LoadOptions *>malloc(max(count, 1) * sizeof(_LoadOptions))
        cdef rbd_encryption_spec_t *c_specs = <rbd_encryption_spec_t *>malloc(
            max(count, 1) * sizeof(rbd_encryption_spec_t))
        if options == NULL or c_specs == NULL:
            free(options)
            free(c_specs)
            raise MemoryError()
        try:
            for i in range(count):
                format, passphrase = specs[i]
                c_format = format
                if not loadable_format(c_format):
                    # upstream's words, index included (its message names the pair's item [1])
                    raise make_ex(-C_ENOTSUP, "specs[%d][1]: Unsupported encryption format" % (i,))
                secret = _Passphrase(passphrase, "specs[%d][1]" % (i,))
                secrets.append(secret)
                fill_load_options(&options[i], c_format, secret)
                c_specs[i].format = <rbd_encryption_format_t>c_format
                c_specs[i].opts = options[i].opts
                c_specs[i].opts_size = options[i].opts_size
            image = self._begin_call()
            with nogil:
                ret = late_rbd_encryption_load2(image, c_specs, count)
            self._end_call()
        finally:
            memset(options, 0, max(count, 1) * sizeof(_LoadOptions))
            free(options)
            free(c_specs)
            for secret in secrets:
                secret.release()
        if ret < 0:
            raise make_ex(ret, "error loading encryption on image %s" % (image_label(self.name),))
