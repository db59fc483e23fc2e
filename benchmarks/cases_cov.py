"""Case 4: cluster and HAC covariances of OLS at n = 10⁶ against statsmodels.

Timed twice: the covariance alone given a fitted model on both sides (the fit is the
untimed setup), and the whole fit + covariance.
"""
from __future__ import annotations

import numpy as np

from _harness import Comparison, Impl, Target

import mestimate as me


def _ols_data(n: int, k: int, n_groups: int, seed: int = 4):
    rng = np.random.default_rng(seed)
    X = np.empty((n, k))
    X[:, 0] = 1.0
    X[:, 1:] = rng.standard_normal((n, k - 1))
    g = rng.integers(0, n_groups, size=n)
    e = rng.standard_normal(n) + rng.standard_normal(n_groups)[g]
    e[1:] += 0.5 * e[:-1]  # some serial correlation for HAC
    y = X @ np.linspace(1.0, -1.0, k) + e
    return y, X, g


def case_cov(quick: bool, out=None) -> list[Comparison]:
    import statsmodels.api as sm

    n, k, G = (20_000, 5, 200) if quick else (1_000_000, 10, 1_000)
    y, X, g = _ols_data(n, k, G)
    specs = [("cluster", {"groups": g}), ("HAC", {"maxlags": 10})]
    comps = []
    for cov_type, kw in specs:
        def me_cov(res, cov_type=cov_type, kw=kw):
            return {"bse": np.sqrt(np.diag(res.cov_params(cov_type, **kw).to_numpy()))}

        def sm_cov(res, cov_type=cov_type, kw=kw):
            return {"bse": np.asarray(res.get_robustcov_results(cov_type=cov_type, **kw).bse)}

        def me_all(_, cov_type=cov_type, kw=kw):
            res = me.OLS(y, X).fit(cov_type=cov_type, cov_kwds=kw)
            return {"params": res.params.to_numpy(), "bse": res.bse.to_numpy()}

        def sm_all(_, cov_type=cov_type, kw=kw):
            res = sm.OLS(y, X).fit(cov_type=cov_type, cov_kwds=kw)
            return {"params": np.asarray(res.params), "bse": np.asarray(res.bse)}

        label = f"{cov_type} ({', '.join(f'{a}={b}' for a, b in kw.items() if a != 'groups')}"
        label = label + ")" if kw.keys() - {"groups"} else f"{cov_type} ({G:,} groups)"
        size = {"n": n, "k": k}
        comps.append(Comparison(
            case="cov", title=f"Case 4 — OLS {label}: covariance only, given a fit",
            impls=[Impl("mestimate", me_cov, setup=lambda: me.OLS(y, X).fit()),
                   Impl("statsmodels", sm_cov, setup=lambda: sm.OLS(y, X).fit(),
                        note="get_robustcov_results")],
            targets=[Target("statsmodels", 0.5)], agree=("bse",), repeat=3, size=size))
        comps.append(Comparison(
            case="cov", title=f"Case 4 — OLS {label}: fit + covariance",
            impls=[Impl("mestimate", me_all), Impl("statsmodels", sm_all)],
            targets=[Target("statsmodels", 0.5)], agree=("params", "bse"), repeat=3, size=size))
    return comps
