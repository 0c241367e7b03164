#!/usr/bin/env python3
"""Generate src/stubs/rbd.pyi, the type stubs of the module, from its real signatures: one stub for every librbd
release (members only some releases have say so in their docstrings).

usage: <venv>/bin/python tools/gen_stubs.py [--check]

Written only where the module behaves as the newest release it knows (librbd 1.20: the sid root), where every
member is present; RBD.clone's two parameter namings (p_snapname before librbd 1.19, p_snapshot from it) are two
overloads. --check there compares the whole text; on an older release it checks that every class, function,
method signature and constant the module has there is in the stub.

Parameter and return types come from the tables below (by name), signatures (with the defaults that are plain
literals) and docstrings from `inspect` on the built module, so the stub cannot disagree with the code about
names, order, defaults or documentation: documentation tools that read the stub instead of the module (Sphinx
>= 9 does, for a native module) show the module's own docstrings and defaults. --check fails if that file is stale
(tests/test_stubs.py runs it).
"""
import inspect
import os
import sys

import rbd

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUB = os.path.join(REPO, "src", "stubs", "rbd.pyi")
NEWEST = (1, 20, 0)   # the release whose module has every member (helpers/releases.pxi)

NAME = "str | bytes"
PARAM_TYPES = {
    **dict.fromkeys(["ioctx", "p_ioctx", "c_ioctx", "dest_ioctx", "image_ioctx"], "rados.Ioctx"),
    "rados": "rados.Rados",
    **dict.fromkeys(["name", "image_name", "p_name", "c_name", "dest_name", "dest_image_name", "src", "dest",
                     "snapshot", "snap_name", "p_snapname", "key", "value", "cookie", "tag", "client",
                     "image_id", "uuid", "site_name", "client_name", "cluster_name", "token", "old_snap_name",
                     "new_snap_name", "srcname", "dstname", "str_features", "data_pool",
                     "lock_owner", "namespace", "passphrase", "remote_namespace"], NAME),
    # librbd 1.18's module takes snapshot ids too (and no bytes); 1.20's clone takes a name or an id.
    "from_snapshot": "str | bytes | int | None",
    "p_snapshot": "str | int",
    "specs": "Sequence[tuple[int, str | Buffer]]",
    **dict.fromkeys(["offset", "length", "size", "order", "features", "stripe_unit", "stripe_count", "flags",
                     "fadvise_flags", "zero_flags", "snap_id", "limit", "lock_mode", "mirror_mode", "mode",
                     "direction", "delay", "sparse_size", "format", "cipher_alg", "clone_format",
                     "mode_filter", "max_read"], "int"),
    **dict.fromkeys(["enabled", "force", "read_only", "allow_shrink", "include_parent", "whole_object",
                     "flatten", "old_format", "writable", "close_image"], "bool"),
    **dict.fromkeys(["data", "cmp_data"], "Buffer"),
    "buffer": "WriteableBuffer",
    **dict.fromkeys(["buffers", "cmp_buffers"], "Sequence[Buffer]"),
    "oncomplete": "Callable[..., object] | None",
    "on_progress": "Callable[[int, int], object] | None",
    "iterate_cb": "Callable[[int, int, bool], object]",
    "expire_ts": "datetime | None",
    "threshold": "float",
    "attributes": "dict[str, str]",
    "source_spec": "str | dict[str, Any]",
    "image": "Image",
    "group": "Group",
    "descendants": "bool",
    "message": "str",
    "errno": "int | None",
    "whence": "int",
}

RETURN_TYPES = {
    "version": "tuple[int, int, int]", "list": "list[str]", "list2": "ImageIterator",
    "features_to_string": "str", "features_from_string": "int", "size": "int", "stat": "dict[str, Any]",
    "get_name": "str", "id": "str", "block_name_prefix": "str", "data_pool_id": "int", "old_format": "bool",
    "overlap": "int", "stripe_unit": "int", "stripe_count": "int", "features": "int", "flags": "int",
    "op_features": "int", "create_timestamp": "datetime", "access_timestamp": "datetime",
    "modify_timestamp": "datetime", "read": "bytes", "write": "int", "readinto": "int", "readv": "int",
    "writev": "int", "compare_and_writev": "int", "list_snaps": "SnapIterator", "snap_exists": "bool", "is_protected_snap": "bool",
    "get_snap_limit": "int", "get_snap_timestamp": "datetime", "snap_get_name": "str", "snap_get_id": "int",
    "snap_get_namespace_type": "int", "snap_get_group_namespace": "dict[str, Any]",
    "snap_get_trash_namespace": "dict[str, Any]", "snap_get_mirror_namespace": "dict[str, Any]",
    "parent_info": "tuple[str, str, str]", "parent_id": "str", "get_parent_image_spec": "dict[str, Any]",
    "list_children": "list[tuple[str, str]]", "list_children2": "ChildIterator",
    "list_descendants": "ChildIterator", "lock_get_owners": "LockOwnerIterator",
    "is_exclusive_lock_owner": "bool", "list_lockers": "list[Any] | dict[str, Any]",
    "metadata_get": "str", "metadata_list": "MetadataIterator", "pool_metadata_get": "str",
    "pool_metadata_list": "PoolMetadataIterator", "config_get": "str",
    "watchers_list": "WatcherIterator", "group": "dict[str, Any]", "migration_source_spec": "dict[str, Any]",
    "migration_status": "dict[str, Any]", "trash_get": "dict[str, Any]", "trash_list": "TrashIterator",
    "namespace_exists": "bool", "namespace_list": "list[str]", "group_list": "list[str]",
    "list_images": "GroupImageIterator", "pool_stats_get": "dict[str, int]", "mirror_mode_get": "int",
    "mirror_uuid_get": "str", "mirror_site_name_get": "str", "mirror_peer_bootstrap_create": "str",
    "mirror_peer_add": "str", "mirror_peer_list": "MirrorPeerIterator",
    "mirror_peer_get_attributes": "dict[str, str]", "mirror_image_status_list": "MirrorImageStatusIterator",
    "mirror_image_status_summary": "list[tuple[int, int]]",
    "mirror_image_instance_id_list": "MirrorImageInstanceIdIterator",
    "mirror_image_info_list": "MirrorImageInfoIterator", "mirror_image_create_snapshot": "int",
    "mirror_image_get_info": "dict[str, Any]", "mirror_image_get_mode": "int",
    "mirror_image_get_status": "dict[str, Any]", "mirror_image_get_instance_id": "str",
    "get_snap_info": "dict[str, Any]", "mirror_remote_namespace_get": "str", "encryption_load2": "None",
    "is_complete": "bool", "wait_for_complete_and_cb": "int", "get_return_value": "int",
    "aio_open_image": "Completion", "__enter__": "Self", "__repr__": "str", "get_next_chunk": "None",
    "close": "None", "tell": "int", "seek": "int", "readable": "bool", "writable": "bool", "seekable": "bool",
    "readall": "bytes", "diff_iterate": "None", "cstr": "bytes | None", "decode_cstr": "str | None",
    "requires_not_closed": "Callable[..., Any]", "__iter__": "Iterator[Any]", "open": "AsyncImage",
}
ASYNC_RETURNS = {"read": "bytes", "write": "int", "size": "int"}


def docstring_of(obj, name=None):
    """The cleaned docstring of `obj` (without the "Name(args)" signature line Cython-style docstrings start
    with), or None."""
    doc = obj.__doc__ if isinstance(getattr(obj, "__doc__", None), str) else None
    if not doc:
        return None
    lines = doc.strip("\n").splitlines()
    if name and lines and lines[0].strip().startswith(name + "(") and lines[0].rstrip().endswith(")"):
        lines = lines[1:]
        if lines and lines[0].strip() == "--":
            lines = lines[1:]
    doc = inspect.cleandoc("\n".join(lines))
    return doc or None


def docstring_lines(doc, indent):
    """A docstring literal, indented, as stub lines (its text exactly the module's, once cleaned)."""
    text = doc.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text = text[:-1] + '\\"'
    lines = text.splitlines()
    pad = " " * indent
    if len(lines) == 1:
        return [pad + '"""%s"""' % lines[0]]
    return [pad + '"""' + lines[0]] + [(pad + line) if line.strip() else "" for line in lines[1:]] + [pad + '"""']


def own_docstring(cls, attr, func):
    """The docstring of method `attr`, when a class of this module defines it (not object's or io's)."""
    for klass in cls.__mro__:
        if attr in vars(klass):
            if klass.__module__ != "rbd":
                return None
            doc = docstring_of(func)
            generic = docstring_of(getattr(object, attr)) if hasattr(object, attr) else None
            return None if doc == generic else doc  # "Return repr(self).": what a slot without a docstring says
    return None


def default_text(param):
    """The parameter's default as the module has it, when it is a plain literal; else `...`."""
    value = param.default
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return repr(value)
    return "..."


def signature_of(func, owner=None):
    """inspect's signature; for a C-level __init__, the class's own (its docstring's "Name(args)\n--" header)."""
    if owner is not None and isinstance(owner, type):
        try:
            sig = inspect.signature(owner)
            self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
            return sig.replace(parameters=[self_param] + list(sig.parameters.values()))
        except (TypeError, ValueError):
            pass
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        pass
    doc = (owner.__doc__ or "") if owner is not None else ""
    first = doc.strip().splitlines()[0] if doc.strip() else ""
    if owner is not None and first.startswith(owner.__name__ + "("):
        namespace = {}
        exec("def f(self, %s): pass" % first[len(owner.__name__) + 1:-1], namespace)
        return inspect.signature(namespace["f"])
    return None


def render_signature(func, name, in_class=True, owner=None):
    sig = signature_of(func, owner if name == "__init__" else None)
    if sig is None:
        return "(self, *args: Any, **kwargs: Any)" if in_class else "(*args: Any, **kwargs: Any)"
    parts, saw_keyword_only = [], False
    for param in sig.parameters.values():
        if param.name == "self":
            parts.append("self")
            continue
        text = param.name
        kind = param.kind
        if kind is param.VAR_POSITIONAL:
            text = "*" + param.name
        elif kind is param.VAR_KEYWORD:
            text = "**" + param.name
        elif kind is param.KEYWORD_ONLY and not saw_keyword_only:
            parts.append("*")
            saw_keyword_only = True
        annotation = "Any" if name == "__exit__" else PARAM_TYPES.get(param.name, "Any")
        if param.default is None and "None" not in annotation:
            annotation += " | None"
        text += ": " + annotation
        if param.default is not param.empty:
            text += " = " + default_text(param)
        parts.append(text)
    return "(%s)" % ", ".join(parts)


def method_lines(cls, attr, func):
    is_static = isinstance(inspect.getattr_static(cls, attr), staticmethod)
    returns = RETURN_TYPES.get(attr, "Completion" if attr.startswith("aio_") else "Any")
    if attr == "__init__":
        returns = "None"
    prefix = "def"
    if cls.__name__ == "AsyncImage" and attr in ("read", "write", "discard", "write_zeroes", "flush", "size",
                                                 "close", "__aenter__", "__aexit__"):
        returns = "Awaitable[%s]" % ASYNC_RETURNS.get(attr, "None")
        if attr in ("close", "__aenter__", "__aexit__"):
            prefix, returns = "async def", ("AsyncImage" if attr == "__aenter__" else "None")
    if inspect.iscoroutinefunction(func):
        prefix = "async def"
    sig = render_signature(func, attr, in_class=not is_static, owner=cls)
    lines = []
    if is_static:
        lines.append("    @staticmethod")
    doc = own_docstring(cls, attr, func)
    if doc is None:
        lines.append("    %s %s%s -> %s: ..." % (prefix, attr, sig, returns))
    else:
        lines.append("    %s %s%s -> %s:" % (prefix, attr, sig, returns))
        lines += docstring_lines(doc, 8)
    return lines


def public_attrs(cls):
    names = []
    for attr in sorted(dir(cls)):
        if attr.startswith("_") and attr not in ("__init__", "__enter__", "__exit__", "__iter__", "__repr__",
                                                 "__aenter__", "__aexit__"):
            continue
        if attr in dir(object) and attr not in ("__init__", "__repr__"):
            continue
        if attr in ("__init__", "__repr__") and attr not in cls.__dict__ and not any(
                attr in base.__dict__ for base in cls.__mro__[:-1]):
            continue
        names.append(attr)
    return names


def clone_overloads(cls, func):
    """RBD.clone as the release in use has it, and (from librbd 1.19, whose module renamed the snapshot parameter)
    the older naming first: a caller of either release type-checks."""
    lines = method_lines(cls, "clone", func)
    if "p_snapshot" not in lines[0]:
        return lines
    newer = lines[0].rstrip(":") + ": ..."
    older = newer.replace("p_snapshot: str | int", "p_snapname: " + NAME)
    # Type checkers see the two overloads; documentation tools, which execute the stub, the documented method.
    return (["    if TYPE_CHECKING:", "        @overload", "    " + older, "        @overload", "    " + newer,
             "    else:"] + ["    " + line if line.strip() else line for line in lines])


def class_block(cls):
    bases = [b.__name__ for b in cls.__bases__ if b is not object and not b.__name__.startswith("_")]
    if cls is getattr(rbd, "ImageFile", None):
        bases = ["io.RawIOBase"]
    lines = ["class %s%s:" % (cls.__name__, "(%s)" % ", ".join(bases) if bases else "")]
    doc = docstring_of(cls, cls.__name__)
    if doc:
        lines += docstring_lines(doc, 4)
    for attr in public_attrs(cls):
        value = getattr(cls, attr)
        if callable(value):
            if cls is getattr(rbd, "ImageFile", None) and attr not in cls.__dict__:
                continue
            if cls is rbd.RBD and attr == "clone":
                lines += clone_overloads(cls, value)
                continue
            lines += method_lines(cls, attr, value)
        elif not attr.startswith("_"):
            lines.append("    %s: Any" % attr)
    if len(lines) == 1:
        lines.append("    ...")
    return lines


def generate():
    # Documentation tools (Sphinx >= 9 for a native module) execute the stub: annotations stay unevaluated
    # strings, and _typeshed, which exists only for type checkers, is imported for them alone.
    # The module's own docstrings (module, classes, methods, functions) are copied in: documentation tools that
    # read the stub instead of the module show them.
    out = docstring_lines(docstring_of(rbd), 0) + [
           "# Type stubs for rbd, every librbd release: generated by tools/gen_stubs.py from the module running "
           "with librbd 1.20 (do not edit).",
           "from __future__ import annotations", "",
           "import builtins", "import io", "from collections.abc import Awaitable, Callable, Iterator, Sequence",
           "from datetime import datetime", "from typing import TYPE_CHECKING, Any, Self, overload", "", "import rados", "",
           "if TYPE_CHECKING:", "    from _typeshed import ReadableBuffer as Buffer, WriteableBuffer",
           "else:", "    Buffer = WriteableBuffer = Any",
           "    # Executed as the module by documentation tools (Sphinx >= 9), it is a package as the real `rbd`",
           "    # is, so that the pure-Python submodules beside it (rbd.streams) still import.",
           "    __path__ = [__import__(\"os\").path.dirname(__file__)]", ""]
    for name in sorted(vars(rbd)):
        value = getattr(rbd, name)
        if name.startswith("_") or isinstance(value, type) or callable(value):
            continue
        if isinstance(value, (int, str)) and name.isupper():
            out.append("%s: %s" % (name, type(value).__name__))
    out.append("")
    for name in ("cstr", "decode_cstr", "requires_not_closed"):
        func = getattr(rbd, name)
        header = "def %s%s -> %s:" % (name, render_signature(func, name, in_class=False), RETURN_TYPES.get(name, "Any"))
        doc = docstring_of(func)
        out += [header] + docstring_lines(doc, 4) if doc else [header + " ..."]
    out.append("")
    classes = [getattr(rbd, n) for n in sorted(vars(rbd)) if isinstance(getattr(rbd, n), type)
               and getattr(rbd, n).__module__ == "rbd" and not n.startswith("_")]
    exceptions = [c for c in classes if issubclass(c, BaseException)]
    for cls in sorted(exceptions, key=lambda c: len(c.__mro__)):
        base = cls.__bases__[0].__name__
        out.append("class %s(%s):" % (cls.__name__, base))
        doc = docstring_of(cls, cls.__name__)
        if doc:
            out += docstring_lines(doc, 4)
        if cls.__name__ == "OSError":
            out.append("    errno: int | None")
            out.append("    def __init__(self, message: str, errno: int | None = ...) -> None: ...")
        elif cls.__name__ == "CompareMismatchError":
            out.append("    mismatch_offset: int")
        elif not doc:
            out.append("    ...")
        out.append("")
    for cls in classes:
        if cls in exceptions:
            continue
        out += class_block(cls)
        out.append("")
    # Inside `class RBD`, `list` is the method: spell the builtin type out everywhere.
    return "\n".join(out).rstrip().replace(" list[", " builtins.list[").replace("[list[", "[builtins.list[") + "\n"


def declaration_lines(text):
    """The lines of a stub that declare something (class, def, constant), without a trailing ': ...'/':'."""
    found = set()
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("def ", "async def ", "class ")) or (": " in stripped and stripped.split(":")[0].isupper()):
            found.add(stripped.removesuffix(" ...").removesuffix(":"))
    return found


def main():
    text = generate()
    newest = tuple(rbd._LIBRBD_MODEL) == NEWEST
    if "--check" in sys.argv:
        current = open(STUB).read() if os.path.exists(STUB) else ""
        if newest and current != text:
            print("%s is stale: run tools/gen_stubs.py with the module on librbd 1.20" % STUB)
            return 1
        missing = sorted(declaration_lines(text) - declaration_lines(current))
        if missing:
            print("%s lacks what the module has on librbd %d.%d:" % ((STUB,) + tuple(rbd._LIBRBD_MODEL[:2])))
            print("\n".join(missing))
            return 1
        return 0
    if not newest:
        print("the stub is written from the module on librbd 1.20 (every member); this is %d.%d: use the sid root"
              % tuple(rbd._LIBRBD_MODEL[:2]))
        return 1
    with open(STUB, "w") as f:
        f.write(text)
    print("wrote", STUB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
