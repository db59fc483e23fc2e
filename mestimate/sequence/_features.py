"""Hashed n-gram context features for :class:`~mestimate.sequence.softmax.SoftmaxAR`.

The context of token ``x_t`` is its last ``order`` symbols within its own document.
For ``n = 1..order`` the n-gram ``x_{t-n}..x_{t-1}`` is hashed into one of
``n_features`` buckets; the design row of token ``t`` is the bias feature (column 0)
plus the one-hot buckets (columns ``1..n_features``) of its n-grams, so each row has
``order + 1`` ones (a bucket hit twice by a collision holds a 2). Near the start of a
document only the n-grams that fit are used (n ≤ t): the first token of a document has
the bias feature only, so every token is a training token and no padding symbol exists.
A query context shorter than ``order`` is therefore read as the start of a document.

Everything is array work: the n-gram keys are rolling 64-bit polynomial hashes over the
encoded token array (one vectorised pass per n, never a loop over tokens), finalised by
the SplitMix64 mixer. Tokens with the same last-``order`` symbols have identical design
rows, so the design is built once per *distinct* context and tokens point to it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["ContextIndex", "context_matrix", "hashed_design", "index_contexts"]

_MULT = np.uint64(0x100000001B3)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.uint64, copy=True)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def context_matrix(codes: np.ndarray, pos: np.ndarray, order: int) -> np.ndarray:
    """The last ``order`` symbols before each token, most recent first (−1 = before the start).

    Examples
    --------
    >>> context_matrix(np.array([4, 5, 6]), np.array([0, 1, 2]), 2).tolist()
    [[-1, -1], [4, -1], [5, 4]]
    """
    n = codes.size
    ctx = np.full((n, order), -1, dtype=np.int64)
    for i in range(order):  # loop over the order, not over tokens
        lag = i + 1
        ok = pos >= lag
        ok[:lag] = False
        idx = np.nonzero(ok)[0]
        ctx[idx, i] = codes[idx - lag]
    return ctx


def hashed_design(ctx: np.ndarray, n_features: int) -> sp.csr_matrix:
    """Sparse design (rows × (1 + n_features)) of context rows from :func:`context_matrix`.

    Examples
    --------
    >>> X = hashed_design(np.array([[-1, -1], [3, -1], [3, 2]]), 8)
    >>> X.sum(axis=1).A.ravel().tolist()
    [1.0, 2.0, 3.0]
    """
    rows, order = ctx.shape
    key = np.zeros(rows, dtype=np.uint64)
    r_idx = [np.arange(rows)]
    c_idx = [np.zeros(rows, dtype=np.int64)]
    for n in range(1, order + 1):
        key = key * _MULT + (ctx[:, n - 1] + 1).astype(np.uint64)
        valid = ctx[:, n - 1] >= 0
        h = _splitmix64(key ^ _splitmix64(np.full(1, n, dtype=np.uint64) * _GOLDEN))
        bucket = 1 + (h % np.uint64(n_features)).astype(np.int64)
        r_idx.append(np.nonzero(valid)[0])
        c_idx.append(bucket[valid])
    r = np.concatenate(r_idx)
    c = np.concatenate(c_idx)
    X = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(rows, n_features + 1))
    X.sum_duplicates()
    return X


@dataclass(frozen=True)
class ContextIndex:
    """Distinct contexts of a token stream and the (context, next symbol) pairs.

    Attributes
    ----------
    X : csr_matrix, (U, F+1)        design rows of the U distinct contexts
    token_context : (N,) int        context index u_t of each token
    pair_u, pair_y : (P,) int       distinct (context, next symbol) pairs
    token_pair : (N,) int           pair index of each token
    """

    X: sp.csr_matrix
    token_context: np.ndarray
    pair_u: np.ndarray
    pair_y: np.ndarray
    token_pair: np.ndarray

    def weights(self, token_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-context token counts n_u and per-pair counts (optionally weighted per token)."""
        u, p = self.token_context, self.token_pair
        n = np.bincount(u, weights=token_weight, minlength=self.X.shape[0]).astype(float)
        w = np.bincount(p, weights=token_weight, minlength=self.pair_u.size).astype(float)
        return n, w


def _unique_rows(ctx: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray]:
    order = ctx.shape[1]
    if order == 0:
        return np.zeros((1, 0), dtype=np.int64), np.zeros(ctx.shape[0], dtype=np.int64)
    if order * np.log2(base + 1) < 62:  # pack the context into one exact int64 key
        key = np.zeros(ctx.shape[0], dtype=np.int64)
        for i in range(order):
            key = key * (base + 1) + (ctx[:, i] + 1)
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        return ctx[first], inv.ravel()
    uniq, inv = np.unique(ctx, axis=0, return_inverse=True)
    return uniq, inv.ravel()


def index_contexts(codes: np.ndarray, pos: np.ndarray, order: int, n_features: int,
                   n_symbols: int) -> ContextIndex:
    """Build the distinct-context design of an encoded token stream.

    Examples
    --------
    >>> ci = index_contexts(np.array([0, 1, 0, 1]), np.array([0, 1, 2, 3]), 1, 16, 2)
    >>> ci.X.shape[0], ci.token_context.tolist(), ci.pair_y.tolist()
    (3, [0, 1, 2, 1], [0, 1, 0])
    """
    ctx = context_matrix(codes, pos, order)
    uniq, inv = _unique_rows(ctx, n_symbols)
    pair_key = inv * n_symbols + codes
    pairs, token_pair = np.unique(pair_key, return_inverse=True)
    return ContextIndex(
        X=hashed_design(uniq, n_features),
        token_context=inv,
        pair_u=pairs // n_symbols,
        pair_y=pairs % n_symbols,
        token_pair=token_pair.ravel(),
    )
