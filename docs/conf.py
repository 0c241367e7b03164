"""Sphinx configuration of the documentation site (build: ci/docs.sh)."""
import inspect
import os
import sys

# Documented from the type stub, as Sphinx >= 9 does for a native module that has one: the stub's classes carry
# every public method (in the module they live in private per-area base classes, which autodoc would not list
# for Image and RBD), with their annotations. The docstrings and the parameters' real defaults come from the
# module itself (process_docstring and process_signature below): the stub has neither.
import rbd as real_rbd  # noqa: E402
import rbd.streams  # noqa: E402  (pure Python, documented as it is; imported while `rbd` still has its __path__)

del sys.modules["rbd"]  # let autodoc import `rbd` again, from its stub

# Exceptions only some librbd releases have (src/helpers/releases.pxi): reference.rst includes this generated
# list, which names those the module being documented has.
RELEASE_ONLY_EXCEPTIONS = ["ImageMemberOfGroup"]   # librbd 1.20
os.makedirs(os.path.join(os.path.dirname(__file__), "_generated"), exist_ok=True)
with open(os.path.join(os.path.dirname(__file__), "_generated", "release-exceptions.rst"), "w") as f:
    f.writelines(".. autoexception:: rbd.%s\n\n" % name for name in RELEASE_ONLY_EXCEPTIONS
                 if hasattr(real_rbd, name))

project = "rbd"
author = "the rbd binding's authors"
copyright = "the rbd binding's authors"
extensions = ["sphinx.ext.autodoc", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_generated", "requirements.txt"]
root_doc = "index"
html_theme = "alabaster"
html_static_path = []
myst_heading_anchors = 3

# Members without a docstring of their own in the stub are documented too (the docstring comes from the module).
autodoc_default_options = {"undoc-members": True}
autodoc_member_order = "alphabetical"
autodoc_typehints = "signature"


def real_object(name):
    """The module's object for a documented dotted name (`rbd.Image.read`), or None."""
    obj = real_rbd
    for part in name.split(".")[1:]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def process_docstring(app, what, name, obj, options, lines):
    real = real_object(name)
    doc = inspect.getdoc(real) if real is not None else None
    if not doc:
        return
    if what in ("class", "exception"):
        doc = "\n".join(line for line in doc.splitlines()
                        if not line.startswith(real.__name__ + "("))  # Cython's embedded signature line
        doc = inspect.cleandoc(doc)
    lines[:] = doc.splitlines()


def real_signature(real):
    try:
        return inspect.signature(real)
    except (TypeError, ValueError):
        return None


def render(parameters, annotations):
    parts, keyword_only_marked = [], False
    for param in parameters:
        if param.name == "self":
            continue
        text = param.name
        if param.kind is param.VAR_POSITIONAL:
            text, keyword_only_marked = "*" + text, True
        elif param.kind is param.VAR_KEYWORD:
            text = "**" + text
        elif param.kind is param.KEYWORD_ONLY and not keyword_only_marked:
            parts.append("*")
            keyword_only_marked = True
        annotation = annotations.get(param.name)
        if annotation is not None:
            text += ": " + annotation
        if param.default is not param.empty:
            text += (" = " if annotation is not None else "=") + repr(param.default)
        parts.append(text)
    return "(%s)" % ", ".join(parts)


def process_signature(app, what, name, obj, options, signature, return_annotation):
    """The module's parameters and defaults, annotated with the stub's types."""
    if what not in ("class", "exception", "method", "function"):
        return None
    real = real_object(name)
    stub = obj.__dict__.get("__init__") if isinstance(obj, type) else obj
    if real is None or stub is None:
        return None
    real_sig, stub_sig = real_signature(real), real_signature(stub)
    if real_sig is None or stub_sig is None:
        return None
    annotations = {p.name: p.annotation for p in stub_sig.parameters.values()
                   if isinstance(p.annotation, str)}
    returns = stub_sig.return_annotation if isinstance(stub_sig.return_annotation, str) else None
    if isinstance(obj, type):
        returns = None
    return render(real_sig.parameters.values(), annotations), returns


def setup(app):
    app.connect("autodoc-process-docstring", process_docstring)
    app.connect("autodoc-process-signature", process_signature)
