"""Nonlinear least squares y_t = f(x_t; θ) + e_t as an M-estimator."""
from __future__ import annotations

import warnings

import numpy as np
from scipy import optimize

from .. import derivatives as nd
from ..exceptions import DataError, check_option
from ..model import MEstimator
from ..optimize import OptimizeResult

__all__ = ["NonlinearLeastSquares"]


class NonlinearLeastSquares(MEstimator):
    """Nonlinear least squares: L(z_t; θ) = ½ (y_t − f(x_t; θ))².

    Parameters
    ----------
    f : callable
        ``f(x, params) -> (n,)``, the regression function (``params`` is a 1-d array).
    x : array_like
        Regressors, (n,) or (n, m); passed to ``f`` as given (row-sliced when chunked).
    y : array_like (n,)
    jac : callable, optional
        ``jac(x, params) -> (n, k)``, ∂f/∂θ. Numerical when omitted (complex step when ``f``
        is complex-safe, else central differences with Richardson extrapolation).
    start_params : array_like
        Required: nonlinear problems have no generic default.
    param_names : sequence of str, optional
    weights : array_like, optional
    bread : {"gauss-newton", "exact"}
        The Hessian used for inference. ``"gauss-newton"`` (default) is JᵀWJ/n, so that
        ``cov_type="nonrobust"`` is σ̂² (JᵀWJ)⁻¹ as in NIST StRD and R's ``nls``;
        ``"exact"`` adds the −Σ w r ∇²f / n term.

    Notes
    -----
    G_t = −r_t J_t with r_t = y_t − f(x_t; θ) and J_t = ∇f(x_t; θ). The optimiser uses the
    Gauss–Newton curvature JᵀWJ/n with Levenberg–Marquardt damping (the fixed point is the
    least-squares solution); σ̂² = Σ w r² / (n − k).

    Examples
    --------
    >>> import numpy as np, mestimate as me
    >>> x = np.array([1.0, 2, 3, 4, 5, 6])
    >>> y = 2.0 * np.exp(0.3 * x) + np.array([0.01, -0.02, 0.0, 0.02, -0.01, 0.0])
    >>> res = me.NonlinearLeastSquares(lambda x, p: p[0] * np.exp(p[1] * x), x, y,
    ...                                start_params=[1.0, 0.1]).fit()
    >>> np.round(res.params.to_numpy(), 3)
    array([2. , 0.3])
    """

    _default_use_t = True

    def __init__(self, f, x, y, *, jac=None, start_params=None, param_names=None, weights=None,
                 bread: str = "gauss-newton", missing: str = "raise", chunksize=None):
        if start_params is None:
            raise DataError("NonlinearLeastSquares needs start_params")
        self._f, self._jac = f, jac
        self.bread_kind = check_option("bread", bread, ["gauss-newton", "exact"])
        y = np.asarray(y, dtype=float).ravel()
        x = np.asarray(x, dtype=float)
        if x.shape[0] != y.shape[0]:
            raise DataError(f"x has {x.shape[0]} rows but y has {y.shape[0]}")
        self._jac_method = "analytic" if jac is not None else None
        super().__init__(None, {"x": x, "y": y}, start_params=start_params, param_names=param_names,
                         weights=weights, missing=missing, chunksize=chunksize,
                         nonrobust="least_squares")
        if self._jac_method is None:
            probe = lambda p: self._f(self.data["x"][:200], p)  # noqa: E731
            self._jac_method = "complex" if nd.is_complex_safe(probe, self.start_params) else "central"

    def _x(self, rows):
        return self.data["x"] if rows is None else self.data["x"][rows]

    def _y(self, rows):
        return self.data["y"] if rows is None else self.data["y"][rows]

    def fitted(self, params, rows=None) -> np.ndarray:
        """f(x_t; θ) for the observations ``rows``."""
        return np.asarray(self._f(self._x(rows), params))

    def jacobian(self, params, rows=None) -> np.ndarray:
        """J = ∂f/∂θ, shape (n, k)."""
        if self._jac is not None:
            return np.asarray(self._jac(self._x(rows), params), dtype=float)
        method = self._jac_method or "central"
        return nd.jacobian(lambda p: self._f(self._x(rows), p), np.asarray(params, float),
                           method=method)

    def resid(self, params, rows=None) -> np.ndarray:
        """Residuals y − f(x; θ)."""
        return self._y(rows) - self.fitted(params, rows)

    def predict(self, params, exog=None):
        """f(x; θ) at the data's x, or at new ``exog``."""
        x = self.data["x"] if exog is None else np.asarray(exog, dtype=float)
        return np.asarray(self._f(x, np.asarray(params, float)))

    def loss_obs(self, params, rows=None):
        return 0.5 * (self._y(rows) - self.fitted(params, rows)) ** 2

    def score_obs(self, params, rows=None):
        return -self.resid(params, rows)[:, None] * self.jacobian(params, rows)

    def _gn_part(self, params, rows):
        J = self.jacobian(params, rows)
        w = self._w(rows)
        return J.T @ (J if w is None else J * w[:, None])

    def hessian_opt(self, params):
        """Gauss–Newton curvature JᵀWJ/n."""
        return self._reducer.sum(lambda r: self._gn_part(params, r)) / self.nobs

    def hessian_obs(self, params, rows=None):
        """Exact per-observation Hessians J_t J_tᵀ − r_t ∇²f_t."""
        params = np.asarray(params, dtype=float)
        J = self.jacobian(params, rows)
        d2f = nd.jacobian(lambda p: self.jacobian(p, rows), params, method="central")
        d2f = 0.5 * (d2f + np.swapaxes(d2f, 1, 2))
        return J[:, :, None] * J[:, None, :] - self.resid(params, rows)[:, None, None] * d2f

    def hessian(self, params):
        """Exact Hessian of the mean loss."""
        return self._wsum(self.hessian_obs(params), None) / self.nobs

    def _optimize(self, x0, *, maxiter, xtol, fallback) -> OptimizeResult:
        """Levenberg–Marquardt-damped Gauss–Newton; if it fails, scipy's trust-region
        reflective least squares (``least_squares(method="trf", x_scale="jac")``) from the
        same start, polished by Newton steps."""
        opt = super()._optimize(x0, maxiter=maxiter, xtol=xtol, fallback=False)
        if opt.converged or not fallback:
            return opt
        alt = self._least_squares_fallback(x0, maxiter, xtol)
        if alt is not None and (alt.converged or alt.fun < opt.fun):
            return alt
        return super()._optimize(opt.x, maxiter=maxiter, xtol=xtol, fallback=True)

    def _least_squares_fallback(self, x0, maxiter, xtol) -> OptimizeResult | None:
        sw = 1.0 if self.weights is None else np.sqrt(self.weights)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                r = optimize.least_squares(
                    lambda p: sw * self.resid(p), x0,
                    jac=lambda p: -(sw * self.jacobian(p).T).T, method="trf", x_scale="jac",
                    ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=50 * max(maxiter, 100))
            except Exception:  # pragma: no cover - scipy internals
                return None
            if not np.all(np.isfinite(r.x)):
                return None
            polished = super()._optimize(r.x, maxiter=maxiter, xtol=xtol, fallback=False)
        return OptimizeResult(polished.x, polished.fun, polished.grad, polished.converged,
                              int(r.nfev) + polished.iterations, polished.grad_norm,
                              "least_squares(trf)+" + polished.method, polished.message,
                              polished.history)

    def bread(self, params):
        """JᵀWJ/n (``bread="gauss-newton"``) or the exact Hessian."""
        return self.hessian_opt(params) if self.bread_kind == "gauss-newton" else self.hessian(params)
