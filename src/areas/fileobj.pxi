# A file object over an open image: `ImageFile(image)` is an `io.RawIOBase`, so the standard library's consumers
# (io.BufferedReader/Writer/Random, shutil.copyfileobj, hashlib.file_digest, tarfile, zipfile, ...) work on
# images. Reads land in the caller's buffer through Image.readinto (no intermediate copy).

import builtins as _builtins
import io as _io
import operator as _operator

# Taken once at import, not looked up through the modules at each call (see helpers/interpreters.pxi).
cdef object _index = _operator.index
cdef object _UnsupportedOperation = _io.UnsupportedOperation
cdef object _builtin_OSError = _builtins.OSError
cdef int _SEEK_SET = _io.SEEK_SET
cdef int _SEEK_CUR = _io.SEEK_CUR
cdef int _SEEK_END = _io.SEEK_END
cdef int _ENOSPC = errno.ENOSPC


class ImageFile(_io.RawIOBase):
    """ImageFile(image, writable=None, close_image=False)

    A seekable raw binary file over an open `Image`, starting at offset 0.

    - `read`, `readinto` (no copy), `readall`, `write`, `seek` (SEEK_SET, SEEK_CUR, SEEK_END), `tell`, `flush`
      (librbd's flush: writes so far are persistent).
    - Reads at or past the end return b"" (0 bytes), and stop short at the end.
    - Images do not grow by writing: a write that would pass the end raises the builtin OSError with errno ENOSPC
      (as a full block device does) and writes nothing. Seeking past the end is allowed.
    - `writable` None (the default) asks the image: a read-only image (opened with read_only=True or at a
      snapshot) gives a read-only file, whose write() raises io.UnsupportedOperation. False makes it read-only.
    - `close()` flushes, and closes the image only if `close_image` is true; the image stays usable otherwise.

    Wrap it in io.BufferedReader / BufferedWriter / BufferedRandom for small reads and writes. Like other raw
    files, one ImageFile must not be used from several threads at once (its position is shared).

    :param image: the open image to read and write
    :type image: Image
    :param writable: whether the file may write (None: ask the image, as above)
    :type writable: bool or None
    :param close_image: whether `close()` closes the image too
    :type close_image: bool
    :raises TypeError: `image` is not an Image
    :raises InvalidArgument: the image is closed
    :raises ConnectionShutdown: `writable` is None and the image's rados.Rados was shut down
    """

    # Defaults for an object whose __init__ failed: io's finalizer still calls close() on it, and Python 3.13+
    # reports what that raises (with repr(self)) instead of ignoring it.
    _image = None
    _writable = False
    _close_image = False
    _position = 0
    _label = "?"

    def __init__(self, image, writable=None, close_image=False):
        if not isinstance(image, Image):
            raise TypeError("image must be an rbd.Image, not %s" % type(image).__name__)
        image.require_not_closed()
        if writable is None:
            try:
                image.write(b"", 0)  # writes nothing; refused with EROFS by a read-only image
                writable = True
            except ReadOnlyImage:
                writable = False
        self._image = image
        self._writable = bool(writable)
        self._close_image = bool(close_image)
        self._position = 0
        self._label = image_label((<Image>image).name)

    @property
    def image(self):
        """The `Image` this file reads and writes."""
        return self._image

    def __repr__(self):
        state = "closed" if self.closed else "position=%d" % self._position
        return "<rbd.ImageFile image=%r %s writable=%s>" % (self._label, state, self._writable)

    def _check_open(self):
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if self._image is None:
            raise not_initialised(self)

    def readable(self):
        """True: images can always be read.

        :returns: True
        :rtype: bool
        :raises ValueError: the file is closed
        :raises InvalidArgument: the ImageFile was never initialised (a subclass whose __init__ did not call
            ImageFile.__init__)
        """
        self._check_open()
        return True

    def writable(self):
        """True unless the image (or this file) is read-only.

        :returns: whether `write` may be called
        :rtype: bool
        :raises ValueError: the file is closed
        :raises InvalidArgument: the ImageFile was never initialised (a subclass whose __init__ did not call
            ImageFile.__init__)
        """
        self._check_open()
        return self._writable

    def seekable(self):
        """True: any position can be set, also past the end.

        :returns: True
        :rtype: bool
        :raises ValueError: the file is closed
        :raises InvalidArgument: the ImageFile was never initialised (a subclass whose __init__ did not call
            ImageFile.__init__)
        """
        self._check_open()
        return True

    def tell(self):
        """The current position.

        :returns: the byte offset in the image where the next read or write starts
        :rtype: int
        :raises ValueError: the file is closed
        :raises InvalidArgument: the ImageFile was never initialised (a subclass whose __init__ did not call
            ImageFile.__init__)
        """
        self._check_open()
        return self._position

    def seek(self, offset, whence=_io.SEEK_SET):
        """Move to `offset` from the start, the current position or the end of the image; returns the new position.

        `whence` is SEEK_SET (from the start), SEEK_CUR (from the current position) or SEEK_END (from the end of the
        image). Past the end is allowed; before the start raises ValueError.

        :param offset: the move in bytes, relative to `whence` (may be negative)
        :type offset: int
        :param whence: io.SEEK_SET (0), io.SEEK_CUR (1) or io.SEEK_END (2)
        :type whence: int
        :returns: the new position
        :rtype: int
        :raises ValueError: the file is closed, `whence` is not one of the three, or the position would be negative
        :raises TypeError: `offset` is not an integer
        :raises InvalidArgument: the image was closed, or the ImageFile was never initialised
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        self._check_open()
        offset = _index(offset)
        if whence == _SEEK_SET:
            position = offset
        elif whence == _SEEK_CUR:
            position = self._position + offset
        elif whence == _SEEK_END:
            position = self._image.size() + offset
        else:
            raise ValueError("invalid whence (%r, should be %d, %d or %d)"
                             % (whence, _SEEK_SET, _SEEK_CUR, _SEEK_END))
        if position < 0:
            raise ValueError("negative seek position %d" % position)
        self._position = position
        return position

    def readinto(self, buffer):
        """Read into `buffer` without a copy; returns the number of bytes read, 0 at or past the end.

        `buffer` is a writable bytes-like object; the read starts at the current position, which moves past the bytes
        read.

        :param buffer: where the bytes read are stored (up to its size in bytes)
        :type buffer: writable bytes-like object
        :returns: the number of bytes read; 0 at or past the end of the image
        :rtype: int
        :raises ValueError: the file is closed
        :raises TypeError: `buffer` is not a bytes-like object, is read-only, or is not C-contiguous
        :raises InvalidArgument: the image was closed, or the ImageFile was never initialised
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageBusy: this client holds an advisory lock on the image and a read would wait forever for its
            exclusive lock (see Image.read)
        """
        self._check_open()
        view = memoryview(buffer)
        if view.readonly:
            raise TypeError("readinto() needs a writable buffer")
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        available = self._image.size() - self._position
        if available <= 0 or len(view) == 0:
            return 0
        if len(view) > available:
            view = view[:available]
        count = self._image.readinto(view, self._position)
        self._position += count
        return count

    def read(self, size=-1):
        """Up to `size` bytes from the current position; b"" at or past the end.

        All bytes up to the end of the image when `size` is negative or None. The position moves past the bytes read.

        :param size: the most bytes to read; negative or None: up to the end
        :type size: int or None
        :returns: the bytes read; fewer than `size` only at the end of the image
        :rtype: bytes
        :raises ValueError: the file is closed
        :raises TypeError: `size` is not an integer
        :raises InvalidArgument: the image was closed, or the ImageFile was never initialised
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageBusy: this client holds an advisory lock on the image and a read would wait forever for its
            exclusive lock (see Image.read)
        :raises MemoryError: the bytes cannot be allocated
        """
        self._check_open()
        if size is None or size < 0:
            return self.readall()
        available = self._image.size() - self._position
        if available <= 0 or size == 0:
            return b""
        data = self._image.read(self._position, min(size, available))
        self._position += len(data)
        return data

    def readall(self):
        """Everything from the current position to the end of the image.

        The position moves to the end. Mind the size: the whole rest of the image is read into memory.

        :returns: the bytes up to the end; b"" at or past the end
        :rtype: bytes
        :raises ValueError: the file is closed
        :raises InvalidArgument: the image was closed, or the ImageFile was never initialised
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ImageBusy: this client holds an advisory lock on the image and a read would wait forever for its
            exclusive lock (see Image.read)
        :raises MemoryError: the bytes cannot be allocated
        """
        self._check_open()
        available = self._image.size() - self._position
        if available <= 0:
            return b""
        data = self._image.read(self._position, available)
        self._position += len(data)
        return data

    def write(self, data):
        """Write `data` (any bytes-like object) at the current position; returns its length in bytes.

        Raises io.UnsupportedOperation on a read-only file, and the builtin OSError (ENOSPC) without writing
        anything when the data would pass the end of the image. The position moves past the bytes written.

        :param data: the bytes to write
        :type data: bytes-like object
        :returns: the number of bytes written: the size of `data` in bytes
        :rtype: int
        :raises io.UnsupportedOperation: the file is read-only
        :raises builtins.OSError: errno ENOSPC: the data would pass the end of the image (nothing written); images
            do not grow by writing
        :raises ValueError: the file is closed, or `data` is not C-contiguous
        :raises TypeError: `data` is a str or not a bytes-like object
        :raises InvalidArgument: the image was closed, or the ImageFile was never initialised
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ReadOnlyImage: the file was made writable over a read-only image, or this client holds an advisory
            lock on the image and it has the exclusive-lock feature
        """
        self._check_open()
        if not self._writable:
            raise _UnsupportedOperation("write: the image %s is read-only" % self._label)
        if isinstance(data, str):
            raise TypeError("write() needs a bytes-like object, not str")
        view = memoryview(data)
        count = view.nbytes
        if count == 0:
            return 0
        size = self._image.size()
        if self._position + count > size:
            raise _builtin_OSError(
                _ENOSPC,
                "cannot write %d bytes at offset %d: the image %s ends at %d bytes and images do not grow by "
                "writing (resize it first)" % (count, self._position, self._label, size))
        self._image.write(view, self._position)
        self._position += count
        return count

    def flush(self):
        """Make the writes so far persistent (librbd flush); nothing to do for a read-only file.

        :rtype: None
        :raises ValueError: the file is closed
        :raises InvalidArgument: the image was closed (writable file)
        :raises ConnectionShutdown: the image's rados.Rados was shut down (writable file)
        :raises ReadOnlyImage: this client holds an advisory lock on the image and it has the exclusive-lock feature
        """
        if self._image is None:   # never initialised: nothing to flush (io's close() calls this)
            return super().flush()
        self._check_open()
        if self._writable:
            self._image.flush()

    def close(self):
        """Flush, then close this file; the image too if the file was made with close_image=True.

        Closing twice does nothing. When the image was closed first, nothing is flushed. The file is closed (and the
        image too, with close_image=True) even when the flush raises.

        :rtype: None
        :raises ConnectionShutdown: the file is writable and the image's rados.Rados was shut down (the flush
            failed)
        :raises ReadOnlyImage: the flush was refused: this client holds an advisory lock on the image and it has the
            exclusive-lock feature
        :raises ImageBusy: close_image=True and this is called from a callback of a call still running on the image
        """
        if self.closed:
            return
        if self._image is None:  # __init__ failed: nothing to flush or close
            super().close()
            return
        try:
            if not self._image_is_open():
                self._writable = False  # the image was closed first: nothing left to flush
            super().close()  # calls flush()
        finally:
            if self._close_image:
                self._image.close()

    def _image_is_open(self):
        try:
            self._image.require_not_closed()
        except InvalidArgument:
            return False
        return True

