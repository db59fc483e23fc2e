"""Run mestimate's benchmark suite and write ``results.md`` and PNG plots.

Usage::

    python benchmarks/run.py [--quick] [--cases fit generic loo cov attribution growth]
                             [--out benchmarks/out]

Every case runs mestimate and its peers (statsmodels, delicatessen, a numpy floor) in
the same process on the same data, with interleaved repeats; the table gives the median
time, the peak memory (tracemalloc), the time ratio mestimate / peer, the agreement of
the numbers and whether the target of issue 6 is met. ``--quick`` uses small sizes (a
smoke test, not a measurement). Nothing here changes the BLAS environment.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import markdown_table, run_comparison  # noqa: E402

CASES = {
    "fit": ("cases_fit", "case_fit"),
    "generic": ("cases_fit", "case_generic"),
    "loo": ("cases_loo", "case_loo"),
    "cov": ("cases_cov", "case_cov"),
    "attribution": ("cases_attribution", "case_attribution"),
    "growth": ("cases_growth", "case_growth"),
}


def _environment() -> str:
    import numpy as np
    import scipy
    import statsmodels

    import mestimate

    versions = [f"python {platform.python_version()}", f"numpy {np.__version__}",
                f"scipy {scipy.__version__}", f"statsmodels {statsmodels.__version__}",
                f"mestimate {mestimate.__version__}"]
    try:
        import delicatessen
        versions.append(f"delicatessen {delicatessen.__version__}")
    except ImportError:
        versions.append("delicatessen not installed")
    blas = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_"))}
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return (f"- Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}; "
            f"load average at start {load}\n- Versions: {', '.join(versions)}\n"
            f"- BLAS environment (left as found): {blas or 'defaults'}\n")


def _summary(measured) -> str:
    lines = ["| case | target | ratio | status |", "|---|---|---|---|"]
    for m in measured:
        for t in m.comparison.targets:
            r = m.ratio(t.peer)
            lines.append(f"| {m.comparison.title} | {t.describe()} | "
                         f"{'—' if r != r else f'{r:.2f}'} | {m.target_status(t)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test, < 2 min)")
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--out", default=str(HERE / "out"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    import importlib

    t_start = time.perf_counter()
    measured, extra = [], []
    for name in args.cases:
        module, func = CASES[name]
        print(f"== case {name}", file=sys.stderr, flush=True)
        try:
            produced = getattr(importlib.import_module(module), func)(args.quick, out)
        except ImportError as exc:
            extra.append(f"### Case {name}\n\nSkipped: {exc}. Install the extras with "
                         "`pip install -e \".[bench,demo]\"`.\n")
            continue
        for item in produced:
            if isinstance(item, str):  # a ready Markdown section (attribution, growth)
                extra.append(item)
                _write(out / "results.md", args.quick, t_start, measured, extra, final=False)
                continue
            measured.append(run_comparison(
                item, progress=lambda s: print(f"   {s}", file=sys.stderr, flush=True)))
            _write(out / "results.md", args.quick, t_start, measured, extra, final=False)
    path = _write(out / "results.md", args.quick, t_start, measured, extra, final=True)
    print(path)
    return 0


def _write(path: Path, quick: bool, t_start: float, measured, extra, final: bool) -> Path:
    """Write results.md (rewritten after every comparison, so an interrupted run keeps its numbers)."""
    stamp = _dt.datetime.now().isoformat(timespec="seconds")
    kind = "quick smoke run — sizes too small to judge" if quick else "full run"
    status = "" if final else " — INCOMPLETE, still running or interrupted"
    text = [f"# mestimate benchmarks ({kind}){status}\n",
            f"Run {stamp}, {time.perf_counter() - t_start:.0f} s in all.\n", _environment(),
            "Ratios are mestimate's median time divided by the peer's (below 1: mestimate is "
            "faster). Agreement is the largest relative difference between mestimate's numbers "
            "and the peer's. Targets are from issue 6; they are measured, never assumed.\n",
            "## Targets at a glance\n", _summary(measured), "\n## Details\n",
            markdown_table(measured), *extra]
    path.write_text("\n".join(text), encoding="utf-8")
    return path


if __name__ == "__main__":
    raise SystemExit(main())
