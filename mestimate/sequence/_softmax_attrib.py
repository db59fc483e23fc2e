"""Attribution machinery of the softmax model: ∇φ, inverse-curvature solves, document scores.

For a query with response tokens r_1..r_m (design rows x_j, probabilities p_j),
∇ log P(r_j | ·) = x_j ⊗ (e_{r_j} − p_j). With s_j = (H + λ_d I)⁻¹ ∇φ_j (W-shaped) and
M = X s_j (U × V), a training token t in context u followed by y has

    G(z_t)·s_j = x_uᵀ s_j (p_u − e_y) = Σ_v M_uv p_uv − M_uy,

so G_d·s_j for all documents is one sparse product (documents × (context, symbol) pair
counts) with a vector over pairs: no loop over documents or tokens.
``score(d, j) = −G_d·s_j`` (MATH.md); the predicted change of φ when d is removed is
``−score(d)/N`` with N the number of training tokens.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from scipy import linalg

from ..exceptions import ConvergenceWarning, DataError, MEstimateError
from ._softmax_solve import block_pcg
from .kfac import block_factors, block_solve, kfac_solve, kronecker_factors

__all__ = ["phi_gradients", "query_log_probs", "Curvature", "pair_contributions", "EXACT_MAX"]

EXACT_MAX = 5000          # largest k for which method="exact" forms the dense Hessian


def _query_probs(W: np.ndarray, Xq: sp.spmatrix) -> np.ndarray:
    Z = Xq @ W
    Z -= Z.max(axis=1, keepdims=True)
    P = np.exp(Z)
    return P / P.sum(axis=1, keepdims=True)


def query_log_probs(W: np.ndarray, Xq: sp.spmatrix, yq: np.ndarray) -> np.ndarray:
    """log P(r_j | context_j) for each response token."""
    P = _query_probs(W, Xq)
    return np.log(P[np.arange(yq.size), yq])


def phi_gradients(W: np.ndarray, Xq: sp.spmatrix, yq: np.ndarray) -> np.ndarray:
    """∇ log P(r_j | context_j) in W shape, stacked: (F1, V, m)."""
    E = -_query_probs(W, Xq)
    E[np.arange(yq.size), yq] += 1.0
    Xd = Xq.toarray()
    return np.einsum("jf,jv->fvj", Xd, E)


def pair_contributions(S: np.ndarray, X: sp.csr_matrix, P: np.ndarray, pair_u: np.ndarray,
                       pair_y: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """G(z)·s_j for every distinct (context, symbol) pair and every column j: (P, m)."""
    F1, V, m = S.shape
    S2 = S.reshape(F1, V * m)
    out = np.empty((pair_u.size, m))
    bounds = np.searchsorted(pair_u, np.arange(0, X.shape[0] + chunk, chunk))
    for b, s in enumerate(range(0, X.shape[0], chunk)):
        lo, hi = bounds[b], bounds[b + 1]
        M = (X[s:s + chunk] @ S2).reshape(-1, V, m)
        a = np.einsum("uv,uvm->um", P[s:s + chunk], M)
        uu = pair_u[lo:hi] - s
        out[lo:hi] = a[uu] - M[uu, pair_y[lo:hi]]
    return out


class Curvature:
    """Inverse-curvature products at θ̂, with factorisations cached across queries.

    ``solve(G, method, damping)`` returns (H + λ_d I)⁻¹ G for W-shaped (F1, V, m) ``G``:
    ``exact`` (dense Cholesky), ``cg`` (block PCG on exact Hessian products, Jacobi
    preconditioner, or EK-FAC once the Kronecker factors have been computed),
    ``kfac``/``ekfac``/``ekfac_block`` (:mod:`~mestimate.sequence.kfac`, with the ridge
    λ plus λ_d as damping), ``grad_dot`` (identity: no curvature).
    """

    def __init__(self, obj, w: np.ndarray, *, cg_rtol: float = 1e-10, cg_maxiter: int = 5000,
                 n_blocks: int | None = 32):
        self.obj, self.w = obj, w
        self.n_blocks = n_blocks
        self.cg_rtol, self.cg_maxiter = cg_rtol, cg_maxiter
        self._chol: dict = {}
        self._factors = None
        self._blocks = None       # block eigenvalue correction, for the last damping used
        self._diag = None
        self.last_cg_iterations = 0

    def __getstate__(self) -> dict:
        # the block factors (~1 GB at the default size) are cheap to rebuild: not pickled
        return {**self.__dict__, "_blocks": None}

    def factors(self):
        """K-FAC/EK-FAC factors (computed once)."""
        if self._factors is None:
            o = self.obj
            self._factors = kronecker_factors(o.X, o.n, o.probs(self.w), o.n0, ekfac=True)
        return self._factors

    def blocks(self, damping: float = 0.0):
        """Block eigenvalue-correction factors at ridge λ + ``damping`` (cached for one damping)."""
        lam = self.obj.l2 + damping
        if self._blocks is None or self._blocks.damping != lam:
            o = self.obj
            self._blocks = None     # free the old factors before building new ones
            self._blocks = block_factors(o.X, o.n, o.probs(self.w), o.n0, self.factors(), lam,
                                         n_blocks=self.n_blocks)
        return self._blocks

    def _exact(self, G: np.ndarray, damping: float) -> np.ndarray:
        k = self.obj.size
        if k > EXACT_MAX:
            raise MEstimateError(
                f"method='exact' forms the dense {k} x {k} Hessian and is limited to "
                f"{EXACT_MAX} parameters; use method='cg' (exact Hessian products) or 'ekfac'")
        if damping not in self._chol:
            H = self.obj.hessian(self.w)
            H[np.diag_indices_from(H)] += damping
            self._chol[damping] = linalg.cho_factor(H)
        return linalg.cho_solve(self._chol[damping], G.reshape(k, -1)).reshape(G.shape)

    def _cg(self, G: np.ndarray, damping: float) -> np.ndarray:
        k = self.obj.size
        F1, V = self.obj.F1, self.obj.V
        if self._factors is not None:   # EK-FAC is a far better preconditioner once available
            lam = self.obj.l2 + damping

            def precond(r):
                return kfac_solve(self._factors, r.reshape(F1, V, -1), lam).reshape(k, -1)
        else:
            if self._diag is None:
                self._diag = self.obj.hess_diag(self.w)
            d = (self._diag + damping)[:, None]

            def precond(r):
                return r / d
        X, it, res = block_pcg(lambda v: self.obj.hessp(self.w, v) + damping * v,
                               G.reshape(k, -1), precond,
                               rtol=self.cg_rtol, maxiter=self.cg_maxiter)
        self.last_cg_iterations = it
        if res > 1e3 * self.cg_rtol:
            warnings.warn(f"conjugate gradients stopped after {it} iterations with relative "
                          f"residual {res:.1e}; scores may be inaccurate (add damping=)",
                          ConvergenceWarning, stacklevel=4)
        return X.reshape(G.shape)

    def solve(self, G: np.ndarray, method: str, damping: float) -> np.ndarray:
        if method == "exact":
            return self._exact(G, damping)
        if method == "cg":
            return self._cg(G, damping)
        if method in ("kfac", "ekfac"):
            return kfac_solve(self.factors(), G, self.obj.l2 + damping, kind=method)
        if method == "ekfac_block":
            return block_solve(self.blocks(damping), G)
        if method == "grad_dot":
            return G.copy()
        raise DataError(f"unknown method {method!r}")  # pragma: no cover - checked upstream
