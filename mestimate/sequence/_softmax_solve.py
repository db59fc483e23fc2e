"""Matrix-free solvers for the softmax model: block PCG and an L-BFGS → Newton-CG fit.

``block_pcg`` runs independent preconditioned conjugate-gradient iterations on the
columns of a right-hand-side block, sharing one (batched) Hessian product per step, so
the m solves of a multi-token response cost about as much time as one.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize

__all__ = ["block_pcg", "FitInfo", "fit_softmax", "newton_cg"]


def block_pcg(matvec: Callable, B: np.ndarray, precond: Callable | None = None, *,
              rtol: float = 1e-10, maxiter: int = 2000, x0: np.ndarray | None = None
              ) -> tuple[np.ndarray, int, float]:
    """Solve A X = B column-wise by preconditioned CG (A symmetric positive definite).

    Returns ``(X, iterations, worst relative residual)``.

    Examples
    --------
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> X, it, res = block_pcg(lambda v: A @ v, np.eye(2))
    >>> np.allclose(X, np.linalg.inv(A))
    True
    """
    B = B.reshape(B.shape[0], -1)
    X = np.zeros_like(B) if x0 is None else x0.reshape(B.shape).copy()
    M = precond if precond is not None else (lambda r: r)
    R = B - matvec(X) if x0 is not None else B.copy()
    bnorm = np.maximum(np.linalg.norm(B, axis=0), 1e-300)
    Z = M(R)
    Pd = Z.copy()
    rz = np.einsum("ij,ij->j", R, Z)
    it = 0
    rel = np.linalg.norm(R, axis=0) / bnorm
    while it < maxiter and rel.max() > rtol:
        active = rel > rtol
        AP = matvec(Pd[:, active])
        pAp = np.einsum("ij,ij->j", Pd[:, active], AP)
        alpha = rz[active] / pAp
        X[:, active] += alpha * Pd[:, active]
        R[:, active] -= alpha * AP
        Za = M(R[:, active])
        rz_new = np.einsum("ij,ij->j", R[:, active], Za)
        Pd[:, active] = Za + (rz_new / rz[active]) * Pd[:, active]
        rz[active] = rz_new
        rel = np.linalg.norm(R, axis=0) / bnorm
        it += 1
    return X, it, float(rel.max())


@dataclass(frozen=True)
class FitInfo:
    """Convergence record of a fit."""

    converged: bool
    iterations: int           # L-BFGS + Newton iterations
    newton_iterations: int
    cg_iterations: int        # Hessian products spent in Newton's inner solves
    grad_norm: float          # ‖∇L̄(θ̂)‖∞ at the end
    objective: float


def newton_cg(obj, w0: np.ndarray, *, gtol: float = 1e-9, maxiter: int = 50
              ) -> tuple[np.ndarray, int, int, float, float]:
    """Newton's method with Jacobi-preconditioned CG steps and backtracking.

    Returns ``(w, newton iterations, cg iterations, ‖g‖∞, f)``.
    """
    w = w0.copy()
    f, g = obj.value_grad(w)
    cg_total = 0
    it = 0
    while it < maxiter and np.max(np.abs(g)) > gtol:
        d = obj.hess_diag(w)
        gn = np.linalg.norm(g)
        step, k, _ = block_pcg(lambda v: obj.hessp(w, v), -g[:, None],
                               lambda r: r / d[:, None],
                               rtol=min(0.1, np.sqrt(gn)) * 1e-2, maxiter=500)
        step = step.ravel()
        cg_total += k
        t, slope = 1.0, float(g @ step)
        while t >= 1e-8:
            f_new, g_new = obj.value_grad(w + t * step)
            if f_new <= f + 1e-4 * t * slope:
                break
            # at the roundoff floor of f, accept a step that reduces the gradient
            if f_new - f <= 1e-13 * abs(f) and np.linalg.norm(g_new) < gn:
                break
            t *= 0.5
        it += 1
        if t < 1e-8:   # no acceptable step along a Newton direction: roundoff floor
            break
        w, f, g = w + t * step, f_new, g_new
    return w, it, cg_total, float(np.max(np.abs(g))), float(f)


def fit_softmax(obj, w0: np.ndarray, *, lbfgs_iter: int = 30, gtol: float = 1e-9,
                maxiter: int = 50) -> tuple[np.ndarray, FitInfo]:
    """L-BFGS warm start (``lbfgs_iter`` iterations) followed by Newton-CG to ``gtol``."""
    w, it0 = w0, 0
    if lbfgs_iter > 0:
        r = optimize.minimize(obj.value_grad, w0, jac=True, method="L-BFGS-B",
                              options={"maxiter": lbfgs_iter, "gtol": gtol})
        w, it0 = r.x, int(r.nit)
    w, nit, ncg, gmax, f = newton_cg(obj, w, gtol=gtol, maxiter=maxiter)
    return w, FitInfo(bool(gmax <= gtol), it0 + nit, nit, ncg, gmax, f)
