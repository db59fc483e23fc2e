"""Speed and accuracy of leave-one-out (measured, not asserted).

1. Exact LOO for all n = 5,000 points of a k = 10 logistic regression: batched chord and
   Newton steps (mestimate) against a loop of statsmodels ``Logit`` refits; max |difference|.
2. Influence + Newton-step LOO at n = 200,000, k = 30 against statsmodels'
   ``Logit(...).fit().get_influence().d_params``.

Run: ``python benchmarks/bench_loo.py [--quick]``.
"""
from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import statsmodels.api as sm

import mestimate as me


def _data(n, k, seed=0):
    rng = np.random.default_rng(seed)
    X = np.c_[np.ones(n), rng.normal(size=(n, k - 1))]
    beta = rng.normal(scale=0.3, size=k)
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ beta))).astype(float)
    return y, X


def bench_exact(n=5000, k=10, n_sm=None):
    y, X = _data(n, k)
    res = me.Logit(y, X).fit(xtol=1e-12)
    t0 = time.perf_counter()
    ex = res.loo_params("exact")
    t_me = time.perf_counter() - t0
    n_sm = n if n_sm is None else n_sm
    pts = np.linspace(0, n - 1, n_sm).astype(int)
    t0 = time.perf_counter()
    ref = []
    for t in pts:
        keep = np.ones(n, bool)
        keep[t] = False
        ref.append(sm.Logit(y[keep], X[keep]).fit(disp=0, method="newton", tol=1e-12,
                                                 start_params=res.params.to_numpy()).params)
    t_sm = (time.perf_counter() - t0) * n / n_sm
    diff = np.max(np.abs(ex.to_numpy()[pts] - np.array(ref)))
    print(f"exact LOO n={n} k={k}: mestimate {t_me:.2f} s, statsmodels loop {t_sm:.1f} s "
          f"({'extrapolated from ' + str(n_sm) if n_sm < n else 'all'}), speed-up {t_sm / t_me:.0f}x,"
          f" max |diff| {diff:.2e}, all converged: {bool(ex.attrs['converged'].all())}")


def bench_newton(n=200_000, k=30):
    y, X = _data(n, k, seed=1)
    res = me.Logit(y, X).fit()
    t0 = time.perf_counter()
    res2 = me.Logit(y, X).fit()
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    infl = res2.influence()
    nw = res2.loo_params("newton")
    t_me = time.perf_counter() - t0
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = sm.Logit(y, X).fit(disp=0).get_influence().d_params
    t_sm = time.perf_counter() - t0
    diff = np.max(np.abs(res.params.to_numpy() - nw.to_numpy() - d))
    print(f"influence + Newton LOO n={n} k={k}: mestimate {t_me:.2f} s (+ fit {t_fit:.2f} s), "
          f"statsmodels fit + d_params {t_sm:.2f} s: {100 * t_me / t_sm:.0f}% "
          f"({100 * (t_me + t_fit) / t_sm:.0f}% with the fit), max |diff| {diff:.1e}, "
          f"influence shape {infl.shape}")


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    bench_exact(n_sm=500 if quick else None)
    bench_newton(n=50_000 if quick else 200_000)
