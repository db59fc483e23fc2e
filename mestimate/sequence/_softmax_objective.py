"""The penalised softmax loss on distinct contexts: value, gradient, Hessian-vector products.

Tokens sharing a context share a design row x_u, so every sum over the N training
tokens is a count-weighted sum over the U distinct contexts (n_u tokens in context u,
w_{uy} of them followed by symbol y). With W the (F+1) × V weight matrix,
p_u = softmax(x_uᵀ W) and the penalty weight fixed at the full-corpus count N₀:

    L̄(W) = (1/N₀) Σ_u [n_u logsumexp(x_uᵀW) − Σ_y w_{uy} x_uᵀW_{·y}] + (λ/2)‖W‖²
    ∇L̄   = (1/N₀) Xᵀ(diag(n) P − C) + λW
    H[V] = (1/N₀) Xᵀ diag(n)[P ⊙ (XV) − P ⊙ rowsum(P ⊙ XV)] + λV

Removing a document subtracts its counts from n and C and keeps N₀, so the leave-one-out
objective is exactly the ε = −1/N₀ perturbation of MATH.md. The loss is convex in the
logits and the logits are linear in W, so the Gauss–Newton matrix *is* the Hessian.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp

__all__ = ["SoftmaxObjective"]


class SoftmaxObjective:
    """Loss, gradient and Hessian products of the penalised softmax model.

    Parameters
    ----------
    X : csr_matrix, (U, F1)
        Design rows of the distinct contexts.
    n : (U,) array
        Token count (weight) of each context.
    pair_u, pair_y, pair_w : (P,) arrays
        Distinct (context, next symbol) pairs and their counts.
    n_symbols : int
        Alphabet size V.
    n0 : float
        Normaliser N₀ (full-corpus token count; fixed when documents are removed).
    l2 : float
        Ridge penalty λ.

    Examples
    --------
    >>> X = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 0.0]]))
    >>> obj = SoftmaxObjective(X, np.array([2.0, 1.0]), np.array([0, 0, 1]),
    ...                        np.array([0, 1, 1]), np.array([1.0, 1, 1]), 2, 3.0, 0.1)
    >>> f, g = obj.value_grad(np.zeros(4))
    >>> round(f, 6)   # log 2 at W = 0
    0.693147
    """

    def __init__(self, X, n, pair_u, pair_y, pair_w, n_symbols, n0, l2):
        self.X = sp.csr_matrix(X)
        self.XT = self.X.T.tocsr()
        self.n = np.asarray(n, float)
        self.pair_u = np.asarray(pair_u)
        self.pair_y = np.asarray(pair_y)
        self.pair_w = np.asarray(pair_w, float)
        self.V = int(n_symbols)
        self.F1 = self.X.shape[1]
        self.n0 = float(n0)
        self.l2 = float(l2)
        self._key: bytes | None = None
        self._P: np.ndarray | None = None

    @property
    def size(self) -> int:
        """Number of parameters k = (F+1)·V."""
        return self.F1 * self.V

    def with_weights(self, n, pair_w) -> "SoftmaxObjective":
        """The same objective with other counts (e.g. one document removed), same N₀."""
        new = object.__new__(SoftmaxObjective)
        new.__dict__.update(self.__dict__)
        new.n, new.pair_w = np.asarray(n, float), np.asarray(pair_w, float)
        new._key, new._P = None, None
        return new

    def _logits(self, w: np.ndarray) -> np.ndarray:
        return self.X @ w.reshape(self.F1, self.V)

    def probs(self, w: np.ndarray) -> np.ndarray:
        """P (U × V) at the flat parameter vector ``w`` (cached for the last ``w``)."""
        key = w.tobytes()
        if key != self._key:
            Z = self._logits(w)
            Z -= logsumexp(Z, axis=1, keepdims=True)
            self._P, self._key = np.exp(Z), key
        return self._P

    def value_grad(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        """Objective and gradient (flat) at ``w``."""
        W = w.reshape(self.F1, self.V)
        Z = self._logits(w)
        lse = logsumexp(Z, axis=1)
        f = (self.n @ lse - self.pair_w @ Z[self.pair_u, self.pair_y]) / self.n0
        f += 0.5 * self.l2 * float(w @ w)
        P = np.exp(Z - lse[:, None])
        self._P, self._key = P, w.tobytes()
        R = P * self.n[:, None]
        R[self.pair_u, self.pair_y] -= self.pair_w
        g = (self.XT @ R) / self.n0 + self.l2 * W
        return float(f), g.ravel()

    def hessp(self, w: np.ndarray, D: np.ndarray) -> np.ndarray:
        """H(w) applied to directions ``D`` of shape (k,) or (k, m)."""
        P = self.probs(w)
        single = D.ndim == 1
        m = 1 if single else D.shape[1]
        F1, V = self.F1, self.V
        # layout (feature, direction, symbol): the symbol axis stays contiguous
        Dm = np.ascontiguousarray(D.reshape(F1, V, m).transpose(0, 2, 1)).reshape(F1, m * V)
        Q = (self.X @ Dm).reshape(-1, m, V)
        Q *= P[:, None, :]
        Q -= P[:, None, :] * Q.sum(axis=2, keepdims=True)
        Q *= self.n[:, None, None]
        out = (self.XT @ Q.reshape(-1, m * V)).reshape(F1, m, V) / self.n0
        out = out.transpose(0, 2, 1).reshape(self.size, m) + self.l2 * D.reshape(self.size, m)
        return out.ravel() if single else out

    def hess_diag(self, w: np.ndarray) -> np.ndarray:
        """Diagonal of H(w) (a Jacobi preconditioner)."""
        P = self.probs(w)
        X2T = self.XT.multiply(self.XT)
        return ((X2T @ (P * (1.0 - P) * self.n[:, None])) / self.n0 + self.l2).ravel()

    def hessian(self, w: np.ndarray, chunk: int = 256) -> np.ndarray:
        """Dense H(w) (k × k) from Hessian products with blocks of unit vectors."""
        k = self.size
        H = np.empty((k, k))
        for s in range(0, k, chunk):
            e = np.zeros((k, min(chunk, k - s)))
            e[np.arange(s, s + e.shape[1]), np.arange(e.shape[1])] = 1.0
            H[:, s:s + e.shape[1]] = self.hessp(w, e)
        return 0.5 * (H + H.T)
