"""Ordinary (and weighted) least squares as an M-estimator."""
from __future__ import annotations

import numpy as np
from scipy import linalg

from ..optimize import OptimizeResult
from ._regression import IndexModel, _xtvx

# largest condition number of the equilibrated XᵀWX solved by Cholesky (one refinement step
# then leaves an error ~ (κ ε)² + κ^½ ε); beyond it, QR
_MAX_GRAM_COND = 1e8

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
    G_t = −(y_t − x_tᵀβ) x_t, H_t = x_t x_tᵀ. θ̂ solves the normal equations
    XᵀWX β = XᵀWy by Cholesky (one pass over X for XᵀWX, which is also the bread
    H_n = XᵀWX/n, kept for inference), followed by one step of iterative refinement
    β ← β + (XᵀWX)⁻¹XᵀW(y − Xβ). When the equilibrated XᵀWX has a condition number above
    10⁸ (nearly collinear regressors), θ̂ is computed by QR instead (``numpy.linalg.lstsq``
    on √w X), whose accuracy does not depend on the square of cond(X). ``cov_type="nonrobust"``
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

    def _d1_inplace(self, y, eta):
        eta -= y
        return eta

    def _d2(self, y, eta):
        return np.ones_like(eta)

    def resid(self, params) -> np.ndarray:
        """Residuals y − Xβ (those at the fitted β̂ are kept from the fit)."""
        r = self._kept_resid(params)
        return self.endog - self.exog @ np.asarray(params, float) if r is None else r

    def _kept_resid(self, params) -> np.ndarray | None:
        """The residuals computed by the fit, if ``params`` is the fitted β̂ of these data."""
        cached = getattr(self, "_resid_cache", None)
        params = np.asarray(params)
        if cached is None or params.dtype != np.float64 or cached[0] is not self.exog \
                or cached[1] is not self.endog or cached[2] != params.tobytes():
            return None
        return cached[3]

    def loss_obs(self, params, rows=None):
        r = self._kept_resid(params)
        if r is None:
            return super().loss_obs(params, rows)
        return 0.5 * r[slice(None) if rows is None else rows] ** 2

    def score_obs(self, params, rows=None):
        r = self._kept_resid(params)
        if r is None:
            return super().score_obs(params, rows)
        sl = slice(None) if rows is None else rows
        return (-r[sl])[:, None] * self.exog[sl]  # (x_tᵀβ − y_t) x_t, as the index model's

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_gram_cache", None)  # caches: recomputed on demand
        state.pop("_resid_cache", None)
        return state

    def _gram(self) -> tuple[np.ndarray, tuple | None]:
        """XᵀWX and, if it is well conditioned, (Cholesky factor of D⁻¹XᵀWXD⁻¹, D) with
        D = diag(XᵀWX)^½; cached for the current weights (they never change in place)."""
        cached = getattr(self, "_gram_cache", None)
        if cached is not None and cached[0] is self.weights and cached[1] is self.exog:
            return cached[2], cached[3]
        X = self.exog
        A = X.T @ X if self.weights is None else _xtvx(X, self.weights)
        d = np.sqrt(np.diag(A))
        factor = None
        if np.all(d > 0) and np.all(np.isfinite(A)):
            As = A / np.outer(d, d)
            try:
                # numpy's Cholesky: scipy's OpenBLAS, called right after numpy's formed XᵀX,
                # can stall for ~100 ms (two thread pools on the same cores)
                L = np.linalg.cholesky(As)
                rcond = linalg.lapack.dpocon(L, np.abs(As).sum(axis=0).max(), uplo="L")[0]
                if rcond * _MAX_GRAM_COND >= 1.0:
                    factor = ((L, True), d)
            except np.linalg.LinAlgError:
                pass
        self._gram_cache = (self.weights, X, A, factor)
        return A, factor

    def hessian(self, params) -> np.ndarray:
        """H_n = XᵀWX / n (independent of β), computed once per weights."""
        return self._gram()[0] / self.nobs

    def _optimize(self, x0, *, maxiter, xtol, fallback) -> OptimizeResult:
        A, factor = self._gram()
        X, y, w = self.exog, self.endog, self.weights
        if factor is None:  # ill-conditioned or singular: QR
            sw = np.ones_like(y) if w is None else np.sqrt(w)
            beta = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)[0]
            g = self.gradient(beta)
            f = self.mean_loss(beta)
            return OptimizeResult(beta, f, g, True, 0, float(np.max(np.abs(g), initial=0.0)),
                                  "lstsq (QR)", "closed form", [f])
        (c, d) = factor

        def solve(b):
            return linalg.cho_solve(c, b / d) / d

        beta = solve(X.T @ (y if w is None else w * y))
        r = y - X @ beta
        wr = r if w is None else w * r
        xwr = X.T @ wr  # −n × the gradient at beta
        step = solve(xwr)  # one step of iterative refinement
        beta = beta + step
        g = -(xwr - A @ step) / self.nobs  # XᵀW(y − Xβ − Xδ) without another pass over X
        r = y - X @ beta  # kept: the scores, loss and residuals at β̂ need them
        self._resid_cache = (X, y, beta.tobytes(), r)
        f = 0.5 * (r @ (r if w is None else w * r)) / self.nobs
        return OptimizeResult(beta, f, g, True, 0, float(np.max(np.abs(g), initial=0.0)),
                              "normal equations (Cholesky, refined)", "closed form", [f])
