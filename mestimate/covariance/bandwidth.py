"""Automatic HAC bandwidths: Newey & West (1994) and Andrews (1991), as R's sandwich.

Both reduce the k columns of estfun to one criterion with column weights; R's
default weight is 1 for every column except 0 for the intercept (pass
``intercept_col``). Prewhitening by a VAR(p) comes first when ``prewhite`` > 0.
"""
from __future__ import annotations

import numpy as np

from mestimate.exceptions import DataError, MEstimateError, check_option

from ._checks import as_estfun, ordering_index
from .kernels import canonical_kernel
from .prewhite import ar1_by_column, var_prewhiten

__all__ = ["bw_newey_west", "bw_andrews", "column_weights"]

_ANDREWS_CONST = {
    "truncated": (0.6611, 2),
    "bartlett": (1.1447, 1),
    "parzen": (2.6614, 2),
    "quadratic-spectral": (1.3221, 2),
}


def column_weights(k: int, weights: object = None, intercept_col: int | None = None) -> np.ndarray:
    """Column weights for the bandwidth criteria (R's default: 0 for the intercept, else 1).

    Examples
    --------
    >>> column_weights(3, intercept_col=0)
    array([0., 1., 1.])
    """
    if weights is None:
        w = np.ones(k)
        if intercept_col is not None:
            if not 0 <= int(intercept_col) < k:
                raise DataError(f"intercept_col must be a column index in 0..{k - 1}; got {intercept_col}")
            w[int(intercept_col)] = 0.0
        if np.all(w <= 0):
            w = np.ones(k)
        return w
    w = np.resize(np.asarray(weights, dtype=float).ravel(), k)
    if not np.all(np.isfinite(w)):
        raise DataError("bandwidth column weights must be finite")
    return w


def _prepare(estfun, order, prewhite):
    u = as_estfun(estfun)
    idx = ordering_index(order, u.shape[0])
    if idx is not None:
        u = u[idx]
    p = int(prewhite)
    if p < 0:
        raise MEstimateError(f"prewhite must be False/True or a VAR order >= 0; got {prewhite}")
    n_orig = u.shape[0]
    if p > 0:
        u = var_prewhiten(u, p)[0]
    return u, n_orig, p


def bw_newey_west(
    estfun: np.ndarray,
    kernel: str = "bartlett",
    *,
    lag: int | None = None,
    prewhite: int | bool = 1,
    weights: object = None,
    intercept_col: int | None = None,
    order: object = None,
) -> float:
    """Newey–West (1994) nonparametric bandwidth, as R's ``sandwich::bwNeweyWest``.

    Parameters
    ----------
    estfun : (n, k) array
    kernel : {"bartlett", "parzen", "quadratic-spectral"}
    lag : int, optional
        Pilot lag m; default R's ``floor(c (n/100)^r)`` with c = 3 (prewhitened) or 4
        and r = 2/9, 4/25, 2/25 for the three kernels.
    prewhite : int or bool
        VAR order for prewhitening (R's default 1).
    weights : array-like, optional
        Column weights; default 1, with 0 for ``intercept_col``.
    intercept_col : int, optional
        Index of the intercept column.
    order : array-like, optional
        Ordering variable (rows are sorted by it first).

    Returns
    -------
    float

    Notes
    -----
    With h_t = ψ̃_tᵀ w (ψ̃ prewhitened, n' = n − p rows), σ_j = (1/n') Σ_t h_t h_{t+j},
    s⁽⁰⁾ = σ_0 + 2Σ_{j=1}^m σ_j and s⁽q⁾ = 2Σ_{j=1}^m j^q σ_j, the bandwidth is
    ``c_k ((s⁽q⁾/s⁽⁰⁾)²)^{1/(2q+1)} n^{1/(2q+1)}`` with q = 1, c = 1.1447 (Bartlett),
    q = 2, c = 2.6614 (Parzen) or 1.3221 (quadratic spectral).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> e = np.convolve(rng.standard_normal(203), [1, 0.5, 0.25], "valid")
    >>> round(bw_newey_west(e[:, None], prewhite=False), 6) > 0
    True
    """
    kernel = canonical_kernel(kernel)
    if kernel == "truncated":
        raise MEstimateError(
            "the Newey-West bandwidth is only available for the 'bartlett', 'parzen' and "
            "'quadratic-spectral' kernels; use bw_andrews for 'truncated'"
        )
    u0 = as_estfun(estfun)
    w = column_weights(u0.shape[1], weights, intercept_col)
    u, n_orig, p = _prepare(u0, order, prewhite)
    mrate = {"bartlett": 2 / 9, "parzen": 4 / 25, "quadratic-spectral": 2 / 25}[kernel]
    m = int(np.floor((3 if p > 0 else 4) * (n_orig / 100) ** mrate)) if lag is None else int(lag)
    n = u.shape[0]
    if not 1 <= m < n:
        raise MEstimateError(f"the pilot lag must be in 1..{n - 1}; got {m}")
    hw = u @ w
    sigma = np.array([hw[: n - j] @ hw[j:] for j in range(m + 1)]) / n
    j = np.arange(1, m + 1)
    s0 = sigma[0] + 2 * sigma[1:].sum()
    q = 1 if kernel == "bartlett" else 2
    sq = 2 * np.sum(j**q * sigma[1:])
    c = _ANDREWS_CONST[kernel][0]
    qrate = 1 / (2 * q + 1)
    return float(c * ((sq / s0) ** 2) ** qrate * n_orig**qrate)


def bw_andrews(
    estfun: np.ndarray,
    kernel: str = "quadratic-spectral",
    *,
    approx: str = "AR(1)",
    prewhite: int | bool = 1,
    weights: object = None,
    intercept_col: int | None = None,
    order: object = None,
) -> float:
    """Andrews (1991) plug-in bandwidth with AR(1) approximations, as R's ``bwAndrews``.

    Parameters
    ----------
    estfun : (n, k) array
    kernel : {"quadratic-spectral", "bartlett", "parzen", "truncated"}
    approx : {"AR(1)"}
        The approximating model per column. ("ARMA(1,1)" is not implemented.)
    prewhite : int or bool
        VAR order for prewhitening (R's default 1).
    weights, intercept_col, order
        As in :func:`bw_newey_west`.

    Returns
    -------
    float

    Notes
    -----
    Each prewhitened column a is fitted by an AR(1) (ρ_a, σ_a); with column weights w_a,

    .. math::
        α(1) = \\frac{Σ_a w_a 4ρ_a²σ_a⁴/((1−ρ_a)⁶(1+ρ_a)²)}{Σ_a w_a σ_a⁴/(1−ρ_a)⁴},\\quad
        α(2) = \\frac{Σ_a w_a 4ρ_a²σ_a⁴/(1−ρ_a)⁸}{Σ_a w_a σ_a⁴/(1−ρ_a)⁴},

    and the bandwidth is 1.1447 (n α(1))^{1/3} (Bartlett), 2.6614 (n α(2))^{1/5}
    (Parzen), 1.3221 (n α(2))^{1/5} (quadratic spectral), 0.6611 (n α(2))^{1/5}
    (truncated), with n the number of prewhitened rows.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> e = np.convolve(rng.standard_normal(202), [1, 0.6], "valid")
    >>> 0 < bw_andrews(e[:, None], prewhite=False) < 20
    True
    """
    kernel = canonical_kernel(kernel)
    approx = check_option("approx", approx, ["AR(1)", "ARMA(1,1)"])
    if approx != "AR(1)":
        raise MEstimateError(
            "bw_andrews with approx='ARMA(1,1)' is not implemented (R fits it by exact ML "
            "with arima); use approx='AR(1)'"
        )
    u0 = as_estfun(estfun)
    w = column_weights(u0.shape[1], weights, intercept_col)
    u, _, _ = _prepare(u0, order, prewhite)
    rho, sigma = ar1_by_column(u)
    denom = np.sum(w * (sigma / (1 - rho)) ** 4)
    num = 4 * rho**2 * sigma**4
    if kernel == "bartlett":
        alpha = np.sum(w * num / ((1 - rho) ** 6 * (1 + rho) ** 2)) / denom
    else:
        alpha = np.sum(w * num / (1 - rho) ** 8) / denom
    c, q = _ANDREWS_CONST[kernel]
    return float(c * (u.shape[0] * alpha) ** (1 / (2 * q + 1)))
