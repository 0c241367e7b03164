# Asynchronous I/O: Completion, Image.aio_*, RBD.aio_open_image, and the asyncio layer (AsyncImage).
#
# Callbacks. librbd calls completion callbacks on its own threads. Running Python there (as upstream does) means
# taking the GIL on a librbd thread, and a Python callback that then calls a blocking librbd function (close(),
# a sync read on the same image, ...) can deadlock librbd's completion processing. Here the C callback never
# touches Python: it only pushes the completion's node onto a C queue (pthread mutex + condvar). One Python daemon
# thread, the dispatcher, drains that queue in batches, runs the Python callbacks holding the GIL, drops the
# references and only then marks each completion "callback done" (with the GIL still held, so nobody can observe
# the references it held). `wait_for_complete_and_cb()` waits, without the GIL, for that mark.
#
# Lifetimes. Every Completion holds one extra reference from submission until the dispatcher ran its callback
# (whether or not an oncomplete was given, and whether or not the caller keeps the Completion). The Completion
# owns the read buffer and the Py_buffer of the written data until then, and keeps the Image alive. Each image
# counts its aio operations still inside librbd (an atomic counter decremented by the C callback, not by the
# dispatcher, so that a callback may close the image without waiting for itself); `close()` waits for it.
#
# asyncio. `AsyncImage` owns its own rbd_image_t with librbd's event notification enabled (an eventfd watched by
# the running loop's add_reader); completions are created without a C callback and harvested on the loop thread
# with rbd_poll_io_events, so no librbd thread ever needs the GIL for them.

from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from libc.errno cimport errno as c_errno
import threading as _threading

# Taken once at import (see helpers/interpreters.pxi).
cdef object _exc_info = sys.exc_info

cdef extern from "<pthread.h>" nogil:
    ctypedef struct pthread_mutex_t:
        pass
    ctypedef struct pthread_cond_t:
        pass
    int pthread_mutex_init(pthread_mutex_t *, void *)
    int pthread_mutex_lock(pthread_mutex_t *)
    int pthread_mutex_unlock(pthread_mutex_t *)
    int pthread_cond_init(pthread_cond_t *, void *)
    int pthread_cond_wait(pthread_cond_t *, pthread_mutex_t *)
    int pthread_cond_timedwait(pthread_cond_t *, pthread_mutex_t *, const timespec *)
    int pthread_cond_broadcast(pthread_cond_t *)
    int pthread_cond_signal(pthread_cond_t *)
    int pthread_atfork(void (*prepare)() noexcept nogil, void (*parent)() noexcept nogil,
                       void (*child)() noexcept nogil)

cdef extern from "pythread.h":
    unsigned long PyThread_get_thread_ident() nogil

cdef extern from "<unistd.h>" nogil:
    ssize_t c_read "read"(int fd, void *buf, size_t count)
    int c_close "close"(int fd)

cdef extern from "<sys/eventfd.h>" nogil:
    int eventfd(unsigned int initval, int flags)
    enum:
        EFD_NONBLOCK
        EFD_CLOEXEC

cdef extern from *:
    """
    static inline void rbd_py_atomic_add(int *counter, int delta) {
        __atomic_add_fetch(counter, delta, __ATOMIC_SEQ_CST);
    }
    static inline int rbd_py_atomic_load(int *counter) {
        return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
    }
    """
    void atomic_add "rbd_py_atomic_add"(int *counter, int delta) nogil
    int atomic_load "rbd_py_atomic_load"(int *counter) nogil


# What a completion's callback receives besides the Completion.
cdef enum CompletionKind:
    KIND_PLAIN = 0           # oncomplete(comp)
    KIND_READ = 1            # oncomplete(comp, data or None)
    KIND_SNAP_ID = 2         # oncomplete(comp, snap_id or None)
    KIND_MIRROR_INFO = 3     # oncomplete(comp, info dict or None)
    KIND_MIRROR_MODE = 4     # oncomplete(comp, mode or None)
    KIND_OPEN = 5            # oncomplete(comp, image)
    KIND_COMPARE = 6         # oncomplete(comp, None or the exception); `buf` is the _CompareWrite


# The C side of a Completion: what the librbd thread and the dispatcher share without the GIL.
cdef struct aio_node:
    PyObject *owner          # the Completion (kept alive by its submission reference until dispatched)
    aio_node *next
    aio_queue *queue         # the dispatcher queue of the interpreter that submitted it
    int *image_counter       # the image's aio counter, decremented when librbd completes (NULL: none)
    int done                 # set by the dispatcher once the Python callback ran and references were dropped
    uint64_t snap_id
    rbd_mirror_image_mode_t mirror_mode
    rbd_mirror_image_info_t mirror_info


# One interpreter's queue of completed operations (see helpers/interpreters.pxi: each interpreter has its own
# dispatcher thread, since a thread belongs to one interpreter and runs that interpreter's callbacks).
cdef struct aio_queue:
    pthread_mutex_t lock
    pthread_cond_t ready         # signalled when the queue becomes non-empty, or stopping is asked
    pthread_cond_t batch_done    # broadcast after each dispatched batch
    aio_node *head
    aio_node *tail
    int stop                     # the dispatcher ends once the queue is empty
    int running                  # a dispatcher thread exists for it (reset in a forked child)
    int pending                  # submitted and not yet dispatched (changed with the GIL held)
    unsigned long thread_ident   # the dispatcher thread's
    aio_queue *next_queue        # every queue, for the fork handler


cdef aio_queue *_all_queues = NULL


cdef void _init_queue(aio_queue *q) noexcept nogil:
    pthread_mutex_init(&q.lock, NULL)
    pthread_cond_init(&q.ready, NULL)
    pthread_cond_init(&q.batch_done, NULL)
    q.head = q.tail = NULL
    q.stop = 0
    q.running = 0
    q.thread_ident = 0


cdef void _reset_queues_in_child() noexcept nogil:
    """After fork(), in the child: no dispatcher thread exists there, and the parent's queues and locks are
    meaningless (its librbd threads are gone too). The next submission starts a new dispatcher."""
    cdef aio_queue *q = _all_queues
    while q != NULL:
        _init_queue(q)
        q.pending = 0
        q = q.next_queue


# A fork handler rather than a getpid() per submission: that was a system call on every aio operation.
# Registered once per process: the module body runs once, whatever the number of interpreters.
pthread_atfork(NULL, NULL, _reset_queues_in_child)


cdef void _aio_complete_cb(rbd_completion_t comp, void *arg) noexcept nogil:
    """librbd's completion callback (any librbd thread, no GIL): queue the node for its dispatcher."""
    cdef aio_node *node = <aio_node *>arg
    cdef aio_queue *q = node.queue
    if node.image_counter != NULL:
        atomic_add(node.image_counter, -1)
    node.next = NULL
    pthread_mutex_lock(&q.lock)
    if q.tail == NULL:
        q.head = node
        pthread_cond_signal(&q.ready)
    else:
        q.tail.next = node
    q.tail = node
    pthread_mutex_unlock(&q.lock)


cdef class _AioDispatcher:
    """One interpreter's dispatcher: a daemon thread that runs the Python side of completed operations."""
    cdef aio_queue *q
    cdef object thread

    def __cinit__(self):
        global _all_queues
        self.q = <aio_queue *>malloc(sizeof(aio_queue))
        if self.q == NULL:
            raise MemoryError("cannot allocate an aio queue")
        memset(self.q, 0, sizeof(aio_queue))
        _init_queue(self.q)
        self.q.next_queue = _all_queues
        _all_queues = self.q

    cdef int ensure_running(self) except -1:
        """Start the thread the first time (and again in a forked child, where it does not exist)."""
        if self.q.running:
            return 0
        self.q.stop = 0
        # This interpreter's threading module (the module global `_threading` is the first interpreter's).
        import threading
        thread = threading.Thread(target=self._loop, name="rbd-aio-dispatcher", daemon=True)
        thread.start()
        self.thread = thread
        self.q.running = 1
        return 0

    def _loop(self):
        """The thread: run the Python side of completed operations, a batch at a time, until stopped."""
        cdef aio_queue *q = self.q
        cdef aio_node *batch
        cdef aio_node *node
        cdef aio_node *next_node
        q.thread_ident = PyThread_get_thread_ident()
        while True:
            with nogil:
                pthread_mutex_lock(&q.lock)
                while q.head == NULL and not q.stop:
                    pthread_cond_wait(&q.ready, &q.lock)
                batch = q.head
                q.head = q.tail = NULL
                pthread_mutex_unlock(&q.lock)
            if batch == NULL:
                return   # stopping, and nothing left to dispatch
            node = batch
            while node != NULL:
                next_node = node.next   # the node may be freed by _dispatch_one
                _dispatch_one(node)
                node = next_node
            with nogil:
                pthread_mutex_lock(&q.lock)
                pthread_cond_broadcast(&q.batch_done)
                pthread_mutex_unlock(&q.lock)

    cdef int stop(self) except -1:
        """At the interpreter's exit: let the thread dispatch what is queued, end it and wait for it."""
        global _all_queues
        cdef aio_queue *q = self.q
        cdef aio_queue **link
        if q.running:
            with nogil:
                pthread_mutex_lock(&q.lock)
                q.stop = 1
                pthread_cond_signal(&q.ready)
                pthread_mutex_unlock(&q.lock)
            self.thread.join()
            self.thread = None
            q.running = 0
        if q.pending == 0:
            # Nothing can complete into it any more. (Otherwise it stays: librbd may still call back into it.)
            link = &_all_queues
            while link[0] != q:
                link = &link[0].next_queue
            link[0] = q.next_queue
            free(q)
            self.q = NULL
        return 0


cdef void _dispatch_one(aio_node *node) noexcept:
    cdef Completion comp = <Completion>node.owner   # a new reference, besides the submission reference
    cdef aio_queue *q = node.queue
    comp._run_callback()
    # Drop every reference the dispatcher holds before marking the node done: the GIL stays held from here on,
    # so a waiter only sees the completion once these references are gone.
    Py_DECREF(comp)             # the submission reference
    q.pending -= 1
    pthread_mutex_lock(&q.lock)
    node.done = 1
    pthread_mutex_unlock(&q.lock)
    comp = None                 # may free the Completion and its node


cdef _AioDispatcher _current_dispatcher():
    """The running dispatcher of the calling interpreter."""
    cdef _Interpreter interpreter = current_interpreter()
    if interpreter.exiting:
        raise InvalidArgument("the interpreter is exiting: no new asynchronous operations")
    if interpreter.dispatcher is None:
        interpreter.dispatcher = _AioDispatcher()
    cdef _AioDispatcher dispatcher = <_AioDispatcher>interpreter.dispatcher
    dispatcher.ensure_running()
    return dispatcher


cdef class Completion:
    """Completion()
--

The handle of one asynchronous operation; passed to its `oncomplete` callback.

    Created by the `aio_*` methods, not by users. It stays alive until librbd finished the operation and the
    callback ran, whether or not the caller keeps a reference to it.
    """
    cdef rbd_completion_t rbd_comp
    cdef aio_node *node
    cdef object image
    cdef object oncomplete
    cdef int kind
    cdef object buf             # aio_read's output bytes; aio_compare_and_writev's _CompareWrite
    cdef Py_buffer view         # aio_write's data, held until completion
    cdef bint has_view
    cdef object exc_info
    cdef bint submitted
    # aio_open_image read-only at a snapshot (helpers/releases.pxi, OPEN_READ_ONLY_AT_HEAD_THEN_SNAP_SET): librbd
    # opens the head, the dispatcher then sets this snapshot; its error, if any, replaces librbd's return value.
    cdef bytes open_snap
    cdef bint has_own_ret
    cdef ssize_t own_ret

    def __cinit__(self):
        self.rbd_comp = NULL
        self.has_own_ret = False
        self.has_view = False
        self.submitted = False
        self.node = <aio_node *>malloc(sizeof(aio_node))
        if self.node == NULL:
            raise MemoryError("cannot allocate a completion")
        memset(self.node, 0, sizeof(aio_node))
        self.node.owner = <PyObject *>self

    def __dealloc__(self):
        if self.has_view:
            PyBuffer_Release(&self.view)
            self.has_view = False
        if self.rbd_comp != NULL:
            with nogil:
                rbd_aio_release(self.rbd_comp)
            self.rbd_comp = NULL
        free(self.node)
        self.node = NULL

    def __repr__(self):
        return "<rbd.Completion %s>" % ("complete" if self.node.done else "pending")

    cdef int _setup(self, object image, object oncomplete, int kind, int *counter) except -1:
        """Create the librbd completion; then call `_submitted(ret)` right after the librbd call."""
        self.image = image
        self.oncomplete = oncomplete
        self.kind = kind
        self.node.image_counter = counter
        cdef _AioDispatcher dispatcher = _current_dispatcher()
        cdef int ret = rbd_aio_create_completion(<void *>self.node, _aio_complete_cb, &self.rbd_comp)
        if ret < 0:
            self.rbd_comp = NULL
            raise make_ex(ret, "error creating an aio completion")
        self.node.queue = dispatcher.q
        dispatcher.q.pending += 1
        # Marked submitted before the librbd call: its callback may run on the dispatcher before the submitting
        # thread gets the GIL back, and must see a submitted completion. A failed submission clears it again.
        self.submitted = True
        # The submission reference: released by the dispatcher after the callback, or now if submission fails.
        Py_INCREF(self)
        if counter != NULL:
            atomic_add(counter, 1)
        return 0

    cdef int _submitted(self, int ret) except -1:
        """Account for the librbd submission call's return code (`_setup` must have succeeded)."""
        if ret < 0:
            self.submitted = False
            if self.node.image_counter != NULL:
                atomic_add(self.node.image_counter, -1)
            self.node.queue.pending -= 1
            self._release_resources()
            Py_DECREF(self)
        return 0

    cdef void _release_resources(self) noexcept:
        if self.has_view:
            PyBuffer_Release(&self.view)
            self.has_view = False
        self.buf = None

    cdef void _run_callback(self) noexcept:
        """On the dispatcher thread: build the result, call oncomplete, store any exception it raised."""
        cdef ssize_t ret = rbd_aio_get_return_value(self.rbd_comp)
        if self.kind == KIND_OPEN and ret >= 0 and self.open_snap is not None:
            ret = self._set_open_snap()
        result = None
        try:
            try:
                result = self._result(ret)
            finally:
                self._release_resources()
            if self.oncomplete is not None:
                if self.kind == KIND_PLAIN:
                    self.oncomplete(self)
                else:
                    self.oncomplete(self, result)
        except BaseException:
            self.exc_info = _exc_info()
        result = None
        self.oncomplete = None   # breaks cycles through closures that refer to the Completion

    cdef ssize_t _set_open_snap(self) noexcept:
        """Move the image just opened at its head to `open_snap`; on failure close it and keep the error."""
        cdef Image image = <Image>self.image
        cdef const char *c_snap = self.open_snap
        cdef int ret
        with nogil:
            ret = rbd_snap_set(image.image, c_snap)
            if ret < 0:
                rbd_close(image.image)
        if ret < 0:
            self.own_ret = ret
            self.has_own_ret = True
        return ret

    cdef object _result(self, ssize_t ret):
        cdef Image image
        cdef rbd_mirror_image_info_t *info
        if self.kind == KIND_READ:
            if ret < 0:
                return None
            data = self.buf
            if <Py_ssize_t>ret != len(data):
                data = data[:ret]   # short read at the end of the image
            return data
        if self.kind == KIND_SNAP_ID:
            return self.node.snap_id if ret >= 0 else None
        if self.kind == KIND_COMPARE:
            return (<_CompareWrite>self.buf).error(ret, (<Image>self.image).name) if ret < 0 else None
        if self.kind == KIND_MIRROR_MODE:
            return int(self.node.mirror_mode) if ret >= 0 else None
        if self.kind == KIND_MIRROR_INFO:
            if ret < 0:
                return None   # upstream 16.2.15 decodes garbage here
            info = &self.node.mirror_info
            try:
                return {"global_id": decode_c(info.global_id), "state": int(info.state),
                        "primary": bool(info.primary)}
            finally:
                rbd_mirror_image_get_info_cleanup(info)
        if self.kind == KIND_OPEN:
            image = <Image>self.image
            if ret < 0:
                image.image = NULL
            else:
                image.closed = False
                track_open_handle(image)
                if image.name is None:
                    image.name = image.get_name()
            return image
        return None

    cdef int _check_submitted(self) except -1:
        if not self.submitted:
            raise InvalidArgument("this completion was never submitted")
        return 0

    def is_complete(self):
        """Whether librbd finished the operation (its oncomplete callback may still be pending).

        :returns: True once the operation is complete
        :rtype: bool
        :raises InvalidArgument: the completion was never submitted (not made by an `aio_*` method)
        """
        cdef int ret
        self._check_submitted()
        with nogil:
            ret = rbd_aio_is_complete(self.rbd_comp)
        return ret == 1

    def wait_for_complete_and_cb(self):
        """Wait until the operation finished and its oncomplete callback ran; re-raise what the callback raised.

        Called from inside a callback for a completion whose own callback has not run yet, it only waits for librbd
        (the callback runs later on the same thread). The GIL is released while waiting. An operation whose image's
        rados.Rados is shut down while it is in flight never finishes: ConnectionShutdown then, instead of waiting
        forever.

        :returns: 0 (the operation's result is get_return_value())
        :rtype: int
        :raises InvalidArgument: the completion was never submitted (not made by an `aio_*` method)
        :raises ConnectionShutdown: the image's rados.Rados was shut down before the operation finished
        :raises Exception: whatever the oncomplete callback raised, re-raised once with its traceback
        """
        self._check_submitted()
        cdef bint on_dispatcher = PyThread_get_thread_ident() == self.node.queue.thread_ident
        while not self._wait_a_while(on_dispatcher, True):
            if not self._cluster_connected() and not self._wait_a_while(on_dispatcher, False):
                raise ConnectionShutdown("the rados.Rados of this operation's image was shut down while it was in "
                                         "flight: it will never complete", errno=C_ESHUTDOWN)
        if self.exc_info is not None:
            exc_type, exc_value, exc_tb = self.exc_info
            self.exc_info = None   # raised once; keeping it would keep the callback's frames (and self) alive
            raise exc_value.with_traceback(exc_tb)
        return 0

    cdef bint _wait_a_while(self, bint on_dispatcher, bint block) noexcept:
        """Wait up to 50 ms (`block`) or not at all, without the GIL, for the operation to be over: its callback
        ran, or (on the dispatcher thread, where the callback can only run later) librbd finished it. True once
        it is."""
        cdef aio_node *node = self.node
        cdef aio_queue *q = node.queue
        cdef timespec until
        cdef bint over
        with nogil:
            if on_dispatcher:
                over = rbd_aio_is_complete(self.rbd_comp) == 1
                if not over and block:
                    usleep(1000)
                    over = rbd_aio_is_complete(self.rbd_comp) == 1
            else:
                clock_gettime(CLOCK_REALTIME, &until)
                until.tv_nsec += 50000000
                if until.tv_nsec >= 1000000000:
                    until.tv_sec += 1
                    until.tv_nsec -= 1000000000
                pthread_mutex_lock(&q.lock)
                if not node.done and block:
                    pthread_cond_timedwait(&q.batch_done, &q.lock, &until)
                over = node.done
                pthread_mutex_unlock(&q.lock)
        return over

    cdef bint _cluster_connected(self):
        return self.image is None or cluster_connected((<Image>self.image).cluster)

    def get_return_value(self):
        """The operation's result.

        :returns: the number of bytes read (reads), 0 (other operations), or a negative errno on failure
        :rtype: int
        :raises InvalidArgument: the completion was never submitted (not made by an `aio_*` method)
        """
        cdef ssize_t ret
        self._check_submitted()
        if self.has_own_ret:
            return self.own_ret
        with nogil:
            ret = rbd_aio_get_return_value(self.rbd_comp)
        return ret


cdef class Image:  # part of rbd.Image (tools/assemble.py joins the parts)
    cdef int aio_in_flight     # operations inside librbd; changed atomically (also by librbd threads)

    cdef Completion _new_completion(self, object oncomplete, int kind):
        if oncomplete is not None and not callable(oncomplete):
            raise TypeError("oncomplete must be callable or None, not %s" % type(oncomplete).__name__)
        cdef Completion comp = Completion.__new__(Completion)
        comp._setup(self, oncomplete, kind, &self.aio_in_flight)
        return comp

    cdef bint _wait_for_aio(self, double deadline) except -1:
        """Wait until librbd finished this handle's aio operations; False if that cannot happen (see
        `_worth_waiting`): an operation in flight when its rados.Rados was shut down never completes."""
        while atomic_load(&self.aio_in_flight) > 0:
            if not self._worth_waiting(deadline):
                return False
            with nogil:
                usleep(500)
        return True

    cdef rbd_image_t _begin_aio(self, Completion comp) except NULL:
        """The handle for submitting `comp`'s operation (see `_begin_call`); when the image cannot be used, the
        completion is withdrawn (its references dropped) and the error raised. Pair with `_end_aio()`."""
        try:
            return self._begin_call()
        except BaseException:
            comp._submitted(-C_EINVAL)
            raise

    cdef Completion _end_aio(self, Completion comp, ssize_t ret, str message, tuple args):
        """After librbd's submission call answered `ret`: the Completion, or the error for `message % args`
        (names given as bytes are shown as text). `message` None: the caller raises its own error."""
        self._end_call()
        comp._submitted(<int>ret)
        if ret < 0 and message is not None:
            raise make_ex(ret, message % tuple([image_label(arg) if isinstance(arg, bytes) else arg
                                                for arg in args]))
        return comp

    def _open_async(self, oncomplete, ioctx, id_bytes, snap_bytes, read_only):
        """Used by RBD.aio_open_image: start opening this (closed) image; the Completion is `_open_completion`."""
        cdef rados_ioctx_t io = ioctx_handle(ioctx)
        cdef bytes name_bytes = self.name
        cdef bytes c_id_bytes = id_bytes
        cdef bytes c_snap_bytes = snap_bytes
        cdef const char *c_name = opt_str(name_bytes)
        cdef const char *c_id = opt_str(c_id_bytes)
        cdef const char *c_snap = opt_str(c_snap_bytes)
        cdef bint c_read_only = read_only
        cdef Completion comp = Completion.__new__(Completion)
        comp._setup(self, oncomplete, KIND_OPEN, NULL)
        cdef rbd_completion_t c = comp.rbd_comp
        cdef int ret
        if OPEN_READ_ONLY_AT_HEAD_THEN_SNAP_SET:
            if c_read_only and c_snap != NULL:  # see open_image_handle (helpers/handles.pxi)
                comp.open_snap = c_snap_bytes
                c_snap = NULL
        with nogil:
            if c_id != NULL:
                if c_read_only:
                    ret = rbd_aio_open_by_id_read_only(io, c_id, &self.image, c_snap, c)
                else:
                    ret = rbd_aio_open_by_id(io, c_id, &self.image, c_snap, c)
            elif c_read_only:
                ret = rbd_aio_open_read_only(io, c_name, &self.image, c_snap, c)
            else:
                ret = rbd_aio_open(io, c_name, &self.image, c_snap, c)
        comp._submitted(ret)
        if ret < 0:
            self.image = NULL
            raise make_ex(ret, "error opening image %s at snapshot %s" % (image_label(self.name), image_label(snap_bytes)))
        self._open_completion = comp

    def aio_read(self, offset, length, oncomplete, fadvise_flags=0):
        """Read `length` bytes at `offset` asynchronously.

        `oncomplete(completion, data)` gets the bytes read (shorter at the end of the image), or None on error.
        Errors of the operation itself arrive through the Completion: `completion.get_return_value()` is then the
        negative errno.

        :param offset: byte offset in the image where reading starts
        :type offset: int
        :param length: number of bytes to read
        :type length: int
        :param oncomplete: called on the module's dispatcher thread once the operation finished, as
            `oncomplete(completion, data)`; None: no callback
        :type oncomplete: callable or None
        :param fadvise_flags: LIBRADOS_OP_FLAG_FADVISE_* hints for librbd (rados constants; 0: none)
        :type fadvise_flags: int
        :returns: the Completion of the read
        :rtype: Completion
        :raises InvalidArgument: the image is closed, or the interpreter is exiting
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `offset`, `length` or `fadvise_flags` is not an int, or `oncomplete` is neither callable nor
            None
        :raises OverflowError: `offset` or `length` is negative or too large, or `length` exceeds the largest bytes
            object
        :raises MemoryError: no buffer of `length` bytes can be allocated
        :raises ImageBusy: this client holds an advisory lock on the image and its reads need the exclusive lock
            (journaling or copy-on-read), which librbd would wait for forever
        """
        self._refuse_reads_while_locked()
        cdef uint64_t c_offset = offset
        cdef size_t c_length = length
        cdef int c_flags = fadvise_flags
        cdef bytes buf = new_read_buffer(c_length)
        cdef char *c_buf = PyBytes_AS_STRING(buf)
        cdef Completion comp = self._new_completion(oncomplete, KIND_READ)
        comp.buf = buf
        cdef rbd_completion_t c = comp.rbd_comp
        cdef int ret
        cdef rbd_image_t image = self._begin_aio(comp)
        with nogil:
            ret = rbd_aio_read2(image, c_offset, c_length, c_buf, c, c_flags)
        return self._end_aio(comp, ret, "error reading %s %d~%d", (image_label(self.name), offset, length))

    def aio_write(self, data, offset, oncomplete, fadvise_flags=0):
        """Write `data` at `offset` asynchronously.

        The data is not copied: the Completion holds the buffer until the write completed, so the caller may drop it
        right away. `oncomplete(completion)`; `completion.get_return_value()` is then 0 or a negative errno.

        :param data: the bytes to write: any C-contiguous bytes-like object (bytes, bytearray, memoryview, ...)
        :type data: bytes-like object
        :param offset: byte offset in the image where writing starts
        :type offset: int
        :param oncomplete: called on the module's dispatcher thread once the operation finished, as
            `oncomplete(completion)`; None: no callback
        :type oncomplete: callable or None
        :param fadvise_flags: LIBRADOS_OP_FLAG_FADVISE_* hints for librbd (rados constants; 0: none)
        :type fadvise_flags: int
        :returns: the Completion of the write
        :rtype: Completion
        :raises InvalidArgument: the image is closed, or the interpreter is exiting
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `data` is not a bytes-like object (str included), `offset` or `fadvise_flags` is not an
            int, or `oncomplete` is neither callable nor None
        :raises ValueError: `data` is not C-contiguous
        :raises OverflowError: `offset` is negative or does not fit 64 bits
        :raises ReadOnlyImage: the image has the exclusive-lock feature and this client holds an advisory lock on it
            (librbd would wait forever for the exclusive lock)
        """
        self._refuse_writes_while_locked()
        cdef uint64_t c_offset = offset
        cdef int c_flags = fadvise_flags
        cdef Completion comp = Completion.__new__(Completion)
        get_read_only_buffer(data, &comp.view, "data")
        comp.has_view = True
        if oncomplete is not None and not callable(oncomplete):
            raise TypeError("oncomplete must be callable or None, not %s" % type(oncomplete).__name__)
        comp._setup(self, oncomplete, KIND_PLAIN, &self.aio_in_flight)
        cdef rbd_completion_t c = comp.rbd_comp
        cdef const char *c_buf = <const char *>comp.view.buf
        cdef size_t c_length = <size_t>comp.view.len
        cdef int ret
        cdef rbd_image_t image = self._begin_aio(comp)
        with nogil:
            ret = rbd_aio_write2(image, c_offset, c_length, c_buf, c, c_flags)
        return self._end_aio(comp, ret, "error writing %s %d~%d", (image_label(self.name), offset, c_length))

    def aio_compare_and_writev(self, offset, cmp_buffers, buffers, oncomplete, fadvise_flags=0):
        """Atomically write `buffers` back to back at `offset` if the image holds exactly the bytes of `cmp_buffers`
        there, asynchronously. Needs librbd 1.18 (Ceph 18.2) or newer; upstream's module does not have it.

        The buffers are not copied: the Completion holds them until librbd finished. Checked before submission (and
        raised here): both sequences hold the same number of bytes, not zero, and the range lies within the image.

        :param offset: byte offset in the image where comparing and writing start
        :type offset: int
        :param cmp_buffers: the bytes the image must hold, as a sequence of C-contiguous bytes-like objects
        :type cmp_buffers: list of bytes-like object
        :param buffers: the bytes to write, as a sequence of C-contiguous bytes-like objects
        :type buffers: list of bytes-like object
        :param oncomplete: called on the module's dispatcher thread once the operation finished, as
            `oncomplete(completion, error)`: `error` is None once written; a
            CompareMismatchError (`mismatch_offset`: the image offset of the first differing byte) when the
            image differed and nothing was written; otherwise the Error of the failure (e.g. InvalidArgument for
            a range that crosses an object boundary). None: no callback
        :type oncomplete: callable or None
        :param fadvise_flags: LIBRADOS_OP_FLAG_FADVISE_* hints for librbd (rados constants; 0: none)
        :type fadvise_flags: int
        :returns: the Completion; its get_return_value() is 0 or the negative errno
        :rtype: Completion
        :raises InvalidArgument: the image is closed, the interpreter is exiting, the two sequences hold
            different numbers of bytes or none, one holds more than 1024 buffers, or the range reaches past the
            end of the image
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: a sequence is a single buffer or holds something that is not a bytes-like object,
            `offset` or `fadvise_flags` is not an int, or `oncomplete` is neither callable nor None
        :raises ValueError: a buffer is not C-contiguous
        :raises OverflowError: `offset` is negative or does not fit 64 bits
        :raises ReadOnlyImage: the image has the exclusive-lock feature and this client holds an advisory lock on it
            (librbd would wait forever for the exclusive lock)
        :raises FunctionNotSupported: the librbd in use lacks rbd_aio_compare_and_writev
        """
        self._refuse_writes_while_locked()
        cdef int c_flags = fadvise_flags
        cdef _CompareWrite op = prepare_compare_writev(offset, cmp_buffers, buffers)
        if late_rbd_aio_compare_and_writev == NULL:
            raise missing_librbd_call("rbd_aio_compare_and_writev")
        cdef Completion comp = self._new_completion(oncomplete, KIND_COMPARE)
        comp.buf = op
        cdef rbd_completion_t c = comp.rbd_comp
        cdef uint64_t c_offset = op.offset
        cdef uint64_t c_length = op.length
        cdef const iovec *cmp_iov = op.cmp.iov
        cdef int cmp_count = op.cmp.count
        cdef const iovec *iov = op.data.iov
        cdef int count = op.data.count
        cdef uint64_t *mismatch = &op.mismatch
        cdef uint64_t *size = &op.size
        cdef uint64_t *object_size = &op.object_size
        cdef uint64_t *stripe_count = &op.stripe_count
        cdef ssize_t ret
        cdef rbd_image_t image = self._begin_aio(comp)
        with nogil:
            ret = check_compare_range(image, c_offset, c_length, size, object_size, stripe_count)
            if ret == 0:
                ret = late_rbd_aio_compare_and_writev(image, c_offset, cmp_iov, cmp_count, iov, count, c,
                                                     mismatch, c_flags)
        self._end_aio(comp, ret, None, None)
        if ret < 0:
            raise op.error(ret, self.name)
        return comp

    def aio_discard(self, offset, length, oncomplete):
        """Discard `length` bytes at `offset` asynchronously.

        `oncomplete(completion)`; `completion.get_return_value()` is then 0 or a negative errno.

        :param offset: byte offset in the image where the range starts
        :type offset: int
        :param length: number of bytes to discard
        :type length: int
        :param oncomplete: called on the module's dispatcher thread once the operation finished, as
            `oncomplete(completion)`; None: no callback
        :type oncomplete: callable or None
        :returns: the Completion of the discard
        :rtype: Completion
        :raises InvalidArgument: the image is closed, the interpreter is exiting, or the range ends past 2**64 - 1
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `offset` or `length` is not an int, or `oncomplete` is neither callable nor None
        :raises OverflowError: `offset` or `length` is negative or does not fit 64 bits
        :raises ReadOnlyImage: the image has the exclusive-lock feature and this client holds an advisory lock on it
            (librbd would wait forever for the exclusive lock)
        """
        self._refuse_writes_while_locked()
        cdef uint64_t c_offset = offset
        cdef uint64_t c_length = length
        refuse_wrapping_range(c_offset, c_length, "error discarding region %d~%d")
        cdef Completion comp = self._new_completion(oncomplete, KIND_PLAIN)
        cdef rbd_completion_t c = comp.rbd_comp
        cdef int ret
        cdef rbd_image_t image = self._begin_aio(comp)
        with nogil:
            ret = rbd_aio_discard(image, c_offset, c_length, c)
        return self._end_aio(comp, ret, "error discarding %s %d~%d", (image_label(self.name), offset, length))

    def aio_write_zeroes(self, offset, length, oncomplete, zero_flags=0):
        """Zero `length` bytes at `offset` asynchronously.

        `oncomplete(completion)`; `completion.get_return_value()` is then 0 or a negative errno.

        :param offset: byte offset in the image where the range starts
        :type offset: int
        :param length: number of bytes to zero
        :type length: int
        :param oncomplete: called on the module's dispatcher thread once the operation finished, as
            `oncomplete(completion)`; None: no callback
        :type oncomplete: callable or None
        :param zero_flags: 0 or RBD_WRITE_ZEROES_FLAG_THICK_PROVISION
        :type zero_flags: int
        :returns: the Completion of the zeroing
        :rtype: Completion
        :raises InvalidArgument: the image is closed, the interpreter is exiting, or the range ends past 2**64 - 1
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `offset`, `length` or `zero_flags` is not an int, or `oncomplete` is neither callable nor
            None
        :raises OverflowError: `offset` or `length` is negative or too large, or `zero_flags` does not fit a C int
        :raises ReadOnlyImage: the image has the exclusive-lock feature and this client holds an advisory lock on it
            (librbd would wait forever for the exclusive lock)
        """
        self._refuse_writes_while_locked()
        cdef uint64_t c_offset = offset
        cdef size_t c_length = length
        cdef int c_flags = zero_flags
        refuse_wrapping_range(c_offset, c_length, "error zeroing region %d~%d")
        cdef Completion comp = self._new_completion(oncomplete, KIND_PLAIN)
        cdef rbd_completion_t c = comp.rbd_comp
        cdef int ret
        cdef rbd_image_t image = self._begin_aio(comp)
        with nogil:
            ret = rbd_aio_write_zeroes(image, c_offset, c_length, c, c_flags, 0)
        return self._end_aio(comp, ret, "error zeroing %s %d~%d", (image_label(self.name), offset, length))

    def aio_flush(self, oncomplete):
        """Flush asynchronously: `oncomplete(completion)` runs once earlier writes are persistent.

        :param oncomplete: called on the module's dispatcher thread once the flush finished: `oncomplete(completion)`;
            None: no callback
        :type oncomplete: callable or None
        :returns: the Completion of the flush
        :rtype: Completion
        :raises InvalidArgument: the image is closed, or the interpreter is exiting
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `oncomplete` is neither callable nor None
        :raises ReadOnlyImage: the image has the exclusive-lock feature and this client holds an advisory lock on it
            (librbd would wait forever for the exclusive lock)
        """
        self._refuse_writes_while_locked()
        cdef Completion comp = self._new_completion(oncomplete, KIND_PLAIN)
        cdef rbd_completion_t c = comp.rbd_comp
        cdef int ret
        cdef rbd_image_t image = self._begin_aio(comp)
        with nogil:
            ret = rbd_aio_flush(image, c)
        return self._end_aio(comp, ret, "error flushing image %s", (image_label(self.name),))

    def aio_close(self, oncomplete):
        """Close the image asynchronously. The image counts as closed at once.

        Waits first for this handle's calls and aio operations still in flight (librbd must not close under them).

        :param oncomplete: called on the module's dispatcher thread once the image is closed: `oncomplete(completion)`;
            None: no callback
        :type oncomplete: callable or None
        :returns: the Completion of the close
        :rtype: Completion
        :raises InvalidArgument: the image is already closed, or the interpreter is exiting
        :raises ConnectionShutdown: the image's rados.Rados was shut down (before or while waiting)
        :raises TypeError: `oncomplete` is neither callable nor None
        :raises ImageBusy: called from a progress or diff_iterate callback of a call still running on the image
        """
        if self.closed:
            raise InvalidArgument("image is closed")
        if oncomplete is not None and not callable(oncomplete):
            raise TypeError("oncomplete must be callable or None, not %s" % type(oncomplete).__name__)
        if not cluster_connected(self.cluster):
            raise self._shut_down_error()
        self._refuse_close_from_own_callback()
        self.closed = True
        # librbd must not close the image under operations still in flight (seen: a crash when an
        # aio_mirror_image_get_info was pending), so wait for them first, as close() does.
        if not (self._wait_for_calls_in_flight(0) and self._wait_for_aio(0)):
            self.image = NULL   # shut down meanwhile: the handle is leaked, as close() does
            raise self._shut_down_error()
        cdef Completion comp
        try:
            comp = self._new_completion(oncomplete, KIND_PLAIN)
        except BaseException:
            self.closed = False
            raise
        cdef rbd_completion_t c = comp.rbd_comp
        cdef rbd_image_t image = self.image
        cdef int ret
        with nogil:
            ret = rbd_aio_close(image, c)
        comp._submitted(ret)
        if ret < 0:
            self.closed = False
            raise make_ex(ret, "error closing image %s" % (image_label(self.name),))
        return comp

    def aio_mirror_image_create_snapshot(self, flags, oncomplete):
        """Create a mirror snapshot of the image asynchronously (snapshot-based mirroring).

        `oncomplete(completion, snap_id)` gets the new snapshot's id, or None on error.
        Errors of the operation itself arrive through the Completion: `completion.get_return_value()` is then the
        negative errno.

        :param flags: 0, RBD_SNAP_CREATE_SKIP_QUIESCE or RBD_SNAP_CREATE_IGNORE_QUIESCE_ERROR
        :type flags: int
        :param oncomplete: called on the module's dispatcher thread once the operation finished, as
            `oncomplete(completion, snap_id)`; None: no callback
        :type oncomplete: callable or None
        :returns: the Completion of the snapshot
        :rtype: Completion
        :raises InvalidArgument: the image is closed, or the interpreter is exiting
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `flags` is not an int, or `oncomplete` is neither callable nor None
        :raises OverflowError: `flags` is negative or does not fit 32 bits
        """
        cdef uint32_t c_flags = flags
        cdef Completion comp = self._new_completion(oncomplete, KIND_SNAP_ID)
        cdef rbd_completion_t c = comp.rbd_comp
        cdef uint64_t *out = &comp.node.snap_id
        cdef int ret
        cdef rbd_image_t image = self._begin_aio(comp)
        with nogil:
            ret = rbd_aio_mirror_image_create_snapshot(image, c_flags, out, c)
        return self._end_aio(comp, ret, "error creating mirror snapshot for image %s", (image_label(self.name),))

    def aio_mirror_image_get_info(self, oncomplete):
        """Read the image's mirroring information asynchronously.

        `oncomplete(completion, info)` gets {'global_id': str, 'state': RBD_MIRROR_IMAGE_*, 'primary': bool}, or None on
        error (as upstream from librbd 1.18).
        Errors of the operation itself arrive through the Completion: `completion.get_return_value()` is then the
        negative errno.

        :param oncomplete: called on the module's dispatcher thread once the operation finished, as
            `oncomplete(completion, info)`; None: no callback
        :type oncomplete: callable or None
        :returns: the Completion of the request
        :rtype: Completion
        :raises InvalidArgument: the image is closed, or the interpreter is exiting
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `oncomplete` is neither callable nor None
        """
        cdef Completion comp = self._new_completion(oncomplete, KIND_MIRROR_INFO)
        cdef rbd_completion_t c = comp.rbd_comp
        cdef rbd_mirror_image_info_t *out = &comp.node.mirror_info
        cdef int ret
        cdef rbd_image_t image = self._begin_aio(comp)
        with nogil:
            ret = rbd_aio_mirror_image_get_info(image, out, sizeof(rbd_mirror_image_info_t), c)
        return self._end_aio(comp, ret, "error getting mirror info for image %s", (image_label(self.name),))

    def aio_mirror_image_get_mode(self, oncomplete):
        """Read the image's mirror mode asynchronously.

        `oncomplete(completion, mode)` gets RBD_MIRROR_IMAGE_MODE_JOURNAL or RBD_MIRROR_IMAGE_MODE_SNAPSHOT, or None
        on error.
        Errors of the operation itself arrive through the Completion: `completion.get_return_value()` is then the
        negative errno.

        :param oncomplete: called on the module's dispatcher thread once the operation finished, as
            `oncomplete(completion, mode)`; None: no callback
        :type oncomplete: callable or None
        :returns: the Completion of the request
        :rtype: Completion
        :raises InvalidArgument: the image is closed, or the interpreter is exiting
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `oncomplete` is neither callable nor None
        """
        cdef Completion comp = self._new_completion(oncomplete, KIND_MIRROR_MODE)
        cdef rbd_completion_t c = comp.rbd_comp
        cdef rbd_mirror_image_mode_t *out = &comp.node.mirror_mode
        cdef int ret
        cdef rbd_image_t image = self._begin_aio(comp)
        with nogil:
            ret = rbd_aio_mirror_image_get_mode(image, out, c)
        return self._end_aio(comp, ret, "error getting mirror mode for image %s", (image_label(self.name),))


class RBD:  # part of rbd.RBD (tools/assemble.py joins the parts)
    """RBD's asynchronous open."""

    def aio_open_image(self, oncomplete, ioctx, name=None, snapshot=None, read_only=False, image_id=None):
        """Open an image asynchronously, by `name` or by `image_id` (exactly one).

        `oncomplete(completion, image)` gets the Image: check `completion.get_return_value()` (0, or the negative
        errno of a failed open, e.g. -ENOENT for a missing image or snapshot). Until the open completes the image
        counts as closed.

        :param oncomplete: called on the module's dispatcher thread once the open finished:
            `oncomplete(completion, image)`; None: no callback
        :type oncomplete: callable or None
        :param ioctx: the image's pool (and namespace)
        :type ioctx: rados.Ioctx
        :param name: name of the image (or None with `image_id`)
        :type name: str or bytes or None
        :param snapshot: name of the snapshot to open the image at; None: the head
        :type snapshot: str or bytes or None
        :param read_only: open without taking the exclusive lock
        :type read_only: bool
        :param image_id: id of the image (or None with `name`)
        :type image_id: str or bytes or None
        :returns: the Completion of the open
        :rtype: Completion
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, both or neither of `name` and `image_id` are given, a name is not
            str/bytes or holds a NUL byte, or the interpreter is exiting
        """
        if oncomplete is not None and not callable(oncomplete):
            raise TypeError("oncomplete must be callable or None, not %s" % type(oncomplete).__name__)
        callback = _ignore_open if oncomplete is None else oncomplete
        image = Image(ioctx, name, snapshot, read_only, image_id, callback)
        comp = image._open_completion
        image._open_completion = None
        return comp


def _ignore_open(comp, image):
    pass


# ----------------------------------------------------------------------------------------------------------------
# asyncio

cdef enum AsyncKind:
    ASYNC_PLAIN = 0
    ASYNC_READ = 1
    ASYNC_WRITE = 2

cdef enum:
    POLL_BATCH = 64


cdef class _AsyncOp:
    """One operation of an AsyncImage: owns its completion and buffers until librbd reported it done."""
    cdef rbd_completion_t comp
    cdef object future
    cdef int kind
    cdef bytes buf
    cdef Py_buffer view
    cdef bint has_view
    cdef Py_ssize_t length
    cdef object what     # (format, args) of the error message: formatted only if the operation fails

    def __dealloc__(self):
        if self.has_view:
            PyBuffer_Release(&self.view)
        cdef rbd_completion_t comp = self.comp
        if comp != NULL:
            self.comp = NULL
            with nogil:
                rbd_aio_release(comp)


@cython.no_gc_clear  # __dealloc__ needs `cluster` to decide whether rbd_close is still safe
cdef class AsyncImage:
    """AsyncImage()
--

An image for asyncio: `image = await AsyncImage.open(ioctx, name)` or `async with await ...open(...)`.

    `read`, `write`, `discard`, `write_zeroes` and `flush` return awaitables (asyncio Futures) resolved on the
    event loop thread from librbd's event notification; no librbd thread runs Python. Cancelling an awaiting task
    is safe: buffers stay owned until librbd finished. Use it from the loop it was opened in.
    """
    cdef rbd_image_t image
    cdef int efd
    cdef object loop
    cdef readonly object name
    cdef object ioctx
    cdef rados.Rados cluster
    cdef int pending
    cdef readonly bint closed   # True once close() started
    cdef object drained
    cdef int64_t pool_id        # kept from the open, for the advisory-lock key (locks.pxi)
    cdef object lock_key
    cdef object __weakref__

    def __cinit__(self):
        self.image = NULL
        self.efd = -1
        self.closed = True
        self.pending = 0

    def __dealloc__(self):
        # Pending operations hold a reference, so none remain here.
        if self.image != NULL and cluster_connected(self.cluster):
            with nogil:
                rbd_close(self.image)
            self.image = NULL
        if self.efd >= 0:
            c_close(self.efd)
            self.efd = -1

    def __init__(self):
        raise TypeError("use `await AsyncImage.open(ioctx, name)`")

    def __repr__(self):
        return "rbd.AsyncImage(ioctx, %r)" % (self.name,)

    @staticmethod
    async def open(ioctx, name=None, snapshot=None, read_only=False, image_id=None):
        """Open an image for asyncio, by `name` or by `image_id` (exactly one); a coroutine.

        The blocking open runs in the loop's default executor; the image is then bound to the running loop.

        :param ioctx: the image's pool (and namespace)
        :type ioctx: rados.Ioctx
        :param name: name of the image (or None with `image_id`)
        :type name: str or bytes or None
        :param snapshot: name of the snapshot to open the image at; None: the head
        :type snapshot: str or bytes or None
        :param read_only: open without taking the exclusive lock
        :type read_only: bool
        :param image_id: id of the image (or None with `name`)
        :type image_id: str or bytes or None
        :returns: the open image
        :rtype: AsyncImage (awaitable)
        :raises TypeError: `ioctx` is not a rados.Ioctx
        :raises InvalidArgument: `ioctx` is closed, both or neither of `name` and `image_id` are given, or a name is
            not str/bytes or holds a NUL byte
        :raises ImageNotFound: the image or the snapshot does not exist
        :raises OSError: no eventfd could be created for librbd's notifications, or librbd refused to use it
        """
        # The calling interpreter's asyncio (helpers/interpreters.pxi), imported here rather than at module level:
        # importing asyncio would cost every `import rbd` about 60 ms.
        import asyncio
        loop = asyncio.get_running_loop()
        ioctx_handle(ioctx)
        if (name is None) == (image_id is None):
            raise InvalidArgument("either image name or image id must be specified, not both or neither")
        cdef AsyncImage self = AsyncImage.__new__(AsyncImage)
        self.ioctx = ioctx
        self.cluster = cluster_of(ioctx)
        self.pool_id = rados_ioctx_get_id(ioctx_handle(ioctx))
        name_bytes = cstr(name, "name", opt=True)
        id_bytes = cstr(image_id, "image_id", opt=True)
        snap_bytes = cstr(snapshot, "snapshot", opt=True)
        await loop.run_in_executor(None, self._open_blocking, name_bytes, id_bytes, snap_bytes, bool(read_only))
        self.loop = loop
        loop.add_reader(self.efd, self._on_event)
        self.closed = False
        track_open_handle(self)
        return self

    def _close_at_exit(self, double deadline):
        # The loop may be gone: no reader to remove, nobody to resolve futures. rbd_close would wait for the
        # operations still in flight, without bound: with some pending the handle is leaked instead.
        self.closed = True
        if self.pending > 0:
            self.image = NULL   # and its eventfd stays open: librbd may still signal it
            return
        self._close_blocking()

    def _open_blocking(self, bytes name_bytes, bytes id_bytes, bytes snap_bytes, bint read_only):
        cdef rados_ioctx_t io = ioctx_handle(self.ioctx)
        cdef const char *c_name = opt_str(name_bytes)
        cdef const char *c_id = opt_str(id_bytes)
        cdef const char *c_snap = opt_str(snap_bytes)
        cdef rbd_image_t image = NULL
        cdef int ret
        with nogil:
            ret = open_image_handle(io, c_name, c_id, c_snap, read_only, &image)
        if ret < 0:
            label = image_label(name_bytes) if id_bytes is None else "with id %s" % image_label(id_bytes)
            raise make_ex(ret, "error opening image %s at snapshot %s"
                          % (label, None if snap_bytes is None else image_label(snap_bytes)))
        self.image = image
        cdef int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)
        if fd < 0:
            raise OSError("cannot create an eventfd", errno=c_errno)
        self.efd = fd
        with nogil:
            ret = rbd_set_image_notification(image, fd, EVENT_TYPE_EVENTFD)
        if ret < 0:
            raise make_ex(ret, "error enabling event notification")
        cdef int c_ret
        cdef char namebuf[1024]
        cdef size_t namelen = sizeof(namebuf)
        with nogil:
            c_ret = rbd_get_name(image, namebuf, &namelen)
        self.name = decode_c(namebuf) if c_ret >= 0 else (name_bytes or b"").decode()

    cdef rbd_image_t _handle(self) except NULL:
        if self.closed:
            raise InvalidArgument("image is closed")
        if not cluster_connected(self.cluster):
            raise ConnectionShutdown("the rados.Rados of image %s was shut down" % (image_label(self.name),),
                                     errno=C_ESHUTDOWN)
        return self.image

    cdef int _refuse_writes_while_locked(self) except -1:
        """ReadOnlyImage instead of a write or flush that librbd would never finish under an advisory lock of this
        client (as Image's, locks.pxi; nothing to do while the process holds none)."""
        cdef uint64_t features
        cdef int ret = 0
        if not _advisory_locks:
            return 0
        cdef rbd_image_t image = self._handle()
        cdef char image_id[128]   # ids are a dozen characters; rbd_get_id takes a plain length
        if self.lock_key is None:
            with nogil:
                ret = rbd_get_id(image, image_id, sizeof(image_id))
            if ret < 0:
                raise make_ex(ret, "error getting id of image %s" % (image_label(self.name),))
            self.lock_key = (self.cluster.get_instance_id(), self.pool_id, decode_c(image_id))
        held = held_advisory_cookie(image, self.lock_key, self.name, &features)
        if held is not None:
            raise write_under_own_lock_error(self.name, held)
        return 0

    def _on_event(self):
        """The loop's reader on the eventfd: harvest every completed operation."""
        cdef uint64_t value
        cdef rbd_completion_t comps[POLL_BATCH]
        cdef int n, i
        cdef ssize_t ret
        cdef _AsyncOp op
        with nogil:
            c_read(self.efd, &value, sizeof(value))
        while self.image != NULL:
            with nogil:
                n = rbd_poll_io_events(self.image, comps, POLL_BATCH)
            if n <= 0:
                break
            for i in range(n):
                op = <_AsyncOp>rbd_aio_get_arg(comps[i])
                ret = rbd_aio_get_return_value(comps[i])
                op.comp = NULL
                rbd_aio_release(comps[i])
                Py_DECREF(op)   # the submission reference; `op` still holds one
                self._resolve(op, ret)
            if n < POLL_BATCH:
                break

    cdef void _resolve(self, _AsyncOp op, ssize_t ret) noexcept:
        try:
            if op.has_view:
                PyBuffer_Release(&op.view)
                op.has_view = False
            self.pending -= 1
            future = op.future
            op.future = None
            if not future.cancelled():
                if ret < 0:
                    future.set_exception(make_ex(ret, "%s on image %s" % (op.what[0] % op.what[1], image_label(self.name))))
                elif op.kind == ASYNC_READ:
                    data = op.buf
                    future.set_result(data if <Py_ssize_t>ret == len(data) else data[:ret])
                elif op.kind == ASYNC_WRITE:
                    future.set_result(op.length)
                else:
                    future.set_result(None)
            op.buf = None
            if self.pending == 0 and self.drained is not None and not self.drained.done():
                self.drained.set_result(None)
        except BaseException as exc:
            self.loop.call_exception_handler({"message": "rbd.AsyncImage: error resolving an operation",
                                              "exception": exc})

    cdef _AsyncOp _new_op(self, int kind, object what):
        cdef _AsyncOp op = _AsyncOp.__new__(_AsyncOp)
        op.kind = kind
        op.what = what
        op.future = self.loop.create_future()
        cdef int ret = rbd_aio_create_completion(<void *>op, NULL, &op.comp)
        if ret < 0:
            op.comp = NULL
            raise make_ex(ret, "error creating an aio completion")
        return op

    cdef object _submitted(self, _AsyncOp op, int ret):
        if ret < 0:
            if op.has_view:
                PyBuffer_Release(&op.view)
                op.has_view = False
            raise make_ex(ret, "%s on image %s" % (op.what[0] % op.what[1], image_label(self.name)))
        Py_INCREF(op)   # released when harvested
        self.pending += 1
        return op.future

    def read(self, offset, length, fadvise_flags=0):
        """Read `length` bytes at `offset`; returns an awaitable (an asyncio Future).

        :param offset: byte offset in the image where reading starts
        :type offset: int
        :param length: number of bytes to read
        :type length: int
        :param fadvise_flags: LIBRADOS_OP_FLAG_FADVISE_* hints for librbd (rados constants; 0: none)
        :type fadvise_flags: int
        :returns: the bytes read; fewer than `length` only at the end of the image
        :rtype: bytes (awaitable)
        :raises InvalidArgument: the image is closed (or close() started)
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `offset`, `length` or `fadvise_flags` is not an int
        :raises OverflowError: `offset` or `length` is negative or too large, or `length` exceeds the largest bytes
            object
        :raises InvalidArgument: (when awaited) the range starts past the end of the image
        """
        cdef uint64_t c_offset = offset
        cdef size_t c_length = length
        cdef int c_flags = fadvise_flags
        cdef rbd_image_t image = self._handle()
        cdef bytes buf = new_read_buffer(c_length)
        cdef _AsyncOp op = self._new_op(ASYNC_READ, ("error reading %d~%d", (offset, length)))
        op.buf = buf
        cdef char *c_buf = PyBytes_AS_STRING(op.buf)
        cdef rbd_completion_t c = op.comp
        cdef int ret
        with nogil:
            ret = rbd_aio_read2(image, c_offset, c_length, c_buf, c, c_flags)
        return self._submitted(op, ret)

    def write(self, data, offset, fadvise_flags=0):
        """Write `data` at `offset`; returns an awaitable (an asyncio Future).

        The data is not copied: the operation holds the buffer until librbd finished, also if the awaiting task is
        cancelled.

        :param data: the bytes to write: any C-contiguous bytes-like object
        :type data: bytes-like object
        :param offset: byte offset in the image where writing starts
        :type offset: int
        :param fadvise_flags: LIBRADOS_OP_FLAG_FADVISE_* hints for librbd (rados constants; 0: none)
        :type fadvise_flags: int
        :returns: the number of bytes written
        :rtype: int (awaitable)
        :raises InvalidArgument: the image is closed (or close() started)
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `data` is not a bytes-like object (str included), or `offset` or `fadvise_flags` is not an
            int
        :raises ValueError: `data` is not C-contiguous
        :raises OverflowError: `offset` is negative or does not fit 64 bits
        :raises ReadOnlyImage: this client holds an advisory lock on an image with the exclusive-lock feature
        """
        self._refuse_writes_while_locked()
        cdef uint64_t c_offset = offset
        cdef int c_flags = fadvise_flags
        cdef rbd_image_t image = self._handle()
        cdef _AsyncOp op = self._new_op(ASYNC_WRITE, ("error writing at offset %d", (offset,)))
        get_read_only_buffer(data, &op.view, "data")
        op.has_view = True
        op.length = op.view.len
        cdef const char *c_buf = <const char *>op.view.buf
        cdef size_t c_length = <size_t>op.view.len
        cdef rbd_completion_t c = op.comp
        cdef int ret
        with nogil:
            ret = rbd_aio_write2(image, c_offset, c_length, c_buf, c, c_flags)
        return self._submitted(op, ret)

    def discard(self, offset, length):
        """Discard `length` bytes at `offset`; returns an awaitable (an asyncio Future).

        :param offset: byte offset in the image where the range starts
        :type offset: int
        :param length: number of bytes to discard
        :type length: int
        :returns: None, once the range is discarded
        :rtype: None (awaitable)
        :raises InvalidArgument: the image is closed (or close() started)
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `offset` or `length` is not an int
        :raises OverflowError: `offset` or `length` is negative or does not fit 64 bits
        :raises ReadOnlyImage: this client holds an advisory lock on an image with the exclusive-lock feature
        """
        self._refuse_writes_while_locked()
        cdef uint64_t c_offset = offset
        cdef uint64_t c_length = length
        refuse_wrapping_range(c_offset, c_length, "error discarding %d~%d")
        cdef rbd_image_t image = self._handle()
        cdef _AsyncOp op = self._new_op(ASYNC_PLAIN, ("error discarding %d~%d", (offset, length)))
        cdef rbd_completion_t c = op.comp
        cdef int ret
        with nogil:
            ret = rbd_aio_discard(image, c_offset, c_length, c)
        return self._submitted(op, ret)

    def write_zeroes(self, offset, length, zero_flags=0):
        """Zero `length` bytes at `offset`; returns an awaitable (an asyncio Future).

        :param offset: byte offset in the image where the range starts
        :type offset: int
        :param length: number of bytes to zero
        :type length: int
        :param zero_flags: 0 or RBD_WRITE_ZEROES_FLAG_THICK_PROVISION
        :type zero_flags: int
        :returns: None, once the range is zeroed
        :rtype: None (awaitable)
        :raises InvalidArgument: the image is closed (or close() started)
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises TypeError: `offset`, `length` or `zero_flags` is not an int
        :raises OverflowError: `offset` or `length` is negative or too large, or `zero_flags` does not fit a C int
        :raises ReadOnlyImage: this client holds an advisory lock on an image with the exclusive-lock feature
        """
        self._refuse_writes_while_locked()
        cdef uint64_t c_offset = offset
        cdef size_t c_length = length
        cdef int c_flags = zero_flags
        refuse_wrapping_range(c_offset, c_length, "error zeroing %d~%d")
        cdef rbd_image_t image = self._handle()
        cdef _AsyncOp op = self._new_op(ASYNC_PLAIN, ("error zeroing %d~%d", (offset, length)))
        cdef rbd_completion_t c = op.comp
        cdef int ret
        with nogil:
            ret = rbd_aio_write_zeroes(image, c_offset, c_length, c, c_flags, 0)
        return self._submitted(op, ret)

    def flush(self):
        """Flush; returns an awaitable (an asyncio Future) that completes once earlier writes are persistent.

        :returns: None, once flushed
        :rtype: None (awaitable)
        :raises InvalidArgument: the image is closed (or close() started)
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        :raises ReadOnlyImage: this client holds an advisory lock on an image with the exclusive-lock feature
        """
        self._refuse_writes_while_locked()
        cdef rbd_image_t image = self._handle()
        cdef _AsyncOp op = self._new_op(ASYNC_PLAIN, ("error flushing", ()))
        cdef rbd_completion_t c = op.comp
        cdef int ret
        with nogil:
            ret = rbd_aio_flush(image, c)
        return self._submitted(op, ret)

    def size(self):
        """The image size in bytes; returns an awaitable (an asyncio Future, already resolved: librbd answers from its
        cache).

        :returns: the size of the image in bytes
        :rtype: int (awaitable)
        :raises InvalidArgument: the image is closed (or close() started)
        :raises ConnectionShutdown: the image's rados.Rados was shut down
        """
        cdef uint64_t size
        cdef int ret
        cdef rbd_image_t image = self._handle()
        with nogil:
            ret = rbd_get_size(image, &size)
        future = self.loop.create_future()
        if ret < 0:
            future.set_exception(make_ex(ret, "error getting size for image %s" % (image_label(self.name),)))
        else:
            future.set_result(size)
        return future

    async def close(self):
        """Close the image; a coroutine. Does nothing if the image is already closed.

        Waits first for the operations in flight (also those whose awaiting task was cancelled); the blocking close then
        runs in the loop's default executor.

        :rtype: None
        :raises OSError: librbd failed to close the image (the handle is released all the same)
        """
        if self.closed:
            return
        self.closed = True
        if self.pending > 0:
            self.drained = self.loop.create_future()
            import asyncio
            await asyncio.shield(self.drained)
        self.loop.remove_reader(self.efd)
        await self.loop.run_in_executor(None, self._close_blocking)

    def _close_blocking(self):
        cdef rbd_image_t image = self.image
        cdef int ret = 0
        self.image = NULL
        if image != NULL and cluster_connected(self.cluster):
            with nogil:
                ret = rbd_close(image)
        if self.efd >= 0:
            c_close(self.efd)
            self.efd = -1
        if ret < 0:
            raise make_ex(ret, "error while closing image %s" % (image_label(self.name),))

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc, tb):
        await self.close()
        return False
