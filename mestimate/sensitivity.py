"""Data-dropping sensitivity (Broderick, Giordano & Meager 2020, the AMIP), checked by refitting.

How few observations (or groups), if dropped, would change a conclusion about a
scalar φ(θ)? The first-order change of φ when unit t is dropped is linear in the
units dropped, so sorting the per-unit changes gives the smallest set predicted to
cross the threshold (for a linear objective the greedy set is optimal). The set is
then dropped for real (``res.refit(weights=...)``) and predicted and refitted values
are reported side by side: an approximation is never presented as a result.

Design note: the change of the standard error is linearised too, for the covariance
types whose dependence on the weights is written out here (``nonrobust``, ``HC0``,
``HC1``); for other types the standard error is held at its full-data value and the
result says so (the refit still uses the real covariance).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from . import derivatives as nd
from .exceptions import MEstimateError, check_option
from .influence import (
    bread_solve,
    group_codes,
    group_sum,
    make_scalar_phi,
    phi_gradient,
    row_index,
    score_rows,
    weights_or_ones,
)
from ._loo_units import obs_jacobians

__all__ = ["sensitivity", "SensitivityResult"]

_KINDS = ("sign", "significance", "both")
_GOALS = {"sign": "change the sign of {t}", "significance": "make {t} {sig}",
          "both": "make {t} significant with the opposite sign"}


@dataclass(frozen=True)
class RefitValue:
    """φ, its standard error, p-value and significance in the refit without the dropped units."""

    estimate: float
    se: float
    pvalue: float
    significant: bool


@dataclass(frozen=True)
class SensitivityResult:
    """What dropping a few units does to φ.

    Attributes
    ----------
    target : str
    kind : str
    found : bool
        Whether a set within ``max_fraction`` is predicted to work.
    n_dropped : int or None
    n_units : int
    fraction : float or None
    dropped : Index
        Labels of the dropped rows (or groups).
    original : RefitValue
        φ on the full data.
    predicted : RefitValue
        First-order prediction after dropping (estimate, se, p, significant?).
    refit : RefitValue or None
        The refit without the dropped units.
    verified : bool
        The refit confirms the predicted change.
    note : str
    """

    target: str
    kind: str
    found: bool
    n_dropped: int | None
    n_units: int
    fraction: float | None
    dropped: pd.Index
    original: RefitValue
    predicted: RefitValue
    refit: RefitValue | None
    verified: bool
    unit_name: str = "observations"
    alpha: float = 0.05
    note: str = ""

    def summary(self) -> str:
        sig = "insignificant" if self.original.significant else "significant"
        goal = _GOALS[self.kind].format(sig=sig, t=repr(self.target))
        if not self.found:
            m = int(np.floor(self.fraction_limit * self.n_units))
            return (f"no set of at most {m:,} of {self.n_units:,} {self.unit_name} "
                    f"({100 * self.fraction_limit:.2g}%) is predicted to {goal}"
                    f"{'; ' + self.note if self.note else ''}")
        r = self.refit
        verdict = "refit confirms" if self.verified else "refit does NOT confirm"
        return (f"dropping {self.n_dropped:,} of {self.n_units:,} {self.unit_name} "
                f"({100 * self.fraction:.2g}%) is predicted to {goal}; "
                f"{verdict} (estimate {r.estimate:.4g}, se {r.se:.4g}, p = {r.pvalue:.2g})"
                f"{'; ' + self.note if self.note else ''}")

    fraction_limit: float = 0.05

    def __repr__(self) -> str:
        return f"<SensitivityResult: {self.summary()}>"


def _critical(res, alpha: float) -> float:
    if res.use_t:
        return float(stats.t.ppf(1 - alpha / 2, res.df_resid))
    return float(stats.norm.ppf(1 - alpha / 2))


def _value(res, phi_fun, grad_fun, alpha) -> RefitValue:
    theta = res.params.to_numpy()
    est = phi_fun(theta)
    g = grad_fun(theta)
    se = float(np.sqrt(g @ res.cov_params().to_numpy() @ g))
    t = abs(est) / se
    p = float(2 * (stats.t.sf(t, res.df_resid) if res.use_t else stats.norm.sf(t)))
    return RefitValue(float(est), se, p, bool(p < alpha))


def _obs_bilinear(res, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """uᵀ H_t v for every observation, in memory-bounded chunks."""
    k = res.k_params
    return np.concatenate([np.einsum("tij,i,j->t", obs_jacobians(res, rows), u, v)
                           for rows in res.model._reducer.slices(row_bytes=8 * k * k * 3)])


def _se_changes(res, grad_fun, se: float) -> tuple[np.ndarray | None, str]:
    """First-order change of se(φ) when each row is dropped (w_t → 0), or None."""
    model, theta = res.model, res.params.to_numpy()
    kind = res.cov_type
    n, k = res.nobs, res.k_params
    w = weights_or_ones(res)
    if kind not in ("nonrobust", "HC0", "HC1"):
        return None, f"se held at its full-data value (its change is not linearised for {kind!r})"
    ls = kind == "nonrobust" and model.nonrobust == "least_squares"
    c = n / (n - k) if kind == "HC1" else 1.0

    def var(t):
        A = model.hessian(t) * n
        g = grad_fun(t)
        u = np.linalg.solve(A, g)
        if kind == "nonrobust":
            s2 = 2 * model.mean_loss(t) * n / (n - k) if ls else 1.0
            return s2 * (g @ u)
        psi = model.score_obs(t) * w[:, None]
        return c * np.sum((psi @ u) ** 2)

    if not np.isclose(var(theta), se ** 2, rtol=1e-6):
        return None, "se held at its full-data value (the covariance is not the plain formula)"
    g = grad_fun(theta)
    u = bread_solve(res, g, scale=n)                       # A⁻¹ ∇φ
    G = score_rows(res)
    Gu = G @ u
    Hu = _obs_bilinear(res, u, u)
    if kind == "nonrobust":
        s2 = res.scale if ls else 1.0
        d = s2 * w * Hu                                     # −u'ΔA u, ΔA = −w_t H_t
        if ls:
            r2 = 2 * model.loss_obs(theta)
            d += (s2 - w * r2) / (n - k) * (g @ u)
    else:
        psi = G * w[:, None]
        q = bread_solve(res, psi.T @ (psi @ u), scale=n)    # A⁻¹ M u
        Hq = _obs_bilinear(res, u, q)
        d = c * (2 * w * Hq - (w * Gu) ** 2)
    # through θ̂: Δθ_t = A⁻¹ w_t G_t
    dvar = nd.jacobian(var, theta, method="central")
    d += (G * w[:, None]) @ bread_solve(res, dvar, scale=n)
    return d / (2 * se), ""


def sensitivity(res, target, kind: str = "sign", max_fraction: float = 0.05, groups=None,
                alpha: float = 0.05) -> SensitivityResult:
    """Smallest set of observations (or groups) whose removal changes a conclusion about φ.

    Parameters
    ----------
    res : MEstimatorResults
    target : str or callable
        A parameter name, an expression (``"hp / wt"``) or a callable of the params Series.
    kind : {"sign", "significance", "both"}
        Change the sign of φ; change its significance at level ``alpha`` (make a
        significant φ insignificant, or an insignificant one significant); or make φ
        significant with the opposite sign.
    max_fraction : float
        Largest fraction of units that may be dropped.
    groups : array_like or str, optional
        Drop whole groups (one label per observation, or a column name).
    alpha : float
        Significance level (normal, or t with ``df_resid`` when the fit uses t).

    Returns
    -------
    SensitivityResult

    Notes
    -----
    Dropping unit g changes φ by Δφ_g ≈ ∇φᵀA⁻¹G_g (A = Σ w_s H_s, G_g = Σ_{t∈g} w_t G_t,
    i.e. −(w_t/n)∇φ·I(z_t)), and the standard error by a linearised Δse_g (see the
    module notes). For the quantity q = φ − z·se (or φ + z·se, or φ) that has to cross
    zero, the units are sorted by Δq_g and the smallest prefix with q̂ + Σ Δq_g past zero
    is dropped (Broderick, Giordano & Meager 2020). The refit then checks the prediction.

    Examples
    --------
    >>> import numpy as np, mestimate as me
    >>> rng = np.random.default_rng(3)
    >>> x = rng.normal(size=200)
    >>> y = 0.25 * x + rng.standard_t(3, size=200)
    >>> s = me.OLS(y, np.c_[np.ones(200), x]).fit().sensitivity("x1", kind="significance")
    >>> s.verified, s.n_dropped
    (True, 8)
    """
    kind = check_option("kind", kind, _KINDS)
    if not 0 < max_fraction <= 1:
        raise MEstimateError(f"max_fraction must be in (0, 1], got {max_fraction}")
    if not 0 < alpha < 1:
        raise MEstimateError(f"alpha must be in (0, 1), got {alpha}")
    value, grad, label = phi_gradient(res, target)
    phi_fun = make_scalar_phi(res, target)
    grad_fun = lambda t: nd.jacobian(lambda s: np.atleast_1d(phi_fun(s)), t)[0]  # noqa: E731
    orig = _value(res, phi_fun, grad_fun, alpha)
    z = _critical(res, alpha)
    n = res.nobs
    w = weights_or_ones(res)
    G = score_rows(res) * w[:, None]
    dphi = G @ bread_solve(res, grad, scale=n)
    note = ""
    dse = np.zeros_like(dphi)
    if kind != "sign":
        d, note = _se_changes(res, grad_fun, orig.se)
        if d is not None:
            dse = d
    if groups is None:
        codes, labels = np.flatnonzero(w > 0), row_index(res)[w > 0]
        du_phi, du_se = dphi[w > 0], dse[w > 0]
        unit_rows = None
    else:
        codes, labels = group_codes(res, groups)
        du_phi = group_sum(dphi, codes, len(labels))
        du_se = group_sum(dse, codes, len(labels))
        unit_rows = codes
    # q must go from q0 to the other side of zero; sgn = direction q has to move
    est, se = orig.estimate, orig.se
    sgn = -np.sign(est) if est != 0 else -1.0
    if kind == "sign":
        q0, dq = est, du_phi
    elif kind == "both":
        q0, dq = est + np.sign(est) * z * se, du_phi + np.sign(est) * z * du_se
    elif orig.significant:
        q0, dq = est - np.sign(est) * z * se, du_phi - np.sign(est) * z * du_se
    else:                       # make significant: push the nearer bound past zero
        sgn = np.sign(est) if est != 0 else 1.0
        q0, dq = est - sgn * z * se, du_phi - sgn * z * du_se
    m_max = int(np.floor(max_fraction * len(labels)))
    order = np.argsort(-sgn * dq, kind="stable")[:m_max]
    gain = sgn * dq[order]
    cum = np.cumsum(np.where(gain > 0, gain, 0.0))
    need = -sgn * q0
    hit = np.flatnonzero(cum > need)
    found = hit.size > 0 and m_max > 0
    m = int(hit[0]) + 1 if found else m_max
    drop = order[:m]
    pred_est = est + du_phi[drop].sum()
    pred_se = se + du_se[drop].sum()
    tp = abs(pred_est) / pred_se if pred_se > 0 else np.inf
    pp = float(2 * (stats.t.sf(tp, res.df_resid) if res.use_t else stats.norm.sf(tp)))
    predicted = RefitValue(float(pred_est), float(pred_se), pp, bool(pp < alpha))
    unit_name = "observations" if groups is None else "groups"
    common = dict(target=label, kind=kind, n_units=len(labels), original=orig,
                  predicted=predicted, unit_name=unit_name, alpha=alpha, note=note,
                  fraction_limit=max_fraction)
    if not found:
        return SensitivityResult(found=False, n_dropped=None, fraction=None, dropped=labels[:0],
                                 refit=None, verified=False, **common)
    wn = w.copy()
    if unit_rows is None:
        wn[codes[drop]] = 0.0
    else:
        wn[np.isin(unit_rows, drop)] = 0.0
    refit = _value(res.refit(weights=wn), phi_fun, grad_fun, alpha)
    verified = _achieved(kind, orig, refit)
    return SensitivityResult(found=True, n_dropped=m, fraction=m / len(labels),
                             dropped=labels[drop], refit=refit, verified=verified, **common)


def _achieved(kind: str, orig: RefitValue, new: RefitValue) -> bool:
    flipped = np.sign(new.estimate) != np.sign(orig.estimate)
    if kind == "sign":
        return bool(flipped)
    if kind == "both":
        return bool(flipped and new.significant)
    return new.significant != orig.significant
