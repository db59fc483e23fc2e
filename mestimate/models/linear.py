"""Ordinary (and weighted) least squares as an M-estimator."""
from __future__ import annotations

import numpy as np

from ..optimize import OptimizeResult
from ._regression import IndexModel

__all__ = ["OLS"]


class OLS(IndexModel):
    """Least squares: L(z_t; β) = ½ (y_t − x_tᵀβ)², optionally weighted.

    Parameters
    ----------
    endog : array_like (n,)
    exog : array_like (n, k)
        Include a constant column yourself (or use :meth:`from_formula`).
    weights : array_like, optional
        WLS weights w_t (R's ``lm(weights=)``; 0 deletes a row).

    Notes
    -----
    G_t = −(y_t − x_tᵀβ) x_t, H_t = x_t x_tᵀ. θ̂ is computed by least squares (QR via
    ``numpy.linalg.lstsq`` on √w X) rather than Newton iterations. ``cov_type="nonrobust"``
    is σ̂² (XᵀWX)⁻¹ with σ̂² = Σ w r² / (n − k); inference uses t with n − k degrees of
    freedom by default, as in R's ``lm`` and statsmodels' ``OLS``.

    Examples
    --------
    >>> import numpy as np, mestimate as me
    >>> X = np.c_[np.ones(5), np.arange(5.0)]
    >>> res = me.OLS(np.array([1.0, 3.1, 4.9, 7.2, 9.0]), X).fit()
    >>> np.round(res.params.to_numpy(), 4)
    array([1.02, 2.01])
    """

    _default_use_t = True

    def __init__(self, endog, exog, **kwargs):
        kwargs.setdefault("nonrobust", "least_squares")
        super().__init__(endog, exog, **kwargs)

    def _loss(self, y, eta):
        return 0.5 * (y - eta) ** 2

    def _d1(self, y, eta):
        return eta - y

    def _d2(self, y, eta):
        return np.ones_like(eta)

    def resid(self, params) -> np.ndarray:
        """Residuals y − Xβ."""
        return self.endog - self.exog @ np.asarray(params, float)

    def _optimize(self, x0, *, maxiter, xtol, fallback) -> OptimizeResult:
        sw = np.ones_like(self.endog) if self.weights is None else np.sqrt(self.weights)
        beta = np.linalg.lstsq(self.exog * sw[:, None], self.endog * sw, rcond=None)[0]
        g = self.gradient(beta)
        f = self.mean_loss(beta)
        return OptimizeResult(beta, f, g, True, 0, float(np.max(np.abs(g), initial=0.0)),
                              "lstsq (QR)", "closed form", [f])
