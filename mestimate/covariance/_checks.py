"""Validation and encoding helpers shared by the covariance modules (private).

Every public meat function takes an ``estfun`` array and, optionally, group labels.
The checks here turn bad input into :class:`~mestimate.exceptions.DataError` with a
message that says what is wrong and what to pass instead.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mestimate.exceptions import DataError, MEstimateError

__all__ = ["as_estfun", "resolve_n_k", "as_group_frame", "factorize_rows", "ordering_index"]


def as_estfun(estfun: object, check_finite: bool = True) -> np.ndarray:
    """Return ``estfun`` as a finite float (n, k) array (a 1-d input is one column).

    ``check_finite=False`` skips the pass over the data that looks for NaN and ±inf, for
    a caller that hands the array to a function that checks it (as ``compute_cov`` does
    to the meats, so that n × k entries are read once, not twice).
    """
    arr = np.asarray(estfun, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataError(
            f"estfun must be a non-empty (n, k) array of per-observation scores; got shape {arr.shape}"
        )
    if not check_finite:
        return arr
    # a NaN or ±inf anywhere makes the sum non-finite (one read-only pass); only then
    # look for the rows (a finite sum can overflow, so an empty search passes)
    with np.errstate(over="ignore", invalid="ignore"):
        finite = np.isfinite(arr.sum())
    bad = np.array([], dtype=int) if finite else np.flatnonzero(~np.isfinite(arr).all(axis=1))
    if bad.size:
        raise DataError(
            f"estfun has non-finite values in rows {bad[:10].tolist()}"
            f"{' ...' if bad.size > 10 else ''}; check the fit and the data at those rows"
        )
    return arr


def resolve_n_k(estfun: np.ndarray, k: int | None, nobs: int | None) -> tuple[int, int]:
    """Return (n, k): defaults are the row and column counts; check n > k."""
    n = estfun.shape[0] if nobs is None else int(nobs)
    k = estfun.shape[1] if k is None else int(k)
    if n <= 0 or k < 0:
        raise MEstimateError(f"nobs must be positive and k non-negative; got nobs={n}, k={k}")
    return n, k


def as_group_frame(groups: object, n: int) -> pd.DataFrame:
    """Return group labels as a DataFrame with one column per clustering dimension.

    Accepts a 1-d array/Series (one-way), a 2-d array (columns are dimensions), a
    DataFrame, or a list/tuple of 1-d arrays.
    """
    if isinstance(groups, pd.DataFrame):
        frame = groups.reset_index(drop=True)
    elif isinstance(groups, pd.Series):
        frame = groups.reset_index(drop=True).to_frame()
    elif isinstance(groups, (list, tuple)) and len(groups) > 0 and all(
        np.ndim(g) == 1 for g in groups
    ) and not all(np.ndim(g) == 0 for g in groups):
        lengths = {len(g) for g in groups}
        if len(lengths) != 1:
            raise DataError(
                f"the group arrays have different lengths {sorted(lengths)}; "
                f"each must have one label per observation (n = {n})"
            )
        frame = pd.DataFrame({i: np.asarray(g) for i, g in enumerate(groups)})
    else:
        arr = np.asarray(groups)
        if arr.ndim == 1:
            frame = pd.DataFrame({0: arr})
        elif arr.ndim == 2:
            frame = pd.DataFrame({i: arr[:, i] for i in range(arr.shape[1])})
        else:
            raise DataError(
                f"groups must be a 1-d array, a 2-d array, a DataFrame or a list of 1-d arrays; "
                f"got an array of shape {arr.shape}"
            )
    if frame.shape[1] == 0:
        raise DataError("groups has no columns; pass at least one array of group labels")
    if frame.shape[0] != n:
        raise DataError(
            f"groups has {frame.shape[0]} labels but estfun has {n} rows; "
            "pass one group label per observation, in the same order"
        )
    if frame.isna().to_numpy().any():
        bad = np.flatnonzero(frame.isna().to_numpy().any(axis=1))
        raise DataError(
            f"groups contains missing labels (NaN/None) at rows {bad[:10].tolist()}"
            f"{' ...' if bad.size > 10 else ''}; drop those observations before fitting "
            "or impute their groups"
        )
    return frame


def _dense_int_codes(values: np.ndarray) -> np.ndarray | None:
    """Codes 0..G-1 of integer labels in sorted order (as ``pd.factorize(sort=True)``) by
    counting, not hashing; None unless the labels are integers of a range at most ~4n."""
    if values.dtype.kind not in "iub" or values.size == 0:
        return None
    lo, hi = int(values.min()), int(values.max())
    if hi - lo > 4 * values.size + 1024 or max(abs(lo), abs(hi)) >= 2**62:
        return None
    shifted = values.astype(np.int64) - lo
    present = np.bincount(shifted, minlength=hi - lo + 1) > 0
    return (np.cumsum(present) - 1)[shifted]


def _codes(column: pd.Series) -> np.ndarray:
    fast = _dense_int_codes(column.to_numpy()) if isinstance(column.dtype, np.dtype) else None
    return pd.factorize(column, sort=True)[0] if fast is None else fast


def factorize_rows(frame: pd.DataFrame, columns: Sequence[object]) -> np.ndarray:
    """Integer codes 0..G-1 of the intersection of the given group columns."""
    codes = np.column_stack([_codes(frame[c]) for c in columns])
    if codes.shape[1] == 1:
        return codes[:, 0]
    return np.unique(codes, axis=0, return_inverse=True)[1].ravel()


def ordering_index(order: object, n: int) -> np.ndarray | None:
    """Stable sort index of an ordering variable (R's ``order(order.by)``), or None."""
    if order is None:
        return None
    z = np.asarray(order)
    if z.ndim != 1 or z.shape[0] != n:
        raise DataError(
            f"order must have one value per observation ({n}); got shape {z.shape}"
        )
    if pd.isna(z).any():
        raise DataError("order contains missing values; every observation needs a position in time")
    return np.argsort(z, kind="stable")
