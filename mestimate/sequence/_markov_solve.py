"""Per-context fit and Hessian solves for :class:`~mestimate.sequence.markov.MarkovChain`.

The total objective separates over contexts. For one context with counts n (A-vector),
pseudo-count α and ridge λ, write ñ = n + α and m = Σ_a ñ_a. Then

    f(θ) = m·logsumexp(θ) − ñ·θ + (λ/2)‖θ‖²,
    ∇f = m p − ñ + λθ,        ∇∇f = m (diag p − p pᵀ) + λ I,      p = softmax(θ).

With λ = 0 the minimum is p = ñ/m (closed form, defined up to a shift of θ); with λ > 0
it is found by Newton's method, vectorised over a batch of contexts, with the Hessian
solved in closed form (Sherman–Morrison, O(A) per context).
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.special import logsumexp

from ..exceptions import ConvergenceWarning

__all__ = ["fit_blocks", "solve_blocks"]


def _objective(theta: np.ndarray, nt: np.ndarray, m: np.ndarray, lam: float) -> np.ndarray:
    return m * logsumexp(theta, axis=1) - np.einsum("ba,ba->b", nt, theta) + 0.5 * lam * (theta**2).sum(1)


def solve_blocks(p: np.ndarray, m: np.ndarray, lam: float, v: np.ndarray) -> np.ndarray:
    """Solve [m_b (diag p_b − p_b p_bᵀ) + λ I] x_b = v_b for every row b.

    With λ = 0 the matrix is singular (the shift direction); the returned x_b = v_b/(m_b p_b)
    solves the system whenever Σ_a v_{b,a} = 0, and its dot product with any sum-zero vector
    is that of the pseudo-inverse solution.

    Examples
    --------
    >>> p = np.array([[0.2, 0.3, 0.5]]); m = np.array([10.0]); v = np.array([[1.0, -2.0, 0.5]])
    >>> x = solve_blocks(p, m, 0.7, v)
    >>> H = m[0] * (np.diag(p[0]) - np.outer(p[0], p[0])) + 0.7 * np.eye(3)
    >>> bool(np.allclose(H @ x[0], v[0]))
    True
    """
    m = np.asarray(m, float)[:, None]
    if lam == 0:
        return v / (m * p)
    dinv = 1.0 / (m * p + lam)
    y = dinv * v
    u = dinv * p
    coef = m[:, 0] * np.einsum("ba,ba->b", p, y) / (1.0 - m[:, 0] * np.einsum("ba,ba->b", p, u))
    return y + u * coef[:, None]


def fit_blocks(
    counts: np.ndarray,
    alpha: float,
    lam: float,
    *,
    theta0: np.ndarray | None = None,
    tol: float = 1e-11,
    maxiter: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """Fitted probabilities and centred logits, one row per context.

    Parameters
    ----------
    counts : ndarray, shape (B, A)
        Transition counts n_{c,a} (may be fractional: weighted documents).
    alpha, lam : float
        Pseudo-count and ridge penalty of the total objective (module docstring).
    theta0 : ndarray, shape (B, A), optional
        Starting logits for Newton's method (warm start, λ > 0 only).

    Returns
    -------
    p, theta : ndarray, shape (B, A)
        Probabilities and logits; with λ = 0 the logits are centred (Σ_a θ_{c,a} = 0).

    Examples
    --------
    >>> p, theta = fit_blocks(np.array([[3.0, 1.0, 0.0]]), 1.0, 0.0)
    >>> p.round(3).tolist()
    [[0.571, 0.286, 0.143]]
    """
    nt = np.asarray(counts, float) + alpha
    m = nt.sum(axis=1)
    A = nt.shape[1]
    if lam == 0:
        p = nt / m[:, None]
        logp = np.log(p)
        return p, logp - logp.mean(axis=1, keepdims=True)
    # Newton from the (lightly smoothed) empirical logits, with backtracking per context
    if theta0 is None:
        theta0 = np.log((nt + 0.5) / (m[:, None] + 0.5 * A))
    theta = np.array(theta0, dtype=float, copy=True)
    f = _objective(theta, nt, m, lam)
    scale = np.maximum(m, 1.0)
    active = np.ones(theta.shape[0], bool)
    for _ in range(maxiter):
        p = np.exp(theta - logsumexp(theta, axis=1, keepdims=True))
        g = m[:, None] * p - nt + lam * theta
        active = np.abs(g).max(axis=1) > tol * scale
        if not active.any():
            break
        a = np.flatnonzero(active)
        step = -solve_blocks(p[a], m[a], lam, g[a])
        slope = np.einsum("ba,ba->b", g[a], step)
        t = np.ones(a.size)
        for _ in range(40):
            trial = theta[a] + t[:, None] * step
            f_new = _objective(trial, nt[a], m[a], lam)
            bad = f_new > f[a] + 1e-4 * t * slope + 1e-13 * np.abs(f[a])
            if not bad.any():
                break
            t = np.where(bad, 0.5 * t, t)
        theta[a] = theta[a] + t[:, None] * step
        f[a] = _objective(theta[a], nt[a], m[a], lam)
    else:
        warnings.warn(
            f"Newton's method did not converge for {int(active.sum())} contexts in {maxiter} "
            "iterations; the ridge fit may be inaccurate (try a larger penalty)",
            ConvergenceWarning, stacklevel=3,
        )
    p = np.exp(theta - logsumexp(theta, axis=1, keepdims=True))
    return p, theta
