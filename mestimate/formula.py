"""patsy glue: design matrices from formulas, kept for prediction on new data."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .exceptions import DataError, check_option

__all__ = ["FormulaInfo", "design_from_formula", "design_for_predict"]


@dataclass(frozen=True)
class FormulaInfo:
    """What a formula produced: the formula, patsy's design info and the rows kept.

    Attributes
    ----------
    formula : str
    design_info : patsy.DesignInfo
        Right-hand-side design, reused by ``predict`` on new data.
    frame : DataFrame
        The rows of the user's data that were used (after dropping missing values).
    n_dropped : int
        Rows dropped for missing values (``missing="drop"``).
    """

    formula: str
    design_info: object
    frame: pd.DataFrame
    n_dropped: int


def design_from_formula(formula: str, data, missing: str = "drop"):
    """``(endog Series, exog DataFrame, FormulaInfo)`` for ``formula`` on ``data``.

    Parameters
    ----------
    formula : str
        A patsy formula, e.g. ``"y ~ x + C(industry)"``.
    data : DataFrame or dict
    missing : {"drop", "raise"}
        Drop rows with missing values in any variable of the formula, or raise.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, 2.0, None, 4.0], "x": [0.0, 1.0, 2.0, 3.0]})
    >>> y, X, info = design_from_formula("y ~ x", df)
    >>> list(X.columns), info.n_dropped
    (['Intercept', 'x'], 1)
    """
    import patsy

    missing = check_option("missing", missing, ["drop", "raise"])
    if not isinstance(data, (pd.DataFrame, dict)):
        raise DataError("formula data must be a DataFrame or a dict of columns")
    frame = pd.DataFrame(data)
    na = patsy.NAAction(on_NA="drop" if missing == "drop" else "raise", NA_types=["None", "NaN"])
    try:
        y, X = patsy.dmatrices(formula, frame, NA_action=na, return_type="dataframe")
    except patsy.PatsyError as exc:
        if missing == "raise" and "missing" in str(exc).lower():
            raise DataError(f"the data have missing values in variables of {formula!r}; clean them "
                            "or pass missing='drop'") from None
        raise DataError(f"could not build the design for {formula!r}: {exc}") from None
    if y.shape[1] != 1:
        raise DataError(f"the left-hand side of {formula!r} must be one column, got {list(y.columns)}")
    bad = ~np.isfinite(np.c_[y.to_numpy(float), X.to_numpy(float)]).all(axis=1)
    if bad.any():
        if missing == "raise":
            raise DataError(f"{int(bad.sum())} rows have inf values; clean them or pass missing='drop'")
        y, X = y[~bad], X[~bad]
    kept = frame.loc[y.index]
    return (y.iloc[:, 0], X,
            FormulaInfo(formula, X.design_info, kept, int(len(frame) - len(y))))


def design_for_predict(info: FormulaInfo, data) -> pd.DataFrame:
    """The right-hand-side design of ``info`` evaluated on new ``data``."""
    import patsy

    (X,) = patsy.build_design_matrices([info.design_info], pd.DataFrame(data),
                                       return_type="dataframe")
    return X
