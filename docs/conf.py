"""Sphinx configuration of the documentation site (build: ci/docs.sh).

Configuration only: autodoc documents `rbd` as it is. Sphinx >= 9 reads the installed stub (rbd/__init__.pyi,
which carries the module's docstrings, annotations and defaults), older Sphinx reads the module; either way
`RBD` and `Image` each hold all their methods (see tools/assemble.py).
"""
import os

import rbd

# Exceptions only some librbd releases have (src/helpers/releases.pxi): reference.rst includes this generated
# list, which names those the module being documented has.
RELEASE_ONLY_EXCEPTIONS = ["ImageMemberOfGroup"]   # librbd 1.20
os.makedirs(os.path.join(os.path.dirname(__file__), "_generated"), exist_ok=True)
with open(os.path.join(os.path.dirname(__file__), "_generated", "release-exceptions.rst"), "w") as f:
    f.writelines(".. autoexception:: rbd.%s\n\n" % name for name in RELEASE_ONLY_EXCEPTIONS if hasattr(rbd, name))

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
