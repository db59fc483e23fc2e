"""K-FAC and EK-FAC curvature for a single softmax layer (Grosse et al. 2023, §2.2).

For the softmax model with design rows x_t (F+1) and probabilities p_t (V), the
per-token Gauss–Newton matrix is (x_t x_tᵀ) ⊗ (diag p_t − p_t p_tᵀ), and the mean
Hessian of :mod:`~mestimate.sequence.softmax` is exactly

    H = (1/N) Σ_t (x_t x_tᵀ) ⊗ Σ_t + λ I,        Σ_t = diag p_t − p_t p_tᵀ.

K-FAC replaces the mean of Kronecker products by the Kronecker product of means,

    H ≈ A ⊗ S + λ I,   A = (1/N) Σ_t x_t x_tᵀ,   S = (1/N) Σ_t Σ_t,

and inverts it through the eigendecompositions A = Q_A Λ_A Q_Aᵀ, S = Q_S Λ_S Q_Sᵀ:

    (A ⊗ S + λI)⁻¹ = (Q_A ⊗ Q_S) (Λ_A ⊗ Λ_S + λ)⁻¹ (Q_A ⊗ Q_S)ᵀ.

EK-FAC (George et al. 2018) keeps the Kronecker eigenbasis but replaces Λ_A ⊗ Λ_S by
the exact diagonal of the Gauss–Newton matrix in that basis,

    Λ_{ij} = (1/N) Σ_t (q_{A,i}ᵀ x_t)² · q_{S,j}ᵀ Σ_t q_{S,j},

the expectation over the model's own labels of the squared per-token pseudo-gradient
(q_{A,i}ᵀ x_t)(q_{S,j}ᵀ(p_t − e_y))² that Grosse et al. estimate by sampling y ~ p_t;
here the expectation is taken analytically, so there is no sampling noise. W-shaped
arrays are (F+1) × V with the feature index first, so vec(W) is row-major and the
Kronecker order is A ⊗ S. Both approximations are exact when all tokens share one
Σ_t (then H = A ⊗ S + λI), which the tests use.

The factorisation costs one dense eigendecomposition of A, (F+1)³ flops: F + 1 ≈ 2,000
takes seconds, 16,000 would take hours, which is why ``SoftmaxAR`` defaults to 2¹¹
hash buckets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["KroneckerFactors", "kronecker_factors", "kfac_solve"]


@dataclass(frozen=True)
class KroneckerFactors:
    """Eigendecompositions of the Kronecker factors and the EK-FAC eigenvalues.

    Attributes
    ----------
    QA, lamA : eigenvectors/eigenvalues of A ((F+1) × (F+1))
    QS, lamS : eigenvectors/eigenvalues of S (V × V)
    ekfac : ((F+1) × V) corrected eigenvalues (None if not computed)
    """

    QA: np.ndarray
    lamA: np.ndarray
    QS: np.ndarray
    lamS: np.ndarray
    ekfac: np.ndarray | None


def kronecker_factors(X: sp.spmatrix, n: np.ndarray, P: np.ndarray, n0: float, *,
                      ekfac: bool = True, chunk: int = 4096) -> KroneckerFactors:
    """Factor the Gauss–Newton matrix of distinct contexts ``X`` with counts ``n``, probs ``P``.

    Parameters
    ----------
    X : sparse (U, F1) design rows; n : (U,) token counts; P : (U, V) probabilities;
    n0 : normaliser N; ekfac : also compute the EK-FAC eigenvalues; chunk : rows per block.

    Examples
    --------
    >>> X = sp.csr_matrix(np.ones((3, 1)))
    >>> P = np.tile([0.2, 0.3, 0.5], (3, 1))
    >>> f = kronecker_factors(X, np.ones(3), P, 3.0)
    >>> np.allclose(f.ekfac, np.outer(f.lamA, f.lamS))   # one context: EK-FAC = K-FAC
    True
    """
    X = sp.csr_matrix(X)
    A = (X.T @ X.multiply(n[:, None]).tocsr()).toarray() / n0
    Pn = P * n[:, None]
    S = (np.diag(Pn.sum(axis=0)) - P.T @ Pn) / n0
    lamA, QA = np.linalg.eigh(0.5 * (A + A.T))
    lamS, QS = np.linalg.eigh(0.5 * (S + S.T))
    lam = None
    if ekfac:
        lam = np.zeros((X.shape[1], P.shape[1]))
        QS2 = QS * QS
        for s in range(0, X.shape[0], chunk):
            sl = slice(s, s + chunk)
            XQ = X[sl] @ QA
            Pc = P[sl]
            sig = Pc @ QS2 - (Pc @ QS) ** 2        # q_jᵀ Σ_t q_j for every j
            lam += (XQ * XQ).T @ (sig * n[sl, None])
        lam /= n0
    return KroneckerFactors(QA, np.clip(lamA, 0, None), QS, np.clip(lamS, 0, None), lam)


def kfac_solve(f: KroneckerFactors, G: np.ndarray, damping: float, *, kind: str = "ekfac"
               ) -> np.ndarray:
    """Apply (approximate H)⁻¹ to W-shaped arrays ``G`` of shape (F1, V) or (F1, V, m).

    Examples
    --------
    >>> X = sp.csr_matrix(np.ones((2, 1)))
    >>> P = np.tile([0.4, 0.6], (2, 1))
    >>> f = kronecker_factors(X, np.ones(2), P, 2.0)
    >>> H = np.diag(P[0]) - np.outer(P[0], P[0]) + 0.1 * np.eye(2)
    >>> g = np.array([[1.0, -2.0]])
    >>> np.allclose(kfac_solve(f, g, 0.1, kind="kfac").ravel(), np.linalg.solve(H, g.ravel()))
    True
    """
    single = G.ndim == 2
    G3 = G[:, :, None] if single else G
    if kind == "ekfac":
        if f.ekfac is None:
            raise ValueError("these factors were computed without the EK-FAC eigenvalues")
        lam = f.ekfac
    elif kind == "kfac":
        lam = np.outer(f.lamA, f.lamS)
    else:
        raise ValueError(f"unknown kind {kind!r}; allowed values are: 'kfac', 'ekfac'")
    F1, V, m = G3.shape
    # (Q_A ⊗ Q_S)ᵀ vec(G) = vec(Q_Aᵀ G Q_S), done as two matrix products per side
    T = (f.QA.T @ G3.reshape(F1, V * m)).reshape(F1, V, m).transpose(0, 2, 1) @ f.QS
    T /= (lam + damping)[:, None, :]
    out = (f.QA @ (T @ f.QS.T).reshape(F1, m * V)).reshape(F1, m, V).transpose(0, 2, 1)
    return out[:, :, 0] if single else out
