"""Backup streams: export, import, export-diff and import-diff in the `rbd` command-line tool's formats.

Use it as ``from rbd import streams`` (or ``import rbd.streams``). Four functions, each the counterpart of an
``rbd`` CLI command, and interoperable with it in both directions:

- ``export_diff(ioctx, name, dest, snapshot=None, from_snapshot=None, whole_object=False, on_progress=None)``
  writes the diff stream v1 (``rbd diff v1``) of image `name` between `from_snapshot` (None: from the beginning)
  and `snapshot` (None: the head), as ``rbd export-diff [--from-snap F] [--whole-object] name[@S]``.
- ``import_diff(ioctx, name, src, on_progress=None)`` applies a diff stream (v1 or v2) to an existing image and
  creates its end snapshot, as ``rbd import-diff``.
- ``export_image(ioctx, name, dest, snapshot=None, export_format=1, on_progress=None)`` writes the raw image
  (format 1) or the export format 2 (``rbd image v2``: order, features, striping and image metadata, then one
  diff v2 per snapshot, protection status included, and one for the head), as ``rbd export``. With `snapshot`,
  format 2 holds the snapshots up to that one and ends there (the CLI of 16.2 ignores the snapshot there).
- ``import_image(ioctx, name, src, export_format=1, order=None, features=None, stripe_unit=None,
  stripe_count=None, on_progress=None)`` creates image `name` from such a stream, as ``rbd import``; on failure
  the half-made image is removed, as the CLI does.

`dest` is a path (an existing file is refused, as by the CLI) or any binary file object with ``write``; `src` a
path or a binary file object with ``readinto`` or ``read``. ``on_progress(done, total)`` is called as the work
advances: exports count image bytes covered (total: the image's size, summed over the diffs for format 2);
imports count stream bytes consumed (total: the stream's size when `src` is a regular file, else None).

Behaviour as the CLI's: sparse regions are not read; data that reads as all zeros is written as a zero record
(``z``); a raw export to a regular file seeks over zero chunks (a sparse file). Writes of an import are applied
record by record: a ``w`` record is submitted only once all of it was read, so a truncated or interrupted stream
leaves whole records applied and never creates the end snapshot.

Errors: a stream that is not one (bad banner), corrupt (unknown record, record past the image's size) or
truncated raises `CorruptStream` / `TruncatedStream`; a diff starting at a snapshot the image lacks raises
`StartSnapshotMissing`, one ending at a snapshot it already has `EndSnapshotExists`, both before anything is
written. librbd's errors are raised as the module's usual exceptions; KeyboardInterrupt and a broken pipe stop
the work after the I/O in flight completed.

Memory and concurrency: reads run ahead in `queue_depth` (default 16) reader threads, each reading a whole extent
(at most `chunk_size`, default 4 MiB; larger extents are split) into one of `queue_depth` reusable buffers; the
stream is written in order. Imports keep at most `queue_depth` aio writes in flight, each from its own reusable
buffer. So an export holds at most ``queue_depth * chunk_size`` bytes of data (64 MiB by default), an import
``queue_depth`` times its largest record (64 MiB for 4 MiB objects). Every librbd call and every file read and
write runs without the GIL. Imports copy each byte once less on a connection with `ZERO_COPY_WRITES` set.
"""
import collections
import errno
import os
import queue
import stat
import struct
import threading

import rbd

DIFF_V1 = b"rbd diff v1\n"
DIFF_V2 = b"rbd diff v2\n"
IMAGE_V2 = b"rbd image v2\n"
IMAGE_DIFFS_V2 = b"rbd image diffs v2\n"
BANNER_LENGTH = len(DIFF_V1)  # both diff banners have this length

DEFAULT_QUEUE_DEPTH = 16

# Set on a Rados handle before connect() (cluster.conf_set(key, value)) to spare imports one copy of every byte:
# librbd's C API copies each write's buffer unless zero-copy writes are allowed, which is safe here (a buffer is
# reused only after librbd completed its write, and librbd holds the completion until it let go of the buffer).
# `python -m rbd` sets it.
ZERO_COPY_WRITES = ("rbd_disable_zero_copy_writes", "false")
DEFAULT_CHUNK_SIZE = 4 << 20

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_EXTENT = struct.Struct("<QQ")
_TAG_U64 = struct.Struct("<cQ")
_TAG_U64_U64 = struct.Struct("<cQQ")
_TAG_U64_U64_U64 = struct.Struct("<cQQQ")

__all__ = ["export_diff", "import_diff", "export_image", "import_image", "StreamError", "CorruptStream",
           "TruncatedStream", "StartSnapshotMissing", "EndSnapshotExists"]


class StreamError(rbd.OSError):
    """A stream that cannot be applied (base class of this module's own errors)."""
    default_errno = None

    def __init__(self, message, errno=None):
        super().__init__(message, self.default_errno if errno is None else errno)


class CorruptStream(StreamError):
    """EBADMSG: the data is not a valid stream of the expected kind (banner, record tag or record contents)."""
    prefix = "corrupt rbd stream"
    default_errno = errno.EBADMSG


class TruncatedStream(CorruptStream):
    """EBADMSG: the stream ended inside a record or before its end record."""
    prefix = "truncated rbd stream"


class StartSnapshotMissing(StreamError):
    """EINVAL: the diff starts at a snapshot the target image does not have."""
    prefix = "start snapshot missing"
    default_errno = errno.EINVAL


class EndSnapshotExists(StreamError):
    """EEXIST: the diff ends at a snapshot the target image already has."""
    prefix = "end snapshot exists"
    default_errno = errno.EEXIST


# ---------------------------------------------------------------------------------------------------------------
# Files: paths or file objects, read exactly / written whole.

class _Output:
    """A binary sink: a path (created; an existing file is refused) or a file object with write()."""

    def __init__(self, dest):
        self.owned = isinstance(dest, (str, bytes, os.PathLike))
        self.file = open(dest, "xb") if self.owned else dest
        if not hasattr(self.file, "write"):
            raise TypeError("dest must be a path or a binary file object with write(), not %s"
                            % type(dest).__name__)
        self.sparse = False
        self.position = 0
        if self.owned:
            self.sparse = True  # a file we created: regular, seekable, empty
        self.raw_write = self.file.write

    def write(self, data):
        """Write all of `data` (file objects may write less than asked: loop)."""
        view = memoryview(data)
        total = len(view)
        written = self.raw_write(view)
        while written is not None and written < total:
            more = self.raw_write(view[written:])
            written += more or 0
        self.position += total

    def skip(self, length):
        """Leave a hole of `length` zero bytes (seek on our own regular file, else write zeros)."""
        if self.sparse:
            self.file.seek(length, os.SEEK_CUR)
            self.position += length
            return
        while length:
            n = min(length, len(_ZEROS))
            self.write(memoryview(_ZEROS)[:n])
            length -= n

    def finish(self):
        if self.sparse:
            self.file.truncate(self.position)  # a hole at the end still makes the file that long
        self.file.flush()

    def close(self):
        if self.owned:
            self.file.close()


class _Input:
    """A binary source: a path or a file object with readinto() or read(); reads exactly or raises Truncated."""

    def __init__(self, src):
        self.owned = isinstance(src, (str, bytes, os.PathLike))
        self.file = open(src, "rb") if self.owned else src
        self.readinto_fn = getattr(self.file, "readinto", None)
        if self.readinto_fn is None and not hasattr(self.file, "read"):
            raise TypeError("src must be a path or a binary file object with readinto() or read(), not %s"
                            % type(src).__name__)
        self.consumed = 0
        self.total = None
        try:
            st = os.fstat(self.file.fileno())
            if stat.S_ISREG(st.st_mode):
                self.total = st.st_size - self.file.tell()
        except (AttributeError, OSError, ValueError):
            pass

    def readinto(self, view, what):
        """Fill all of `view`; TruncatedStream naming `what` if the stream ends first."""
        filled = self.read_up_to(view)
        if filled < len(view):
            raise TruncatedStream("the stream ended in %s (%d of %d bytes read)" % (what, filled, len(view)))

    def read(self, length, what):
        buf = bytearray(length)
        self.readinto(memoryview(buf), what)
        return bytes(buf)

    def read_u64(self, what):
        return _U64.unpack(self.read(8, what))[0]

    def read_up_to(self, view):
        """Fill `view` as far as the stream goes; returns the count (less than asked only at its end)."""
        filled = 0
        length = len(view)
        while filled < length:
            if self.readinto_fn is not None:
                n = self.readinto_fn(view[filled:])
            else:
                chunk = self.file.read(length - filled)
                n = len(chunk) if chunk else 0
                view[filled:filled + n] = chunk
            if not n:
                break
            filled += n
        self.consumed += filled
        return filled

    def close(self):
        if self.owned:
            self.file.close()


_ZEROS = bytes(DEFAULT_CHUNK_SIZE)


def _is_zero(view):
    """True when `view` (a memoryview of bytes) is all zeros, at memcmp speed (bytes.startswith compares the
    buffer in place; comparing memoryviews goes byte by byte, 100 times slower)."""
    length = len(view)
    offset = 0
    while offset < length:
        n = min(length - offset, len(_ZEROS))
        if not _ZEROS.startswith(view[offset:offset + n]):
            return False
        offset += n
    return True


def _progress(on_progress):
    if on_progress is not None and not callable(on_progress):
        raise TypeError("on_progress must be callable or None, not %s" % type(on_progress).__name__)
    return on_progress


# ---------------------------------------------------------------------------------------------------------------
# Reading extents ahead.

class _Extents:
    """The changed extents of an image, produced by diff_iterate on a helper thread while they are consumed.

    Iterating yields (offset, length, exists) in offset order. close() stops the iteration early.
    """
    _END = object()

    def __init__(self, image, size, from_snapshot, whole_object, include_parent=True):
        self.queue = collections.deque()
        self.cond = threading.Condition()
        self.stop = False
        self.error = None
        self.done = False
        self.thread = threading.Thread(target=self._run, name="rbd-streams-diff",
                                       args=(image, size, from_snapshot, whole_object, include_parent),
                                       daemon=True)
        self.thread.start()

    def _run(self, image, size, from_snapshot, whole_object, include_parent):
        def callback(offset, length, exists):
            if self.stop:
                return -errno.ECANCELED
            # Handed over at once: the first reads start while librbd still compares the later objects.
            with self.cond:
                self.queue.append((offset, length, exists))
                self.cond.notify()
            return 0

        try:
            if size:
                image.diff_iterate(0, size, from_snapshot, callback, include_parent=include_parent,
                                   whole_object=whole_object)
        except BaseException as exc:  # handed to the consumer
            self.error = exc
        with self.cond:
            self.done = True
            self.cond.notify_all()

    def __iter__(self):
        while True:
            with self.cond:
                while not self.queue and not self.done:
                    self.cond.wait()
                batch = list(self.queue)
                self.queue.clear()
                done = self.done
            yield from batch
            if done and not batch:
                if self.error is not None and not self.stop:
                    raise self.error
                return

    def close(self):
        self.stop = True
        self.thread.join()


class _ReadAhead:
    """Reads pieces of an image ahead into `depth` reusable buffers on `depth` threads; results in order.

    add(offset, length, data) queues a piece (data=False: a hole, nothing is read); each piece comes back from
    the `ready` callback as (offset, length, view or None), in the order added. At most `depth` reads are in
    flight, each into its own buffer of `chunk` bytes (allocated when first needed).
    """

    def __init__(self, image, depth, chunk, ready):
        self.image = image
        self.depth = depth
        self.chunk = chunk
        self.free = []
        self.allocated = 0
        self.threads = []
        self.jobs = queue.SimpleQueue()
        self.cond = threading.Condition()
        self.cancelled = False
        self.pending = collections.deque()   # [offset, length, buf, view, state, result]; state: 0 queued, 1 done
        self.ready = ready

    def _worker(self):
        while True:
            job = self.jobs.get()
            if job is None:
                return
            if not self.cancelled:
                try:
                    job[5] = self.image.readinto(job[3], job[0])
                except BaseException as exc:  # handed to the consumer
                    job[5] = exc
            with self.cond:
                job[4] = 1
                self.cond.notify_all()

    def _buffer(self):
        while not self.free:
            if self.allocated < self.depth:
                self.allocated += 1
                self.threads.append(threading.Thread(target=self._worker, name="rbd-streams-read", daemon=True))
                self.threads[-1].start()
                return bytearray(self.chunk)
            self._deliver_oldest()
        return self.free.pop()

    def add(self, offset, length, data):
        while length:
            n = min(length, self.chunk)
            if data:
                buf = self._buffer()
                job = [offset, n, buf, memoryview(buf)[:n], 0, None]
                self.pending.append(job)
                self.jobs.put(job)
            else:
                self.pending.append([offset, n, None, None, 1, None])
            offset += n
            length -= n
            # Hand over whatever is already done, so the writer keeps up with the readers.
            while self.pending and self.pending[0][4]:
                self._deliver_oldest()

    def _deliver_oldest(self):
        job = self.pending[0]
        if not job[4]:
            with self.cond:
                while not job[4]:
                    self.cond.wait()
        self.pending.popleft()
        offset, length, buf, view, _, result = job
        if buf is None:
            self.ready(offset, length, None)
            return
        try:
            if isinstance(result, BaseException):
                raise result
            if result != length:
                raise rbd.IOError("short read at %d: %d of %d bytes" % (offset, result, length), errno.EIO)
            self.ready(offset, length, view)
        finally:
            view.release()
            self.free.append(buf)

    def finish(self):
        while self.pending:
            self._deliver_oldest()

    def close(self):
        """Stop the readers once the reads in flight are done (also after an error: their buffers must
        outlive them)."""
        self.cancelled = True
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()
        self.pending.clear()


# ---------------------------------------------------------------------------------------------------------------
# Writing diffs.

def _name_record(tag, name, v2):
    data = name.encode() if isinstance(name, str) else bytes(name)
    body = _U32.pack(len(data)) + data
    return tag + (_U64.pack(len(body)) if v2 else b"") + body


def _write_diff(image, out, from_snapshot, to_snapshot, size, v2, whole_object, protected, progress, queue_depth,
                chunk_size):
    """Write one diff stream (banner to end record) of `image` (open at `to_snapshot` or the head)."""
    out.write(DIFF_V2 if v2 else DIFF_V1)
    if from_snapshot is not None:
        out.write(_name_record(b"f", from_snapshot, v2))
    if to_snapshot is not None:
        out.write(_name_record(b"t", to_snapshot, v2))
        if v2:
            # One byte, declared as such (the CLI of 16.2 declares 8 and writes 1; later ones declare 1; every
            # CLI reads one byte whatever the declared length).
            out.write(b"p" + _U64.pack(1) + (b"\x01" if protected else b"\x00"))
    out.write(_TAG_U64_U64.pack(b"s", 8, size) if v2 else _TAG_U64.pack(b"s", size))

    def ready(offset, length, view):
        if view is None or _is_zero(view):
            out.write(_TAG_U64_U64_U64.pack(b"z", 16, offset, length) if v2
                      else _TAG_U64_U64.pack(b"z", offset, length))
        else:
            out.write(_TAG_U64_U64_U64.pack(b"w", 16 + length, offset, length) if v2
                      else _TAG_U64_U64.pack(b"w", offset, length))
            out.write(view)
        progress(offset + length)

    extents = _Extents(image, size, from_snapshot, whole_object)
    reader = _ReadAhead(image, queue_depth, chunk_size, ready)
    try:
        for offset, length, exists in extents:
            reader.add(offset, length, exists)
        reader.finish()
    finally:
        reader.close()
        extents.close()
    out.write(b"e")
    progress(size)


def _open_for_reading(ioctx, name, snapshot):
    return rbd.Image(ioctx, name, snapshot=snapshot, read_only=True)


def export_diff(ioctx, name, dest, snapshot=None, from_snapshot=None, whole_object=False, on_progress=None,
                queue_depth=DEFAULT_QUEUE_DEPTH, chunk_size=DEFAULT_CHUNK_SIZE):
    """Write the diff (stream v1) of image `name` from `from_snapshot` (None: from the beginning) to `snapshot`
    (None: the head) into `dest` (a path, created, or a binary file object); returns the bytes written.

    As ``rbd export-diff [--from-snap FROM] [--whole-object] NAME[@SNAPSHOT] DEST``. See the module docstring.
    """
    on_progress = _progress(on_progress)
    _check_tuning(queue_depth, chunk_size)
    with _open_for_reading(ioctx, name, snapshot) as image:
        if from_snapshot is not None and not image.snap_exists(from_snapshot):
            raise rbd.ImageNotFound("snapshot %s of image %s not found" % (from_snapshot, name), errno.ENOENT)
        size = image.size()
        out = _Output(dest)
        try:
            def progress(done):
                if on_progress is not None:
                    on_progress(done, size)
            _write_diff(image, out, from_snapshot, snapshot, size, False, whole_object, False, progress,
                        queue_depth, chunk_size)
            out.finish()
        finally:
            out.close()
        return out.position


def _check_tuning(queue_depth, chunk_size):
    if not isinstance(queue_depth, int) or not 1 <= queue_depth <= 256:
        raise rbd.InvalidArgument("queue_depth must be an int from 1 to 256, not %r" % (queue_depth,), errno.EINVAL)
    if not isinstance(chunk_size, int) or not 4096 <= chunk_size <= 256 << 20:
        raise rbd.InvalidArgument("chunk_size must be an int from 4096 to 256 MiB, not %r" % (chunk_size,),
                                  errno.EINVAL)


def _user_snaps(image):
    """The image's user snapshots (name, id, size), oldest first."""
    snaps = [s for s in image.list_snaps() if s.get("namespace", rbd.RBD_SNAP_NAMESPACE_TYPE_USER)
             == rbd.RBD_SNAP_NAMESPACE_TYPE_USER]
    snaps.sort(key=lambda s: s["id"])
    return snaps


def export_image(ioctx, name, dest, snapshot=None, export_format=1, on_progress=None,
                 queue_depth=DEFAULT_QUEUE_DEPTH, chunk_size=DEFAULT_CHUNK_SIZE):
    """Export image `name` (at `snapshot`, None: the head) into `dest`; returns the bytes written.

    `export_format` 1 writes the raw image (holes left as holes in a new regular file); 2 writes the
    ``rbd image v2`` stream with the image's order, features, striping, metadata and every snapshot (up to
    `snapshot`), as ``rbd export --export-format 2``.
    """
    on_progress = _progress(on_progress)
    _check_tuning(queue_depth, chunk_size)
    if export_format not in (1, 2):
        raise rbd.InvalidArgument("export_format must be 1 or 2, not %r" % (export_format,), errno.EINVAL)
    with _open_for_reading(ioctx, name, snapshot) as image:
        out = _Output(dest)
        try:
            if export_format == 1:
                _export_raw(image, out, on_progress, queue_depth, chunk_size)
            else:
                _export_v2(ioctx, name, image, snapshot, out, on_progress, queue_depth, chunk_size)
            out.finish()
        finally:
            out.close()
        return out.position


def _export_raw(image, out, on_progress, queue_depth, chunk_size):
    size = image.size()

    def ready(offset, length, view):
        if offset > out.position:
            out.skip(offset - out.position)  # a hole diff_iterate did not report
        # Zero data becomes a hole only in a file of our own; elsewhere skip() would write the same zeros, so the
        # check would be a wasted pass over the data.
        if view is None or (out.sparse and _is_zero(view)):
            out.skip(length)
        else:
            out.write(view)
        if on_progress is not None:
            on_progress(offset + length, size)

    # Whole objects: with fast-diff librbd answers from the object map instead of asking every object; the
    # extents only need to cover the data (the reads return exact bytes, zeros included).
    extents = _Extents(image, size, None, True)
    reader = _ReadAhead(image, queue_depth, chunk_size, ready)
    try:
        for offset, length, exists in extents:
            reader.add(offset, length, exists)
        reader.finish()
    finally:
        reader.close()
        extents.close()
    if out.position < size:
        out.skip(size - out.position)
    if on_progress is not None:
        on_progress(size, size)


def _export_v2(ioctx, name, image, snapshot, out, on_progress, queue_depth, chunk_size):
    info = image.stat()
    out.write(IMAGE_V2)
    for tag, value in ((b"O", info["order"]), (b"T", image.features()), (b"U", image.stripe_unit()),
                       (b"C", image.stripe_count())):
        out.write(_TAG_U64_U64.pack(tag, 8, value))
    for key, value in image.metadata_list():
        body = b"".join(_U32.pack(len(x)) + x for x in (key.encode(), value.encode()))
        out.write(b"M" + _U64.pack(len(body)) + body)
    out.write(b"E")

    snaps = _user_snaps(image)
    if snapshot is not None:
        names = [s["name"] for s in snaps]
        snaps = snaps[:names.index(snapshot) + 1]
    steps = [(s["name"], s["size"]) for s in snaps]
    if snapshot is None:
        steps.append((None, image.size()))
    out.write(IMAGE_DIFFS_V2 + _U64.pack(len(steps)))
    total = sum(size for _, size in steps)
    base = 0
    previous = None
    for snap_name, size in steps:
        with _open_for_reading(ioctx, name, snap_name) as at:
            protected = snap_name is not None and image.is_protected_snap(snap_name)

            def progress(done, base=base):
                if on_progress is not None:
                    on_progress(base + done, total)
            _write_diff(at, out, previous, snap_name, size, True, False, protected, progress, queue_depth,
                        chunk_size)
        base += size
        previous = snap_name


# ---------------------------------------------------------------------------------------------------------------
# Applying diffs.

class _Writer:
    """Pipelined aio writes into an image: at most `depth` in flight, each from its own reusable buffer.

    Overlapping writes are never in flight together (the later waits), so records apply in stream order.
    """

    def __init__(self, image, depth):
        self.image = image
        self.cond = threading.Condition()
        self.free = [bytearray() for _ in range(depth)]
        self.in_flight = {}   # id -> (offset, end)
        self.next_id = 0
        self.error = None

    def buffer(self, length):
        """A free buffer of at least `length` bytes (waits for one)."""
        with self.cond:
            while not self.free:
                self.cond.wait()
            self._raise_error()
            buf = self.free.pop()
        if len(buf) < length:
            buf = bytearray(length)
        return buf

    def give_back(self, buf):
        with self.cond:
            self.free.append(buf)
            self.cond.notify_all()

    def _raise_error(self):
        if self.error is not None:
            raise self.error

    def _wait_no_overlap(self, offset, end):
        with self.cond:
            while any(o < end and offset < e for o, e in self.in_flight.values()):
                self.cond.wait()
            self._raise_error()
            op = self.next_id
            self.next_id += 1
            self.in_flight[op] = (offset, end)
        return op

    def _done(self, op, ret, what, buf):
        with self.cond:
            del self.in_flight[op]
            if ret < 0 and self.error is None:
                self.error = rbd.IOError("error %s: %s" % (what, os.strerror(-ret)), -ret)
            if buf is not None:
                self.free.append(buf)
            self.cond.notify_all()

    def write(self, buf, length, offset):
        """Write the first `length` bytes of `buf` (taken from buffer()) at `offset`; the buffer is given back
        once written."""
        op = self._wait_no_overlap(offset, offset + length)
        view = memoryview(buf)[:length]
        what = "writing %d~%d" % (offset, length)
        try:
            self.image.aio_write(view, offset, lambda comp: self._done(op, comp.get_return_value(), what, buf))
        except BaseException:
            self._done(op, 0, what, buf)
            raise

    def zero(self, offset, length):
        op = self._wait_no_overlap(offset, offset + length)
        what = "zeroing %d~%d" % (offset, length)
        try:
            self.image.aio_write_zeroes(offset, length,
                                        lambda comp: self._done(op, comp.get_return_value(), what, None))
        except BaseException:
            self._done(op, 0, what, None)
            raise

    def drain(self, check=True):
        """Wait until no write is in flight; raise the first write error (unless check is False)."""
        with self.cond:
            while self.in_flight:
                self.cond.wait()
            if check:
                self._raise_error()


def _read_banner(inp, expected):
    banner = inp.read(BANNER_LENGTH, "the banner")
    if banner not in expected:
        raise CorruptStream("unexpected banner %r (expected %s)"
                            % (banner, " or ".join(repr(e) for e in expected)), errno.EINVAL)
    return banner


def _apply_diff(image, inp, v2, progress, writer, on_snapshot=None):
    """Apply the records of one diff stream (after its banner) to `image`; returns the end snapshot's name.

    The end snapshot is created (and protected, for a v2 'p' record) after every write completed.
    """
    end_snapshot = None
    protected = False
    size = image.size()
    image_name = image.get_name()
    while True:
        tag = inp.read(1, "a record tag")
        if tag == b"e":
            break
        length = inp.read_u64("the length of a %r record" % tag) if v2 else None
        if tag in (b"f", b"t"):
            name_length = _U32.unpack(inp.read(4, "a snapshot name"))[0]
            if name_length > 4096 or (v2 and length != 4 + name_length):
                raise CorruptStream("snapshot name record of %d bytes" % name_length)
            snap = inp.read(name_length, "a snapshot name").decode("utf-8", "surrogateescape")
            if tag == b"f":
                if not image.snap_exists(snap):
                    raise StartSnapshotMissing("the diff starts at snapshot %r, which image %s lacks"
                                               % (snap, image_name))
            else:
                if image.snap_exists(snap):
                    raise EndSnapshotExists("the diff ends at snapshot %r, which image %s already has"
                                            % (snap, image_name))
                end_snapshot = snap
        elif tag == b"p" and v2:
            if length not in (1, 8):  # 8: what the CLI of 16.2 declares for its one byte
                raise CorruptStream("protection record of %d bytes" % length)
            protected = inp.read(1, "a protection record") != b"\x00"
        elif tag == b"s":
            if v2 and length != 8:
                raise CorruptStream("size record of %d bytes" % length)
            new_size = inp.read_u64("the image size")
            if new_size != size:
                writer.drain()
                image.resize(new_size)
                size = new_size
        elif tag in (b"w", b"z"):
            offset, extent = _EXTENT.unpack(inp.read(16, "an extent"))
            if offset + extent > size:
                raise CorruptStream("%s record %d~%d past the end of the %d-byte image"
                                    % ("write" if tag == b"w" else "zero", offset, extent, size))
            if v2 and length != 16 + (extent if tag == b"w" else 0):
                raise CorruptStream("%r record of %d bytes for %d~%d" % (tag, length, offset, extent))
            if tag == b"w" and extent:
                buf = writer.buffer(extent)
                try:
                    with memoryview(buf) as view:
                        inp.readinto(view[:extent], "write data")
                except BaseException:
                    writer.give_back(buf)
                    raise
                writer.write(buf, extent, offset)
            elif tag == b"z" and extent:
                writer.zero(offset, extent)
            progress()
        elif v2:
            # Unknown records of v2 are skipped by their length (that is what the length is for).
            while length:
                n = min(length, 1 << 20)
                inp.read(n, "an unknown record")
                length -= n
        else:
            raise CorruptStream("unknown record tag %r in a v1 diff" % tag)
    writer.drain()
    image.flush()
    if end_snapshot is not None:
        image.create_snap(end_snapshot)
        if protected:
            image.protect_snap(end_snapshot)
        if on_snapshot is not None:
            on_snapshot(end_snapshot)
    return end_snapshot


def _applying(image, inp, v2, on_progress, queue_depth):
    writer = _Writer(image, queue_depth)

    def progress():
        if on_progress is not None:
            on_progress(inp.consumed, inp.total)
    try:
        return _apply_diff(image, inp, v2, progress, writer)
    finally:
        writer.drain(check=False)  # also on errors and interruption: nothing in flight outlives the call


def import_diff(ioctx, name, src, on_progress=None, queue_depth=DEFAULT_QUEUE_DEPTH):
    """Apply a diff stream (v1 or v2) from `src` (a path or a binary file object) to the existing image
    `name`, then create the stream's end snapshot; returns its name (None for a diff to a head).

    As ``rbd import-diff SRC NAME``: the image is resized to the stream's size first; a stream starting at a
    snapshot the image lacks raises StartSnapshotMissing and one ending at a snapshot it has EndSnapshotExists.
    """
    on_progress = _progress(on_progress)
    _check_tuning(queue_depth, DEFAULT_CHUNK_SIZE)
    inp = _Input(src)
    try:
        with rbd.Image(ioctx, name) as image:
            banner = _read_banner(inp, (DIFF_V1, DIFF_V2))
            return _applying(image, inp, banner == DIFF_V2, on_progress, queue_depth)
    finally:
        inp.close()


def import_image(ioctx, name, src, export_format=1, order=None, features=None, stripe_unit=None,
                 stripe_count=None, on_progress=None, queue_depth=DEFAULT_QUEUE_DEPTH,
                 chunk_size=DEFAULT_CHUNK_SIZE):
    """Create image `name` from `src` (a path or binary file object) holding a raw image (`export_format` 1)
    or an ``rbd image v2`` stream (2, with its snapshots, protection and metadata); as ``rbd import``.

    `order`, `features`, `stripe_unit` and `stripe_count` override the stream's (format 2) or librbd's defaults.
    A raw stream that is not a regular file grows the image as it is read. On any failure the image is
    removed again, as the CLI does.
    """
    on_progress = _progress(on_progress)
    _check_tuning(queue_depth, chunk_size)
    if export_format not in (1, 2):
        raise rbd.InvalidArgument("export_format must be 1 or 2, not %r" % (export_format,), errno.EINVAL)
    inp = _Input(src)
    created = []
    try:
        if export_format == 1:
            _import_raw(ioctx, name, inp, order, features, stripe_unit, stripe_count, on_progress, queue_depth,
                        chunk_size, created)
        else:
            _import_v2(ioctx, name, inp, order, features, stripe_unit, stripe_count, on_progress, queue_depth,
                       created)
    except BaseException:
        if created:
            _remove_image(ioctx, name)
        raise
    finally:
        inp.close()


def _create(ioctx, name, size, order, features, stripe_unit, stripe_count, created):
    rbd.RBD().create(ioctx, name, size, order=order, old_format=False, features=features,
                     stripe_unit=stripe_unit, stripe_count=stripe_count)
    created.append(name)


def _remove_image(ioctx, name):
    try:
        with rbd.Image(ioctx, name) as image:
            for snap in _user_snaps(image):
                if image.is_protected_snap(snap["name"]):
                    image.unprotect_snap(snap["name"])
                image.remove_snap(snap["name"])
        rbd.RBD().remove(ioctx, name)
    except rbd.Error:
        pass  # best effort: the error being raised is the one that matters


def _import_raw(ioctx, name, inp, order, features, stripe_unit, stripe_count, on_progress, queue_depth,
                chunk_size, created):
    known = inp.total
    _create(ioctx, name, known or 0, order, features, stripe_unit, stripe_count, created)
    with rbd.Image(ioctx, name) as image:
        writer = _Writer(image, queue_depth)
        size = known or 0
        offset = 0
        try:
            while True:
                buf = writer.buffer(chunk_size)
                with memoryview(buf) as view:
                    filled = inp.read_up_to(view[:chunk_size])
                    zero = filled and _is_zero(view[:filled])
                if not filled or zero:
                    writer.give_back(buf)
                if not filled:
                    break
                if offset + filled > size:
                    # A stream of unknown size: grow ahead in big steps, trimmed at the end.
                    writer.drain()
                    size = max(offset + filled, 2 * size)
                    image.resize(size)
                if not zero:
                    writer.write(buf, filled, offset)
                offset += filled
                if on_progress is not None:
                    on_progress(inp.consumed, inp.total)
            writer.drain()
            if size != offset:
                image.resize(offset)
            image.flush()
        finally:
            writer.drain(check=False)


def _import_v2(ioctx, name, inp, order, features, stripe_unit, stripe_count, on_progress, queue_depth, created):
    if inp.read(len(IMAGE_V2), "the banner") != IMAGE_V2:
        raise CorruptStream("not an rbd image v2 stream", errno.EINVAL)
    header = {}
    metadata = []
    while True:
        tag = inp.read(1, "an image header record")
        if tag == b"E":
            break
        length = inp.read_u64("an image header record")
        if length > 1 << 20:
            raise CorruptStream("image header record %r of %d bytes" % (tag, length))
        body = inp.read(length, "an image header record")
        if tag in (b"O", b"T", b"U", b"C"):
            if length != 8:
                raise CorruptStream("image header record %r of %d bytes" % (tag, length))
            header[tag] = _U64.unpack(body)[0]
        elif tag == b"M":
            try:
                key_length = _U32.unpack_from(body)[0]
                key = body[4:4 + key_length]
                value_length = _U32.unpack_from(body, 4 + key_length)[0]
                value = body[8 + key_length:8 + key_length + value_length]
            except struct.error:
                raise CorruptStream("image metadata record of %d bytes" % length) from None
            if 8 + key_length + value_length != length:
                raise CorruptStream("image metadata record of %d bytes" % length)
            metadata.append((key, value))
        # Unknown header records are skipped by their length.
    if inp.read(len(IMAGE_DIFFS_V2), "the diffs banner") != IMAGE_DIFFS_V2:
        raise CorruptStream("no image diffs banner after the image header")
    count = inp.read_u64("the number of diffs")
    _create(ioctx, name, 0, order if order is not None else header.get(b"O"),
            features if features is not None else header.get(b"T"),
            stripe_unit if stripe_unit is not None else header.get(b"U"),
            stripe_count if stripe_count is not None else header.get(b"C"), created)
    with rbd.Image(ioctx, name) as image:
        for key, value in metadata:
            image.metadata_set(key, value)
        for _ in range(count):
            _read_banner(inp, (DIFF_V2,))
            _applying(image, inp, True, on_progress, queue_depth)
