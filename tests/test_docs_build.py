"""The documentation: it builds without warnings, lists every public name, and its
doctest-style pages (quickstart, theory) print what the code returns."""
from __future__ import annotations

import doctest
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mestimate

DOCS = Path(__file__).resolve().parents[1] / "docs"
API_MODULES = ["covariance", "delta", "influence", "loo", "diagnostics", "sensitivity",
               "sequence", "derivatives", "optimize"]


def _conf():
    spec = importlib.util.spec_from_file_location("_docs_conf", DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def _autosummary_entries(text: str) -> set[str]:
    """Names listed in the autosummary directives of an rst page."""
    names, inside = set(), False
    for line in text.splitlines():
        if line.startswith(".. autosummary::"):
            inside = True
            continue
        if inside:
            if line.strip() and not line.startswith(" "):
                inside = False
            elif line.strip() and not line.strip().startswith(":"):
                names.add(line.strip())
    return names


def test_api_page_lists_every_public_name():
    listed = _autosummary_entries((DOCS / "api.rst").read_text(encoding="utf-8"))
    missing = sorted(set(mestimate.__all__) - listed)
    assert not missing, f"add these public names to docs/api.rst: {missing}"
    missing_modules = sorted(set(API_MODULES) - listed)
    assert not missing_modules, f"add these modules to docs/api.rst: {missing_modules}"


def test_every_tutorial_step_has_stored_output():
    code = DOCS / "tutorials" / "code"
    steps = [p for p in code.glob("*.py") if not p.stem.endswith("_fig")]
    assert steps
    missing = [p.name for p in steps
               if not (DOCS / "tutorials" / "output" / f"{p.stem}.txt").exists()]
    assert not missing, f"run python docs/make_figures.py; no output for {missing}"
    pages = "".join(p.read_text(encoding="utf-8") for p in (DOCS / "tutorials").glob("*.rst"))
    shown = set(re.findall(r"code/(\w+)\.py", pages))
    assert {p.stem for p in steps} <= shown, "a tutorial script is not shown on any page"
    for image in re.findall(r"\.\. image:: \.\./_static/(\S+)", pages):
        assert (DOCS / "_static" / image).stat().st_size < 200_000, f"{image} is missing or large"


@pytest.mark.parametrize("page", ["quickstart.rst", "theory.rst"])
def test_page_doctests(page):
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(str(DOCS / page), module_relative=False, optionflags=flags,
                              raise_on_error=False, verbose=False)
    assert result.attempted > 5
    assert result.failed == 0, f"{result.failed} doctest(s) in docs/{page} failed (see output)"


def test_absolute_value_bars_are_escaped_outside_literals():
    conf = _conf()
    lines = ["max(|θ_j|, 1) and ``|x|`` and :math:`|x|`", "", ">>> abs(-1)  # |x|",
             "1", "", "Example::", "", "    a |b| c", "back |y| here"]
    conf.escape_absolute_values(None, "function", "f", None, {}, lines)
    assert lines[0] == r"max(\|θ_j\|, 1) and ``|x|`` and :math:`|x|`"
    assert lines[2] == ">>> abs(-1)  # |x|"
    assert lines[7] == "    a |b| c"
    assert lines[8] == r"back \|y\| here"


@pytest.mark.slow
def test_sphinx_build_has_no_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    src = tmp_path / "docs"
    shutil.copytree(DOCS, src, ignore=shutil.ignore_patterns("_build", "generated"))
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(src),
         str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stderr[-6000:]}"
    for name in mestimate.__all__:
        assert (out / "generated" / f"mestimate.{name}.html").exists(), name
    for page in ["quickstart", "theory", "comparison", "tutorials/attribution"]:
        assert (out / f"{page}.html").exists(), page
