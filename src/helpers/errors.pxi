# Errors: the exception classes, the errno -> class maps, and `make_ex`.
#
# Messages and hierarchy are upstream's (`[errno 2] RBD image not found (msg)`); unlike upstream the exceptions
# pickle and copy, because `__reduce__` hands back the arguments the exception was built with.

class Error(Exception):
    """Base class of every error raised by this module."""


class OSError(Error):
    """An error reported by librbd, with the positive `errno` it returned (None when not from librbd).

    Note: this shadows the builtin OSError inside `rbd` and is not a subclass of it, as in upstream.
    """
    prefix = None

    def __init__(self, message, errno=None):
        self._message = message
        if self.prefix is not None:
            message = "%s (%s)" % (self.prefix, message)
        super().__init__(message)
        self.errno = errno

    def __str__(self):
        message = self.args[0] if self.args else ""
        if self.errno:
            return "[errno %s] %s" % (self.errno, message)
        return str(message)

    def __reduce__(self):
        return (type(self), (self._message, self.errno), self.__dict__)


def _error_class(name, prefix, doc):
    return type(name, (OSError,), {"prefix": prefix, "__doc__": doc, "__module__": "rbd"})


PermissionError = _error_class("PermissionError", "RBD permission error", "EPERM: the operation is not permitted.")
ImageNotFound = _error_class("ImageNotFound", "RBD image not found", "ENOENT: no such image or snapshot.")
ObjectNotFound = _error_class("ObjectNotFound", "RBD object not found", "ENOENT from a group call.")
ImageExists = _error_class("ImageExists", "RBD image already exists", "EEXIST: the image already exists.")
ObjectExists = _error_class("ObjectExists", "RBD object already exists", "EEXIST from a group call.")
IOError = _error_class("IOError", "RBD I/O error", "EIO: an I/O error.")
NoSpace = _error_class("NoSpace", "RBD insufficient space available", "ENOSPC: the cluster is full.")
IncompleteWriteError = _error_class("IncompleteWriteError", "RBD incomplete write",
                                    "librbd wrote fewer bytes than asked.")
InvalidArgument = _error_class("InvalidArgument", "RBD invalid argument", "EINVAL: an argument is not valid.")
LogicError = _error_class("LogicError", "RBD logic error", "librbd reported more bytes than asked.")
ReadOnlyImage = _error_class("ReadOnlyImage", "RBD read-only image", "EROFS: the image is read-only.")
ImageBusy = _error_class("ImageBusy", "RBD image is busy", "EBUSY: the image is in use.")
ImageHasSnapshots = _error_class("ImageHasSnapshots", "RBD image has snapshots",
                                 "ENOTEMPTY: the image still has snapshots.")
FunctionNotSupported = _error_class("FunctionNotSupported", "RBD function not supported",
                                    "ENOSYS: librbd does not implement this.")
ArgumentOutOfRange = _error_class("ArgumentOutOfRange", "RBD arguments out of range", "EDOM: out of range.")
ConnectionShutdown = _error_class("ConnectionShutdown", "RBD connection was shutdown",
                                  "ESHUTDOWN: the client was blocklisted or shut down.")
Timeout = _error_class("Timeout", "RBD operation timeout", "ETIMEDOUT: the operation timed out.")
DiskQuotaExceeded = _error_class("DiskQuotaExceeded", "RBD disk quota exceeded", "EDQUOT: over quota.")
OperationNotSupported = _error_class("OperationNotSupported", "RBD operation not supported",
                                     "EOPNOTSUPP: the operation is not supported.")
OperationCanceled = _error_class("OperationCanceled", "RBD operation canceled",
                                 "ECANCELED: the operation was canceled.")
if HAS_TENTACLE_API:
    ImageMemberOfGroup = _error_class("ImageMemberOfGroup", "RBD image is member of group",
                                      "EMLINK: the image is a member of a group.")

cdef dict errno_to_exception = {
    errno.EPERM: PermissionError,
    errno.ENOENT: ImageNotFound,
    errno.EIO: IOError,
    errno.ENOSPC: NoSpace,
    errno.EEXIST: ImageExists,
    errno.EINVAL: InvalidArgument,
    errno.EROFS: ReadOnlyImage,
    errno.EBUSY: ImageBusy,
    errno.ENOTEMPTY: ImageHasSnapshots,
    errno.ENOSYS: FunctionNotSupported,
    errno.EDOM: ArgumentOutOfRange,
    errno.ESHUTDOWN: ConnectionShutdown,
    errno.ETIMEDOUT: Timeout,
    errno.EDQUOT: DiskQuotaExceeded,
    errno.EOPNOTSUPP: OperationNotSupported,
    errno.ECANCELED: OperationCanceled,
}
if HAS_TENTACLE_API:
    errno_to_exception[errno.EMLINK] = ImageMemberOfGroup  # librbd 1.20's module maps it in both tables

# Group calls report a missing or existing *group* with the same errnos; upstream names those "object" errors.
cdef dict group_errno_to_exception = dict(errno_to_exception)
group_errno_to_exception[errno.ENOENT] = ObjectNotFound
group_errno_to_exception[errno.EEXIST] = ObjectExists


cdef object make_ex(ret, msg, dict exception_map=errno_to_exception):
    """The exception for librbd's return code `ret` (negative or positive errno), to be raised by the caller."""
    ret = abs(ret)
    cls = exception_map.get(ret, OSError)
    return cls(msg, errno=ret)


# The errno values the binding itself tests or returns, as C constants (Cython's libc.errno lacks some).
cdef extern from "<errno.h>":
    enum:
        C_ECANCELED "ECANCELED"
        C_ERANGE "ERANGE"
        C_ENOENT "ENOENT"
        C_EINVAL "EINVAL"
        C_EEXIST "EEXIST"
        C_EBUSY "EBUSY"
        C_ENOTSUP "ENOTSUP"
        C_ESHUTDOWN "ESHUTDOWN"
        C_EROFS "EROFS"


# Objects made by `Cls.__new__(Cls)` alone, or by a subclass whose __init__ forgot super().__init__(): their
# attributes are still None, and handing None on as an image or a list would crash or mislead. Every public class
# checks at its entry points and raises this instead.
cdef object not_initialised(object obj):
    """The exception for a method called on `obj` although its __init__ never ran."""
    return InvalidArgument("this %s object was never initialised: its __init__ did not run (a subclass must call "
                           "super().__init__())" % (type(obj).__name__,), errno=C_EINVAL)


cdef object iter_entries(object owner, list entries):
    """iter() over the entries an iterator class read when it was created; refuses one never initialised."""
    if entries is None:
        raise not_initialised(owner)
    return iter(entries)
