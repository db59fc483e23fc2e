"""Huber robust regression (statsmodels ``RLM(M=HuberT(t))``, R ``MASS::rlm(psi=psi.huber)``).

The scale is a nuisance value: either fixed by the user or estimated jointly with β as
the MAD fixed point. Fitting alternates a Newton solve for β at the current scale with a
scale update; the fitted scale is returned on a *copy* of the model (``res.model.scale``),
so the model passed to ``fit`` is never modified and every later refit (exact
leave-one-out, bootstrap, data dropping) keeps the scale fixed at its estimate, which is
also how the influence function and the covariances treat it.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
from scipy import linalg, stats

from ..exceptions import ConvergenceError, MEstimateError
from ..model import MEstimator
from ..optimize import OptimizeResult
from ._regression import IndexModel

__all__ = ["Huber", "mad_scale"]

#: Φ⁻¹(3/4) ≈ 0.6745, the MAD's consistency constant at the normal (statsmodels' value).
MAD_CONSTANT = float(stats.norm.ppf(0.75))


def _weighted_median(a: np.ndarray, w: np.ndarray | None) -> float:
    """Median of ``a`` with non-negative weights (``np.median`` when ``w`` is None or constant)."""
    if w is None:
        return float(np.median(a))
    keep = w > 0
    a, w = a[keep], w[keep]
    order = np.argsort(a, kind="stable")
    a, cw = a[order], np.cumsum(w[order])
    half = 0.5 * cw[-1]
    i = int(np.searchsorted(cw, half * (1 - 4 * np.finfo(float).eps)))
    if i + 1 < a.size and abs(cw[i] - half) <= 4 * np.finfo(float).eps * cw[-1]:
        return float(0.5 * (a[i] + a[i + 1]))
    return float(a[i])


def mad_scale(resid, weights=None) -> float:
    """MAD scale centred at 0: median(|r|) / Φ⁻¹(3/4) (weighted median with ``weights``).

    This is statsmodels' ``robust.scale.mad(resid, center=0)``. R's ``MASS::rlm`` uses
    ``median(abs(resid)) / 0.6745``, which is larger by the factor 0.674490/0.6745
    (a relative difference of 1.5e-5).

    Examples
    --------
    >>> round(mad_scale([-2.0, 1.0, 0.5, 3.0]), 6)
    2.223903
    """
    r = np.abs(np.asarray(resid, dtype=float))
    w = None if weights is None else np.asarray(weights, dtype=float)
    return _weighted_median(r, w) / MAD_CONSTANT


@dataclass(frozen=True)
class _ScaledOptimizeResult(OptimizeResult):
    """An :class:`OptimizeResult` that also carries the estimated scale."""

    scale: float = np.nan
    scale_iterations: int = 0


class Huber(IndexModel):
    """Huber robust regression: L(z_t; β) = s² ρ_t((y_t − x_tᵀβ)/s).

    Parameters
    ----------
    endog : array_like (n,)
    exog : array_like (n, k)
        Include a constant column yourself (or use :meth:`from_formula`).
    t : float
        Huber's tuning constant (1.345 gives 95% efficiency at the normal).
    scale : float, optional
        A fixed scale s > 0. If None (default), s is estimated jointly with β as the MAD
        fixed point (statsmodels ``RLM(M=HuberT(t)).fit(scale_est="mad")``).
    weights : array_like, optional
        Observation weights w_t ≥ 0 (0 deletes a row); the scale then uses a weighted median.
    missing : {"raise", "drop", "none"}

    Attributes
    ----------
    scale : float
        The scale in the loss: the fixed value, or — before fitting with ``scale=None`` —
        the preliminary MAD of the least-squares residuals. After fitting,
        ``res.model.scale`` is the estimate (``res.model`` is a copy of the model with the
        scale fixed there; the model itself is not changed).
    scale_estimated : bool
        Whether ``scale`` was estimated (True on ``res.model`` after a fit with ``scale=None``).

    Notes
    -----
    ρ_t(u) = u²/2 for |u| ≤ t and t|u| − t²/2 otherwise; ψ = ρ_t' = clip(u, −t, t).
    With r_t = y_t − x_tᵀβ and u_t = r_t/s,

        G_t = −s ψ(u_t) x_t,        H_t = 1{|u_t| ≤ t} x_t x_tᵀ.

    Estimated scale: (β̂, ŝ) solve Σ w_t ψ(u_t) x_t = 0 and ŝ = median(|r_t|)/Φ⁻¹(3/4)
    (MAD centred at 0). β is found by Newton's method at fixed s, then s is updated, until
    both settle. Inference treats ŝ as fixed (as statsmodels and R do): the sandwich
    covariances use G and H above at ŝ.

    ``cov_type="nonrobust"`` is Huber's (1981, eq. 7.10) H1, statsmodels' RLM default:

        κ² · [Σ w ψ(u)² / (n − k)] · s² / m² · (XᵀWX)⁻¹,
        m = Σ w ψ'(u) / n,   κ = 1 + (k/n) · Σ w (ψ'(u) − m)² / n / m².

    With all weights equal to 1 this is exactly statsmodels' ``RLMResults.bcov_scaled``.

    References
    ----------
    Huber, P. J. (1981). Robust Statistics. Wiley. Section 7.6.

    Examples
    --------
    >>> import numpy as np
    >>> from mestimate.models.huber import Huber
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=60)
    >>> y = 1.0 + 2.0 * x + rng.normal(scale=0.5, size=60)
    >>> y[:3] += 20.0                                   # three gross outliers
    >>> res = Huber(y, np.c_[np.ones(60), x]).fit()
    >>> np.round(res.params.to_numpy(), 1)
    array([1., 2.])
    >>> bool(0.3 < res.model.scale < 0.8)               # the estimated scale
    True
    """

    def __init__(self, endog, exog, *, t: float = 1.345, scale: float | None = None, **kwargs):
        t = float(t)
        if not (np.isfinite(t) and t > 0):
            raise MEstimateError(f"the Huber tuning constant t must be a positive number, got {t!r}; "
                                 "t = 1.345 is the usual choice")
        if scale is not None:
            scale = float(scale)
            if not (np.isfinite(scale) and scale > 0):
                raise MEstimateError(f"scale must be a positive number, got {scale!r}; "
                                     "pass scale=None to estimate it")
        self.t = t
        self.scale_estimated = scale is None
        self.scale = 1.0 if scale is None else scale
        super().__init__(endog, exog, **kwargs)
        if scale is None:
            self.scale = self._mad(self.start_params)

    # -------------------------------------------------------------- the loss
    def _default_start_params(self, k: int) -> np.ndarray:
        """Least-squares estimate (statsmodels' and R's starting point)."""
        sw = np.ones_like(self.endog) if getattr(self, "weights", None) is None else \
            np.sqrt(self.weights)
        return np.linalg.lstsq(self.exog * sw[:, None], self.endog * sw, rcond=None)[0]

    def _loss(self, y, eta):
        s, t = self.scale, self.t
        r = y - eta
        a = np.abs(r)
        return np.where(a <= t * s, 0.5 * r ** 2, s * t * a - 0.5 * (s * t) ** 2)

    def _d1(self, y, eta):
        s = self.scale
        return -s * np.clip((y - eta) / s, -self.t, self.t)

    def _d2(self, y, eta):
        return (np.abs(y - eta) <= self.t * self.scale).astype(float)

    def resid(self, params) -> np.ndarray:
        """Residuals y − Xβ."""
        return self.endog - self.exog @ np.asarray(params, float)

    # ------------------------------------------------------------- fitting
    def _mad(self, params) -> float:
        s = mad_scale(self.resid(params), self.weights)
        if not s > 64 * np.finfo(float).eps * np.max(np.abs(self.endog), initial=0.0):
            raise ConvergenceError(
                f"the MAD scale of the residuals collapses to 0 ({s:.3g}): at least half of the "
                "points lie exactly on a hyperplane (the data are fitted exactly); pass a fixed "
                "scale= instead")
        return s

    def with_scale(self, scale: float) -> "Huber":
        """A copy of the model with the scale fixed at ``scale`` (data shared, not copied)."""
        new = copy.copy(self)
        new.scale = float(scale)
        return new

    def _optimize(self, x0, *, maxiter, xtol, fallback) -> OptimizeResult:
        if not self.scale_estimated:
            return super()._optimize(x0, maxiter=maxiter, xtol=xtol, fallback=fallback)
        beta = np.asarray(x0, dtype=float)
        s = self._mad(beta)
        total, history, opt = 0, [], None
        stol = max(xtol, 1e-14)
        for outer in range(1, max(maxiter, 1) * 5 + 1):
            opt = MEstimator._optimize(self.with_scale(s), beta, maxiter=maxiter, xtol=xtol,
                                       fallback=fallback)
            total += opt.iterations
            history.append(opt.fun)
            beta = opt.x
            s_new = self._mad(beta)
            done = abs(s_new - s) <= stol * s
            s = s_new
            if done or not opt.converged:
                break
        # β solves the Huber equations at the final scale (one more Newton solve, usually 1 step)
        final = MEstimator._optimize(self.with_scale(s), beta, maxiter=maxiter, xtol=xtol,
                                     fallback=fallback)
        converged = bool(done and final.converged)
        message = (f"{final.message}; scale fixed point after {outer} updates" if converged else
                   f"scale did not settle after {outer} updates (last relative change "
                   f"{abs(s_new - s) / s:.2g}); {final.message}")
        return _ScaledOptimizeResult(final.x, final.fun, final.grad, converged,
                                     total + final.iterations, final.grad_norm, final.method,
                                     message, history + final.history, scale=s,
                                     scale_iterations=outer)

    def _fitted_model(self, opt: OptimizeResult) -> "Huber":
        if not self.scale_estimated:
            return self
        return self.with_scale(opt.scale)

    def with_weights(self, weights) -> "Huber":
        """A copy with other observation weights; its scale stays fixed at the current value."""
        new = super().with_weights(weights)
        new.scale_estimated = False
        return new

    # ----------------------------------------------------------- inference
    nonrobust_description = "nonrobust (Huber's H1, scale fixed)"

    def nonrobust_cov(self, results) -> np.ndarray:
        """Huber's H1 covariance (statsmodels ``RLM(...).fit(cov="H1")``), see the class Notes."""
        p = results.params.to_numpy()
        s, n, k = self.scale, results.nobs, results.k_params
        u = self.resid(p) / s
        w = np.ones_like(u) if self.weights is None else self.weights
        psi = np.clip(u, -self.t, self.t)
        dpsi = (np.abs(u) <= self.t).astype(float)
        m = (w @ dpsi) / n
        var = (w @ (dpsi - m) ** 2) / n
        kappa = 1.0 + k / n * var / m ** 2
        xtwx = self.exog.T @ (self.exog * w[:, None])
        return kappa ** 2 * (w @ psi ** 2) / (n - k) * s ** 2 / m ** 2 * linalg.inv(xtwx)
