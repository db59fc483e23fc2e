"""Case 3: leave-one-out for a logit, exact and approximate, against statsmodels.

``exact``: mestimate's exact refits for all n (batched chord steps from the Newton-step
estimates, damped Newton for the units they do not settle) against a loop of statsmodels
``Logit`` refits, warm-started from θ̂. The statsmodels loop is
timed on the first ``m`` points and extrapolated linearly to all n (said in the table).

``newton``: influence functions plus the Newton-step (ALO) leave-one-out given a fitted
model, against statsmodels' ``MLEInfluence`` (Logit) and ``GLMInfluence`` (GLM Binomial),
whose ``params_one`` is the same one-step estimate.
"""
from __future__ import annotations

import numpy as np

from _harness import Comparison, Impl, Target, logit_data

import mestimate as me


def case_loo(quick: bool, out=None) -> list[Comparison]:
    import statsmodels.api as sm

    n, k, m = (500, 5, 100) if quick else (5_000, 10, 500)
    y, X = logit_data(n, k, seed=3)
    fit_me = lambda: me.Logit(y, X).fit()  # noqa: E731  (untimed setup: a fresh results object)
    theta = fit_me().params.to_numpy()
    keep = np.ones(n, dtype=bool)

    def run_me_exact(res):
        loo = res.loo_params(method="exact", progress=False).to_numpy()
        return {"loo params": loo[:m]}

    def run_sm_loop(_):
        rows = []
        for t in range(m):
            keep[:] = True
            keep[t] = False
            r = sm.Logit(y[keep], X[keep]).fit(start_params=theta, disp=0, tol=1e-12)
            rows.append(r.params)
        return {"loo params": np.array(rows)}

    exact = Comparison(
        case="loo", title="Case 3a — exact leave-one-out for all n",
        impls=[Impl("mestimate", run_me_exact, setup=fit_me, note="loo_params('exact')"),
               Impl("statsmodels refit loop", run_sm_loop, scale=n / m,
                    note=f"timed on {m} refits, ×{n // m} to all n")],
        targets=[Target("statsmodels refit loop", 1 / 20)],
        agree=("loo params",), repeat=1 if not quick else 2, memory=False,
        size={"n": n, "k": k, "m (refits timed)": m})

    newton = _newton_comparison(sm, y, X, fit_me, repeat=3 if quick else 21,
                                title="Case 3b — influence + Newton-step leave-one-out given a fit")
    comps = [exact, newton]
    if not quick:  # the same at the size of case 1, where the per-call overheads no longer dominate
        yl, Xl = logit_data(200_000, 30, seed=3)
        comps.append(_newton_comparison(
            sm, yl, Xl, lambda: me.Logit(yl, Xl).fit(), repeat=5,
            title="Case 3b at n = 200,000 — influence + Newton-step leave-one-out given a fit"))
    return comps


def _newton_comparison(sm, y, X, fit_me, repeat: int, title: str) -> Comparison:
    n, k = X.shape

    def run_me_newton(res):
        infl = res.influence().to_numpy()
        loo = res.loo_params(method="newton").to_numpy()
        return {"loo params": loo, "influence/n": infl / n}

    def fit_sm():
        return sm.Logit(y, X).fit(disp=0, tol=1e-12)

    def fit_glm():
        return sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-12)

    def run_sm_infl(res):
        infl = res.get_influence()
        return {"loo params": np.asarray(infl.params_one), "influence/n": np.asarray(infl.d_params)}

    return Comparison(
        case="loo", title=title,
        impls=[Impl("mestimate", run_me_newton, setup=fit_me,
                    note="influence() + loo_params('newton')"),
               Impl("statsmodels MLEInfluence", run_sm_infl, setup=fit_sm,
                    note="Logit get_influence(): d_params, params_one"),
               Impl("statsmodels GLMInfluence", run_sm_infl, setup=fit_glm,
                    note="GLM Binomial get_influence()")],
        targets=[Target("statsmodels MLEInfluence", 0.25), Target("statsmodels GLMInfluence", 0.25)],
        # milliseconds each at n = 5,000: many interleaved repeats, so that the median is not
        # one slow spell
        agree=("loo params", "influence/n"), repeat=repeat, size={"n": n, "k": k},
        notes=["influence/n (IJ, H⁻¹G_t/n) vs statsmodels d_params (one-step, ÷(1 − h_t)) differ by "
               "about max h_t; the Newton-step LOO params must agree to rounding."])
