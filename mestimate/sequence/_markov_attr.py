"""Queries, exact influence and exact leave-one-document-out for the Markov chain.

A query is a (context, response) pair; φ = log P(r | c) = Σ_j log p_{c_j, r_j}, where c_j
is the k symbols before response token j. Only the query's contexts ("groups") matter, so
every computation here is restricted to them: G groups, Q response tokens, D documents.

Exact influence (MATH.md, mean-normalised Hessian H_n = H_total / N). For response token j
in context c with probabilities p, m = n_c + Aα and s_j = H_n⁻¹ (e_{r_j} − p) (the
Hessian block of context c, damped by ``damping``·I if asked),

    score_j(d) = −s_j · G_{d,c} = Σ_a n_{d,c,a} (s_{j,a} − s_j·p),     G_{d,c} = n_{d,c} p − n_{d,c,·},

which for λ = 0 is (N/m) (n_{d,c,r_j}/p_{r_j} − n_{d,c}). All documents at once: a sparse
(D × G·A) count matrix times a sparse (G·A × Q) matrix of the bracketed weights.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..exceptions import DataError
from ._markov_counts import CountTable, context_codes, scored_positions
from ._markov_solve import fit_blocks, solve_blocks
from ._vocab import Vocabulary, tokenize

__all__ = ["Queries", "parse_queries", "GroupFit", "score_matrix", "loo_token_logp", "observation_scores"]


@dataclass(frozen=True)
class Queries:
    """Response tokens of one or more queries, with their contexts grouped."""

    labels: list[str]          # one label per query
    token_labels: list[list[str]]
    qid: np.ndarray            # (Q,) query of each response token
    sym: np.ndarray            # (Q,) response symbol
    g: np.ndarray              # (Q,) group (distinct context) of each response token
    groups: np.ndarray         # (G,) context codes, sorted
    idx: np.ndarray            # (G,) index in the count table, −1 if never seen
    single: bool               # context/response were given as one string each

    @property
    def n_queries(self) -> int:
        return len(self.labels)

    def columns(self, i: int) -> np.ndarray:
        return np.flatnonzero(self.qid == i)


def _as_list(x, what: str) -> tuple[list, bool]:
    """A string or tuple of tokens is one query; a list holds several."""
    if isinstance(x, (str, tuple)):
        return [x], True
    if isinstance(x, list) and x and all(isinstance(e, (str, tuple, list)) for e in x):
        return x, False
    raise DataError(f"{what} must be a string (or a tuple of tokens), or a non-empty list of them"
                    f" for several queries; got {x!r}")


def parse_queries(context, response, vocab: Vocabulary, level: str, k: int, table: CountTable) -> Queries:
    """Encode and validate (context, response) pairs; raise DataError on bad input."""
    ctxs, single_c = _as_list(context, "context")
    resps, single_r = _as_list(response, "response")
    if single_c != single_r or len(ctxs) != len(resps):
        raise DataError("context and response must both be strings, or lists of the same length"
                        f" (got {len(ctxs)} contexts and {len(resps)} responses)")
    A = len(vocab)
    qid, syms, codes, labels, tok_labels = [], [], [], [], []
    for i, (c, r) in enumerate(zip(ctxs, resps)):
        c_tok, r_tok = tokenize(c, level), tokenize(r, level)
        if not r_tok:
            raise DataError(f"query {i}: the response is empty; give at least one symbol")
        if len(c_tok) < k:
            raise DataError(f"query {i}: the context has {len(c_tok)} symbols but the model has order {k};"
                            f" give at least {k} symbols of context")
        full = np.concatenate([vocab.encode(c_tok, what="the context"), vocab.encode(r_tok, what="the response")])
        pos = np.arange(len(c_tok), full.size)
        codes.append(context_codes(full, pos, k, A))
        syms.append(full[pos])
        qid.append(np.full(pos.size, i))
        joiner = "" if all(isinstance(t, str) for t in c_tok + r_tok) else " "
        labels.append(f"{joiner.join(map(str, c_tok))!r} -> {joiner.join(map(str, r_tok))!r}")
        tok_labels.append([f"{j}:{t!r}" for j, t in enumerate(r_tok)])
    codes = np.concatenate(codes)
    groups, g = np.unique(codes, return_inverse=True)
    return Queries(labels=labels, token_labels=tok_labels, qid=np.concatenate(qid),
                   sym=np.concatenate(syms), g=g, groups=groups, idx=table.lookup(groups),
                   single=single_c)


@dataclass(frozen=True)
class GroupFit:
    """The fitted model restricted to the query's contexts."""

    counts: np.ndarray   # (G, A) n_{c,a}
    p: np.ndarray        # (G, A)
    theta: np.ndarray    # (G, A)
    m: np.ndarray        # (G,) n_c + Aα

    @classmethod
    def at(cls, table: CountTable, idx: np.ndarray, alpha: float, lam: float) -> "GroupFit":
        counts = table.dense_counts(idx)
        p, theta = fit_blocks(counts, alpha, lam)
        return cls(counts, p, theta, (counts + alpha).sum(1))

    def token_logp(self, q: Queries) -> np.ndarray:
        return np.log(self.p[q.g, q.sym])


def _weights(q: Queries, fit: GroupFit, lam: float, N: int) -> sp.csc_matrix:
    """Sparse (G·A × Q): column j holds s_j − (s_j·p) in block g_j (module docstring)."""
    G, A = fit.p.shape
    p = fit.p[q.g]
    v = -p
    v[np.arange(q.g.size), q.sym] += 1.0
    s = N * solve_blocks(p, fit.m[q.g], lam, v)
    w = s - np.einsum("qa,qa->q", s, p)[:, None]
    rows = (q.g[:, None] * A + np.arange(A)).ravel()
    cols = np.repeat(np.arange(q.g.size), A)
    return sp.csc_matrix((w.ravel(), (rows, cols)), shape=(G * A, q.g.size))


def score_matrix(table: CountTable, q: Queries, fit: GroupFit, lam: float, N: int) -> np.ndarray:
    """score_j(d) for every document d and response token j: array (D, Q)."""
    T = table.doc_matrix(q.idx)
    return np.asarray((T @ _weights(q, fit, lam, N)).todense())


def observation_scores(
    table: CountTable, codes: np.ndarray, offsets: np.ndarray, q: Queries, fit: GroupFit, lam: float, N: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores of the training tokens whose context the query visits.

    Returns ``(scores (n, Q), document index (n,), position in the document (n,))``; every
    other training token has score exactly zero.
    """
    k, A = table.order, table.n_symbols
    pos, doc = scored_positions(offsets, k)
    ctx = context_codes(codes, pos, k, A)
    g = np.searchsorted(q.groups, ctx)
    g = np.minimum(g, q.groups.size - 1)
    hit = q.groups[g] == ctx
    rows = g[hit] * A + codes[pos[hit]]
    W = _weights(q, fit, lam, N).tocsr()
    return W[rows].toarray(), doc[hit], pos[hit] - offsets[doc[hit]]


def loo_token_logp(
    table: CountTable, q: Queries, fit: GroupFit, alpha: float, lam: float, docs: np.ndarray
) -> np.ndarray:
    """log P(r_j | c_j) refitted without each of ``docs`` (exact): array (len(docs), Q)."""
    G, A = fit.p.shape
    T = table.doc_matrix(q.idx)[docs]
    col = q.g * A + q.sym
    if lam == 0:
        blocks = sp.csc_matrix((np.ones(G * A), (np.arange(G * A), np.repeat(np.arange(G), A))),
                               shape=(G * A, G))
        n_dc = np.asarray((T @ blocks).todense())[:, q.g]
        n_dcr = T[:, col].toarray()
        num = (fit.counts[q.g, q.sym] + alpha) - n_dcr
        return np.log(num / (fit.m[q.g] - n_dc))
    out = np.empty((docs.size, q.g.size))
    chunk = max(1, int(2_000_000 // max(G * A, 1)))
    for start in range(0, docs.size, chunk):
        rows = T[start:start + chunk].toarray().reshape(-1, G, A)
        counts = (fit.counts[None] - rows).reshape(-1, A)
        warm = np.broadcast_to(fit.theta[None], rows.shape).reshape(-1, A)
        p, _ = fit_blocks(counts, alpha, lam, theta0=warm)
        out[start:start + chunk] = np.log(p.reshape(-1, G, A)[:, q.g, q.sym])
    return out
