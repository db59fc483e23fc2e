"""Case 5: attribution query times (MarkovChain, SoftmaxAR) on the State of the Union corpus.

The sequence-model benchmarks belong to their own scripts (``bench_markov.py``,
``bench_softmax.py``); this case runs each in a subprocess and includes its Markdown
output verbatim, so the numbers are the scripts' own.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("bench_markov.py", "bench_softmax.py")
TIMEOUT = 1800


def _run(script: Path, quick: bool) -> str:
    if not script.exists():
        return f"#### {script.name}\n\nNot present in this checkout; skipped.\n"
    args = [sys.executable, str(script)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, cwd=HERE.parent)
    except subprocess.TimeoutExpired:
        return f"#### {script.name}\n\nTimed out after {TIMEOUT} s.\n"
    dt = time.perf_counter() - t0
    head = f"#### {script.name} (`{' '.join(Path(a).name for a in args[1:])}`, {dt:.0f} s wall)\n"
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        return f"{head}\nFailed (exit {proc.returncode}):\n\n```\n{tail}\n```\n"
    return f"{head}\n{proc.stdout.strip()}\n"


def case_attribution(quick: bool, out=None) -> list[str]:
    """Markdown sections, one per script."""
    parts = ["### Case 5 — attribution on the State of the Union corpus\n",
             "Output of the sequence-model benchmark scripts, run in subprocesses.\n"]
    if quick:
        parts.append("Skipped in --quick mode: these scripts fit models on the whole corpus "
                     "(minutes each); run without --quick.\n")
    else:
        parts += [_run(HERE / name, quick) for name in SCRIPTS]
    return ["\n".join(parts)]
