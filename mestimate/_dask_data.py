"""Dask data: partition lengths, per-partition pieces, weights and missing values.

Data of a dask-backed model are a dask array, a dict of row-wise arrays (dask arrays,
or in-memory arrays, which are split like the dask ones) and other values, or a dask
DataFrame. All row-wise pieces share one row partitioning (``row_chunks``); checks
of the data (missing values, weights) are reductions over partitions with one
``dask.compute`` each, never a materialised copy of the data.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._dask import as_row_dask, is_dask, require_known_rows
from .exceptions import DataError, check_option

__all__ = ["row_chunks", "split_data", "normalise", "handle_missing_dask", "dask_weights",
           "column_of", "nobs_dask"]

_LENGTHS: dict[str, tuple[int, ...]] = {}


def _is_frame(x) -> bool:
    return is_dask(x) and hasattr(x, "partitions") and hasattr(x, "columns")


def frame_lengths(ddf) -> tuple[int, ...]:
    """Rows per partition of a dask DataFrame (computed once, cached by its name)."""
    key = ddf._name
    if key not in _LENGTHS:
        _LENGTHS[key] = tuple(int(v) for v in ddf.map_partitions(len).compute())
    return _LENGTHS[key]


def _first_rowwise(data: Mapping):
    for v in data.values():
        if is_dask(v) and getattr(v, "ndim", 0) >= 1:
            return v
    raise DataError("a dict of data for a dask-backed model needs at least one dask array "
                    "with one row per observation")


def row_chunks(data) -> tuple[int, ...]:
    """Rows per partition of dask-backed data."""
    if _is_frame(data):
        return frame_lengths(data)
    if isinstance(data, Mapping):
        data = _first_rowwise(data)
    return tuple(int(c) for c in require_known_rows(data).chunks[0])


def nobs_dask(data) -> int:
    """Number of rows of dask-backed data."""
    return int(sum(row_chunks(data)))


def normalise(data):
    """Data with every row-wise array split along rows like the first dask array."""
    if _is_frame(data):
        frame_lengths(data)
        return data
    if not isinstance(data, Mapping):
        return as_row_dask(data, None, dtype=None)
    chunks = row_chunks(data)
    n = sum(chunks)
    return {k: (as_row_dask(v, chunks, what=str(k), dtype=None)
                if getattr(v, "ndim", 0) >= 1 and v.shape[0] == n else v)
            for k, v in data.items()}


def split_data(data, chunks) -> list:
    """One in-memory-to-be piece (delayed) of ``data`` per partition."""
    if _is_frame(data):
        return list(data.to_delayed())
    if not isinstance(data, Mapping):
        return list(as_row_dask(data, chunks, dtype=None).to_delayed().reshape(len(chunks), -1)[:, 0])
    from dask import delayed

    n = sum(chunks)
    pieces = {k: (list(as_row_dask(v, chunks, dtype=None).to_delayed().reshape(len(chunks), -1)[:, 0])
                  if getattr(v, "ndim", 0) >= 1 and v.shape[0] == n else None)
              for k, v in data.items()}
    return [delayed(dict)({k: (p[i] if p is not None else data[k]) for k, p in pieces.items()})
            for i in range(len(chunks))]


def dask_weights(weights, chunks):
    """Observation weights as a float dask array split like the data, validated in one pass."""
    if weights is None:
        return None
    import dask

    n = sum(chunks)
    w = weights if is_dask(weights) else np.asarray(weights, dtype=float)
    if w.ndim != 1 or w.shape[0] != n:
        raise DataError(f"weights must have one entry per observation ({n}), got shape {w.shape}")
    w = as_row_dask(w, tuple(chunks), what="weights")
    bad, positive = dask.compute((~(np.isfinite(w) & (w >= 0))).sum(), (w > 0).sum())
    if bad:
        raise DataError("weights must be finite and non-negative (weight 0 removes an observation)")
    if not positive:
        raise DataError("all weights are zero: nothing to fit")
    return w


def _missing_part(block, wblock):
    from ._data import missing_mask

    bad, per_col = missing_mask(block)
    if wblock is not None:
        wbad = ~np.isfinite(wblock)
        if wbad.any():
            per_col["weights"] = int(wbad.sum())
            bad = bad | wbad
    first = int(np.flatnonzero(bad)[0]) if bad.any() else -1
    return per_col, int(bad.sum()), first


def _keep(block, wblock):
    from ._data import missing_mask, take_rows

    bad = missing_mask(block)[0]
    if wblock is not None:
        bad = bad | ~np.isfinite(wblock)
    return take_rows(block, ~bad), (None if wblock is None else wblock[~bad])


def handle_missing_dask(data, missing: str = "raise", weights=None):
    """:func:`mestimate._data.handle_missing` for dask data: counts are one reduction."""
    import dask
    from dask import delayed

    missing = check_option("missing", missing, ["raise", "drop", "none"])
    data = normalise(data)
    chunks = row_chunks(data)
    if weights is not None:
        weights = as_row_dask(weights, chunks, what="weights")
    if missing == "none":
        return data, weights, 0
    blocks = split_data(data, chunks)
    wblocks = [None] * len(chunks) if weights is None else list(weights.to_delayed())
    (stats,) = dask.compute([delayed(_missing_part)(b, w) for b, w in zip(blocks, wblocks)])
    n_bad = sum(s[1] for s in stats)
    if n_bad == 0:
        return data, weights, 0
    if missing == "raise":
        per_col: dict[str, int] = {}
        for s in stats:
            for k, v in s[0].items():
                per_col[k] = per_col.get(k, 0) + v
        offsets = np.r_[0, np.cumsum(chunks)]
        first = next(int(offsets[i] + s[2]) for i, s in enumerate(stats) if s[2] >= 0)
        detail = ", ".join(f"{k} ({v} rows)" for k, v in per_col.items())
        raise DataError(
            f"data contain NaN or inf in {n_bad} of {sum(chunks)} rows: {detail}; first bad row"
            f" is {first}. Clean the data, or pass missing='drop' to drop those rows.")
    kept = [delayed(_keep, nout=2)(b, w) for b, w in zip(blocks, wblocks)]
    lengths = tuple(int(c - s[1]) for c, s in zip(chunks, stats))
    data = _from_blocks([k[0] for k in kept], data, lengths)
    if weights is not None:
        weights = _stack([k[1] for k in kept], lengths, (), float)
    return data, weights, n_bad


def _stack(pieces, lengths, tail, dtype):
    import dask.array as da

    arrs = [da.from_delayed(p, shape=(n,) + tuple(tail), dtype=dtype) for p, n in zip(pieces, lengths)]
    return da.concatenate(arrs, axis=0)


def _from_blocks(pieces, like, lengths):
    """Dask data shaped like ``like`` from per-partition in-memory pieces with ``lengths`` rows."""
    from dask import delayed

    if _is_frame(like):
        import dask.dataframe as dd

        out = dd.from_delayed(pieces, meta=like._meta, verify_meta=False)
        _LENGTHS[out._name] = tuple(lengths)
        return out
    if not isinstance(like, Mapping):
        return _stack(pieces, lengths, like.shape[1:], like.dtype)
    n = sum(row_chunks(like))
    return {k: (_stack([delayed(lambda d, key=k: d[key])(p) for p in pieces], lengths, v.shape[1:],
                       v.dtype) if getattr(v, "ndim", 0) >= 1 and v.shape[0] == n else v)
            for k, v in like.items()}


def column_of(model, name: str):
    """Column ``name`` of a dask-backed model's data as a dask array split like the data."""
    chunks = model._row_chunks
    from ._dask_formula import DelayedFrame, frame_column

    for source in (getattr(model, "frame", None), model.data):
        if isinstance(source, DelayedFrame) and name in source.columns:
            return as_row_dask(frame_column(source, name), chunks, dtype=None)
        if _is_frame(source) and name in source.columns:
            return as_row_dask(source[name].to_dask_array(lengths=list(chunks)), chunks, dtype=None)
        if isinstance(source, Mapping) and name in source:
            return as_row_dask(source[name], chunks, dtype=None)
    raise DataError(f"no column {name!r} in the model's data; pass the array itself")
