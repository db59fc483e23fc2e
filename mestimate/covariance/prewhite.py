"""VAR prewhitening and AR(1) fits by least squares, as R's ``ar.ols`` is used by sandwich."""
from __future__ import annotations

import numpy as np

from mestimate.exceptions import MEstimateError

__all__ = ["var_prewhiten", "ar1_by_column"]


def var_prewhiten(u: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Fit a VAR(order) without intercept by least squares; return residuals and D.

    Parameters
    ----------
    u : (n, k) array
    order : int
        VAR order p ≥ 1.

    Returns
    -------
    resid : (n − p, k) ndarray
        ``e_t = u_t − Σ_j A_j u_{t−j}``.
    recolour : (k, k) ndarray
        ``D = (I − Σ_j A_j)⁻¹``, used to recolour the HAC meat as ``D M Dᵀ``.

    Notes
    -----
    Equals R's ``ar(u, order.max = p, aic = FALSE, demean = FALSE, method = "ols")``
    as called by ``sandwich::meatHAC`` (R's internal rescaling cancels exactly).

    Examples
    --------
    >>> u = np.array([[1.0], [0.5], [0.25], [0.125]])
    >>> resid, d = var_prewhiten(u, 1)
    >>> np.round(resid.ravel(), 12), d
    (array([0., 0., 0.]), array([[2.]]))
    """
    n, k = u.shape
    p = int(order)
    if p < 1 or n - p <= p * k:
        raise MEstimateError(
            f"VAR({p}) prewhitening needs more than {p * k} observations after the first {p}; "
            f"have n = {n}. Use prewhite=False"
        )
    x = np.hstack([u[p - j : n - j] for j in range(1, p + 1)])
    y = u[p:]
    coef, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    if rank < x.shape[1]:
        raise MEstimateError(
            f"VAR({p}) prewhitening of the estimating functions failed (singular regressors); "
            "use prewhite=False"
        )
    resid = y - x @ coef
    a_sum = sum(coef[(j - 1) * k : j * k].T for j in range(1, p + 1))
    try:
        recolour = np.linalg.inv(np.eye(k) - a_sum)
    except np.linalg.LinAlgError as err:
        raise MEstimateError(
            "VAR prewhitening found a unit root (I − ΣA singular); use prewhite=False"
        ) from err
    return resid, recolour


def ar1_by_column(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column AR(1) with intercept on the demeaned series; return (rho, sigma).

    Equals R's ``ar(x, order.max = 1, aic = FALSE, method = "ols")`` (``demean = TRUE``)
    as in ``sandwich::bwAndrews``: sigma² is the residual sum of squares over n − 1.

    Examples
    --------
    >>> rho, sigma = ar1_by_column(np.array([[1.0], [2.0], [1.5], [3.0], [2.0]]))
    >>> rho.shape, sigma.shape
    ((1,), (1,))
    """
    n = u.shape[0]
    if n < 3:
        raise MEstimateError(f"an AR(1) fit needs at least 3 observations; have {n}")
    c = u - u.mean(axis=0)
    y, x = c[1:], c[:-1]
    xm, ym = x.mean(axis=0), y.mean(axis=0)
    xd, yd = x - xm, y - ym
    rho = np.einsum("ij,ij->j", xd, yd) / np.einsum("ij,ij->j", xd, xd)
    resid = yd - rho * xd
    sigma = np.sqrt(np.einsum("ij,ij->j", resid, resid) / (n - 1))
    return rho, sigma
