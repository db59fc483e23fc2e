"""Validation, missing-value handling and row slicing of user data.

Data reach a model as an ndarray, a dict of arrays or a DataFrame. Everything with
a leading dimension of length n is "per observation"; scalars and other objects in a
dict are passed through untouched.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .exceptions import DataError, check_option

__all__ = ["nobs_of", "take_rows", "missing_mask", "handle_missing", "as_weights"]


def _dask_data(data) -> bool:
    """Dask collections (or dicts holding one) are handled by :mod:`mestimate._dask_data`."""
    if type(data).__module__.startswith("dask") or isinstance(data, Mapping):
        from ._dask import contains_dask
        return contains_dask(data)
    return False


def _is_rowwise(value, n: int | None) -> bool:
    shape = getattr(value, "shape", None)
    return shape is not None and len(shape) >= 1 and (n is None or shape[0] == n)


def nobs_of(data) -> int:
    """Number of observations (rows) in ``data``.

    Examples
    --------
    >>> import numpy as np
    >>> nobs_of({"y": np.zeros(5), "X": np.ones((5, 2)), "c": 3.0})
    5
    """
    if _dask_data(data):
        from ._dask_data import nobs_dask
        return nobs_dask(data)
    if isinstance(data, (pd.DataFrame, pd.Series, np.ndarray)):
        if np.ndim(data) == 0:
            raise DataError("data must have at least one dimension (one row per observation)")
        return int(data.shape[0])
    if isinstance(data, Mapping):
        lengths = {k: np.shape(v)[0] for k, v in data.items() if _is_rowwise(np.asarray(v) if
                   isinstance(v, (list, tuple)) else v, None)}
        if not lengths:
            raise DataError("no per-observation arrays in data: give at least one array with one row"
                            " per observation")
        sizes = set(lengths.values())
        if len(sizes) > 1:
            detail = ", ".join(f"{k}: {v}" for k, v in lengths.items())
            raise DataError(f"the arrays in data have different numbers of rows ({detail}); "
                            "every per-observation array must have the same length")
        return int(sizes.pop())
    raise DataError(f"data must be an ndarray, a DataFrame or a dict of arrays, not "
                    f"{type(data).__name__}")


def take_rows(data, rows):
    """The rows ``rows`` (a slice or an index/boolean array) of every per-observation array."""
    if rows is None:
        return data
    if isinstance(data, (pd.DataFrame, pd.Series)):
        return data.iloc[rows]
    if isinstance(data, np.ndarray):
        return data[rows]
    n = nobs_of(data)
    return {k: (v.iloc[rows] if isinstance(v, (pd.DataFrame, pd.Series))
                else v[rows] if _is_rowwise(v, n) else v) for k, v in data.items()}


def _columns(data) -> dict[str, np.ndarray]:
    """Name → numeric 2-d view of every per-observation, numeric array in ``data``."""
    if isinstance(data, pd.DataFrame):
        items = {str(c): data[c].to_numpy() for c in data.columns}
    elif isinstance(data, pd.Series):
        items = {str(data.name or "data"): data.to_numpy()}
    elif isinstance(data, np.ndarray):
        items = {"data": data}
    else:
        n = nobs_of(data)
        items = {}
        for k, v in data.items():
            if isinstance(v, pd.DataFrame):
                items.update({f"{k}[{c}]": v[c].to_numpy() for c in v.columns})
            elif _is_rowwise(v, n):
                items[str(k)] = np.asarray(v)
    out = {}
    for k, v in items.items():
        if v.dtype.kind in "fc":
            out[k] = v.reshape(v.shape[0], -1)
        elif v.dtype.kind == "O":
            out[k] = pd.isna(v).reshape(v.shape[0], -1).astype(float) * np.nan
    return out


def missing_mask(data) -> tuple[np.ndarray, dict[str, int]]:
    """Boolean mask of rows containing NaN or ±inf, and the count of bad rows per column."""
    n = nobs_of(data)
    bad = np.zeros(n, dtype=bool)
    per_col: dict[str, int] = {}
    for name, arr in _columns(data).items():
        b = ~np.isfinite(arr).all(axis=1)
        if b.any():
            per_col[name] = int(b.sum())
            bad |= b
    return bad, per_col


def handle_missing(data, missing: str = "raise", weights=None):
    """Check ``data`` for NaN/inf; raise, or drop the rows, as ``missing`` says.

    Returns ``(data, weights, n_dropped)``.

    Examples
    --------
    >>> import numpy as np
    >>> d, w, k = handle_missing({"y": np.array([1.0, np.nan, 3.0])}, "drop")
    >>> d["y"].tolist(), k
    ([1.0, 3.0], 1)
    """
    if _dask_data(data):
        from ._dask_data import handle_missing_dask
        return handle_missing_dask(data, missing, weights)
    missing = check_option("missing", missing, ["raise", "drop", "none"])
    if missing == "none":
        return data, weights, 0
    bad, per_col = missing_mask(data)
    if weights is not None:
        wbad = ~np.isfinite(weights)
        if wbad.any():
            per_col["weights"] = int(wbad.sum())
            bad |= wbad
    if not bad.any():
        return data, weights, 0
    if missing == "raise":
        detail = ", ".join(f"{k} ({v} rows)" for k, v in per_col.items())
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"data contain NaN or inf in {int(bad.sum())} of {bad.size} rows: {detail}; first bad row"
            f" is {first}. Clean the data, or pass missing='drop' to drop those rows."
        )
    keep = ~bad
    return take_rows(data, keep), (None if weights is None else weights[keep]), int(bad.sum())


def as_weights(weights, n: int) -> np.ndarray | None:
    """Validate observation weights: finite, non-negative, length n, not all zero."""
    if weights is None:
        return None
    if _dask_data(weights):
        from ._dask import as_row_dask
        from ._dask_data import dask_weights
        return dask_weights(weights, as_row_dask(weights, None).chunks[0])
    w = np.asarray(weights, dtype=float).ravel()
    if w.shape != (n,):
        raise DataError(f"weights must have one entry per observation ({n}), got shape {np.shape(weights)}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise DataError("weights must be finite and non-negative (weight 0 removes an observation)")
    if not np.any(w > 0):
        raise DataError("all weights are zero: nothing to fit")
    return w
