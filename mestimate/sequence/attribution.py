"""Formatting of source-attribution scores, shared by the sequence models.

Scores follow MATH.md: ``score(d) = −∇φ(θ̂)·H⁻¹ G_d(θ̂)`` with φ = log P(r | c; θ);
positive means document ``d`` made the response more probable.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..exceptions import DataError

__all__ = ["attribution_frame", "rank_agreement"]


def attribution_frame(
    scores: np.ndarray,
    documents: Sequence[str],
    *,
    top: int | None = 20,
    token_labels: Sequence[str] | None = None,
    n_tokens: np.ndarray | None = None,
    query: str | None = None,
) -> pd.DataFrame:
    """Rank documents by attribution score.

    Parameters
    ----------
    scores : ndarray, shape (D,) or (D, m)
        One score per document, or (``token_labels`` given) per document and response
        token; the document's score is the row sum.
    documents : sequence of str
        Document names, length D.
    top : int or None
        ``None``: every document, sorted by score (descending). An integer k: the k most
        positive followed by the k most negative (fewer if D < 2k, never a document twice).
    token_labels : sequence of str, optional
        Column names of the per-token contributions (``per_token=True``).
    n_tokens : ndarray, optional
        Number of training tokens per document (added as a column ``tokens``).
    query : str, optional
        Added as a first column ``query`` (several queries in one call are concatenated).

    Returns
    -------
    DataFrame
        Columns ``document``, ``score``, ``rank`` (1 = most positive; D = most negative),
        ``tokens`` if given, then one column per response token if given.

    Examples
    --------
    >>> attribution_frame(np.array([0.5, -2.0, 1.0]), ["a", "b", "c"], top=1)
      document  score  rank
    0        c    1.0     1
    1        b   -2.0     3
    """
    scores = np.asarray(scores, dtype=float)
    per_token = scores.ndim == 2
    total = scores.sum(axis=1) if per_token else scores
    if total.shape[0] != len(documents):
        raise DataError(f"{total.shape[0]} scores for {len(documents)} documents")
    if not np.all(np.isfinite(total)):
        raise DataError("attribution scores are not finite; try a positive damping")
    order = np.argsort(-total, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    if top is not None:
        if top < 1:
            raise DataError(f"top must be a positive integer or None, got {top!r}")
        head = order[:top]
        tail = [i for i in order[::-1][:top][::-1] if i not in set(head)]
        order = np.concatenate([head, np.asarray(tail, dtype=np.int64)])
    out = {"document": [documents[i] for i in order], "score": total[order], "rank": rank[order]}
    if n_tokens is not None:
        out["tokens"] = np.asarray(n_tokens)[order]
    frame = pd.DataFrame(out)
    if per_token:
        if token_labels is None or len(token_labels) != scores.shape[1]:
            raise DataError("token_labels must name each response token")
        frame = pd.concat(
            [frame, pd.DataFrame(scores[order], columns=list(token_labels))], axis=1
        )
    if query is not None:
        frame.insert(0, "query", query)
    return frame


def rank_agreement(predicted: np.ndarray, actual: np.ndarray) -> dict:
    """Spearman and Pearson correlations and the sign agreement of two score vectors.

    Examples
    --------
    >>> d = rank_agreement(np.array([1.0, 2, 3]), np.array([1.1, 2.2, 2.9]))
    >>> round(d["spearman"], 3), d["sign_agreement"]
    (1.0, 1.0)
    """
    predicted = np.asarray(predicted, float)
    actual = np.asarray(actual, float)
    return {
        "spearman": float(stats.spearmanr(predicted, actual).statistic),
        "pearson": float(np.corrcoef(predicted, actual)[0, 1]),
        "sign_agreement": float(np.mean(np.sign(predicted) == np.sign(actual))),
        "n": int(predicted.size),
    }
