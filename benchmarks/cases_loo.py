"""Case 3: leave-one-out for a logit, exact and approximate, against statsmodels.

``exact``: mestimate's exact refits for all n (batched chord steps from the Newton-step
estimates, damped Newton for the units they do not settle) against a loop of statsmodels
``Logit`` refits, warm-started from θ̂. The statsmodels loop is
timed on the first ``m`` points and extrapolated linearly to all n (said in the table).

``newton``: influence functions plus the Newton-step (ALO) leave-one-out given a fitted
model, against statsmodels' ``MLEInfluence`` (Logit) and ``GLMInfluence`` (GLM Binomial),
whose ``params_one`` is the same one-step estimate, and against two floors: the same
Sherman–Morrison arithmetic written by hand in numpy from the fit's θ̂, returning the same
two labelled DataFrames, and returning bare arrays (as statsmodels does). The floors show
what part of the time is the computation itself and what part is pandas.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

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

    def given_fit():
        """What a fit holds (θ̂, H_n⁻¹, ℓ′_t, ℓ″_t, the labels), in plain numpy, untimed."""
        res = fit_me()
        theta = res.params.to_numpy()
        p = 1.0 / (1.0 + np.exp(-(X @ theta)))
        d2 = p * (1.0 - p)
        Hinv = np.linalg.inv((X * d2[:, None]).T @ X / n)
        return theta, 0.5 * (Hinv + Hinv.T), p - y, d2, res.params.index

    def floor_arrays(state):
        """I_t = −ℓ′_t H⁻¹x_t and θ̂ + ℓ′_t H⁻¹x_t / (n − ℓ″_t x_tᵀH⁻¹x_t), by hand."""
        theta, Hinv, d1, d2, _ = state
        U = (Hinv @ X.T).T                                 # rows H⁻¹x_t
        infl = U * -d1[:, None]
        den = np.einsum("ij,ij->i", X, U)
        den *= d2
        np.subtract(n, den, out=den)
        loo = U * (d1 / den)[:, None]
        loo += theta
        return infl, loo

    def run_floor_frames(state):
        infl, loo = floor_arrays(state)
        cols = state[4]
        infl, loo = (pd.DataFrame(a, columns=cols.view(), copy=False) for a in (infl, loo))
        return {"loo params": loo.to_numpy(), "influence/n": infl.to_numpy() / n}

    def run_floor_bare(state):
        infl, loo = floor_arrays(state)
        return {"loo params": loo, "influence/n": infl / n}

    return Comparison(
        case="loo", title=title,
        impls=[Impl("mestimate", run_me_newton, setup=fit_me,
                    note="influence() + loo_params('newton')"),
               Impl("statsmodels MLEInfluence", run_sm_infl, setup=fit_sm,
                    note="Logit get_influence(): d_params, params_one"),
               Impl("statsmodels GLMInfluence", run_sm_infl, setup=fit_glm,
                    note="GLM Binomial get_influence()"),
               Impl("numpy + pandas floor", run_floor_frames, setup=given_fit,
                    note="the same arithmetic by hand, the same two labelled DataFrames"),
               Impl("numpy floor", run_floor_bare, setup=given_fit,
                    note="the same arithmetic by hand, bare arrays")],
        targets=[Target("statsmodels MLEInfluence", 0.25), Target("statsmodels GLMInfluence", 0.25)],
        # milliseconds each at n = 5,000: many interleaved repeats, so that the median is not
        # one slow spell
        agree=("loo params", "influence/n"), repeat=repeat, size={"n": n, "k": k},
        notes=["influence/n (IJ, H⁻¹G_t/n) vs statsmodels d_params (one-step, ÷(1 − h_t)) differ by "
               "about max h_t; the Newton-step LOO params must agree to rounding.",
               "The floors start from θ̂ and H_n⁻¹ of the fit, as mestimate does; their "
               "ratios say how far mestimate is from the arithmetic itself (numpy floor) and "
               "from the same arithmetic returning labelled DataFrames (numpy + pandas "
               "floor)."])
