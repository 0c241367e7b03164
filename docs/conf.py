"""Sphinx configuration of the documentation site (build: ci/docs.sh).

Configuration only: autodoc documents `rbd` as it is. Sphinx >= 9 reads the installed stub (rbd/__init__.pyi,
which carries the module's docstrings, annotations and defaults), older Sphinx reads the module; either way
`RBD` and `Image` each hold all their methods (see tools/assemble.py).
"""
import os
import subprocess
import sys

# Exceptions only some librbd releases have (src/helpers/releases.pxi): reference.rst includes this generated
# list, which names those the module being documented has. Asked in a child process: `rbd` imported here would
# keep Sphinx >= 9 from reading its stub.
RELEASE_ONLY_EXCEPTIONS = ["ImageMemberOfGroup"]   # librbd 1.20
present = subprocess.run([sys.executable, "-c", "import rbd, sys; print(*[n for n in sys.argv[1:] if hasattr(rbd, n)])",
                          *RELEASE_ONLY_EXCEPTIONS], capture_output=True, text=True, check=True).stdout.split()
os.makedirs(os.path.join(os.path.dirname(__file__), "_generated"), exist_ok=True)
with open(os.path.join(os.path.dirname(__file__), "_generated", "release-exceptions.rst"), "w") as f:
    f.writelines(".. autoexception:: rbd.%s\n\n" % name for name in present)

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

autodoc_default_options = {"undoc-members": True}
autodoc_member_order = "alphabetical"
autodoc_typehints = "signature"
# Shown as the stub spells them (at run time the buffer protocols are Any, and rados.Ioctx would be "Ioctx").
autodoc_type_aliases = {name: name for name in ("Buffer", "WriteableBuffer", "rados.Ioctx", "rados.Rados")}
