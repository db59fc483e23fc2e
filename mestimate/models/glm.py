"""Canonical-link GLMs as M-estimators: Logit and Poisson regression."""
from __future__ import annotations

import numpy as np
from scipy import special

from ..exceptions import DataError, PerfectSeparationError
from ._regression import IndexModel

__all__ = ["Logit", "Poisson"]


def _expit(eta: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The logistic function p = 1 / (1 + e^{−η}), elementwise (``out`` may be ``eta``).

    The formula of ``scipy.special.expit``, here on numpy's vectorised ``exp``: within
    2 ulp of scipy's and 3× faster on large arrays (n × B evaluations are most of an
    exact leave-one-out). e^{−η} overflows to inf for η < −709, giving the limit 0.
    """
    if out is None:
        out = np.empty(np.shape(eta))      # float whatever eta's dtype
    np.negative(eta, out=out)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1.0
    return np.divide(1.0, out, out=out)


def _log1pexp(eta: np.ndarray) -> np.ndarray:
    """log(1 + e^η) = max(η, 0) + log1p(e^{−|η|}), elementwise, without overflow.

    Within 3 ulp of ``np.logaddexp(0, η)`` and 3× faster (it is what every line-search
    step of a logit fit evaluates).
    """
    out = np.abs(eta, out=np.empty(np.shape(eta)))
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += np.maximum(eta, 0.0)
    return out


class Logit(IndexModel):
    """Logistic regression: L(z_t; β) = log(1 + e^{η_t}) − y_t η_t, η_t = x_tᵀβ.

    ``endog`` takes values in [0, 1] (fractional responses give the quasi-likelihood
    estimator). Perfect or quasi-complete separation raises
    :class:`~mestimate.exceptions.PerfectSeparationError` instead of returning
    diverging coefficients.

    Notes
    -----
    G_t = (p_t − y_t) x_t and H_t = p_t (1 − p_t) x_t x_tᵀ with p_t = 1 / (1 + e^{−η_t}).
    The mean loss is −(1/n) × the log-likelihood, so ``cov_type="nonrobust"`` is the
    inverse information (XᵀVX)⁻¹, V = diag(p(1 − p)), as in R's ``glm`` and statsmodels.

    Examples
    --------
    >>> import numpy as np, mestimate as me
    >>> X = np.c_[np.ones(8), [0.0, 1, 2, 3, 4, 5, 6, 7]]
    >>> y = np.array([0.0, 0, 1, 0, 1, 0, 1, 1])
    >>> res = me.Logit(y, X).fit()
    >>> round(float(res.params["x1"]), 4)
    0.5941
    """

    def _validate_endog(self, y):
        if np.any((y < 0) | (y > 1)):
            raise DataError("Logit needs a response in [0, 1] (0/1 outcomes or proportions)")

    def _loss(self, y, eta):
        loss = _log1pexp(eta)
        loss -= y * eta
        return loss

    def _d1(self, y, eta):
        p = _expit(eta)
        p -= y
        return p

    def _d1_inplace(self, y, eta):
        _expit(eta, out=eta)
        eta -= y
        return eta

    def _d2(self, y, eta):
        p = _expit(eta)
        return p * (1.0 - p)

    def _d1_d2(self, y, eta):
        p = _expit(eta)
        return p - y, p * (1.0 - p)

    def predict(self, params, exog=None, linear: bool = False):
        """Predicted probabilities (or the linear index with ``linear=True``)."""
        eta = super().predict(params, exog)
        return eta if linear else _expit(eta)

    def resid(self, params):
        """Response residuals y − p."""
        return self.endog - _expit(self.exog @ np.asarray(params, float))

    def _check_solution(self, opt):
        eta = self.exog @ opt.x
        p = _expit(eta)
        w = np.ones_like(p) if self.weights is None else self.weights
        active = w > 0
        y = self.endog[active]
        fitted_exact = (np.abs(p - self.endog) < 1e-8)[active]
        if not np.all((y == 0) | (y == 1)):
            return
        if fitted_exact.all():
            raise PerfectSeparationError(
                "perfect separation: the regressors predict every outcome exactly, so the maximum "
                "likelihood estimate does not exist (coefficients diverge). Remove or merge the "
                "separating regressor(s), or use a penalised model.")
        if fitted_exact.any() and (not opt.converged or np.max(np.abs(eta)) > 30):
            j = int(np.argmax(np.abs(opt.x) * self.exog.std(axis=0)))
            raise PerfectSeparationError(
                f"quasi-complete separation: {int(fitted_exact.sum())} observations are predicted "
                f"exactly and the coefficients diverge (largest standardised: {self.param_names[j]!r}). "
                "The maximum likelihood estimate does not exist; remove or merge the separating "
                "regressor(s), or use a penalised model.")


class Poisson(IndexModel):
    """Poisson regression with log link: L(z_t; β) = μ_t − y_t η_t + log y_t!, μ_t = e^{η_t}.

    Parameters
    ----------
    endog, exog : array_like
    offset : array_like, optional
        Added to the linear index (``log(exposure)``).

    Notes
    -----
    G_t = (μ_t − y_t) x_t, H_t = μ_t x_t x_tᵀ; the mean loss is −(1/n) × the
    log-likelihood, so ``"nonrobust"`` is the inverse information as in R's ``glm``.

    Examples
    --------
    >>> import numpy as np, mestimate as me
    >>> X = np.c_[np.ones(6), [0.0, 1, 2, 3, 4, 5]]
    >>> res = me.Poisson(np.array([1.0, 1, 2, 4, 5, 9]), X).fit()
    >>> round(float(res.params["x1"]), 4)
    0.4768
    """

    def __init__(self, endog, exog, *, offset=None, **kwargs):
        self.offset = None if offset is None else np.asarray(offset, dtype=float).ravel()
        super().__init__(endog, exog, **kwargs)
        if self.offset is not None and self.offset.shape != self.endog.shape:
            raise DataError(f"offset must have one entry per observation ({self.endog.size})")

    def _default_start_params(self, k):
        start = np.zeros(k)
        const = np.flatnonzero(np.all(self.exog == 1.0, axis=0))
        if const.size:
            start[const[0]] = np.log(max(self.endog.mean(), 1e-8))
        return start

    def _validate_endog(self, y):
        if np.any(y < 0):
            raise DataError("Poisson needs a non-negative response (counts)")

    def linear_index(self, params, rows=None):
        eta = super().linear_index(params, rows)
        if self.offset is not None:
            eta = eta + (self.offset if rows is None else self.offset[rows])
        return eta

    def _loss(self, y, eta):
        return np.exp(eta) - y * eta + special.gammaln(y + 1.0)

    def _d1(self, y, eta):
        return np.exp(eta) - y

    def _d1_inplace(self, y, eta):
        np.exp(eta, out=eta)
        eta -= y
        return eta

    def _d2(self, y, eta):
        return np.exp(eta)

    def predict(self, params, exog=None, linear: bool = False, offset=None):
        """Predicted means e^{Xβ (+ offset)} (or the linear index with ``linear=True``)."""
        eta = super().predict(params, exog)
        if exog is None and self.offset is not None:
            eta = eta + self.offset
        elif offset is not None:
            eta = eta + np.asarray(offset, float)
        return eta if linear else np.exp(eta)

    def resid(self, params):
        """Response residuals y − μ."""
        return self.endog - self.predict(params)
