"""Benchmark harness: interleaved timing, peak memory, agreement of the numbers, Markdown, PNG.

A *comparison* pits implementations of the same computation against each other on the
same data in the same process. Each implementation is a :class:`Impl`: an untimed
``setup()`` (e.g. fitting a model whose covariance alone is being timed) and a timed
``run(state)`` returning a dict of named arrays (``params``, ``bse``...). Repeats are
interleaved (A, B, C, A, B, C, ...) so that a slow spell of the machine hits every
implementation alike, and the median is reported. Peak memory is measured in one extra,
untimed call under :mod:`tracemalloc` (numpy reports its buffers to tracemalloc), so the
tracing overhead never enters the times. The minor page faults of each timed call are
counted too (where the platform reports them): at a millisecond a call, memory that the
allocator has to fault in again (a few µs a page on a virtual machine) can add half the time,
and the count says when that, not the code, moved a median.

The BLAS environment is left alone on purpose: whatever the user's numpy does is what
every implementation gets.
"""
from __future__ import annotations

import gc
import math
import statistics
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Impl", "Target", "Comparison", "Measured", "run_comparison", "rel_diff",
           "markdown_table", "fit_slope", "plot_growth"]


@dataclass
class Impl:
    """One implementation: ``run(setup())`` is timed; it returns a dict of named arrays."""

    name: str
    run: Callable[[Any], dict]
    setup: Callable[[], Any] = lambda: None
    note: str = ""
    scale: float = 1.0  # reported time = measured × scale (a timed subset extrapolated)


@dataclass
class Target:
    """``time(subject) / time(peer) <= max_ratio`` (e.g. 0.5 for "at most half the time")."""

    peer: str
    max_ratio: float
    label: str = ""

    def describe(self) -> str:
        if self.label:
            return self.label
        if self.max_ratio < 1:
            return f"≥ {1 / self.max_ratio:g}× faster than {self.peer}"
        return f"≤ {self.max_ratio:g}× {self.peer}"


@dataclass
class Comparison:
    """A benchmark: the subject (mestimate) first, then its peers.

    ``agree`` names the outputs whose agreement is reported; ``reference`` is the
    implementation the numbers are compared with (default: each peer in turn).
    ``checks`` are extra (label, value) pairs computed by the case (e.g. error against
    an analytic ground truth).
    """

    case: str
    title: str
    impls: list[Impl]
    targets: list[Target] = field(default_factory=list)
    agree: tuple[str, ...] = ("params", "bse")
    repeat: int = 3
    memory: bool = True
    notes: list[str] = field(default_factory=list)
    size: dict = field(default_factory=dict)
    postcheck: Callable[[dict], list[tuple[str, float]]] | None = None


@dataclass
class Measured:
    """What was measured for one comparison."""

    comparison: Comparison
    seconds: dict[str, float]
    all_seconds: dict[str, list[float]]
    peak_mb: dict[str, float]
    outputs: dict[str, dict]
    agreement: dict[str, dict[str, float]]
    checks: list[tuple[str, float]]
    errors: dict[str, str]
    faults: dict[str, float] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        return self.comparison.impls[0].name

    def ratio(self, peer: str) -> float:
        a, b = self.seconds.get(self.subject), self.seconds.get(peer)
        return a / b if a and b else math.nan

    def target_status(self, t: Target) -> str:
        r = self.ratio(t.peer)
        if math.isnan(r):
            return "not measured"
        return "met" if r <= t.max_ratio else "MISSED"


def rel_diff(a, b) -> float:
    """Largest relative difference max|a − b| / max(|b|, tiny), elementwise, over all entries.

    Entries of ``b`` below 1e-6 of the array's largest entry are compared with that floor
    (1e-6 × max|b|) instead, so that an entry that is zero up to rounding (a null
    coefficient, a negligible influence) does not turn rounding into a large relative error.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare shapes {a.shape} and {b.shape}")
    scale = np.max(np.abs(b), initial=0.0)
    denom = np.maximum(np.abs(b), 1e-6 * scale + np.finfo(float).tiny)
    return float(np.max(np.abs(a - b) / denom, initial=0.0))


try:
    import resource
except ImportError:  # Windows: no fault counts (the column shows —)
    resource = None


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource else 0


def _time_once(impl: Impl) -> tuple[float, int, dict]:
    state = impl.setup()
    gc.collect()
    f0 = _minor_faults()
    t0 = time.perf_counter()
    out = impl.run(state)
    dt = (time.perf_counter() - t0) * impl.scale
    faults = _minor_faults() - f0
    del state
    return dt, faults, out


def _peak_once(impl: Impl) -> float:
    state = impl.setup()
    gc.collect()
    tracemalloc.start()
    try:
        impl.run(state)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def run_comparison(comp: Comparison, progress: Callable[[str], None] | None = None) -> Measured:
    """Time every implementation ``comp.repeat`` times, interleaved; median; memory; agreement."""
    times: dict[str, list[float]] = {i.name: [] for i in comp.impls}
    faults: dict[str, list[int]] = {i.name: [] for i in comp.impls}
    outputs: dict[str, dict] = {}
    errors: dict[str, str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rep in range(comp.repeat):
            for impl in comp.impls:
                if impl.name in errors:
                    continue
                if progress:
                    progress(f"{comp.case}: {impl.name} (repeat {rep + 1}/{comp.repeat})")
                try:
                    dt, nf, out = _time_once(impl)
                except Exception as exc:  # report, don't crash the whole suite
                    errors[impl.name] = f"{type(exc).__name__}: {exc}"
                    continue
                times[impl.name].append(dt)
                faults[impl.name].append(nf)
                outputs.setdefault(impl.name, out)
        peak = {}
        if comp.memory:
            for impl in comp.impls:
                if impl.name not in errors:
                    peak[impl.name] = _peak_once(impl)
    seconds = {k: statistics.median(v) for k, v in times.items() if v}
    agreement = _agreement(comp, outputs)
    checks = comp.postcheck(outputs) if comp.postcheck and comp.impls[0].name in outputs else []
    median_faults = {k: statistics.median(v) for k, v in faults.items() if v} if resource else {}
    return Measured(comp, seconds, times, peak, outputs, agreement, checks, errors, median_faults)


def _agreement(comp: Comparison, outputs: dict[str, dict]) -> dict[str, dict[str, float]]:
    """rel_diff of the subject's outputs against each peer's, per output name."""
    subj = comp.impls[0].name
    res: dict[str, dict[str, float]] = {}
    if subj not in outputs:
        return res
    for impl in comp.impls[1:]:
        if impl.name not in outputs:
            continue
        res[impl.name] = {key: rel_diff(outputs[subj][key], outputs[impl.name][key])
                          for key in comp.agree
                          if key in outputs[subj] and key in outputs[impl.name]}
    return res


# ------------------------------------------------------------------ reporting
def _fmt_t(s: float | None) -> str:
    if s is None or math.isnan(s):
        return "—"
    if s >= 1:
        return f"{s:.2f} s"
    return f"{s * 1e3:.2f} ms" if s < 0.01 else f"{s * 1e3:.1f} ms"   # 3 digits below 10 ms


def _fmt_e(x: float | str) -> str:
    if isinstance(x, str):
        return x
    return "—" if x is None or math.isnan(x) else f"{x:.1e}"


def markdown_table(measured: list[Measured]) -> str:
    """One Markdown section per comparison: a table of times, memory, ratios, agreement, targets."""
    parts = []
    for m in measured:
        c = m.comparison
        size = ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in c.size.items())
        parts.append(f"### {c.title}\n")
        if size:
            parts.append(f"Size: {size}; median of {c.repeat} interleaved repeats.\n")
        parts.append("| implementation | median time | peak memory | time ratio (mestimate / this) | "
                     + " | ".join(f"agreement: {k} (max rel. diff.)" for k in c.agree)
                     + " | page faults / call (median) |")
        parts.append("|---|---|---|---|" + "---|" * len(c.agree) + "---|")
        for impl in c.impls:
            name = impl.name + (f" ({impl.note})" if impl.note else "")
            if impl.name in m.errors:
                parts.append(f"| {name} | failed: {m.errors[impl.name][:150]} | | |"
                             + " |" * (len(c.agree) + 1))
                continue
            t = m.seconds.get(impl.name)
            mem = m.peak_mb.get(impl.name)
            mem_s = "—" if mem is None else f"{mem:,.1f} MiB"
            if impl is c.impls[0]:
                ratio, agr = "1 (subject)", ["—"] * len(c.agree)
            else:
                r = m.ratio(impl.name)
                ratio = "—" if math.isnan(r) else f"{r:.2f}"
                agr = [_fmt_e(m.agreement.get(impl.name, {}).get(k, math.nan)) for k in c.agree]
            nf = m.faults.get(impl.name)
            nf_s = "—" if nf is None else f"{nf:,.0f}"
            parts.append(f"| {name} | {_fmt_t(t)} | {mem_s} | {ratio} | " + " | ".join(agr)
                         + f" | {nf_s} |")
        parts.append("")
        for t in c.targets:
            r = m.ratio(t.peer)
            status = m.target_status(t)
            said = {"met": "**met**", "MISSED": "**MISSED**"}.get(status, status)
            rs = "—" if math.isnan(r) else f"{r:.2f}"
            parts.append(f"- Target {t.describe()} (ratio ≤ {t.max_ratio:g}): measured ratio {rs} → {said}.")
        for label, value in m.checks:
            parts.append(f"- {label}: {_fmt_e(value)}")
        for note in c.notes:
            parts.append(f"- Note: {note}")
        parts.append("")
    return "\n".join(parts)


def fit_slope(x, y) -> float:
    """Least-squares slope of log y on log x (the empirical exponent of time ~ size^slope)."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    ok = np.isfinite(lx) & np.isfinite(ly)
    if ok.sum() < 2:
        return math.nan
    return float(np.polyfit(lx[ok], ly[ok], 1)[0])


def plot_growth(series: dict[str, tuple[list, list]], xlabel: str, title: str, path: Path) -> dict:
    """Log-log plot of time against size for each implementation; returns the fitted slopes."""
    slopes = {name: fit_slope(x, y) for name, (x, y) in series.items()}
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # plots are optional; the table still carries the slopes
        return slopes
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, (x, y) in series.items():
        ax.loglog(x, y, "o-", label=f"{name} (slope {slopes[name]:.2f})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("median seconds")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return slopes


# ----------------------------------------------------------------------- data
def logit_data(n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A constant and k − 1 standard normal regressors; y ~ Bernoulli(expit(Xβ)), |β| modest."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, k))
    X[:, 0] = 1.0
    X[:, 1:] = rng.standard_normal((n, k - 1))
    beta = rng.normal(0.0, 1.0 / np.sqrt(k), size=k)
    p = 1.0 / (1.0 + np.exp(-(X @ beta)))
    y = (rng.random(n) < p).astype(float)
    return y, X


def newton_logit_floor(y: np.ndarray, X: np.ndarray, tol: float = 1e-10, maxiter: int = 50):
    """The floor: a minimal numpy Newton loop for the logit MLE, then one GᵀG (HC0) and I = −GH⁻¹.

    Returns (beta, bse_hc0, influence) with H the Hessian of the mean loss and
    influence rows −H⁻¹G_t (MATH.md), so everything is comparable with mestimate.
    """
    n, k = X.shape
    beta = np.zeros(k)
    for _ in range(maxiter):
        p = 1.0 / (1.0 + np.exp(-(X @ beta)))
        g = X.T @ (p - y)
        H = (X * (p * (1.0 - p))[:, None]).T @ X
        step = np.linalg.solve(H, g)
        beta -= step
        if np.max(np.abs(step)) < tol * (1.0 + np.max(np.abs(beta))):
            break
    p = 1.0 / (1.0 + np.exp(-(X @ beta)))
    G = X * (p - y)[:, None]
    Hn = (X * (p * (1.0 - p))[:, None]).T @ X / n
    Hinv = np.linalg.inv(Hn)
    cov = Hinv @ (G.T @ G / n**2) @ Hinv
    return beta, np.sqrt(np.diag(cov)), -G @ Hinv
