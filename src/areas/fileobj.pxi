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
        """True: images can always be read."""
        self._check_open()
        return True

    def writable(self):
        """True unless the image (or this file) is read-only."""
        self._check_open()
        return self._writable

    def seekable(self):
        """True: any position can be set, also past the end."""
        self._check_open()
        return True

    def tell(self):
        """The current position."""
        self._check_open()
        return self._position

    def seek(self, offset, whence=_io.SEEK_SET):
        """Move to `offset` from the start (SEEK_SET), the current position (SEEK_CUR) or the end of the image
        (SEEK_END); returns the new position. Past the end is allowed; before the start raises ValueError."""
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
        """Read into `buffer` (a writable bytes-like object) without a copy; returns the number of bytes read,
        0 at or past the end of the image."""
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
        """Up to `size` bytes from the current position (all up to the end when `size` is negative or None);
        b"" at or past the end."""
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
        """Everything from the current position to the end of the image."""
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
        anything when the data would pass the end of the image.
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
        """Make the writes so far persistent (librbd flush); nothing to do for a read-only file."""
        if self._image is None:   # never initialised: nothing to flush (io's close() calls this)
            return super().flush()
        self._check_open()
        if self._writable:
            self._image.flush()

    def close(self):
        """Flush, then close this file; the image too if the file was made with close_image=True."""
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

