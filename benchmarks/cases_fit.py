"""Cases 1 and 2: fitting a logit with mestimate against statsmodels, delicatessen and a floor.

Case ``fit`` (1): built-in :class:`mestimate.Logit`, fit + HC0 covariance + influence, against
statsmodels ``Logit(...).fit(cov_type="HC0")`` + ``get_influence().d_params`` and against
a minimal numpy Newton loop plus one GᵀG (the "floor").

Case ``generic`` (2): :class:`mestimate.MEstimator` given only a numpy logistic loss (no
derivatives: mestimate differentiates the numpy code by forward-mode autodiff, statsmodels
by finite differences) against statsmodels ``GenericLikelihoodModel`` with
``method="newton"``; and
given only estimating functions against delicatessen's ``MEstimator`` with
``ee_regression(model="logistic")``. Agreement is also measured against the analytic
logit (statsmodels ``Logit``), the ground truth both sides approximate numerically.
"""
from __future__ import annotations

import numpy as np
from scipy import special

from _harness import Comparison, Impl, Target, logit_data, newton_logit_floor, rel_diff

import mestimate as me


def case_fit(quick: bool, out=None) -> list[Comparison]:
    """Case 1: Logit n=200,000, k=30 (quick: n=5,000, k=10)."""
    import statsmodels.api as sm

    n, k = (5_000, 10) if quick else (200_000, 30)
    y, X = logit_data(n, k, seed=1)

    def run_me(_):
        res = me.Logit(y, X).fit(cov_type="HC0")
        infl = res.influence().to_numpy()
        return {"params": res.params.to_numpy(), "bse": res.bse.to_numpy(),
                "influence/n": infl / n}

    def run_sm(_):
        res = sm.Logit(y, X).fit(cov_type="HC0", disp=0)
        dp = res.get_influence().d_params
        return {"params": res.params, "bse": res.bse, "influence/n": dp}

    def run_floor(_):
        beta, bse, infl = newton_logit_floor(y, X)
        return {"params": beta, "bse": bse, "influence/n": infl / n}

    def leverage_bound(out):
        # statsmodels' d_params is the one-step LOO change H⁻¹G_t / (1 − h_t); mestimate's
        # influence is the IJ H⁻¹G_t / n: they differ by the factor 1/(1 − h_t) exactly.
        res = me.Logit(y, X).fit()
        h = res.leverage()
        corr = out["mestimate"]["influence/n"] / (1.0 - h)[:, None]
        return [("max h_t/(1 − h_t) (the expected IJ vs one-step difference)",
                 float(np.max(h / (1 - h)))),
                ("influence/n ÷ (1 − h_t) vs statsmodels d_params (max rel. diff.)",
                 rel_diff(corr, out["statsmodels"]["influence/n"]) if "statsmodels" in out
                 else np.nan)]

    return [Comparison(
        case="fit", title="Case 1 — built-in Logit: fit + HC0 covariance + influence",
        impls=[Impl("mestimate", run_me),
               Impl("statsmodels", run_sm, note="Logit.fit(HC0) + MLEInfluence.d_params"),
               Impl("floor", run_floor, note="numpy Newton + one GᵀG")],
        targets=[Target("statsmodels", 0.5), Target("floor", 1.5)],
        # 5, not 3: a process's first large robust fit pays one-time costs (lazy imports,
        # the allocator's first mappings) that one of 3 repeats would put in the median
        agree=("params", "bse", "influence/n"), repeat=5,
        size={"n": n, "k": k}, postcheck=leverage_bound,
        notes=["influence/n agreement with statsmodels compares the infinitesimal jackknife "
               "H⁻¹G_t/n with statsmodels' one-step d_params = H⁻¹G_t/(1 − h_t): see the "
               "leverage-corrected line for the like-for-like comparison."])]


def _logit_loss(p, d):
    eta = d["X"] @ p
    return np.log1p(np.exp(eta)) - d["y"] * eta


def _logit_psi(p, d):
    return (special.expit(d["X"] @ p) - d["y"])[:, None] * d["X"]


def case_generic(quick: bool, out=None) -> list[Comparison]:
    """Case 2: generic M-estimation with numerical derivatives (n=50,000, k=20)."""
    import statsmodels.api as sm
    from statsmodels.base.model import GenericLikelihoodModel

    n, k = (3_000, 5) if quick else (50_000, 20)
    y, X = logit_data(n, k, seed=2)
    data = {"y": y, "X": X}
    truth = sm.Logit(y, X).fit(disp=0, tol=1e-12)
    truth_hc0 = sm.Logit(y, X).fit(disp=0, cov_type="HC0", tol=1e-12)

    class LogitGLM(GenericLikelihoodModel):
        def loglikeobs(self, params):
            return -_logit_loss(params, data)

    def run_me_loss(_):
        res = me.MEstimator(_logit_loss, data, k_params=k).fit()
        return {"params": res.params.to_numpy(), "bse": res.bse.to_numpy(),
                "method": res.model.derivative_method}

    def run_glm(_):
        res = LogitGLM(y, X).fit(start_params=np.zeros(k), method="newton", disp=0, maxiter=100)
        return {"params": res.params, "bse": res.bse}

    def versus_truth(out, ref, label):
        rows = []
        for name, o in out.items():
            rows.append((f"{name} vs analytic Logit ({label}): params", rel_diff(o["params"], ref.params)))
            rows.append((f"{name} vs analytic Logit ({label}): bse", rel_diff(o["bse"], ref.bse)))
        return rows

    loss_cmp = Comparison(
        case="generic", title="Case 2a — MEstimator from a numpy loss only (no derivatives supplied)",
        impls=[Impl("mestimate", run_me_loss),
               Impl("statsmodels GenericLikelihoodModel", run_glm, note="fit(method='newton')")],
        targets=[Target("statsmodels GenericLikelihoodModel", 1 / 20)],
        repeat=3 if quick else 1, memory=quick, size={"n": n, "k": k},
        postcheck=lambda out: versus_truth(out, truth, "nonrobust") + [
            ("mestimate's derivative method (res.model.derivative_method)",
             out["mestimate"]["method"])],
        notes=["Both report the nonrobust (inverse-Hessian) standard errors; the target asks for "
               "the same θ̂ and SEs to 1e-6."])

    def run_me_psi(_):
        res = me.MEstimator(score=_logit_psi, data=data, k_params=k).fit(cov_type="HC0")
        return {"params": res.params.to_numpy(), "bse": res.bse.to_numpy()}

    def run_deli(_):
        from delicatessen import MEstimator as DeliMEstimator
        from delicatessen.estimating_equations import ee_regression

        est = DeliMEstimator(lambda theta: ee_regression(theta, X=X, y=y, model="logistic"),
                             init=[0.0] * k)
        est.estimate()
        # delicatessen's `variance` is the sandwich divided by n, i.e. Var(θ̂) itself: HC0.
        return {"params": np.asarray(est.theta), "bse": np.sqrt(np.diag(est.variance))}

    psi_cmp = Comparison(
        case="generic", title="Case 2b — MEstimator from estimating functions only vs delicatessen",
        impls=[Impl("mestimate", run_me_psi),
               Impl("delicatessen", run_deli, note="ee_regression(model='logistic'), defaults")],
        targets=[Target("delicatessen", 1 / 5)],
        repeat=3, size={"n": n, "k": k},
        postcheck=lambda out: versus_truth(out, truth_hc0, "HC0"),
        notes=["delicatessen's `variance` is (bread⁻¹ meat bread⁻ᵀ)/n = Var(θ̂), the same "
               "scaling as mestimate's HC0 (no n/(n − k) factor)."])
    return [loss_cmp, psi_cmp]
