"""HAC kernels and their weights on the autocovariances (R's ``kweights``/``weightsAndrews``)."""
from __future__ import annotations

import numpy as np

from mestimate.exceptions import MEstimateError, check_option

__all__ = ["KERNELS", "canonical_kernel", "kernel_weights", "hac_weights"]

KERNELS = ("bartlett", "parzen", "quadratic-spectral", "truncated")
_ALIASES = {
    "quadratic spectral": "quadratic-spectral",
    "quadratic_spectral": "quadratic-spectral",
    "qs": "quadratic-spectral",
    "newey-west": "bartlett",
    "uniform": "truncated",
}
KERNEL_LABELS = {
    "bartlett": "Bartlett",
    "parzen": "Parzen",
    "quadratic-spectral": "Quadratic Spectral",
    "truncated": "Truncated",
}


def canonical_kernel(kernel: str) -> str:
    """Canonical kernel name; accepts R's spellings ("Quadratic Spectral") and "qs".

    Examples
    --------
    >>> canonical_kernel("Quadratic Spectral")
    'quadratic-spectral'
    """
    key = _ALIASES.get(str(kernel).lower(), kernel)
    return str(check_option("kernel", key, KERNELS))


def _qs(x: np.ndarray) -> np.ndarray:
    y = 6 * np.pi * x / 5
    with np.errstate(divide="ignore", invalid="ignore"):
        return 3 / y**2 * (np.sin(y) / y - np.cos(y))


def kernel_weights(x: np.ndarray, kernel: str) -> np.ndarray:
    """Kernel k(x), exactly as R's ``sandwich::kweights`` (normalize = FALSE).

    Notes
    -----
    Bartlett ``1 − |x|`` on |x| ≤ 1; Parzen ``1 − 6x² + 6|x|³`` (|x| < ½),
    ``2(1 − |x|)³`` (½ ≤ |x| ≤ 1); truncated ``1`` on |x| ≤ 1; quadratic spectral
    ``3/y² (sin y / y − cos y)`` with y = 6πx/5 (for |x| < 0.001 R's smooth
    extrapolation ``exp(c x²)``, c = 10⁶ log k(0.001), is used). All are 0 beyond |x| > 1
    except the quadratic spectral kernel.

    Examples
    --------
    >>> kernel_weights(np.array([0.0, 0.5, 1.0, 2.0]), "bartlett")
    array([1. , 0.5, 0. , 0. ])
    """
    kernel = canonical_kernel(kernel)
    x = np.abs(np.asarray(x, dtype=float))
    if kernel == "bartlett":
        return np.where(x > 1, 0.0, 1 - x)
    if kernel == "truncated":
        return np.where(x > 1, 0.0, 1.0)
    if kernel == "parzen":
        inner = np.where(x < 0.5, 1 - 6 * x**2 + 6 * x**3, 2 * (1 - x) ** 3)
        return np.where(x > 1, 0.0, inner)
    small = x < 0.001
    w = _qs(np.where(small, 1.0, x))
    cf = 1e6 * np.log(_qs(np.array(0.001)))
    return np.where(small, np.exp(cf * x**2), w)


def hac_weights(n: int, bw: float, kernel: str, tol: float = 1e-7) -> np.ndarray:
    """Weights w_0, w_1, …, w_L on lags 0..L, as R's ``weightsAndrews`` for a given bandwidth.

    ``w_j = k(j / bw)`` for j = 0..n−1, cut after the last |w_j| > tol.

    Examples
    --------
    >>> hac_weights(10, 3.0, "bartlett")
    array([1.        , 0.66666667, 0.33333333])
    """
    if not np.isfinite(bw) or bw <= 0:
        raise MEstimateError(f"the HAC bandwidth must be positive and finite; got {bw}")
    lags = max(int(n), 1)
    if canonical_kernel(kernel) != "quadratic-spectral":  # k(x) = 0 for |x| > 1: j ≤ bw only
        lags = min(lags, int(np.floor(bw)) + 1)
    w = kernel_weights(np.arange(lags) / bw, kernel)
    keep = np.flatnonzero(np.abs(w) > tol)
    return w[: keep.max() + 1] if keep.size else w[:1]
