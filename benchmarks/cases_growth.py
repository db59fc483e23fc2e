"""Case 6: growth of the case-1 computation (Logit fit + HC0 + influence) with n and with k.

Each point is an interleaved comparison (mestimate, floor, statsmodels); the log-log
slope of time on size is fitted and plotted (``growth_n.png``, ``growth_k.png``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from _harness import Comparison, Impl, logit_data, newton_logit_floor, plot_growth, run_comparison

import mestimate as me


def _impls(y, X, with_sm: bool):
    import statsmodels.api as sm

    def run_me(_):
        res = me.Logit(y, X).fit(cov_type="HC0")
        res.bse
        res.influence()
        return {"params": res.params.to_numpy()}

    def run_floor(_):
        return {"params": newton_logit_floor(y, X)[0]}

    def run_sm(_):
        res = sm.Logit(y, X).fit(cov_type="HC0", disp=0)
        res.get_influence().d_params
        return {"params": np.asarray(res.params)}

    impls = [Impl("mestimate", run_me), Impl("floor", run_floor)]
    return impls + [Impl("statsmodels", run_sm)] if with_sm else impls


def _sweep(points, make, label, progress):
    series: dict[str, tuple[list, list]] = {}
    rows = []
    for x, (n, k) in points:
        y, X = logit_data(n, k, seed=6)
        comp = Comparison(case="growth", title=f"{label}={x}", impls=_impls(y, X, n * k <= 3e7),
                          agree=("params",), repeat=5 if n * k <= 3e6 else 1, memory=False)
        m = run_comparison(comp, progress)
        for name, t in m.seconds.items():
            series.setdefault(name, ([], []))
            series[name][0].append(x)
            series[name][1].append(t)
        rows.append((x, n, k, m.seconds))
    return series, rows


def case_growth(quick: bool, out=None) -> list[str]:
    out = Path(out or ".")
    ns = [500, 2_000, 8_000] if quick else [1_000, 10_000, 100_000, 1_000_000]
    ks = [5, 10, 20] if quick else [5, 10, 25, 50, 100, 200]
    n_for_k, k_for_n = (2_000, 10) if quick else (20_000, 30)
    prog = None
    parts = ["### Case 6 — growth of Logit fit + HC0 + influence with n and k\n"]
    for label, points, fixed, png in (
            ("n", [(n, (n, k_for_n)) for n in ns], f"k = {k_for_n}", "growth_n.png"),
            ("k", [(k, (n_for_k, k)) for k in ks], f"n = {n_for_k:,}", "growth_k.png")):
        series, rows = _sweep(points, None, label, prog)
        slopes = plot_growth(series, label, f"Logit fit + HC0 + influence, {fixed}", out / png)
        names = list(series)
        parts.append(f"Time against {label} ({fixed}); plot `{png}`.\n")
        parts.append(f"| {label} | " + " | ".join(names) + " | mestimate / floor |")
        parts.append("|---|" + "---|" * (len(names) + 1))
        for x, _, _, sec in rows:
            cells = [f"{sec[nm]:.3g} s" if nm in sec else "—" for nm in names]
            ratio = sec["mestimate"] / sec["floor"] if "floor" in sec and "mestimate" in sec else np.nan
            parts.append(f"| {x:,} | " + " | ".join(cells) + f" | {ratio:.2f} |")
        parts.append("\nFitted log-log slopes (time ∝ " + label + "^slope): "
                     + ", ".join(f"{nm} {s:.2f}" for nm, s in slopes.items()) + "\n")
    return ["\n".join(parts)]
