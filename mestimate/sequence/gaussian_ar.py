"""Gaussian autoregression AR(p) by conditional maximum likelihood (CSS)."""
from __future__ import annotations

import numpy as np

from ..optimize import OptimizeResult
from .ar import AutoregressiveModel

__all__ = ["GaussianAR"]

_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


class GaussianAR(AutoregressiveModel):
    """Gaussian AR(p), x_t = c + Σ_j φ_j x_{t−j} + exog_tᵀγ + e_t, e_t ~ N(0, σ²).

    Parameters
    ----------
    y : 1-d array or Series, list of them, or dict name → sequence
    lags : int
        p ≥ 1.
    exog : array_like, optional
        Contemporaneous regressors (see :class:`~mestimate.sequence.ar.AutoregressiveModel`).
    trend : {"c", "n", "t", "ct"}
        Constant ``const``, none, time trend ``trend``, or both.
    groups, weights, **kwargs
        See :class:`~mestimate.sequence.ar.AutoregressiveModel`.

    Notes
    -----
    Parameters θ = (β, s) with β = (trend terms, ``lag1..lagp``, exog) and
    s = ``log_sigma2`` = log σ². With r_t = x_t − z_tᵀβ (z_t the row of the lagged design)
    the loss of step t is the Gaussian negative log-likelihood

        L_t = ½ log 2π + ½ s + ½ r_t² e^{−s},

    G_t = (−r_t e^{−s} z_t, ½ − ½ r_t² e^{−s}) and
    H_t = [[e^{−s} z_t z_tᵀ, r_t e^{−s} z_t], [r_t e^{−s} z_tᵀ, ½ r_t² e^{−s}]].
    The first p items of each sequence are conditioning only, so β̂ is least squares on
    the lagged design (statsmodels ``AutoReg``; R ``arima(method = "CSS")``, which reports
    the mean μ = c / (1 − Σφ) instead of c) and σ̂² = Σ w r² / Σ w (the ML value, divisor
    n, not n − k). ``"nonrobust"`` is the inverse information: σ̂² (ZᵀZ)⁻¹ for β, 2/n for s.
    The default covariance is HAC (one sequence) or clustered by sequence (many): see
    :class:`~mestimate.sequence.ar.AutoregressiveModel`.

    ``from_formula("y ~ x", data, lags=2)`` means lags 1–2 of y, a constant and x_t.

    Examples
    --------
    >>> import numpy as np
    >>> from mestimate.sequence.gaussian_ar import GaussianAR
    >>> rng = np.random.default_rng(0)
    >>> e = rng.normal(size=400)
    >>> y = np.zeros(400)
    >>> for t in range(2, 400):
    ...     y[t] = 1.0 + 0.5 * y[t - 1] - 0.2 * y[t - 2] + e[t]
    >>> res = GaussianAR(y, lags=2).fit(cov_type="HAC", cov_kwds={"maxlags": None})
    >>> res.param_names
    ['const', 'lag1', 'lag2', 'log_sigma2']
    >>> np.round(res.params[["lag1", "lag2"]].to_numpy(), 2)
    array([ 0.49, -0.22])
    >>> lr = res.delta_method(lambda p: p["lag1"] / (1 - p["lag1"] - p["lag2"]))
    """

    def _resolve_params(self, names, start, k):
        return super()._resolve_params([*names, "log_sigma2"], start, None)

    # ---------------------------------------------------------------- pieces
    def _parts(self, params, rows):
        """(z_t, r_t, e^{−s}) for the observations ``rows``."""
        params = np.asarray(params)
        sl = slice(None) if rows is None else rows
        Z = self.exog[sl]
        r = self.endog[sl] - Z @ params[:-1]
        return Z, r, np.exp(-params[-1])

    def loss_obs(self, params, rows=None):
        _, r, prec = self._parts(params, rows)
        return _HALF_LOG_2PI + 0.5 * params[-1] + 0.5 * r * r * prec

    def score_obs(self, params, rows=None):
        Z, r, prec = self._parts(params, rows)
        return np.column_stack([-(r * prec)[:, None] * Z, 0.5 - 0.5 * r * r * prec])

    def hessian_obs(self, params, rows=None):
        Z, r, prec = self._parts(params, rows)
        n, k = Z.shape
        H = np.empty((n, k + 1, k + 1))
        H[:, :k, :k] = prec * Z[:, :, None] * Z[:, None, :]
        H[:, :k, k] = H[:, k, :k] = (r * prec)[:, None] * Z
        H[:, k, k] = 0.5 * r * r * prec
        return H

    def hessian(self, params):
        """H_n(θ) in closed form, O(n k²) without an n × k × k array."""
        params = np.asarray(params, dtype=float)
        k = self.k_params - 1

        def part(rows):
            Z, r, prec = self._parts(params, rows)
            w = self._w(rows)
            w = np.ones_like(r) if w is None else w
            out = np.empty((k + 1, k + 1))
            out[:k, :k] = prec * (Z.T @ (w[:, None] * Z))
            out[:k, k] = out[k, :k] = prec * (Z.T @ (w * r))
            out[k, k] = 0.5 * prec * (w @ (r * r))
            return out

        return self._reducer.sum(part) / self.nobs

    # ---------------------------------------------------------------- fitting
    def _optimize(self, x0, *, maxiter, xtol, fallback) -> OptimizeResult:
        w = np.ones_like(self.endog) if self.weights is None else self.weights
        sw = np.sqrt(w)
        beta = np.linalg.lstsq(self.exog * sw[:, None], self.endog * sw, rcond=None)[0]
        r = self.endog - self.exog @ beta
        theta = np.r_[beta, np.log((w @ (r * r)) / w.sum())]
        g = self.gradient(theta)
        f = self.mean_loss(theta)
        return OptimizeResult(theta, f, g, True, 0, float(np.max(np.abs(g), initial=0.0)),
                              "lstsq (QR)", "closed form", [f])

    # ------------------------------------------------------------ predictions
    def predict(self, params, exog=None, **kwargs) -> np.ndarray:
        """One-step-ahead conditional means z_tᵀβ (``exog``: rows of the lagged design)."""
        return self._exog_for_predict(exog) @ np.asarray(params, float)[:-1]

    def resid(self, params) -> np.ndarray:
        """One-step-ahead residuals r_t = x_t − z_tᵀβ."""
        return self.endog - self.exog @ np.asarray(params, float)[:-1]
