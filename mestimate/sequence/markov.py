"""Markov chains of order k with exact influence and source attribution.

Model
-----
P(x_t = a | context c) = p_{c,a} = softmax(θ_c)_a, with c the k symbols before x_t and
one logit vector θ_c per context seen in training. The first k symbols of each document
are conditioning only: they are never scored, so a document of length L contributes
max(L − k, 0) training tokens and N = Σ_d max(L_d − k, 0) (``nobs``). A context never
seen in training has no data and its fitted distribution is uniform.

Objective (documents enter only through their token terms; the prior and penalty do not
depend on which documents are present)::

    Σ_t −log p_{c_t, x_t}  −  α Σ_{c,a} log p_{c,a}  +  (λ/2) Σ_{c,a} θ_{c,a}²

(a) ``smoothing=α`` (default 1, λ = 0): a Dirichlet prior with pseudo-count α, fitted by
counting, p_{c,a} = (n_{c,a} + α)/(n_c + Aα). The logits are identified only up to a shift
within each context; we work on the sum-to-zero subspace, where every G_d and ∇φ lives,
and ``params`` are centred logits. (b) ``penalty=λ > 0``: a ridge penalty on the logits
of the total objective (equivalently λ/N on the mean loss), fitted by Newton's method per
context (closed-form Sherman–Morrison solves, vectorised over contexts). The objective is
separable by context, so contexts are fitted when they are needed, exactly.

Attribution scaling
-------------------
``score(d) = −∇φ(θ̂)·H_n⁻¹ G_d(θ̂)`` (MATH.md) with H_n the Hessian of the *mean* objective
(total / N) and G_d the *sum* of the gradients of d's token losses. Hence

* score(d)/N is the first-order change in φ = log P(r | c) when d is removed:
  ``predicted Δφ = −score(d)/N`` (positive score: d made the response more probable);
* score(d) = dφ/dε for the objective L̄_n + ε Σ_{t∈d} L_t, i.e. N·dφ/dw for a weight
  1 + w on document d's counts.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from ..exceptions import DataError, IdentificationError, MEstimateError, check_option
from ._markov_attr import GroupFit, Queries, loo_token_logp, observation_scores, parse_queries, score_matrix
from ._markov_counts import CountTable, context_codes, encode_corpus
from ._markov_solve import fit_blocks
from ._vocab import as_documents, tokenize
from .attribution import attribution_frame, rank_agreement

__all__ = ["MarkovChain", "MarkovChainResults"]

_MAX_DENSE = 50_000_000


def _nonneg(name: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a non-negative number, got {value!r}") from None
    if not np.isfinite(value) or value < 0:
        raise DataError(f"{name} must be a non-negative finite number, got {value!r}")
    return value


class MarkovChain:
    """A Markov chain of order k on characters or words (see the module docstring).

    Parameters
    ----------
    sequences : list, dict or Series
        Training documents (strings or token lists); dict keys / Series index name them.
    order : int
        Number of previous symbols in a context (0 gives a unigram model).
    alphabet : sequence, optional
        The symbols; by default those occurring in ``sequences`` (sorted).
    level : {"char", "word"}
        Tokenisation of strings.
    smoothing : float, optional
        Dirichlet pseudo-count α ≥ 0; default 1 without a penalty, 0 with one.
    penalty : float
        Ridge penalty λ ≥ 0 on the logits of the total objective.

    Notes
    -----
    p̂_{c,a} = (n_{c,a} + α)/(n_c + Aα) for λ = 0; with λ > 0 the per-context minimiser of
    m·logsumexp(θ_c) − (n_c + α)·θ_c + (λ/2)‖θ_c‖², m = n_c + Aα.

    Examples
    --------
    >>> res = MarkovChain(["abab", "abba"], order=1).fit()
    >>> res
    MarkovChainResults(order=1, level='char', symbols=2, contexts=2, tokens=6, documents=2, smoothing=1.0, penalty=0.0)
    >>> round(float(np.exp(res.log_prob("a", "b"))), 4)   # (3 + 1)/(3 + 2)
    0.8
    """

    def __init__(self, sequences, order: int = 1, *, alphabet=None, level: str = "char",
                 smoothing: float | None = None, penalty: float = 0.0):
        if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 0:
            raise DataError(f"order must be a non-negative integer, got {order!r}")
        self.order = int(order)
        self.level = check_option("level", level, ["char", "word"])
        self.penalty = _nonneg("penalty", penalty)
        default = 1.0 if self.penalty == 0 else 0.0
        self.smoothing = default if smoothing is None else _nonneg("smoothing", smoothing)
        if self.smoothing == 0 and self.penalty == 0:
            raise IdentificationError(
                "without smoothing or a penalty, transitions never seen in training get probability"
                " zero and the logits are infinite; pass smoothing > 0 or penalty > 0"
            )
        self.documents, seqs = as_documents(sequences)
        self.vocabulary, self._codes, self._offsets = encode_corpus(seqs, self.level, alphabet)

    def fit(self) -> "MarkovChainResults":
        """Count transitions and return the fitted :class:`MarkovChainResults`."""
        table = CountTable.from_codes(self._codes, self._offsets, self.order, len(self.vocabulary))
        if table.nobs == 0:
            raise DataError(f"no document is longer than the order ({self.order}): nothing to fit")
        return MarkovChainResults(self, table)


class MarkovChainResults:
    """A fitted :class:`MarkovChain`: probabilities, sampling, exact influence and LOO.

    Attributes
    ----------
    nobs : int
        Training tokens N (scored symbols).
    documents : list of str
        Document names; ``n_documents`` their number; ``doc_tokens`` tokens per document.
    """

    def __init__(self, model: MarkovChain, table: CountTable):
        self.model = model
        self._table = table
        self.order, self.level = model.order, model.level
        self.smoothing, self.penalty = model.smoothing, model.penalty
        self.vocabulary = model.vocabulary
        self.documents = list(model.documents)
        self.n_documents = len(self.documents)
        self.nobs = table.nobs
        self.n_contexts = table.n_contexts
        self.doc_tokens = pd.Series(table.doc_tokens, index=self.documents, name="tokens")

    def __repr__(self) -> str:
        return (f"MarkovChainResults(order={self.order}, level={self.level!r}, symbols={len(self.vocabulary)},"
                f" contexts={self.n_contexts}, tokens={self.nobs}, documents={self.n_documents},"
                f" smoothing={self.smoothing}, penalty={self.penalty})")

    @property
    def alphabet(self) -> list:
        return list(self.vocabulary.symbols)

    # ------------------------------------------------------------------ parameters
    def _fit_at(self, idx: np.ndarray) -> GroupFit:
        return GroupFit.at(self._table, idx, self.smoothing, self.penalty)

    @cached_property
    def params(self) -> np.ndarray:
        """Logits θ̂ as an (n_contexts, A) array, rows in the order of :attr:`contexts`.

        Centred within each context when ``penalty == 0`` (the shift is not identified).
        """
        C, A = self.n_contexts, len(self.vocabulary)
        if C * A > _MAX_DENSE:
            raise MEstimateError(f"{C} contexts × {A} symbols is too large for a dense array;"
                                 " use transition_probs(context) or log_prob instead")
        chunk = max(1, 2_000_000 // A)
        out = np.empty((C, A))
        for s in range(0, C, chunk):
            out[s:s + chunk] = self._fit_at(np.arange(s, min(s + chunk, C))).theta
        return out

    @cached_property
    def contexts(self) -> list:
        """The training contexts (strings at char level, tuples of tokens otherwise)."""
        k, A = self.order, len(self.vocabulary)
        digits = (self._table.ctx_codes[:, None] // A ** np.arange(k - 1, -1, -1)) % A
        sym = np.asarray(self.vocabulary.symbols, dtype=object)[digits]
        if self.level == "char" and all(isinstance(s, str) for s in self.vocabulary.symbols):
            return ["".join(r) for r in sym]
        return [tuple(r) for r in sym]

    def transition_probs(self, context) -> pd.Series:
        """P(next symbol | the last ``order`` symbols of ``context``) over the alphabet.

        Examples
        --------
        >>> res = MarkovChain(["abab"], order=1).fit()
        >>> res.transition_probs("a").round(3).tolist()
        [0.25, 0.75]
        """
        toks = tokenize(context, self.level)
        if len(toks) < self.order:
            raise DataError(f"the context has {len(toks)} symbols; the model needs {self.order}")
        codes = self.vocabulary.encode(toks, what="the context")
        code = context_codes(codes, np.array([codes.size]), self.order, len(self.vocabulary))
        p = self._fit_at(self._table.lookup(code)).p[0]
        return pd.Series(p, index=self.vocabulary.symbols, name="probability")

    # ------------------------------------------------------------------ queries
    def _queries(self, context, response) -> Queries:
        return parse_queries(context, response, self.vocabulary, self.level, self.order, self._table)

    def log_prob(self, context, response, *, per_token: bool = False):
        """log P(response | context) = Σ_j log P(r_j | c, r_<j).

        ``context``/``response`` are strings (or token tuples), or equal-length lists of them.
        Returns a float (a list of floats for lists); with ``per_token=True`` a Series of the
        per-token terms indexed by token labels (a list of Series for lists).

        Examples
        --------
        >>> res = MarkovChain(["abab"], order=1).fit()
        >>> bool(np.isclose(res.log_prob("a", "ba"), np.log(0.75 * 2 / 3)))  # (2+1)/(2+2), (1+1)/(1+2)
        True
        """
        q = self._queries(context, response)
        lp = self._fit_at(q.idx).token_logp(q)
        if per_token:
            out = [pd.Series(lp[q.columns(i)], index=q.token_labels[i], name="log_prob")
                   for i in range(q.n_queries)]
        else:
            out = [float(v) for v in np.bincount(q.qid, lp, minlength=q.n_queries)]
        return out[0] if q.single else out

    def sample(self, context, n: int, *, seed=None):
        """Continue ``context`` with ``n`` sampled symbols (a string if symbols are strings).

        Examples
        --------
        >>> res = MarkovChain(["abab"], order=1).fit()
        >>> len(res.sample("a", 5, seed=1))
        5
        """
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise DataError(f"n must be a non-negative integer, got {n!r}")
        rng = np.random.default_rng(seed)
        toks = tokenize(context, self.level)
        if len(toks) < self.order:
            raise DataError(f"the context has {len(toks)} symbols; the model needs {self.order}")
        codes = list(self.vocabulary.encode(toks, what="the context"))
        A = len(self.vocabulary)
        for _ in range(n):  # inherently sequential
            code = context_codes(np.asarray(codes), np.array([len(codes)]), self.order, A)
            p = self._fit_at(self._table.lookup(code)).p[0]
            codes.append(int(rng.choice(A, p=p)))
        out = self.vocabulary.decode(codes[len(toks):])
        return "".join(out) if all(isinstance(s, str) for s in out) else out

    # ------------------------------------------------------------------ influence
    def _doc_index(self, documents) -> np.ndarray:
        if documents is None:
            return np.arange(self.n_documents)
        if isinstance(documents, str):
            documents = [documents]
        pos = {d: i for i, d in enumerate(self.documents)}
        missing = [d for d in documents if d not in pos]
        if missing:
            raise DataError(f"unknown documents: {missing[:5]}; see results.documents")
        return np.array([pos[d] for d in documents], dtype=np.int64)

    def _token_scores(self, q: Queries, fit: GroupFit, method: str, damping) -> np.ndarray:
        """(D, Q) per-response-token scores by the chosen method."""
        if method == "exact":
            lam = self.penalty + self.nobs * damping
            return score_matrix(self._table, q, fit, lam, self.nobs)
        loo = loo_token_logp(self._table, q, fit, self.smoothing, self.penalty, np.arange(self.n_documents))
        return -self.nobs * (loo - fit.token_logp(q)[None, :])

    def attribute(self, context, response, *, by: str = "document", method: str = "exact",
                  damping: float | None = None, top: int | None = 20, per_token: bool = False) -> pd.DataFrame:
        """Rank training documents (or tokens) by their influence on log P(response | context).

        Parameters
        ----------
        context, response : str or tuple of tokens, or equal-length lists of them
            Several queries share one pass; the output then has a ``query`` column.
        by : {"document", "observation"}
            Whole documents, or single training tokens (labelled ``"doc:position"``; only
            tokens whose context the query visits are listed, all others score exactly 0).
        method : {"exact", "loo"}
            "exact": ``score = −∇φ·H_n⁻¹G_d`` in closed form (block-diagonal Hessian).
            "loo": −N × the actual change of φ when d is removed and the model refitted
            (same scale as "exact"; documents only).
        damping : float, optional
            Adds damping·I to H_n ("exact" only); None or 0 for the exact Hessian.
        top : int or None
            The ``top`` most positive and most negative rows; None for all.
        per_token : bool
            Add one column per response token (they sum to ``score``).

        Returns
        -------
        DataFrame
            ``document``, ``score``, ``rank``, ``tokens`` (+ per-token columns), see
            :func:`~mestimate.sequence.attribution.attribution_frame`.

        Notes
        -----
        For response token j in context c (probabilities p, m = n_c + Aα, no penalty),
        score_j(d) = (N/m)(n_{d,c,r_j}/p_{c,r_j} − n_{d,c}). Removing d changes φ by
        −score(d)/N to first order.

        Examples
        --------
        >>> res = MarkovChain({"x": "abab", "y": "aaaa"}, order=1).fit()
        >>> att = res.attribute("a", "b")
        >>> att[["document", "rank"]].values.tolist()
        [['x', 1], ['y', 2]]
        """
        by = check_option("by", by, ["document", "observation"])
        method = check_option("method", method, ["exact", "loo"])
        damping = 0.0 if damping is None else _nonneg("damping", damping)
        if method == "loo" and (by == "observation" or damping):
            raise MEstimateError('method="loo" is for by="document" without damping')
        q = self._queries(context, response)
        fit = self._fit_at(q.idx)
        frames = []
        if by == "document":
            S = self._token_scores(q, fit, method, damping)
            for i in range(q.n_queries):
                cols = q.columns(i)
                frames.append(attribution_frame(
                    S[:, cols] if per_token else S[:, cols].sum(1), self.documents, top=top,
                    token_labels=q.token_labels[i] if per_token else None,
                    n_tokens=self._table.doc_tokens, query=None if q.single else q.labels[i]))
        else:
            lam = self.penalty + self.nobs * damping
            S, doc, pos = observation_scores(self._table, self.model._codes, self.model._offsets,
                                             q, fit, lam, self.nobs)
            names = [f"{self.documents[d]}:{p}" for d, p in zip(doc, pos)]
            for i in range(q.n_queries):
                cols = q.columns(i)
                frames.append(attribution_frame(
                    S[:, cols] if per_token else S[:, cols].sum(1), names, top=top,
                    token_labels=q.token_labels[i] if per_token else None,
                    query=None if q.single else q.labels[i]))
        return frames[0] if q.single else pd.concat(frames, ignore_index=True)

    def loo_log_prob(self, context, response, documents=None):
        """Exact leave-one-document-out log P(response | context).

        Each document's counts are subtracted and the affected contexts refitted (closed form
        for smoothing; warm-started Newton for a penalty). Returns a Series indexed by document
        (a DataFrame with one column per query for lists).

        Examples
        --------
        >>> res = MarkovChain({"x": "abab", "y": "aaaa"}, order=1).fit()
        >>> ref = MarkovChain({"y": "aaaa"}, order=1, alphabet="ab").fit().log_prob("a", "b")
        >>> bool(np.isclose(res.loo_log_prob("a", "b")["x"], ref))
        True
        """
        docs = self._doc_index(documents)
        q = self._queries(context, response)
        fit = self._fit_at(q.idx)
        lp = loo_token_logp(self._table, q, fit, self.smoothing, self.penalty, docs)
        names = [self.documents[d] for d in docs]
        per_query = np.stack([lp[:, q.columns(i)].sum(1) for i in range(q.n_queries)], axis=1)
        if q.single:
            return pd.Series(per_query[:, 0], index=names, name="loo_log_prob")
        return pd.DataFrame(per_query, index=names, columns=q.labels)

    def attribution_check(self, context: str, response: str, k: int | None = 10, *,
                          method: str = "exact", damping: float | None = None) -> pd.DataFrame:
        """Predicted vs actual change of log P(r | c) when each top-k document is removed.

        The top ``k`` documents by |score| (all for ``k=None``) are removed one at a time and
        the model refitted exactly. Columns: ``document``, ``score``, ``predicted``
        (= −score/N), ``actual`` (refit minus full-data log probability), ``tokens``;
        ``frame.attrs["agreement"]`` holds :func:`rank_agreement` (spearman, pearson, sign).

        Examples
        --------
        >>> res = MarkovChain({"x": "abab", "y": "aaaa", "z": "bbab"}, order=1).fit()
        >>> chk = res.attribution_check("a", "b", k=3)
        >>> list(chk.columns)
        ['document', 'score', 'predicted', 'actual', 'tokens']
        """
        if not isinstance(context, (str, tuple)) or not isinstance(response, (str, tuple)):
            raise DataError("attribution_check takes one query (a context and a response string)")
        method = check_option("method", method, ["exact"])
        att = self.attribute(context, response, method=method, damping=damping, top=None)
        if k is not None and (not isinstance(k, (int, np.integer)) or k < 1):
            raise DataError(f"k must be a positive integer or None, got {k!r}")
        att = att.reindex(att["score"].abs().sort_values(ascending=False, kind="stable").index)[:k]
        actual = self.loo_log_prob(context, response, list(att["document"]))
        frame = pd.DataFrame({
            "document": att["document"].to_numpy(), "score": att["score"].to_numpy(),
            "predicted": -att["score"].to_numpy() / self.nobs,
            "actual": actual.to_numpy() - self.log_prob(context, response),
            "tokens": att["tokens"].to_numpy(),
        })
        frame.attrs["agreement"] = rank_agreement(frame["predicted"].to_numpy(), frame["actual"].to_numpy())
        return frame
