"""Upstream's documentation page, built with a bare Sphinx configuration (autodoc and nothing else), documents every
public method of RBD and Image with its signature: under Sphinx 7 (which reads the module) and under the newest
Sphinx (which reads the installed stub, rbd/__init__.pyi). No hook helps: the classes hold their methods.

Each Sphinx runs in a small venv of its own (installed from PyPI by pip, kept under build/sphinx-venvs/ so that
reruns are quick); the installed `rbd` package is put on its path.
"""
import html
import inspect
import os
import re
import subprocess
import sys

import pytest

import rbd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENVS = os.path.join(ROOT, "build", "sphinx-venvs")
SPHINXES = {"sphinx7": "sphinx>=7,<8", "newest": "sphinx"}

CONF = "extensions = ['sphinx.ext.autodoc']\n"
SEED = """rbd
===

.. automodule:: rbd
   :members: RBD, Image, SnapIterator
"""


def public_methods(cls):
    return sorted(name for name, value in vars(cls).items() if not name.startswith("_") and callable(value))


def sphinx_venv(name):
    """The python of a venv holding Sphinx `SPHINXES[name]` (made once, then reused)."""
    path = os.path.join(VENVS, name)
    python = os.path.join(path, "bin", "python")
    marker = os.path.join(path, "installed")
    if os.path.exists(marker) and open(marker).read() == SPHINXES[name]:
        return python
    # Python packages from Debian (python3-rados, which the module imports) come from the system site-packages.
    base = getattr(sys, "_base_executable", None) or "/usr/bin/python3"
    subprocess.run([base, "-m", "venv", "--clear", "--system-site-packages", path], check=True, timeout=300)
    result = subprocess.run([python, "-m", "pip", "install", "-q", SPHINXES[name]], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, "pip could not install %s: %s" % (SPHINXES[name], result.stderr[-3000:])
    with open(marker, "w") as f:
        f.write(SPHINXES[name])
    return python


def build(python, tmp_path):
    """Build the seed page with the bare configuration; (Sphinx version, page text, page HTML)."""
    source, out, path = tmp_path / "source", tmp_path / "html", tmp_path / "path"
    source.mkdir()
    path.mkdir()
    (source / "conf.py").write_text(CONF)
    (source / "index.rst").write_text(SEED)
    # Only the installed package, not the rest of this venv: the Sphinx under test is the venv's own.
    os.symlink(os.path.dirname(rbd.__file__), path / "rbd")
    env = dict(os.environ, PYTHONPATH=str(path))
    env.pop("SPHINX_AUTODOC_IGNORE_NATIVE_MODULE_TYPE_STUBS", None)
    version = subprocess.run([python, "-c", "import sphinx; print(sphinx.__version__)"], capture_output=True,
                             text=True, check=True, env=env).stdout.strip()
    result = subprocess.run([python, "-m", "sphinx", "-b", "html", "-q", str(source), str(out)],
                            capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    page = (out / "index.html").read_text()
    return version, page


def signatures(page):
    """{"rbd.Image.read": "read(offset, length, fadvise_flags=0)", ...}: each documented object's signature line."""
    found = {}
    for anchor, body in re.findall(r'<dt class="sig sig-object py" id="([^"]+)">(.*?)</dt>', page, re.S):
        text = html.unescape(re.sub(r"<[^>]+>", "", body))
        found[anchor] = " ".join(text.replace("\N{PILCROW SIGN}", "").split())
    return found


@pytest.mark.parametrize("which", sorted(SPHINXES))
def test_bare_sphinx_documents_every_method(which, tmp_path):
    python = sphinx_venv(which)
    version, page = build(python, tmp_path)
    if which == "sphinx7":
        assert version.startswith("7."), version
    documented = signatures(page)
    counts = {}
    for cls in (rbd.RBD, rbd.Image):
        methods = public_methods(cls)
        assert methods == sorted(n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n)))
        found = 0
        for name in methods:
            text = documented.get("rbd.%s.%s" % (cls.__name__, name))
            assert text is not None, "Sphinx %s: %s.%s is not documented" % (version, cls.__name__, name)
            # Its signature: the name, then every parameter of the module's method, in order.
            params = [p for p in inspect.signature(getattr(cls, name)).parameters if p != "self"]
            assert re.match(r"(\w+ )?%s\(" % name, text), text
            # RBD.clone's snapshot parameter: Sphinx >= 9 shows the stub's (one stub for every release: the newest
            # naming, p_snapshot); Sphinx 7 the module's own.
            words = [r"p_snap(?:name|shot)" if p in ("p_snapname", "p_snapshot") else re.escape(p) for p in params]
            pattern = r"\(.*" + r".*".join(r"\b%s\b" % w for w in words) + r".*\)" if params else r"\(\)"
            assert re.search(pattern, text), "Sphinx %s: %s.%s: %r" % (version, cls.__name__, name, text)
            found += 1
        counts[cls.__name__] = found
    assert counts == {"RBD": len(public_methods(rbd.RBD)), "Image": len(public_methods(rbd.Image))}
    assert counts["RBD"] > 50 and counts["Image"] > 100
    assert "rbd.SnapIterator" in documented
    # The module's docstring heads the page; the newest Sphinx shows the stub's annotations too.
    letters = lambda text: re.sub(r"[^A-Za-z0-9]", "", text)  # noqa: E731  (markup and smart quotes aside)
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert letters(inspect.cleandoc(rbd.__doc__).splitlines()[0]) in letters(text)
    if int(version.split(".")[0]) >= 9:
        assert re.match(r"read\(offset: int, length: int, fadvise_flags: int = 0\) (->|\N{RIGHTWARDS ARROW}) bytes$",
                        documented["rbd.Image.read"]), documented["rbd.Image.read"]
    print("Sphinx %s documents %s" % (version, counts))
