"""Regression-style influence diagnostics: dfbeta, dfbetas, Cook's distance, leverage, residuals.

One table per fit, computed from leave-one-out shifts (:func:`mestimate.loo.loo_params`)
and the nonrobust covariance, so that every M-estimator gets dfbeta, dfbetas, Cook's
distance and leverage; models with a linear index (OLS, Logit, Poisson) add
residuals. Definitions follow R (``influence.measures``, ``cooks.distance``,
``rstandard``, ``rstudent``, ``hatvalues``) for linear models and statsmodels'
``GLMInfluence`` for GLMs (see :func:`influence_summary`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .exceptions import check_option
from .influence import row_index, weights_or_ones
from .influence import is_index_model
from .loo import loo_params

__all__ = ["influence_summary"]


def influence_summary(res, method: str = "newton") -> pd.DataFrame:
    """Per-observation influence diagnostics.

    Parameters
    ----------
    res : MEstimatorResults
    method : {"newton", "exact", "ij"}
        Leave-one-out estimates behind dfbeta, dfbetas and Cook's distance. The
        default Newton step is exact for least squares and is the one-step
        approximation of R's ``cooks.distance`` and statsmodels' ``GLMInfluence`` for
        GLMs; ``"exact"`` refits.

    Returns
    -------
    DataFrame
        Columns ``dfbeta_<name>``, ``dfbetas_<name>``, ``cooks_d``, ``leverage`` and, for
        models with a linear index, ``resid_pearson``, ``resid_std``; for least squares
        also ``resid_student`` and ``dffits``. Index: the data's row labels.

    Notes
    -----
    With Δ_t = θ̂ − θ̂₍₋ₜ₎ (``dfbeta``, R's ``dfbeta`` for ``lm``) and V the nonrobust
    covariance (σ̂²(XᵀWX)⁻¹ for least squares, the inverse information otherwise):

    * Cook's distance D_t = Δ_tᵀ V⁻¹ Δ_t / k. For OLS this is R's ``cooks.distance``,
      e_t² h_t / (k σ̂² (1 − h_t)²); for a GLM with the Newton step it is
      r_{P,t}² h_t / (k (1 − h_t)²), R's and statsmodels' formula.
    * dfbetas: for least squares Δ_tj / (σ̂₍₋ₜ₎ √[(XᵀWX)⁻¹]_jj) as R and statsmodels'
      ``OLSInfluence``, with σ̂²₍₋ₜ₎ = ((n − k)σ̂² − r_t²/(1 − h_t)) / (n − k − 1);
      otherwise Δ_tj / se_j (statsmodels' ``GLMInfluence``).
    * Pearson residual r_t = −√w_t d1_t / √d2_t (y − ŷ for OLS, (y − μ)/√V(μ) for GLMs),
      standardised r_t / √(σ̂²(1 − h_t)) (R's ``rstandard``; ``type="pearson"`` for glm),
      studentised r_t / √(σ̂²₍₋ₜ₎(1 − h_t)) (R's ``rstudent`` for lm), DFFITS =
      studentised × √(h_t/(1 − h_t)).

    R's ``dfbeta``/``dfbetas`` for *glm* objects use a different one-step formula
    (neither the Newton step nor exact LOO) and are not reproduced.

    Examples
    --------
    >>> import numpy as np, mestimate as me
    >>> X = np.c_[np.ones(6), np.arange(6.0)]
    >>> y = np.array([0.1, 1.2, 1.9, 3.2, 3.9, 8.0])
    >>> tab = me.OLS(y, X).fit().influence_summary()
    >>> tab["cooks_d"].idxmax(), round(float(tab["leverage"].sum()), 6)
    (5, 2.0)
    """
    method = check_option("method", method, ("newton", "exact", "ij"))
    theta = res.params.to_numpy()
    names = res.param_names
    loo = loo_params(res, method, on_singular="nan")
    dfbeta = theta - loo.to_numpy()
    V = res.cov_params("nonrobust").to_numpy()
    k, n = res.k_params, res.nobs
    with np.errstate(invalid="ignore"):
        cooks = np.einsum("ti,ti->t", dfbeta, np.linalg.solve(V, dfbeta.T).T) / k
    h = res.leverage()
    se = np.sqrt(np.diag(V))
    cols: dict[str, np.ndarray] = {}
    ls = res.model.nonrobust == "least_squares"
    resid = _pearson(res) if is_index_model(res.model) else None
    s2_loo = None
    if ls and resid is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            s2_loo = ((n - k) * res.scale - resid ** 2 / (1 - h)) / (n - k - 1)
            dfbetas = dfbeta / (np.sqrt(s2_loo / res.scale)[:, None] * se)
    else:
        dfbetas = dfbeta / se
    for j, name in enumerate(names):
        cols[f"dfbeta_{name}"] = dfbeta[:, j]
    for j, name in enumerate(names):
        cols[f"dfbetas_{name}"] = dfbetas[:, j]
    cols["cooks_d"] = cooks
    cols["leverage"] = h
    if resid is not None:
        cols["resid_pearson"] = resid
        with np.errstate(divide="ignore", invalid="ignore"):
            cols["resid_std"] = resid / np.sqrt(res.scale * (1 - h))
            if s2_loo is not None:
                stud = resid / np.sqrt(s2_loo * (1 - h))
                cols["resid_student"] = stud
                cols["dffits"] = stud * np.sqrt(h / (1 - h))
    frame = pd.DataFrame(cols, index=row_index(res))
    frame.attrs["method"] = method
    return frame


def _pearson(res) -> np.ndarray:
    """r_t = −√w_t d1_t / √d2_t for a loss ℓ(y, η) of a linear index."""
    model = res.model
    eta = model.linear_index(res.params.to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sqrt(weights_or_ones(res)) * model._d1(model.endog, eta) / np.sqrt(
            model._d2(model.endog, eta))
