"""Is the optimum "nice"? Checks of the bread H_n(θ̂) that name what is wrong.

A singular H means some combination of parameters is not identified; an indefinite
H (for a loss) means θ̂ is a saddle point, not a minimum. Both are errors rather than
numbers (MATH.md): the message names the offending combination of parameters.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .exceptions import IdentificationError

__all__ = ["check_bread", "describe_direction"]


def describe_direction(v: np.ndarray, names: Sequence[str], tol: float = 0.05) -> str:
    """Readable linear combination ``0.71*x1 - 0.71*x2`` of the main components of ``v``.

    Examples
    --------
    >>> import numpy as np
    >>> describe_direction(np.array([0.6, -0.8, 0.001]), ["a", "b", "c"])
    '0.6*a - 0.8*b'
    """
    v = np.asarray(v, dtype=float)
    v = v / (np.linalg.norm(v) or 1.0)
    big = np.flatnonzero(np.abs(v) >= tol * np.max(np.abs(v), initial=0.0))
    if big.size and v[big[0]] < 0:
        v = -v
    terms = []
    for j in big:
        c = f"{abs(v[j]):.3g}*{names[j]}"
        terms.append(c if not terms and v[j] > 0 else ("- " if v[j] < 0 else "+ ") + c)
    return " ".join(terms)


def _clearly_positive_definite(C: np.ndarray, rtol: float) -> bool:
    """Whether the unit-diagonal symmetric C has λ_min > 2 rtol k ≥ 2 rtol λ_max: a Cholesky
    factorisation of C − 2 rtol k I succeeds.

    The usual case, decided without the eigendecomposition, whose LAPACK routine stalls
    for milliseconds at random when another BLAS thread pool of the process (scipy's) has
    just been busy; a factorisation that fails leaves the decision to the eigenvalues.
    λ_max ≤ trace C = k, and the margin 2 rtol k is far above the factorisation's rounding.
    """
    k = C.shape[0]
    try:
        np.linalg.cholesky(C - (2.0 * rtol * k) * np.eye(k))
    except np.linalg.LinAlgError:
        return False
    return True


def check_bread(H: np.ndarray, names: Sequence[str], *, symmetric: bool = True,
                rtol: float = 1e-10) -> None:
    """Raise :class:`IdentificationError` if ``H`` is singular or (when symmetric) indefinite.

    The check is scale-free: H is first scaled to unit diagonal, D^{-1/2} H D^{-1/2}.
    An eigenvalue below ``rtol`` times the largest counts as zero.

    Examples
    --------
    >>> import numpy as np
    >>> check_bread(np.array([[1.0, 1.0], [1.0, 1.0]]), ["x1", "x2"])
    Traceback (most recent call last):
    ...
    mestimate.exceptions.IdentificationError: the Hessian at the optimum is singular: the parameter combination 0.707*x1 - 0.707*x2 is not identified (eigenvalue 0 relative to 2). Drop or constrain one of these parameters (collinear regressors, a redundant dummy, or too little variation in the data).
    """
    H = np.asarray(H, dtype=float)
    if not np.all(np.isfinite(H)):
        raise IdentificationError("the Hessian at the optimum has non-finite entries; "
                                  "the estimate is at or beyond the edge of the parameter space")
    d = np.abs(np.diag(H))
    zero = d <= 1e-300   # scale-free: small curvature is judged by the eigenvalues below
    if zero.any():
        which = ", ".join(names[j] for j in np.flatnonzero(zero))
        raise IdentificationError(
            f"the loss does not depend on {which} at the optimum (zero curvature); "
            "remove the parameter(s) or check that the data vary in that direction")
    s = 1.0 / np.sqrt(d)
    C = H * np.outer(s, s)
    if symmetric:
        C = 0.5 * (C + C.T)
        if _clearly_positive_definite(C, rtol):
            return
        ev, vec = np.linalg.eigh(C)
        top = ev[-1]
        j = 0
        if ev[0] < -1e-8 * top:
            raise IdentificationError(
                f"the Hessian at the solution is indefinite (eigenvalue {ev[0]:.3g} relative to "
                f"{top:.3g}): it is a saddle point, not a minimum, in the direction "
                f"{describe_direction(vec[:, j] * s, names)}. Try other start_params.")
    else:
        U, ev, Vt = np.linalg.svd(C)
        ev, vec = ev[::-1], Vt[::-1].T
        top, j = ev[-1], 0
    if ev[0] <= rtol * top:
        raise IdentificationError(
            f"the Hessian at the optimum is singular: the parameter combination "
            f"{describe_direction(vec[:, j] * s, names)} is not identified (eigenvalue "
            f"{max(ev[0], 0.0):.3g} relative to {top:.3g}). Drop or constrain one of these parameters "
            "(collinear regressors, a redundant dummy, or too little variation in the data).")
