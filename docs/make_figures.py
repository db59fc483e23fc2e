"""Run the tutorials' code and store what it prints and draws, so Sphinx executes nothing.

Each tutorial is a sequence of scripts ``docs/tutorials/code/<tutorial>_<n>_<step>.py``
run in order in one namespace (as a reader would run them in one session). What each
script prints goes to ``docs/tutorials/output/<script>.txt``, included under the code by
the tutorial pages; ``<tutorial>_fig.py`` scripts run last, with the working directory
``docs/_static``, and save the PNG files the pages show. Commit the outputs.

Usage::

    python docs/make_figures.py                 # every tutorial
    python docs/make_figures.py panel ar        # some of them
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

DOCS = Path(__file__).resolve().parent
CODE = DOCS / "tutorials" / "code"
OUTPUT = DOCS / "tutorials" / "output"
STATIC = DOCS / "_static"
_STEP = re.compile(r"^(?P<tutorial>[a-z]+)_(?P<n>\d+)_\w+\.py$")


def tutorials() -> dict[str, list[Path]]:
    """Scripts per tutorial, in order, with the figure script (if any) last."""
    found: dict[str, list[Path]] = {}
    for path in sorted(CODE.glob("*.py")):
        m = _STEP.match(path.name)
        if m:
            found.setdefault(m["tutorial"], []).append(path)
    for name, steps in found.items():
        steps.sort(key=lambda p: int(_STEP.match(p.name)["n"]))
        fig = CODE / f"{name}_fig.py"
        if fig.exists():
            steps.append(fig)
    return found


def run(name: str, steps: list[Path]) -> None:
    """Run one tutorial's scripts in a shared namespace, capturing stdout per script."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    namespace: dict = {"__name__": f"tutorial_{name}"}
    here = os.getcwd()
    for path in steps:
        is_fig = path.name.endswith("_fig.py")
        buf = io.StringIO()
        start = time.perf_counter()
        try:
            os.chdir(STATIC if is_fig else CODE)
            with contextlib.redirect_stdout(buf), warnings.catch_warnings():
                warnings.simplefilter("ignore")      # progress notes are not page content
                exec(compile(path.read_text(), str(path), "exec"), namespace)
        finally:
            os.chdir(here)
        if not is_fig:
            text = "\n".join(line.rstrip() for line in buf.getvalue().splitlines())
            (OUTPUT / f"{path.stem}.txt").write_text(text + "\n", encoding="utf-8")
        print(f"  {path.name:32s} {time.perf_counter() - start:6.1f} s")
    import matplotlib.pyplot as plt

    plt.close("all")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    found = tutorials()
    unknown = sorted(set(argv) - set(found))
    if unknown:
        print(f"unknown tutorials {unknown}; choose from {sorted(found)}", file=sys.stderr)
        return 2
    for name in argv or sorted(found):
        print(name)
        run(name, found[name])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
