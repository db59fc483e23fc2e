"""Sequences in, lagged design out: the data layer of the autoregressive models.

A data set is one or many sequences x_1..x_T (a 1-d array or Series, a list of them, a
dict name → sequence, or one long Series split by a ``groups`` column). For a model with
p lags every item with at least p predecessors *in its own sequence* is one observation
(sequence, position); the first p items of each sequence are conditioning only. The
design is built once for all sequences with index arithmetic on the concatenated items
(no loop over observations).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..exceptions import DataError, check_option

__all__ = ["LaggedData", "split_sequences", "lagged_data", "TRENDS"]

TRENDS = ("n", "c", "t", "ct")


@dataclass(frozen=True)
class _Split:
    """Sequences concatenated in the model's order."""

    names: list            # sequence names, in order
    lengths: np.ndarray    # (m,) items per sequence
    values: np.ndarray     # (total,) the items, sequence after sequence
    source_rows: np.ndarray  # (total,) row of each item in the user's layout (for exog/columns)
    labels: list           # per sequence: the index labels of its items


@dataclass(frozen=True)
class LaggedData:
    """The lagged design of a set of sequences (one row per observation (sequence, position))."""

    endog: np.ndarray          # (N,) x_t
    design: pd.DataFrame       # (N, k) trend terms, lag1..lagp, exog
    sequence_ids: np.ndarray   # (N,) name of the sequence of each observation
    positions: np.ndarray      # (N,) 0-based position t of x_t within its sequence
    source_rows: np.ndarray    # (N,) row of x_t in the user's layout
    row_index: pd.Index        # labels of the observations
    names: list                # sequence names
    lengths: np.ndarray        # (m,) sequence lengths


def _is_sequence_like(v) -> bool:
    return isinstance(v, (np.ndarray, pd.Series, list, tuple)) and np.ndim(v) == 1


def _as_1d(name, v) -> np.ndarray:
    try:
        arr = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"sequence {name!r} is not numeric; autoregressive models need numbers "
                        "(encode categories first)") from None
    if arr.ndim != 1:
        raise DataError(f"sequence {name!r} must be one-dimensional, got shape {arr.shape}")
    return arr


def split_sequences(y, groups=None) -> _Split:
    """Parse the accepted layouts of ``y`` into concatenated sequences.

    Parameters
    ----------
    y : 1-d array or Series, list of them, or dict name → sequence
    groups : array_like, optional
        One label per item of a 1-d ``y``: the items of each label, in their order in
        ``y``, form one sequence (sequences ordered by first appearance).

    Examples
    --------
    >>> s = split_sequences({"a": [1.0, 2, 3], "b": [4.0, 5]})
    >>> s.names, s.lengths.tolist(), s.values.tolist()
    (['a', 'b'], [3, 2], [1.0, 2.0, 3.0, 4.0, 5.0])
    """
    if groups is not None:
        if isinstance(y, Mapping) or not _is_sequence_like(y) or \
                any(_is_sequence_like(v) for v in (y if isinstance(y, (list, tuple)) else [])):
            raise DataError("groups= splits one long 1-d series into sequences; give y as a 1-d "
                            "array or Series (or give a list/dict of sequences and no groups)")
        values = _as_1d("y", y)
        g = pd.Series(np.asarray(groups))
        if len(g) != values.size:
            raise DataError(f"groups has {len(g)} labels but y has {values.size} items; give one "
                            "sequence label per item")
        if g.isna().any():
            rows = np.flatnonzero(g.isna())[:10].tolist()
            raise DataError(f"groups has missing labels at rows {rows}")
        codes, uniques = pd.factorize(g, sort=False)
        order = np.argsort(codes, kind="stable")
        lengths = np.bincount(codes, minlength=len(uniques))
        idx = y.index if isinstance(y, pd.Series) else pd.RangeIndex(values.size)
        bounds = np.r_[0, np.cumsum(lengths)]
        labels = [list(idx[order[a:b]]) for a, b in zip(bounds[:-1], bounds[1:])]
        return _Split(list(uniques), lengths, values[order], order, labels)
    if isinstance(y, Mapping):
        names, seqs = list(y.keys()), list(y.values())
    elif isinstance(y, (list, tuple)) and len(y) and all(_is_sequence_like(v) for v in y):
        names, seqs = list(range(len(y))), list(y)
    elif _is_sequence_like(y):
        names, seqs = [0], [y]
    else:
        raise DataError("y must be a 1-d array or Series, a list of them or a dict name → "
                        f"sequence; got {type(y).__name__} with shape {np.shape(y)}")
    if not seqs:
        raise DataError("no sequences given")
    arrays = [_as_1d(nm, s) for nm, s in zip(names, seqs)]
    labels = [list(s.index) if isinstance(s, pd.Series) else list(range(len(a)))
              for s, a in zip(seqs, arrays)]
    lengths = np.array([a.size for a in arrays], dtype=np.intp)
    values = np.concatenate(arrays)
    return _Split(names, lengths, values, np.arange(values.size), labels)


def _check_sequences(split: _Split, lags: int) -> None:
    short = np.flatnonzero(split.lengths <= lags)
    if short.size:
        which = ", ".join(f"{split.names[i]!r} (length {split.lengths[i]})" for i in short[:5])
        more = f" and {short.size - 5} more" if short.size > 5 else ""
        raise DataError(f"{short.size} sequence(s) are not longer than lags={lags}, so they "
                        f"have no observation to predict: {which}{more}. Drop them or use fewer lags.")
    bad = ~np.isfinite(split.values)
    if bad.any():
        seq_of = np.repeat(np.arange(len(split.names)), split.lengths)
        pos = np.arange(split.values.size) - np.repeat(np.r_[0, np.cumsum(split.lengths)[:-1]],
                                                       split.lengths)
        first = np.flatnonzero(bad)[:5]
        where = ", ".join(f"sequence {split.names[seq_of[i]]!r} position {pos[i]}" for i in first)
        raise DataError(f"{int(bad.sum())} items are NaN or inf ({where}); autoregressive models "
                        "cannot skip items (that would change the lags): clean or split the "
                        "sequences")


def _exog_frame(exog, y, split: _Split) -> pd.DataFrame | None:
    """Exog rows in the concatenated item order, as a DataFrame with column names."""
    if exog is None:
        return None
    if isinstance(exog, Mapping) and isinstance(y, Mapping):
        parts = [exog[nm] if nm in exog else None for nm in split.names]
        missing = [nm for nm, p in zip(split.names, parts) if p is None]
        if missing:
            raise DataError(f"exog has no entry for sequences {missing[:5]}")
        frame = pd.concat([_as_frame(p) for p in parts], ignore_index=True)
    elif isinstance(exog, (list, tuple)) and isinstance(y, (list, tuple)) and len(exog) == len(y) \
            and all(_is_sequence_like(v) for v in y) and all(np.ndim(e) >= 1 for e in exog):
        frame = pd.concat([_as_frame(p) for p in exog], ignore_index=True)
    else:
        frame = _as_frame(exog)
        if len(frame) != split.values.size:
            raise DataError(f"exog has {len(frame)} rows but y has {split.values.size} items; "
                            "give one row per item (for many sequences: in the order of the concatenated "
                            "sequences, or a list/dict shaped like y)")
        frame = frame.iloc[split.source_rows].reset_index(drop=True)
    if len(frame) != split.values.size:
        raise DataError(f"exog has {len(frame)} rows in all but the sequences have "
                        f"{split.values.size} items; give one exog row per item of each sequence")
    try:
        frame = frame.astype(float)
    except (TypeError, ValueError):
        raise DataError("exog must be numeric (encode categories, or use from_formula)") from None
    if not np.isfinite(frame.to_numpy()).all():
        raise DataError("exog contains NaN or inf; clean it (rows cannot be dropped from a "
                        "sequence)")
    return frame


def _name_array(names: list) -> np.ndarray:
    """Sequence names as an array of their own type (object when the types are mixed)."""
    if len({type(nm) for nm in names}) == 1:
        arr = np.asarray(names)
        if arr.ndim == 1:
            return arr
    out = np.empty(len(names), dtype=object)
    out[:] = names
    return out


def _as_frame(e) -> pd.DataFrame:
    if isinstance(e, pd.DataFrame):
        return e.reset_index(drop=True)
    if isinstance(e, pd.Series):
        return e.rename(e.name if e.name is not None else "x1").to_frame().reset_index(drop=True)
    arr = np.asarray(e, dtype=float)
    arr = arr[:, None] if arr.ndim == 1 else arr
    if arr.ndim != 2:
        raise DataError(f"exog must be 1-d or 2-d, got shape {arr.shape}")
    return pd.DataFrame(arr, columns=[f"x{j + 1}" for j in range(arr.shape[1])])


def lagged_data(y, lags, *, exog=None, trend: str = "c", groups=None,
                transform=None, validate=None) -> LaggedData:
    """Build the lagged design: trend terms, ``lag1..lagp`` = f(x_{t−1})..f(x_{t−p}), exog.

    Parameters
    ----------
    y, groups
        See :func:`split_sequences`.
    lags : int
        p ≥ 1.
    exog : array_like, DataFrame, list or dict, optional
        Contemporaneous regressors x_t (one row per item; the rows of the first p items of
        each sequence are not used).
    trend : {"n", "c", "t", "ct"}
        None, constant ``const``, time trend ``trend`` (= position t + 1, statsmodels'
        convention), or both.
    transform : callable, optional
        f applied to the lagged values (identity by default).
    validate : callable, optional
        Called with all items (e.g. to check counts are non-negative).

    Examples
    --------
    >>> d = lagged_data([[1.0, 2, 3, 4], [5.0, 6, 7]], 2)
    >>> d.design.to_numpy().tolist(), d.endog.tolist()
    ([[1.0, 2.0, 1.0], [1.0, 3.0, 2.0], [1.0, 6.0, 5.0]], [3.0, 4.0, 7.0])
    """
    if isinstance(lags, bool) or not isinstance(lags, (int, np.integer)) or lags < 1:
        raise DataError(f"lags must be an integer >= 1, got {lags!r}")
    lags = int(lags)
    trend = check_option("trend", trend, TRENDS)
    split = split_sequences(y, groups)
    _check_sequences(split, lags)
    if validate is not None:
        validate(split.values)
    xframe = _exog_frame(exog, y, split)
    m = len(split.names)
    starts = np.r_[0, np.cumsum(split.lengths)[:-1]]
    seq_of_item = np.repeat(np.arange(m), split.lengths)
    pos = np.arange(split.values.size) - np.repeat(starts, split.lengths)
    target = np.flatnonzero(pos >= lags)
    lagged = split.values[target[:, None] - np.arange(1, lags + 1)[None, :]]
    if transform is not None:
        lagged = transform(lagged)
    cols: dict[str, np.ndarray] = {}
    if "c" in trend:
        cols["const"] = np.ones(target.size)
    if "t" in trend:
        cols["trend"] = pos[target] + 1.0
    cols.update({f"lag{j + 1}": lagged[:, j] for j in range(lags)})
    design = pd.DataFrame(cols)
    if xframe is not None:
        clash = set(map(str, xframe.columns)) & set(cols)
        if clash:
            raise DataError(f"exog column names {sorted(clash)} clash with the model's own terms; "
                            "rename them")
        design = pd.concat([design, xframe.iloc[target].reset_index(drop=True)], axis=1)
    seq_ids = _name_array(split.names)[seq_of_item[target]]
    if m == 1:
        row_index = pd.Index(split.labels[0])[target]
    else:
        row_index = pd.MultiIndex.from_arrays([seq_ids, pos[target]],
                                              names=["sequence", "position"])
    return LaggedData(split.values[target], design, seq_ids, pos[target], split.source_rows[target],
                      row_index, split.names, split.lengths)
