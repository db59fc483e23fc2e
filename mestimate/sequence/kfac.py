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

Block eigenvalue correction (``method="ekfac_block"`` of ``SoftmaxAR``). EK-FAC's error
on this model is structural: Σ_t depends strongly on the context (after "we must neve"
the next symbol is nearly certain, after a space it is not), so in the Kronecker
eigenbasis H is far from diagonal, and most of the error sits on the query's own
n-gram features. Keeping the symbol-side eigenbasis Q_S but the feature side whole
gives the block-diagonal part of H in the orthogonal basis I ⊗ Q_S,

    H ≈ Σ_j C_j ⊗ q_{S,j} q_{S,j}ᵀ + λ I,   C_j = (1/N) Σ_t (q_{S,j}ᵀ Σ_t q_{S,j}) x_t x_tᵀ,

the Frobenius-nearest matrix of that block structure; EK-FAC is its restriction to
diag(Q_Aᵀ C_j Q_A) (so EK-FAC's eigenvalues are the Q_A-diagonals of the C_j) and K-FAC
to C_j = λ_{S,j} A. The L2 term is again exact. Only the ``n_blocks`` directions with
the largest λ_{S,j} get a block (the others keep EK-FAC's diagonal; with none it *is*
EK-FAC): each block is one (F+1)×(F+1) Cholesky factor, 34 MB at F = 2¹¹, so the
default 32 blocks hold 1.1 GB and a query column costs 2·32·(F+1)² flops.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import linalg

__all__ = ["KroneckerFactors", "kronecker_factors", "kfac_solve", "BlockFactors",
           "block_factors", "block_solve"]


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


def _row_pairs(X: sp.csr_matrix) -> sp.csr_matrix:
    """Sparse (F1·F1, U) matrix with entry (f·F1 + g, u) = x_uf x_ug (pairs within each row)."""
    X = sp.csr_matrix(X)
    X.sum_duplicates()
    F1 = X.shape[1]
    nnz = np.diff(X.indptr)
    rows, cols, vals = [], [], []
    for a in range(int(nnz.max(initial=0))):   # loop over positions in a row (≤ order + 1)
        ua = np.nonzero(nnz > a)[0]
        ia = X.indptr[ua] + a
        for b in range(int(nnz.max())):
            ok = nnz[ua] > b
            u, i = ua[ok], ia[ok]
            j = X.indptr[u] + b
            rows.append(X.indices[i] * F1 + X.indices[j])
            cols.append(u)
            vals.append(X.data[i] * X.data[j])
    if not rows:
        return sp.csr_matrix((F1 * F1, X.shape[0]))
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(F1 * F1, X.shape[0]))


@dataclass(frozen=True)
class BlockFactors:
    """Block eigenvalue correction: Cholesky factors of C_j + λI for the leading q_{S,j}.

    Attributes
    ----------
    kron : the :class:`KroneckerFactors` (with EK-FAC eigenvalues) it refines
    blocks : (b,) indices j of the symbol-side eigenvectors that get an exact block
    chol : (b, F1, F1) lower Cholesky factors of C_j + λI
    damping : λ they include
    """

    kron: KroneckerFactors
    blocks: np.ndarray
    chol: np.ndarray
    damping: float


def block_factors(X: sp.spmatrix, n: np.ndarray, P: np.ndarray, n0: float,
                  kron: KroneckerFactors, damping: float, *, n_blocks: int | None = None,
                  chunk: int = 8) -> BlockFactors:
    """Factor the block eigenvalue correction (module notes) with damping λ.

    The ``n_blocks`` symbol-side eigenvectors with the largest eigenvalues λ_{S,j} get an
    exact block C_j; the others keep EK-FAC's diagonal (all blocks if None).

    Examples
    --------
    >>> X = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 0.0]]))
    >>> P = np.array([[0.2, 0.8], [0.6, 0.4]])
    >>> f = kronecker_factors(X, np.ones(2), P, 2.0)
    >>> block_factors(X, np.ones(2), P, 2.0, f, 0.1).chol.shape
    (2, 2, 2)
    """
    if damping <= 0:
        raise ValueError(f"the block factors need a positive damping, got {damping!r}")
    if kron.ekfac is None:
        raise ValueError("the block correction needs Kronecker factors with EK-FAC eigenvalues")
    F1, V = X.shape[1], P.shape[1]
    nb = V if n_blocks is None else max(0, min(int(n_blocks), V))
    blocks = np.sort(np.argsort(-kron.lamS, kind="stable")[:nb])
    pairs = _row_pairs(X)
    Q = kron.QS[:, blocks]
    chol = np.empty((blocks.size, F1, F1))
    for s in range(0, blocks.size, chunk):
        sl = slice(s, s + chunk)
        sig = P @ (Q[:, sl] ** 2) - (P @ Q[:, sl]) ** 2     # q_jᵀ Σ_u q_j, (U, chunk)
        C = np.asarray(pairs @ (sig * (n / n0)[:, None]))   # (F1·F1, chunk), symmetric blocks
        for i in range(C.shape[1]):
            Cj = C[:, i].reshape(F1, F1)
            Cj[np.diag_indices(F1)] += damping
            chol[s + i] = linalg.cholesky(Cj, lower=True, overwrite_a=True, check_finite=False)
    return BlockFactors(kron, blocks, chol, float(damping))


def block_solve(b: BlockFactors, G: np.ndarray) -> np.ndarray:
    """Apply the inverse of the block-corrected curvature to W-shaped ``G`` ((F1, V[, m])).

    Examples
    --------
    >>> X = sp.csr_matrix(np.ones((2, 1)))
    >>> P = np.tile([0.4, 0.6], (2, 1))
    >>> b = block_factors(X, np.ones(2), P, 2.0, kronecker_factors(X, np.ones(2), P, 2.0), 0.1)
    >>> H = np.diag(P[0]) - np.outer(P[0], P[0]) + 0.1 * np.eye(2)
    >>> g = np.array([[1.0, -2.0]])
    >>> np.allclose(block_solve(b, g).ravel(), np.linalg.solve(H, g.ravel()))
    True
    """
    single = G.ndim == 2
    G3 = G[:, :, None] if single else G
    f = b.kron
    T = G3.transpose(1, 0, 2)                                   # (V, F1, m)
    T = np.tensordot(f.QS.T, T, axes=1)                         # symbol axis rotated
    out = np.empty_like(T)
    rest = np.setdiff1d(np.arange(T.shape[0]), b.blocks)
    if rest.size:                                               # EK-FAC diagonal elsewhere
        r, F1, m = rest.size, T.shape[1], T.shape[2]
        R = f.QA.T @ T[rest].transpose(1, 0, 2).reshape(F1, r * m)    # Q_Aᵀ per column
        R = R.reshape(F1, r, m) / (f.ekfac[:, rest] + b.damping)[:, :, None]
        out[rest] = (f.QA @ R.reshape(F1, r * m)).reshape(F1, r, m).transpose(1, 0, 2)
    for i, j in enumerate(b.blocks):
        # Lᵀ of a C-ordered L is Fortran-ordered: LAPACK reads it without a copy
        out[j] = linalg.cho_solve((b.chol[i].T, False), T[j], check_finite=False)
    out = np.tensordot(f.QS, out, axes=1).transpose(1, 0, 2)   # back: (F1, V, m)
    return out[:, :, 0] if single else out
