"""Formulas on a dask DataFrame: patsy design built per partition.

The design (patsy ``DesignInfo``) is taken from the first partition, so every
categorical variable must have its levels known in advance: string/object columns and
``C(x)`` variables get their levels computed once (one pass over those columns) and
become pandas categoricals; categorical columns with unknown categories are made
known. Each partition is then turned into its design rows, dropping rows with
missing values as the in-memory path does.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .exceptions import DataError, check_option
from .formula import FormulaInfo

__all__ = ["design_from_dask", "frame_column", "DesignArray", "DelayedFrame"]


def _with_known_levels(ddf, formula: str):
    """``ddf`` with the formula's categorical variables as categoricals with known levels."""
    import dask

    used = [c for c in ddf.columns if re.search(rf"(?<![\w.]){re.escape(str(c))}(?!\w)", formula)]
    wrapped = set(re.findall(r"C\(\s*([A-Za-z_]\w*)", formula))
    todo = {}
    for c in used:
        dtype = ddf[c].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            if not ddf[c].cat.known:
                ddf = ddf.assign(**{c: ddf[c].cat.as_known()})
        elif dtype.kind in "OSUb" or pd.api.types.is_string_dtype(dtype) or c in wrapped:
            todo[c] = ddf[c].dropna().unique()
    if todo:
        levels = dict(zip(todo, dask.compute(*todo.values())))
        for c, lev in levels.items():
            try:
                cats = sorted(pd.unique(np.asarray(lev)))
            except TypeError as exc:
                raise DataError(f"the levels of {c!r} cannot be ordered ({exc}); convert the column "
                                "to a categorical dtype with known categories") from None
            ddf = ddf.assign(**{c: ddf[c].astype(pd.CategoricalDtype(cats))})
    return ddf


def _infos(formula: str, sample, missing: str):
    """patsy's (y, X) design infos from a small sample (they cannot be pickled, so each
    partition task rebuilds them; categorical levels come from the known categories)."""
    import patsy

    na = patsy.NAAction(on_NA="drop" if missing == "drop" else "raise", NA_types=["None", "NaN"])
    y0, X0 = patsy.dmatrices(formula, sample, NA_action=na, return_type="dataframe")
    return [y0.design_info, X0.design_info], na, y0, X0


def _design_part(pdf, formula, sample, missing, with_frame=False):
    import patsy

    infos, na, _, _ = _infos(formula, sample, missing)
    pdf = pdf.reset_index(drop=True)
    try:
        y, X = patsy.build_design_matrices(infos, pdf, NA_action=na, return_type="dataframe")
    except patsy.PatsyError as exc:
        if missing == "raise" and "missing" in str(exc).lower():
            raise DataError("the data have missing values in variables of the formula; clean "
                            "them or pass missing='drop'") from None
        raise DataError(f"could not build the design on a partition: {exc}. Categorical "
                        "variables need known levels (a categorical dtype with known "
                        "categories)") from None
    values = np.c_[y.to_numpy(float), X.to_numpy(float)]
    good = np.isfinite(values).all(axis=1)
    if not good.all():
        if missing == "raise":
            raise DataError(f"{int((~good).sum())} rows have inf values; clean them or pass missing='drop'")
        values, y = values[good], y[good]
    if with_frame:
        return pdf.iloc[y.index.to_numpy()]
    return values


def design_from_dask(formula: str, ddf, missing: str = "drop"):
    """``(endog, exog, FormulaInfo)`` for a dask DataFrame (endog, exog: :class:`DesignArray`).

    ``FormulaInfo.frame`` is the dask DataFrame of the rows kept (for ``groups="firm"``).
    """
    import dask
    import patsy
    from dask import delayed

    missing = check_option("missing", missing, ["drop", "raise"])
    ddf = _with_known_levels(ddf, formula)
    head = ddf.get_partition(0).compute()
    sample = head.iloc[:200]
    try:
        _, _, y0, X0 = _infos(formula, sample, missing)
    except patsy.PatsyError as exc:
        raise DataError(f"could not build the design for {formula!r} on the first partition: "
                        f"{exc}") from None
    if y0.shape[1] != 1:
        raise DataError(f"the left-hand side of {formula!r} must be one column, got {list(y0.columns)}")
    parts = ddf.to_delayed()
    designs = [delayed(_design_part)(p, formula, sample, missing) for p in parts]
    sizes, lengths = dask.compute([delayed(len)(p) for p in parts], [d.shape[0] for d in designs])
    n_total = sum(sizes)
    names = list(X0.columns)
    frames = [delayed(_design_part)(p, formula, sample, missing, True) for p in parts]
    y = DesignArray(_stack_pieces([delayed(_col0)(d) for d in designs], lengths, ()), [y0.columns[0]])
    X = DesignArray(_stack_pieces([delayed(_rest)(d) for d in designs], lengths, (len(names),)), names)
    frame = DelayedFrame(frames, lengths, head.columns)
    info = FormulaInfo(formula, X0.design_info, frame, int(n_total - sum(lengths)))
    return y, X, info


def _col0(values):
    return values[:, 0]


def _rest(values):
    return values[:, 1:]


def _stack_pieces(pieces, lengths, tail):
    import dask.array as da

    return da.concatenate([da.from_delayed(p, shape=(int(n),) + tail, dtype=float)
                           for p, n in zip(pieces, lengths)], axis=0)


def _column_values(part, name):
    return part[name].to_numpy()


class DelayedFrame:
    """The rows a formula kept: one delayed pandas DataFrame per partition, with lengths."""

    def __init__(self, parts, lengths, columns):
        self.parts, self.lengths, self.columns = list(parts), tuple(int(n) for n in lengths), columns

    def __len__(self) -> int:
        return sum(self.lengths)

    def __getitem__(self, name):
        return frame_column(self, name)


def frame_column(frame: DelayedFrame, name: str):
    """Column ``name`` of the kept rows as a dask array split like the design."""
    import dask.array as da
    from dask import delayed

    if name not in frame.columns:
        raise DataError(f"no column {name!r} in the formula's data")
    pieces = [delayed(_column_values)(p, name) for p in frame.parts]
    return da.concatenate([da.from_delayed(p, shape=(n,), dtype=object)
                           for p, n in zip(pieces, frame.lengths)])


class DesignArray:
    """A dask array with column names (the design of a formula), for the model constructor."""

    def __init__(self, dask_array, columns):
        self.dask_array, self.columns = dask_array, list(columns)
        self.name = self.columns[0] if dask_array.ndim == 1 else None
        self.shape = dask_array.shape
