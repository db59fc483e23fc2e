"""SoftmaxAR: a log-linear next-token model on hashed n-gram features, with attribution.

``P(x_t | context) = softmax(x_ctxᵀ W)`` with x_ctx the bias plus hashed 1..order-gram
features of the last ``order`` symbols (:mod:`~mestimate.sequence._features`) and
W ∈ R^{(F+1)×V} shared by all contexts. The fit minimises the mean loss with a ridge
penalty whose weight is fixed at the full corpus,

    L̄(W) = (1/N) Σ_t −log P(x_t | context_t; W) + (λ/2)‖W‖²,

matrix-free: a short L-BFGS warm start, then Newton-CG with exact Hessian-vector
products (:mod:`~mestimate.sequence._softmax_objective`). Removing a document removes
exactly its token terms and keeps N and λ, i.e. ε = −1/N on each of its tokens.

Attribution (MATH.md): ``score(d) = −∇φ(θ̂)·H⁻¹ G_d(θ̂)`` with φ = log P(r | c) and H the
mean Hessian above (penalty included), so the first-order prediction of the change in
φ when document d is removed is ``−score(d)/N``; ``attribution_check`` reports exactly
this ``predicted`` column next to the refitted ``actual`` change.
"""
from __future__ import annotations

import time
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..exceptions import ConvergenceWarning, DataError, check_option
from ._features import context_matrix, hashed_design, index_contexts
from ._softmax_attrib import (EXACT_MAX, Curvature, pair_contributions, phi_gradients,
                              query_log_probs)
from ._softmax_objective import SoftmaxObjective
from ._softmax_solve import FitInfo, fit_softmax, newton_cg
from ._vocab import Vocabulary, as_documents, tokenize
from .attribution import attribution_frame, rank_agreement

__all__ = ["SoftmaxAR", "SoftmaxARResults"]

METHODS = ("exact", "cg", "kfac", "ekfac", "ekfac_block", "grad_dot")


def _progress(iterable, total: int, desc: str):
    if total < 5:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - optional
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False)


class SoftmaxAR:
    """Log-linear autoregressive model on hashed n-gram context features.

    Parameters
    ----------
    sequences : list, dict or Series of str (or token lists)
        One entry per document; dict keys / Series index are the document names.
    order : int
        Longest n-gram of the context features (n = 1..order), ≥ 0.
    n_features : int
        Hash buckets F (parameters k = (F+1)·V). The default 2¹¹ keeps the K-FAC
        eigendecomposition of the (F+1)×(F+1) factor A at a few seconds; 2¹⁴ is fine
        for fitting and ``method="cg"`` but makes ``kfac``/``ekfac`` slow.
    level : {"char", "word"}
        Tokenisation of strings.
    l2 : float
        Ridge penalty λ > 0 on all weights (bias included), which makes the optimum
        unique (the logits have a shift direction) and enters K-FAC as damping.
    alphabet : iterable, optional
        Symbols of the model; default: those occurring in ``sequences``.

    Notes
    -----
    Each document is predicted from its first token on; n-grams reaching before a
    document's start are dropped (:mod:`~mestimate.sequence._features`).

    Examples
    --------
    >>> res = SoftmaxAR(["abcabcabd", "abcab"], order=2, n_features=16).fit()
    >>> res.converged, res.nobs, res.params.size
    (True, 14, 68)
    >>> bool(res.log_prob("ab", "c") > np.log(0.5))
    True
    """

    def __init__(self, sequences, order: int = 3, n_features: int = 2**11, level: str = "char",
                 l2: float = 1e-3, alphabet=None):
        if not isinstance(order, (int, np.integer)) or order < 0:
            raise DataError(f"order must be a non-negative integer, got {order!r}")
        if not isinstance(n_features, (int, np.integer)) or n_features < 1:
            raise DataError(f"n_features must be a positive integer, got {n_features!r}")
        if not np.isfinite(l2) or l2 <= 0:
            raise DataError(f"l2 must be positive (it makes the optimum unique), got {l2!r}")
        self.level = check_option("level", level, ["char", "word"])
        self.order, self.n_features, self.l2 = int(order), int(n_features), float(l2)
        self.documents, seqs = as_documents(sequences)
        toks = [tokenize(s, self.level) for s in seqs]
        self.vocab = Vocabulary(alphabet) if alphabet is not None else Vocabulary.from_sequences(toks)
        enc = [self.vocab.encode(t, what=f"document {n!r}") for n, t in zip(self.documents, toks)]
        self.doc_tokens = np.array([e.size for e in enc])
        if self.doc_tokens.sum() == 0:
            raise DataError("the documents contain no tokens")
        self.codes = np.concatenate(enc)
        self.doc = np.repeat(np.arange(len(enc)), self.doc_tokens)
        starts = np.cumsum(self.doc_tokens) - self.doc_tokens
        self.pos = np.arange(self.codes.size) - starts[self.doc]
        self.index = index_contexts(self.codes, self.pos, self.order, self.n_features,
                                    len(self.vocab))
        ci = self.index
        self.doc_pairs = sp.csr_matrix((np.ones(self.codes.size), (self.doc, ci.token_pair)),
                                       shape=(len(enc), ci.pair_u.size))

    def __repr__(self) -> str:
        return (f"SoftmaxAR(order={self.order}, n_features={self.n_features}, level={self.level!r}, "
                f"l2={self.l2:g}, V={len(self.vocab)}, documents={len(self.documents)}, "
                f"tokens={self.codes.size})")

    def objective(self) -> SoftmaxObjective:
        """The penalised mean loss on the full corpus."""
        n, w = self.index.weights()
        return SoftmaxObjective(self.index.X, n, self.index.pair_u, self.index.pair_y, w,
                                len(self.vocab), self.codes.size, self.l2)

    def start_params(self) -> np.ndarray:
        """Bias row = centred log unigram frequencies, other weights 0."""
        W = np.zeros((self.n_features + 1, len(self.vocab)))
        freq = np.bincount(self.codes, minlength=len(self.vocab)) + 0.5
        W[0] = np.log(freq) - np.log(freq).mean()
        return W.ravel()

    def fit(self, *, gtol: float = 1e-10, lbfgs_iter: int = 30, maxiter: int = 100
            ) -> "SoftmaxARResults":
        """Fit by L-BFGS (``lbfgs_iter`` iterations) then Newton-CG until ‖∇L̄‖∞ ≤ ``gtol``."""
        obj = self.objective()
        t0 = time.perf_counter()
        w, info = fit_softmax(obj, self.start_params(), lbfgs_iter=lbfgs_iter, gtol=gtol,
                              maxiter=maxiter)
        if not info.converged:
            warnings.warn(f"SoftmaxAR fit stopped with max |gradient| {info.grad_norm:.2e} > "
                          f"gtol={gtol:g}; increase maxiter", ConvergenceWarning, stacklevel=2)
        return SoftmaxARResults(self, obj, w, info, time.perf_counter() - t0)

    def query_design(self, context, response) -> tuple[sp.csr_matrix, np.ndarray, list]:
        """Design rows, codes and tokens of the response tokens of a query."""
        c_tok = tokenize(context, self.level)
        r_tok = tokenize(response, self.level)
        if len(r_tok) == 0:
            raise DataError("the response is empty: give at least one token to attribute")
        codes = np.concatenate([self.vocab.encode(c_tok, what="context"),
                                self.vocab.encode(r_tok, what="response")])
        ctx = context_matrix(codes, np.arange(codes.size), self.order)[len(c_tok):]
        return hashed_design(ctx, self.n_features), codes[len(c_tok):], r_tok


class SoftmaxARResults:
    """A fitted :class:`SoftmaxAR` (not mutated after construction; factorisations are cached).

    Attributes
    ----------
    params : ndarray (k,)    W flattened row-major (feature-major); ``weights`` is (F+1) × V
    nobs : int               training tokens N
    converged, iterations, grad_norm, fit_seconds : fit record
    """

    def __init__(self, model: SoftmaxAR, obj: SoftmaxObjective, w: np.ndarray, info: FitInfo,
                 seconds: float):
        self.model, self._obj, self._info = model, obj, info
        self.params = w
        self.params.flags.writeable = False
        self.fit_seconds = seconds
        self._curv = Curvature(obj, w)

    # -- basic accessors -------------------------------------------------------------
    weights = property(lambda self: self.params.reshape(self._obj.F1, self._obj.V))
    nobs = property(lambda self: int(self.model.codes.size))
    n_documents = property(lambda self: len(self.model.documents))
    documents = property(lambda self: list(self.model.documents))
    converged = property(lambda self: self._info.converged)
    iterations = property(lambda self: self._info.iterations)
    grad_norm = property(lambda self: self._info.grad_norm)
    fit_info = property(lambda self: self._info)

    def __repr__(self) -> str:
        m = self.model
        return (f"SoftmaxARResults(order={m.order}, n_features={m.n_features}, V={len(m.vocab)}, "
                f"params={self.params.size}, documents={self.n_documents}, tokens={self.nobs}, "
                f"converged={self.converged}, iterations={self.iterations}, "
                f"grad_norm={self.grad_norm:.1e})")

    # -- prediction ------------------------------------------------------------------
    def log_prob(self, context, response, per_token: bool = False):
        """log P(response | context) (natural log); per response token if ``per_token``."""
        Xq, yq, _ = self.model.query_design(context, response)
        lp = query_log_probs(self.weights, Xq, yq)
        return lp if per_token else float(lp.sum())

    def sample(self, context, n: int, seed=None) -> str | list:
        """Draw ``n`` tokens after ``context``; a string (tokens joined) for string input."""
        rng = np.random.default_rng(seed)
        m = self.model
        toks = tokenize(context, m.level)
        codes = list(m.vocab.encode(toks, what="context"))
        for _ in range(int(n)):  # sequential by nature: each draw conditions on the last
            tail = np.asarray(codes[-m.order:] if m.order else [], dtype=np.int64)[::-1]
            ctx = np.full((1, m.order), -1, dtype=np.int64)
            ctx[0, :tail.size] = tail
            z = (hashed_design(ctx, m.n_features) @ self.weights).ravel()
            p = np.exp(z - z.max())
            codes.append(int(rng.choice(p.size, p=p / p.sum())))
        out = m.vocab.decode(codes[len(toks):])
        return "".join(map(str, out)) if isinstance(context, str) else out

    # -- attribution -----------------------------------------------------------------
    def _solve_queries(self, contexts, responses, method, damping, split=False):
        """Per-pair contributions −G(z)·s, one column per query (per response token if split)."""
        # several queries: both given as lists; a pre-tokenised single query uses tuples
        multi = isinstance(contexts, list) and isinstance(responses, list)
        cs, rs = (list(contexts), list(responses)) if multi else ([contexts], [responses])
        if len(cs) != len(rs):
            raise DataError(f"{len(cs)} contexts but {len(rs)} responses; pass one per query")
        method = check_option("method", method, METHODS)
        damping = 0.0 if damping is None else float(damping)
        if not np.isfinite(damping) or damping < 0:
            raise DataError(f"damping must be a non-negative number, got {damping!r}")
        designs = [self.model.query_design(c, r) for c, r in zip(cs, rs)]
        G = [phi_gradients(self.weights, X, y) for X, y, _ in designs]
        if not split:   # φ is a sum over response tokens: one solve per query suffices
            G = [g.sum(axis=2, keepdims=True) for g in G]
        G = np.concatenate(G, axis=2)
        S = self._curv.solve(G, method, damping)
        obj = self._obj
        contrib = -pair_contributions(S, obj.X, obj.probs(self.params), obj.pair_u, obj.pair_y)
        return multi, cs, rs, designs, contrib

    def attribute(self, context, response, by: str = "document", method: str = "cg",
                  damping: float | None = None, top: int | None = 20,
                  per_token: bool = False) -> pd.DataFrame:
        """Rank training documents (or tokens) by their influence on log P(response | context).

        Parameters
        ----------
        context, response : str or tuple of tokens, or lists of them (several queries)
            Two lists of equal length are read as several queries (sharing one solve);
            pass a single pre-tokenised query as tuples. A context shorter than ``order``
            (even empty) is read as the start of a document, as in training.
        by : {"document", "observation"}
        method : {"cg", "exact", "kfac", "ekfac", "ekfac_block", "grad_dot"}
            Inverse curvature: conjugate gradients on exact Hessian products, dense H
            (k ≤ 5,000), K-FAC, EK-FAC, EK-FAC with a block eigenvalue correction (exact
            feature-side curvature per symbol-side eigenvector; :mod:`~mestimate.sequence.kfac`),
            or none (plain gradient dot product).
        damping : float, optional
            λ_d ≥ 0 added to H (and to K-FAC's λ).
        top : int or None
            The ``top`` most positive and most negative rows; None for all.
        per_token : bool
            Add one column per response token (the columns sum to ``score``).

        Notes
        -----
        ``score(d) = −∇φ(θ̂)·(H + λ_d I)⁻¹ G_d(θ̂)``, H the mean Hessian (ridge included);
        removing d changes φ by ≈ ``−score(d)/N``.

        Examples
        --------
        >>> res = SoftmaxAR(["abcab", "abdab", "cabca"], order=2, n_features=8).fit()
        >>> att = res.attribute("ab", "c", top=None)
        >>> list(att.columns), att["document"].iloc[0]
        (['document', 'score', 'rank', 'tokens'], 'doc2')
        """
        by = check_option("by", by, ["document", "observation"])
        multi, cs, rs, designs, contrib = self._solve_queries(context, response, method, damping,
                                                              split=per_token)
        m = self.model
        if by == "document":
            per = m.doc_pairs @ contrib
            names, ntok = m.documents, m.doc_tokens
        else:
            per = contrib[m.index.token_pair]
            names = [f"{m.documents[d]}:{p}" for d, p in zip(m.doc, m.pos)]
            ntok = np.ones(len(names), dtype=np.int64)
        frames, col = [], 0
        for c, r, (_, _, rtok) in zip(cs, rs, designs):
            width = len(rtok) if per_token else 1
            block = per[:, col:col + width]
            col += width
            labels = [f"{j}:{t}" for j, t in enumerate(rtok)] if per_token else None
            frames.append(attribution_frame(block if per_token else block.sum(axis=1), names,
                                            top=top, token_labels=labels, n_tokens=ntok,
                                            query=f"{c} → {r}" if multi else None))
        return pd.concat(frames, ignore_index=True) if multi else frames[0]

    def document_scores(self, context, response, method: str = "cg",
                        damping: float | None = None) -> np.ndarray:
        """Scores of all documents, in corpus order (one query)."""
        _, _, _, _, contrib = self._solve_queries(context, response, method, damping)
        return np.asarray(self.model.doc_pairs @ contrib.sum(axis=1)).ravel()

    def refit_without(self, documents: Sequence[int], *, gtol: float = 1e-10) -> np.ndarray:
        """Parameters refitted without the given document indices (warm start, same N and λ)."""
        m = self.model
        drop = np.asarray(m.doc_pairs[list(documents)].sum(axis=0)).ravel()
        pair_w = self._obj.pair_w - drop
        n = np.bincount(self._obj.pair_u, weights=pair_w, minlength=self._obj.X.shape[0])
        w, _, _, gmax, _ = newton_cg(self._obj.with_weights(n, pair_w), self.params.copy(),
                                     gtol=gtol)
        if gmax > 100 * gtol:
            warnings.warn(f"refit stopped at max |gradient| {gmax:.1e}", ConvergenceWarning,
                          stacklevel=2)
        return w

    def attribution_check(self, context, response, k: int = 10, method: str = "cg",
                          damping: float | None = None) -> pd.DataFrame:
        """Retrain without each of the top-``k`` documents (by |score|): predicted vs actual Δφ.

        ``predicted = −score/N``; ``actual`` = log P(r|c) refitted without the document
        minus log P(r|c) at θ̂. ``frame.attrs["agreement"]`` holds Spearman/Pearson.
        """
        scores = self.document_scores(context, response, method, damping)
        top = np.argsort(-np.abs(scores), kind="stable")[:max(1, int(k))]
        Xq, yq, _ = self.model.query_design(context, response)
        W_shape = self.weights.shape
        phi0 = query_log_probs(self.weights, Xq, yq).sum()
        actual = np.array([query_log_probs(self.refit_without([d]).reshape(W_shape), Xq, yq).sum()
                           for d in _progress(top, len(top), "refits")]) - phi0
        frame = pd.DataFrame({"document": [self.model.documents[d] for d in top],
                              "score": scores[top], "predicted": -scores[top] / self.nobs,
                              "actual": actual})
        frame.attrs["agreement"] = rank_agreement(frame["predicted"].to_numpy(), actual)
        return frame

    def compare_methods(self, context, response,
                        methods: Sequence[str] = ("cg", "kfac", "ekfac", "grad_dot"),
                        reference: str | None = None) -> pd.DataFrame:
        """Spearman/Pearson of each method's document scores with the reference method's.

        The reference is ``"exact"`` when k ≤ 5,000 parameters, else ``"cg"``.
        """
        ref = reference or ("exact" if self.params.size <= EXACT_MAX else "cg")
        base = self.document_scores(context, response, ref)
        rows = []
        for meth in methods:
            t0 = time.perf_counter()
            s = self.document_scores(context, response, meth)
            agree = rank_agreement(s, base)
            rows.append({"method": meth, "reference": ref, "spearman": agree["spearman"],
                         "pearson": agree["pearson"], "sign_agreement": agree["sign_agreement"],
                         "seconds": time.perf_counter() - t0})
        return pd.DataFrame(rows)
