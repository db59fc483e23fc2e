"""Counting for :class:`~mestimate.sequence.markov.MarkovChain`: encoding, context codes, tables.

Everything is array work over all tokens at once (one loop over documents for
tokenisation only). A context of order k is the k previous symbols, coded in mixed
radix A (the alphabet size) with the most recent symbol least significant:
``code = Σ_{i=1..k} x_{t−i} A^{i−1}``. The first k symbols of each document are
conditioning only (they are never scored), so a document of length L contributes
max(L − k, 0) training tokens.

The counts are stored once, sorted by (context, symbol, document):

* ``trip_*``: one row per distinct (context, symbol, document) with its count n_{d,c,a};
* ``pair_*``: one row per distinct (context, symbol) with n_{c,a} = Σ_d n_{d,c,a};
* ``ctx_codes`` (sorted) and pointers ``trip_ptr``, ``pair_ptr`` into both per context.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..exceptions import DataError
from ._vocab import Vocabulary, tokenize

__all__ = ["CountTable", "encode_corpus", "context_codes", "scored_positions", "expand_ranges"]

_MAX_CODE = 2**62


def _char_codepoints(seqs: list) -> np.ndarray | None:
    """Code points of all-string corpora (fast path for ``level="char"``), else None."""
    if not all(isinstance(s, str) for s in seqs):
        return None
    return np.frombuffer("".join(seqs).encode("utf-32-le"), dtype="<u4").astype(np.int64)


def encode_corpus(seqs: list, level: str, alphabet=None) -> tuple[Vocabulary, np.ndarray, np.ndarray]:
    """Encode every document; return ``(vocabulary, codes, offsets)``.

    ``codes`` is the concatenation of all documents' symbol codes and document d
    occupies ``codes[offsets[d]:offsets[d + 1]]``.
    """
    cps = _char_codepoints(seqs) if level == "char" else None
    if cps is not None:
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        inv, uniq = pd.factorize(cps)
        uniq = [chr(int(u)) for u in uniq]
    else:
        toks = [tokenize(s, level) for s in seqs]
        lengths = np.fromiter((len(t) for t in toks), dtype=np.int64, count=len(toks))
        flat = np.empty(int(lengths.sum()), dtype=object)
        flat[:] = [x for t in toks for x in t]
        inv, uniq = pd.factorize(flat)
        uniq = list(uniq)
    if alphabet is None:
        if not uniq:
            raise DataError("the corpus has no symbols: every document is empty")
        vocab = Vocabulary.from_sequences([uniq])
    else:
        vocab = alphabet if isinstance(alphabet, Vocabulary) else Vocabulary(alphabet)
    lookup = vocab.encode(uniq, what="the corpus")
    codes = lookup[inv] if len(uniq) else np.zeros(0, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return vocab, codes.astype(np.int64), offsets


def context_codes(codes: np.ndarray, positions: np.ndarray, k: int, A: int) -> np.ndarray:
    """Mixed-radix codes of the k symbols preceding each of ``positions`` in ``codes``."""
    positions = np.asarray(positions, dtype=np.int64)
    if k == 0:
        return np.zeros(positions.shape, dtype=np.int64)
    if positions.size * 4 < codes.size:  # few positions: gather
        out = np.zeros(positions.shape, dtype=np.int64)
        for i in range(1, k + 1):
            out += codes[positions - i] * (A ** (i - 1))
        return out
    # many positions: rolling code over contiguous slices, then one gather
    n = codes.size
    roll = codes[k - 1:n].astype(np.int64)  # roll[t − k] codes the context of position t ∈ [k, n]
    tmp = np.empty_like(roll)
    for i in range(2, k + 1):
        np.multiply(codes[k - i:n + 1 - i], A ** (i - 1), out=tmp)
        roll += tmp
    return roll[positions - k]


def check_order(k: int, A: int) -> None:
    """Refuse orders whose context codes would overflow 64-bit integers."""
    if A ** (k + 1) >= _MAX_CODE:
        raise DataError(
            f"order {k} is too high for an alphabet of {A} symbols (A^(k+1) exceeds 2^62);"
            " lower the order or use a smaller alphabet"
        )


def scored_positions(offsets: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions (into the concatenated codes) of the scored tokens, and their documents."""
    lengths = np.diff(offsets)
    n_scored = np.maximum(lengths - k, 0)
    doc = np.repeat(np.arange(lengths.size), n_scored)
    starts = np.repeat(offsets[:-1] + k - np.concatenate([[0], np.cumsum(n_scored)[:-1]]), n_scored)
    return np.arange(doc.size, dtype=np.int64) + starts, doc


def expand_ranges(starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``arange(starts[g], stops[g])`` over g; return ``(positions, g)``.

    Examples
    --------
    >>> pos, g = expand_ranges(np.array([0, 5]), np.array([2, 8]))
    >>> pos.tolist(), g.tolist()
    ([0, 1, 5, 6, 7], [0, 0, 1, 1, 1])
    """
    lengths = np.asarray(stops) - np.asarray(starts)
    g = np.repeat(np.arange(lengths.size), lengths)
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.arange(g.size, dtype=np.int64) - first[g] + np.asarray(starts)[g], g


def _group_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Start index of each run of equal values in a sorted array."""
    if sorted_keys.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))


def _pointers(group_starts: np.ndarray, total: int) -> np.ndarray:
    return np.concatenate([group_starts, [total]]).astype(np.int64)


@dataclass(frozen=True, eq=False)
class CountTable:
    """Transition counts by context, symbol and document (see the module docstring)."""

    order: int
    n_symbols: int
    n_documents: int
    ctx_codes: np.ndarray
    trip_ptr: np.ndarray
    trip_sym: np.ndarray
    trip_doc: np.ndarray
    trip_cnt: np.ndarray
    pair_ptr: np.ndarray
    pair_sym: np.ndarray
    pair_cnt: np.ndarray
    doc_tokens: np.ndarray

    @classmethod
    def from_codes(cls, codes: np.ndarray, offsets: np.ndarray, k: int, A: int) -> "CountTable":
        """Count (context, symbol, document) triples of an encoded corpus."""
        check_order(k, A)
        D = offsets.size - 1
        pos, doc = scored_positions(offsets, k)
        ctx = context_codes(codes, pos, k, A)
        sym = codes[pos]
        if A ** (k + 1) * D < _MAX_CODE:
            key = (ctx * A + sym) * D + doc
            del ctx
            ukey, cnt = np.unique(key, return_counts=True)
            del key
            pair_key = ukey // D
            ctx_of_trip = pair_key // A
        else:  # very large alphabets: compress the contexts first
            uctx, inv = np.unique(ctx, return_inverse=True)
            ukey, cnt = np.unique((inv * A + sym) * D + doc, return_counts=True)
            pair_key = ukey // D
            ctx_of_trip = uctx[pair_key // A]
        trip_doc = ukey % D
        trip_sym = pair_key % A
        c_starts = _group_starts(ctx_of_trip)
        p_starts = _group_starts(pair_key)
        pair_cnt = np.add.reduceat(cnt, p_starts) if cnt.size else cnt
        pair_ctx = ctx_of_trip[p_starts]
        ctx_codes = ctx_of_trip[c_starts]
        pair_ptr = _pointers(np.searchsorted(pair_ctx, ctx_codes), p_starts.size)
        return cls(
            order=k, n_symbols=A, n_documents=D, ctx_codes=ctx_codes,
            trip_ptr=_pointers(c_starts, ukey.size), trip_sym=trip_sym.astype(np.int64),
            trip_doc=trip_doc.astype(np.int64), trip_cnt=cnt.astype(np.int64),
            pair_ptr=pair_ptr, pair_sym=(pair_key[p_starts] % A).astype(np.int64),
            pair_cnt=pair_cnt.astype(np.int64),
            doc_tokens=np.bincount(doc, minlength=D).astype(np.int64),
        )

    @property
    def n_contexts(self) -> int:
        return int(self.ctx_codes.size)

    @property
    def nobs(self) -> int:
        return int(self.doc_tokens.sum())

    def lookup(self, codes: np.ndarray) -> np.ndarray:
        """Index of each context code in the table, −1 for contexts never seen in training."""
        codes = np.asarray(codes, dtype=np.int64)
        idx = np.searchsorted(self.ctx_codes, codes)
        idx = np.minimum(idx, max(self.ctx_codes.size - 1, 0))
        found = self.ctx_codes.size > 0
        hit = (self.ctx_codes[idx] == codes) if found else np.zeros(codes.shape, bool)
        return np.where(hit, idx, -1)

    def dense_counts(self, idx: np.ndarray) -> np.ndarray:
        """n_{c,a} as a dense (len(idx), A) array; rows of unseen contexts (−1) are zero."""
        idx = np.asarray(idx, dtype=np.int64)
        out = np.zeros((idx.size, self.n_symbols))
        seen = idx >= 0
        pos, g = expand_ranges(self.pair_ptr[idx[seen]], self.pair_ptr[idx[seen] + 1])
        rows = np.flatnonzero(seen)[g]
        out[rows, self.pair_sym[pos]] = self.pair_cnt[pos]
        return out

    def doc_matrix(self, idx: np.ndarray) -> sp.csr_matrix:
        """Per-document counts at the given contexts: sparse (D, len(idx)·A), n_{d,c_g,a} at (d, g·A + a)."""
        idx = np.asarray(idx, dtype=np.int64)
        seen = np.flatnonzero(idx >= 0)
        pos, g = expand_ranges(self.trip_ptr[idx[seen]], self.trip_ptr[idx[seen] + 1])
        cols = seen[g] * self.n_symbols + self.trip_sym[pos]
        return sp.csr_matrix(
            (self.trip_cnt[pos].astype(float), (self.trip_doc[pos], cols)),
            shape=(self.n_documents, idx.size * self.n_symbols),
        )

