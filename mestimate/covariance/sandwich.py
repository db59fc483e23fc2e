"""The sandwich and the heteroskedasticity-consistent (HC) meats.

Scalings follow R's ``sandwich`` package (Zeileis 2006) in the notation of MATH.md:
the meat is ``M = (1/n) Σ ψ_t ψ_tᵀ`` and ``Var θ̂ = (1/n) H⁻¹ M H⁻¹``, where ``H`` is the
Hessian of the mean loss (the *inverse* of what R's ``bread()`` returns).
"""
from __future__ import annotations

import warnings

import numpy as np

from mestimate.exceptions import DataError, InferenceWarning, MEstimateError, check_option

from ._checks import as_estfun, resolve_n_k

__all__ = ["sandwich", "meat_hc", "HC_TYPES"]

HC_TYPES = ("HC0", "HC1", "HC2", "HC3")


def sandwich(bread: np.ndarray, meat: np.ndarray, nobs: int) -> np.ndarray:
    """Sandwich covariance ``(1/n) H⁻¹ M H⁻¹``.

    Parameters
    ----------
    bread : (k, k) array
        ``H_n``, the Hessian of the mean loss at θ̂ (R's ``bread()`` is its inverse).
    meat : (k, k) array
        ``M``, scaled like R's ``meat()``: an average of outer products.
    nobs : int
        ``n``, the number of observations with positive weight.

    Returns
    -------
    (k, k) ndarray
        The covariance of θ̂, symmetrised.

    Notes
    -----
    .. math:: \\widehat{\\operatorname{Var}}\\,\\hat\\theta = \\frac1n H_n^{-1} M H_n^{-1}.

    ``H⁻¹ M`` is computed with a linear solve, not an explicit inverse.

    Examples
    --------
    >>> import numpy as np
    >>> sandwich(np.eye(2) * 2.0, np.eye(2), nobs=10)
    array([[0.025, 0.   ],
           [0.   , 0.025]])
    """
    bread = np.asarray(bread, dtype=float)
    meat = np.asarray(meat, dtype=float)
    if bread.ndim != 2 or bread.shape[0] != bread.shape[1] or meat.shape != bread.shape:
        raise DataError(
            f"bread and meat must be square arrays of the same shape; got {bread.shape} and {meat.shape}"
        )
    if nobs <= 0:
        raise MEstimateError(f"nobs must be positive; got {nobs}")
    try:
        left = np.linalg.solve(bread, meat)
        cov = np.linalg.solve(bread, left.T).T / nobs
    except np.linalg.LinAlgError as err:
        raise MEstimateError(
            "the bread (Hessian of the mean loss) is singular, so no sandwich covariance exists; "
            "check for collinear regressors or unidentified parameters"
        ) from err
    return (cov + cov.T) / 2


def check_leverage(leverage: object, n: int, what: str) -> np.ndarray:
    """Return leverage as an (n,) array; error if missing, mis-shaped or any h_t ≥ 1."""
    if leverage is None:
        raise MEstimateError(
            f"{what} needs the leverages (hat values) h_t; pass leverage=... "
            "(for OLS/GLM the diagonal of the hat matrix), or use HC0/HC1"
        )
    h = np.asarray(leverage, dtype=float).ravel()
    if h.shape != (n,):
        raise DataError(f"leverage must have one value per observation ({n}); got shape {h.shape}")
    bad = np.flatnonzero(~(h < 1) | ~np.isfinite(h))
    if bad.size:
        raise MEstimateError(
            f"{what} is undefined: leverage h_t >= 1 (or not finite) for observations "
            f"{bad[:10].tolist()}{' ...' if bad.size > 10 else ''}; these points fit "
            "themselves exactly. Use HC0/HC1 or remove them"
        )
    close = np.flatnonzero(h > 1 - np.sqrt(np.finfo(float).eps))
    if close.size:
        warnings.warn(
            f"{what} is numerically unstable: leverage is close to 1 for observations "
            f"{close[:10].tolist()}",
            InferenceWarning,
            stacklevel=3,
        )
    return h


def meat_hc(
    estfun: np.ndarray,
    *,
    type: str = "HC0",
    leverage: np.ndarray | None = None,
    k: int | None = None,
    nobs: int | None = None,
) -> np.ndarray:
    """Heteroskedasticity-consistent meat, as R's ``sandwich::meatHC``.

    Parameters
    ----------
    estfun : (n, k) array
        Rows ψ_t = w_t G(z_t; θ̂) (the sign does not matter).
    type : {"HC0", "HC1", "HC2", "HC3"}
        Small-sample variant.
    leverage : (n,) array, optional
        Hat values h_t; required for HC2 and HC3.
    k : int, optional
        Number of parameters for HC1 (default: the columns of ``estfun``).
    nobs : int, optional
        ``n`` in the scalings (default: the rows of ``estfun``); pass the number of
        observations with positive weight when zero-weight rows are included.

    Returns
    -------
    (k, k) ndarray

    Notes
    -----
    .. math::
        M_{HC0} = \\frac1n\\sum_t ψ_tψ_t^T,\\quad M_{HC1} = \\frac{n}{n-k}M_{HC0},\\quad
        M_{HC2} = \\frac1n\\sum_t \\frac{ψ_tψ_t^T}{1-h_t},\\quad
        M_{HC3} = \\frac1n\\sum_t \\frac{ψ_tψ_t^T}{(1-h_t)^2}.

    With :func:`sandwich` this equals ``sandwich::vcovHC(x, type=...)`` for ``lm`` and
    ``glm`` fits (h_t from the weighted hat matrix for GLMs).

    Examples
    --------
    >>> import numpy as np
    >>> psi = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [-1.0, 1.0]])
    >>> meat_hc(psi)
    array([[0.75, 0.  ],
           [0.  , 1.5 ]])
    >>> meat_hc(psi, type="HC1", k=2)
    array([[1.5, 0. ],
           [0. , 3. ]])
    """
    u = as_estfun(estfun)
    n, k = resolve_n_k(u, k, nobs)
    type = check_option("type", type, HC_TYPES)
    if type in ("HC2", "HC3"):
        h = check_leverage(leverage, u.shape[0], type)
        u = u / (np.sqrt(1 - h) if type == "HC2" else (1 - h))[:, None]
    meat = u.T @ u / n
    if type == "HC1":
        if n <= k:
            raise MEstimateError(f"HC1 needs more observations than parameters; got n={n}, k={k}")
        meat *= n / (n - k)
    return meat
