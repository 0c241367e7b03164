# Strings: how Python names become C strings and back.
#
# Upstream's rules, kept because callers depend on them: bytes pass through, str is UTF-8 encoded, anything else
# is an InvalidArgument (not a TypeError). We also refuse embedded NUL bytes, which C would silently truncate.

def cstr(val, name, encoding="utf-8", opt=False):
    """Return `val` as bytes for librbd: bytes unchanged, str encoded; None only when `opt` is true.

    A helper the module uses for every name it hands to librbd, public as in upstream's module. Embedded NUL
    bytes are refused (C would cut the string there).

    :param val: the value to convert
    :type val: str or bytes or None
    :param name: what `val` is, for the error message (e.g. "image_name")
    :type name: str
    :param encoding: the codec for a str
    :type encoding: str
    :param opt: whether None is allowed (it is then returned as None)
    :type opt: bool
    :returns: the bytes for librbd, or None for None when `opt` is true
    :rtype: bytes or None
    :raises InvalidArgument: `val` is not a str or bytes (nor None with `opt`), or holds a NUL byte
    :raises UnicodeEncodeError: `val` is a str that `encoding` cannot encode (e.g. lone surrogates in UTF-8)
    :raises LookupError: `encoding` is not a known codec
    """
    if isinstance(val, bytes):
        encoded = val
    elif isinstance(val, str):
        encoded = val.encode(encoding)
    elif opt and val is None:
        return None
    else:
        raise InvalidArgument('%s must be a string' % name)
    if b"\0" in encoded:
        raise InvalidArgument('%s must not contain NUL characters: %r' % (name, val))
    return encoded


def decode_cstr(val, encoding="utf-8"):
    """Decode bytes from librbd (strict UTF-8); None stays None.

    :param val: the bytes to decode
    :type val: bytes or None
    :param encoding: the codec
    :type encoding: str
    :returns: the text, or None for None
    :rtype: str or None
    :raises UnicodeDecodeError: `val` is not valid in `encoding`
    :raises AttributeError: `val` is neither bytes nor None (e.g. already a str)
    :raises LookupError: `encoding` is not a known codec
    """
    if val is None:
        return None
    return val.decode(encoding)


cdef inline const char *opt_str(bytes value):
    """The C string of an optional encoded value: NULL for None."""
    return NULL if value is None else <const char *>value


cdef inline str decode_c(const char *value):
    """A str from a C string owned by librbd; None for NULL (upstream would crash)."""
    if value == NULL:
        return None
    return value[:strlen(value)].decode("utf-8")


cdef list split_nul_separated(const char *buf, size_t size):
    """Split librbd's "a\\0b\\0c\\0" lists into ['a', 'b', 'c'] (empty entries dropped)."""
    if size == 0:
        return []
    return [item.decode("utf-8") for item in buf[:size].split(b"\0") if item]


cdef str image_label(object name):
    """A name (image, snapshot, group, ...) for a message: text, never a bytes repr; undecodable bytes replaced."""
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
